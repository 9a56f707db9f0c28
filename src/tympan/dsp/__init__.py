"""Numpy/scipy audio DSP: framing, spectra, filterbanks and features.

Never imports Keras.  Outputs are ``(..., feature, frames)``; every function is batched over
leading axes and keeps float32 as float32.
"""

from tympan.dsp import constantq, filters
from tympan.dsp.descriptors import (
    rms,
    spectral_bandwidth,
    spectral_centroid,
    spectral_contrast,
    spectral_flatness,
    spectral_rolloff,
    zero_crossing_rate,
)
from tympan.dsp.features import delta, melspectrogram, mfcc
from tympan.dsp.fft_features import fft_bin_count, fft_features, fft_frequencies_kept
from tympan.dsp.frames import frame, n_frames
from tympan.dsp.inverse import griffinlim, mel_to_audio, mel_to_stft, mfcc_to_audio, mfcc_to_mel
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
from tympan.dsp.tonal import chroma_cqt, chroma_stft, cqt, estimate_tuning, piptrack, pitch_tuning
from tympan.dsp.wavelets import (
    dwt,
    dwt_feature_names,
    dwt_features,
    idwt,
    scalogram,
    scalogram_frequencies,
    wavelet_bank,
)

__all__ = [
    "Spectrum",
    "amplitude_to_db",
    "chroma_cqt",
    "chroma_stft",
    "constantq",
    "cqt",
    "db_to_amplitude",
    "db_to_power",
    "delta",
    "dwt",
    "dwt_feature_names",
    "dwt_features",
    "estimate_tuning",
    "fft_bin_count",
    "fft_features",
    "fft_frequencies_kept",
    "fft_spectrum",
    "filters",
    "frame",
    "griffinlim",
    "idwt",
    "istft",
    "mel_to_audio",
    "mel_to_stft",
    "melspectrogram",
    "mfcc",
    "mfcc_to_audio",
    "mfcc_to_mel",
    "n_frames",
    "piptrack",
    "pitch_tuning",
    "power_to_db",
    "rms",
    "scalogram",
    "scalogram_frequencies",
    "spectral_bandwidth",
    "spectral_centroid",
    "spectral_contrast",
    "spectral_flatness",
    "spectral_rolloff",
    "spectrogram",
    "stft",
    "wavelet_bank",
    "zero_crossing_rate",
]
