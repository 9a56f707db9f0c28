"""tympan.dsp.wavelets: DWT round trip and features, the scalogram, and its kernel bank.

References are PyWavelets itself (librosa has no wavelet transform): ``dwt`` must equal
``pywt.wavedec``, the scalogram ``|pywt.cwt(..., method="fft")|`` read every ``hop_length``
samples, and the kernel bank, applied as a correlation, the full-resolution ``pywt.cwt``
(to 1e-12 of the peak in float64).  Known answers: a sine lands in the bin whose centre
frequency is nearest; frames follow ``n_frames(..., center=True)``.
"""

from __future__ import annotations

import numpy as np
import pytest
import pywt

from tympan import dsp
from tympan.dsp import wavelets
from tympan.errors import ParameterError

FSDD = "3_jackson_5"  # 0.45 s at 8 kHz
SCALOGRAM = dict(sr=8000, hop_length=80, fmin=40.0, fmax=3800.0, n_bins=48)


@pytest.fixture(scope="module")
def speech(recording):
    return recording("fsdd", FSDD)[0]


@pytest.fixture(scope="module")
def emodb(recording):
    return recording("emodb", "03a01Fa")[0][12000:20000]  # 0.36 s of speech at 22.05 kHz


# ----------------------------------------------------------------------------------- DWT
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize(("wavelet", "level", "mode"), [("db4", None, "symmetric"), ("haar", 3, "zero"),
                                                        ("sym8", 5, "periodization")])
def test_dwt_equals_pywt_and_inverts(speech, dtype, wavelet, level, mode):
    y = speech.astype(dtype)
    coeffs = dsp.dwt(y, wavelet=wavelet, level=level, mode=mode)
    ref = pywt.wavedec(y, wavelet, level=level, mode=mode)
    assert len(coeffs) == len(ref)
    for c, r in zip(coeffs, ref, strict=True):
        assert c.dtype == dtype
        np.testing.assert_array_equal(c, r)
    back = dsp.idwt(coeffs, wavelet=wavelet, mode=mode, length=len(y))
    assert back.shape == y.shape
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(back, y, rtol=0, atol=tol * np.abs(y).max())


def test_dwt_default_level_is_the_most_the_length_allows(speech):
    top = pywt.dwt_max_level(len(speech), pywt.Wavelet("db4").dec_len)
    assert len(dsp.dwt(speech)) == top + 1


def test_dwt_batch_equals_single(speech, emodb):
    batch = np.stack([speech[:3000], emodb[:3000], np.zeros(3000, np.float32)])[None]  # (1, 3, n)
    coeffs = dsp.dwt(batch, level=4)
    feats = dsp.dwt_features(batch, level=4)
    assert feats.shape == (1, 3, 15)
    for i in range(3):
        for c, single in zip(coeffs, dsp.dwt(batch[0, i], level=4), strict=True):
            np.testing.assert_array_equal(c[0, i], single)
        np.testing.assert_allclose(feats[0, i], dsp.dwt_features(batch[0, i], level=4), rtol=1e-6)


def test_idwt_odd_length_needs_length(rng):
    y = rng.standard_normal(1001)
    coeffs = dsp.dwt(y, level=3)
    assert dsp.idwt(coeffs).shape[-1] == 1002  # pywt reconstructs an even length
    np.testing.assert_allclose(dsp.idwt(coeffs, length=1001), y, atol=1e-10)


def test_dwt_features_known_answers(rng):
    # silence: log(amin), zero mean |c|, zero std, in every band
    quiet = dsp.dwt_features(np.zeros(512, np.float32), wavelet="haar", level=3)
    assert quiet.dtype == np.float32
    np.testing.assert_allclose(quiet.reshape(4, 3), [[np.log(1e-10), 0.0, 0.0]] * 4, rtol=1e-6)
    # a constant through Haar: all energy in cA3 = 1 * 2 ** (3 / 2), no detail
    ones = dsp.dwt_features(np.ones(512), wavelet="haar", level=3).reshape(4, 3)
    np.testing.assert_allclose(ones[0], [np.log(8.0), np.sqrt(8.0), 0.0], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(ones[1:, 1:], 0.0, atol=1e-12)
    # a sine in the top half-band (sr/4..sr/2) puts its energy in cD1, a low one in cA
    t = np.arange(4096)
    names = dsp.dwt_feature_names(level=4)
    energy = [k for k, name in enumerate(names) if name.endswith("log_energy")]
    high = dsp.dwt_features(np.sin(2 * np.pi * 0.375 * t), level=4)[energy]
    low = dsp.dwt_features(np.sin(2 * np.pi * 0.01 * t), level=4)[energy]
    assert names[energy[int(np.argmax(high))]] == "cD1_log_energy"
    assert names[energy[int(np.argmax(low))]] == "cA4_log_energy"


def test_dwt_feature_names():
    names = dsp.dwt_feature_names(level=2)
    assert names[:4] == ["cA2_log_energy", "cA2_mean_abs", "cA2_std", "cD2_log_energy"]
    assert names[-1] == "cD1_std" and len(names) == 9


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda y: dsp.dwt(y, wavelet="db99"), "wavelet"),
        (lambda y: dsp.dwt(y, wavelet="cmor1.5-1.0"), "wavelet"),
        (lambda y: dsp.dwt(y, level=0), "level"),
        (lambda y: dsp.dwt(y, level=40), "level must be <= "),
        (lambda y: dsp.dwt(y[:5]), "too short"),
        (lambda y: dsp.dwt(y, mode="mirror"), "mode"),
        (lambda y: dsp.dwt(y.astype(np.int16)), "floating-point"),
        (lambda y: dsp.dwt_features(y, amin=0.0), "amin"),
        (lambda y: dsp.idwt(dsp.dwt(y, level=2), length=10**6), "length"),
        (lambda y: dsp.idwt(y), "coeffs"),
    ],
)
def test_dwt_errors(speech, call, match):
    with pytest.raises(ParameterError, match=match):
        call(speech)


