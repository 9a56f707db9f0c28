"""tympan.dsp.tonal (chroma_stft, cqt, chroma_cqt, the tuning estimate) and their builders
against librosa 0.11.

Parameter mapping: identical names and meanings, and the same defaults, except ``cqt``, whose
``tuning`` defaults to 0.0 (librosa's ``cqt`` estimates it), so librosa's CQT is called with
``tuning=0.0``.  The chroma functions default to ``tuning=None`` in both: estimated from the
signal (``estimate_tuning``: ``piptrack`` then ``pitch_tuning``).

Tolerances (float32 audio): chroma filterbank 1e-7; chroma_stft 1e-5 absolute (values in
[0, 1]), whether the tuning is estimated or given; ``estimate_tuning`` identical to librosa's
for at least 90 % of the (file, setting) pairs (measured: all of those here, and 2519 of 2520
over all of EMO-DB, every 10th FSDD file and the codec music, in three settings: the exception
is a histogram with three peaks of 10-11 counts, where librosa's float32 FFT moves one peak by
0.003 Hz into the next bin); ``piptrack`` pitches 1e-6 relative
(float32), magnitudes 1e-5 of the peak, and the same peaks in all but 0.1 % of the cells;
the CQT exactly librosa's algorithm where no resampling happens (odd hop_length): 1e-5
of the peak, complex.  With resampling librosa uses soxr and tympan a FIR half-band low-pass
(see tympan.dsp.constantq), so there the check is on ``amplitude_to_db(|C|, ref=np.max)``:
Pearson correlation and the error in cells within 40 dB of the peak; the quiet cells, made of
filter leakage, differ by up to ~25 dB between the two resamplers.
"""

from __future__ import annotations

import warnings

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from tympan.dsp import (
    amplitude_to_db,
    chroma_cqt,
    chroma_stft,
    constantq,
    cqt,
    estimate_tuning,
    filters,
    n_frames,
    piptrack,
    pitch_tuning,
)
from tympan.dsp.tonal import _halve
from tympan.errors import ParameterError

pytestmark = pytest.mark.filterwarnings("ignore:n_fft=.*is too large:UserWarning")  # librosa, low octaves

A4_BIN = 45  # 440 Hz (MIDI 69) = C1 (MIDI 24) * 2 ** (45 / 12)


def db(C: np.ndarray) -> np.ndarray:
    return amplitude_to_db(np.abs(C), ref=np.max)


def sine(freq: float, sr: int, seconds: float = 1.0) -> np.ndarray:
    return (0.5 * np.sin(2 * np.pi * freq * np.arange(int(sr * seconds)) / sr)).astype(np.float32)


# --------------------------------------------------------------------------------- builders
@pytest.mark.parametrize(
    "params",
    [
        dict(sr=22050, n_fft=2048),
        dict(sr=8000, n_fft=256, n_chroma=24, tuning=0.3, octwidth=None, norm=np.inf, base_c=False),
        dict(sr=16000, n_fft=511, norm=1, ctroct=4.0, octwidth=1.5),
        dict(sr=22050, n_fft=1024, norm=None, tuning=-0.25),
    ],
)
def test_chroma_filterbank_equals_librosa(params):
    ours = filters.chroma(**params)
    ref = librosa.filters.chroma(**params)
    assert ours.shape == ref.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-6, atol=1e-7)
    assert not ours.flags.writeable


@pytest.mark.parametrize(("n_input", "bpo", "n_chroma", "fmin"),
                         [(84, 12, 12, None), (252, 36, 12, None), (72, 24, 12, 55.0), (50, 36, 36, 65.4)])
def test_cq_to_chroma_equals_librosa(n_input, bpo, n_chroma, fmin):
    ours = constantq.cq_to_chroma(n_input, bins_per_octave=bpo, n_chroma=n_chroma, fmin=fmin)
    ref = librosa.filters.cq_to_chroma(n_input, bins_per_octave=bpo, n_chroma=n_chroma, fmin=fmin)
    np.testing.assert_array_equal(ours, ref)


def test_cqt_frequencies_equal_librosa():
    c1 = librosa.note_to_hz("C1")
    np.testing.assert_allclose(constantq.cqt_frequencies(84), librosa.cqt_frequencies(84, fmin=c1), rtol=1e-9)
    np.testing.assert_allclose(
        constantq.cqt_frequencies(48, fmin=55.0, bins_per_octave=24, tuning=0.2),
        librosa.cqt_frequencies(48, fmin=55.0 * 2 ** (0.2 / 24), bins_per_octave=24), rtol=1e-12)


