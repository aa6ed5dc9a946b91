"""The Typer application every command module registers on.

``InfocliGroup`` and ``InfocliCommand`` adjust Typer's Click classes in three
ways: usage errors (unknown option, missing argument, bad value) are printed
in the tool's own one-line format ``infocli: error: ...`` with exit code 2;
the usage line shows plain placeholders (``X [Y]``, not ``{X} [[Y]]``); and
command summaries in ``infocli --help`` are not cut off.
"""

from __future__ import annotations

import re
import sys
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from .._version import __version__


def _click_class(name: str) -> type:
    """Click's exception class ``name`` as Typer uses it (Typer >= 0.16 vendors Click)."""
    for cls in typer.BadParameter.__mro__:
        if cls.__name__ == name:
            return cls
    raise ImportError(name)  # pragma: no cover


_UsageError = _click_class("UsageError")
_ClickException = _click_class("ClickException")


def _usage_error_line(exc: Any, command: str = "") -> str:
    """``infocli: error: mi: no such option: --bogus (see 'infocli mi --help')``.

    ``command`` names the subcommand when Click's error carries no context.
    """
    ctx = getattr(exc, "ctx", None)
    path = ctx.command_path.split(" ", 1)[1] if ctx is not None and " " in ctx.command_path \
        else command
    message = " ".join(str(exc.format_message()).split()).rstrip(".")
    if len(message) > 1 and message[0].isupper() and message[1].islower():  # "No such option" -> "no such option"; keep "X ..." as is
        message = message[:1].lower() + message[1:]
    where = f"{path}: " if path else ""
    see = f"infocli {path} --help" if path else "infocli --help"
    return f"infocli: error: {where}{message} (see '{see}')"


#: The commands by task: the order of ``infocli --help`` and of the CLI reference.
COMMAND_GROUPS = {
    "estimate": ("entropy", "mi", "cmi"),
    "benchmark": ("bench",),
    "batch": ("batch", "matrix"),
    "inspect": ("estimators", "ib"),
}


def command_groups(commands) -> dict[str, list[str]]:
    """``{task: [command, ...]}`` over ``commands``; one not in a group goes to "other"."""
    out = {title: [n for n in names if n in commands] for title, names in COMMAND_GROUPS.items()}
    known = {n for names in COMMAND_GROUPS.values() for n in names}
    other = [n for n in commands if n not in known]
    if other:
        out["other"] = other
    return {k: v for k, v in out.items() if v}


