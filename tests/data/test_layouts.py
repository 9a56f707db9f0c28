"""Datasets in the layouts users already have: ESC-50 and UrbanSound8K as published (with every
choice of root), any CSV with its columns named (library and command line), a CSV file given as
the dataset, the errors, and the users'-data fixtures of tests/userdata.py themselves."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

import userdata
from tympan import data, io, pipeline
from tympan.cli.main import main
from tympan.data import discover, from_csv
from tympan.errors import AudioIOError, DatasetError, ParameterError

# --------------------------------------------------------------------------- the fixtures


def test_class_folders_8k_hold_nameless_clips(class_folders_8k: Path) -> None:
    ds = data.from_folders(class_folders_8k)
    assert ds.labels == ("one", "two", "zero") and set(ds.counts().values()) == {12}
    names = sorted(it.path.name for it in ds)
    assert names == [f"clip_{n:03d}.wav" for n in range(36)]
    assert {io.info(it.path).sr for it in ds} == {8000}
    with pytest.raises(DatasetError, match="matches none"):
        data.from_regex(class_folders_8k, data.FSDD_PATTERN)


def test_class_folders_44k_stereo_are_5_s_stereo_mp3_and_flac(class_folders_44k_stereo: Path) -> None:
    ds = data.from_folders(class_folders_44k_stereo)
    assert ds.labels == ("airport", "car", "street") and set(ds.counts().values()) == {8}
    for label in ds.labels:
        assert {it.path.suffix for it in ds if it.label == label} == {".flac", ".mp3"}
    infos = [io.info(it.path) for it in ds]
    assert {(i.sr, i.channels, i.frames) for i in infos} == {(44100, 2, 220500)}
    y, sr = io.load(ds[1].path, mono=False)  # an MP3: two channels, alike but not equal
    assert y.shape == (2, 220500) and sr == 44100
    assert not np.allclose(y[0], y[1]) and np.corrcoef(y[0, 5:], y[1, 5:])[0, 1] > 0.2


def test_bad_files_folder_has_the_broken_files_it_says(bad_files_folder: Path) -> None:
    ds = data.from_folders(bad_files_folder)
    assert len(ds) == 2 * userdata.BAD_FOLDER_GOOD_PER_CLASS + len(userdata.BAD_FILES)
    for rel in userdata.BAD_FILES:
        with pytest.raises(AudioIOError, match=re.escape(Path(rel).name)):
            io.load(bad_files_folder / rel)
    with pytest.warns(data.DatasetWarning):
        X, kept = data.load_clips(ds, sr=8000, duration=0.5, on_error="skip", progress=False)
    assert X.shape == (10, 4000)
    skipped = set(range(len(ds))) - set(kept)
    assert sorted(ds[i].path.relative_to(bad_files_folder).as_posix() for i in skipped) == sorted(
        userdata.BAD_FILES)


# --------------------------------------------------------------------------- ESC-50
def test_esc50_read_as_published(esc50_layout) -> None:
    root, csv = esc50_layout
    assert csv.read_text().splitlines()[0] == "filename,fold,target,category,esc10,src_file,take"
    ds = from_csv(csv)
    assert ds.root == root / "audio" and len(ds) == 30
    assert ds.labels == ("airplane", "engine", "train")
    assert np.bincount(ds.folds()).tolist() == [0, 6, 6, 6, 6, 6]
    item = next(it for it in ds if it.path.name == "1-100049-A-47.wav")
    assert item.path == root / "audio" / "1-100049-A-47.wav"
    assert (item.label, item.fold, item.group) == ("airplane", 1, "100049")
    assert item.meta_dict() == {"target": "47", "esc10": "False", "take": "A"}
    assert item.start is None and item.end is None
    # group = src_file: the two takes of one recording share it, so splits keep them together
    groups = ds.groups()
    assert len(set(groups)) == 15 and all(np.sum(groups == g) == 2 for g in set(groups))
    s = data.split(ds, method="group", test_size=0.2)
    assert not set(groups[s.train]) & set(groups[s.test])
    assert data.split(ds, method="fold").params["test_folds"] == [5]
    # another column for a role: the numeric target as the label
    assert from_csv(csv, columns={"label": "target"}).labels == ("44", "45", "47")


@pytest.mark.parametrize("where", ["dataset", "audio", "none", "csv as root"])
def test_esc50_every_root(esc50_layout, where: str) -> None:
    root, csv = esc50_layout
    expected = from_csv(csv).items
    ds = {"dataset": lambda: discover(root, labels_from="csv", csv=csv),
          "audio": lambda: discover(root / "audio", labels_from="auto", csv=csv),
          "none": lambda: discover(None, labels_from="csv", csv=csv),
          "csv as root": lambda: discover(csv)}[where]()
    assert ds.items == expected and ds.root == root / "audio"


# --------------------------------------------------------------------------- UrbanSound8K
@pytest.mark.parametrize("where", ["dataset", "audio", "none", "csv as root"])
def test_urbansound8k_every_root(urbansound8k_layout, where: str) -> None:
    root, csv = urbansound8k_layout
    ds = {"dataset": lambda: from_csv(csv, root=root),
          "audio": lambda: from_csv(csv, root=root / "audio"),
          "none": lambda: from_csv(csv),
          "csv as root": lambda: discover(csv, labels_from="auto")}[where]()
    assert ds.root == root / "audio" and len(ds) == 18
    assert ds.labels == ("children_playing", "engine_idling", "street_music")
    assert np.bincount(ds.folds()).tolist() == [0, 6, 6, 6]
    first = ds[0]
    assert first.path == root / "audio" / "fold1" / first.path.name
    assert re.fullmatch(rf"{first.group}-2-0-0\.wav", first.path.name)
    assert first.label == "children_playing" and set(first.meta_dict()) == {"start", "end", "salience",
                                                                           "classID"}
    assert all(it.path.is_file() for it in ds)


def test_urbansound8k_csv_moved_away_from_the_archive(urbansound8k_layout, tmp_path: Path) -> None:
    root, csv = urbansound8k_layout
    moved = shutil.copyfile(csv, tmp_path / "UrbanSound8K.csv")
    assert from_csv(moved, root=root).root == root / "audio"
    with pytest.raises(DatasetError, match="references 18 missing audio file"):
        from_csv(moved)


def test_missing_audio_names_every_place_tried(urbansound8k_layout, tmp_path: Path) -> None:
    root = tmp_path / "UrbanSound8K"
    shutil.copytree(urbansound8k_layout.root, root)
    gone = next((root / "audio" / "fold2").iterdir())
    gone.unlink()
    csv = root / "metadata" / "UrbanSound8K.csv"
    with pytest.raises(DatasetError, match=rf"references 1 missing audio file\(s\): 'fold2/{gone.name}'; "
                       r"looked for under") as caught:
        from_csv(csv)
    message = str(caught.value)
    for place in (root / "metadata", root / "audio", root):
        assert f"'{place}'" in message
    assert f"(e.g. '{root / 'metadata' / 'fold2' / gone.name}')" in message
    assert f"the other 17 are under '{root / 'audio'}'" in message
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with pytest.raises(DatasetError, match=rf"looked for under '{re.escape(str(elsewhere))}', "):
        from_csv(csv, root=elsewhere)
    with pytest.raises(DatasetError, match=r"audio root '.*nowhere' does not exist"):
        from_csv(csv, root=tmp_path / "nowhere")


# --------------------------------------------------------------------------- any CSV
@pytest.fixture
def birds(tmp_path: Path) -> Path:
    """A CSV of one's own: file,species,recorder,split,site with the audio in clips/."""
    for k, name in enumerate(["0_george_0.wav", "1_lucas_0.wav", "0_theo_1.wav", "1_theo_2.wav"]):
        (tmp_path / "clips").mkdir(exist_ok=True)
        shutil.copyfile(data.demo_dir() / name, tmp_path / "clips" / f"rec{k}.wav")
    csv = tmp_path / "birds.csv"
    csv.write_text("file,species,recorder,split,site\n"
                   "clips/rec0.wav,wren,r1,1,north\n"
                   "clips/rec1.wav,robin,r2,1,north\n"
                   "clips/rec2.wav,wren,r3,2,south\n"
                   "clips/rec3.wav,robin,r3,2,\n")
    return csv