def test_halving_low_pass_is_resample_poly_and_meets_its_band_edges():
    plan = constantq.cqt_kernels(sr=22050)  # default CQT: top filter edge rho = 0.374 of Nyquist
    h = plan.lowpass
    x = np.random.default_rng(0).standard_normal((3, 1001))
    np.testing.assert_allclose(_halve(x, h), scipy.signal.resample_poly(x, 1, 2, axis=-1, window=h),
                               rtol=0, atol=1e-12)
    rho = 4127.0 / 11025.0
    w, H = scipy.signal.freqz(h / np.sqrt(2), worN=8192)  # w in rad/sample, Nyquist = pi
    band = np.abs(H)
    assert np.abs(band[w <= np.pi * rho / 2] - 1).max() < 1e-5  # the pass band the octaves use
    assert 20 * np.log10(band[w >= np.pi * (1 - rho / 2)].max()) < -115  # what would alias there


# ----------------------------------------------------------------------------------- tuning
def _music(shared_data, name: str) -> tuple[np.ndarray, int]:
    """A music file of the codec test vectors, mixed to mono float32."""
    y, sr = sf.read(shared_data / "codecs" / "pydub" / name, dtype="float32")
    return (y.mean(axis=1) if y.ndim == 2 else y).astype(np.float32), sr


SPEECH = [("emodb", n) for n in ("03a01Fa", "03a01Nc", "08b09Wa", "11a04Ac", "14b09Td", "16b03Wb")] + \
         [("fsdd", n) for n in ("0_george_0", "3_jackson_5", "5_lucas_20", "9_theo_7")]
MUSIC = ["test1.wav", "party.mp3", "test2.mp3", "test3.mp3"]


def test_estimate_tuning_equals_librosa_on_speech_and_music(recording, shared_data):
    signals = [recording(*item) for item in SPEECH] + [_music(shared_data, n) for n in MUSIC]
    ours, ref = [], []
    for y, sr in signals:
        S = np.abs(librosa.stft(y, n_fft=512, hop_length=128)) ** 2  # chroma_stft's way: power S
        for kwargs in (dict(y=y), dict(y=y, bins_per_octave=36), dict(S=S, bins_per_octave=12),
                       dict(y=y, n_fft=1024, hop_length=256, fmin=100.0, threshold=0.2,
                            resolution=0.02)):
            ours.append(estimate_tuning(sr=sr, **kwargs))
            ref.append(librosa.estimate_tuning(sr=sr, **kwargs))
    ours, ref = np.array(ours), np.array(ref)
    assert np.mean(ours == ref) >= 0.9
    assert np.abs(ref).max() >= 0.25  # not all near A440: the check can tell tunings apart


@pytest.mark.parametrize("cents", [-40, -10, 0, 25, 41])
def test_estimate_tuning_of_detuned_tones(cents):
    """A 440 Hz sine and a 220 Hz tone with octave partials, ``cents`` off A440's semitone grid:
    found within 2 and 5 cents (the bias of the parabolic peak on a 2048-point Hann window,
    largest for the low partial; librosa's estimate is the same)."""
    sr = 22050
    t = np.arange(sr) / sr
    f = 220.0 * 2 ** (cents / 1200)
    sine_ = np.sin(2 * np.pi * 2 * f * t).astype(np.float32)
    octaves = sum(np.sin(2 * np.pi * k * f * t) / k for k in (1, 2, 4, 8)).astype(np.float32)
    for y, tol in ((sine_, 0.02), (octaves, 0.05)):
        assert estimate_tuning(y, sr=sr) == pytest.approx(cents / 100, abs=tol)
        assert estimate_tuning(y, sr=sr) == librosa.estimate_tuning(y=y, sr=sr)


