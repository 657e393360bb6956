"""House rules a reader relies on: short functions in camscan/ (declarative ones excepted)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 60
# Declarative functions: a typer command's option list is one parameter per option, with its help text.
DECLARATIVE = {("camscan/cli.py", "scan")}


def test_no_function_in_camscan_is_over_sixty_lines() -> None:
    long: list[str] = []
    for path in sorted((ROOT / "camscan").rglob("*.py")):
        where = path.relative_to(ROOT).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (
                isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
                and (where, node.name) not in DECLARATIVE
            ):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{where}: {node.name} ({lines} lines)")
    assert long == []
