"""``scone-check FILE...``: the static check as a command (DESIGN.md §7).

Findings go to stdout, one gcc-style line each (``--json``: one JSON object
per line); notes and bad-input errors go to stderr. Exit 2 if any input was
bad, else 1 if any finding is an error, else 0.
"""

import json
import sys

import click

from .. import __version__
from ..errors import SconeError, run_cli


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="scone-check",
                      message="%(prog)s (scone) %(version)s")
@click.option("--allow", "allow", multiple=True, metavar="NAME[,NAME...]",
              help="Report calls to NAME (a function or a system call) as warnings; also $SCONE_ALLOW.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding, one per line.")
@click.argument("files", nargs=-1, required=True)
def _command(allow, as_json, files):
    """Report calls that need system calls enclaves do not support, with file:line."""
    from . import ERROR, check_path
    from .policy import parse_allow

    allowed = parse_allow(allow)
    bad_input = False
    findings = []
    for path in files:
        notes = []
        try:
            found = check_path(path, allowed, notes)
        except SconeError as err:
            for n in notes:
                click.echo(n, err=True)
            click.echo(f"scone-check: error: {err}", err=True)
            bad_input = True
            continue
        for n in notes:
            click.echo(n, err=True)
        for f in found:
            click.echo(json.dumps(f.to_json(), sort_keys=True) if as_json else f.format())
        findings.extend(found)
    if bad_input:
        sys.exit(2)
    sys.exit(1 if any(f.severity == ERROR for f in findings) else 0)


def main(argv=None):
    """Entry point of the ``scone-check`` console script."""
    def go():
        try:
            _command.main(args=argv, prog_name="scone-check", standalone_mode=False)
        except click.UsageError as err:
            raise SconeError(f"{err.format_message().rstrip('.')}; see scone-check --help") from None
        except click.exceptions.Abort:
            raise KeyboardInterrupt from None

    return run_cli("scone-check", go)