def test_piptrack_and_pitch_tuning_equal_librosa(recording, shared_data):
    for y, sr in (recording("emodb", "03a01Fa"), _music(shared_data, "party.mp3")):
        y = y[: 3 * sr]
        p, m = piptrack(y, sr=sr)
        p_ref, m_ref = librosa.piptrack(y=y, sr=sr)
        assert p.shape == p_ref.shape and p.dtype == p_ref.dtype == np.float32
        assert np.mean((p > 0) != (p_ref > 0)) < 1e-3
        both = (p > 0) & (p_ref > 0)
        np.testing.assert_allclose(p[both], p_ref[both], rtol=1e-6)
        np.testing.assert_allclose(m[both], m_ref[both], rtol=0, atol=1e-5 * m_ref.max())
        p, _ = piptrack(y, sr=sr, fmin=300.0, fmax=2000.0, threshold=0.3, ref=np.mean)
        p_ref, _ = librosa.piptrack(y=y, sr=sr, fmin=300.0, fmax=2000.0, threshold=0.3, ref=np.mean)
        assert np.mean((p > 0) != (p_ref > 0)) < 1e-3
        assert p[p > 0].min() >= 300.0 - sr / 2048 and p.max() < 2000.0 + sr / 2048  # +-1 bin
        freqs = p_ref[p_ref > 0]
        for kwargs in ({}, {"bins_per_octave": 36, "resolution": 0.05}):
            assert pitch_tuning(freqs, **kwargs) == librosa.pitch_tuning(freqs, **kwargs)


def test_tuning_of_a_batch_is_one_estimate_per_signal(recording, shared_data):
    y, sr = recording("emodb", "03a01Fa")
    m, _ = _music(shared_data, "test2.mp3")
    batch = np.stack([y, m[: len(y)], 0.5 * y])
    got = estimate_tuning(batch, sr=sr)
    assert got.shape == (3,)
    np.testing.assert_array_equal(got, [estimate_tuning(row, sr=sr) for row in batch])
    assert got[0] == got[2] != got[1]  # the gain does not matter; the other signal differs
    assert estimate_tuning(batch.reshape(3, 1, -1), sr=sr).shape == (3, 1)


def test_tuning_without_pitches_is_zero_with_a_warning():
    with pytest.warns(UserWarning, match="no spectral peak"):
        assert estimate_tuning(np.zeros(4096, np.float32), sr=8000) == 0.0
    with pytest.warns(UserWarning, match="no frequency above 0"):
        assert pitch_tuning([0.0, -3.0]) == 0.0


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda y: estimate_tuning(y, sr=8000, resolution=1.0), "resolution"),
        (lambda y: estimate_tuning(y, sr=8000, resolution=0), "resolution"),
        (lambda y: estimate_tuning(y, sr=8000, bins_per_octave=0), "bins_per_octave"),
        (lambda y: estimate_tuning(y, sr=8000, fmin=5000.0), r"fmin=5000.0.*sr / 2 = 4000"),
        (lambda y: estimate_tuning(y, sr=8000, threshold=-1), "threshold"),
        (lambda y: estimate_tuning(y, sr=8000, S=np.ones((129, 4))), "exactly one"),
        (lambda y: estimate_tuning(sr=8000), "exactly one"),
        (lambda y: estimate_tuning(S=np.ones(5), sr=8000), r"S must be .*\(5,\)"),
        (lambda y: piptrack(y, sr=8000, ref="max"), "ref"),
        (lambda y: estimate_tuning(y.astype(np.int16), sr=8000), "floating-point"),
        (lambda y: chroma_stft(y, sr=8000, n_chroma=0), "n_chroma"),
    ],
)
def test_bad_tuning_arguments_raise(call, match):
    y = sine(440.0, 8000, 0.25)
    with pytest.raises(ParameterError, match=match):
        call(y)


# ------------------------------------------------------------------------------ chroma_stft
CHROMA_CASES = [
    ("emodb", "03a01Fa", dict(sr=22050)),
    ("emodb", "16b03Wb", dict(sr=22050, n_fft=1024, hop_length=256, n_chroma=24, norm=2)),
    ("fsdd", "3_jackson_5", dict(sr=8000, n_fft=256, hop_length=80)),
    ("fsdd", "0_george_0", dict(sr=8000, n_fft=512, hop_length=100, win_length=400, window="hamming",
                                center=False, norm=None, octwidth=None, base_c=False)),
    ("fsdd", "5_lucas_20", dict(sr=8000, n_fft=256, hop_length=80, tuning=0.0)),
    ("emodb", "03a01Fa", dict(sr=22050, tuning=-0.3)),
]


@pytest.mark.parametrize(("corpus", "name", "params"), CHROMA_CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(CHROMA_CASES)])
def test_chroma_stft_equals_librosa(recording, corpus, name, params):
    y, sr = recording(corpus, name)
    assert sr == params["sr"]
    ours = chroma_stft(y, **params)  # both estimate the tuning unless it is given
    ref = librosa.feature.chroma_stft(y=y, **params)
    assert ours.dtype == ref.dtype == np.float32
    assert ours.shape == ref.shape
    scale = 1.0 if params.get("norm", np.inf) is not None else ref.max()
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5 * scale)


