"""The one error type that reaches users.

Library code raises SconeError and never prints or exits; each command's
entry point turns it into one line on stderr and a non-zero exit.
"""

# Imported here, at the top: a signal that lands while the signal
# handlers are being put in place then finds only module-level frames.
import os
import signal


class SconeError(Exception):
    """A user-facing error: what went wrong, where, and how to fix it.

    ``str(err)`` is the whole message, e.g.
    ``app.o: not an ELF file (bad magic 7f454c47); pass an object built for x86-64``.
    ``exit_code`` is what the command exits with (2 = bad input by default).
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(BaseException):
    """SIGTERM, SIGINT or SIGHUP arrived: unwind (removing temporary files),
    then exit 128 + the signal's number. A BaseException so that no
    ``except Exception`` of library code swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _raise_interrupted(signum, frame):
    raise Interrupted(signum)


def catch_signals() -> None:
    """Turn SIGTERM, SIGINT and SIGHUP into Interrupted, unless they are ignored.

    A signal ignored when the command started (``nohup``, a background job)
    stays ignored, as programs started from a shell expect.
    """

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) not in (signal.SIG_IGN, None):
            signal.signal(sig, _raise_interrupted)


def exit_on_signals(prog: str) -> None:
    """Until run_cli takes over: SIGTERM, SIGINT or SIGHUP end the command at
    once with one line and 128 + the signal (nothing is written yet, so there
    is nothing to remove). For a command's module to call before it imports
    what is slow to import; run_cli calls it again once the command's work
    is done, so that a signal during the interpreter's shutdown is one line
    too (the output is complete by then)."""

    def stop(signum, frame):
        os.write(2, f"{prog}: interrupted by {signal.Signals(signum).name}\n".encode())
        os._exit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        if signal.getsignal(sig) not in (signal.SIG_IGN, None):
            signal.signal(sig, stop)


def run_cli(prog: str, func, *args, **kwargs):
    """Call ``func`` and turn SconeError or a signal into one stderr line + exit.

    Used by every console script so that bad input never shows a traceback:
    a SconeError exits with its ``exit_code``; SIGTERM, SIGINT and SIGHUP
    exit 128 + the signal's number (130 for Ctrl-C) once temporary files
    are removed.
    """
    import sys

    catch_signals()
    try:
        result = func(*args, **kwargs)
        exit_on_signals(prog)
        return result
    except SconeError as err:
        sys.stderr.write(f"{prog}: error: {err}\n")
        sys.exit(err.exit_code)
    except (Interrupted, KeyboardInterrupt) as err:
        signum = getattr(err, "signum", signal.SIGINT)
        # Nothing may interrupt the last words.
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        sys.stderr.write(f"{prog}: interrupted by {signal.Signals(signum).name}\n")
        sys.exit(128 + signum)


def click_main(prog: str, command, argv=None):
    """Run a click command as one of our CLIs: a usage error is one line, exit 2.

    click's own handling prints a usage block and a hint over several lines
    and turns Ctrl-C into "Aborted!" and exit 1; here both follow run_cli.
    """
    import click

    try:
        return command.main(args=argv, prog_name=prog, standalone_mode=False)
    except click.UsageError as err:
        if type(err).__name__ == "NoArgsIsHelpError":     # a bare `prog`: its help, exit 2
            import sys

            sys.stderr.write(err.format_message() + "\n")
            sys.exit(err.exit_code)
        path = err.ctx.command_path if err.ctx else prog
        raise SconeError(f"{err.format_message().rstrip('.')}; see `{path} --help`",
                         err.exit_code) from None
    except click.ClickException as err:
        raise SconeError(err.format_message().rstrip("."), err.exit_code) from None
    except click.exceptions.Abort:
        raise KeyboardInterrupt from None
