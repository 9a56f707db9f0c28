"""Provisional: the default recipe for a dataset (replaced by the measured rule)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass(frozen=True)
class RecipeChoice:
    model: dict
    features: dict = field(default_factory=dict)
    reason: str = ""

    def to_dict(self) -> dict:
        return asdict(self)


def choose_recipe(*, n_clips: int, n_classes: int, duration: float, sr: int) -> RecipeChoice:
    return RecipeChoice({"name": "conv1d"}, {}, "conv1d, the default model")
