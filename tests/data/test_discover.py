"""tympan.data.discover: class folders, CSV files (UrbanSound8K and generic), file-name patterns,
the Dataset container, and one DatasetError per kind of bad dataset."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from tympan import data
from tympan.data import FSDD_PATTERN, Dataset, Item, discover, from_csv, from_folders, from_regex
from tympan.errors import DatasetError, ParameterError

DEMO = data.demo_dir()


def put(dst: Path, name: str = "7_jackson_0.wav") -> Path:
    """Copy one bundled recording to ``dst`` (a file path), creating its folder."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(DEMO / name, dst)
    return dst


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    """root/<label>/...: labels 1, 2, 10 (numeric order), nested files, junk to ignore."""
    root = tmp_path / "ds"
    put(root / "10" / "a.wav")
    put(root / "2" / "b.wav")
    put(root / "2" / "sub" / "c.WAV")
    put(root / "1" / "x10.wav")
    put(root / "1" / "x9.wav")
    put(root / "1" / ".hidden.wav")
    (root / "1" / "notes.txt").write_text("not audio")
    (root / "empty_label").mkdir()
    put(root / "loose.wav")  # directly in root: no label
    put(root / ".git" / "x.wav")  # hidden folder: not a label
    return root


# --------------------------------------------------------------------------- folders
def test_from_folders(folders: Path) -> None:
    ds = from_folders(folders)
    assert ds.labels == ("1", "2", "10")  # numeric-aware, empty label folder ignored
    assert [it.path.relative_to(folders).as_posix() for it in ds] == [
        "1/x9.wav", "1/x10.wav", "2/b.wav", "2/sub/c.WAV", "10/a.wav"]
    assert [it.label for it in ds] == ["1", "1", "2", "2", "10"]
    assert all(it.group is None and it.fold is None and it.start is None for it in ds)
    assert ds.root == folders
    assert ds.targets().tolist() == [0, 0, 1, 1, 2]
    assert ds.groups() is None and ds.folds() is None


def test_from_folders_extensions(folders: Path) -> None:
    put(folders / "3" / "d.flac")
    assert [it.label for it in from_folders(folders, extensions=("flac",))] == ["3"]
    with pytest.raises(DatasetError, match=r"no audio files \(\.ogg\)"):
        from_folders(folders, extensions=".ogg")


def test_from_folders_errors(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="does not exist"):
        from_folders(tmp_path / "nope")
    (tmp_path / "file.wav").write_bytes(b"x")
    with pytest.raises(DatasetError, match="is not a folder"):
        from_folders(tmp_path / "file.wav")
    empty = tmp_path / "empty"
    (empty / "a").mkdir(parents=True)
    (empty / "a" / "readme.txt").write_text("hi")
    with pytest.raises(DatasetError, match=r"no audio files .* in the label folders of '.*empty'"):
        from_folders(empty)
    loose = tmp_path / "loose"
    put(loose / "1_a_0.wav")
    with pytest.raises(DatasetError, match=r"1 directly in it .*1_a_0\.wav.*from_regex"):
        from_folders(loose)


# --------------------------------------------------------------------------- regex
def test_from_regex_fsdd_demo() -> None:
    ds = from_regex(DEMO, FSDD_PATTERN)
    assert len(ds) == 600 and ds.labels == tuple("0123456789")
    assert set(ds.counts().values()) == {60}
    assert sorted(set(ds.groups())) == ["george", "jackson", "lucas", "nicolas", "theo", "yweweler"]
    item = next(it for it in ds if it.path.name == "7_jackson_3.wav")
    assert (item.label, item.group, item.meta_dict()) == ("7", "jackson", {"take": "3"})
    assert hash(item) == hash(Item(item.path, "7", "jackson", meta=(("take", "3"),)))
    assert "600 items, 10 labels, 6 groups" in ds.summary()


def test_from_regex_skips_and_fold(tmp_path: Path) -> None:
    put(tmp_path / "f1" / "dog_1.wav")
    put(tmp_path / "f2" / "cat_2.wav")
    put(tmp_path / "readme_x.wav")
    pattern = r"(?P<label>dog|cat)_(?P<fold>\d+)\.wav"
    ds = from_regex(tmp_path, pattern)
    assert [(it.label, it.fold) for it in ds] == [("dog", 1), ("cat", 2)]
    assert ds.folds().tolist() == [1, 2]
    assert len(from_regex(tmp_path / "f1", pattern, recursive=False)) == 1
    with pytest.raises(DatasetError, match=r"no audio files .*directly"):
        from_regex(tmp_path / "f1" / "..", r"(?P<label>x)", recursive=False, extensions=".flac")


