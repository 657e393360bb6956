"""What every command prints when it must stop: one clear line on stderr, then its exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import typer
from rich.console import Console
from rich.markup import escape

from camscan.exitcodes import EXIT_BAD_INPUT
from camscan.inputs import InputError

err = Console(stderr=True)


def fail(message: str, code: int = EXIT_BAD_INPUT) -> NoReturn:
    """One clear line on stderr, then the exit code."""
    err.print(f"camscan: error: {escape(message)}", highlight=False, soft_wrap=True)
    raise typer.Exit(code)


@contextmanager
def bad_input(*also: type[Exception]) -> Iterator[None]:
    """Bad user input (and the `also` kinds of error): one line and exit 2, before any packet."""
    kinds: tuple[type[Exception], ...] = (InputError, *also)
    try:
        yield
    except kinds as exc:
        fail(str(exc))
