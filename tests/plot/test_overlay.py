"""tympan.plot overlays: segments over the waveform or spectrogram, a prediction timeline."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

from tympan.errors import ParameterError
from tympan.pipeline import Prediction, Segment
from tympan.plot import SEGMENT_COLORS, plot_prediction, plot_segments
from tympan.plot.overlay import as_intervals, label_colors

# 03a01Fa (EMO-DB) by ear and by its lablaut file: speech from about 0.08 s to 1.84 s
SEGMENTS = [(0.0, 0.08, "pause"), (0.08, 0.14, "consonant"), (0.14, 0.24, "vowel"),
            (0.24, 0.35, "consonant"), (0.35, 0.43, "vowel"), (1.84, 2.0, "pause")]


def _bars(ax):
    """``{colour hex: [(start, width), ...]}`` of the broken_barh collections on ``ax``."""
    from matplotlib.collections import PolyCollection

    out = {}
    for c in ax.collections:
        if isinstance(c, PolyCollection) and len(c.get_facecolors()):
            spans = [(p.vertices[:, 0].min(), np.ptp(p.vertices[:, 0])) for p in c.get_paths()]
            out.setdefault(to_hex(c.get_facecolors()[0], keep_alpha=False), []).extend(spans)
    return out


def test_segments_over_the_waveform_one_colour_per_label_and_a_legend(speech):
    y, sr = speech
    ax = plot_segments(y, sr, SEGMENTS).axes[0]
    assert ax.get_title() == "segments (6)" and ax.get_xlim() == pytest.approx((0.0, 2.0))
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert legend == ["pause", "consonant", "vowel"]
    bars = _bars(ax)
    vowels = bars[to_hex(SEGMENT_COLORS["vowel"])]
    assert sorted((round(s, 3), round(w, 3)) for s, w in vowels) == [(0.14, 0.1), (0.35, 0.08)]
    assert len(bars[to_hex(SEGMENT_COLORS["pause"])]) == 2


def test_segments_over_the_spectrogram_sit_in_a_band_above_the_top_frequency(speech):
    y, sr = speech
    fig = plot_segments(y, sr, SEGMENTS, on="spectrogram", title="phones")
    ax, cax = fig.axes
    assert ax.get_title() == "phones" and cax.get_ylabel() == "dB"
    top = ax.get_ylim()[1]
    assert top > sr / 2 and max(ax.get_yticks()) <= sr / 2  # room above the data, no tick there
    assert sum(len(v) for v in _bars(ax).values()) == len(SEGMENTS)


def test_segments_accept_objects_and_custom_colours(digit):
    y, sr = digit
    segs = [Segment(0.0, 0.2, "speech", 1.0, ()), Segment(0.2, 0.45, "noise", 1.0, ())]
    ax = plot_segments(y, sr, segs, colors={"speech": "#000000"}).axes[0]
    bars = _bars(ax)
    assert bars["#000000"] == [pytest.approx((0.0, 0.2))]
    assert label_colors(["a", "b", "vowel", "a"]) == {"a": "#1f77b4", "b": "#ff7f0e",
                                                       "vowel": SEGMENT_COLORS["vowel"]}


def test_bad_segments_are_refused():
    with pytest.raises(ParameterError, match=r"segments\[1\] must have 0 <= start < end"):
        as_intervals([(0.0, 0.1, "a"), (0.3, 0.2, "b")])
    with pytest.raises(ParameterError, match=r"segments\[0\] must be \(start_s, end_s, label\)"):
        as_intervals([(0.0, "x")])
    with pytest.raises(ParameterError, match="segments must be a list"):
        as_intervals("pause")


def test_prediction_timeline_over_the_spectrogram(digit):
    y, sr = digit
    long = np.concatenate([y, np.zeros(4000, np.float32), y])  # 1.4 s
    windows = tuple(Segment(s, s + 0.5, label, p, ()) for s, label, p in
                    [(0.0, "3", 0.9), (0.25, "3", 0.6), (0.5, "8", 0.4), (0.75, "3", 0.8),
                     (0.9, "3", 0.95)])
    prediction = Prediction("long.wav", "3", 0.81, {"3": 0.81, "8": 0.19}, len(long) / sr, windows)
    fig = plot_prediction(long, sr, prediction)
    ax, cax = fig.axes
    assert ax.get_title() == "prediction: 3 (p = 0.81, 5 windows)"
    assert ax.get_xlim() == pytest.approx((0.0, len(long) / sr)) and cax.get_ylabel() == "dB"
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["3", "8"]
    assert sorted(t.get_text() for t in ax.texts) == ["3", "3", "3", "3", "8"]
    # overlapping windows take rows: the half-overlapping ones alternate between two, and the
    # one at 0.9 s overlaps both
    assert len({round(t.get_position()[1], 6) for t in ax.texts}) == 3
    assert ax.get_ylim()[1] > sr / 2


def test_prediction_must_be_a_prediction(digit):
    y, sr = digit
    with pytest.raises(ParameterError, match=r"tympan\.pipeline\.Prediction"):
        plot_prediction(y, sr, {"label": "3"})
