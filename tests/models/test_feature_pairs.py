"""Every feature kind x classifier pair: it builds and predicts, or it is refused with a message
saying what to use instead; and the table in docs/models.md is exactly what the code does."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import tympan  # noqa: F401  (picks the Keras backend before keras is first imported)

# isort: split
from tympan import models
from tympan.errors import ParameterError
from tympan.models.compatibility import STACK_EXAMPLE

pytestmark = pytest.mark.filterwarnings("ignore:__array__ implementation:DeprecationWarning")

DOC = Path(__file__).resolve().parents[2] / "docs" / "models.md"
START, END = "<!-- feature-table: start -->\n", "<!-- feature-table: end -->"
SR, SAMPLES = 8000, 4000
CLASSIFIERS = models.available_models("classification")
KINDS = (*models.FEATURE_KINDS, STACK_EXAMPLE)
# small versions of each model, so that 30-odd builds and predictions stay quick
SMALL = {"conv1d": {"filters": (4,), "dense_units": 0, "augmentation": {"enabled": False}},
         "conv1d_lstm": {"filters": (4,), "lstm_units": 4, "augmentation": {"enabled": False}},
         "conv2d": {"filters": (2, 4), "augmentation": {"enabled": False}},
         "mlp": {"hidden_units": (8,)},
         "waveform": {"filters": (4, 4), "first_kernel": 40, "first_stride": 8}}


def table_cells() -> dict[tuple[str, str], str]:
    """``{(kind, model): cell}`` of :func:`tympan.models.feature_table`."""
    lines = models.feature_table().strip().splitlines()
    names = [c.strip().strip("`") for c in lines[0].strip("|").split("|")[1:]]
    cells = {}
    for line, kind in zip(lines[2:], KINDS, strict=True):
        for name, cell in zip(names, line.strip("|").split("|")[1:], strict=True):
            cells[kind, name] = cell.strip()
    return cells


@pytest.fixture(scope="module")
def clips(recording):
    out = np.zeros((2, SAMPLES), "float32")
    for i, name in enumerate(("3_jackson_5", "8_theo_2")):
        y = recording("fsdd", name)[0][:SAMPLES]
        out[i, : len(y)] = y
    return out


def test_the_doc_table_is_the_code_table():
    text = DOC.read_text()
    assert START in text and END in text, f"{DOC.name} lost its feature-table markers"
    block = text.split(START, 1)[1].split(END, 1)[0]
    assert block == models.feature_table(), "regenerate the table with tympan.models.feature_table()"


def test_the_table_covers_every_pair():
    cells = table_cells()
    assert set(CLASSIFIERS) == set(SMALL) and len(cells) == len(KINDS) * len(CLASSIFIERS)
    assert {cell.split(":")[0].split(",")[0] for cell in cells.values()} == {"yes", "no"}
    assert cells["fft", "conv1d"] == "yes, framed" and cells["fft", "mlp"] == "yes, whole clip"


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("kind", KINDS)
def test_every_pair_works_or_says_what_to_use(kind, name, clips):
    cell = table_cells()[kind, name]
    features = {"kind": kind}
    if cell.startswith("yes"):
        fitted = models.fit_feature_params(models.model_features(name, features, sr=SR), clips, sr=SR)
        model = models.build_model(name, input_samples=SAMPLES, sr=SR, n_classes=3,
                                   features=fitted, **SMALL[name])
        probs = np.asarray(model.predict_on_batch(clips))
        assert probs.shape == (2, 3) and np.all(np.isfinite(probs))
        np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-5)
        if kind == "fft":
            assert fitted["framed"] is (cell == "yes, framed")
        return
    suggestions = re.findall(r"`([^`]+)`", cell)  # the models, then the kind, to use instead
    assert suggestions
    with pytest.raises(ParameterError, match=f"model '{name}' does not take") as refused:
        models.build_model(name, input_samples=SAMPLES, sr=SR, n_classes=3, features=features,
                           **SMALL[name])
    for suggestion in suggestions:
        assert f"'{suggestion}'" in str(refused.value)
    with pytest.raises(ParameterError, match=f"model '{name}' does not take"):
        models.model_features(name, features, sr=SR)  # what the trainer checks first
