"""Fixtures for the Keras layer tests (``recording`` lives in ``tests/conftest.py``)."""

# Imported here, before any test module imports keras: with KERAS_BACKEND unset, tympan picks
# jax (conftest files load first, and import sorting cannot move this below `import keras`).
import tympan  # noqa: F401
