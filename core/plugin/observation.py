"""An env's observation as one expression per element over the raw state: :class:`ObservationTerms`.

One definition, two interpreters: Python evaluates the terms with numpy, vectorised over the batch,
and Godot evaluates the same text (:meth:`ObservationTerms.canonical`) with its ``Expression``
class, so a trained policy can run inside the engine and see exactly what it was trained on. The
language is therefore the common subset of both: float literals, names (state names and named
constants), ``+ - * /``, unary ``-``, parentheses and calls of a few math functions.
"""

from __future__ import annotations

import ast
import copy
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from rlgodot.core.errors import PluginError
from rlgodot.core.plugin.observation_numpy import compile_terms, value_names

#: The callable functions and their parameters (numpy implementations: observation_numpy).
FUNCTIONS: Mapping[str, tuple[str, ...]] = {
    "sin": ("x",),
    "cos": ("x",),
    "tan": ("x",),
    "atan2": ("y", "x"),
    "sqrt": ("x",),
    "abs": ("x",),
    "min": ("a", "b"),
    "max": ("a", "b"),
    "clamp": ("x", "lo", "hi"),
    "exp": ("x",),
    "log": ("x",),
    "pow": ("base", "exponent"),
    "floor": ("x",),
    "sign": ("x",),
}

#: Identifiers Godot's ``Expression`` gives a meaning of its own: no state or constant may use them.
GODOT_RESERVED = frozenset({"PI", "TAU", "INF", "NAN", "true", "false", "null", "self"})

ALLOWED = (
    "allowed: float literals, state names and constants, + - * /, unary -, parentheses, and "
    + ", ".join(f"{name}({', '.join(params)})" for name, params in FUNCTIONS.items())
)

_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div)
_FORBIDDEN = {
    ast.Pow: "'**' (use pow(x, y))",
    ast.FloorDiv: "'//' (use floor(x / y))",
    ast.Mod: "'%'",
    ast.UAdd: "unary '+'",
    ast.Attribute: "attribute access",
    ast.Compare: "comparisons",
    ast.BoolOp: "'and' / 'or'",
    ast.IfExp: "'x if c else y'",
    ast.Subscript: "indexing",
}


@dataclass(frozen=True)
class ObservationTerms:
    """An env's observation: one expression per element over the raw state.

    Declared in :attr:`EnvSpec.observation <rlgodot.core.plugin.EnvSpec.observation>`; the default
    :meth:`Decoder.observations <rlgodot.core.plugin.Decoder.observations>` evaluates it. Each term
    is computed in float64, then NaN becomes 0, +inf ``high``, -inf ``low``, the result is clipped
    to ``[low, high]`` and cast to float32.

    Example::

        ObservationTerms(
            terms=("vx / SPEED", "sin(angle)", "x / max(course_length, 1)"),
            constants={"SPEED": 15.0},
        )

    Attributes:
        terms: One expression per observation element, over state names and ``constants``.
        constants: Named constants usable in the terms (inlined by :meth:`canonical`).
        low: Lower clip bound of every element (must equal the observation space's).
        high: Upper clip bound of every element.
    """

    terms: tuple[str, ...]
    constants: Mapping[str, float] = field(default_factory=dict)
    low: float = -1.0
    high: float = 1.0

    def __post_init__(self) -> None:
        """Normalise the fields and check everything that does not depend on the state names.

        Raises:
            PluginError: A term is not in the expression language, a constant is not a finite
                number, or ``low < high`` does not hold.
        """
        object.__setattr__(self, "terms", tuple(self.terms))
        object.__setattr__(self, "constants", dict(self.constants))
        if not self.terms:
            raise PluginError("ObservationTerms needs at least one term")
        if not (math.isfinite(self.low) and math.isfinite(self.high) and self.low < self.high):
            raise PluginError(
                f"ObservationTerms needs finite low < high, got low={self.low}, high={self.high}"
            )
        for name, value in self.constants.items():
            if not name.isidentifier() or name in FUNCTIONS or name in GODOT_RESERVED:
                raise PluginError(
                    f"observation constant {name!r}: not a usable name (an identifier that is "
                    f"neither a function nor one of {sorted(GODOT_RESERVED)}); rename it"
                )
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not _finite(value):
                raise PluginError(
                    f"observation constant {name!r} = {value!r}: constants must be finite numbers"
                )
        self._trees  # noqa: B018 - parses and checks every term now

    def check(self, state_names: Sequence[str]) -> None:
        """Check that every name the terms use is a state name or a constant.

        Raises:
            PluginError: Naming the term, the unknown name and what is allowed.
        """
        clashes = sorted(set(state_names) & set(self.constants))
        if clashes:
            raise PluginError(
                f"observation constants {clashes} are also state names; rename the constants"
            )
        known = set(state_names) | set(self.constants)
        for index, (term, tree) in enumerate(zip(self.terms, self._trees, strict=True)):
            unknown = sorted(value_names(tree) - known)
            if unknown:
                raise PluginError(
                    f"{_where(index, term)} uses the unknown name {unknown[0]!r}; names are the "
                    f"state names ({', '.join(state_names)}) and the constants "
                    f"({', '.join(self.constants) or 'none'})"
                )

    def canonical(self) -> list[str]:
        """The terms as Godot's ``Expression`` must parse them.

        Every int literal becomes a float literal (``15`` -> ``15.0``: Godot divides ints as
        ints) and every constant is inlined as a float literal.
        """
        return [ast.unparse(tree) for tree in self._canonical_trees]

    def evaluate(self, states: np.ndarray, state_names: Sequence[str]) -> np.ndarray:
        """The observations of a batch of raw states.

        Args:
            states: Raw states, shape ``(n, len(state_names))``, float32.
            state_names: The name of each state column.

        Returns:
            Shape ``(n, len(terms))`` float32, within ``[low, high]``.

        Raises:
            PluginError: A term uses a name that is neither a state name nor a constant.
        """
        return self.bind(state_names)(states)

    def bind(self, state_names: Sequence[str]) -> Callable[[np.ndarray], np.ndarray]:
        """:meth:`evaluate` for one fixed state layout, compiled once: ``f(states) -> obs``.

        Raises:
            PluginError: A term uses a name that is neither a state name nor a constant.
        """
        key = tuple(state_names)
        bound = self._bound.get(key)
        if bound is None:
            self.check(key)
            bound = self._bound[key] = compile_terms(
                self._canonical_trees, key, self.low, self.high
            )
        return bound

    @cached_property
    def _trees(self) -> tuple[ast.expr, ...]:
        return tuple(_parse(index, term) for index, term in enumerate(self.terms))

    @cached_property
    def _canonical_trees(self) -> tuple[ast.expr, ...]:
        """The terms with float literals only and the constants inlined."""
        return tuple(_Canonical(self.constants).visit(copy.deepcopy(tree)) for tree in self._trees)

    @cached_property
    def _bound(self) -> dict[tuple[str, ...], Callable[[np.ndarray], np.ndarray]]:
        return {}