class InfocliGroup(TyperGroup):
    """The root group: usage errors in the tool's format, full command summaries."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, "infocli" if prog_name is None else prog_name,
                              complete_var, standalone_mode=False, **extra)
        except _UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `infocli`: the help
                exc.show()
                sys.exit(exc.exit_code)
            argv = list(sys.argv[1:] if args is None else args)
            command = next((a for a in argv if a in self.commands), "")
            typer.echo(_usage_error_line(exc, command), err=True)
            sys.exit(2)
        except _ClickException as exc:  # pragma: no cover - other Click errors
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:  # pragma: no cover - end of input at a prompt
            typer.echo("infocli: aborted", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)

    def parse_args(self, ctx, args):
        _fast_coercion(self.get_params(ctx))
        return super().parse_args(ctx, args)

    def list_commands(self, ctx) -> list[str]:
        """By task (:data:`COMMAND_GROUPS`), then any other command in registration order."""
        names = list(self.commands)
        grouped = [n for group in COMMAND_GROUPS.values() for n in group if n in self.commands]
        return grouped + [n for n in names if n not in grouped]

    def format_commands(self, ctx, formatter) -> None:
        for title, names in command_groups(self.commands).items():
            rows = []
            for name in names:
                cmd = self.get_command(ctx, name)
                if cmd is not None and not cmd.hidden:
                    rows.append((name, cmd.get_short_help_str(limit=400)))
            if rows:
                with formatter.section(title.capitalize()):
                    formatter.write_dl(rows)


_INT = re.compile(r"[+-]?[0-9]+\Z")
_FLOAT = re.compile(r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\Z")


def _plain(annotation: Any, value: Any) -> tuple[bool, Any]:
    """(True, value converted) for a plain str/int/float/bool (or list[str]) value
    whose conversion is unambiguous, else (False, None)."""
    if annotation is str and isinstance(value, str):
        return True, value
    if annotation == list[str] and isinstance(value, (list, tuple)) \
            and all(isinstance(v, str) for v in value):
        return True, list(value)
    if annotation is int and isinstance(value, str) and _INT.match(value):
        return True, int(value)
    if annotation is float and isinstance(value, str) and _FLOAT.match(value):
        return True, float(value)
    if annotation in (int, float, bool) and type(value) is annotation:
        return True, value
    return False, None


def _fast_coercion(params: list) -> None:
    """Convert plain option values without Typer's Pydantic adapters.

    Typer (>= 0.17) builds a Pydantic ``TypeAdapter`` per parameter on first use:
    importing Pydantic and building ~25 adapters costs ~0.3 s of every call, more
    than a small estimate. For str, int, float, bool and list[str] options without
    a custom parser the conversion is plain Python; a value outside the simple
    cases (or out of an option's min/max range) goes to Typer's own coercion, so
    errors keep Typer's wording. Does nothing on a Typer without this machinery.
    """
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
    except ImportError:  # pragma: no cover - another Typer
        return

    class _PlainParam(RuntimeParam):
        def _coerce_value(self, value, param, ctx):
            ok, out = _plain(self.annotation, value)
            info = self.parameter_info
            if ok and isinstance(out, (int, float)) and not isinstance(out, bool) and (
                    (info.min is not None and out < info.min)
                    or (info.max is not None and out > info.max)):
                ok = False
            if ok:
                return out
            full = build_runtime_param(param.type_descriptor)
            param._runtime_param = full
            return full._coerce_value(value, param, ctx)

    simple = (str, int, float, bool, list[str])
    for param in params:
        desc = getattr(param, "type_descriptor", None)
        if desc is None or getattr(param, "_runtime_param", 0) is not None:
            continue
        info = desc.parameter_info
        if desc.annotation in simple and desc.file_annotation is None \
                and getattr(info, "parser", None) is None and not getattr(info, "clamp", False) \
                and not desc.is_choice:
            param._runtime_param = _PlainParam(annotation=desc.annotation, parameter_info=info)


#: Commands whose ``--json`` took a file name before it became the flag every command
#: has (issue 27): the hidden option the old spelling is redirected to, and whether
#: any value (no positional arguments) or only a *.json/*.jsonl name counts as one.
LEGACY_JSON_FILE = {"matrix": ("--json-file", False), "bench": ("--json-file", True)}


def _legacy_json(command: str, args: list[str]) -> list[str]:
    """``--json FILE`` (old spelling) -> ``--json-file FILE``; ``--json -`` -> ``--json``."""
    if command not in LEGACY_JSON_FILE:
        return args
    target, any_value = LEGACY_JSON_FILE[command]
    out, i = [], 0
    while i < len(args):
        a = args[i]
        if a == "--":
            out.extend(args[i:])
            break
        value = None
        if a.startswith("--json="):
            value, step = a.split("=", 1)[1], 1
        elif a == "--json" and i + 1 < len(args):
            nxt = args[i + 1]
            if nxt == "-" or (not nxt.startswith("-") and (
                    any_value or nxt.lower().endswith((".json", ".jsonl", ".ndjson")))):
                value, step = nxt, 2
        if value is None:
            out.append(a)
            i += 1
            continue
        if value == "-":
            typer.echo("infocli: warning: --json - is deprecated and goes in the next "
                       "release; use --json", err=True)
            out.append("--json")
        else:
            out += [target, value]
        i += step
    return out


class InfocliCommand(TyperCommand):
    """A command whose usage line shows plain placeholders: ``X [Y]``."""

    def parse_args(self, ctx, args):
        _fast_coercion(self.get_params(ctx))
        return super().parse_args(ctx, _legacy_json(self.name, list(args)))

    def collect_usage_pieces(self, ctx) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = param.metavar or param.name.upper()
                name = name.strip("[]")
                pieces.append(name if param.required else f"[{name}]")
        return pieces

    def format_options(self, ctx, formatter) -> None:
        args, opts = [], []
        for param in self.get_params(ctx):
            if param.param_type_name == "argument":
                name = (param.metavar or param.name.upper()).strip("[]")
                help_text = getattr(param, "help", None) or ""
                args.append((name if param.required else f"[{name}]", help_text))
            elif param.param_type_name == "option":
                if not param.is_flag and not param.metavar:
                    # a plain placeholder, not Typer's type name (<str>, <list[str]>)
                    param.metavar = _placeholder(param)
                record = param.get_help_record(ctx)
                if record is not None:
                    opts.append(record)
        if args:
            with formatter.section("Arguments"):
                formatter.write_dl(args)
        if opts:
            with formatter.section("Options"):
                formatter.write_dl(opts)


#: Placeholders by the kind of value an option takes (by its long name).
_FILE_OPTIONS = {"output", "csv", "json", "plot", "parquet", "save_model", "model",
                 "per_sample", "spectrum", "given", "x", "y", "csv_out", "json_out",
                 "json_file", "parquet_out", "x_file", "y_file"}


def _placeholder(param: Any) -> str:
    """``FILE`` for options naming a file, else the option's name in capitals."""
    name = (param.name or "value").lower()
    if name in _FILE_OPTIONS:
        return "FILE"
    return name.upper()


class _Typer(typer.Typer):
    """Every ``@app.command()`` uses :class:`InfocliCommand` unless it names another cls."""

    def command(self, *args: Any, cls: Any = None, **kwargs: Any):
        return super().command(*args, cls=cls or InfocliCommand, **kwargs)


app = _Typer(
    name="infocli",
    cls=InfocliGroup,
    help="Estimate differential entropy, conditional entropy and mutual information from data "
    "(.npy, .npz, .parquet, .csv/.tsv or '-' for stdin).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)


def command(**kwargs: Any):
    """``app.command`` (with infocli's command class, as every ``app.command``)."""
    return app.command(**kwargs)


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
