"""The one error type that reaches users.

Library code raises SconeError and never prints or exits; each command's
entry point turns it into one line on stderr and a non-zero exit.
"""


class SconeError(Exception):
    """A user-facing error: what went wrong, where, and how to fix it.

    ``str(err)`` is the whole message, e.g.
    ``app.o: not an ELF file (bad magic 7f454c47); pass an object built for x86-64``.
    ``exit_code`` is what the command exits with (2 = bad input by default).
    """

    def __init__(self, message: str, exit_code: int = 2):
        super().__init__(message)
        self.exit_code = exit_code


def run_cli(prog: str, func, *args, **kwargs):
    """Call ``func`` and turn SconeError / Ctrl-C into one stderr line + exit.

    Used by every console script so that bad input never shows a traceback.
    """
    import sys

    try:
        return func(*args, **kwargs)
    except SconeError as err:
        sys.stderr.write(f"{prog}: error: {err}\n")
        sys.exit(err.exit_code)
    except KeyboardInterrupt:
        sys.stderr.write(f"{prog}: interrupted\n")
        sys.exit(130)
