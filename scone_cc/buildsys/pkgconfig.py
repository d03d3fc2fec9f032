"""``scone-pkg-config``: pkg-config that sees only the scone prefix.

``PKG_CONFIG_LIBDIR`` is set to the prefix's ``lib/pkgconfig`` and
``share/pkgconfig`` (plus ``$SCONE_PKG_CONFIG_PATH``), and the host's
``PKG_CONFIG_PATH`` is dropped, so a host .pc file (glibc-built, e.g.
/usr/lib/x86_64-linux-gnu/pkgconfig/expat.pc) is never found. ``--static``
is always passed: every scone link is static, so ``Libs.private`` count.
"""

import os
import sys

PROG = "scone-pkg-config"


def environ(env) -> dict:
    """The environment pkg-config runs with (pure but for the prefix lookup)."""
    from scone_cc.paths import prefix_dir

    prefix = str(prefix_dir())
    dirs = [p for p in env.get("SCONE_PKG_CONFIG_PATH", "").split(os.pathsep) if p]
    dirs += [f"{prefix}/lib/pkgconfig", f"{prefix}/share/pkgconfig"]
    out = {k: v for k, v in env.items() if k not in ("PKG_CONFIG_PATH", "PKG_CONFIG_SYSROOT_DIR")}
    out["PKG_CONFIG_LIBDIR"] = os.pathsep.join(dirs)
    return out


def main(argv=None) -> None:
    """Console entry point: exec the host's pkg-config (``$SCONE_PKG_CONFIG`` or pkg-config)."""
    args = sys.argv[1:] if argv is None else list(argv)
    prog = os.environ.get("SCONE_PKG_CONFIG") or "pkg-config"
    # --static changes nothing for the queries that print no flags.
    try:
        os.execvpe(prog, [prog, "--static", *args], environ(os.environ))
    except OSError as err:
        sys.stderr.write(f"{PROG}: error: {prog}: cannot run it ({err.strerror}); "
                         "install pkg-config (apt-get install pkg-config) or set SCONE_PKG_CONFIG\n")
        sys.exit(127)
