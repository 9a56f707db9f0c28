"""tympan.data.loading: pad/crop policies, parallel fixed-length loading of real recordings,
time ranges, corrupt files (skip with a warning or raise), progress bars."""

from __future__ import annotations

import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tympan import data, io
from tympan.data import Dataset, DatasetWarning, Item, fit_length, load_clips
from tympan.errors import AudioIOError, DatasetError, ParameterError

DEMO = data.demo_dir()


@pytest.fixture(scope="module")
def small() -> Dataset:
    """48 bundled recordings (8 kHz): four digits, all speakers, takes 0 and 1."""
    ds = data.from_regex(DEMO, r"(?P<label>[0-3])_(?P<group>[a-z]+)_(?P<take>[01])\.wav")
    assert len(ds) == 48
    return ds


@pytest.fixture
def with_corrupt(tmp_path: Path) -> Dataset:
    """Class folders with one file of random bytes named .wav among real recordings."""
    for name in ("1_george_0.wav", "1_theo_0.wav", "2_lucas_0.wav"):
        (tmp_path / name[0]).mkdir(exist_ok=True)
        shutil.copyfile(DEMO / name, tmp_path / name[0] / name)
    (tmp_path / "2" / "broken.wav").write_bytes(np.random.default_rng(0).bytes(3000))
    return data.from_folders(tmp_path)


# --------------------------------------------------------------------------- fit_length
def test_fit_length_pad() -> None:
    y = np.arange(1, 4, dtype=np.float32)
    assert fit_length(y, 6).tolist() == [1, 2, 3, 0, 0, 0]
    assert fit_length(y, 6, pad="center").tolist() == [0, 1, 2, 3, 0, 0]
    assert fit_length(y, 7, pad="wrap").tolist() == [1, 2, 3, 1, 2, 3, 1]
    assert fit_length(np.zeros(0, np.float32), 3, pad="wrap").tolist() == [0, 0, 0]
    assert fit_length(y, 6).dtype == np.float32
    assert fit_length(y, 3) is y


def test_fit_length_crop() -> None:
    y = np.arange(10.0)
    assert fit_length(y, 4, crop="start").tolist() == [0, 1, 2, 3]
    assert fit_length(y, 4, crop="center").tolist() == [3, 4, 5, 6]
    assert fit_length(y, 4, crop="end").tolist() == [6, 7, 8, 9]
    a = fit_length(y, 4, crop="random", rng=np.random.default_rng(5))
    b = fit_length(y, 4, crop="random", rng=5)
    assert np.array_equal(a, b) and np.array_equal(np.diff(a), [1, 1, 1])
    starts = {fit_length(y, 4, crop="random", rng=s)[0] for s in range(50)}
    assert starts == set(range(7))
    with pytest.raises(ParameterError, match="rng must be"):
        fit_length(y, 4, crop="random")


def test_fit_length_leading_axes() -> None:
    y = np.arange(24.0).reshape(2, 3, 4)
    assert fit_length(y, 2, crop="start").shape == (2, 3, 2)
    out = fit_length(y, 6, pad="center")
    assert out.shape == (2, 3, 6) and np.array_equal(out[..., 1:5], y)


def test_fit_length_errors() -> None:
    y = np.ones(5)
    with pytest.raises(ParameterError, match="pad must be one of"):
        fit_length(y, 8, pad="reflect")
    with pytest.raises(ParameterError, match="crop must be one of"):
        fit_length(y, 2, crop="middle")
    with pytest.raises(ParameterError, match="n_samples must be a positive integer"):
        fit_length(y, 0)
    with pytest.raises(ParameterError, match="floating-point"):
        fit_length(np.ones(5, np.int16), 8)


@settings(max_examples=80, deadline=None)
@given(length=st.integers(0, 40), n=st.integers(1, 40), pad=st.sampled_from(data.PAD_MODES),
       crop=st.sampled_from(data.CROP_MODES), seed=st.integers(0, 9))
