"""``python -m tympan.export.worker REQUEST RESULT``: run :func:`~tympan.export.onnx_export.
export_here` with the keyword arguments in the JSON file REQUEST, and write the result (or
the error: its tympan class name and message) as JSON to RESULT.  Started by
:func:`~tympan.export.export_onnx` with ``KERAS_BACKEND=torch`` when the calling process runs
Keras on another backend."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path


def main(argv: list[str]) -> int:
    request, result = Path(argv[0]), Path(argv[1])
    import tympan  # noqa: F401  (before Keras: the backend comes from KERAS_BACKEND)
    from tympan.errors import TympanError
    from tympan.export.onnx_export import export_here, result_dict

    warnings.simplefilter("ignore")  # the exporter's notes; the parent reports the outcome
    try:
        answer = result_dict(export_here(**json.loads(request.read_text())))
    except TympanError as exc:
        answer = {"error": type(exc).__name__, "message": str(exc)}
    except Exception as exc:
        text = " ".join(str(exc).split())[:300]
        answer = {"error": None, "message": f"{type(exc).__name__}: {text}"}
    result.write_text(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
