"""Writing segmentations out: an Audacity label track, JSON, CSV or a text table of the
segments, the kept parts of a file as one audio file, or one audio file per segment; and
:func:`segment_file`, the whole job on a file of any length (what ``tympan segment`` runs).

Nothing is written over an existing file (or into a non-empty folder) unless
``overwrite=True``; audio goes through :func:`tympan.io.save` (atomic).
"""

from __future__ import annotations

import csv
import io as _io
import json
import os
from pathlib import Path

import numpy as np

from tympan import io
from tympan.atomic import replacing
from tympan.errors import AudioIOError, DatasetError, ParameterError
from tympan.segment import intervals as iv
from tympan.segment.labelling import DEFAULT_METHOD, FrameLabels, kept_intervals, label_file

FORMATS = ("table", "json", "csv")
_BLOCK_SEC = 30.0


def audacity_labels(segments) -> str:
    """An Audacity label track: one ``start<TAB>end<TAB>label`` line per segment (seconds,
    6 decimals), as Audacity's File > Import > Labels reads it."""
    return "".join(f"{a:.6f}\t{b:.6f}\t{label}\n" for a, b, label in segments)


def read_audacity_labels(path) -> list[tuple[float, float, str]]:
    """The segments of an Audacity label file (frequency lines starting with ``\\`` skipped)."""
    out = []
    for line in Path(path).read_text().splitlines():
        if not line.strip() or line.startswith("\\"):
            continue
        try:
            start, end, *label = line.split("\t")
            out.append((float(start), float(end), label[0] if label else ""))
        except ValueError:
            raise DatasetError(f"'{path}': cannot read the label line {line!r} (expected "
                               "start<TAB>end<TAB>label)") from None
    return out


def format_segments(segments, fmt: str = "table") -> str:
    """``segments`` as ``"table"`` (aligned columns), ``"json"`` (a list of objects with
    ``start``, ``end``, ``label``) or ``"csv"`` (header ``start,end,label``)."""
    if fmt not in FORMATS:
        raise ParameterError(f"fmt must be one of {', '.join(map(repr, FORMATS))}, got {fmt!r}")
    rows = [(round(float(a), 6), round(float(b), 6), str(label)) for a, b, label in segments]
    if fmt == "json":
        return json.dumps([{"start": a, "end": b, "label": c} for a, b, c in rows], indent=1) + "\n"
    if fmt == "csv":
        buf = _io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["start", "end", "label"])
        writer.writerows(rows)
        return buf.getvalue()
    lines = [f"{'start':>10} {'end':>10}  label"]
    lines += [f"{a:>10.3f} {b:>10.3f}  {c}" for a, b, c in rows]
    return "\n".join(lines) + "\n"


def _free(path: Path, overwrite: bool, what: str) -> Path:
    if path.exists() and not overwrite:
        raise ParameterError(f"{what} '{path}' already exists; pass overwrite=True (--overwrite) "
                             "to replace it")
    return path


def write_text(path, text: str, *, overwrite: bool = False) -> Path:
    """Write ``text`` to ``path`` (refusing an existing file unless ``overwrite``)."""
    p = _free(Path(os.fspath(path)), overwrite, "output")
    if not p.parent.is_dir():
        raise AudioIOError(f"cannot write '{p}': the folder '{p.parent}' does not exist")
    with replacing(p) as (tmp,):  # an existing file is replaced only by a complete one
        tmp.write_text(text)
    return p


def _pieces(src, spans, *, sr: int | None = None):
    """``(index, samples)`` of each interval of ``spans`` (seconds, sorted, disjoint) read from
    ``src`` in blocks, so the file is never held whole."""
    rate = io.info(src).sr if sr is None else sr
    # keep each span's own index, so that spans too short for one sample (dropped by
    # to_samples) do not shift the ones after them
    todo = []
    for k, span in enumerate(spans):
        got = iv.to_samples([span], sr=rate, n_samples=np.iinfo(np.int64).max)
        if got:
            todo.append((k, *got[0]))
    block = round(_BLOCK_SEC * rate)
    current, parts, k = 0, [], 0
    for data in io.stream(src, block_length=block, mono=False):
        end = current + data.shape[-1]
        while k < len(todo) and todo[k][1] < end:
            index, a, b = todo[k]
            parts.append(data[..., max(a, current) - current : min(b, end) - current])
            if b > end:
                break
            yield index, np.concatenate(parts, axis=-1)
            parts, k = [], k + 1
        current = end
    if parts:
        yield todo[k][0], np.concatenate(parts, axis=-1)


