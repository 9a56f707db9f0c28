"""Audio files in and out: :func:`load`, :func:`save`, :func:`info`, :func:`stream`,
:func:`resample` and :func:`to_mono`.

numpy + soundfile (libsndfile) + soxr only.  Arrays follow librosa: a mono signal is 1-D
``(samples,)``, a multichannel one is ``(channels, samples)``, samples are floats in [-1, 1].
Lengths given to :func:`stream` are in samples; offsets and durations are in seconds.

Every failure of a file (missing, a folder, empty, truncated, corrupt, a header declaring more
audio than the file holds, no audio at all, non-finite samples, a format libsndfile does not
read) raises :class:`~tympan.errors.AudioIOError` naming the path and the cause; a bad argument
raises :class:`~tympan.errors.ParameterError` naming the argument and its value.  Decoding never
allocates more than the file can hold, whatever its header says (:mod:`tympan.io.decoding`).

Modules: ``reading`` (info, load, stream), ``decoding`` (opening and bounded decoding),
``writing`` (save), ``resampling`` (resample, to_mono).
"""

from __future__ import annotations

from tympan.io.decoding import FORMATS
from tympan.io.reading import AudioInfo, info, load, stream
from tympan.io.resampling import resample, to_mono
from tympan.io.writing import save

__all__ = ["FORMATS", "AudioInfo", "info", "load", "resample", "save", "stream", "to_mono"]
