"""The default recipe, chosen from the data when the user names no model (issue 17).

:func:`choose_recipe` looks at how many clips there are for how many classes, and how many
feature frames a clip gives, and returns either today's default, ``conv1d`` on log-mel frames
(what the project's FSDD figures were measured with), or the **small-data recipe**: a linear
softmax classifier on utterance statistics (mean, standard deviation, 10th and 90th percentile
over frames) of 20 MFCCs and their deltas, with L2 weight decay, trained to convergence
(full-batch Adam, learning rate 0.05, 100 epochs, no validation part held back).  It is the
logistic regression on MFCC statistics that the issue names as the bar, inside a tympan model.

Measured with ``benchmarks/small_data.py`` (stratified 5-fold cross-validation, pooled
accuracy; ``docs/results.md``, "Default recipe on small data"):

- at 8 clips per class today's ``conv1d`` is near chance on every stand-in set (NOIZEUS noise
  types 14 %, FSDD digits 28 %, EMO-DB emotions 11 %), while the linear model on statistics
  scores as a logistic regression on MFCC mean and standard deviation does (91 / 71 / 41 %
  against 95 / 65 / 45 %); ``conv1d`` with fewer filters, more dropout or no BatchNorm is no
  better, an MLP with hidden layers is less stable from draw to draw;
- ``conv1d`` overtakes the linear model between 32 and 100 clips per class on FSDD (the data
  where it gains most, word shapes in time): hence :data:`MIN_CLIPS_PER_CLASS`;
- FSDD itself (3000 clips, 10 classes, 300 per class) keeps ``conv1d`` (98.3 % on the
  standard split).

Clips too short for ``conv1d``'s three conv blocks (fewer than :func:`conv1d_min_frames`
frames, about 0.17 s at the 10 ms hop) get the statistics recipe whatever their number, on
MFCCs alone when they are too short for the deltas too (:data:`DELTA_WIDTH` frames).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from tympan import _validate as v
from tympan.errors import ParameterError

__all__ = ["MIN_CLIPS_PER_CLASS", "SMALL_DATA_L2", "SMALL_DATA_TRAINING", "RecipeChoice",
           "choose_recipe", "conv1d_min_frames", "small_data_recipe"]

#: Fewer clips per class than this (on average) get the small-data recipe.
MIN_CLIPS_PER_CLASS = 50
#: Training of the small-data recipe: a convex problem trained to convergence, full batch,
#: with every training clip (no validation part, hence no early stopping).
SMALL_DATA_TRAINING = {"epochs": 100, "batch_size": 512, "learning_rate": 0.05,
                       "validation_size": 0.0}
#: L2 weight decay of the small-data recipe (scikit-learn's C = 1 at 50 training clips).
SMALL_DATA_L2 = 0.01


@dataclass(frozen=True)
class RecipeChoice:
    """A recipe chosen from the data.

    ``model`` is a model dict with ``"name"`` (as ``PipelineConfig.model``), ``features`` a
    feature recipe (empty: the model's default), ``training`` the ``TrainConfig`` settings the
    recipe needs (empty: the defaults), ``reason`` one line for the user: which and why.
    """

    model: dict
    features: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    reason: str = ""

    def __post_init__(self):
        if not isinstance(self.model, dict) or "name" not in self.model:
            raise ParameterError(f"model must be a dict with a 'name', got {self.model!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: ``{"model", "features", "training", "reason"}``."""
        return dataclasses.asdict(self)


def conv1d_min_frames(filters: int = 3, kernel_size: int = 3, pool_size: int = 2) -> int:
    """The fewest frames ``filters`` blocks of ``Conv1D(kernel_size, valid) -> MaxPool(pool_size)``
    accept (18 for ``conv1d``'s three blocks of kernel 3)."""
    need = kernel_size
    for _ in range(filters - 1):
        need = need * pool_size + kernel_size - 1
    return need


def small_data_recipe(reason: str) -> RecipeChoice:
    """The small-data recipe (module docstring), with ``reason``."""
    model = {"name": "mlp", "pooling": "stats", "stats": ["mean", "std"], "hidden_units": [],
             "dropout": 0.0, "l2": SMALL_DATA_L2}
    return RecipeChoice(model=model, features={"kind": "mfcc"}, training=dict(SMALL_DATA_TRAINING),
                        reason=reason)


def choose_recipe(*, n_clips: int, n_classes: int, duration: float, sr: int) -> RecipeChoice:
    """The default recipe for ``n_clips`` clips of ``n_classes`` classes, each fitted to
    ``duration`` seconds at ``sr`` Hz (the audio settings of the run).

    ``conv1d`` with its default features when there are at least :data:`MIN_CLIPS_PER_CLASS`
    clips per class and the clips give it enough frames, else the small-data recipe
    (:func:`small_data_recipe`).  Bad arguments raise :class:`~tympan.errors.ParameterError`.
    """
    from tympan.models import model_defaults, resolve_features

    n_clips = v.positive_int("n_clips", n_clips)
    n_classes = v.positive_int("n_classes", n_classes)
    duration = v.positive_number("duration", duration)
    sr = v.positive_int("sr", sr)
    if n_classes < 2:
        raise ParameterError(f"n_classes must be at least 2 for a classifier, got {n_classes}")
    if n_clips < n_classes:
        raise ParameterError(f"n_clips={n_clips} is fewer than n_classes={n_classes}: every "
                             "class needs at least one clip")
    samples = round(duration * sr)
    if samples < 1:
        raise ParameterError(f"duration={duration!r} s at sr={sr} is less than one sample")
    hop = resolve_features({"kind": "mel"}, sr=sr)["hop_length"]
    frames = 1 + samples // hop  # center=True
    conv = model_defaults("conv1d")
    need = conv1d_min_frames(len(conv["filters"]), conv["kernel_size"])
    per_class = n_clips / n_classes
    size = f"{n_clips} clips for {n_classes} classes ({per_class:.3g} per class)"
    if frames < need:
        return small_data_recipe(
            f"linear model on MFCC mean and standard deviation: clips of {duration:g} s give "
            f"{frames} frame{'s' if frames > 1 else ''}, fewer than the {need} the conv1d model needs")
    if per_class < MIN_CLIPS_PER_CLASS:
        return small_data_recipe(
            f"linear model on MFCC mean and standard deviation: {size} is too few for a "
            f"convolutional model (it needs about {MIN_CLIPS_PER_CLASS} per class)")
    return RecipeChoice(model={"name": "conv1d"}, reason=(
        f"conv1d on log-mel frames (the default): {size} is enough for a convolutional model"))
