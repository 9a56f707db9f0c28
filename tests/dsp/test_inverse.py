"""tympan.dsp.inverse: Griffin-Lim, mel and MFCC inversion, on real speech, against librosa 0.11.

librosa is the reference: the same Griffin-Lim from the same random phases gives the same
waveform; our mel inversion must reproduce the STFT magnitude at least as well as
``librosa.feature.inverse.mel_to_stft`` (whose L-BFGS solver stops near its start) and fit the
mel spectrogram itself much more closely; ``mfcc_to_mel`` equals librosa's.
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest

from tympan.dsp import (
    db_to_power,
    filters,
    griffinlim,
    mel_to_audio,
    mel_to_stft,
    melspectrogram,
    mfcc,
    mfcc_to_audio,
    mfcc_to_mel,
    power_to_db,
    stft,
)
from tympan.dsp.metrics import spectral_convergence
from tympan.errors import ParameterError

SR = 8000
STFT = dict(n_fft=256, hop_length=64)


def sc_db(S, y_hat, **stft_kw):
    """Spectral convergence in dB of ``y_hat``'s STFT magnitude against ``S``."""
    return 20 * np.log10(spectral_convergence(S, np.abs(stft(y_hat, **(stft_kw or STFT)))))


@pytest.fixture(scope="module")
def digit(recording):
    y, sr = recording("fsdd", "3_jackson_5")  # 3607 samples at 8 kHz
    assert sr == SR
    return y


@pytest.fixture(scope="module")
def pair(recording):
    """Two digits cut to a common length, as a batch (2, 2292)."""
    clips = [recording("fsdd", name)[0] for name in ("3_jackson_5", "7_theo_3")]
    n = min(len(c) for c in clips)
    return np.stack([c[:n] for c in clips])


@pytest.fixture(scope="module")
def sentence(shared_data):
    """1.2 s of NOIZEUS sentence sp05 (clean, 8 kHz), from its start."""
    import soundfile as sf

    y, sr = sf.read(shared_data / "noizeus" / "clean" / "sp05.wav", dtype="float32")
    assert sr == SR
    return y[: 6 * SR // 5]


# ------------------------------------------------------------------------------ Griffin-Lim
@pytest.mark.parametrize(("init", "momentum"), [("random", 0.99), (None, 0.99), ("random", 0.0)])
def test_griffinlim_equals_librosa_from_the_same_phases(digit, init, momentum):
    S = np.abs(stft(digit, **STFT))
    kw = dict(n_iter=32, momentum=momentum, init=init, length=len(digit), **STFT)
    ours = griffinlim(S, random_state=np.random.default_rng(7), **kw)
    ref = librosa.griffinlim(S, random_state=np.random.default_rng(7), **kw)
    assert ours.dtype == ref.dtype == np.float32 and ours.shape == digit.shape
    # measured: at most 1.8e-5 (peak 0.32) after 32 iterations with momentum 0.99
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-3 * np.abs(ref).max())


@pytest.mark.parametrize("clip", ["digit", "sentence"])
def test_griffinlim_spectral_convergence_improves_with_iterations(request, clip):
    y = request.getfixturevalue(clip)
    S = np.abs(stft(y, **STFT))
    scores = [sc_db(S, griffinlim(S, n_iter=n, length=len(y), random_state=0, **STFT))
              for n in (2, 8, 32, 100)]
    assert np.all(np.diff(scores) < -1.0), scores
    # measured (random start, seed 0): digit -29.4 dB, sentence -37.6 dB after 100 iterations
    assert scores[-1] < -25.0, scores


def test_griffinlim_batch_equals_single(pair):
    S = np.abs(stft(pair, **STFT))
    phase = np.random.default_rng(1).uniform(0, 2 * np.pi, S.shape)
    batch = griffinlim(S, n_iter=16, init=phase, **STFT)
    for i in range(2):
        np.testing.assert_allclose(batch[i], griffinlim(S[i], n_iter=16, init=phase[i], **STFT), atol=1e-6)
    nested = griffinlim(S[None], n_iter=4, init=None, **STFT)  # (1, 2, bins, frames)
    assert nested.shape == (1, *pair.shape[:1], 64 * (S.shape[-1] - 1))


def test_griffinlim_random_state_and_dtype(digit):
    S = np.abs(stft(digit, **STFT))
    a = griffinlim(S, n_iter=4, random_state=3, **STFT)
    np.testing.assert_array_equal(a, griffinlim(S, n_iter=4, random_state=3, **STFT))
    assert not np.array_equal(a, griffinlim(S, n_iter=4, random_state=4, **STFT))
    y64 = griffinlim(S.astype(np.float64), n_iter=4, random_state=3, **STFT)
    assert y64.dtype == np.float64
    np.testing.assert_allclose(y64, a, atol=1e-4 * np.abs(a).max())


