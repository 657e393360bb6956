"""Static check that a fingerprint regex cannot backtrack catastrophically on hostile input."""

from __future__ import annotations

import importlib
from typing import Any

# re's own parser: the only way to see a pattern's structure without writing a regex parser.
_parser: Any = importlib.import_module("re._parser")

_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_LOOKS = frozenset({"ASSERT", "ASSERT_NOT"})
_STARTS = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING"})
_UNBOUNDED = 64  # a repeat allowing more than this many items counts as unbounded


def regex_risk(pattern: str, flags: int = 0, long_input: bool = False) -> str | None:
    """Why the pattern may run super-linearly on hostile input, or None when it is safe."""
    tree = _parser.parse(pattern, flags)
    if _nested(tree, inside=False):
        return "pattern nests a variable-length repeat inside an unbounded one (catastrophic backtracking)"
    items = list(tree)
    anchored = bool(items) and str(items[0][0]) == "AT" and str(items[0][1]) in _STARTS
    if not anchored and any(_unbounded_in_look(op, av) for op, av in _walk(tree)):
        return "a lookahead/lookbehind with an unbounded repeat must follow a leading ^ or \\A"
    if long_input and _risky_for_long_input(items, anchored):
        return "on this long field, unbounded repeats may only open a lookahead right after a leading ^"
    return None


def _children(av: Any) -> list[Any]:
    """Sub-patterns directly inside one parsed node's argument."""
    found: list[Any] = []
    stack = [av]
    while stack:
        item = stack.pop()
        if isinstance(item, tuple | list):
            stack.extend(item)
        elif hasattr(item, "data"):  # a SubPattern
            found.append(item)
    return found


def _walk(tree: Any) -> list[tuple[Any, Any]]:
    """Every (op, argument) node of a parsed pattern, depth first."""
    nodes: list[tuple[Any, Any]] = []
    for op, av in tree:
        nodes.append((op, av))
        for sub in _children(av):
            nodes.extend(_walk(sub))
    return nodes


def _unbounded(op: Any, av: Any) -> bool:
    return str(op) in _REPEATS and int(av[1]) > _UNBOUNDED


def _variable(op: Any, av: Any) -> bool:
    return str(op) in _REPEATS and int(av[0]) != int(av[1])


def _nested(tree: Any, inside: bool) -> bool:
    for op, av in tree:
        if inside and _variable(op, av):
            return True
        outer = inside or _unbounded(op, av)
        if any(_nested(sub, outer) for sub in _children(av)):
            return True
    return False


def _unbounded_in_look(op: Any, av: Any) -> bool:
    return str(op) in _LOOKS and any(_unbounded(o, a) for o, a in _walk(av[1]))


def _risky_for_long_input(items: list[Any], anchored: bool) -> bool:
    """True unless every unbounded repeat is the lazy/greedy scan opening a lookahead after ^."""
    for index, (op, av) in enumerate(items):
        if str(op) in _LOOKS and anchored and index > 0:
            body = list(av[1])
            rest = body[1:] if body and _unbounded(*body[0]) else body
            if any(_unbounded(o, a) for o, a in _walk(rest)):
                return True
            if body and _unbounded(*body[0]) and any(_unbounded(o, a) for o, a in _walk(body[0][1][2])):
                return True
        elif _unbounded(op, av) or any(_unbounded(o, a) for o, a in _walk([(op, av)])):
            return True
    return False
