"""The one exception tree of infocli.

Every error a user can cause derives from :class:`InfocliError`; the command
line catches exactly this tree, prints its message as one line on stderr and
exits with :attr:`InfocliError.exit_code`. Anything else is a bug and keeps its
traceback.

Exit codes (also listed in the README):

===  ==========================================================
0    success
1    internal error (a bug: please report it with ``--traceback``)
2    bad input or usage: files, columns, values, parameters, device
3    estimation failed at run time (numerical failure, divergence)
4    ``infocli batch`` / ``infocli matrix``: some jobs or pairs failed (error records)
130  interrupted (Ctrl-C)
===  ==========================================================
"""

from __future__ import annotations


class InfocliError(Exception):
    """Base class of every error infocli raises on purpose."""

    exit_code = 2


class InputError(InfocliError, ValueError):
    """Bad data: a file, column or value that cannot be used as given."""


class ParameterError(InfocliError, ValueError):
    """Unknown estimator, unknown parameter or invalid parameter value."""


class DeviceError(InfocliError, RuntimeError):
    """The requested device (e.g. ``cuda``) is not available."""


class EstimationError(InfocliError, RuntimeError):
    """The estimator ran but could not produce a finite, trustworthy value."""

    exit_code = 3
