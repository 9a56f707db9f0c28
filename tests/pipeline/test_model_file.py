"""The loader's Keras start-up patch (tympan.pipeline.model_file), pinned to the Keras internals
it wraps: these tests fail when Keras renames or changes ``Variable._initialize_with_initializer``
or what the wrapper calls, instead of the loading silently losing its 0.4 s."""

from __future__ import annotations

import inspect
import threading

import keras
import numpy as np
import pytest
from keras.src.backend import Variable

from tympan.errors import ArtifactError
from tympan.pipeline.model_file import PATCHED_METHOD, initializers_skipped, load_model


def _kernel() -> np.ndarray:
    layer = keras.layers.Dense(3)
    layer.build((None, 4))
    return keras.ops.convert_to_numpy(layer.kernel)


def _method():
    """What the class holds: its own attribute, or None where it inherits the method."""
    return Variable.__dict__.get(PATCHED_METHOD)


def test_keras_still_has_what_the_wrapper_uses():
    method = getattr(Variable, PATCHED_METHOD)
    assert list(inspect.signature(method).parameters) == ["self", "initializer"]
    assert list(inspect.signature(Variable._initialize).parameters) == ["self", "value"]
    assert list(inspect.signature(Variable._convert_to_tensor).parameters)[:2] == ["self", "value"]
    variable = keras.Variable(np.ones((2, 3), "float32"))
    assert tuple(variable._shape) == (2, 3) and np.dtype(variable._dtype) == np.float32


def test_the_wrapper_is_in_place_only_while_loading():
    original = _method()
    assert not hasattr(getattr(Variable, PATCHED_METHOD), "tympan_wraps")
    with initializers_skipped() as active:
        assert active  # False would mean this Keras has no such method: the patch is lost
        assert getattr(Variable, PATCHED_METHOD).tympan_wraps is not None
        assert not np.any(_kernel())  # zeros instead of the glorot initialiser
        with initializers_skipped():
            assert not np.any(_kernel())
        assert not np.any(_kernel())  # the inner exit keeps the outer one's wrapper
    assert _method() is original  # Keras' own method back, exactly as it was
    assert np.any(_kernel())


def test_other_threads_and_concurrent_loads():
    original = _method()
    entered, release, done = threading.Event(), threading.Event(), []

    def load_elsewhere():
        with initializers_skipped():
            entered.set()
            release.wait(30)
            done.append(np.any(_kernel()))

    thread = threading.Thread(target=load_elsewhere)
    thread.start()
    assert entered.wait(30)
    assert np.any(_kernel())  # this thread is not loading: its initialisers run
    with initializers_skipped():
        assert not np.any(_kernel())
    assert _method() is not original  # the other thread still loads: its wrapper stays
    release.set()
    thread.join()
    assert done == [False] and _method() is original


def test_a_loaded_model_has_the_saved_weights(tmp_path):
    inputs = keras.Input((16, 2))
    x = keras.layers.Conv1D(4, 3, name="conv")(inputs)
    x = keras.layers.BatchNormalization(name="bn")(x)
    x = keras.layers.GRU(3, name="gru")(x)
    model = keras.Model(inputs, keras.layers.Dense(2, name="dense")(x))
    model.get_layer("bn").moving_variance.assign(np.full(4, 3.0, "float32"))
    path = tmp_path / "model.keras"
    model.save(path)
    original = _method()
    loaded = load_model(path)
    assert _method() is original
    for saved, got in zip(model.weights, loaded.weights, strict=True):
        np.testing.assert_array_equal(keras.ops.convert_to_numpy(got.value),
                                      keras.ops.convert_to_numpy(saved.value), err_msg=saved.path)
    x = np.random.default_rng(0).standard_normal((2, 16, 2)).astype("float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loaded(x)),
                               keras.ops.convert_to_numpy(model(x)), rtol=1e-6)


def test_a_failed_load_restores_the_method(tmp_path):
    original = _method()
    bad = tmp_path / "model.keras"
    bad.write_bytes(b"not a zip")
    with pytest.raises(ArtifactError, match=r"model\.keras"):
        load_model(bad)
    assert _method() is original
