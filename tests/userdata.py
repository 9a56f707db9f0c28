"""Folders that look like the data users bring, built from the real recordings in
``../shared/data`` (never from the network) in a few seconds.

Each ``build_*`` function writes into ``target`` (created if needed) and returns what the
fixture of the same name in ``tests/conftest.py`` returns; the fixtures are session-scoped, so
tests must not change these folders (copy one first).  Test modules can ``import userdata``
for the constants below (conftest.py registers the module).

``class_folders_8k`` -> Path
    ``root/{zero,one,two}/clip_NNN.wav``: 3 spoken digits (FSDD 0, 1, 2) x 12 clips, 8 kHz mono
    16-bit WAV, 0.2-0.7 s each.  Every class has 2 takes of each of the 6 FSDD speakers,
    but the names carry no speaker, class or take: ``clip_000.wav`` ... ``clip_035.wav``,
    numbered in a shuffled order over all classes.  No groups can be found from the names.
``class_folders_44k_stereo`` -> Path
    ``root/{airport,car,street}/take_NN.{flac,mp3}``: 3 NOIZEUS noise types x 8 clips, the
    noise of one sentence each (``noisy at 0 dB - clean``, sentences sp01-sp08), resampled to
    44.1 kHz, **stereo** (the right channel is the left one delayed by 5 samples at 0.8 times
    its level) and looped to exactly 5.0 s; even take numbers are FLAC (16-bit), odd ones MP3
    (so every class has both); both decode to 220500 frames.  Takes about 4 s to build (MP3
    encoding).
``esc50_layout`` -> CsvLayout(root, csv)
    The ESC-50 archive layout: ``root/meta/esc50.csv`` with the published header
    ``filename,fold,target,category,esc10,src_file,take`` and ``root/audio/<filename>``.
    3 categories (``airplane`` 47 from NOIZEUS airport noise, ``engine`` 44 from car noise,
    ``train`` 45 from train noise) x 5 folds (1-5) x one source recording (``src_file``) x 2
    takes (``A``, ``B``: the first and second half of one sentence's noise, so the takes of one
    recording are alike and must stay on one side of a split): 30 clips, named as ESC-50's
    ``{fold}-{src_file}-{take}-{target}.wav``, 8 kHz mono WAV, 1.0-1.5 s; ``esc10`` is
    ``False`` for all.  Rows sorted by file name, as published.
``urbansound8k_layout`` -> CsvLayout(root, csv)
    The UrbanSound8K archive layout: ``root/metadata/UrbanSound8K.csv`` with the published
    header ``slice_file_name,fsID,start,end,salience,fold,classID,class`` and
    ``root/audio/fold<fold>/<slice_file_name>``.  3 classes (``children_playing`` 2 from
    NOIZEUS babble noise, ``engine_idling`` 5 from car noise, ``street_music`` 9 from street
    noise) x 3 folds (1-3) x one source recording (``fsID``) x 2 slices (first and second half
    of one sentence's noise; ``start``/``end`` their place in it): 18 clips named
    ``{fsID}-{classID}-0-{slice}.wav``, 8 kHz mono WAV.
``bad_files_folder`` -> Path
    ``root/{one,two}/``: 5 good FSDD clips per class (``clip_0.wav`` ... ``clip_4.wav``, digits
    1 and 2, 8 kHz WAV) and the 4 broken files of :data:`BAD_FILES`: a 0-byte WAV, random bytes
    named ``.mp3``, a WAV cut inside its 44-byte header, and a text file named ``.flac``.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import NamedTuple

import numpy as np
import soundfile as sf

from tympan import io

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"

#: The broken files of ``bad_files_folder``, relative to its root.
BAD_FILES = ("one/empty.wav", "one/random_bytes.mp3", "two/cut_in_header.wav", "two/notes.flac")
#: Good files per class in ``bad_files_folder``.
BAD_FOLDER_GOOD_PER_CLASS = 5

DIGIT_NAMES = {0: "zero", 1: "one", 2: "two"}
SPEAKERS = ("george", "jackson", "lucas", "nicolas", "theo", "yweweler")
STEREO_CLASSES = ("airport", "car", "street")
ESC50_HEADER = "filename,fold,target,category,esc10,src_file,take"
ESC50_CATEGORIES = {"airplane": (47, "airport"), "engine": (44, "car"), "train": (45, "train")}
US8K_HEADER = "slice_file_name,fsID,start,end,salience,fold,classID,class"
US8K_CLASSES = {"children_playing": (2, "babble"), "engine_idling": (5, "car"),
                "street_music": (9, "street")}


class CsvLayout(NamedTuple):
    """A dataset listed in a CSV: the dataset folder and its metadata file."""

    root: Path
    csv: Path


def noise(shared: Path, kind: str, sentence: int) -> tuple[np.ndarray, int]:
    """The NOIZEUS ``kind`` noise under sentence ``sentence`` at 0 dB: noisy minus clean (8 kHz)."""
    base = shared / "noizeus"
    noisy, sr = sf.read(base / "noisy" / f"{kind}_0dB" / f"sp{sentence:02d}_{kind}_sn0.wav", dtype="float32")
    clean, _ = sf.read(base / "clean" / f"sp{sentence:02d}.wav", dtype="float32")
    return noisy - clean, sr


def build_class_folders_8k(target: Path, shared: Path = SHARED_DATA) -> Path:
    """See the module docstring: 3 digit folders x 12 FSDD clips named ``clip_NNN.wav``."""
    sources = [(digit, f"{digit}_{speaker}_{take}.wav")
               for digit in DIGIT_NAMES for speaker in SPEAKERS for take in (0, 1)]
    order = np.random.default_rng(7).permutation(len(sources))
    for number, k in enumerate(order):
        digit, name = sources[k]
        folder = target / DIGIT_NAMES[digit]
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shared / "fsdd" / "recordings" / name, folder / f"clip_{number:03d}.wav")
    return target


def build_class_folders_44k_stereo(target: Path, shared: Path = SHARED_DATA) -> Path:
    """See the module docstring: 3 noise folders x 8 stereo 5-s 44.1 kHz clips, FLAC and MP3."""
    sr = 44100
    for kind in STEREO_CLASSES:
        folder = target / kind
        folder.mkdir(parents=True, exist_ok=True)
        for take in range(8):
            y, orig = noise(shared, kind, take + 1)
            y = io.resample(y, orig_sr=orig, target_sr=sr)
            y = np.resize(y, 5 * sr)  # loop to 5 s
            y = 0.5 * y / np.max(np.abs(y))
            stereo = np.stack([y, 0.8 * np.roll(y, 5)])
            io.save(folder / f"take_{take:02d}.{'flac' if take % 2 == 0 else 'mp3'}", stereo, sr)
    return target


def build_esc50_layout(target: Path, shared: Path = SHARED_DATA) -> CsvLayout:
    """See the module docstring: ``meta/esc50.csv`` as published and ``audio/*.wav``."""
    (target / "meta").mkdir(parents=True, exist_ok=True)
    (target / "audio").mkdir(exist_ok=True)
    rows = []
    for c, (category, (label_id, kind)) in enumerate(ESC50_CATEGORIES.items()):
        for fold in range(1, 6):
            src_file = 100032 + 1000 * c + 17 * fold
            y, sr = noise(shared, kind, fold)
            half = len(y) // 2
            for take, part in (("A", y[:half]), ("B", y[half:])):
                name = f"{fold}-{src_file}-{take}-{label_id}.wav"
                io.save(target / "audio" / name, part, sr)
                rows.append(f"{name},{fold},{label_id},{category},False,{src_file},{take}")
    csv = target / "meta" / "esc50.csv"
    csv.write_text("\n".join([ESC50_HEADER, *sorted(rows)]) + "\n")
    return CsvLayout(target, csv)


def build_urbansound8k_layout(target: Path, shared: Path = SHARED_DATA) -> CsvLayout:
    """See the module docstring: ``metadata/UrbanSound8K.csv`` and ``audio/fold<N>/*.wav``."""
    (target / "metadata").mkdir(parents=True, exist_ok=True)
    rows = []
    for c, (cls, (class_id, kind)) in enumerate(US8K_CLASSES.items()):
        for fold in range(1, 4):
            fs_id = 17592 + 7919 * (3 * c + fold)
            y, sr = noise(shared, kind, 5 + fold)
            half = len(y) // 2
            folder = target / "audio" / f"fold{fold}"
            folder.mkdir(parents=True, exist_ok=True)
            for index, (start, stop) in enumerate(((0, half), (half, len(y)))):
                name = f"{fs_id}-{class_id}-0-{index}.wav"
                io.save(folder / name, y[start:stop], sr)
                rows.append(f"{name},{fs_id},{start / sr:.6f},{stop / sr:.6f},{1 + index},{fold},"
                            f"{class_id},{cls}")
    csv = target / "metadata" / "UrbanSound8K.csv"
    csv.write_text("\n".join([US8K_HEADER, *rows]) + "\n")
    return CsvLayout(target, csv)


def build_bad_files_folder(target: Path, shared: Path = SHARED_DATA) -> Path:
    """See the module docstring: good FSDD clips and the broken files of :data:`BAD_FILES`."""
    recordings = shared / "fsdd" / "recordings"
    for digit, name in ((1, "one"), (2, "two")):
        (target / name).mkdir(parents=True, exist_ok=True)
        for k in range(BAD_FOLDER_GOOD_PER_CLASS):
            shutil.copyfile(recordings / f"{digit}_{SPEAKERS[k]}_0.wav", target / name / f"clip_{k}.wav")
    empty, random_mp3, cut, text = (target / rel for rel in BAD_FILES)
    empty.write_bytes(b"")
    # bytes below 0xFF hold no MPEG frame sync, so no decoder can take them for audio
    random_mp3.write_bytes(np.random.default_rng(3).integers(0, 255, 4096, dtype=np.uint8).tobytes())
    cut.write_bytes((recordings / "2_theo_1.wav").read_bytes()[:30])
    text.write_text("These are my notes about the recordings, not audio.\n")
    return target


def build_tags_csv(target: Path, takes: int, shared: Path = SHARED_DATA) -> Path:
    """A tagging layout: FSDD clips of jackson and theo (``takes`` of each digit) copied into
    ``target``, listed in ``target/tags.csv`` as ``path,label`` with labels '<digit>;odd|even'."""
    rows = ["path,label"]
    for speaker in ("jackson", "theo"):
        for digit in range(10):
            for take in range(takes):
                name = f"{digit}_{speaker}_{take}.wav"
                shutil.copy(shared / "fsdd" / "recordings" / name, target / name)
                rows.append(f"{name},{digit};{'odd' if digit % 2 else 'even'}")
    (target / "tags.csv").write_text("\n".join(rows) + "\n")
    return target / "tags.csv"


def make_dataset(labels, groups=None, folds=None):
    """An in-memory :class:`tympan.data.Dataset` of made-up paths ``/x/<i>_<label>.wav`` with
    these labels (and groups, folds), for split tests that read no audio."""
    from tympan.data import Dataset, Item

    n = len(labels)
    groups = groups if groups is not None else [None] * n
    folds = folds if folds is not None else [None] * n
    items = tuple(Item(Path(f"/x/{i}_{lab}.wav"), str(lab), None if g is None else str(g), f)
                  for i, (lab, g, f) in enumerate(zip(labels, groups, folds, strict=True)))
    return Dataset(items, Path("/x"))
