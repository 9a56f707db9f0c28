"""Figures of recordings and of models (matplotlib, the optional extra ``pip install 'tympan[plot]'``).

Every function takes the data first, keyword-only options after it, an optional ``ax=`` (draw
there; otherwise a new figure) and ``title=``, and returns the :class:`matplotlib.figure.Figure`.
Features are computed by :mod:`tympan.dsp`, never here.  Audio may be ``(samples,)`` or
``(channels, samples)``; channels are averaged, as ``tympan.io.load(mono=True)`` does.

```
fig = plot_mel(y, sr)                       # then fig.savefig("mel.png") or save_figure(fig, ...)
plot_history("runs/digits")                 # training curves from history.json
plot_confusion("runs/digits", normalize=True)
```

Importing this package does not import matplotlib; the first figure does, and without it raises
:class:`tympan.errors.MissingDependencyError` naming the extra to install.
"""

from tympan.plot._common import check_output, load_audio, save_figure
from tympan.plot.model_input import plot_network_spectrum
from tympan.plot.overlay import SEGMENT_COLORS, plot_prediction, plot_segments
from tympan.plot.signal import plot_spectrum, plot_waveform
from tympan.plot.spectra import (
    plot_chroma,
    plot_cqt,
    plot_mel,
    plot_mfcc,
    plot_scalogram,
    plot_spectrogram,
)
from tympan.plot.training import plot_confusion, plot_history, save_run_figures

__all__ = [
    "SEGMENT_COLORS",
    "check_output",
    "load_audio",
    "plot_chroma",
    "plot_confusion",
    "plot_cqt",
    "plot_history",
    "plot_mel",
    "plot_mfcc",
    "plot_network_spectrum",
    "plot_prediction",
    "plot_scalogram",
    "plot_segments",
    "plot_spectrogram",
    "plot_spectrum",
    "plot_waveform",
    "save_figure",
    "save_run_figures",
]