def test_from_regex_errors(tmp_path: Path) -> None:
    put(tmp_path / "hello.wav")
    with pytest.raises(DatasetError, match=r"pattern '\(\?P<label>\\d\)_.*' matches none .*'hello\.wav'"):
        from_regex(tmp_path, FSDD_PATTERN)
    with pytest.raises(ParameterError, match="named group 'label'"):
        from_regex(tmp_path, r"(\w+)\.wav")
    with pytest.raises(ParameterError, match="not a valid regular expression"):
        from_regex(tmp_path, r"(?P<label>")
    with pytest.raises(DatasetError, match="no audio files"):
        from_regex(tmp_path / "..", r"(?P<label>.*)", extensions=(".opus",))


# --------------------------------------------------------------------------- CSV
@pytest.fixture
def us8k(tmp_path: Path) -> Path:
    """The UrbanSound8K archive's layout: metadata/UrbanSound8K.csv and audio/fold<N>/."""
    base = tmp_path / "UrbanSound8K"
    rows = [("100032-3-0-0.wav", 100032, 0.0, 0.317551, 1, 1, 3, "dog_bark"),
            ("100263-2-0-117.wav", 100263, 58.5, 62.5, 1, 1, 2, "children_playing"),
            ("100263-2-0-121.wav", 100263, 60.5, 64.5, 1, 2, 2, "children_playing"),
            ("101415-3-0-2.wav", 101415, 1.0, 5.0, 2, 2, 3, "dog_bark")]
    lines = ["slice_file_name,fsID,start,end,salience,fold,classID,class"]
    for name, fsid, start, end, sal, fold, cid, cls in rows:
        put(base / "audio" / f"fold{fold}" / name)
        lines.append(f"{name},{fsid},{start},{end},{sal},{fold},{cid},{cls}")
    (base / "metadata").mkdir()
    (base / "metadata" / "UrbanSound8K.csv").write_text("\n".join(lines) + "\n")
    return base


def test_from_csv_urbansound8k(us8k: Path) -> None:
    ds = from_csv(us8k / "metadata" / "UrbanSound8K.csv")
    assert ds.root == us8k / "audio"
    assert ds.labels == ("children_playing", "dog_bark")
    assert [(it.label, it.group, it.fold) for it in ds] == [
        ("dog_bark", "100032", 1), ("children_playing", "100263", 1),
        ("children_playing", "100263", 2), ("dog_bark", "101415", 2)]
    assert ds[1].path == us8k / "audio" / "fold1" / "100263-2-0-117.wav"
    # the slices are already cut: start/end are informational, in meta
    assert ds[1].start is None and ds[1].end is None
    assert ds[1].meta_dict() == {"start": "58.5", "end": "62.5", "salience": "1", "classID": "2"}
    assert "2 folds (1, 2)" in ds.summary()
    same = from_csv(us8k / "metadata" / "UrbanSound8K.csv", root=us8k / "audio", layout="urbansound8k")
    assert same.items == ds.items


def test_from_csv_urbansound8k_errors(us8k: Path) -> None:
    csv = us8k / "metadata" / "UrbanSound8K.csv"
    text = csv.read_text()
    csv.write_text(text.replace(",fold,", ",fold_,"))
    with pytest.raises(DatasetError, match=r"UrbanSound8K\.csv' has no column 'fold'"):
        from_csv(csv)
    csv.write_text(text)
    (us8k / "audio" / "fold2" / "101415-3-0-2.wav").unlink()
    with pytest.raises(DatasetError, match=r"references 1 missing audio file.*fold2/101415-3-0-2\.wav"):
        from_csv(csv)


def test_from_csv_generic(tmp_path: Path) -> None:
    put(tmp_path / "clips" / "a.wav")
    put(tmp_path / "clips" / "b.wav", "3_theo_1.wav")
    csv = tmp_path / "clips" / "list.csv"
    csv.write_text("path,label,group,fold,start,end,take\n"
                   "a.wav,yes,spk1,1,0.1,0.3,7\n"
                   "b.wav,no,,2,,,\n"
                   f"{tmp_path / 'clips' / 'a.wav'},no,spk2,,,0.2,\n")
    ds = from_csv(csv)
    assert ds.labels == ("no", "yes")
    a, b, c = ds
    assert (a.path, a.label, a.group, a.fold, a.start, a.end) == (
        tmp_path / "clips" / "a.wav", "yes", "spk1", 1, 0.1, 0.3)
    assert a.meta_dict() == {"take": "7"} and a.duration == pytest.approx(0.2)
    assert (b.group, b.start, b.end, b.meta) == (None, None, None, ())
    assert c.path == tmp_path / "clips" / "a.wav" and c.end == 0.2
    with pytest.raises(DatasetError, match="have no group"):
        ds.groups()
    # explicit root for relative paths
    moved = tmp_path / "list.csv"
    moved.write_text("path,label\nclips/a.wav,x\n")
    assert from_csv(moved, layout="generic")[0].path == tmp_path / "clips" / "a.wav"
    assert from_csv(moved.with_name("list.csv"), root=tmp_path)[0].label == "x"