BIRD_COLUMNS = {"path": "file", "label": "species", "group": "recorder", "fold": "split"}


def test_columns_named(birds: Path) -> None:
    ds = from_csv(birds, columns=BIRD_COLUMNS)
    assert ds.root == birds.parent and ds.labels == ("robin", "wren")
    assert [(it.path.name, it.label, it.group, it.fold) for it in ds] == [
        ("rec0.wav", "wren", "r1", 1), ("rec1.wav", "robin", "r2", 1), ("rec2.wav", "wren", "r3", 2),
        ("rec3.wav", "robin", "r3", 2)]
    assert ds[0].meta_dict() == {"site": "north"} and ds[3].meta == ()
    # only path and label are needed; the rest go to meta
    some = from_csv(birds, columns={"path": "file", "label": "species"})
    assert some.groups() is None and some[0].meta_dict() == {"recorder": "r1", "site": "north", "split": "1"}
    assert discover(birds.parent, labels_from="csv", csv=birds, columns=BIRD_COLUMNS).items == ds.items
    assert discover(birds, columns=BIRD_COLUMNS).items == ds.items


def test_missing_column_names_the_columns_and_the_option(birds: Path) -> None:
    with pytest.raises(DatasetError, match=r"birds\.csv' has no column 'path', 'label' \(needed for layout "
                       r"'generic'; its columns: file, species, recorder, split, site\); name the "
                       r"column of the audio file paths with columns=\{'path': \.\.\.\} \(command line: "
                       r"--path-column\); .*--label-column"):
        from_csv(birds)
    with pytest.raises(DatasetError, match=r"has no column 'speaker' .*--group-column"):
        from_csv(birds, columns={**BIRD_COLUMNS, "group": "speaker"})


