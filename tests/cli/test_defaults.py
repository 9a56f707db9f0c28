"""Defaults are stated once, in the library: every option that sets a config dataclass field is
left ``None`` (the dataclass fills it in) and its ``--help`` shows the library's value."""

from __future__ import annotations

import dataclasses
import re

import click
import pytest

from tympan.cli._options import LibraryDefault, parse_params, recipe_config, shown
from tympan.cli.autoencoder import autoencoder_recipe
from tympan.cli.main import cli
from tympan.cli.separate import separator_recipe
from tympan.data.splits import DEFAULT_TEST_SIZE
from tympan.errors import ParameterError
from tympan.pipeline.config import (
    AUTOENCODER_TRAINING,
    SEPARATOR_AUDIO,
    SEPARATOR_TRAINING,
    AudioConfig,
    MixingConfig,
    PipelineConfig,
    TrainConfig,
)

#: option name -> config field it sets, where the two names differ
RENAMED = {"snr": "snr_db"}
FIELDS = {f.name for cls in (TrainConfig, AudioConfig, MixingConfig) for f in dataclasses.fields(cls)}
#: options whose default is the command line's own (how output is shown, where it goes) or a
#: reference to the one library constant; any other option with a default fails the test
CLI_OWNED = {"fmt", "output_format", "dpi", "scale", "on", "phase", "labels_from", "split",
             "on_error", "test_size", "host", "port"}  # (host, port: where `tympan serve` listens)


def _commands(group: click.Group = cli, prefix: str = "tympan"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        if isinstance(command, click.Group):
            yield from _commands(command, path)
        else:
            yield path, command


OPTIONS = [(path, param) for path, command in _commands() for param in command.params
           if isinstance(param, click.Option)]


def _default(option: click.Option):
    """The default the option states (None when it states none)."""
    value = option.get_default(click.Context(click.Command("x")), call=False)
    return None if repr(value) == "Sentinel.UNSET" else value  # click >= 8.3: no default


def _id(item) -> str:
    return f"{item[0]} {max(item[1].opts, key=len)}"


@pytest.mark.parametrize("item", OPTIONS, ids=_id)
def test_no_default_stated_twice(item):
    path, option = item
    field = RENAMED.get(option.name, option.name)
    if option.is_flag and not option.secondary_opts:  # a switch: off unless given
        assert _default(option) in (False, None), f"{path} {option.opts} is on by default"
        if field in FIELDS:  # and off in the dataclasses too
            assert not any(getattr(cls(), field, False) for cls in (TrainConfig, MixingConfig))
        return
    if field in FIELDS or isinstance(option, LibraryDefault):  # the dataclass (or the data) decides
        assert _default(option) is None, (
            f"{path} {option.opts} states a default ({_default(option)!r}); leave it None and give "
            "library= (tympan.cli._options.library_option)")
        return
    if _default(option) is not None and not option.multiple:
        assert option.name in CLI_OWNED, (
            f"{path} {option.opts} states the default {_default(option)!r}: leave it to the library")


def test_test_size_is_the_library_constant():
    train = cli.commands["train"]
    option = next(p for p in train.params if p.name == "test_size")
    assert _default(option) == DEFAULT_TEST_SIZE


LIBRARY_OPTIONS = [(path, p) for path, p in OPTIONS if isinstance(p, LibraryDefault)]


@pytest.mark.parametrize("item", LIBRARY_OPTIONS, ids=_id)
def test_help_shows_the_library_default(item):
    path, option = item
    command = click.Command(path, params=[option])
    text = command.get_help(click.Context(command))
    value = option.library_default()
    assert f"[default: {option.show(value)}]" in re.sub(r"\s+", " ", text)


@pytest.mark.parametrize("owner, cls_or_value, fields", [
    ("TrainConfig", TrainConfig(), ("epochs", "batch_size", "learning_rate", "seed", "feature_norm",
                                    "validation_size", "ensemble", "self_training",
                                    "stream_above_mb", "stream_workers", "devices")),
    ("SEPARATOR_TRAINING", SEPARATOR_TRAINING, ("epochs", "batch_size", "learning_rate", "seed",
                                                "validation_size", "ensemble")),
    ("SEPARATOR_AUDIO", SEPARATOR_AUDIO, ("sr", "duration")),
    ("MixingConfig", MixingConfig(), ("held_out", "snr_db", "speed", "by_length", "examples_per_epoch")),
    ("AUTOENCODER_TRAINING", AUTOENCODER_TRAINING, ("epochs", "batch_size", "learning_rate", "seed")),
])
def test_options_read_the_dataclass(owner, cls_or_value, fields):
    read = {p.library.source[1]: p.library_default() for _, p in LIBRARY_OPTIONS
            if getattr(p.library, "source", (None,))[0] == owner}
    assert read == {f: getattr(cls_or_value, f) for f in fields}


def test_nothing_given_is_the_dataclass_defaults():
    assert recipe_config() == PipelineConfig()
    config, mixing = separator_recipe()
    assert config == PipelineConfig(audio=SEPARATOR_AUDIO, model={"name": "separator"},
                                    training=SEPARATOR_TRAINING)
    assert mixing == MixingConfig()
    config = autoencoder_recipe()
    assert config.training == AUTOENCODER_TRAINING and config.audio == AudioConfig()
    assert config.model == {"name": "autoencoder"}  # representation, compression: the builder's


def test_options_given_override_one_field():
    config = recipe_config(epochs=3, feature_norm="group", class_weight=True)
    assert config.training == TrainConfig(epochs=3, feature_norm="group", class_weight=True)
    config, mixing = separator_recipe(epochs=5, snr="0,5", held_out="", by_length=False)
    assert config.training == dataclasses.replace(SEPARATOR_TRAINING, epochs=5)
    assert mixing == MixingConfig(snr_db=(0.0, 5.0), held_out=(), by_length=False)


def test_options_not_given_parse_to_none():
    train = cli.commands["separator"].commands["train"]
    ctx = train.make_context("train", ["--pairs", ".", "--out", "x"])
    assert all(ctx.params[name] is None for name in ("epochs", "sr", "duration", "held_out", "snr",
                                                     "speed", "by_length", "examples_per_epoch"))
    ctx = cli.commands["train"].make_context("train", [".", "--out", "x"])
    assert ctx.params["epochs"] is None and ctx.params["feature_norm"] is None


def test_help_renders_the_separator_recipe(capsys):
    from click.testing import CliRunner

    result = CliRunner().invoke(cli, ["separator", "train", "--help"])
    assert result.exit_code == 0
    text = re.sub(r"\s+", " ", result.output)
    assert f"[default: {shown(MixingConfig().held_out)}]" in text and "sp25,sp26" in text
    assert "[default: 80]" in text and "[default: 8000]" in text and "[default: --by-length]" in text


def test_dotted_model_params():
    assert parse_params(("augmentation.freq_warp=0", "augmentation.gain_db=3", "filters=[8]"),
                        "--model-param") == {"augmentation": {"freq_warp": 0, "gain_db": 3},
                                             "filters": [8]}
    with pytest.raises(ParameterError, match=r"--model-param sets 'augmentation' and "
                                             r"'augmentation.gain_db': give one of them"):
        parse_params(("augmentation=1", "augmentation.gain_db=3"), "--model-param")
    with pytest.raises(ParameterError, match=r"--model-param takes key=value or group.key=value, "
                                             r"got 'augmentation.=3'"):
        parse_params(("augmentation.=3",), "--model-param")
