"""lighttpd 1.4 (Debian ``lighttpd``): modules linked in (``LIGHTTPD_STATIC``), its own ``make check``.

The harness (``tests/run-tests.pl``, Perl) starts ``lighttpd -D`` in the
foreground, one process: no fork of the server itself. The FastCGI/SCGI
responders it talks to are built by the same ``make check``, so with
``scone`` they are enclaves too.
"""

from __future__ import annotations

import re
from pathlib import Path

from . import build, compat, source, suite, zlib
from .flavour import Flavour

PACKAGE = "lighttpd"
# mod_cgi and the fastcgi/scgi "bin-path" spawners start children; the
# server's own daemonising (-D not given) forks.
ALLOW = ("fork", "execve", "execv", "execvp")


def static_plugins(makefile_am: str) -> list[str]:
    """Modules the static server links (``src/Makefile.am``'s LIGHTTPD_STATIC list). Pure.

    lighttpd's static build expects the builder to write ``plugin-static.h``
    (one ``PLUGIN_INIT(mod_x)`` per module); its SCons build generates it the
    same way from its own list.
    """
    block = makefile_am.split("if LIGHTTPD_STATIC", 1)[1].split("lighttpd_CPPFLAGS", 1)[0]
    mods = re.findall(r"\b(mod_\w+)\.c\b", block)
    return [m for m in mods if not m.endswith("_api")]


def build_tree(flavour: Flavour) -> Path:
    def recipe(work: Path) -> Path:
        src = source.unpack(PACKAGE, work)
        mods = static_plugins((src / "src" / "Makefile.am").read_text())
        (src / "src" / "plugin-static.h").write_text("".join(f"PLUGIN_INIT({m})\n" for m in mods))
        # mod_deflate's tests need zlib: the one built by the same compiler.
        z = zlib.build_tree(flavour)
        env = flavour.environ(ALLOW, LIGHTTPD_STATIC="yes", LDFLAGS=f"-L{z}",
                              CPPFLAGS=f"-I{z} -idirafter {compat.include_dir()}")
        build.step(["./configure", "--disable-shared", "--enable-static", "--without-pcre2",
                    "--with-zlib", "--without-bzip2"], src, env)
        build.step(["make", "-j2"], src, env)
        # The responders are check-only programs: build them now so the suite only runs.
        build.step(["make", "-j2", "-C", "tests", "fcgi-responder", "scgi-responder"], src, env)
        return src
    return build.cached(PACKAGE, flavour, recipe)


# Checks that fail in the enclave only because they start a child: the C
# unit test t/test_mod runs mod_ssi's "exec" (fork); see tests/apps/RESULTS.md.
NEEDS_CHILD: tuple[str, ...] = ("t/test_mod",)


def _nums(name: str, *spans: tuple[int, int]) -> tuple[str, ...]:
    return tuple(f"{name}#{n}" for lo, hi in spans for n in range(lo, hi + 1))


# Harness tests that fail in the enclave only because the server under test
# must start a child, which the enclave refuses (fork: ENOSYS). Each group
# was checked against the server's error log (tests/tmp/lighttpd/logs).
HARNESS_NEEDS_CHILD: dict[str, tuple[str, ...]] = {
    # mod_cgi forks for every .pl script: "fork failed: Function not
    # implemented", answered 500 (chunked POST to a CGI, 404/error handlers
    # that are CGIs, perl via cgi, X-Sendfile, NPH, cgi-env, extforward,
    # rewrite and setenv checks that read the CGI's output): 42 tests, as
    # many as the error log's fork failures.
    "mod_cgi": _nums("request.t", (19, 24), (69, 74), (118, 118), (120, 138), (148, 151),
                     (155, 155), (157, 161)),
    # fastcgi-responder.conf starts its backends with "bin-path" (fork +
    # exec): "spawning gw failed", the server exits, every request after the
    # start check is refused.
    "fastcgi bin-path": _nums("mod-fastcgi.t", (2, 23)),
    "scgi bin-path": _nums("mod-scgi.t", (2, 9)),
}

# Fail natively only: Debian's musl has no crypt(), so DES/MD5 htpasswd
# entries never verify (401); the enclave's musl has it.
NATIVE_NO_CRYPT: tuple[str, ...] = ("request.t#104", "request.t#105", "request.t#110",
                                    "mod-fastcgi.t#9", "mod-fastcgi.t#10")

_TESTS = re.compile(r"^Files=(\d+), Tests=(\d+)", re.M)
# prove wraps a long list of failed tests onto indented lines.
_SUMMARY = re.compile(r"^(\S+\.t)\s+\(Wstat.*?\n\s+Failed tests?:\s+([\d, -]+(?:\n {8,}[\d, -]+)*)$", re.M)
_UNIT = re.compile(r"^(PASS|FAIL): (\S+)", re.M)


def failed_tests(text: str) -> list[str]:
    """``prove``'s Test Summary Report -> ``["request.t#104", ...]``. Pure."""
    out = []
    for name, spec in _SUMMARY.findall(text):
        for part in re.split(r"[,\s]+", spec.strip()):
            lo, _, hi = part.partition("-")
            out.extend(f"{name.removeprefix('./')}#{n}" for n in range(int(lo), int(hi or lo) + 1))
    return out


def make_check(tree: Path, flavour: Flavour, timeout: float = 900) -> dict:
    """``make -k check``: the C unit tests in ``src/t`` (PASS/FAIL per program) and the
    Perl harness (``tests/``: test count and every ``not ok`` line).

    ``-k`` so that a failing unit test does not hide the harness's results.
    """
    rc, text = suite.run(["make", "-k", "check"], tree, flavour.environ(ALLOW, LIGHTTPD_STATIC="yes"), timeout)
    m = _TESTS.search(text)
    failed = failed_tests(text)
    tests = int(m.group(2)) if m else None
    units = _UNIT.findall(text)
    return {"rc": rc, "tests": tests, "failed": failed,
            "passed": tests - len(failed) if tests is not None else None,
            "unit_passed": sorted(n for r, n in units if r == "PASS"),
            "unit_failed": sorted(n for r, n in units if r == "FAIL"), "log": text[-8000:]}


def config(dirpath: Path, port: int, root: Path) -> Path:
    """A minimal foreground configuration serving ``root`` on ``port`` (no logs, one process)."""
    conf = dirpath / "lighttpd.conf"
    conf.write_text(f"""\
server.document-root = "{root}"
server.bind = "127.0.0.1"
server.port = {port}
server.errorlog = "{dirpath}/error.log"
server.max-keep-alive-requests = 1000000
index-file.names = ("index.html")
""")
    return conf


def command(tree: Path, conf: Path) -> list[str]:
    return [str(tree / "src" / "lighttpd"), "-D", "-f", str(conf)]
