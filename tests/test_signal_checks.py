"""The one policy for empty, short, silent, non-finite and out-of-range signals."""

import numpy as np
import pytest

from tympan.errors import AudioIOError, InputWarning, ParameterError
from tympan.signal_checks import MAX_PEAK, SILENCE_PEAK, check_signal, non_finite_error, signal_flags


def test_speech_like_signal_has_no_flags(recwarn):
    y = 0.3 * np.sin(2 * np.pi * 440 * np.arange(8000) / 8000)
    assert check_signal(y, sr=8000, source="a.wav", min_samples=512) == []
    assert not [w for w in recwarn if issubclass(w.category, InputWarning)]


@pytest.mark.parametrize("y", [np.zeros(800), np.full(800, 0.25), np.full(800, -0.7) + 1e-5,
                               SILENCE_PEAK * np.sign(np.sin(np.arange(800.0)))])
def test_silence_and_dc_warn_and_are_flagged(y):
    with pytest.warns(InputWarning, match=r"'quiet\.wav' is silent"):
        assert check_signal(y, sr=8000, source="quiet.wav") == ["silent"]


def test_just_above_silence_is_not_silent():
    y = 3 * SILENCE_PEAK * np.sign(np.sin(np.arange(800.0)))
    assert signal_flags(y) == []


def test_too_short_names_the_window():
    y = 0.5 * np.sin(np.arange(10.0))
    with pytest.warns(InputWarning, match=r"'s\.wav' has 10 sample\(s\) \(0\.001 s\), fewer than .* 512"):
        assert check_signal(y, sr=8000, source="s.wav", min_samples=512) == ["too_short"]


def test_beyond_full_scale_warns_and_huge_peaks_are_refused():
    with pytest.warns(InputWarning, match="peaks at 2"):
        assert check_signal(np.array([0.0, 2.0, -1.0]), source="f.wav") == ["beyond_full_scale"]
    with pytest.raises(AudioIOError, match=r"'f\.wav'.*samples reach 1e\+30"):
        check_signal(np.array([0.0, 1e30]), source="f.wav", from_file=True)
    with pytest.raises(ParameterError, match="samples reach"):
        check_signal(np.array([0.0, 10 * MAX_PEAK]))


def test_empty_is_an_error_naming_the_source():
    with pytest.raises(AudioIOError, match=r"'e\.wav': it holds no audio \(0 samples\)"):
        check_signal(np.zeros(0, np.float32), source="e.wav", from_file=True)
    with pytest.raises(ParameterError, match="holds no audio"):
        check_signal(np.zeros((2, 0)))


def test_non_finite_names_count_kind_and_first_position():
    y = np.zeros((2, 16000), np.float32)
    y[1, 8000] = np.nan
    y[0, 12000:12003] = np.inf
    with pytest.raises(AudioIOError, match=r"'n\.wav': 4 non-finite sample\(s\) \(NaN/inf\), "
                                           r"the first at sample 8000 \(0\.5000 s\)"):
        check_signal(y, sr=16000, source="n.wav", from_file=True)
    assert non_finite_error(np.ones(5)) is None


def test_warn_false_only_returns_flags(recwarn):
    assert check_signal(np.zeros(4), min_samples=8, warn=False) == ["silent", "too_short"]
    assert not recwarn.list
