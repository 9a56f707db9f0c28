"""tympan.dsp.frames: the one frame-count formula, framing views and overlap-add."""

from __future__ import annotations

import librosa
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tympan.dsp import frame, n_frames, stft
from tympan.dsp.frames import overlap_add, pad_center
from tympan.errors import ParameterError

FAST = settings(max_examples=50, deadline=None)


# ------------------------------------------------------------------------------ known answers
@pytest.mark.parametrize(
    ("n", "n_fft", "hop", "center", "expected"),
    [
        (22050, 2048, 512, True, 44),  # librosa: 1 + 22050 // 512
        (22050, 2048, 512, False, 40),  # 1 + (22050 - 2048) // 512
        (2048, 2048, 512, False, 1),
        (4000, 256, 100, True, 41),
        (4000, 256, 100, False, 38),
    ],
)
def test_n_frames_known_values(n, n_fft, hop, center, expected):
    assert n_frames(n, n_fft=n_fft, hop_length=hop, center=center) == expected


def test_frame_equals_librosa_frame(rng):
    y = rng.standard_normal(1003)
    for length, hop in [(10, 3), (16, 16), (5, 7), (1003, 1), (256, 100)]:
        np.testing.assert_array_equal(
            frame(y, frame_length=length, hop_length=hop),
            librosa.util.frame(y, frame_length=length, hop_length=hop),
        )


def test_frame_is_a_readonly_view(rng):
    y = rng.standard_normal(500)
    f = frame(y, frame_length=64, hop_length=16)
    assert np.shares_memory(f, y)
    assert not f.flags.writeable


def test_frame_batched_equals_single(rng):
    y = rng.standard_normal((3, 400)).astype(np.float32)
    f = frame(y, frame_length=50, hop_length=30)
    assert f.shape == (3, 50, n_frames(400, n_fft=50, hop_length=30, center=False))
    for i in range(3):
        np.testing.assert_array_equal(f[i], frame(y[i], frame_length=50, hop_length=30))


def test_pad_center_known_answer():
    np.testing.assert_array_equal(pad_center(np.array([1.0, 2.0, 3.0]), 7), [0, 0, 1, 2, 3, 0, 0])
    np.testing.assert_array_equal(pad_center(np.array([1.0, 2.0]), 5), [0, 1, 2, 0, 0])


def test_overlap_add_known_answer():
    frames = np.ones((3, 4))  # (n_frames, frame_length)
    np.testing.assert_array_equal(overlap_add(frames, hop_length=2), [1, 1, 2, 2, 2, 2, 1, 1])


# ------------------------------------------------------------------------------- properties
@FAST
@given(
    n=st.integers(1, 400),
    n_fft=st.integers(1, 128),
    hop=st.integers(1, 64),
    center=st.booleans(),
)
def test_n_frames_matches_stft_output(n, n_fft, hop, center):
    y = np.linspace(-0.5, 0.5, n, dtype=np.float32)
    if not center and n < n_fft:
        with pytest.raises(ParameterError, match="n_fft"):
            n_frames(n, n_fft=n_fft, hop_length=hop, center=center)
        with pytest.raises(ParameterError, match="n_fft"):
            stft(y, n_fft=n_fft, hop_length=hop, center=center)
        return
    count = n_frames(n, n_fft=n_fft, hop_length=hop, center=center)
    S = stft(y, n_fft=n_fft, hop_length=hop, center=center)
    assert S.shape == (1 + n_fft // 2, count)


@FAST
@given(n=st.integers(1, 300), length=st.integers(1, 64), hop=st.integers(1, 40))
def test_frame_shape_and_content_match_n_frames(n, length, hop):
    y = np.arange(n, dtype=np.float64)
    if n < length:
        with pytest.raises(ParameterError):
            frame(y, frame_length=length, hop_length=hop)
        return
    f = frame(y, frame_length=length, hop_length=hop)
    count = n_frames(n, n_fft=length, hop_length=hop, center=False)
    assert f.shape == (length, count)
    # frame t holds y[t * hop : t * hop + length]
    np.testing.assert_array_equal(f[0], np.arange(count) * hop)
    np.testing.assert_array_equal(f[:, -1], y[(count - 1) * hop : (count - 1) * hop + length])


@FAST
@given(n=st.integers(1, 300), length=st.integers(1, 50), seed=st.integers(0, 2**16))
def test_overlap_add_of_rectangular_frames_reproduces_the_signal(n, length, seed):
    if n < length:
        n = length
    y = np.random.default_rng(seed).standard_normal(n)
    frames = np.swapaxes(frame(y, frame_length=length, hop_length=length), -1, -2)
    out = overlap_add(frames, hop_length=length)
    covered = length * n_frames(n, n_fft=length, hop_length=length, center=False)
    assert out.shape == (covered,)
    np.testing.assert_array_equal(out, y[:covered])


@FAST
@given(
    count=st.integers(1, 12),
    length=st.integers(1, 40),
    hop=st.integers(1, 40),
    seed=st.integers(0, 2**16),
)
def test_overlap_add_equals_a_plain_loop(count, length, hop, seed):
    frames = np.random.default_rng(seed).standard_normal((2, count, length))
    expected = np.zeros((2, length + hop * (count - 1)))
    for t in range(count):
        expected[:, t * hop : t * hop + length] += frames[:, t]
    np.testing.assert_allclose(overlap_add(frames, hop_length=hop), expected, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (dict(n_samples=100, n_fft=16, hop_length=0), "hop_length"),
        (dict(n_samples=100, n_fft=-16, hop_length=4), "n_fft"),
        (dict(n_samples=-1, n_fft=16, hop_length=4), "n_samples"),
        (dict(n_samples=10, n_fft=16, hop_length=4, center=False), "n_fft"),
        (dict(n_samples=100, n_fft=16.0, hop_length=4), "n_fft"),
    ],
)
def test_n_frames_errors_name_the_parameter(kwargs, match):
    n = kwargs.pop("n_samples")
    with pytest.raises(ParameterError, match=match):
        n_frames(n, **kwargs)


def test_frame_errors_name_the_parameter():
    y = np.zeros(100)
    with pytest.raises(ParameterError, match="hop_length"):
        frame(y, frame_length=10, hop_length=0)
    with pytest.raises(ParameterError, match="frame_length"):
        frame(y, frame_length=0, hop_length=1)
    with pytest.raises(ParameterError, match="at least one dimension"):
        frame(np.float64(1.0), frame_length=1, hop_length=1)


# frame() lets n_frames() report a too-short signal, whose message names n_fft, not frame().
def test_frame_too_short_names_frame_length():
    with pytest.raises(ParameterError, match="frame_length"):
        frame(np.zeros(5), frame_length=10, hop_length=1)
