"""Separation material: NOIZEUS pairs, held-out sentences, mixing at an SNR, the seeded sampler."""

from __future__ import annotations

import numpy as np
import pytest

from tympan import io
from tympan.data.mixing import (
    HELD_OUT_SENTENCES,
    NOIZEUS_NOISES,
    MixtureSampler,
    load_pair,
    mix_at_snr,
    noizeus_pairs,
    sentence_id,
)
from tympan.errors import DatasetError, ParameterError


@pytest.fixture(scope="module")
def noizeus(shared_data):
    return shared_data / "noizeus"


def test_sentence_ids():
    assert sentence_id("clean/sp07.wav") == "sp07"
    assert sentence_id("noisy/car_5dB/sp27_car_sn5.wav") == "sp27"
    assert sentence_id("0_george_3.wav") is None
    assert sentence_id("wasp12.wav") is None  # inside a word: not a sentence id
    assert HELD_OUT_SENTENCES == ("sp25", "sp26", "sp27", "sp28", "sp29", "sp30")


def test_noizeus_pairs_hold_out_whole_sentences(noizeus):
    every = noizeus_pairs(noizeus)
    assert len(every) == 30 * 8 * 4
    assert {p.noise for p in every} == set(NOIZEUS_NOISES)
    assert {p.snr_db for p in every} == {0.0, 5.0, 10.0, 15.0}
    train = noizeus_pairs(noizeus, exclude=HELD_OUT_SENTENCES)
    assert len(train) == 24 * 32
    assert not {p.sentence for p in train} & set(HELD_OUT_SENTENCES)
    assert not any(sid in str(p.noisy) or sid in str(p.clean) for p in train
                   for sid in HELD_OUT_SENTENCES)
    test = noizeus_pairs(noizeus, only=["SP30"])
    assert len(test) == 32 and {p.clean.name for p in test} == {"sp30.wav"}
    assert all(p.noisy.name.startswith("sp30_") for p in test)


def test_load_pair_noise_is_noisy_minus_clean(noizeus):
    pair = noizeus_pairs(noizeus, only=["sp02"])[0]
    clean, noise = load_pair(pair, sr=8000)
    noisy = io.load(pair.noisy)[0]
    assert clean.dtype == noise.dtype == np.float32 and len(clean) == len(noise)
    np.testing.assert_allclose(clean + noise, noisy, atol=1e-7)
    # NOIZEUS measures about 0.7 dB below the nominal SNR (../shared/data/README.md)
    measured = 10 * np.log10(np.sum(clean**2) / np.sum(noise**2))
    assert measured == pytest.approx(pair.snr_db - 0.7, abs=0.6)


def test_mix_at_snr_known_answer(rng):
    speech = rng.standard_normal(1000).astype("float32")
    noise = 3 * rng.standard_normal(1000).astype("float32")
    mixture, scaled = mix_at_snr(speech, noise, 6.0)
    assert 10 * np.log10(np.sum(speech**2) / np.sum(scaled**2)) == pytest.approx(6.0, abs=1e-4)
    np.testing.assert_allclose(mixture, speech + scaled)
    _, silent = mix_at_snr(speech, np.zeros(1000, "float32"), 0.0)
    assert not silent.any()
    with pytest.raises(ParameterError, match="same shape"):
        mix_at_snr(speech, noise[:10], 0.0)


def test_sampler_is_seeded_sums_to_the_mixture_and_respects_the_snr(rng):
    speech = [rng.standard_normal(n).astype("float32") * 0.1 for n in (3000, 500)]
    noise = [rng.standard_normal(700).astype("float32")]
    pairs = [(speech[0], noise[0].repeat(5)[:3000] * 0.1)]
    sampler = MixtureSampler(samples=1000, pairs=pairs, speech=speech, noise=noise,
                             snr_db=(3.0, 3.0), gain_db=(0.0, 0.0), seed=4)
    mix, src = sampler.batch(8, epoch=2, index=5)
    assert mix.shape == (8, 1000) and src.shape == (8, 1000, 2) and mix.dtype == np.float32
    np.testing.assert_allclose(mix, src.sum(-1), atol=1e-7)
    again = sampler.batch(8, epoch=2, index=5)
    np.testing.assert_array_equal(again[0], mix)
    assert not np.array_equal(sampler.batch(8, epoch=3, index=5)[0], mix)  # new epoch, new mixes
    for s, n in zip(src[4:, :, 0], src[4:, :, 1], strict=True):  # the on-the-fly half: 3 dB
        assert 10 * np.log10(np.sum(s**2) / np.sum(n**2)) == pytest.approx(3.0, abs=1e-3)
        assert np.array_equal(s != 0, n != 0)  # a short clip and its noise, zero-padded
    assert any(np.count_nonzero(s) == 500 for s in src[4:, :, 0])
    assert np.abs(mix).max() <= 0.99 + 1e-6


