"""Click options generated from a job's config dataclass (:mod:`rlgodot.core.jobs.config`).

One option per field, so defaults, choices and help are written once, in the dataclass:

- the flag is ``--kebab-name`` of the field, or its ``cli`` metadata; ``short`` adds a short one;
- the default is the field's, shown in ``--help`` unless it is None, empty or a flag's;
- a field without a default is a required option;
- ``choices`` metadata -> ``click.Choice``;
- ``bool`` -> a flag: False by default -> ``--x`` sets True; True by default -> ``--no-x``
  sets False (its help then says so);
- ``int`` with ``count`` metadata -> a counted flag (``-vv`` = 2);
- ``flag_value`` metadata -> an option whose value may be left out (``--attach`` alone gives
  ``flag_value``, ``--attach 11011`` that port);
- ``dict`` -> repeatable ``NAME=VALUE`` (values parsed as JSON when they are JSON);
- ``tuple[X, ...]`` -> repeatable option of the element type; a fixed ``tuple[X, Y]`` -> one
  option taking that many values (``--render-size 640 360``);
- ``Path`` -> ``click.Path``; ``X | None`` -> an option of type X whose default is None;
- ``argument`` metadata -> a positional argument (click shows no help for arguments: the
  command's help names it);
- ``switches`` metadata (with ``choices``) -> one flag per choice, ``--<choice>``, the default
  choice's flag on by default.

Values are not range-checked here: building the config checks them (its ``validate``), with
one message for the CLI and the Python API alike.
"""

from __future__ import annotations

import dataclasses
import json
import types
import typing
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from rlgodot.core.jobs.config import cli_flag

F = TypeVar("F", bound=Callable[..., Any])


def parse_pairs(pairs: tuple[str, ...], what: str) -> dict[str, Any]:
    """``("a=1", "b=x")`` -> ``{"a": 1, "b": "x"}``; values are JSON when they parse as JSON."""
    parsed: dict[str, Any] = {}
    for pair in pairs:
        name, sep, raw = pair.partition("=")
        if not sep or not name:
            raise click.BadParameter(f"expected NAME=VALUE, got {pair!r}", param_hint=what)
        try:
            parsed[name] = json.loads(raw)
        except json.JSONDecodeError:
            parsed[name] = raw
    return parsed


def _pairs_callback(ctx: click.Context, param: click.Parameter, value: Any) -> dict[str, Any]:
    return parse_pairs(tuple(value or ()), param.opts[0])


def _strip_optional(hint: Any) -> Any:
    """``int | None`` -> ``int``; anything else unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


def _click_type(hint: Any, choices: Any) -> Any:
    if choices:
        return click.Choice(list(choices))
    if hint is Path:
        return click.Path(path_type=Path)
    return hint if hint in (int, float, str) else None


def field_option(
    f: dataclasses.Field[Any], hint: Any, optional: bool = False
) -> Callable[[F], F]:
    """The click option of one config field (see the module docstring for the rules).

    ``optional``: not required even without a default (the command finds the value elsewhere).
    """
    meta = f.metadata
    hint = _strip_optional(hint)
    origin = typing.get_origin(hint) or hint
    flags = [cli_flag(f), *([meta["short"]] if "short" in meta else [])]
    missing = dataclasses.MISSING
    has_default = f.default is not missing or f.default_factory is not missing
    kwargs: dict[str, Any] = {"help": meta.get("help", "")}
    if "metavar" in meta:
        kwargs["metavar"] = meta["metavar"]
    if not has_default and not optional:
        kwargs["required"] = True
    if hint is bool:
        kwargs.update(is_flag=True, flag_value=not f.default, default=bool(f.default))
        if f.default:
            kwargs["help"] += " On unless this flag is given."
    elif meta.get("count"):
        kwargs.update(count=True, default=f.default)
    elif origin is dict:
        kwargs.update(multiple=True, metavar=meta.get("metavar", "NAME=VALUE"),
                      callback=_pairs_callback)
        kwargs["help"] += " Repeatable."
    elif origin is tuple and Ellipsis not in typing.get_args(hint) and typing.get_args(hint):
        kwargs.update(type=click.Tuple(list(typing.get_args(hint))), default=f.default,
                      show_default=True)
    elif origin is tuple:
        element = typing.get_args(hint)[0] if typing.get_args(hint) else str
        kwargs.update(multiple=True, type=_click_type(element, meta.get("choices")))
        kwargs["help"] += " Repeatable."
    else:
        kwargs.update(_value_kwargs(f, hint, has_default))
    return click.option(*flags, f.name, **kwargs)


def _parameter(
    f: dataclasses.Field[Any], hint: Any, optional: bool = False
) -> Callable[[F], F]:
    """The click argument, switches or option of one config field."""
    if f.metadata.get("argument"):
        return click.argument(f.name, type=_click_type(_strip_optional(hint), None))
    if f.metadata.get("switches"):
        return _switches(f)
    return field_option(f, hint, optional)


def _switches(f: dataclasses.Field[Any]) -> Callable[[F], F]:
    """One flag per choice of ``f`` (``--2d`` / ``--3d``), all setting ``f``."""
    choices = list(f.metadata["choices"])
    first_help = f"{f.metadata.get('help', '')} Default: --{f.default}."
    flags = [
        click.option(f"--{choice}", f.name, flag_value=choice,
                     **({"default": choice} if choice == f.default else {}),
                     help=first_help if i == 0 else f"See --{choices[0]}.")
        for i, choice in enumerate(choices)
    ]

    def decorate(func: F) -> F:
        for flag in reversed(flags):
            func = flag(func)
        return func

    return decorate


def _value_kwargs(f: dataclasses.Field[Any], hint: Any, has_default: bool) -> dict[str, Any]:
    """The click settings of a field that takes one value (its type, default, flag value)."""
    kwargs: dict[str, Any] = {"type": _click_type(hint, f.metadata.get("choices"))}
    if "flag_value" in f.metadata:
        kwargs.update(is_flag=False, flag_value=f.metadata["flag_value"])
    if has_default:
        kwargs["default"] = f.default
        kwargs["show_default"] = f.default is not None
    return kwargs


def config_options(cls: type, optional: tuple[str, ...] = ()) -> Callable[[F], F]:
    """Decorate a click command with one option per field of the config dataclass ``cls``.

    The command receives each field under its own name, so ``cls(**values)`` builds the config.
    Fields in ``optional`` are not required options even without a default.
    """
    hints = typing.get_type_hints(cls)
    options = [
        _parameter(f, hints[f.name], f.name in optional)
        for f in dataclasses.fields(cls) if f.init
    ]

    def decorate(func: F) -> F:
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def split_values(cls: type, values: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Split a command's parsed values into ``cls``'s fields and the rest."""
    names = {f.name for f in dataclasses.fields(cls)}
    return (
        {k: v for k, v in values.items() if k in names},
        {k: v for k, v in values.items() if k not in names},
    )


def given_values(ctx: click.Context, values: dict[str, Any]) -> dict[str, Any]:
    """The values of ``values`` the user gave on the command line (not defaults)."""
    return {
        name: value for name, value in values.items()
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE
    }
