"""Numpy/scipy audio DSP: framing, spectra, filterbanks and features.

Never imports Keras.  Outputs are ``(..., feature, frames)``; every function is batched over
leading axes and keeps float32 as float32.
"""

from tympan.dsp import filters
from tympan.dsp.features import delta, melspectrogram, mfcc
from tympan.dsp.frames import frame, n_frames
from tympan.dsp.spectrum import (
    Spectrum,
    amplitude_to_db,
    db_to_amplitude,
    db_to_power,
    fft_spectrum,
    istft,
    power_to_db,
    spectrogram,
    stft,
)

__all__ = [
    "Spectrum",
    "amplitude_to_db",
    "db_to_amplitude",
    "db_to_power",
    "delta",
    "fft_spectrum",
    "filters",
    "frame",
    "istft",
    "melspectrogram",
    "mfcc",
    "n_frames",
    "power_to_db",
    "spectrogram",
    "stft",
]
