"""tympan.dsp.spectrum: STFT/iSTFT, the whole-signal FFT and decibels.

Reference values come from librosa 0.11.  The issue asks for agreement with librosa 1.0, which
has not been released (0.11 is the newest version on the package index), so 0.11 is the
reference here; the parameter mapping is written out in each test (one dict passed to both).
"""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from tympan.dsp import (
    amplitude_to_db,
    db_to_amplitude,
    db_to_power,
    fft_spectrum,
    filters,
    istft,
    power_to_db,
    spectrogram,
    stft,
)
from tympan.dsp.metrics import snr_db
from tympan.errors import ParameterError

FAST = settings(max_examples=50, deadline=None)


@pytest.fixture(scope="module")
def speech(recording):
    """8001 samples of running speech from EMO-DB (22.05 kHz): loud from first to last sample.

    8001 % 256 = 65 and 8001 % 1024 = 833 keep the last sample off the far tail of its last
    frame's window for the hop = n_fft / 2 cases (see test_istft_edge_precision_by_length).
    """
    y, sr = recording("emodb", "03a01Fa")
    seg = y[12000:20001]
    assert np.sqrt(np.mean(seg[:200] ** 2)) > 1e-3 and np.sqrt(np.mean(seg[-200:] ** 2)) > 1e-3
    return seg, sr


