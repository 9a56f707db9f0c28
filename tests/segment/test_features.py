"""Segmentation frame features: layout, known answers, blocks equal the whole file."""

from __future__ import annotations

import numpy as np
import pytest

from tympan import dsp, io, segment
from tympan.errors import ParameterError
from tympan.segment import features as ff

from .conftest import SR, tone_and_silence

ROW = {name: k for k, name in enumerate(segment.FEATURE_NAMES)}


def test_layout_and_frame_count(recording):
    y, sr = recording("emodb", "03a01Fa")
    f = segment.frame_features(y, sr)
    n16 = round(y.size * 16000 / sr)
    assert f.dtype == np.float32 and f.shape == (len(segment.FEATURE_NAMES), 1 + n16 // 160)
    assert f.shape[1] == dsp.n_frames(n16, n_fft=400, hop_length=160)
    assert np.all(np.isfinite(f))


def test_tone_noise_and_silence_known_answers(rng):
    n = SR // 2
    tone = (0.3 * np.sin(2 * np.pi * 150 * np.arange(n) / SR)).astype(np.float32)
    noise = (0.1 * rng.standard_normal(n)).astype(np.float32)
    f_tone, f_noise = segment.frame_features(tone, SR), segment.frame_features(noise, SR)
    mid = slice(5, -5)
    assert np.median(f_tone[ROW["periodicity"], mid]) > 0.95
    assert np.median(f_noise[ROW["periodicity"], mid]) < 0.4
    assert np.median(f_tone[ROW["zcr"], mid]) == pytest.approx(2 * 150 / SR, abs=0.005)
    assert np.median(f_noise[ROW["flatness"], mid]) > 0.3 > np.median(f_tone[ROW["flatness"], mid])
    # a 150-Hz tone has its energy below 1 kHz and in the vowel band's lower neighbour
    assert np.median(f_tone[ROW["band_ratio_db"], mid]) > 40
    rms_db = 10 * np.log10(0.3**2 / 2)
    assert np.median(f_tone[ROW["energy_db"], mid]) == pytest.approx(rms_db, abs=0.2)
    silent = segment.frame_features(np.zeros(n, np.float32), SR)
    assert np.all(silent[ROW["energy_db"]] == -100.0) and np.all(silent[ROW["periodicity"]] == 0)


@pytest.mark.parametrize("block_sec", [0.3, 0.77, 30.0])
def test_blocks_equal_the_whole_file(shared_data, block_sec):
    path = shared_data / "phones/arctic/arctic_a0009.wav"  # 16 kHz: no resampling in between
    whole = segment.frame_features(*io.load(path))
    blocks, duration = segment.stream_features(path, block_sec=block_sec)
    assert duration == pytest.approx(3.095)
    np.testing.assert_allclose(blocks, whole, rtol=1e-5, atol=1e-4)


def test_resampled_file_blocks_match(shared_data):
    path = shared_data / "phones/praatio/bobby.wav"  # 48 kHz, resampled to 16 kHz as it streams
    whole = segment.frame_features(*io.load(path, sr=16000))
    blocks, _ = segment.stream_features(path, block_sec=0.4)
    assert blocks.shape == whole.shape
    e = ROW["energy_db"]
    np.testing.assert_allclose(blocks[e], whole[e], atol=0.05)


def test_other_rates_and_channels():
    y = tone_and_silence([("silence", 0.2), ("tone", 0.3)])
    f16 = segment.frame_features(y, SR)
    f8 = segment.frame_features(io.resample(y, orig_sr=SR, target_sr=8000), 8000)
    assert f8.shape == f16.shape
    np.testing.assert_allclose(segment.frame_features(np.stack([y, y]), SR), f16, atol=1e-5)


def test_standardize_is_robust():
    f = np.stack([np.r_[np.zeros(50), np.ones(50)], np.full(100, 3.0)])
    s = ff.standardize(f)
    assert s.dtype == np.float32 and np.all(s[1] == 0)


@pytest.mark.parametrize(("kwargs", "match"), [
    (dict(hop_sec=0), "hop_sec"), (dict(frame_sec=0.0005), "frame_sec"),
])
def test_bad_settings(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        segment.frame_features(np.zeros(1000, np.float32), SR, **kwargs)
    with pytest.raises(ParameterError, match="block_sec"):
        segment.stream_features("x.wav", block_sec=0)