def test_fit_length_property(length, n, pad, crop, seed) -> None:
    y = np.arange(1, length + 1, dtype=np.float64)
    out = fit_length(y, n, pad=pad, crop=crop, rng=seed)
    assert out.shape == (n,)
    if length >= n:  # a contiguous window of the input
        assert np.array_equal(np.diff(out), np.ones(n - 1)) and out[0] >= 1 and out[-1] <= length
    elif pad == "wrap" and length:
        assert np.array_equal(out, y[np.arange(n) % length])
    else:  # all of the input, once, in order, the rest zeros
        assert np.array_equal(out[out != 0], y) and np.count_nonzero(out == 0) == n - length


# --------------------------------------------------------------------------- load_clips
def test_load_clips(small: Dataset) -> None:
    X, kept = load_clips(small, sr=8000, duration=0.5, progress=False)
    assert X.shape == (48, 4000) and X.dtype == np.float32
    assert np.array_equal(kept, np.arange(48)) and kept.dtype == np.int64
    for i in (0, 17, 47):
        y, _ = io.load(small[i].path, sr=8000)
        assert np.array_equal(X[i], fit_length(y, 4000, crop="center"))
    serial, _ = load_clips(small, sr=8000, duration=0.5, workers=1, progress=False)
    assert np.array_equal(serial, X)


def test_load_clips_resample_and_policies(small: Dataset) -> None:
    X, _ = load_clips(small, sr=16000, duration=1.2, pad="center", crop="start", progress=False)
    assert X.shape == (48, 19200)
    y, sr = io.load(small[3].path, sr=16000)
    assert sr == 16000 and np.array_equal(X[3], fit_length(y, 19200, pad="center", crop="start"))
    a, _ = load_clips(small, sr=8000, duration=0.2, crop="random", rng=7, workers=4, progress=False)
    b, _ = load_clips(small, sr=8000, duration=0.2, crop="random", rng=7, workers=1, progress=False)
    c, _ = load_clips(small, sr=8000, duration=0.2, crop="random", rng=8, progress=False)
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_load_clips_items_paths_and_ranges(small: Dataset) -> None:
    path = small[0].path
    y, _ = io.load(path)
    ranged = Item(path, "0", start=0.1, end=0.3)
    X, kept = load_clips([ranged, path, str(path)], sr=8000, duration=0.25, progress=False)
    assert X.shape == (3, 2000) and kept.tolist() == [0, 1, 2]
    assert np.array_equal(X[0], fit_length(y[800:2400], 2000))  # 0.1-0.3 s of the file, then zeros
    assert np.array_equal(X[1], X[2])
    mono, _ = load_clips(small.items[:3], sr=8000, duration=0.1, progress=False)
    multi, _ = load_clips(small.items[:3], sr=8000, duration=0.1, mono=False, progress=False)
    assert multi.shape == (3, 1, 800) and np.array_equal(multi[:, 0], mono)


def test_load_clips_skip_corrupt(with_corrupt: Dataset) -> None:
    names = [it.path.name for it in with_corrupt]
    bad = names.index("broken.wav")
    with pytest.warns(DatasetWarning, match=r"broken\.wav.*corrupt") as record:
        X, kept = load_clips(with_corrupt, sr=8000, duration=0.3, on_error="skip", progress=False)
    assert len(record) == 1
    assert X.shape == (3, 2400) and kept.tolist() == [i for i in range(4) if i != bad]
    good, _ = load_clips(with_corrupt.subset(kept), sr=8000, duration=0.3, progress=False)
    assert np.array_equal(X, good)


def test_load_clips_raise_corrupt(with_corrupt: Dataset) -> None:
    with pytest.raises(AudioIOError, match=r"broken\.wav"):
        load_clips(with_corrupt, sr=8000, duration=0.3, progress=False)
    with pytest.raises(AudioIOError, match=r"broken\.wav"):
        load_clips(with_corrupt, sr=8000, duration=0.3, workers=1, progress=False)


def test_load_clips_failures(with_corrupt: Dataset, tmp_path: Path) -> None:
    broken = [it for it in with_corrupt if it.path.name == "broken.wav"]
    missing = Item(tmp_path / "gone.wav", "x")
    with pytest.raises(DatasetError, match=r"all 2 clips failed to load; the first: .*broken\.wav"):
        load_clips([*broken, missing], sr=8000, duration=0.3, on_error="skip", progress=False)
    past_end = Item(with_corrupt[0].path, "1", start=30.0, end=31.0)
    with pytest.raises(DatasetError, match=r"1_george_0\.wav.*offset must be less"):
        load_clips([past_end], sr=8000, duration=0.3, progress=False)
    with pytest.raises(DatasetError, match="the dataset is empty"):
        load_clips([], sr=8000, duration=1.0)