def _finite(value: float) -> bool:
    """``value`` is a finite float (an int too large for a float is not)."""
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


def _where(index: int, term: str) -> str:
    return f"observation term {index} ({term!r})"


def _parse(index: int, term: str) -> ast.expr:
    """Parse one term and check it is in the expression language (names are checked later)."""
    try:
        tree = ast.parse(term.strip(), mode="eval").body
    except SyntaxError as exc:
        message = f"{_where(index, term)} is not an expression ({exc.msg}); {ALLOWED}"
        raise PluginError(message) from None
    for node in ast.walk(tree):
        problem = _problem(node)
        if problem:
            raise PluginError(
                f"{_where(index, term)} uses {problem}, which Godot cannot evaluate as well; "
                f"{ALLOWED}"
            )
    return tree


def _problem(node: ast.AST) -> str | None:
    """Why ``node`` is outside the expression language, or ``None`` if it is inside."""
    if isinstance(node, ast.BinOp):
        if isinstance(node.op, _BINARY):
            return None
        return _FORBIDDEN.get(type(node.op), "this operator")
    if isinstance(node, ast.UnaryOp):
        if isinstance(node.op, ast.USub):
            return None
        return _FORBIDDEN.get(type(node.op), "'not' / '~'")
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, bool) or not isinstance(value, int | float):
            return f"the literal {value!r}"
        return None if _finite(value) else f"the non-finite literal {value!r}"
    if isinstance(node, ast.Call):
        return _call_problem(node)
    if isinstance(node, ast.Name):
        return f"the name {node.id!r}" if node.id in GODOT_RESERVED else None
    if isinstance(node, ast.operator | ast.unaryop | ast.expr_context):
        return None
    return _FORBIDDEN.get(type(node), f"'{type(node).__name__}'")


def _call_problem(node: ast.Call) -> str | None:
    if not isinstance(node.func, ast.Name):
        return "calling anything but a function name"
    name = node.func.id
    if name not in FUNCTIONS:
        return f"the function {name!r}"
    if node.keywords or any(isinstance(arg, ast.Starred) for arg in node.args):
        return f"keyword or * arguments in {name}()"
    params = FUNCTIONS[name]
    if len(node.args) != len(params):
        return f"{name}() with {len(node.args)} arguments (it takes {', '.join(params)})"
    return None


class _Canonical(ast.NodeTransformer):
    """Int literals -> float literals; constants -> their value as a float literal; ``--x`` -> x."""

    def __init__(self, constants: Mapping[str, float]) -> None:
        self.constants = constants

    def visit_Constant(self, node: ast.Constant) -> ast.expr:  # noqa: N802 - ast's naming
        return ast.Constant(float(node.value))

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.expr:  # noqa: N802 - ast's naming
        operand = self.visit(node.operand)
        if isinstance(operand, ast.UnaryOp):  # -(-x) is x exactly; Godot needs no '--'
            return operand.operand
        return ast.UnaryOp(node.op, operand)

    def visit_Name(self, node: ast.Name) -> ast.expr:  # noqa: N802 - ast's naming
        if node.id not in self.constants:
            return node
        value = float(self.constants[node.id])
        literal = ast.Constant(abs(value))
        return ast.UnaryOp(ast.USub(), literal) if math.copysign(1.0, value) < 0 else literal