def write_kept(src, dst, spans, *, overwrite: bool = False, subtype: str | None = None) -> float:
    """Write the parts of ``src`` inside ``spans`` (seconds), joined, to ``dst`` at the file's
    own rate, channels and (for the same format) sample encoding; returns the seconds written.
    Nothing kept is an error, not an empty file."""
    dst = _free(Path(os.fspath(dst)), overwrite, "output")
    info = io.info(src)
    pieces = [piece for _, piece in _pieces(src, spans, sr=info.sr)]
    if not pieces or sum(p.shape[-1] for p in pieces) == 0:
        raise ParameterError(f"nothing of '{src}' is kept ({len(spans)} interval(s), none at least "
                             f"one sample long); '{dst}' was not written")
    y = np.concatenate(pieces, axis=-1)
    io.save(dst, y, info.sr, subtype=subtype or _same_subtype(info, dst), clip=True)
    return y.shape[-1] / info.sr


def _same_subtype(info, dst) -> str | None:
    """The source's sample encoding when ``dst`` is of the same format (24-bit or float stays
    so); otherwise the format's default.  The format is the file's own, not its extension's (an
    MP3 named .wav is written as a WAV of the default encoding)."""
    import soundfile as sf

    fmt = io.FORMATS.get(Path(os.fspath(dst)).suffix.lower())
    same = fmt == info.format or ({fmt, info.format} <= _WAV_FAMILY  # (an ADPCM WAV: not in RF64)
                                  and sf.check_format(fmt, info.subtype))
    return info.subtype if same else None


#: The RIFF-like formats libsndfile names apart but that hold the same encodings: a 24-bit
#: WAVE_FORMAT_EXTENSIBLE file (``WAVEX``) cut to a .wav stays 24-bit
_WAV_FAMILY = {"WAV", "WAVEX", "RF64", "W64"}


def write_segment_files(src, folder, segments, *, overwrite: bool = False,
                        extension: str | None = None) -> list[Path]:
    """One audio file per segment ``(start, end, label)`` of ``src`` in ``folder`` (created),
    named ``0001_vowel_1.230-1.310.wav`` (the source's extension unless ``extension``)."""
    folder = Path(os.fspath(folder))
    if folder.exists() and (not folder.is_dir() or (any(folder.iterdir()) and not overwrite)):
        raise ParameterError(f"export folder '{folder}' exists and is not empty; pass overwrite=True "
                             "(--overwrite) to write into it")
    folder.mkdir(parents=True, exist_ok=True)
    ext = extension or Path(os.fspath(src)).suffix.lower()
    if ext not in io.FORMATS:
        ext = ".wav"
    segments = sorted(segments)
    info = io.info(src)
    written = []
    for k, piece in _pieces(src, [(a, b) for a, b, _ in segments], sr=info.sr):
        a, b, label = segments[k]
        path = folder / f"{k + 1:04d}_{label}_{a:.3f}-{b:.3f}{ext}"
        io.save(path, piece, info.sr, subtype=_same_subtype(info, path), clip=True)
        written.append(path)
    return written


def segment_file(src, *, method: str = DEFAULT_METHOD, keep: str = "speech", out=None, export=None,
                 export_dir=None, overwrite: bool = False, block_sec: float = 30.0,
                 **params) -> tuple[FrameLabels, list[tuple[float, float, str]]]:
    """Label ``src`` (any length, read in blocks) and write what is asked: ``out``, the kept
    parts (``keep``: ``"vowels"``, ``"consonants"`` or ``"speech"``, None for ``"speech"``)
    joined; ``export``, an Audacity label track of every segment; ``export_dir``, one file per
    kept segment.  Returns ``(frame labels, the kept segments (start, end, label))``."""
    src = Path(os.fspath(src))
    targets = [Path(os.fspath(p)) for p in (out, export) if p is not None]
    for p in targets:  # fail before the work
        if p.resolve() == src.resolve():  # never, not even with overwrite: the input is kept
            raise ParameterError(f"output '{p}' is the input file; write to another file")
        _free(p, overwrite, "output")
    if len(targets) == 2 and targets[0].resolve() == targets[1].resolve():
        raise ParameterError(f"out and export are the same file '{targets[0]}'; give two files")
    labels = label_file(src, method=method, block_sec=block_sec, **params)
    keep = keep or "speech"  # None (older callers): the default
    spans = kept_intervals(labels, keep)
    name = "speech" if keep == "speech" else keep[:-1]
    kept = [(a, b, name) for a, b in spans]
    if export is not None:
        write_text(export, audacity_labels(labels.segments()), overwrite=overwrite)
    if export_dir is not None:
        write_segment_files(src, export_dir, kept, overwrite=overwrite)
    if out is not None:
        write_kept(src, out, spans, overwrite=overwrite)
    return labels, kept