def test_load_clips_arguments(small: Dataset) -> None:
    for kwargs, match in [({"duration": 0}, "duration must be a positive number"),
                          ({"duration": -1.0}, "duration must be a positive number"),
                          ({"sr": 0}, "sr must be a positive integer"),
                          ({"on_error": "ignore"}, "on_error must be one of"),
                          ({"workers": 0}, "workers must be a positive integer")]:
        with pytest.raises(ParameterError, match=match):
            load_clips(small, **{"sr": 8000, "duration": 1.0, **kwargs})
    with pytest.raises(ParameterError, match="single path"):
        load_clips(small[0].path, sr=8000, duration=1.0)


def test_progress_bar(small: Dataset, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = {"update": 0, "closed": False}

    class FakeBar:
        def __init__(self, total, desc, **kwargs):
            calls.update(total=total, desc=desc, file=kwargs.get("file"))

        def update(self, k):
            calls["update"] += k

        def close(self):
            calls["closed"] = True

    monkeypatch.setitem(sys.modules, "tqdm", types.ModuleType("tqdm"))
    monkeypatch.setitem(sys.modules, "tqdm.auto", types.SimpleNamespace(tqdm=FakeBar))
    load_clips(small.items[:5], sr=8000, duration=0.1, desc="train")
    assert calls == {"update": 5, "closed": True, "total": 5, "desc": "train", "file": sys.stderr}
    calls["update"] = 0
    load_clips(small.items[:5], sr=8000, duration=0.1, progress=False)
    assert calls["update"] == 0
    monkeypatch.setitem(sys.modules, "tqdm.auto", None)  # not installed: no bar, no error
    assert load_clips(small.items[:2], sr=8000, duration=0.1)[0].shape == (2, 800)


def test_load_shared_fsdd(shared_data: Path) -> None:
    ds = data.from_regex(shared_data / "fsdd" / "recordings", data.FSDD_PATTERN)
    sub = ds.subset(data.split(ds, method="pattern", test_pattern=r"_4[0-9]\.wav$").test[::25])
    X, kept = load_clips(sub, sr=16000, duration=1.0, progress=False)
    assert X.shape == (len(sub), 16000) and len(kept) == len(sub) == 24
    assert np.all(np.abs(X) <= 1.0) and np.all(np.abs(X).max(axis=1) > 0.01)


def test_load_clips_flags_each_clip_on_its_own_samples(tmp_path: Path) -> None:
    """DC at 44.1 kHz is flagged silent although resampling it to 8 kHz rings at its ends; ten
    samples are too short for a 256-sample window; the array is what io.load(sr=) gives."""
    import soundfile as sf

    t = np.arange(22050) / 44100
    sf.write(tmp_path / "tone.wav", 0.5 * np.sin(2 * np.pi * 440 * t), 44100, subtype="FLOAT")
    sf.write(tmp_path / "dc.wav", np.full(22050, 0.3), 44100, subtype="FLOAT")
    sf.write(tmp_path / "ten.wav", 0.5 * np.sin(np.arange(10)), 8000, subtype="FLOAT")
    paths = [tmp_path / n for n in ("tone.wav", "dc.wav", "ten.wav")]
    X, kept, flags = load_clips(paths, sr=8000, duration=1.0, min_samples=256, return_flags=True,
                                progress=False)
    assert list(kept) == [0, 1, 2]
    assert flags == [(), ("silent",), ("too_short",)]
    dc, _ = io.load(paths[1], sr=8000)
    assert np.ptp(dc) > 0  # resampled, the constant is not constant any more
    for x, p in zip(X, paths, strict=True):
        y, _ = io.load(p, sr=8000)
        np.testing.assert_array_equal(x, fit_length(y, 8000))
    X2, _ = load_clips(paths, sr=8000, duration=1.0, progress=False)  # the default: no flags
    np.testing.assert_array_equal(X2, X)
