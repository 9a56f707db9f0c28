"""Audio-out models behind the server: autoencoders (reconstruction) and separators.

A request's file goes through the call the command line makes, on the model's worker thread
(one request at a time: these models are not micro-batched): :func:`tympan.pipeline.reconstruct_file`
(``tympan autoencoder reconstruct``, written as float32 WAV) or
:func:`tympan.pipeline.separate_file` (``tympan separate``, one file per source in the input's
format), into a temporary folder of the worker's, and the files written are read back.  The answer
(:func:`audio_response`) is a WAV file (float32, at the artifact's rate; a separator's sources
are its channels, in the artifact's order, or one source with ``?source=NAME``), or with
``Accept: application/json`` a JSON object holding each output as a base64 WAV file.  Headers
and JSON give the sample rate, the duration and the signal flags.
"""

from __future__ import annotations

import base64
import io as pyio
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from tympan import pipeline
from tympan.errors import InputWarning, ParameterError
from tympan.serve.batching import WARNINGS_LOCK, MicroBatcher

#: the tasks whose answer is audio, and the name of their one output (a separator's: its sources)
AUDIO_TASKS = ("reconstruction", "separation")
RECONSTRUCTION_OUTPUT = "reconstruction"
#: the WAV sample formats an answer may use (``?subtype=``)
SUBTYPES = ("FLOAT", "PCM_16")
#: words of the InputWarning messages (tympan.signal_checks) -> the flag they report
_WARNING_FLAGS = {" is silent (": "silent", "fewer than the model's analysis window": "too_short",
                  "beyond [-1, 1]": "beyond_full_scale"}


@dataclass
class AudioOut:
    """What an audio-out model gave for one file: ``outputs`` (name -> mono float32 waveform
    at ``sr``; a separator's sources in its order, an autoencoder's ``"reconstruction"``) and
    the input's signal ``flags``."""

    outputs: dict[str, np.ndarray]
    sr: int
    flags: tuple[str, ...]

    @property
    def duration(self) -> float:
        return len(next(iter(self.outputs.values()))) / self.sr


def output_names(artifact) -> tuple[str, ...]:
    """The names of the artifact's outputs: a separator's sources, or ``("reconstruction",)``."""
    return tuple(artifact.labels) if artifact.task == "separation" else (RECONSTRUCTION_OUTPUT,)


def render(artifact, path: str | Path, folder: str | Path) -> AudioOut:
    """The outputs of the audio-out ``artifact`` for the file ``path``: the command line's own
    library call writes them into ``folder``, and they are read back."""
    path, folder = Path(path), Path(folder)
    rate = artifact.config.audio.sr
    with WARNINGS_LOCK, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", InputWarning)
        if artifact.task == "separation":
            written = pipeline.separate_file(artifact, path, folder / "separated")
        elif artifact.task == "reconstruction":
            written = {RECONSTRUCTION_OUTPUT: folder / "reconstruction.wav"}
            pipeline.reconstruct_file(artifact, path, written[RECONSTRUCTION_OUTPUT], subtype="FLOAT")
        else:
            raise ParameterError(f"a {artifact.task} model gives no audio; audio-out tasks: {AUDIO_TASKS}")
    outputs = {name: sf.read(p, dtype="float32", always_2d=True)[0][:, 0] for name, p in written.items()}
    flags = []
    for w in caught:
        for words, flag in _WARNING_FLAGS.items():
            if issubclass(w.category, InputWarning) and words in str(w.message) and flag not in flags:
                flags.append(flag)
    return AudioOut(outputs, rate, tuple(flags))


class AudioOutWorker(MicroBatcher):
    """The worker of an audio-out model: the micro-batcher's bounded queue, futures, gate and
    warm-up, one file at a time.  An input is the path of a file; its future gives the
    :class:`AudioOut`.  The outputs are written into a temporary folder of the worker's own,
    removed once they are read back: a request that timed out or whose client went away
    leaves nothing behind, even while the worker is still writing."""

    def __init__(self, artifact, *, queue_size: int):
        super().__init__(artifact, max_batch=1, max_wait_ms=0, queue_size=queue_size)

    def _warm_up(self) -> None:
        """The library call on one clip of silence, then the model on every padded batch size."""
        audio = self.artifact.config.audio
        with tempfile.TemporaryDirectory(prefix="tympan-serve-warm-") as folder:
            path = Path(folder) / "silence.wav"
            sf.write(path, np.zeros(audio.samples, np.float32), audio.sr, subtype="FLOAT")
            render(self.artifact, path, folder)
        model = self.artifact.model
        for size in model.sizes:
            model.predict_on_batch(np.zeros((size, audio.samples), np.float32))

    def _predict(self, jobs: list) -> None:
        self.batches += 1
        self.largest = max(self.largest, len(jobs))
        for path, future in jobs:
            try:
                with tempfile.TemporaryDirectory(prefix="tympan-serve-out-") as folder:
                    result = render(self.artifact, path, folder)
            except Exception as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)


def wav_bytes(signals: list[np.ndarray], sr: int, subtype: str = "FLOAT") -> bytes:
    """A WAV file holding ``signals`` as its channels."""
    buf = pyio.BytesIO()
    sf.write(buf, np.stack(signals, axis=1), sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def check_source(artifact, source: str | None) -> None:
    """``source`` must be None or one of the artifact's outputs (ParameterError naming them)."""
    if source is not None and source not in output_names(artifact):
        raise ParameterError(f"source must be one of {list(output_names(artifact))}, got {source!r}")


def selected(result: AudioOut, source: str | None) -> dict[str, np.ndarray]:
    """The outputs asked for: all, or the one named ``source``."""
    return result.outputs if source is None else {source: result.outputs[source]}


def audio_headers(result: AudioOut, outputs: dict, name: str) -> dict[str, str]:
    """The headers of an audio answer: rate, duration, flags, the channels' names and a file name."""
    stem = Path(name).stem or "upload"
    suffix = "-".join(outputs) if len(outputs) == 1 else "separated"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in f"{stem}-{suffix}.wav")
    return {"X-Tympan-Sample-Rate": str(result.sr), "X-Tympan-Duration": f"{result.duration:.6f}",
            "X-Tympan-Flags": ",".join(result.flags), "X-Tympan-Channels": ",".join(outputs),
            "Content-Disposition": f'inline; filename="{safe}"'}


def audio_json(result: AudioOut, outputs: dict, name: str, task: str, subtype: str) -> dict:
    """The JSON answer: every output as a base64 WAV file (one channel each), and the figures."""
    return {"source": name, "task": task, "sample_rate": result.sr, "duration": result.duration,
            "flags": list(result.flags), "encoding": f"base64 WAV ({subtype})",
            "audio": {k: base64.b64encode(wav_bytes([y], result.sr, subtype)).decode("ascii")
                      for k, y in outputs.items()}}


__all__ = ["AUDIO_TASKS", "RECONSTRUCTION_OUTPUT", "SUBTYPES", "AudioOut", "AudioOutWorker",
           "audio_headers", "audio_json", "check_source", "output_names", "render", "selected", "wav_bytes"]