@pytest.mark.parametrize(("text", "match"), [
    ("file,label\na.wav,x\n", r"list\.csv' has no column 'path'"),
    ("path,class\na.wav,x\n", r"has no column 'label'"),
    ("path,label\n", r"lists no clips \(empty dataset\)"),
    ("", "is empty"),
    ("path,label\na.wav,\n", r"line 2: empty 'label'"),
    ("path,label,fold\na.wav,x,one\n", r"line 2: 'fold' must be an integer, got 'one'"),
    ("path,label,fold\na.wav,x,1.5\n", r"line 2: 'fold' must be an integer, got '1\.5'"),
    ("path,label,start\na.wav,x,-1\n", r"line 2: 'start' must be a non-negative number of seconds"),
    ("path,label,start,end\na.wav,x,0.5,0.2\n",
     r"line 2: end must be greater than start \(0\.5\) for '.*a\.wav', got 0\.2"),
    ("path,label\na.wav,x,extra\n", "line 2: 3 fields"),
    ("path,label\n" + "".join(f"m{i}.wav,x\n" for i in range(7)),
     r"references 7 missing audio file.*m0\.wav.*m4\.wav' and 2 more"),
])
def test_from_csv_errors(tmp_path: Path, text: str, match: str) -> None:
    put(tmp_path / "a.wav")
    csv = tmp_path / "list.csv"
    csv.write_text(text)
    with pytest.raises(DatasetError, match=match):
        from_csv(csv)


def test_from_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"CSV file '.*nope\.csv' does not exist"):
        from_csv(tmp_path / "nope.csv")
    with pytest.raises(ParameterError, match="layout must be one of"):
        from_csv(tmp_path, layout="esc-50")


# --------------------------------------------------------------------------- discover
def test_discover(folders: Path, us8k: Path) -> None:
    assert discover(folders).items == from_folders(folders).items
    assert len(discover(DEMO, labels_from="regex", pattern="fsdd")) == 600
    assert discover(DEMO, labels_from="auto", pattern=FSDD_PATTERN).labels == tuple("0123456789")
    csv = us8k / "metadata" / "UrbanSound8K.csv"
    assert len(discover(None, labels_from="csv", csv=csv)) == 4
    assert len(discover(us8k / "audio", labels_from="auto", csv=csv)) == 4
    with pytest.raises(ParameterError, match="pattern is used with labels_from='regex' only"):
        discover(DEMO, pattern="fsdd")
    with pytest.raises(ParameterError, match="pattern must be"):
        discover(DEMO, labels_from="regex")
    with pytest.raises(ParameterError, match="labels_from must be one of"):
        discover(DEMO, labels_from="names")


# --------------------------------------------------------------------------- Dataset
def test_dataset_container(tmp_path: Path) -> None:
    items = tuple(Item(tmp_path / f"{i}.wav", lab, group=g, fold=i % 3)
                  for i, (lab, g) in enumerate(zip("babca", "xxyyz", strict=True)))
    ds = Dataset(items, tmp_path)
    assert ds.labels == ("a", "b", "c") and len(ds) == 5 and list(ds) == list(items)
    assert ds.targets().tolist() == [1, 0, 1, 2, 0]
    assert ds.groups().tolist() == ["x", "x", "y", "y", "z"]
    assert ds.folds().dtype == np.int64
    sub = ds.subset(np.array([3, 1]))
    assert sub.labels == ds.labels and [it.label for it in sub] == ["c", "a"]
    assert sub.targets().tolist() == [2, 0]
    assert ds.subset([]).labels == ds.labels and len(ds.subset([])) == 0
    assert ds.subset([0]).counts() == {"a": 0, "b": 1, "c": 0}
    assert ds.subset(ds.targets() == 0).items == (items[1], items[4])
    same = Item(Path("x.wav"), "3", meta=(("a", "1"), ("b", "2")))
    assert Item("x.wav", 3, meta={"b": 2, "a": "1"}) == same
    with pytest.raises(ParameterError, match="end must be greater than start"):
        Item(Path("x.wav"), "a", start=1.0, end=0.5)
    with pytest.raises(ParameterError, match="indices must lie in"):
        ds.subset([5])
    with pytest.raises(DatasetError, match=r"labels \['c'\] that are not in labels"):
        Dataset(items, tmp_path, labels=("a", "b"))


def test_fsdd_full(shared_data: Path) -> None:
    ds = from_regex(shared_data / "fsdd" / "recordings", FSDD_PATTERN)
    assert len(ds) == 3000 and len(set(ds.groups())) == 6
    assert set(ds.counts().values()) == {300}
    assert sorted({int(it.meta_dict()["take"]) for it in ds}) == list(range(50))
