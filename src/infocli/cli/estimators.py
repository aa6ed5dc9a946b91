"""``infocli estimators``: the registry as a table or JSON."""

from __future__ import annotations

import json
import sys

from .. import registry
from ._app import app
from ._common import Json, Traceback, _errors


@app.command()
def estimators(
    json_: Json = False,
    traceback: Traceback = False,
) -> None:
    """List every registered estimator, its measures, inputs, devices and parameters."""
    with _errors(traceback):
        specs = registry.all_specs()
        if json_:
            rows = [{
                "name": s.name, "summary": s.summary, "measures": list(s.measures),
                "discrete_labels": list(s.discrete), "devices": list(s.devices),
                "params": {p.name: {"default": p.default, "doc": p.doc,
                                    "choices": list(p.choices) if p.choices else None}
                           for p in s.params},
                "reference": s.reference,
            } for s in specs]
            sys.stdout.write(json.dumps(rows, indent=2) + "\n")
            return
        from .._render import render_estimators

        render_estimators(specs)


