"""Compile checked observation terms into one vectorised numpy function for a state layout.

The terms arrive as canonical ``ast`` trees (float literals only, constants inlined; see
:class:`~rlgodot.core.plugin.observation.ObservationTerms`). The generated function costs one
numpy call per operation over the whole batch, never a Python loop per instance; it evaluates
runs of plain scaled columns (``look_0 / 4``, ``look_1 / 4``, ...) with a single division and an
operation that occurs in several places (``target_x - car_x``) once.
"""

from __future__ import annotations

import ast
import copy
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np

#: The numpy implementation of each function of the expression language.
NUMPY_FUNCTIONS: Mapping[str, Callable[..., Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "atan2": np.arctan2,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "min": np.minimum,
    "max": np.maximum,
    "clamp": np.clip,
    "exp": np.exp,
    "log": np.log,
    "pow": np.power,
    "floor": np.floor,
    "sign": np.sign,
}


def value_names(tree: ast.expr) -> set[str]:
    """The names a term reads as values (state names, constants), not the functions it calls."""
    functions = {id(node.func) for node in ast.walk(tree) if isinstance(node, ast.Call)}
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and id(node) not in functions
    }


def compile_terms(
    trees: Sequence[ast.expr], state_names: Sequence[str], low: float, high: float
) -> Callable[[np.ndarray], np.ndarray]:
    """``f(states) -> observations`` for canonical term trees over ``state_names``.

    ``f`` computes in float64 from the ``(n, S)`` states, maps NaN to 0, clips to
    ``[low, high]`` (so +inf becomes ``high`` and -inf ``low``) and returns ``(n, T)`` float32.
    Every name in ``trees`` must be one of ``state_names`` (checked by the caller).
    """
    column = {name: index for index, name in enumerate(state_names)}
    namespace: dict[str, Any] = {"__builtins__": {}}
    namespace.update({f"_f_{name}": function for name, function in NUMPY_FUNCTIONS.items()})
    runs = _runs(trees, column)
    single = {rows[0]: _Localise(column).visit(copy.deepcopy(trees[rows[0]]))
              for rows, _, _ in runs if len(rows) == 1}
    shared = _SharedSubterms(single.values())
    used = {column[name] for row in single for name in value_names(trees[row])}
    lines = ["def _observe(_states, _out):"]
    lines += [f"    _s{index} = _states[:, {index}]" for index in sorted(used)]
    for rows, columns, divisors in runs:
        if len(rows) > 1:
            name = f"_d{rows[0]}"
            namespace[name] = np.array(divisors)
            lines.append(f"    _out[:, {rows[0]}:{rows[-1] + 1}] = "
                         f"_states[:, {columns[0]}:{columns[-1] + 1}] / {name}")
        else:
            expression = shared.visit(single[rows[0]])
            lines += [f"    {temp} = {text}" for temp, text in shared.take_new()]
            lines.append(f"    _out[:, {rows[0]}] = {ast.unparse(expression)}")
    exec(compile("\n".join(lines), "<observation terms>", "exec"), namespace)  # noqa: S102
    return _Evaluator(namespace["_observe"], len(trees), low, high)


def _runs(
    trees: Sequence[ast.expr], column: Mapping[str, int]
) -> list[tuple[list[int], list[int], list[float]]]:
    """Split the terms into runs ``(rows, columns, divisors)`` to evaluate with one division.

    A run is consecutive terms that each read one state column divided by a literal (a bare
    name divides by 1, ``-name`` by -1: both exact), the columns consecutive too. Any other term
    is a run of its own.
    """
    runs: list[tuple[list[int], list[int], list[float]]] = []
    for row, tree in enumerate(trees):
        scaled = _scaled_column(tree)
        last = runs[-1] if runs else None
        if (
            scaled is not None
            and last is not None
            and len(last[2]) == len(last[0])  # the previous run is a scaled one
            and column[scaled[0]] == last[1][-1] + 1
        ):
            last[0].append(row)
            last[1].append(column[scaled[0]])
            last[2].append(scaled[1])
        elif scaled is not None:
            runs.append(([row], [column[scaled[0]]], [scaled[1]]))
        else:
            runs.append(([row], [], []))
    return runs


