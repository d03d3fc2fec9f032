"""``scone-gcc``: the entry point (DESIGN.md §3).

Expands response files, classifies the arguments, then either replaces
itself with the host gcc (anything that does not link: gcc's exit status,
signals and diagnostics are then gcc's own) or links.
"""

import os
import signal
import sys

from scone_cc.driver import fast, hostgcc, options
from scone_cc.errors import SconeError, run_cli

PROG = "scone-gcc"


def _sysroot() -> str:
    try:
        from scone_cc import sysroot

        return str(sysroot.current())
    except SconeError:
        raise
    except OSError as err:
        raise SconeError(f"sysroot: {err}; check SCONE_CACHE and free disk space, then retry") from None


def _check_inputs(inputs) -> None:
    for name in inputs:
        if name != "-" and not os.path.exists(name):
            raise SconeError(f"{name}: no such input file (in {os.getcwd()}); check the name and path")


def _info(inv, sysroot: str, host) -> bool:
    """Print the answers for ``inv.info`` if all are ours; False to let gcc answer."""
    from scone_cc.driver.info import answer

    answers = [answer(w, sysroot=sysroot, host=host) for w in inv.info]
    if any(a is None for a in answers) or not inv.info:
        return False
    sys.stdout.write("".join(a + "\n" for a in answers))
    sys.stdout.flush()
    return True


def version_text() -> str:
    """``scone-gcc --scone-version``: scone's identity, without building anything.

    ``--version`` stays gcc's own, unchanged, as with musl-gcc and zig cc:
    configure, libtool and CMake read its first line to identify gcc.
    """
    from scone_cc import __version__
    from scone_cc.musl_source import MUSL_VERSION

    return (f"{PROG} (scone) {__version__}\n"
            f"musl {MUSL_VERSION} with the scone overlay; host compiler: {hostgcc.program()} "
            "(its own version: scone-gcc --version)\n")


def help_text() -> str:
    """The ``--scone-*`` part of ``scone-gcc --help``, made from the option table."""
    rows = []
    for o in options.TABLE:
        if o.role != options.SCONE:
            continue
        name = o.name + o.meta if o.name.endswith("=") else o.name
        rows.append((name, o.env, o.help))
    width = max(len(n) for n, _, _ in rows)
    envw = max(len(e) for _, e, _ in rows)
    lines = [f"\n{PROG} options (on the command line, or in the environment variable "
             "named; the command line wins):"]
    lines += [f"  {n:<{width}}  {e:<{envw}}  {h}" for n, e, h in rows]
    return "\n".join(lines) + "\n"


def _help(inv, program: str) -> int:
    """gcc's help, then ours."""
    import subprocess

    sys.stdout.flush()
    try:
        rc = subprocess.run([program, *inv.args]).returncode
    except OSError as err:
        raise SconeError(f"{program}: cannot run the host compiler ({err.strerror}); "
                         "install gcc or set SCONE_HOST_GCC") from None
    sys.stdout.write(help_text())
    sys.stdout.flush()
    return rc


def run(argv) -> int:
    """Do what ``gcc argv`` would, against the scone sysroot; returns the exit status."""
    # Not for the programs this call runs: the launcher names itself to us only.
    launcher = os.environ.pop(fast.LAUNCHER_ENV, "")
    if any(a.startswith("@") for a in argv):
        from scone_cc.driver.respfile import expand

        argv = expand(argv)
    inv = options.classify(argv)
    if ("--scone-version", "") in inv.scone:
        sys.stdout.write(version_text())
        return 0
    printed = [v for n, v in inv.scone if n == "--scone-print"]
    if printed:
        from scone_cc import buildsys

        for what in printed:
            path = buildsys.answer(what)
            if path is None:
                raise SconeError(f"--scone-print={what}: unknown; choose one of "
                                 + ", ".join(buildsys.CHOICES))
            sys.stdout.write(path + "\n")
        return 0
    if "--help" in inv.info:
        return _help(inv, hostgcc.program())
    sysroot = _sysroot()
    from scone_cc.paths import cache_dir

    cache_root = str(cache_dir())
    host = hostgcc.facts(cache_root)
    if launcher:
        fast.refresh(launcher=launcher, sysroot=sysroot, host=host, cache_root=cache_root)
    if inv.action == options.INFO_ACTION and _info(inv, sysroot, host):
        return 0
    if inv.action in (options.LINK, options.PARTIAL, options.COMPILE):
        _check_inputs(inv.inputs)
    if inv.action == options.LINK:
        from scone_cc.driver.link import link

        return link(inv, host=host, sysroot=sysroot, cache_root=cache_root, environ=os.environ)

    from scone_cc.driver.compile import compile_argv

    argv = compile_argv(host.program, inv.args, sysroot, host.include)
    if inv.action == options.PARTIAL:
        # ld -r: no start files or libc; the objects stay relocatable.
        argv.append("-nostdlib")
    sys.stdout.flush()
    # gcc gets the dispositions a shell would give it (the launcher's compile
    # path does), not the SIGPIPE and SIGXFSZ that Python ignores for itself.
    for sig in (signal.SIGPIPE, signal.SIGXFSZ):
        signal.signal(sig, signal.SIG_DFL)
    try:
        os.execvp(argv[0], argv)
    except OSError as err:
        raise SconeError(f"{argv[0]}: cannot run the host compiler ({err.strerror}); "
                         "install gcc or set SCONE_HOST_GCC") from None


def main(argv=None) -> None:
    """Console entry point of ``scone-gcc``."""
    status = run_cli(PROG, run, sys.argv[1:] if argv is None else list(argv))
    sys.exit(status or 0)