# ----------------------------------------------------------------------------- known answers
@pytest.mark.parametrize(("sr", "n_fft", "k"), [(8000, 256, 20), (22050, 2048, 93), (16000, 512, 3)])
@pytest.mark.parametrize("center", [True, False])
def test_stft_sine_at_a_bin_frequency_lands_in_its_bin(sr, n_fft, k, center):
    tone_hz = k * sr / n_fft
    t = np.arange(sr // 2) / sr
    y = (0.5 * np.sin(2 * np.pi * tone_hz * t)).astype(np.float32)
    S = np.abs(stft(y, n_fft=n_fft, hop_length=n_fft // 4, center=center))
    freqs = filters.fft_frequencies(sr=sr, n_fft=n_fft)
    interior = S[:, 2:-2]  # frames that see only the tone (no edge padding)
    np.testing.assert_array_equal(freqs[interior.argmax(axis=0)], tone_hz)
    # a periodic Hann window of sum n_fft / 2 gives a peak of amplitude * n_fft / 4
    np.testing.assert_allclose(interior.max(axis=0), 0.5 * n_fft / 4, rtol=1e-4)


@pytest.mark.parametrize(("sr", "tone_hz"), [(8000, 440.0), (22050, 1000.0), (16000, 3.0)])
def test_fft_spectrum_of_full_scale_sine_peaks_at_n_over_2(sr, tone_hz):
    n = sr  # one second: 1 Hz bins, so every integer tone is on a bin
    y = np.sin(2 * np.pi * tone_hz * np.arange(n) / sr).astype(np.float32)
    spec = fft_spectrum(y, sr)
    assert spec.magnitude.dtype == np.float32
    assert spec.magnitude.shape == spec.frequencies.shape == (n // 2 + 1,)
    peak = spec.magnitude.argmax()
    assert spec.frequencies[peak] == tone_hz
    assert spec.magnitude[peak] == pytest.approx(n / 2, rel=1e-4)
    # leakage-free: everything else is float32 noise
    assert np.delete(spec.magnitude, peak).max() < 1e-5 * n


def test_fft_spectrum_options_and_batch():
    sr = 8000
    t = np.arange(4000) / sr
    y = np.stack([np.sin(2 * np.pi * f * t) for f in (500.0, 1000.0, 2000.0)])  # float64
    spec = fft_spectrum(y, sr, window="hann")
    assert spec.magnitude.dtype == np.float64 and spec.magnitude.shape == (3, 2001)
    np.testing.assert_array_equal(spec.frequencies[spec.magnitude.argmax(axis=-1)], [500.0, 1000.0, 2000.0])
    # Hann-tapered full-scale sine: coherent gain 1/2, so the peak is n/4
    np.testing.assert_allclose(spec.magnitude.max(axis=-1), 1000.0, rtol=1e-6)
    padded = fft_spectrum(y[0], sr, n_fft=8000)  # zero-padding to 1 Hz bins
    assert padded.magnitude.shape == (4001,)
    assert padded.frequencies[padded.magnitude.argmax()] == 500.0
    np.testing.assert_array_equal(fft_spectrum(y, sr).magnitude[1], fft_spectrum(y[1], sr).magnitude)


@pytest.mark.parametrize(("amin", "floor_db"), [(1e-10, -100.0), (1e-5, -50.0)])
def test_silence_sits_at_the_amin_floor(amin, floor_db):
    silence = np.zeros((40, 25), dtype=np.float32)
    db = power_to_db(silence, amin=amin)
    assert db.dtype == np.float32
    np.testing.assert_allclose(db, 10 * np.log10(amin), rtol=1e-6)
    assert db.max() == pytest.approx(floor_db)
    np.testing.assert_allclose(power_to_db(silence, amin=amin, top_db=None), floor_db, rtol=1e-6)
    # amplitude: 20 log10(amin)
    np.testing.assert_allclose(amplitude_to_db(silence, amin=amin), 20 * np.log10(amin), rtol=1e-6)


def test_power_to_db_known_values():
    S = np.array([[1.0, 10.0, 100.0, 1e-3]])
    np.testing.assert_allclose(power_to_db(S, top_db=None), [[0.0, 10.0, 20.0, -30.0]])
    np.testing.assert_allclose(power_to_db(S, ref=np.max, top_db=None), [[-20.0, -10.0, 0.0, -50.0]])
    np.testing.assert_allclose(power_to_db(S, ref=10.0, top_db=None), [[-10.0, 0.0, 10.0, -40.0]])
    np.testing.assert_allclose(power_to_db(S, top_db=25.0), [[0.0, 10.0, 20.0, -5.0]])
    np.testing.assert_allclose(db_to_power(power_to_db(S, top_db=None)), S, rtol=1e-12)
    np.testing.assert_allclose(db_to_amplitude(amplitude_to_db(S, top_db=None)), S, rtol=1e-12)


# ----------------------------------------------------------------------- librosa references
# One dict passed to both libraries (same names, same meaning).
STFT_PARAMS = {
    "2048-512": dict(
        n_fft=2048, hop_length=512, win_length=None, window="hann", center=True, pad_mode="constant"
    ),
    "512-100-nocenter": dict(
        n_fft=512, hop_length=100, win_length=None, window="hann", center=False, pad_mode="constant"
    ),
    "256-100-reflect": dict(
        n_fft=256, hop_length=100, win_length=None, window="hann", center=True, pad_mode="reflect"
    ),
    "1024-300-win800-hamming": dict(
        n_fft=1024, hop_length=300, win_length=800, window="hamming", center=True, pad_mode="constant"
    ),
}


@pytest.mark.parametrize("params", STFT_PARAMS.values(), ids=STFT_PARAMS.keys())
@pytest.mark.parametrize(("corpus", "name"), [("emodb", "03a01Fa"), ("fsdd", "5_lucas_20")])
def test_stft_equals_librosa(recording, corpus, name, params):
    y, _ = recording(corpus, name)
    ours = stft(y, **params)
    ref = librosa.stft(y, **params)
    assert ours.dtype == ref.dtype == np.complex64
    assert ours.shape == ref.shape
    np.testing.assert_allclose(ours, ref, rtol=1e-4, atol=1e-6 * np.abs(ref).max())


@pytest.mark.parametrize("params", STFT_PARAMS.values(), ids=STFT_PARAMS.keys())
def test_spectrogram_is_abs_stft_to_the_power(recording, params):
    y, _ = recording("fsdd", "3_jackson_5")
    X = np.abs(stft(y, **params))
    np.testing.assert_allclose(spectrogram(y, **params), X, rtol=1e-5, atol=1e-6 * X.max())
    np.testing.assert_allclose(spectrogram(y, **params, power=2.0), X**2, rtol=1e-5, atol=1e-6 * X.max() ** 2)
    ref, _ = librosa.core.spectrum._spectrogram(y=y, power=1.5, **params)
    np.testing.assert_allclose(spectrogram(y, **params, power=1.5), ref, rtol=1e-4, atol=1e-6 * ref.max())


@pytest.mark.parametrize(
    "params",
    [
        dict(n_fft=512, hop_length=128),
        dict(n_fft=256, hop_length=100, win_length=200),
        dict(n_fft=400, hop_length=160, center=False),
    ],
    ids=["512-128", "256-100-win200", "400-160-nocenter"],
)
def test_istft_equals_librosa(recording, params):
    y, _ = recording("fsdd", "3_jackson_5")
    S = stft(y, **params)
    for length in (None, len(y), len(y) - 37, len(y) + 50):
        ours = istft(S, **params, length=length)
        ref = librosa.istft(S, **params, length=length)
        assert ours.shape == ref.shape and ours.dtype == ref.dtype == np.float32
        np.testing.assert_allclose(ours, ref, atol=1e-6)


def test_amplitude_to_db_equals_librosa(recording):
    y, _ = recording("emodb", "03a01Fa")
    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=256))
    for kw in (dict(), dict(ref=np.max), dict(ref=0.5, amin=1e-4, top_db=60.0), dict(top_db=None)):
        np.testing.assert_allclose(amplitude_to_db(S, **kw), librosa.amplitude_to_db(S, **kw), atol=1e-4)


def test_power_to_db_equals_librosa(recording):
    y, _ = recording("emodb", "03a01Fa")
    S = np.abs(librosa.stft(y, n_fft=1024, hop_length=256)) ** 2
    for kw in (dict(), dict(ref=np.max), dict(ref=2.0, amin=1e-8, top_db=40.0), dict(top_db=None)):
        np.testing.assert_allclose(power_to_db(S, **kw), librosa.power_to_db(S, **kw), atol=1e-4)


# ------------------------------------------------------------------------------ round trips
@pytest.mark.parametrize("n_fft", [256, 512, 1024, 2048])
@pytest.mark.parametrize("hop_div", [2, 4])
def test_stft_istft_round_trip_float32(speech, n_fft, hop_div):
    y, _ = speech
    hop = n_fft // hop_div
    S = stft(y, n_fft=n_fft, hop_length=hop)
    out = istft(S, n_fft=n_fft, hop_length=hop, length=len(y))
    assert out.dtype == np.float32 and out.shape == y.shape
    assert snr_db(y, out) >= 100
    assert snr_db(y[:200], out[:200]) >= 100  # the edges too: no window-edge loss
    assert snr_db(y[-200:], out[-200:]) >= 100


@pytest.mark.parametrize(("n_fft", "hop"), [(256, 64), (512, 128)])
def test_stft_istft_round_trip_whole_8khz_recordings(recording, shared_data, n_fft, hop):
    """Whole recordings as read (quiet, untrimmed edges), the settings of benchmarks/inversion.py."""
    import soundfile as sf

    sentence, _ = sf.read(shared_data / "noizeus" / "clean" / "sp12.wav", dtype="float32")
    for y in (recording("fsdd", "5_lucas_20")[0], recording("fsdd", "0_george_0")[0], sentence):
        out = istft(stft(y, n_fft=n_fft, hop_length=hop), n_fft=n_fft, hop_length=hop, length=len(y))
        assert out.dtype == np.float32
        # measured: 140-144 dB over the whole signal and in its first and last 200 samples
        for part in (slice(None), slice(0, 200), slice(-200, None)):
            assert snr_db(y[part], out[part]) >= 100


@pytest.mark.parametrize("n_fft", [512, 2048])
def test_istft_edge_precision_by_length(recording, n_fft):
    """Where the >= 100 dB edge guarantee holds, over the residues ``n % hop`` of the length.

    With centre padding the last sample lies at offset ``n_fft / 2 + n % hop - 1`` of the last
    frame.  For hop = n_fft / 4 other frames cover it too and every length reconstructs to
    >= 100 dB.  For hop = n_fft / 2 it is covered by that one frame only, and its float32 error
    is amplified by one over the Hann window there: fine up to ``n % hop = hop / 2`` (checked
    here), down to ~90 dB in the last 200 samples as ``n % hop`` nears ``hop`` (n_fft = 2048;
    librosa 0.11 behaves the same).
    """
    y, _ = recording("emodb", "03a01Fa")
    cases = [
        (n_fft // 4, range(0, n_fft // 4, n_fft // 64)),  # every residue (sampled)
        (n_fft // 2, range(0, n_fft // 4 + 1, n_fft // 32)),  # residues up to hop / 2
    ]
    for hop, residues in cases:
        for r in residues:
            x = y[12000 : 12000 + 8 * n_fft + r]
            out = istft(stft(x, n_fft=n_fft, hop_length=hop), n_fft=n_fft, hop_length=hop, length=len(x))
            assert snr_db(x[-200:], out[-200:]) >= 100, f"hop={hop}, n % hop = {r}"
            assert snr_db(x[:200], out[:200]) >= 100, f"hop={hop}, n % hop = {r}"


@pytest.mark.parametrize(("n_fft", "hop"), [(512, 128), (2048, 1024), (400, 100)])
def test_stft_istft_round_trip_float64(speech, n_fft, hop):
    y = speech[0].astype(np.float64)
    S = stft(y, n_fft=n_fft, hop_length=hop)
    assert S.dtype == np.complex128
    out = istft(S, n_fft=n_fft, hop_length=hop, length=len(y))
    assert out.dtype == np.float64
    assert snr_db(y, out) >= 250
    assert snr_db(y[:200], out[:200]) >= 250
    assert snr_db(y[-200:], out[-200:]) >= 250


def test_istft_batched_round_trip(rng):
    y = rng.standard_normal((2, 3, 1001)).astype(np.float32)
    out = istft(stft(y, n_fft=128, hop_length=32), n_fft=128, hop_length=32, length=1001)
    assert out.shape == y.shape
    assert snr_db(y, out) >= 100


# --------------------------------------------------------------------------- batch == single
@pytest.fixture(scope="module")
def fsdd_batch(recording):
    clips = [recording("fsdd", name)[0][:2000] for name in ("3_jackson_5", "0_george_0", "5_lucas_20")]
    return np.stack(clips)


def test_stft_batch_equals_single(fsdd_batch):
    S = stft(fsdd_batch, n_fft=256, hop_length=100)
    assert S.shape[0] == 3
    for i in range(3):
        np.testing.assert_array_equal(S[i], stft(fsdd_batch[i], n_fft=256, hop_length=100))


def test_power_to_db_top_db_is_per_example(recording):
    y, _ = recording("emodb", "03a01Fa")
    P = np.abs(stft(y, n_fft=512, hop_length=128)) ** 2
    batch = np.stack([P, P * 1e-6])  # the second example is 60 dB quieter
    out = power_to_db(batch)  # top_db=80 per example
    for i in range(2):
        np.testing.assert_array_equal(out[i], power_to_db(batch[i]))
    # each example keeps its own 80 dB range below its own peak (amin low enough not to matter)
    wide = power_to_db(batch, amin=1e-20)
    np.testing.assert_allclose(wide.max(axis=(1, 2)) - wide.min(axis=(1, 2)), [80.0, 80.0], atol=1e-3)
    # and the test can tell: clipping over the whole batch (librosa on the stack) changes the quiet one
    over_batch = librosa.power_to_db(batch)
    assert np.abs(over_batch[1] - out[1]).max() > 10.0
    # ref=np.max is per example too: both examples peak at 0 dB
    rel = power_to_db(batch, ref=np.max)
    np.testing.assert_allclose(rel.max(axis=(1, 2)), 0.0, atol=1e-6)
    np.testing.assert_array_equal(rel[1], power_to_db(batch[1], ref=np.max))


def test_amplitude_to_db_is_per_example(recording):
    y, _ = recording("fsdd", "3_jackson_5")
    A = np.abs(stft(y, n_fft=256, hop_length=64))
    batch = np.stack([A, A * 1e-3])
    out = amplitude_to_db(batch, ref=np.max)
    for i in range(2):
        np.testing.assert_array_equal(out[i], amplitude_to_db(batch[i], ref=np.max))


def test_power_to_db_axis_selects_the_example(rng):
    spectra = rng.uniform(1e-6, 1.0, size=(4, 100)) * np.array([[1.0], [1e-4], [1e-8], [1.0]])
    out = power_to_db(spectra, axis=-1, top_db=20.0)  # a batch of four 1-D spectra
    for i in range(4):
        np.testing.assert_array_equal(out[i], power_to_db(spectra[i], top_db=20.0))


# ------------------------------------------------------------------------------- properties
@FAST
@given(
    hnp.arrays(
        np.float64,
        hnp.array_shapes(min_dims=1, max_dims=2, min_side=1, max_side=20),
        elements=st.floats(1e-12, 1e6, allow_nan=False, allow_infinity=False),
    ),
    st.sampled_from([None, 20.0, 80.0]),
    st.sampled_from([1.0, np.max]),
)
def test_power_to_db_keeps_order(S, top_db, ref):
    db = power_to_db(S, top_db=top_db, ref=ref)
    order = np.argsort(S, axis=None, kind="stable")
    assert np.all(np.diff(db.ravel()[order]) >= 0)


@FAST
@given(
    hnp.arrays(
        np.float32,
        hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=20),
        elements=st.floats(2.0**-30, 2.0**14, allow_nan=False, allow_infinity=False, width=32),
    )
)
def test_power_to_db_keeps_order_float32(S):
    db = power_to_db(S, top_db=None)
    assert db.dtype == np.float32
    order = np.argsort(S, axis=None, kind="stable")
    assert np.all(np.diff(db.ravel()[order]) >= 0)


# ------------------------------------------------------------------------------------ dtype
@pytest.mark.parametrize(("dtype", "ctype"), [(np.float32, np.complex64), (np.float64, np.complex128)])
def test_dtypes_are_kept(rng, dtype, ctype):
    y = rng.standard_normal(3000).astype(dtype)
    S = stft(y, n_fft=256, hop_length=64)
    assert S.dtype == ctype
    assert istft(S, n_fft=256, hop_length=64).dtype == dtype
    assert spectrogram(y, n_fft=256, hop_length=64).dtype == dtype
    P = np.abs(S) ** 2
    assert power_to_db(P).dtype == dtype
    assert amplitude_to_db(np.abs(S)).dtype == dtype
    assert db_to_power(power_to_db(P)).dtype == dtype
    assert db_to_amplitude(amplitude_to_db(np.abs(S))).dtype == dtype
    assert fft_spectrum(y, 8000).magnitude.dtype == dtype


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("y", "kwargs", "match"),
    [
        (np.zeros(4000, np.float32), dict(hop_length=0), "hop_length"),
        (np.zeros(4000, np.float32), dict(hop_length=-3), "hop_length"),
        (np.zeros(4000, np.float32), dict(hop_length=2.5), "hop_length"),
        (np.zeros(4000, np.float32), dict(n_fft=-256), "n_fft"),
        (np.zeros(4000, np.float32), dict(n_fft=0), "n_fft"),
        (np.zeros(4000, np.float32), dict(n_fft=256, win_length=300), "win_length"),
        (np.zeros(100, np.float32), dict(n_fft=256, center=False), "n_fft"),
        (np.zeros(4000, np.int16), dict(n_fft=256), "floating-point"),
        (np.array([0.0, np.nan] * 2000, np.float32), dict(n_fft=256), "finite"),
        (np.array([0.0, np.inf] * 2000, np.float32), dict(n_fft=256), "finite"),
        (np.zeros(4000, np.float32), dict(n_fft=256, pad_mode="mirror"), "pad_mode"),
        (np.zeros(4000, np.float32), dict(n_fft=256, window="no-such-window"), "window"),
        (np.zeros(4000, np.float32), dict(n_fft=256, window=np.ones(100)), "window"),
        ([0.0] * 4000, dict(n_fft=256), "numpy array"),
    ],
)
def test_stft_errors_name_the_parameter(y, kwargs, match):
    with pytest.raises(ParameterError, match=match):
        stft(y, **kwargs)


def test_istft_errors_name_the_parameter():
    S = stft(np.zeros(2000, np.float32), n_fft=256, hop_length=64)
    with pytest.raises(ParameterError, match="complex"):
        istft(np.abs(S))
    with pytest.raises(ParameterError, match="n_fft"):
        istft(S, n_fft=512)
    with pytest.raises(ParameterError, match="hop_length"):
        istft(S, hop_length=0)
    with pytest.raises(ParameterError, match="length"):
        istft(S, hop_length=64, length=0)


def test_spectrogram_errors():
    y = np.zeros(2000, np.float32)
    with pytest.raises(ParameterError, match="either y or S"):
        spectrogram(y, S=np.zeros((129, 10)))
    with pytest.raises(ParameterError, match="y or a spectrogram S"):
        spectrogram()
    with pytest.raises(ParameterError, match="power"):
        spectrogram(y, n_fft=256, power=0.0)


def test_decibel_errors_name_the_parameter():
    S = np.ones((10, 10))
    with pytest.raises(ParameterError, match="amin"):
        power_to_db(S, amin=0.0)
    with pytest.raises(ParameterError, match="top_db"):
        power_to_db(S, top_db=-1.0)
    with pytest.raises(ParameterError, match="axis"):
        power_to_db(S, axis=2)
    with pytest.raises(ParameterError, match="real"):
        power_to_db(S.astype(np.complex64))
    with pytest.raises(ParameterError, match="amin"):
        amplitude_to_db(S, amin=-1.0)


def test_fft_spectrum_errors_name_the_parameter():
    with pytest.raises(ParameterError, match="sr"):
        fft_spectrum(np.zeros(100, np.float32), 0)
    with pytest.raises(ParameterError, match="n_fft"):
        fft_spectrum(np.zeros(100, np.float32), 8000, n_fft=0)
    with pytest.raises(ParameterError, match="floating-point"):
        fft_spectrum(np.zeros(100, np.int32), 8000)
    with pytest.raises(ParameterError, match="empty"):
        fft_spectrum(np.zeros(0, np.float32), 8000)