def test_esc50_without_a_column(esc50_layout, tmp_path: Path) -> None:
    text = esc50_layout.csv.read_text().replace(",src_file,", ",source,", 1)
    (tmp_path / "meta").mkdir()
    (tmp_path / "meta" / "esc50.csv").write_text(text)
    with pytest.raises(DatasetError, match=r"has no column 'src_file' \(needed for layout 'esc50'.*"
                       r"--group-column"):
        from_csv(tmp_path / "meta" / "esc50.csv", root=esc50_layout.root)
    ds = from_csv(tmp_path / "meta" / "esc50.csv", root=esc50_layout.root, columns={"group": "source"})
    assert ds.root == esc50_layout.root / "audio" and ds[0].group == "100049"


@pytest.mark.parametrize(("columns", "match"), [
    ({"speaker": "x"}, r"columns keys must be among 'path', 'label'.*got 'speaker'"),
    ({"label": ""}, r"columns\['label'\] must name a column"),
    ({"label": 3}, r"columns\['label'\] must name a column .*got 3"),
    (["path"], "columns must be a dict"),
])
def test_bad_columns(birds: Path, columns, match: str) -> None:
    with pytest.raises(ParameterError, match=match):
        from_csv(birds, columns=columns)


def test_discover_refuses_mixed_sources(birds: Path, esc50_layout) -> None:
    with pytest.raises(ParameterError, match="columns is used with a CSV only"):
        discover(birds.parent / "clips", columns=BIRD_COLUMNS)
    with pytest.raises(ParameterError, match="columns is used with a CSV only"):
        discover(birds.parent / "clips", columns=BIRD_COLUMNS, label_pattern=r"(?P<label>rec)")
    with pytest.raises(ParameterError, match=r"give the CSV file once.*birds\.csv.*esc50\.csv"):
        discover(birds, csv=esc50_layout.csv)
    with pytest.raises(ParameterError, match="labels_from='regex' needs a folder"):
        discover(birds, labels_from="regex", pattern="fsdd")
    assert len(discover(birds, csv=birds, columns=BIRD_COLUMNS)) == 4  # the same file twice is fine


