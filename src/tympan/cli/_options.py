"""Options shared by several commands: dataset discovery and ``key=value`` parameters."""

from __future__ import annotations

import json

import click

from tympan.errors import ParameterError


def parse_params(pairs: tuple[str, ...], option: str) -> dict:
    """``("n_mels=64", "fmax=3800")`` -> ``{"n_mels": 64, "fmax": 3800}`` (values read as JSON
    when they parse, else kept as strings)."""
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ParameterError(f"{option} takes key=value, got {pair!r}")
        try:
            out[key.strip()] = json.loads(value)
        except ValueError:
            out[key.strip()] = value
    return out


def dataset_options(f):
    """--labels-from / --pattern / --csv, passed on as a ``discovery`` dict."""
    f = click.option("--csv", "csv_path", type=click.Path(dir_okay=False),
                     help="CSV listing the clips (UrbanSound8K layout or path,label[,group][,fold]).")(f)
    f = click.option("--pattern", help="Regex on file names with a (?P<label>...) group and optional "
                     "(?P<group>...), or 'fsdd'.")(f)
    f = click.option("--labels-from", type=click.Choice(["auto", "folders", "regex", "csv"]),
                     default="auto", show_default=True,
                     help="Where labels come from: class folders, a file-name regex, or a CSV.")(f)
    return f


def discovery(labels_from: str, pattern: str | None, csv_path: str | None) -> dict:
    return {"labels_from": labels_from, "pattern": pattern, "csv": csv_path}