def test_chroma_stft_from_S_equals_librosa(recording):
    y, sr = recording("fsdd", "5_lucas_20")
    S = np.abs(librosa.stft(y, n_fft=512, hop_length=128)) ** 2
    np.testing.assert_allclose(chroma_stft(S=S, sr=sr), librosa.feature.chroma_stft(S=S, sr=sr),
                               rtol=0, atol=1e-5)
    np.testing.assert_allclose(chroma_stft(S=S, sr=sr, tuning=0.0),
                               librosa.feature.chroma_stft(S=S, sr=sr, tuning=0.0), rtol=0, atol=1e-5)
    np.testing.assert_allclose(chroma_stft(S=S, sr=sr), chroma_stft(y, sr=sr, n_fft=512, hop_length=128),
                               rtol=0, atol=1e-5)


def test_a440_lands_in_chroma_class_a():
    y = sine(440.0, 22050)
    C = chroma_stft(y, sr=22050)
    assert (C[:, 2:-2].argmax(axis=0) == 9).all()  # C, C#, D, ..., A is class 9
    C_a = chroma_stft(y, sr=22050, base_c=False)
    assert (C_a[:, 2:-2].argmax(axis=0) == 0).all()
    np.testing.assert_allclose(C.max(axis=0), 1.0, rtol=1e-6)  # norm=inf: every frame peaks at 1


def test_silent_frames_stay_zero():
    y = np.zeros(4096, np.float32)
    y[:2048] = sine(440.0, 22050)[:2048]
    C = chroma_stft(y, sr=22050, n_fft=512, hop_length=256)
    assert np.all(C[:, -4:] == 0.0) and np.all(np.isfinite(C))


# ---------------------------------------------------------------------------------------- cqt
# No resampling happens when hop_length is odd: then librosa and tympan run the same filters.
EXACT_CASES = [
    ("emodb", "03a01Fa", dict(sr=22050, hop_length=255, n_bins=60, fmin=55.0)),
    ("emodb", "16b03Wb", dict(sr=22050, hop_length=101, n_bins=48, bins_per_octave=24, fmin=110.0,
                              filter_scale=0.8, sparsity=0.0)),
    ("fsdd", "3_jackson_5", dict(sr=8000, hop_length=75, n_bins=40, fmin=110.0, pad_mode="reflect")),
    ("fsdd", "5_lucas_20", dict(sr=8000, hop_length=81, n_bins=30, fmin=65.0, norm=2, scale=False)),
]


@pytest.mark.parametrize(("corpus", "name", "params"), EXACT_CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(EXACT_CASES)])
def test_cqt_without_resampling_equals_librosa(recording, corpus, name, params):
    y, _ = recording(corpus, name)
    y = y[:20000]
    ours = cqt(y, **params)
    ref = librosa.cqt(y, tuning=0.0, **params)
    assert ours.dtype == ref.dtype == np.complex64
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=0, atol=1e-5 * np.abs(ref).max())


# With resampling: (corpus, file, params, minimum correlation of the dB arrays).
RESAMPLED_CASES = [
    ("emodb", "03a01Fa", dict(sr=22050), 0.999),
    ("emodb", "16b03Wb", dict(sr=22050, hop_length=256, n_bins=72, bins_per_octave=24, fmin=65.0), 0.999),
    ("fsdd", "0_george_0", dict(sr=8000, hop_length=64, n_bins=72), 0.999),
    ("fsdd", "5_lucas_20", dict(sr=8000, hop_length=80, n_bins=48, fmin=65.0), 0.999),
    # the worst FSDD file we found: quiet low bins (32-100 Hz) in the first 0.25 s differ by up
    # to 24 dB (leakage of the initial fricative, passed differently by the two low-passes)
    ("fsdd", "3_jackson_5", dict(sr=8000, hop_length=64, n_bins=72), 0.98),
]


@pytest.mark.parametrize(("corpus", "name", "params", "min_corr"), RESAMPLED_CASES,
                         ids=[f"{c[1]}-{i}" for i, c in enumerate(RESAMPLED_CASES)])
def test_cqt_with_resampling_agrees_with_librosa(recording, corpus, name, params, min_corr):
    y, _ = recording(corpus, name)
    ours, ref = cqt(y, **params), librosa.cqt(y, tuning=0.0, **params)
    assert ours.shape == ref.shape
    d_ours, d_ref = db(ours), db(ref)
    assert np.corrcoef(d_ours.ravel(), d_ref.ravel())[0, 1] >= min_corr
    strong = d_ref > -40.0
    assert np.abs(d_ours - d_ref)[strong].max() < 1.5