# --------------------------------------------------------------------------- command line
@pytest.fixture
def calls(monkeypatch):
    """Replace the pipeline functions the commands call by recorders that run the real
    discovery (``data.discover`` with the command's options, as the pipeline does) and return
    canned results: the CLI tests then check what the options find without training anything."""
    seen = {}

    def found(dataset, discovery):
        seen["dataset"] = data.discover(dataset, **discovery)
        seen["discovery"] = discovery

    def train(dataset, config, *, discovery=None, out=None, **_):
        found(dataset, discovery)
        return SimpleNamespace(metrics={}, path=out)

    def cross_validate(dataset, config, *, discovery=None, **_):
        found(dataset, discovery)
        return {"n": len(seen["dataset"])}

    def evaluate(artifact, dataset, *, discovery=None, **_):
        found(dataset, discovery)
        return SimpleNamespace(to_dict=lambda: {"n": len(seen["dataset"])}, failures=(), flagged=())

    def adapt(run, clips, *, out=None, training_data=None, discovery=None, **_):
        found(training_data, discovery)
        return SimpleNamespace(adaptation={"clips": len(clips)}, path=out)

    for name, fake in (("train", train), ("train_any", train), ("cross_validate", cross_validate),
                       ("evaluate", evaluate), ("adapt", adapt)):
        monkeypatch.setattr(pipeline, name, fake)
    return seen


def test_cli_column_options_reach_discovery(birds: Path, calls, capsys) -> None:
    options = ["--path-column", "file", "--label-column", "species", "--group-column", "recorder",
               "--fold-column", "split"]
    expected = from_csv(birds, columns=BIRD_COLUMNS).items
    assert main(["train", str(birds.parent), "--csv", str(birds), *options, "--out", "r"]) == 0
    assert calls["dataset"].items == expected and calls["discovery"]["columns"] == BIRD_COLUMNS
    capsys.readouterr()
    assert main(["evaluate", "--cv", "fold", str(birds), *options, "--format", "json"]) == 0
    assert calls["dataset"].items == expected
    assert json.loads(capsys.readouterr().out) == {"n": 4}
    assert main(["evaluate", "run", str(birds), "--label-column", "species", "--path-column", "file",
                 "--format", "json"]) == 0
    assert calls["dataset"].groups() is None and calls["discovery"]["columns"] == {"path": "file",
                                                                                   "label": "species"}
    assert main(["adapt", "run", "clip.wav", "--out", "x", "--training-data", str(birds), *options]) == 0
    assert calls["dataset"].items == expected


def test_cli_data_given_as_a_csv_file(esc50_layout, urbansound8k_layout, calls) -> None:
    assert main(["train", str(esc50_layout.csv), "--out", "r"]) == 0
    assert calls["dataset"].items == from_csv(esc50_layout.csv).items
    assert main(["train", str(urbansound8k_layout.root), "--csv", str(urbansound8k_layout.csv),
                 "--out", "r"]) == 0
    assert calls["dataset"].root == urbansound8k_layout.root / "audio"
    assert main(["evaluate", "--cv", "fold", str(urbansound8k_layout.csv), "--format", "json"]) == 0
    assert len(calls["dataset"]) == 18 and calls["discovery"]["columns"] is None


def test_cli_errors_are_one_line(birds: Path, capsys) -> None:
    capsys.readouterr()
    assert main(["train", str(birds), "--out", "r"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: CSV file") and "its columns: file, species" in err
    assert "--path-column" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert main(["train", str(birds.parent / "clips"), "--label-column", "species", "--out", "r"]) == 1
    assert "columns is used with a CSV only" in capsys.readouterr().err


def test_cli_train_esc50_csv_for_real(esc50_layout, tmp_path: Path, capsys) -> None:
    """One real run: the published ESC-50 CSV as DATA, its fold 5 as the test set."""
    out = tmp_path / "esc50"
    assert main(["train", str(esc50_layout.csv), "--split", "fold", "--model", "mlp", "--model-param",
                 "hidden_units=[]", "--features", "mel", "--feature-param", "n_mels=16", "--duration",
                 "1.0", "--epochs", "1", "--validation-size", "0", "--quiet", "--out", str(out)]) == 0
    meta = json.loads((out / "pipeline.json").read_text())
    assert meta["labels"] == ["airplane", "engine", "train"]
    assert meta["split"]["params"]["test_folds"] == [5] and meta["metrics"]["n_test"] == 6
