"""tympan.plot waveform and spectrum: axes in seconds and Hz, the envelope path, exact values."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure

from tympan import dsp
from tympan.errors import ParameterError
from tympan.plot import plot_spectrum, plot_waveform
from tympan.plot.signal import minmax_envelope


def test_waveform_of_a_digit_is_a_line_through_every_sample_from_0_to_its_duration(digit):
    y, sr = digit
    fig = plot_waveform(y, sr, envelope=False)
    ax = fig.axes[0]
    assert isinstance(fig, Figure)
    assert ax.get_title().startswith("waveform (0.") and ax.get_xlabel() == "time (s)"
    assert ax.get_ylabel() == "amplitude"
    assert ax.get_xlim() == pytest.approx((0.0, len(y) / sr))
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_ydata(), y)
    np.testing.assert_allclose(line.get_xdata()[-1], (len(y) - 1) / sr)
    assert max(ax.get_ylim()) >= np.abs(y).max()


def test_long_input_is_drawn_as_its_min_max_envelope(speech):
    y, sr = speech  # 44100 samples: far more than 8 per pixel of an 8-inch figure
    ax = plot_waveform(y, sr).axes[0]
    assert not ax.lines
    (fill,) = [c for c in ax.collections if isinstance(c, PolyCollection)]
    vertices = fill.get_paths()[0].vertices
    # the envelope reaches the true extremes of the signal and spans the whole clip
    assert vertices[:, 1].max() == pytest.approx(y.max()) and vertices[:, 1].min() == pytest.approx(y.min())
    assert ax.get_xlim() == pytest.approx((0.0, 2.0))
    # and a short clip gets the line without being asked
    assert plot_waveform(y[:1000], sr).axes[0].lines


def test_minmax_envelope_columns_overlap_and_cover_every_sample(rng):
    y = rng.standard_normal(1003).astype(np.float32)
    centres, lo, hi = minmax_envelope(y, 10)
    assert len(centres) == len(lo) == len(hi) == 10
    assert lo.min() == y.min() and hi.max() == y.max()
    # each column includes the first sample of the next: no gap between neighbours
    starts = (np.arange(10) * 1003) // 10
    assert np.all(hi[:-1] >= y[starts[1:]]) and np.all(lo[:-1] <= y[starts[1:]])


def test_ax_is_honoured_and_stereo_is_averaged(digit):
    y, sr = digit
    fig = Figure()
    ax = fig.add_subplot(2, 1, 2)
    stereo = np.stack([y, np.zeros_like(y)])
    assert plot_waveform(stereo, sr, envelope=False, ax=ax, title="mine") is fig
    assert ax.get_title() == "mine" and len(fig.axes) == 1
    np.testing.assert_allclose(ax.lines[0].get_ydata(), y / 2, atol=1e-7)


def test_spectrum_draws_exactly_the_fft_feature_up_to_nyquist(digit):
    y, sr = digit
    ax = plot_spectrum(y, sr).axes[0]
    (line,) = ax.lines
    np.testing.assert_array_equal(line.get_ydata(), dsp.fft_features(y, sr))
    np.testing.assert_array_equal(line.get_xdata(), dsp.fft_frequencies_kept(sr=sr, n_fft=len(y)))
    assert ax.get_xlim() == pytest.approx((0.0, sr / 2))
    assert ax.get_xlabel() == "frequency (Hz)" and ax.get_ylabel() == "magnitude (dB re peak)"
    assert line.get_ydata().max() == 0.0  # dB re the clip's peak
    # the loudest frequency of a spoken digit lies in the voice range
    assert 80 < line.get_xdata()[line.get_ydata().argmax()] < 1000


def test_spectrum_options_log_axis_linear_magnitude_and_fmax(digit):
    y, sr = digit
    ax = plot_spectrum(y, sr, scale="log", db=False, normalize=None, fmax=2000.0, n_fft=4096).axes[0]
    freqs = ax.lines[0].get_xdata()
    assert ax.get_xscale() == "log" and freqs[0] > 0
    assert ax.get_xlim() == pytest.approx((freqs[0], freqs[-1]))
    assert freqs[-1] <= 2000.0 and ax.get_ylabel() == "magnitude |FFT|"
    np.testing.assert_array_equal(
        ax.lines[0].get_ydata(),
        dsp.fft_features(y, sr, n_fft=4096, fmax=2000.0, scale="linear", normalize=None)[1:])
    assert len(plot_spectrum(y, sr, n_bins=64).axes[0].lines[0].get_xdata()) == 64


def test_errors_name_the_parameter(digit):
    y, sr = digit
    with pytest.raises(ParameterError, match="scale"):
        plot_spectrum(y, sr, scale="mel")
    with pytest.raises(ParameterError, match="sr"):
        plot_waveform(y, 0)
    with pytest.raises(ParameterError, match="floating-point"):
        plot_waveform(np.zeros(100, dtype=np.int16), sr)
    with pytest.raises(ParameterError, match=r"\(channels, samples\)"):
        plot_waveform(np.zeros((2, 2, 100), dtype=np.float32), sr)
    with pytest.raises(ParameterError, match="at least one sample"):
        plot_spectrum(np.zeros(0, dtype=np.float32), sr)
    with pytest.raises(ParameterError, match="ax must be a matplotlib Axes"):
        plot_waveform(y, sr, ax="left")