def music_like(sr: int = 22050, seconds: float = 3.0) -> np.ndarray:
    """Harmonic notes (8 partials) with 5.5 Hz vibrato and exponential decays (no music is among
    the shared recordings, so this stands in for one)."""
    t = np.arange(int(sr * seconds)) / sr
    y = np.zeros_like(t)
    for start, f0, decay in [(0.0, 110.0, 2.0), (0.5, 220.0, 1.2), (1.0, 277.18, 1.0),
                             (1.5, 329.63, 1.5), (2.0, 440.0, 1.0), (2.5, 659.26, 0.8)]:
        on = t >= start
        tt = t[on] - start
        phase = 2 * np.pi * np.cumsum(f0 * (1 + 0.004 * np.sin(2 * np.pi * 5.5 * tt))) / sr
        env = np.exp(-tt / decay) * np.minimum(1.0, tt / 0.01)
        for h in range(1, 9):
            y[on] += env * np.sin(h * phase) / h
    return (0.1 * y).astype(np.float32)


def test_cqt_of_music_like_signal_agrees_with_librosa():
    y = music_like()
    d_ours, d_ref = db(cqt(y, sr=22050)), db(librosa.cqt(y, sr=22050, tuning=0.0))
    assert np.corrcoef(d_ours.ravel(), d_ref.ravel())[0, 1] >= 0.999
    err = np.where(d_ref > -40.0, np.abs(d_ours - d_ref), 0.0)
    assert err.max() < 2.0  # in the first and last 4 frames: the signal starts and stops at full level,
    assert err[:, 4:-4].max() < 0.1  # a broadband step the two low-passes pass differently
    # the notes are where they should be: 110 Hz (A2) is bin 21 early on
    assert db(cqt(y, sr=22050))[:, 5:15].argmax(axis=0).tolist() == [21] * 10


@pytest.mark.parametrize(("sr", "hop_length", "n_bins", "bpo"), [(22050, 512, 84, 12), (8000, 64, 72, 12),
                                                                  (16000, 160, 252, 36)])