def _scaled_column(tree: ast.expr) -> tuple[str, float] | None:
    """``(name, divisor)`` if the term is ``name``, ``-name`` or ``name / literal``."""
    if isinstance(tree, ast.Name):
        return tree.id, 1.0
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.operand, ast.Name):
        return tree.operand.id, -1.0
    if isinstance(tree, ast.BinOp) and isinstance(tree.op, ast.Div) and isinstance(
        tree.left, ast.Name
    ):
        divisor = _literal(tree.right)
        if divisor is not None:
            return tree.left.id, divisor
    return None


def _literal(tree: ast.expr) -> float | None:
    if isinstance(tree, ast.Constant):
        return float(tree.value)
    if isinstance(tree, ast.UnaryOp) and isinstance(tree.operand, ast.Constant):
        return -float(tree.operand.value)
    return None


class _Localise(ast.NodeTransformer):
    """State names -> the locals holding their columns; function names -> numpy functions."""

    def __init__(self, column: Mapping[str, int]) -> None:
        self.column = column

    def visit_Call(self, node: ast.Call) -> ast.expr:  # noqa: N802 - ast's naming
        assert isinstance(node.func, ast.Name)
        args = [self.visit(arg) for arg in node.args]
        return ast.Call(ast.Name(f"_f_{node.func.id}", ast.Load()), args, [])

    def visit_Name(self, node: ast.Name) -> ast.expr:  # noqa: N802 - ast's naming
        return ast.Name(f"_s{self.column[node.id]}", ast.Load())


class _SharedSubterms(ast.NodeTransformer):
    """Compute each operation that occurs more than once (``dx`` in several terms) only once.

    Visiting a term replaces its repeated subterms by temporaries; :meth:`take_new` returns the
    assignments of the temporaries it introduced, innermost first, to emit before the term.
    """

    def __init__(self, trees: Iterable[ast.expr]) -> None:
        self.counts = Counter(
            ast.dump(node) for tree in trees for node in ast.walk(tree) if _is_operation(node)
        )
        self.temps: dict[str, str] = {}
        self.new: list[tuple[str, str]] = []

    def visit(self, node: ast.AST) -> ast.AST:
        """``node`` with its repeated operations replaced by their temporaries."""
        key = ast.dump(node) if _is_operation(node) else None
        node = super().visit(node)
        if key is None or self.counts[key] < 2:
            return node
        if key not in self.temps:
            self.temps[key] = f"_t{len(self.temps)}"
            self.new.append((self.temps[key], ast.unparse(node)))
        return ast.Name(self.temps[key], ast.Load())

    def take_new(self) -> list[tuple[str, str]]:
        """The ``(temporary, expression)`` pairs introduced since the last call."""
        new, self.new = self.new, []
        return new


def _is_operation(node: ast.AST) -> bool:
    """A numpy call on state columns: an operation that reads at least one column."""
    return isinstance(node, ast.BinOp | ast.UnaryOp | ast.Call) and any(
        isinstance(child, ast.Name) and child.id.startswith("_s") for child in ast.walk(node)
    )


class _Evaluator:
    """The compiled terms for one state layout, plus the NaN handling, clip and cast."""

    def __init__(self, observe: Callable[[np.ndarray, np.ndarray], None], size: int,
                 low: float, high: float) -> None:
        self._observe = observe
        self._size = size
        self._low = low
        self._high = high

    def __call__(self, states: np.ndarray) -> np.ndarray:
        states = np.asarray(states, dtype=np.float64)
        out = np.empty((states.shape[0], self._size), dtype=np.float64)
        with np.errstate(all="ignore"):
            self._observe(states, out)
        np.copyto(out, 0.0, where=np.isnan(out))
        np.maximum(out, self._low, out=out)
        np.minimum(out, self._high, out=out)
        return out.astype(np.float32)
