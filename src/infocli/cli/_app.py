"""The Typer application every command module registers on."""

from __future__ import annotations

from typing import Annotated

import typer

from .._version import __version__

app = typer.Typer(
    name="infocli",
    help="Estimate differential entropy, conditional entropy and mutual information from data "
    "(.npy, .npz, .parquet, .csv/.tsv or '-' for stdin).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"infocli {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Show the version and exit.")] = False,
) -> None:
    """infocli: entropy and mutual information estimation."""