def test_a440_lands_in_its_cqt_bin(sr, hop_length, n_bins, bpo):
    C = np.abs(cqt(sine(440.0, sr), sr=sr, hop_length=hop_length, n_bins=n_bins, bins_per_octave=bpo))
    assert (C[:, 5:-5].argmax(axis=0) == A4_BIN * bpo // 12).all()
    assert constantq.cqt_frequencies(n_bins, bins_per_octave=bpo)[A4_BIN * bpo // 12] == pytest.approx(440.0)


def test_chroma_cqt_agrees_with_librosa_and_finds_a(recording):
    y, sr = recording("emodb", "03a01Fa")
    for tuning in (None, 0.0):  # librosa's default (estimated: -0.35 of a bin here), and A440
        ours = chroma_cqt(y, sr=sr, tuning=tuning)
        ref = librosa.feature.chroma_cqt(y=y, sr=sr, tuning=tuning)
        assert ours.shape == ref.shape and ours.dtype == np.float32
        assert np.corrcoef(ours.ravel(), ref.ravel())[0, 1] > 0.999
        assert np.percentile(np.abs(ours - ref), 99) < 0.02
    tuning = estimate_tuning(y, sr=sr, bins_per_octave=36)
    C = np.abs(cqt(y, sr=sr, n_bins=252, bins_per_octave=36, tuning=tuning))
    np.testing.assert_allclose(chroma_cqt(C=C), chroma_cqt(y, sr=sr), rtol=0, atol=1e-6)
    C0 = np.abs(cqt(y, sr=sr, n_bins=252, bins_per_octave=36))
    np.testing.assert_allclose(chroma_cqt(C=C0), ours, rtol=0, atol=1e-6)
    a = chroma_cqt(sine(440.0, 8000), sr=8000, hop_length=64, n_octaves=6)
    assert (a[:, 5:-5].argmax(axis=0) == 9).all()


# ---------------------------------------------------------- frames, batches, dtypes
@pytest.mark.parametrize("n", [1, 511, 512, 513, 3000])
def test_cqt_frame_count_is_n_frames(n):
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    for hop in (512, 64, 75):
        assert cqt(y, sr=8000, hop_length=hop, n_bins=60).shape == (60, n_frames(n, n_fft=2, hop_length=hop))


def test_batch_equals_single(recording):
    y, sr = recording("fsdd", "3_jackson_5")
    batch = np.stack([np.stack([y, 0.01 * y]), np.stack([y[::-1], y * 0])])  # (2, 2, n)
    params = dict(sr=sr, hop_length=64, n_bins=72)
    C = cqt(batch, **params)
    with pytest.warns(UserWarning, match="1 of 4 signals have no spectral peak"):  # the silent one
        K = chroma_stft(batch, sr=sr, n_fft=256, hop_length=64)  # each its own tuning estimate
    assert C.shape[:2] == K.shape[:2] == (2, 2)
    for i in range(2):
        for j in range(2):
            one = cqt(batch[i, j], **params)
            np.testing.assert_allclose(C[i, j], one, rtol=0, atol=1e-6 * max(np.abs(one).max(), 1e-30))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # the silent signal again
                one = chroma_stft(batch[i, j], sr=sr, n_fft=256, hop_length=64)
            np.testing.assert_allclose(K[i, j], one, rtol=0, atol=1e-6)


def test_dtypes_follow_the_input(recording):
    y, sr = recording("fsdd", "5_lucas_20")
    assert cqt(y, sr=sr, n_bins=60).dtype == np.complex64
    assert chroma_stft(y, sr=sr).dtype == np.float32
    assert chroma_cqt(y, sr=sr, n_octaves=6).dtype == np.float32
    y64 = y.astype(np.float64)
    assert cqt(y64, sr=sr, n_bins=60).dtype == np.complex128
    assert chroma_stft(y64, sr=sr).dtype == np.float64
    np.testing.assert_allclose(cqt(y64, sr=sr, n_bins=60), cqt(y, sr=sr, n_bins=60), rtol=0,
                               atol=1e-5 * np.abs(cqt(y, sr=sr, n_bins=60)).max())


# ------------------------------------------------------------------------------------ errors
@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda y: cqt(y, sr=8000), r"n_bins=84.*fmin=32.70.*sr=8000"),  # 84 bins from C1 pass 4 kHz
        (lambda y: cqt(y, sr=8000, n_bins=60, fmin=-1.0), "fmin"),
        (lambda y: cqt(y, sr=8000, n_bins=0), "n_bins"),
        (lambda y: cqt(y, sr=8000, n_bins=60, hop_length=0), "hop_length"),
        (lambda y: cqt(y, sr=8000, n_bins=60, bins_per_octave=0), "bins_per_octave"),
        (lambda y: cqt(y, sr=8000, n_bins=60, sparsity=1.0), "sparsity"),
        (lambda y: cqt(y, sr=8000, n_bins=60, filter_scale=0), "filter_scale"),
        (lambda y: cqt(y, sr=8000, n_bins=60, norm=-1), "norm"),
        (lambda y: cqt(y, sr=8000, n_bins=60, tuning=np.nan), "tuning"),
        (lambda y: cqt(y, sr=8000, n_bins=60, pad_mode="mean"), "pad_mode"),
        (lambda y: cqt(y, sr=8000, n_bins=60, window=np.ones(5)), "window"),
        (lambda y: cqt(y[:100], sr=8000, n_bins=60, pad_mode="reflect"), "pad_mode='reflect'"),
        (lambda y: cqt(y.astype(np.int16), sr=8000, n_bins=60), "floating-point"),
        (lambda y: chroma_stft(y, sr=8000, S=np.ones((129, 4))), "exactly one"),
        (lambda y: chroma_stft(sr=8000), "exactly one"),
        (lambda y: chroma_stft(y, sr=8000, norm="max"), "norm"),
        (lambda y: chroma_stft(y, sr=8000, n_chroma=0), "n_chroma"),
        (lambda y: chroma_stft(y, sr=8000, octwidth=0.0), "octwidth"),
        (lambda y: chroma_stft(y, sr=8000, hop_length=-1), "hop_length"),
        (lambda y: chroma_stft(S=np.ones((129, 4)) * 1j, sr=8000), "real"),
        (lambda y: chroma_cqt(y, sr=8000, bins_per_octave=30), "bins_per_octave"),
        (lambda y: chroma_cqt(y, sr=8000), r"n_bins=252"),  # 7 octaves from C1 pass 4 kHz
        (lambda y: chroma_cqt(sr=8000), "exactly one"),
        (lambda y: constantq.cq_to_chroma(84, bins_per_octave=18), "bins_per_octave"),
    ],
)
def test_bad_arguments_raise(call, match):
    y = sine(440.0, 8000, 0.25)
    with pytest.raises(ParameterError, match=match):
        call(y)
