"""Batch work past one process: predictions, features and embeddings of many files, written as
Parquet shards, on this machine or on a Ray cluster (``pip install 'tympan[ray]'``).

```
summary = predict_to_parquet("runs/digits", "archive/", out="preds.parquet")
summary = predict_to_parquet("runs/digits", "archive.txt", out="preds.parquet", engine="ray",
                             address="auto", resume=True)
summary = features_to_parquet("archive/", out="mels.parquet", kind="logmel", sr=16000)
summary = features_to_parquet("archive/", out="emb.parquet", embedding="runs/digits")
```

- :mod:`tympan.engines.batch`: the batch functions (:class:`PredictBatch`,
  :class:`FeatureBatch`), the one piece of code that computes rows, on either engine.
- :mod:`tympan.engines.shards`: the output folder (shards, manifest, resume) and its schemas.
- :mod:`tympan.engines.local`, :mod:`tympan.engines.ray_engine`: where the batches run.
- :mod:`tympan.engines.config`: :class:`EngineConfig`, :class:`FeatureConfig`, the defaults.

Keras, Ray and pyarrow are imported when a job needs them, not with this package.
"""

from tympan.engines.batch import FeatureBatch, PredictBatch
from tympan.engines.config import ENGINES, FEATURE_KINDS, EngineConfig, FeatureConfig
from tympan.engines.inputs import input_list
from tympan.engines.jobs import features_to_parquet, predict_to_parquet
from tympan.engines.shards import MANIFEST, SCHEMA_VERSION, read_manifest, schema

__all__ = [
    "ENGINES",
    "FEATURE_KINDS",
    "MANIFEST",
    "SCHEMA_VERSION",
    "EngineConfig",
    "FeatureBatch",
    "FeatureConfig",
    "PredictBatch",
    "features_to_parquet",
    "input_list",
    "predict_to_parquet",
    "read_manifest",
    "schema",
]
