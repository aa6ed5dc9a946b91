"""``infocli estimators [NAME]``: the registry as a compact table, one estimator
in full, or JSON."""

from __future__ import annotations

import json
import sys
from typing import Annotated, Optional

import typer

from .. import registry
from ._app import command
from ._common import Json, Traceback, _errors

_EXAMPLES = """Examples:

\b
  infocli estimators
  infocli estimators ksg
  infocli estimators --json
"""


def _spec_json(s) -> dict:
    return {
        "name": s.name, "summary": s.summary, "measures": list(s.measures),
        "discrete_labels": list(s.discrete), "devices": list(s.devices),
        "params": {p.name: {"default": p.default, "doc": p.doc,
                            "choices": list(p.choices) if p.choices else None}
                   for p in s.params},
        "reference": s.reference,
    }


@command(short_help="List the estimators, or show one in full.", epilog=_EXAMPLES)
def estimators(
    name: Annotated[Optional[str], typer.Argument(
        metavar="[NAME]", help="Show this estimator in full (parameters, defaults, devices).")] = None,
    json_: Json = False,
    traceback: Traceback = False,
) -> None:
    """List the registered estimators (name, measures, label inputs, summary);
    with NAME, one estimator with its parameters and defaults."""
    with _errors(traceback, "estimators"):
        if name is not None:
            spec = registry.get(name)  # unknown names list the valid ones
            if json_:
                sys.stdout.write(json.dumps(_spec_json(spec), indent=2) + "\n")
                return
            from .._render import render_estimator_detail

            render_estimator_detail(spec)
            return
        specs = registry.all_specs()
        if json_:
            sys.stdout.write(json.dumps([_spec_json(s) for s in specs], indent=2) + "\n")
            return
        from .._render import render_estimator_summary

        render_estimator_summary(specs)
