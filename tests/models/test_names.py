"""The layer names the pipeline finds models' parts by, defined once in tympan.models.names."""

from __future__ import annotations

import keras

from tympan import models
from tympan.models import autoencoder, blocks, names, separator


def test_the_names_are_the_ones_saved_models_carry():
    # saved artifacts hold these names: changing one breaks every model saved before
    assert (models.STFT, models.RMS_NORMALIZE, models.BOTTLENECK, models.DECODED_MAGNITUDE,
            models.MASKS, models.FEATURE_NORM) == ("stft", "rms_normalize", "bottleneck",
                                                   "decoded_magnitude", "masks", "feature_norm")
    assert autoencoder.DECODED_MAGNITUDE is names.DECODED_MAGNITUDE
    assert separator.MASKS is names.MASKS and blocks.FEATURE_NORM is names.FEATURE_NORM


def test_member_names():
    assert [models.member_name(k) for k in range(3)] == ["member0", "member1", "member2"]
    assert models.is_member_name("member12")
    assert not any(map(models.is_member_name, ("member", "members", "feature_norm", "amember1")))


def test_a_separator_has_the_layers_the_pipeline_looks_up():
    model = models.build_model("separator", input_samples=4000, sr=8000)
    for name in (models.STFT, models.RMS_NORMALIZE, models.MASKS):
        assert isinstance(model.get_layer(name), keras.layers.Layer)
