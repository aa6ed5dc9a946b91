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
3    estimation failed at run time (numerical failure, divergence, a
     neural bound no trained critic can honestly give)
4    ``infocli batch`` / ``infocli matrix``: some jobs or pairs failed (error records)
130  interrupted (Ctrl-C)
===  ==========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

#: Python keyword that makes variable ``var`` class labels, per measure family.
_LABEL_KWARGS = {"x": "discrete_x=True", "y": "discrete_y=True", "z": "discrete_given=True"}
_KEYWORDS = {"x": "discrete_x", "y": "discrete_y", "z": "discrete_given"}


@dataclass(frozen=True)
class Hint:
    """A structured suggestion attached to an error or warning.

    The library words it for Python callers (:meth:`api_text`); the command
    line maps the same hint to its own option names, so that a hint always
    names the options of the command that failed.

    ``kind`` is one of

    * ``"labels"``: treat variable ``var`` (``"y"`` or ``"z"``) as class labels;
    * ``"not_labels"``: ``var`` cannot be labels in this measure; select
      numeric columns (``column`` names the offending one);
    * ``"continuous"``: ``var`` was detected as discrete; how to treat it as
      continuous instead;
    * ``"dropna"``: drop the rows with NaN/inf instead of failing;
    * ``"drop_constant"``: leave out constant columns instead of failing.
    """

    kind: str
    var: str = "x"
    column: str | None = None

    def api_text(self) -> str:
        """The suggestion in terms of the Python API."""
        if self.kind == "labels":
            return f"pass {_LABEL_KWARGS.get(self.var, 'discrete_y=True')} to use it as class labels"
        if self.kind == "not_labels":
            return (f"{self.var} must be numeric here: select its numeric columns; class "
                    "labels are accepted as y of mutual_information (discrete_y=True) or as "
                    "the given variable (discrete_given=True)")
        if self.kind == "continuous":
            return (f"pass {_KEYWORDS.get(self.var, 'discrete_x')}=False to treat it as "
                    "continuous, or a list of the discrete columns")
        if self.kind == "dropna":
            return "drop or impute those rows first, or pass dropna=True to drop them"
        if self.kind == "drop_constant":
            return "drop them, or pass drop_constant=True to leave them out"
        raise ValueError(f"unknown hint kind {self.kind!r}")


class InfocliError(Exception):
    """Base class of every error infocli raises on purpose.

    ``message`` is the neutral part (what is wrong); ``hint`` an optional
    :class:`Hint`. ``str(exc)`` is the message followed by the hint in the
    Python API's terms; the command line words the hint with its own options.
    """

    exit_code = 2

    def __init__(self, message: str = "", *, hint: Hint | None = None) -> None:
        self.message = message
        self.hint = hint
        super().__init__(message if hint is None else f"{message}; {hint.api_text()}")


class InputError(InfocliError, ValueError):
    """Bad data: a file, column or value that cannot be used as given."""


class ParameterError(InfocliError, ValueError):
    """Unknown estimator, unknown parameter or invalid parameter value."""


class DeviceError(InfocliError, RuntimeError):
    """The requested device (e.g. ``cuda``) is not available."""


class EstimationError(InfocliError, RuntimeError):
    """The estimator ran but could not produce a finite, trustworthy value."""

    exit_code = 3


def clip(text: str, limit: int = 80) -> str:
    """``text`` cut to at most ``limit`` characters (with ``...`` and the full
    length), so that a message quoting a huge value stays one short line."""
    text = str(text)
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def quote(value: object, limit: int = 80) -> str:
    """``repr(value)`` for a message, cut to ``limit`` characters. Containers are
    summarised by reprlib first, so a value built from YAML aliases (a "billion
    laughs" manifest) is never expanded in full."""
    import reprlib

    r = reprlib.Repr()
    r.maxstring = r.maxother = limit
    r.maxlevel = 3
    return clip(r.repr(value), limit)
