"""The ``infocli`` command: arguments -> load -> one library call -> render.

One module per command group (``estimate``: entropy, mi, cmi; ``ib``;
``estimators``; ``batch``; ``matrix``; ``bench``; ``rank``), all registered on the Typer app of
``_app``. Errors from
infocli's exception tree become one line on stderr and the exit code
documented in :mod:`infocli.errors`; ``--traceback`` shows the trace.
"""

from __future__ import annotations

from . import batch, bench, estimate, estimators, ib, matrix, rank  # noqa: F401  (register the commands)
from ._app import app
from ._common import _RichProgress  # noqa: F401  (used by tests)

__all__ = ["app", "main"]


def main() -> None:
    app()


if __name__ == "__main__":  # pragma: no cover
    main()
