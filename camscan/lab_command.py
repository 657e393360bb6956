"""`camscan lab ...`: hand the command line over to the separately installed lab (camlab), never importing it.

The simulated camera network is its own distribution (`camscan-lab`, command `camlab`) so that a scan never
loads it. This command only checks that the package is installed and then replaces this process with
`python -m camlab ARGS`, so exit codes, signals and the terminal belong to the lab's own command.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import typer

LAB_PACKAGE = "camlab"
PROG_ENV = "CAMLAB_PROG"  # read by camlab to print `camscan lab` in its usage lines
INSTALL_HINT = (
    "camscan lab needs the camscan-lab package: pip install -e ./lab in a source checkout "
    "(make setup installs it), or pip install camscan-lab"
)
HELP = "The simulated camera network (the camscan-lab package; same as `camlab`): up, down, serve, status."
FORWARD_SETTINGS = {"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []}


def lab_installed() -> bool:
    """Whether the lab package can be imported (looked up, not imported)."""
    return importlib.util.find_spec(LAB_PACKAGE) is not None


def forward(ctx: typer.Context) -> None:
    """Run `camlab` with the remaining arguments in place of this process (exit 2 when it is missing)."""
    if not lab_installed():
        typer.echo(f"camscan: error: {INSTALL_HINT}", err=True)
        raise typer.Exit(2)
    sys.stdout.flush()
    sys.stderr.flush()
    os.environ[PROG_ENV] = "camscan lab"
    # hand over to the lab package under this interpreter: the user's own arguments, no shell
    os.execv(sys.executable, [sys.executable, "-m", LAB_PACKAGE, *ctx.args])  # noqa: S606


def register(app: typer.Typer) -> None:
    """Add `lab` to camscan's command line as a pass-through to camlab."""
    app.command("lab", help=HELP, context_settings=FORWARD_SETTINGS, add_help_option=False)(forward)
