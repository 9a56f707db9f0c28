"""The tympan exception hierarchy.

Every error tympan raises on purpose derives from :class:`TympanError`, so an application can
catch all of them with one ``except``.  Messages name the offending file or parameter and repeat
the bad value.
"""

from __future__ import annotations


class TympanError(Exception):
    """Root of every error raised by tympan."""


class ParameterError(TympanError, ValueError):
    """A function argument has a bad value, type or shape (the message names it)."""


class AudioIOError(TympanError, OSError):
    """An audio file is missing, empty, truncated, corrupt or in an unsupported format."""


class ArtifactError(TympanError):
    """A saved pipeline artifact is missing, incomplete, or from an unknown schema version."""


class DatasetError(TympanError):
    """A dataset cannot be discovered, split or loaded."""


class InputWarning(UserWarning):
    """Input that tympan can process but whose result is doubtful: silence, a signal shorter than
    the model's analysis window, samples far beyond [-1, 1], an unusual sample rate.  The
    message names the file (or array) and the value."""


class MissingDependencyError(TympanError, ImportError):
    """An optional package is not installed (the message names the ``pip install`` extra)."""


__all__ = ["ArtifactError", "AudioIOError", "DatasetError", "InputWarning", "MissingDependencyError",
           "ParameterError", "TympanError"]