# ------------------------------------------------------------------------------------- mel
@pytest.mark.parametrize(
    ("clip", "n_mels", "power"), [("digit", 40, 2.0), ("digit", 80, 1.0), ("sentence", 80, 2.0)]
)
def test_mel_to_stft_reproduces_the_magnitude_at_least_as_well_as_librosa(request, clip, n_mels, power):
    y = request.getfixturevalue(clip)
    S = np.abs(stft(y, **STFT))
    M = melspectrogram(y, sr=SR, n_mels=n_mels, power=power, **STFT)
    ours = mel_to_stft(M, sr=SR, n_fft=256, power=power)
    ref = librosa.feature.inverse.mel_to_stft(M, sr=SR, n_fft=256, power=power)
    assert ours.shape == ref.shape == S.shape and ours.dtype == np.float32
    err_ours, err_ref = spectral_convergence(S, ours), spectral_convergence(S, ref)
    assert err_ours <= err_ref * 1.02, (err_ours, err_ref)  # measured: 0.70-1.00 of librosa's
    assert err_ours < 0.35
    # the mel spectrogram itself is matched: measured residual <= 5e-6 (librosa's: 1e-4 to 0.1)
    refit = melspectrogram(S=ours**power, sr=SR, n_mels=n_mels)
    assert np.linalg.norm(refit - M) / np.linalg.norm(M) < 1e-3


def test_mel_to_stft_batch_equals_single(pair):
    M = melspectrogram(pair, sr=SR, n_mels=40, **STFT)
    batch = mel_to_stft(M, sr=SR, n_fft=256)
    for i in range(2):
        np.testing.assert_allclose(batch[i], mel_to_stft(M[i], sr=SR, n_fft=256), rtol=1e-5, atol=1e-7)
    assert mel_to_stft(M.astype(np.float64), sr=SR, n_fft=256).dtype == np.float64


def test_mel_to_audio_with_the_melspectrogram_dict(digit):
    p = dict(sr=SR, n_mels=80, fmin=50.0, fmax=3900.0, **STFT)
    y_hat = mel_to_audio(melspectrogram(digit, **p), **p, length=len(digit), random_state=0)
    assert y_hat.shape == digit.shape and y_hat.dtype == np.float32
    S = np.abs(stft(digit, **STFT))
    ref_S = librosa.feature.inverse.mel_to_stft(librosa.feature.melspectrogram(y=digit, **p), sr=SR,
                                                n_fft=256, fmin=50.0, fmax=3900.0)
    ref = librosa.griffinlim(ref_S, length=len(digit), random_state=np.random.default_rng(0), **STFT)
    # measured: ours -22.2 dB, librosa's -22.2 dB
    assert sc_db(S, y_hat) < sc_db(S, ref) + 0.5
    assert sc_db(S, y_hat) < -18.0


# ------------------------------------------------------------------------------------ MFCC
@pytest.mark.parametrize(
    "kw",
    [dict(n_mfcc=13), dict(n_mfcc=20, lifter=22.0), dict(n_mfcc=13, norm=None), dict(n_mfcc=40)],
    ids=["13", "20-lifter22", "13-norm-none", "40-full"],
)
def test_mfcc_to_mel_equals_librosa(sentence, kw):
    p = dict(sr=SR, n_mels=40, **STFT, **kw)
    C = mfcc(sentence, **p)
    inv = dict(n_mels=40, norm=kw.get("norm", "ortho"), lifter=kw.get("lifter", 0))
    ours = mfcc_to_mel(C, **inv, top_db=None)
    ref = librosa.feature.inverse.mfcc_to_mel(C, **inv)
    assert ours.dtype == ref.dtype == np.float32 and ours.shape == ref.shape == (40, C.shape[-1])
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6 * ref.max())


def test_mfcc_to_mel_of_all_coefficients_is_the_clipped_mel(sentence):
    """Known answer: with n_mfcc = n_mels the DCT loses nothing, only the top_db clipping remains."""
    M = melspectrogram(sentence, sr=SR, n_mels=40, **STFT)
    C = mfcc(sentence, sr=SR, n_mfcc=40, n_mels=40, top_db=80.0, **STFT)
    expected = db_to_power(power_to_db(M, top_db=80.0))
    np.testing.assert_allclose(mfcc_to_mel(C, n_mels=40, top_db=80.0), expected, rtol=1e-3)