# ----------------------------------------------------------------------------- scalogram
def test_scalogram_frequencies_are_log_spaced():
    f = dsp.scalogram_frequencies(sr=8000, fmin=50.0, fmax=3200.0, n_bins=13)
    np.testing.assert_allclose(f, 50.0 * 2.0 ** (np.arange(13) / 2), rtol=1e-12)  # half-octaves
    assert dsp.scalogram_frequencies(sr=8000, fmin=50.0, n_bins=5)[-1] == pytest.approx(4000.0)


@pytest.mark.parametrize(("n", "hop"), [(3000, 100), (3001, 100), (2999, 64), (80, 80), (1, 16)])
def test_scalogram_frames_follow_n_frames_centred(rng, n, hop):
    y = rng.standard_normal(n).astype(np.float32)
    S = dsp.scalogram(y, sr=8000, hop_length=hop, fmin=200.0, n_bins=6)
    assert S.shape == (6, dsp.n_frames(n, n_fft=2048, hop_length=hop, center=True))
    assert S.shape[-1] == 1 + n // hop
    assert S.dtype == np.float32


def test_scalogram_equals_pywt_cwt_every_hop(speech):
    S = dsp.scalogram(speech, **SCALOGRAM)
    w, freqs, scales, precision = wavelets._resolve(8000, 40.0, 3800.0, 48, "cmor1.5-1.0", None)
    coef, _ = pywt.cwt(speech.astype(np.float64), scales, "cmor1.5-1.0", method="fft",
                       precision=precision)
    ref = np.abs(coef[:, ::80])  # frames at t = 0, 80, ...; the last one lies past the end here
    inside = ref.shape[1]
    np.testing.assert_allclose(S[:, :inside], ref, rtol=1e-5, atol=1e-6 * ref.max())
    np.testing.assert_allclose(freqs, dsp.scalogram_frequencies(sr=8000, fmin=40.0, fmax=3800.0, n_bins=48))
    # PyWavelets' own frequency estimate agrees for cmor1.5-1.0 (centre frequency exactly 1)
    np.testing.assert_allclose(pywt.scale2frequency(w, scales) * 8000, freqs, rtol=1e-9)


@pytest.mark.parametrize("wavelet", ["cmor1.5-1.0", "cmor3.0-1.5"])
def test_a_sine_peaks_in_its_bin(wavelet):
    sr, n = 8000, 4000
    freqs = dsp.scalogram_frequencies(sr=sr, fmin=60.0, fmax=3000.0, n_bins=24)
    bins = np.repeat([2, 9, 16, 22], 3)
    f = freqs[bins] * np.tile([1.0, 1.04, 1 / 1.04], 4)  # each centre, and a little off it
    assert np.array_equal(np.argmin(np.abs(freqs[None, :] - f[:, None]), axis=1), bins)  # nearest in Hz
    y = np.sin(2 * np.pi * f[:, None] * np.arange(n) / sr).astype(np.float32)  # (12, n)
    S = dsp.scalogram(y, sr=sr, hop_length=100, fmin=60.0, fmax=3000.0, n_bins=24, wavelet=wavelet)
    peaks = S[..., 15:25].argmax(axis=-2)  # 0.19-0.31 s: away from the edges
    np.testing.assert_array_equal(peaks, np.repeat(bins[:, None], 10, axis=1))