def test_speed_perturbation_moves_the_pitch_and_keeps_the_window():
    """speed=(f, f): the speech window is resampled f times faster, so a 500 Hz tone comes out
    at 500 f Hz; the window keeps its length, the SNR its value, the seed its batches."""
    sr, n = 8000, 2000
    tone = np.sin(2 * np.pi * 500 * np.arange(3 * sr) / sr).astype("float32")
    noise = [np.random.default_rng(1).standard_normal(sr).astype("float32")]
    for factor in (0.8, 1.25):
        sampler = MixtureSampler(samples=n, speech=[tone], noise=noise, snr_db=(20.0, 20.0),
                                 gain_db=(0.0, 0.0), speed=(factor, factor), seed=3)
        mix, src = sampler.batch(2, epoch=0, index=1)
        assert src.shape == (2, n, 2) and src.dtype == np.float32
        assert np.count_nonzero(src[0, :, 0]) > 0.99 * n  # the window is filled
        spectrum = np.abs(np.fft.rfft(src[0, :, 0] * np.hanning(n)))
        assert np.argmax(spectrum) * sr / n == pytest.approx(500 * factor, abs=sr / n)
        s, z = src[0, :, 0], src[0, :, 1]
        assert 10 * np.log10(np.sum(s**2) / np.sum(z**2)) == pytest.approx(20.0, abs=1e-3)
        np.testing.assert_array_equal(sampler.batch(2, epoch=0, index=1)[0], mix)


def test_pair_speed_resamples_both_sources_of_a_pair_alike():
    """pair_speed: a pair's window is resampled too, speech and noise by the same factor (a
    500 Hz tone and a 1500 Hz tone both move by f, their ratio of energies stays); without it
    the pair's window is as recorded."""
    sr, n = 8000, 2000
    t = np.arange(3 * sr) / sr
    clean = np.sin(2 * np.pi * 500 * t).astype("float32")
    noise = (0.5 * np.sin(2 * np.pi * 1500 * t)).astype("float32")
    for pair_speed, factor, want in ((True, 1.2, 1.2), (False, 1.2, 1.0), (True, 1.0, 1.0)):
        sampler = MixtureSampler(samples=n, pairs=[(clean, noise)], gain_db=(0.0, 0.0),
                                 speed=(factor, factor), pair_speed=pair_speed, seed=4)
        mix, src = sampler.batch(2, index=3)
        np.testing.assert_allclose(src.sum(-1), mix, atol=1e-6)
        assert np.count_nonzero(src[0, :, 0]) > 0.99 * n
        for k, f0 in ((0, 500), (1, 1500)):
            spectrum = np.abs(np.fft.rfft(src[0, :, k] * np.hanning(n)))
            assert np.argmax(spectrum) * sr / n == pytest.approx(f0 * want, abs=sr / n)
        ratio = np.sum(src[0, :, 0] ** 2) / np.sum(src[0, :, 1] ** 2)
        assert 10 * np.log10(ratio) == pytest.approx(10 * np.log10(4), abs=0.1)


def test_by_length_draws_each_second_of_speech_equally_often():
    """Two recordings, 0.1 s and 2.9 s: by file each is drawn half the time, by length the long
    one 29 times in 30."""
    short, long_ = np.full(800, 0.5, "float32"), np.full(23200, -0.5, "float32")
    noise = [np.random.default_rng(2).standard_normal(8000).astype("float32")]
    for by_length, want in ((False, 0.5), (True, 29 / 30)):
        sampler = MixtureSampler(samples=800, speech=[short, long_], noise=noise,
                                 gain_db=(0.0, 0.0), by_length=by_length, seed=0)
        speech = np.concatenate([sampler.batch(50, index=i)[1][:, :, 0] for i in range(8)])
        assert np.mean(speech[:, 0] < 0) == pytest.approx(want, abs=0.05)


def test_sampler_errors():
    with pytest.raises(DatasetError, match="both speech and noise"):
        MixtureSampler(samples=100, speech=[np.ones(100, "float32")])
    with pytest.raises(DatasetError, match="nothing to train on"):
        MixtureSampler(samples=100)
    with pytest.raises(ParameterError, match="snr_db"):
        MixtureSampler(samples=100, pairs=[(np.ones(9), np.ones(9))], snr_db=(10, -5))
    with pytest.raises(ParameterError, match="pair_fraction"):
        MixtureSampler(samples=100, pairs=[(np.ones(9), np.ones(9))], pair_fraction=2)
    with pytest.raises(ParameterError, match=r"speed must be .* 0.5 <= low <= high <= 2, got \(1.2, 0.9\)"):
        MixtureSampler(samples=100, pairs=[(np.ones(9), np.ones(9))], speed=(1.2, 0.9))
    with pytest.raises(ParameterError, match="speed must be"):
        MixtureSampler(samples=100, pairs=[(np.ones(9), np.ones(9))], speed=1.1)


def test_a_folder_without_the_layout_is_refused(tmp_path):
    with pytest.raises(DatasetError, match="NOIZEUS-style"):
        noizeus_pairs(tmp_path)
