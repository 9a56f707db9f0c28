"""Read the clips of a dataset into one array: :func:`load_clips`, and :func:`fit_length`, the
pad/crop policy that makes every clip the same length.

Files are read with :func:`tympan.io.load` (resampled to ``sr``, mixed to mono) on a pool of
threads (libsndfile and soxr release the GIL), with a tqdm progress bar on stderr when tqdm is
installed.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from collections.abc import Iterable
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np

from tympan import _validate as v
from tympan import io
from tympan.data.dataset import Dataset, DatasetWarning, Item
from tympan.errors import AudioIOError, DatasetError, ParameterError
from tympan.signal_checks import check_signal

__all__ = ["CROP_MODES", "PAD_MODES", "DatasetWarning", "crop_seeds", "fit_length", "load_clip", "load_clips",
           "progress_bar"]

PAD_MODES = ("end", "center", "wrap")
CROP_MODES = ("start", "center", "end", "random")


# --------------------------------------------------------------------------- fit_length
def fit_length(y: np.ndarray, n_samples: int, *, pad: str = "end", crop: str = "center",
               rng: np.random.Generator | int | None = None) -> np.ndarray:
    """Pad or crop the last axis of ``y`` to ``n_samples``.

    pad (when shorter)
        ``"end"``: zeros after; ``"center"``: zeros on both sides (the extra one after);
        ``"wrap"``: repeat the signal (an empty signal gives zeros).
    crop (when longer)
        ``"start"``: keep the first ``n_samples``; ``"center"``: the middle ones (the extra
        sample dropped at the end); ``"end"``: the last ones; ``"random"``: a random window,
        drawn from ``rng`` (a Generator or a seed, required).

    Leading axes (channels, batch) are kept.  A signal already ``n_samples`` long is returned
    as it is (not copied).
    """
    y = v.valid_audio(y)
    n = v.positive_int("n_samples", n_samples)
    v.choice("pad", pad, PAD_MODES)
    v.choice("crop", crop, CROP_MODES)
    length = y.shape[-1]
    if length == n:
        return y
    if length > n:
        if crop == "start":
            start = 0
        elif crop == "center":
            start = (length - n) // 2
        elif crop == "end":
            start = length - n
        else:
            if rng is None:
                raise ParameterError("rng must be a numpy Generator or a seed for crop='random', "
                                     "got None")
            start = int(np.random.default_rng(rng).integers(0, length - n + 1))
        return y[..., start:start + n]
    if pad == "wrap" and length:
        reps = -(-n // length)
        return np.concatenate([y] * reps, axis=-1)[..., :n]
    before = (n - length) // 2 if pad == "center" else 0
    width = [(0, 0)] * (y.ndim - 1) + [(before, n - length - before)]
    return np.pad(y, width)


# --------------------------------------------------------------------------- load_clips
def _as_items(data: Any) -> tuple[Item, ...]:
    if isinstance(data, Dataset):
        return data.items
    if isinstance(data, Item):
        return (data,)
    if isinstance(data, (str, os.PathLike)):
        raise ParameterError("dataset_or_items must be a Dataset or a sequence of Item or paths, "
                             f"got a single path {os.fspath(data)!r} (wrap it in a list)")
    if not isinstance(data, Iterable):
        raise ParameterError("dataset_or_items must be a Dataset or a sequence of Item or paths, "
                             f"got {type(data).__name__}")
    items = []
    for x in data:
        if isinstance(x, Item):
            items.append(x)
        elif isinstance(x, (str, os.PathLike)):
            items.append(Item(Path(x), ""))
        else:
            raise ParameterError(f"dataset_or_items must hold Item or paths, got {type(x).__name__}")
    return tuple(items)


def _load_one(item: Item, sr: int, mono: bool, n: int, pad: str, crop: str,
              seed: int | None, min_samples: int = 0) -> tuple[np.ndarray, list[str]]:
    """One clip, fitted to ``n`` samples, and the signal policy's flags of its own samples
    (``silent``; ``too_short`` below ``min_samples`` at ``sr``), taken before resampling (which
    makes a constant signal ring) and padding; a problem with its file raises AudioIOError or
    DatasetError naming the file."""
    offset = item.start or 0.0
    length = None if item.end is None else item.end - offset
    try:
        y, rate = io.load(item.path, mono=mono, offset=offset, duration=length, for_sr=sr)
        if y.shape[-1] == 0:
            raise DatasetError(f"clip '{item.path}' is empty (0 samples"
                               + (f" in {offset}..{item.end} s)" if item.end else ")"))
        flags = check_signal(y, sr=rate, min_samples=math.ceil(min_samples * rate / sr), warn=False)
        if rate != sr:  # as io.load(sr=) does it
            y = io.resample(y, orig_sr=rate, target_sr=sr)
        if not mono and y.ndim == 1:
            y = y[np.newaxis]
        return fit_length(y, n, pad=pad, crop=crop, rng=seed).astype(np.float32, copy=False), flags
    except ParameterError as exc:  # an offset past the end, NaN samples: a fault of this clip
        raise DatasetError(f"clip '{item.path}': {exc}") from exc


def load_clip(item: Item, *, sr: int, duration: float, mono: bool = True, pad: str = "end",
              crop: str = "center", seed: int | None = None) -> np.ndarray:
    """One clip exactly as :func:`load_clips` reads it (resampled to ``sr``, fitted to
    ``round(duration * sr)`` samples, float32); ``seed`` is its ``crop="random"`` draw
    (:func:`crop_seeds`).  A problem with its file raises AudioIOError or DatasetError naming
    the file.  What a stream of clips calls for each item (:mod:`tympan.pipeline.streaming`)."""
    return _load_one(item, sr, bool(mono), round(duration * sr), pad, crop, seed)[0]


def crop_seeds(n: int, crop: str, rng: np.random.Generator | int | None = None) -> list[int | None]:
    """The ``crop="random"`` seed of each of ``n`` clips, in input order, as :func:`load_clips`
    draws them from ``rng`` (default seed 0); ``None`` each for other crops."""
    if crop != "random":
        return [None] * n
    gen = np.random.default_rng(0 if rng is None else rng)
    return [int(s) for s in gen.integers(0, 2**63 - 1, size=n)]


def load_clips(dataset_or_items: Dataset | Iterable[Item | str | os.PathLike], *, sr: int,
               duration: float, mono: bool = True, pad: str = "end", crop: str = "center",
               on_error: str = "raise", workers: int | None = None, progress: bool = True,
               desc: str = "loading", rng: np.random.Generator | int | None = None,
               min_samples: int = 0, return_flags: bool = False
               ) -> tuple[np.ndarray, np.ndarray] | tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
    """Read clips into one float32 array, every clip resampled to ``sr`` and fitted to
    ``round(duration * sr)`` samples by :func:`fit_length` (``pad``, ``crop``).

    Returns ``(X, kept)``: ``X`` is ``(n_kept, samples)`` (``(n_kept, channels, samples)`` with
    ``mono=False``; every file then needs the same channel count) and ``kept`` the int64
    indices, into the input, of the clips in ``X``.  An item's ``start``/``end`` range is read
    instead of the whole file.

    on_error ``"raise"``: a file that cannot be read raises its AudioIOError (or a
    DatasetError for an empty range, an offset past its end), naming the file.  ``"skip"``: the
    clip is left out with a :class:`DatasetWarning` naming the file and the cause; if every clip
    fails, DatasetError (and no warnings).

    ``crop="random"`` draws one window per clip from ``rng`` (a Generator or a seed; default
    seed 0), in input order, so results do not depend on ``workers``.
    ``workers`` threads read the files (default ``min(8, os.cpu_count())``; 1: no threads).

    ``return_flags=True`` returns ``(X, kept, flags)``: ``flags[j]`` the signal policy's flags of
    clip ``kept[j]`` (:mod:`tympan.signal_checks`: ``silent`` for digital silence or DC,
    ``too_short`` below ``min_samples`` samples at ``sr``, ``beyond_full_scale``), taken on the
    file's own samples before resampling and padding.  Nothing is warned for them here.
    """
    items = _as_items(dataset_or_items)
    sr = v.positive_int("sr", sr)
    duration = v.positive_number("duration", duration)
    v.choice("pad", pad, PAD_MODES)
    v.choice("crop", crop, CROP_MODES)
    v.choice("on_error", on_error, ("raise", "skip"))
    workers = v.positive_int("workers", workers if workers is not None else min(8, os.cpu_count() or 1))
    n = round(duration * sr)
    if n < 1:
        raise ParameterError(f"duration must give at least one sample at sr={sr}, got {duration!r}")
    if not items:
        raise DatasetError("nothing to load: the dataset is empty")
    seeds = crop_seeds(len(items), crop, rng)
    args = (sr, bool(mono), n, pad, crop)
    min_samples = v.non_negative_int("min_samples", min_samples)
    flags: dict[int, tuple[str, ...]] = {}

    out = np.empty((len(items), n), np.float32) if mono else None  # mono: no second copy
    multi: dict[int, np.ndarray] = {}
    ok = np.zeros(len(items), bool)
    failures: list[tuple[int, Exception]] = []
    bar = progress_bar(len(items), desc) if progress else None

    def take(i: int, call: Any) -> None:
        try:
            y, flagged = call()
        except (AudioIOError, DatasetError) as exc:
            if on_error == "raise":
                raise
            failures.append((i, exc))
        else:
            if out is not None:
                out[i] = y
            else:
                multi[i] = y
            ok[i] = True
            flags[i] = tuple(flagged)
        finally:
            if bar is not None:
                bar.update(1)

    try:
        if workers == 1 or len(items) == 1:
            for i, item in enumerate(items):
                take(i, lambda item=item, i=i: _load_one(item, *args, seeds[i], min_samples))
        else:
            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="tympan-load") as pool:
                futures = {pool.submit(_load_one, item, *args, seeds[i], min_samples): i
                           for i, item in enumerate(items)}
                pending = set(futures)
                try:
                    while pending:
                        done, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for fut in sorted(done, key=futures.__getitem__):
                            take(futures[fut], fut.result)
                except BaseException:
                    for fut in pending:
                        fut.cancel()
                    raise
    finally:
        if bar is not None:
            bar.close()

    failures.sort(key=lambda f: f[0])
    kept = np.flatnonzero(ok)
    if not len(kept):
        raise DatasetError(f"all {len(items)} clips failed to load; the first: {failures[0][1]}")
    for i, exc in failures:
        warnings.warn(f"skipped clip {i} '{Path(items[i].path).name}': {exc}", DatasetWarning,
                      stacklevel=2)
    if out is not None:
        if len(kept) < len(items):  # compact in place: kept[j] >= j
            for j, i in enumerate(kept):
                out[j] = out[i]
            out = out[: len(kept)]
    else:
        shapes = sorted({multi[i].shape[0] for i in kept})
        if len(shapes) > 1:
            raise DatasetError(f"clips have different channel counts {shapes} (with mono=False): "
                               "load them with mono=True or convert the files")
        out = np.stack([multi.pop(i) for i in kept])
    return (out, kept, [flags[i] for i in kept]) if return_flags else (out, kept)


def progress_bar(total: int, desc: str) -> Any:
    """A tqdm bar on stderr counting ``total`` clips, labelled ``desc``; ``None`` when tqdm is not
    installed (callers then skip the updates).  Shared by every loop that reads clips."""
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="clip", file=sys.stderr, dynamic_ncols=True)