def test_scalogram_batch_equals_single(speech, emodb):
    params = dict(sr=22050, hop_length=256, fmin=100.0, fmax=8000.0, n_bins=20)
    batch = np.stack([emodb[:4000], emodb[:4000] * np.float32(1e-3), emodb[4000:]])
    S = dsp.scalogram(batch, **params)
    assert S.shape == (3, 20, 1 + 4000 // 256) and S.dtype == np.float32
    for i in range(3):
        single = dsp.scalogram(batch[i], **params)
        np.testing.assert_allclose(S[i], single, rtol=1e-6, atol=1e-7 * single.max())
    assert dsp.scalogram(speech.astype(np.float64), **SCALOGRAM).dtype == np.float64


@pytest.mark.parametrize(("f", "floor_db"), [(300.0, -70.0), (1000.0, -50.0), (3000.0, -45.0)])
def test_auto_precision_keeps_a_sine_out_of_distant_bins(f, floor_db):
    # PyWavelets' default precision=12 reads its integrated wavelet coarsely at large scales
    # (the "zipper"), which lets a tone leak into bins far below it; the automatic precision
    # keeps that leak under floor_db.
    t = np.arange(4000) / 8000
    y = np.sin(2 * np.pi * f * t)
    freqs = dsp.scalogram_frequencies(sr=8000, fmin=40.0, fmax=3800.0, n_bins=48)
    far = freqs < f / 4

    def leak_db(precision):
        S = dsp.scalogram(y, precision=precision, **{**SCALOGRAM, "hop_length": 100})[:, 15:25]
        return 20 * np.log10(S[far].max() / S.max())

    assert leak_db(None) < floor_db
    assert leak_db(12) > floor_db + 10  # the check has teeth


# ----------------------------------------------------------------------------- the bank
@pytest.mark.parametrize("wavelet", ["cmor1.5-1.0", "cmor2.0-0.8"])
def test_bank_correlation_equals_pywt_cwt(speech, wavelet):
    y = speech[:2000].astype(np.float64)
    kw = dict(sr=8000, fmin=80.0, fmax=3500.0, n_bins=16, wavelet=wavelet)
    bank = dsp.wavelet_bank(dtype=np.complex128, **kw)
    taps = bank.shape[0]
    assert bank.shape == (taps, 16) and taps % 2 == 0
    _, _, scales, precision = wavelets._resolve(8000, 80.0, 3500.0, 16, wavelet, None)
    coef, _ = pywt.cwt(y, scales, wavelet, method="fft", precision=precision)
    frames = np.lib.stride_tricks.sliding_window_view(np.pad(y, taps // 2), taps)[: len(y)]
    ours = frames @ bank  # sum_i bank[i] y[t + i - taps // 2]
    np.testing.assert_allclose(ours, coef.T, rtol=0, atol=1e-12 * np.abs(coef).max())


def test_bank_is_cached_read_only_complex64():
    kw = dict(sr=8000, fmin=100.0, n_bins=8)
    bank = dsp.wavelet_bank(**kw)
    assert bank.dtype == np.complex64 and not bank.flags.writeable
    assert dsp.wavelet_bank(**kw) is bank
    # the kernel spans the wavelet's support (16 units for cmor) at the largest scale
    assert bank.shape[0] == pytest.approx(16 * 8000 / 100.0, abs=4)


# -------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda y: dsp.scalogram(y, sr=8000, fmin=500.0, fmax=100.0), "fmin"),
        (lambda y: dsp.scalogram(y, sr=8000, fmax=5000.0), "fmax"),
        (lambda y: dsp.scalogram(y, sr=8000, fmin=0.0), "fmin"),
        (lambda y: dsp.scalogram(y, sr=8000, n_bins=0), "n_bins"),
        (lambda y: dsp.scalogram(y, sr=8000, hop_length=0), "hop_length"),
        (lambda y: dsp.scalogram(y, sr=-8000), "sr"),
        (lambda y: dsp.scalogram(y, sr=8000, wavelet="morl"), "wavelet"),
        (lambda y: dsp.scalogram(y, sr=8000, wavelet="db4"), "wavelet"),
        (lambda y: dsp.scalogram(y, sr=8000, wavelet="shan1.5-1.0"), "cmorB-C"),
        (lambda y: dsp.scalogram(y, sr=8000, wavelet="cmor1.5"), "wavelet"),
        (lambda y: dsp.scalogram(y, sr=8000, precision=0), "precision"),
        (lambda y: dsp.scalogram(y[:0], sr=8000), "at least one sample"),
        (lambda y: dsp.wavelet_bank(sr=8000, fmin=3.0), r"fmin=3\.0 Hz at sr=8000"),
        (lambda y: dsp.wavelet_bank(sr=8000, fmin=100.0, dtype=np.float32), "dtype"),
    ],
)
def test_scalogram_errors(speech, call, match):
    with pytest.raises(ParameterError, match=match):
        call(speech)