def test_mfcc_to_mel_top_db_is_per_example(sentence):
    C = mfcc(sentence, sr=SR, n_mfcc=13, n_mels=40, top_db=None, **STFT)
    quiet = C.copy()
    quiet[0] -= 40.0 * np.sqrt(40)  # orthonormal DCT: every mel band 40 dB lower
    out = mfcc_to_mel(np.stack([C, quiet]), n_mels=40, top_db=60.0)
    for i, c in enumerate((C, quiet)):
        np.testing.assert_allclose(out[i], mfcc_to_mel(c, n_mels=40, top_db=60.0), rtol=1e-6)
    np.testing.assert_allclose(out[1], 1e-4 * out[0], rtol=1e-4)  # clipped 60 dB below its own peak
    assert np.ptp(power_to_db(out[0], top_db=None)) == pytest.approx(60.0, abs=1e-3)


def test_mfcc_to_audio_with_the_mfcc_dict(digit):
    p = dict(sr=SR, n_mfcc=20, n_mels=40, lifter=22.0, norm="ortho", mel_norm="slaney", top_db=80.0, **STFT)
    y_hat = mfcc_to_audio(mfcc(digit, **p), **p, length=len(digit), random_state=0)
    assert y_hat.shape == digit.shape and y_hat.dtype == np.float32
    # 20 of 40 coefficients: a smooth spectral envelope only; measured -5.3 dB
    assert sc_db(np.abs(stft(digit, **STFT)), y_hat) < -4.0


# ----------------------------------------------------------------------------------- errors
def test_inverse_errors_name_the_parameter(digit):
    S = np.abs(stft(digit, **STFT))
    with pytest.raises(ParameterError, match="real non-negative"):
        griffinlim(stft(digit, **STFT))
    with pytest.raises(ParameterError, match="non-negative"):
        griffinlim(-S)
    with pytest.raises(ParameterError, match="n_fft=512"):
        griffinlim(S, n_fft=512)
    with pytest.raises(ParameterError, match="n_iter"):
        griffinlim(S, n_iter=0)
    with pytest.raises(ParameterError, match="momentum"):
        griffinlim(S, momentum=-0.5)
    with pytest.warns(UserWarning, match="momentum"):
        griffinlim(S, n_iter=1, momentum=1.5, **STFT)
    with pytest.raises(ParameterError, match="init"):
        griffinlim(S, init="zeros")
    with pytest.raises(ParameterError, match="init"):
        griffinlim(S, init=np.zeros(5))
    with pytest.raises(ParameterError, match="random_state"):
        griffinlim(S, random_state="seed")
    with pytest.raises(ParameterError, match="length=1000"):
        griffinlim(S, length=1000, **STFT)
    with pytest.raises(ParameterError, match="pad_mode"):
        griffinlim(S, pad_mode="mirror")
    M = melspectrogram(digit, sr=SR, n_mels=40, **STFT)
    with pytest.raises(ParameterError, match="n_mels=80"):
        mel_to_stft(M, sr=SR, n_fft=256, n_mels=80)
    with pytest.raises(ParameterError, match="power"):
        mel_to_stft(M, sr=SR, n_fft=256, power=0.0)
    with pytest.raises(ParameterError, match="fmax"):
        mel_to_stft(M, sr=SR, n_fft=256, fmax=5000.0)
    with pytest.raises(ParameterError, match="finite"):
        mel_to_stft(np.full_like(M, np.nan), sr=SR, n_fft=256)
    C = mfcc(digit, sr=SR, n_mfcc=13, n_mels=40, **STFT)
    with pytest.raises(ParameterError, match="n_mfcc must be <= n_mels"):
        mfcc_to_mel(C, n_mels=10)
    with pytest.raises(ParameterError, match="n_mfcc=20"):
        mfcc_to_mel(C, n_mels=40, n_mfcc=20)
    with pytest.raises(ParameterError, match="dct_type"):
        mfcc_to_mel(C, dct_type=3)
    with pytest.raises(ParameterError, match="norm"):
        mfcc_to_mel(C, n_mels=40, norm="l2")
    with pytest.raises(ParameterError, match="lifter"):
        mfcc_to_mel(C, n_mels=40, lifter=-1.0)
    with pytest.raises(ParameterError, match="lifter=2"):
        mfcc_to_mel(C, n_mels=40, lifter=2.0)  # 1 + sin(3 pi / 2) = 0 at the third coefficient
    assert filters.lifter_weights(13, 2.0)[2] == pytest.approx(0.0, abs=1e-12)
