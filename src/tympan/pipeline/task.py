"""Tasks: what a kind of model learns and gives back, as one object per kind, in a registry.

A :class:`Task` declares, for one kind of job (classification, reconstruction, separation,
frame labelling):

* **objectives** (what :mod:`tympan.pipeline.driver` trains with): :meth:`Task.loss`,
  :meth:`Task.metrics`, :meth:`Task.learning_rate` (a number, or a schedule over the run);
* **examples**: :meth:`Task.examples`, how loaded data becomes ``(inputs, targets)``;
* **applying** (Hugging Face's ``preprocess -> _forward -> postprocess``): :meth:`Task.run`
  turns one input (a file, an array, a folder or list of them; files are streamed) into
  results, and :meth:`Task.evaluate` measures an artifact on data;
* **results**: :meth:`Task.serialise` (``json``, ``csv``, ``table``; audio-out tasks write
  audio files instead), and :attr:`Task.output` says which kind a result is.

Tasks are registered by name (:func:`register_task`, :func:`get_task`), as the model builders
are (:func:`tympan.models.register_model`); the name is ``pipeline.json``'s ``"task"``, and a
model's registered task says which Task trains it.  The task objects live beside the code that
applies them (``predict``, ``reconstruct``, ``separate``, ``frames``); this module is below
them all, so any of them can check an artifact's task (:func:`require`) without importing the
others.  Where a Task sits in the layers: above ``data`` and ``models`` (it needs both) and
inside ``pipeline``, because applying a task means loading an artifact, which is the
pipeline's.
"""

from __future__ import annotations

import csv
import io as _io
import json
from typing import Any

from tympan.errors import ArtifactError, ParameterError

#: how a result is written: one JSON object per result, CSV rows, an aligned text table
FORMATS = ("json", "csv", "table")


class Task:
    """One kind of job. Subclasses set the attributes and override what they support; the
    driver and the public functions call only these."""

    #: ``pipeline.json``'s ``"task"`` (and the models registry's task of its models)
    name: str = ""
    #: one model of this task, in words (``"classifier"``, ``"separator"``)
    kind: str = "model"
    #: what a result is: ``"labels"`` (per input), ``"audio"`` (a waveform or sources),
    #: ``"frames"`` (a class per frame)
    output: str = "labels"
    #: how to train one and how to apply one, named in errors about the wrong task
    trained_with: str = ""
    applied_with: str = ""
    #: what a model of this task is (``"an autoencoder (audio in, audio out)"``), and what
    #: applying one needs, for errors about an artifact of another task
    noun: str = ""
    needs: str = ""
    #: the optional steps of :mod:`tympan.pipeline.driver` this task supports
    supports: frozenset[str] = frozenset()

    # ---- objectives (SpeechBrain's compute_objectives)
    def loss(self, config) -> Any:
        raise NotImplementedError(f"the {self.name} task declares no loss")

    def metrics(self, config) -> list:
        return []

    def learning_rate(self, config, *, steps: int):
        """The learning rate of a run of ``steps`` optimizer steps: a number or a schedule."""
        return config.training.learning_rate

    # ---- examples
    def examples(self, data, config) -> tuple[Any, Any]:
        """``(inputs, targets)`` (or a ``PyDataset``, targets None) from loaded ``data``."""
        raise NotImplementedError(f"the {self.name} task does not describe its examples")

    # ---- applying (HF pipelines: preprocess -> _forward -> postprocess)
    def run(self, artifact, source, **options) -> list:
        raise NotImplementedError(f"the {self.name} task has no run()")

    def evaluate(self, artifact, data, **options):
        raise NotImplementedError(f"the {self.name} task has no evaluate()")

    # ---- results
    def rows(self, result) -> list[dict]:
        """The flat rows (one dict each) of one result, for ``csv`` and ``table``."""
        d = result.to_dict() if hasattr(result, "to_dict") else dict(result)
        return [{k: val for k, val in d.items() if not isinstance(val, (list, dict, tuple))}]

    def serialise(self, results, fmt: str = "json") -> str:
        """``results`` as text: ``json`` (a list of objects), ``csv`` or ``table`` (the rows of
        :meth:`rows`)."""
        if fmt not in FORMATS:
            raise ParameterError(f"format must be one of {', '.join(FORMATS)}, got {fmt!r}")
        if fmt == "json":
            return json.dumps([r.to_dict() if hasattr(r, "to_dict") else r for r in results],
                              indent=2, default=str)
        rows = [row for r in results for row in self.rows(r)]
        columns = list(dict.fromkeys(k for row in rows for k in row))
        if fmt == "csv":
            buf = _io.StringIO()
            writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            return buf.getvalue()
        cells = [[_cell(row.get(c)) for c in columns] for row in rows]
        widths = [max(len(c), *(len(r[i]) for r in cells)) if cells else len(c)
                  for i, c in enumerate(columns)]
        lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
        lines += ["  ".join(x.ljust(w) for x, w in zip(r, widths, strict=True)) for r in cells]
        return "\n".join(line.rstrip() for line in lines) + "\n"

    def check(self, artifact):
        """``artifact`` if it is of this task, else an ArtifactError naming what it needs."""
        return require(artifact, self.name)

    def __repr__(self) -> str:
        return f"<Task {self.name!r}>"


def _cell(x) -> str:
    if x is None:
        return ""
    if isinstance(x, float):
        return f"{x:.4g}"
    return str(x)


_TASKS: dict[str, Task] = {}


def register_task(task: Task) -> Task:
    """Register ``task`` under its name (once); returns it."""
    if not task.name:
        raise ParameterError("a task needs a name")
    if task.name in _TASKS and _TASKS[task.name] is not task:
        raise ParameterError(f"task {task.name!r} is registered already")
    _TASKS[task.name] = task
    return task


def get_task(name: str) -> Task:
    """The registered task ``name`` (ParameterError listing the known ones otherwise)."""
    try:
        return _TASKS[name]
    except KeyError:
        raise ParameterError(f"unknown task {name!r}; known: {', '.join(sorted(_TASKS))}") from None


def available_tasks() -> tuple[str, ...]:
    return tuple(sorted(_TASKS))


def labels_task(artifact, fallback: Task) -> Task:
    """The registered task of ``artifact`` when it gives labels per input (classification,
    tagging: what ``predict`` and ``evaluate`` run); else ``fallback``, whose ``run`` and
    ``evaluate`` refuse the artifact, naming what to use instead."""
    task = _TASKS.get(artifact.task)
    return task if task is not None and task.output == "labels" else fallback


def require(artifact, name: str, *, error: type[Exception] = ArtifactError):
    """``artifact`` when its task is ``name``; else ``error`` naming what the artifact is and
    what the task ``name`` needs (``"<path> is a classification model; reconstruct needs an
    autoencoder (tympan autoencoder train)"``)."""
    if artifact.task == name:
        return artifact
    wanted = _TASKS.get(name)
    need = wanted.needs if wanted is not None and wanted.needs else f"this needs a {name} model"
    raise error(f"{artifact.path or 'the artifact'} is a {artifact.task} model; {need}")


def misuse(artifact) -> str:
    """What ``artifact`` is and how to apply it instead (``"<path> is an autoencoder (audio in,
    audio out): use tympan.pipeline.reconstruct (tympan autoencoder reconstruct)"``)."""
    other = _TASKS.get(artifact.task)
    where = artifact.path or "the artifact"
    if other is None:
        return f"{where} is a {artifact.task} model"
    return f"{where} is {other.noun}: use {other.applied_with}"


__all__ = ["FORMATS", "Task", "available_tasks", "get_task", "labels_task", "misuse", "register_task",
           "require"]
