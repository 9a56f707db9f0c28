"""Models by name on raw waveforms: the registry, the feature front ends and the classifiers.

```
model = build_model("conv1d", input_samples=8000, sr=8000, n_classes=10, features={"kind": "mel"})
adapt_normalization(model, train_waveforms)      # fit the dataset feature normalisation
model.compile(...); model.fit(train_waveforms, labels, ...)
```

Registered models (``available_models()``): classifiers ``conv1d``, ``conv1d_lstm``, ``conv2d``,
``mlp``, ``waveform``; the ``autoencoder`` (waveform in, waveform out) and the ``separator``
(waveform in, one waveform per source out); ``model_task`` tells.  Which feature kinds each
classifier takes: ``feature_table()`` (``model_features`` resolves a recipe for a model and
says what to use instead of a kind it refuses); ``fit_feature_params`` estimates the
data-dependent defaults (the chroma tuning) on the training clips.  The layer names the
pipeline finds parts of a model by (``STFT``, ``RMS_NORMALIZE``, ``BOTTLENECK``, ``MASKS``,
``FEATURE_NORM``, ``member_name(k)``...) are constants of :mod:`tympan.models.names`.  See
``docs/models.md`` for the measured choice of defaults.
"""

from tympan.models import autoencoder as _autoencoder  # noqa: F401  (registers the builders)
from tympan.models import classifiers as _classifiers  # noqa: F401
from tympan.models import separator as _separator  # noqa: F401
from tympan.models import sequence as _sequence  # noqa: F401
from tympan.models.augmentation import AugmentationConfig
from tympan.models.blocks import (
    adapt_normalization,
    feature_model,
    feature_statistics,
    set_normalization,
)
from tympan.models.compatibility import feature_table, model_features, refusal
from tympan.models.fitting import fit_feature_params
from tympan.models.frontend import FEATURE_KINDS, AppendDeltas, build_frontend, resolve_features
from tympan.models.names import (
    BOTTLENECK,
    DECODED_MAGNITUDE,
    FEATURE_NORM,
    MASKS,
    MEMBER_PREFIX,
    RMS_NORMALIZE,
    STFT,
    is_member_name,
    member_name,
)
from tympan.models.registry import (
    available_models,
    build_model,
    default_features,
    model_defaults,
    model_takes,
    model_task,
    register_model,
    resolve_params,
)

__all__ = ["BOTTLENECK", "DECODED_MAGNITUDE", "FEATURE_KINDS", "FEATURE_NORM", "MASKS", "MEMBER_PREFIX",
           "RMS_NORMALIZE", "STFT", "AppendDeltas", "AugmentationConfig", "adapt_normalization",
           "available_models", "build_frontend", "build_model", "default_features", "feature_model",
           "feature_statistics", "feature_table", "fit_feature_params", "is_member_name", "member_name",
           "model_defaults", "model_features", "model_takes", "model_task", "refusal", "register_model",
           "resolve_features", "resolve_params", "set_normalization"]
