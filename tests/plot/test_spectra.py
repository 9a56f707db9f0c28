"""tympan.plot time-frequency figures: true axes (s, Hz, mel, notes, pitch classes), dB colour
bars, and cell values equal to tympan.dsp's."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure

from tympan import dsp
from tympan.errors import ParameterError
from tympan.plot import (
    plot_chroma,
    plot_cqt,
    plot_mel,
    plot_mfcc,
    plot_scalogram,
    plot_spectrogram,
)


def _mesh(ax) -> np.ndarray:
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    return np.asarray(mesh.get_array())


def _check_common(fig, y, sr, *, colorbar_label):
    """One plot axes with time from 0 to the duration, plus one colour bar with its label."""
    ax, cax = fig.axes
    assert ax.get_xlabel() == "time (s)"
    assert ax.get_xlim() == pytest.approx((0.0, len(y) / sr))
    assert cax.get_ylabel() == colorbar_label
    return ax


def test_spectrogram_axes_and_values(digit):
    y, sr = digit
    fig = plot_spectrogram(y, sr)  # defaults at 8 kHz: n_fft 256, hop 64
    ax = _check_common(fig, y, sr, colorbar_label="dB")
    assert ax.get_title() == "spectrogram" and ax.get_ylabel() == "frequency (Hz)"
    assert ax.get_ylim() == pytest.approx((0.0, sr / 2))
    S = dsp.spectrogram(y, n_fft=256, hop_length=64, power=1.0)
    np.testing.assert_allclose(_mesh(ax), dsp.amplitude_to_db(S, ref=np.max), atol=1e-5)
    assert _mesh(ax).max() == 0.0 and _mesh(ax).min() >= -80.0


def test_spectrogram_log_frequency_axis_drops_the_dc_row(digit):
    y, sr = digit
    ax = plot_spectrogram(y, sr, scale="log", n_fft=512, hop_length=128).axes[0]
    assert ax.get_yscale() == "log"
    assert ax.get_ylim() == pytest.approx((sr / 512 / 2, sr / 2))
    assert _mesh(ax).shape == (256, 1 + len(y) // 128)


def test_mel_axis_is_in_hz_on_a_mel_scale_up_to_fmax(speech):
    y, sr = speech
    fig = plot_mel(y, sr, n_mels=40, fmax=8000.0, title="mel of speech")
    ax = _check_common(fig, y, sr, colorbar_label="dB")
    assert ax.get_title() == "mel of speech" and ax.get_ylabel() == "frequency (Hz), mel scale"
    assert ax.get_ylim() == pytest.approx((0.0, 8000.0))
    ticks = ax.get_yticks()
    assert ticks[0] == 0 and ticks[-1] == 8000 and len(ticks) >= 5
    # ticks evenly spaced in mel (up to their rounding to 2 digits in Hz), so wider apart in Hz
    # higher up
    mel_steps = np.diff(dsp.filters.hz_to_mel(ticks))
    np.testing.assert_allclose(mel_steps, mel_steps.mean(), rtol=0.1)
    assert np.diff(ticks)[-1] > 4 * np.diff(ticks)[0]
    M = dsp.melspectrogram(y, sr=sr, n_fft=1024, hop_length=256, n_mels=40, fmax=8000.0)
    np.testing.assert_allclose(_mesh(ax), dsp.power_to_db(M, ref=np.max), atol=1e-4)


def test_mfcc_rows_are_the_coefficients(digit):
    y, sr = digit
    ax = _check_common(plot_mfcc(y, sr, n_mfcc=13), y, sr, colorbar_label="MFCC value")
    assert ax.get_ylim() == (-0.5, 12.5) and ax.get_ylabel() == "MFCC coefficient"
    np.testing.assert_allclose(_mesh(ax), dsp.mfcc(y, sr=sr, n_mfcc=13, n_fft=256, hop_length=64,
                                                   n_mels=64), atol=1e-4)


@pytest.mark.parametrize("method", ["stft", "cqt"])
def test_chroma_rows_are_named_pitch_classes(speech, method):
    y, sr = speech
    ax = _check_common(plot_chroma(y, sr, method=method), y, sr, colorbar_label="relative energy")
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
    assert ax.get_title() == f"chroma ({method})" and _mesh(ax).max() == pytest.approx(1.0)


def test_chroma_of_a_sung_a4_lights_up_a(digit):
    sr = 8000
    t = np.arange(sr) / sr
    tone = (0.5 * np.sin(2 * np.pi * 440.0 * t)).astype(np.float32)
    values = _mesh(plot_chroma(tone, sr).axes[0])
    assert np.bincount(values.argmax(axis=0)).argmax() == 9  # row 9 is A


def test_cqt_has_note_names_from_fmin(digit):
    y, sr = digit
    fig = plot_cqt(y, sr)
    ax = _check_common(fig, y, sr, colorbar_label="dB")
    assert ax.get_yscale() == "log" and ax.get_ylabel() == "note (12 bins per octave)"
    names = [t.get_text() for t in ax.get_yticklabels()]
    assert names == ["C1", "C2", "C3", "C4", "C5", "C6"]  # 6 whole octaves below 4 kHz
    assert _mesh(ax).shape[0] == 72 and "72 bins from C1" in ax.get_title()
    lo, hi = ax.get_ylim()
    assert lo < dsp.constantq.C1_HZ < lo * 2 ** (1 / 12) and hi < sr / 2
    # a narrow range names every note
    few = plot_cqt(y, sr, fmin=220.0, n_bins=12).axes[0]
    assert [t.get_text() for t in few.get_yticklabels()][:3] == ["A3", "A#3", "B3"]


def test_scalogram_log_frequency_axis(digit):
    y, sr = digit
    ax = _check_common(plot_scalogram(y, sr, n_bins=24, fmin=100.0), y, sr, colorbar_label="dB")
    freqs = dsp.scalogram_frequencies(sr=sr, fmin=100.0, n_bins=24)
    lo, hi = ax.get_ylim()
    assert ax.get_yscale() == "log" and lo < 100.0 < hi and hi > sr / 2 * 0.99
    assert _mesh(ax).shape == (24, 1 + len(y) // 64) and len(freqs) == 24


def test_ax_is_honoured(digit):
    y, sr = digit
    fig = Figure()
    left, right = fig.subplots(1, 2)
    assert plot_mel(y, sr, ax=right) is fig
    assert right.collections and not left.collections


def test_errors_name_the_parameter(digit):
    y, sr = digit
    with pytest.raises(ParameterError, match="scale"):
        plot_spectrogram(y, sr, scale="mel")
    with pytest.raises(ParameterError, match="method"):
        plot_chroma(y, sr, method="fft")
    with pytest.raises(ParameterError, match="n_fft"):
        plot_spectrogram(y, sr, n_fft=0)
    with pytest.raises(ParameterError, match="Nyquist"):
        plot_cqt(y, sr, n_bins=96)
