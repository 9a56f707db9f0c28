"""Keras 3 layers over the same filters as ``tympan.dsp``: features inside the model.

Every layer works on the jax, torch and tensorflow backends through ``keras.ops``, is
registered as Keras-serializable (package ``tympan``), and takes/gives channels-last tensors:
waveforms ``(batch, samples)`` in, ``(batch, frames, feature)`` out.
"""

from tympan.layers.augmentation import (
    RandomGain,
    RandomNoise,
    RandomStretch,
    RandomTimeShift,
    SpecAugment,
)
from tympan.layers.fft import FFTMagnitude
from tympan.layers.inverse import GriffinLim, InverseSTFT
from tympan.layers.masking import MaskedInverseSTFT
from tympan.layers.normalization import PerExampleStandardize
from tympan.layers.pooling import FrameStatistics
from tympan.layers.spectral import MFCC, Delta, MelSpectrogram, PowerToDb, Spectrogram
from tympan.layers.tonal import CQT, Chroma
from tympan.layers.wavelet import Scalogram

__all__ = ["CQT", "MFCC", "Chroma", "Delta", "FFTMagnitude", "FrameStatistics", "GriffinLim", "InverseSTFT",
           "MaskedInverseSTFT", "MelSpectrogram",
           "PerExampleStandardize", "PowerToDb", "RandomGain", "RandomNoise", "RandomStretch",
           "RandomTimeShift", "Scalogram", "SpecAugment", "Spectrogram"]
