"""data.inspect: counts, headers, unreadable files and identical audio (the same bytes, the same
samples as FLAC) across the split or with different labels, on a folder of FSDD recordings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from tympan import data, io
from tympan.data import DEFAULT_TEST_SIZE, Dataset, Item, Split
from tympan.data.inspect import BLOCK_FRAMES
from tympan.errors import DatasetError, ParameterError

NAMES = {d: [f"{d}_{s}_{t}.wav" for s in ("george", "jackson") for t in range(4)] for d in "012"}


def build(root: Path, fsdd: Path) -> dict:
    """Class folders 0, 1, 2 of 8 FSDD recordings each, plus planted problems; returns what was
    planted (paths relative to ``root``)."""
    for digit, names in NAMES.items():
        (root / digit).mkdir(parents=True)
        for name in names:
            shutil.copyfile(fsdd / name, root / digit / name)
    # the same file in another class folder: a label conflict
    shutil.copyfile(root / "0" / "0_george_0.wav", root / "1" / "0_george_0.wav")
    # the same samples saved as FLAC
    y, sr = io.load(root / "2" / "2_jackson_1.wav")
    io.save(root / "2" / "2_jackson_1.flac", y, sr)
    # a file that is not audio, and a FLAC whose header reads but whose samples do not
    (root / "1" / "broken.wav").write_bytes(b"RIFF....not audio at all")
    io.save(root / "2" / "cut.flac", y, sr)
    whole = (root / "2" / "cut.flac").read_bytes()
    (root / "2" / "cut.flac").write_bytes(whole[: len(whole) // 2])
    # a test item of class 0 overwritten by a train item of class 0: a leak (contents never
    # change the split, so it is the one inspect makes)
    ds = data.from_folders(root)
    s = data.split(ds, method="auto", test_size=DEFAULT_TEST_SIZE, seed=0)
    plain = {f"0/{n}" for n in NAMES["0"]} - {"0/0_george_0.wav"}
    rel = [ds[i].path.relative_to(root).as_posix() for i in range(len(ds))]
    src = next(rel[i] for i in s.train if rel[i] in plain)
    dst = next(rel[i] for i in s.test if rel[i] in plain)
    shutil.copyfile(root / src, root / dst)
    return {"conflict": {"0/0_george_0.wav", "1/0_george_0.wav"}, "leak": {src, dst},
            "flac": {"2/2_jackson_1.wav", "2/2_jackson_1.flac"}}


@pytest.fixture(scope="module")
def planted(tmp_path_factory, shared_data):
    root = tmp_path_factory.mktemp("inspect") / "data"
    plants = build(root, shared_data / "fsdd" / "recordings")
    return root, plants, data.inspect(root, progress=False)


def rel(dup, root) -> set[str]:
    return {p.relative_to(root).as_posix() for p in dup.paths}


def test_counts_durations_and_rates(planted):
    root, _, found = planted
    d = found.to_dict()
    assert d["items"] == 28 and d["classes"] == {"0": 8, "1": 10, "2": 10}
    assert d["groups"] is None and d["folds"] is None
    assert d["files"]["readable"] == 26 and d["files"]["unreadable"] == 2
    assert d["files"]["sample_rates"] == {"8000": 26} and d["files"]["channels"] == {"1": 26}
    assert d["files"]["formats"] == {"WAV (PCM_16)": 25, "FLAC (PCM_16)": 1}
    good = [p for p in root.rglob("*.*") if p.name not in ("broken.wav", "cut.flac")]
    lengths = [sf.info(p).frames / 8000 for p in good]
    assert d["files"]["durations"] == pytest.approx(
        {"min": min(lengths), "median": float(np.median(lengths)), "max": max(lengths)})


def test_label_conflict_leak_and_flac_are_found(planted):
    root, plants, found = planted
    groups = {frozenset(rel(dup, root)): dup for dup in found.duplicates}
    assert set(groups) == {frozenset(p) for p in plants.values()}
    conflict, leak, flac = (groups[frozenset(plants[k])] for k in ("conflict", "leak", "flac"))
    assert conflict.label_conflict and conflict.match == "bytes" and set(conflict.labels) == {"0", "1"}
    assert leak.leak and not leak.label_conflict and set(leak.parts) == {"train", "test"}
    assert flac.match == "samples" and not flac.label_conflict
    assert found.leaks == tuple(d for d in found.duplicates if len(set(d.parts)) > 1)
    assert found.label_conflicts == (conflict,)


def test_unreadable_files_with_their_cause(planted):
    root, _, found = planted
    causes = {Path(f.path).name: f.error for f in found.unreadable}
    assert set(causes) == {"broken.wav", "cut.flac"}
    assert "broken.wav" in causes["broken.wav"] and "no valid WAV header" in causes["broken.wav"]
    assert "cut.flac" in causes["cut.flac"] and "decoding failed" in causes["cut.flac"]  # header is fine
    assert io.info(root / "2" / "cut.flac").frames > 0
    names = {Path(p).name for dup in found.duplicates for p in dup.paths}
    assert not names & set(causes)


def test_split_and_audio_are_what_train_would_choose(planted):
    root, _, found = planted
    ds = data.from_folders(root)
    # train leaves out the files it cannot open, then splits: the same here, in ds's indices
    readable = np.flatnonzero([f.ok for f in data.survey(ds).files])
    s = data.split(ds.subset(readable), method="auto", test_size=DEFAULT_TEST_SIZE, seed=0)
    assert found.split.method == "stratified" and "no groups or folds" in found.split.params["auto"]
    for part in ("train", "val", "test"):
        assert np.array_equal(getattr(found.split, part), readable[getattr(s, part)])
    d = found.to_dict()["split"]
    assert d["sizes"] == s.sizes and d["reason"] == s.params["auto"]
    totals = {c: sum(d["classes"][p][c] for p in ("train", "val", "test")) for c in ds.labels}
    unreadable = {ds.labels[i]: 0 for i in range(3)}
    for i in np.setdiff1d(np.arange(len(ds)), readable):
        unreadable[ds[i].label] += 1
    assert totals == {c: n - unreadable[c] for c, n in ds.counts().items()}
    test_labels = [ds[i].label for i in readable[s.test]]
    assert d["classes"]["test"] == {c: test_labels.count(c) for c in ds.labels}
    assert d["classes"]["test"] == {"0": 1, "1": 2, "2": 2}  # class 0 lost a file to the reading
    assert found.audio == data.audio_defaults(data.survey(ds))
    assert (found.audio.sr, found.audio.duration) == (8000, 1.0)


def test_a_given_split_decides_the_leak(planted):
    root, plants, _ = planted
    ds = data.from_folders(root)
    where = {ds[i].path.relative_to(root).as_posix(): i for i in range(len(ds))}
    a, b = sorted(where[p] for p in plants["conflict"])
    rest = [i for i in range(len(ds)) if i not in (a, b)]
    apart = data.inspect(ds, split=Split(train=[a, *rest], test=[b]), progress=False)
    together = data.inspect(ds, split=Split(train=[a, b, *rest[1:]], test=rest[:1]), progress=False)
    (c1,) = [x for x in apart.duplicates if a in x.items]
    (c2,) = [x for x in together.duplicates if a in x.items]
    assert c1.leak and c1.parts == ("train", "test") and not c2.leak
    with pytest.raises(ParameterError, match=r"split indices must lie in \[0, 28\)"):
        data.inspect(ds, split=Split(train=[0], test=[28]), progress=False)


def test_json_keys_and_round_trip(planted):
    _, _, found = planted
    d = found.to_dict()
    assert set(d) == {"root", "items", "classes", "groups", "folds", "files", "unreadable", "duplicates",
                      "leaks", "label_conflicts", "split", "split_error", "audio", "audio_error"}
    assert set(d["files"]) == {"readable", "unreadable", "durations", "sample_rates", "channels", "formats"}
    assert set(d["split"]) == {"method", "reason", "sizes", "params", "classes"}
    assert set(d["duplicates"][0]) == {"match", "leak", "label_conflict", "items"}
    assert set(d["duplicates"][0]["items"][0]) == {"index", "path", "label", "part"}
    assert set(d["unreadable"][0]) == {"index", "path", "error"}
    assert (d["leaks"], d["label_conflicts"], d["split_error"], d["audio_error"]) == (
        len(found.leaks), 1, None, None)
    assert d["leaks"] >= 1 and [x["leak"] for x in d["duplicates"]] == [x.leak for x in found.duplicates]
    assert json.loads(json.dumps(d)) == d


def test_text_report(planted):
    _, _, found = planted
    text = found.format()
    assert text.startswith("28 items in ")
    # class 1 has 10 items, one unreadable: 7 + 2 in the split
    assert "  class   items   train    test" in text and "  1          10       7       2" in text
    assert "split: stratified: the items have no groups or folds" in text
    assert (f"duplicates: 3 group(s) of identical audio, {len(found.leaks)} on both sides of the split, "
            "1 with different labels") in text
    assert "[identical bytes, LEAK]\n    0/" in text and "[identical bytes, LABELS DIFFER" in text
    assert "[identical samples" in text and "    2/2_jackson_1.flac  label '2', " in text
    assert "unreadable: 2" in text and "no valid WAV header" in text


def test_threads_do_not_change_the_result(planted):
    root, _, found = planted
    one = data.inspect(data.from_folders(root), workers=1, progress=False)
    assert one.to_dict() == found.to_dict()


def test_long_stereo_file_as_wav_and_flac(tmp_path, recording):
    """Longer than one decoded block (BLOCK_FRAMES), two channels: found across the formats; the
    mono mix of the same recording is other audio."""
    clips = [recording("fsdd", f"3_theo_{t}")[0] for t in range(40)]
    y = np.concatenate(clips)
    stereo = np.stack([y, y[::-1]])
    assert stereo.shape[1] > BLOCK_FRAMES
    (tmp_path / "x").mkdir()
    (tmp_path / "y").mkdir()
    for name, x in (("a.wav", stereo), ("a.flac", stereo), ("mono.wav", stereo.mean(axis=0))):
        io.save(tmp_path / "x" / name, x, 8000)
    shutil.copyfile(tmp_path / "x" / "mono.wav", tmp_path / "y" / "other.wav")
    io.save(tmp_path / "y" / "short.wav", clips[0], 8000)
    found = data.inspect(tmp_path, progress=False)
    pairs = sorted(sorted(p.name for p in d.paths) for d in found.duplicates)
    assert pairs == [["a.flac", "a.wav"], ["mono.wav", "other.wav"]]
    assert [d.match for d in found.duplicates] == ["samples", "bytes"]


def test_time_ranges_of_one_file(tmp_path, shared_data):
    wav = tmp_path / "a.wav"
    shutil.copyfile(shared_data / "fsdd" / "recordings" / "3_theo_0.wav", wav)
    shutil.copyfile(wav, tmp_path / "b.wav")
    items = (Item(wav, "x", start=0.0, end=0.1), Item(wav, "y", start=0.1, end=0.2),
             Item(tmp_path / "b.wav", "x", start=0.0, end=0.1), Item(wav, "x", start=0.1, end=0.2),
             Item(wav, "x", start=5.0, end=6.0))
    found = data.inspect(Dataset(items, tmp_path), progress=False)
    assert [d.items for d in found.duplicates] == [(0, 2), (1, 3)]
    assert found.duplicates[1].label_conflict and not found.duplicates[0].label_conflict
    assert [Path(f.path).name for f in found.unreadable] == ["a.wav"]
    assert "offset must be less than the duration" in found.unreadable[0].error


def test_reports_what_cannot_be_split_or_read(tmp_path):
    for label in ("a", "b"):
        (tmp_path / label).mkdir()
        (tmp_path / label / "x.wav").write_bytes(b"")
    found = data.inspect(tmp_path, progress=False)
    assert found.split is None and "none of the 2 files can be read" in found.split_error
    assert found.audio is None and "none of the 2 files could be read" in found.audio_error
    assert found.to_dict()["files"]["durations"] is None and found.duplicates == ()
    text = found.format()
    assert "split: none can be made: none of the 2 files can be read" in text
    assert "audio: none can be chosen" in text and "the file is empty (0 bytes)" in text


def test_errors(tmp_path, planted):
    root, _, _ = planted
    with pytest.raises(DatasetError, match=r"no audio files \(.*\) found in the label folders of"):
        data.inspect(tmp_path, progress=False)
    with pytest.raises(DatasetError, match="does not exist"):
        data.inspect(tmp_path / "missing", progress=False)
    with pytest.raises(ParameterError, match=r"dataset must be a tympan\.data\.Dataset or a folder, got int"):
        data.inspect(42)
    with pytest.raises(ParameterError, match="workers must be"):
        data.inspect(root, workers=0)
    with pytest.raises(ParameterError, match="discovery is used with a folder only"):
        data.inspect(data.from_folders(root), discovery={"labels_from": "folders"})
    with pytest.raises(ParameterError, match=r"split must be a tympan\.data\.Split or None, got str"):
        data.inspect(root, split="group")


def test_discovery_options_and_groups(tmp_path, shared_data):
    fsdd = shared_data / "fsdd" / "recordings"
    for name in [f"{d}_{s}_{t}.wav" for d in "01" for s in ("george", "jackson", "theo") for t in range(3)]:
        shutil.copyfile(fsdd / name, tmp_path / name)
    found = data.inspect(tmp_path, discovery={"labels_from": "regex", "pattern": "fsdd"}, progress=False)
    d = found.to_dict()
    assert d["groups"] == {"count": 3, "smallest": {"group": "george", "items": 6},
                           "largest": {"group": "george", "items": 6},
                           "items": {"george": 6, "jackson": 6, "theo": 6}}
    assert d["split"]["method"] == "group" and len(d["split"]["params"]["test_groups"]) == 1
    assert "groups: 3 (smallest 'george': 6, largest 'george': 6)" in found.format()


def test_bit_depths_compare_by_value(tmp_path, recording):
    """16-, 24- and 32-bit copies of the same samples are one group; a 32-bit file two LSBs off on
    one sample (below float32's resolution there) is other audio."""
    y = recording("fsdd", "3_theo_0")[0].astype(np.float64)
    off = y.copy()
    off[np.argmax(np.abs(y))] += 2.0**-30
    (tmp_path / "a").mkdir()
    io.save(tmp_path / "a" / "p16.wav", y, 8000)
    io.save(tmp_path / "a" / "p24.flac", y, 8000, subtype="PCM_24")
    io.save(tmp_path / "a" / "p32.wav", y, 8000, subtype="PCM_32")
    io.save(tmp_path / "a" / "p32_off.wav", off, 8000, subtype="PCM_32")
    io.save(tmp_path / "a" / "p32_off_again.wav", off, 8000, subtype="PCM_32")
    found = data.inspect(tmp_path, progress=False)
    assert [sorted(p.name for p in d.paths) for d in found.duplicates] == [
        ["p16.wav", "p24.flac", "p32.wav"], ["p32_off.wav", "p32_off_again.wav"]]
    assert [d.match for d in found.duplicates] == ["samples", "bytes"]
