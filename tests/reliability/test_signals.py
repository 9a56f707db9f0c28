"""The signal policy at the pipeline boundary: predict, separate, reconstruct, segment and plot
on empty, short, silent, DC, non-finite and out-of-range input (the bad-input table)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import soundfile as sf

from tympan import pipeline, segment
from tympan.errors import ArtifactError, AudioIOError, InputWarning, ParameterError
from tympan.pipeline.inputs import analysis_window
from tympan.pipeline.reconstruct import reconstruct_array
from tympan.signal_checks import SignalMonitor, check_signal

SR = 8000  # the rate of the signals and stand-in models of conftest.py


def tone(n: int, sr: int = SR) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * 440 * np.arange(n) / sr)).astype(np.float32)


def _quiet(fn, *args, **kwargs):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = fn(*args, **kwargs)
    return out, [str(w.message) for w in caught if issubclass(w.category, InputWarning)]


# ------------------------------------------------------------------ the streamed policy
@pytest.mark.parametrize("name", ["one.wav", "ten.wav", "silence.wav", "dc.wav", "loud.wav",
                                  "tone.wav"])
def test_monitor_over_blocks_gives_the_flags_of_the_whole_array(signal_arrays, name):
    y = signal_arrays[name]
    monitor = SignalMonitor(sr=SR, source=name, min_samples=256)
    for k in range(0, max(len(y), 1), 300):
        monitor.check(y[k : k + 300])
    assert monitor.finish(warn=False) == check_signal(y, sr=SR, min_samples=256, warn=False)


def test_monitor_names_the_first_bad_sample_of_the_whole_signal(signal_arrays):
    monitor = SignalMonitor(sr=SR, source="n.wav", from_file=True)
    y = signal_arrays["nan.wav"]
    with pytest.raises(AudioIOError, match=r"'n\.wav'.*NaN\), the first at sample 4000 \(0\.5000 s\)"):
        for k in range(0, len(y), 1000):
            monitor.check(y[k : k + 1000])
    with pytest.raises(AudioIOError, match="holds no audio"):
        SignalMonitor(source="e.wav", from_file=True).finish()


def test_analysis_window_is_the_feature_frame_or_the_clip(classifier, separator):
    assert analysis_window(classifier.config) == 256
    assert analysis_window(separator().config) == 256
    from dataclasses import replace
    assert analysis_window(replace(classifier.config, features={"kind": "waveform"})) == SR


# ------------------------------------------------------------------ predict
@pytest.mark.parametrize("name, flags", [
    ("one.wav", ("silent", "too_short")), ("ten.wav", ("too_short",)),
    ("silence.wav", ("silent",)), ("dc.wav", ("silent",)), ("loud.wav", ("beyond_full_scale",)),
    ("tone.wav", ()),
])
def test_predict_flags_doubtful_input_and_warns_naming_the_file(classifier, signals, name, flags):
    (p,), caught = _quiet(pipeline.predict, classifier, signals[name])
    assert p.ok and p.label is not None
    assert p.flags == flags
    assert p.to_dict()["flags"] == list(flags)
    assert len(caught) == len(flags) and all(name in m for m in caught)


@pytest.mark.parametrize("name, match", [
    ("zero.wav", r"zero\.wav': it holds no audio \(0 samples\)"),
    ("nan.wav", r"nan\.wav': 4000 non-finite sample\(s\) \(NaN\), the first at sample 4000"),
    ("inf.wav", r"inf\.wav': 1 non-finite sample\(s\) \(inf\), the first at sample 800 \(0\.1000 s\)"),
    ("huge.wav", r"huge\.wav': samples reach 1e\+30"),
])
def test_predict_refuses_no_audio_and_non_finite_naming_the_file(classifier, signals, name, match):
    with pytest.raises(AudioIOError, match=match):
        pipeline.predict(classifier, signals[name])
    p, ok = pipeline.predict(classifier, [signals[name], signals["tone.wav"]], on_error="skip")
    assert not p.ok and name in p.error and ok.ok and ok.flags == ()


def test_dc_is_silent_on_the_files_own_samples_when_resampled(classifier, tmp_path):
    # resampling a constant rings at its ends: the check reads the file's own samples
    sf.write(tmp_path / "dc16.wav", np.full(16000, 0.5, np.float32), 16000, subtype="FLOAT")
    (p,), _ = _quiet(pipeline.predict, classifier, tmp_path / "dc16.wav")
    assert p.flags == ("silent",)


def test_predict_arrays_follow_the_same_policy(classifier):
    with pytest.raises(ParameterError, match=r"<array>: 1 non-finite sample\(s\) \(NaN\), the first "
                                             r"at sample 3 "):
        pipeline.predict(classifier, np.array([0, 0.1, 0.2, np.nan, 0.1], np.float32), sr=SR)
    (p,), caught = _quiet(pipeline.predict, classifier, np.zeros(SR, np.float32), sr=SR)
    assert p.flags == ("silent",) and "'<array>' is silent" in caught[0]


def test_predict_streams_long_files_with_flat_state(classifier, tmp_path):
    # a long file is checked block by block: a silent minute is flagged, a NaN at its end found
    y = np.zeros(60 * SR, np.float32)
    sf.write(tmp_path / "long.wav", y, SR, subtype="FLOAT")
    (p,), _ = _quiet(pipeline.predict, classifier, tmp_path / "long.wav")
    assert p.flags == ("silent",) and len(p.segments) > 100
    y[-1] = np.nan
    sf.write(tmp_path / "long.wav", y, SR, subtype="FLOAT")
    with pytest.raises(AudioIOError, match=f"the first at sample {60 * SR - 1} "):
        pipeline.predict(classifier, tmp_path / "long.wav")


# ------------------------------------------------------------------ separate, reconstruct
@pytest.mark.parametrize("name", ["nan.wav", "inf.wav", "zero.wav", "huge.wav"])
def test_separate_refuses_bad_input_and_writes_nothing(separator, signals, tmp_path, name):
    out = tmp_path / "sep"
    with pytest.raises(AudioIOError, match=name.replace(".", r"\.")):
        pipeline.separate_file(separator(), signals[name], out)
    assert not out.exists() or not list(out.iterdir())


def test_separate_with_a_broken_model_writes_nothing(separator, signals, tmp_path):
    out = tmp_path / "sep"
    with pytest.raises(ArtifactError, match=r"non-finite value\(s\).*tone\.wav.*nothing was written"):
        pipeline.separate_file(separator(broken=True), signals["tone.wav"], out)
    assert not list(out.iterdir())
    with pytest.raises(ArtifactError, match="non-finite"):
        pipeline.separate(separator(broken=True), tone(SR), SR)


def test_separate_silence_warns_and_writes_finite_sources(separator, signals, tmp_path):
    paths, caught = _quiet(pipeline.separate_file, separator(), signals["dc.wav"], tmp_path / "s")
    assert any("dc.wav' is silent" in m for m in caught)
    for path in paths.values():
        y, _ = sf.read(path)
        assert len(y) == SR and np.isfinite(y).all()


def test_reconstruct_refuses_bad_input_and_broken_models(autoencoder, signals, tmp_path):
    dst = tmp_path / "out.wav"
    for name in ("nan.wav", "inf.wav", "zero.wav"):
        with pytest.raises(AudioIOError, match=name.replace(".", r"\.")):
            pipeline.reconstruct_file(autoencoder(), signals[name], dst)
    with pytest.raises(ArtifactError, match=r"tone\.wav.*nothing was written"):
        pipeline.reconstruct_file(autoencoder(broken=True), signals["tone.wav"], dst)
    assert not dst.exists()
    with pytest.raises(ParameterError, match=r"y: 1 non-finite"):
        reconstruct_array(autoencoder(), np.array([0.0, np.nan, 0.1], np.float32))
    _, caught = _quiet(pipeline.reconstruct_file, autoencoder(), signals["silence.wav"], dst)
    assert np.isfinite(sf.read(dst)[0]).all() and "silence.wav' is silent" in caught[0]


# ------------------------------------------------------------------ segment, plot
@pytest.mark.parametrize("method", segment.METHODS)
@pytest.mark.parametrize("sr", [16000, 8000])
def test_dc_and_silence_have_no_speech_segments(tmp_path, method, sr):
    for name, value in (("dc", 0.5), ("silence", 0.0)):
        path = tmp_path / f"{name}.wav"
        sf.write(path, np.full(2 * sr, value, np.float32), sr, subtype="FLOAT")
        labels, caught = _quiet(segment.label_file, path, method=method)
        assert [s for s in labels.segments() if s[2] != "pause"] == []
        assert labels.flags == ("silent",) and f"{name}.wav' is silent" in caught[0]


def test_dc_offset_does_not_hide_speech():
    # the energy is each frame's variation about its mean: speech over a DC offset is found
    y = np.concatenate([np.zeros(8000), tone(8000, 16000), np.zeros(8000)]).astype(np.float32)
    plain, _ = _quiet(segment.pauses, y, 16000)
    offset, _ = _quiet(segment.pauses, y + 0.4, 16000)
    assert offset == plain and len(plain) == 2


def test_segment_errors_name_the_file_and_write_nothing(signals, tmp_path):
    out = tmp_path / "kept.wav"
    with pytest.raises(AudioIOError, match=r"nan\.wav': 4000 non-finite"):
        segment.segment_file(signals["nan.wav"], method="energy", out=out)
    assert not out.exists()
    with pytest.raises(ParameterError, match=r"y: 1 non-finite sample\(s\) \(inf\)"):
        segment.label_frames(np.array([0.0, np.inf] + [0.1] * 400, np.float32), SR, method="energy")


def test_plot_load_names_the_file(signals):
    from tympan.plot import load_audio

    with pytest.raises(AudioIOError, match=r"nan\.wav': 4000 non-finite"):
        load_audio(signals["nan.wav"])
    with pytest.warns(InputWarning, match=r"dc\.wav' is silent"):
        load_audio(signals["dc.wav"])


# ------------------------------------------------------------------ evaluate
def test_evaluate_scores_doubtful_clips_and_names_them(classifier, tmp_path):
    """Padded to the model's length, DC is no longer constant: the flags come from each file's
    own samples (DC written at 16 kHz for an 8 kHz model, so it is also resampled)."""
    for label in ("quiet", "loud"):
        (tmp_path / "ds" / label).mkdir(parents=True)
    sf.write(tmp_path / "ds" / "loud" / "tone.wav", tone(SR), SR, subtype="FLOAT")
    sf.write(tmp_path / "ds" / "quiet" / "dc.wav", np.full(8000, 0.3), 16000, subtype="FLOAT")
    sf.write(tmp_path / "ds" / "loud" / "ten.wav", tone(10), SR, subtype="FLOAT")
    report = pipeline.evaluate(classifier, tmp_path / "ds", progress=False)
    assert report.confusion.sum() == 3
    assert dict(report.flagged) == {str(tmp_path / "ds" / "quiet" / "dc.wav"): ("silent",),
                                    str(tmp_path / "ds" / "loud" / "ten.wav"): ("too_short",)}
    assert {d["file"].rsplit("/", 1)[1]: d["flags"] for d in report.to_dict()["flagged"]} == \
        {"dc.wav": ["silent"], "ten.wav": ["too_short"]}


def test_training_says_how_many_clips_hold_no_signal(tmp_path):
    from tympan.data import Dataset, Item
    from tympan.pipeline.choices import Choices
    from tympan.pipeline.config import AudioConfig
    from tympan.pipeline.train import load_recording

    sf.write(tmp_path / "tone.wav", tone(SR), SR, subtype="FLOAT")
    sf.write(tmp_path / "dc.wav", np.full(SR, -0.2), SR, subtype="FLOAT")
    dataset = Dataset([Item(tmp_path / "tone.wav", "a"), Item(tmp_path / "dc.wav", "b")], tmp_path)
    with pytest.warns(InputWarning, match=r"1 of 2 clips hold no signal .* e\.g\. '.*dc\.wav'; they "
                                          r"are trained on as they are"):
        X, row, _ = load_recording(dataset, AudioConfig(sr=SR, duration=1.0), Choices(),
                                   on_error="raise", progress=False)
    assert X.shape == (2, SR) and list(row) == [0, 1]


def test_evaluate_with_a_model_giving_nan_is_an_error_not_a_score(classifier, tmp_path):
    """argmax of NaN is the first label: the report would have counted every clip as 'quiet'."""
    import dataclasses

    class Broken:
        def predict(self, x, batch_size=None, verbose=0):
            return np.full((len(x), 2), np.nan, np.float32)

    for label in ("quiet", "loud"):
        (tmp_path / "ds" / label).mkdir(parents=True)
        sf.write(tmp_path / "ds" / label / "tone.wav", tone(SR), SR, subtype="FLOAT")
    broken = dataclasses.replace(classifier, model=Broken())
    with pytest.raises(ArtifactError, match=r"gave 4 non-finite value\(s\) \(NaN/inf\) for '2 clips"):
        pipeline.evaluate(broken, tmp_path / "ds", progress=False)
