"""The compile path without Python: a shell fragment the launcher sources.

``scone-gcc`` as installed is a POSIX sh launcher (``launcher.sh``); the
Python driver is ``scone-gcc-driver`` beside it. Builds call the compiler
thousands of times, mostly with ``-c``, and starting Python costs tens of
milliseconds (more with a site ``.pth`` that imports something) where gcc
takes about ten. So the launcher sources ``<cache>/driver/launch<its own
path, / as _>.sh`` and, if every check in it passes, that fragment execs
gcc itself; in every other case the launcher runs the driver, exactly as
before.

The fragment is generated here, from the driver's own table and function
(``options.TABLE``, ``compile.compile_argv``), whenever the driver runs from
the launcher and finds it missing or different: the flags have one source.
It execs gcc only for a call that the driver would classify as a compile
(a compile-only option, no ``@file``, no ``-print-*`` or other info option,
no forbidden option, no option missing its value, no ``--scone-*`` option
but those that only shape a link, which it drops as the driver does, every
input present), and only while what the driver would compute is still what
it computed when it wrote the fragment:

* the same launcher and cache folder, ``SCONE_SYSROOT`` and
  ``SCONE_HOST_GCC`` unset, ``gcc`` found at the same place in ``PATH``;
* the same files, by ``stat -L`` (device, inode, size, mtime in ns): gcc,
  the launcher, the driver script, the driver's Python modules, and every
  input of the sysroot key as its stamp lists them (scone_cc.sysroot: the
  key is only trusted from a stamp whose inputs are older than it by
  RACY_NS, and so is this);
* the sysroot and gcc's include folder still there.

Anything else (a check fails, ``stat`` is not GNU's) falls back to the
driver, which rewrites the fragment if it is out of date. Every message and
exit status is therefore the driver's own, or gcc's.
"""

import os
import time

from scone_cc.driver import compile as compile_path
from scone_cc.driver import options

# Set by the launcher when it runs the driver: the path the fragment is for.
LAUNCHER_ENV = "SCONE_GCC_LAUNCHER"
STAT_FORMAT = "%d:%i:%s:%.9Y"
# The Python sources whose code shapes the fragment.
_MODULES = ("driver/__init__.py", "driver/compile.py", "driver/fast.py", "driver/gcc.py",
            "driver/hostgcc.py", "driver/options.py", "driver/respfile.py",
            "__init__.py", "errors.py", "paths.py", "sysroot.py")


def fragment_path(cache_root: str, launcher: str) -> str:
    """Where the launcher at ``launcher`` (absolute) looks for its fragment."""
    return os.path.join(cache_root, "driver", "launch" + launcher.replace("/", "_") + ".sh")


def _q(word: str) -> str:
    """``word`` as one sh word, whatever it holds."""
    return "'" + word.replace("'", "'\\''") + "'"


def _stat_line(st: os.stat_result) -> str:
    """What ``stat -L -c STAT_FORMAT`` prints for ``st``."""
    ns = st.st_mtime_ns
    return f"{st.st_dev}:{st.st_ino}:{st.st_size}:{ns // 10**9}.{ns % 10**9:09d}"


# The driver's own options that act on a call that does not link
# (gcc.run answers them); every other --scone-* option only shapes a link,
# and the compile path drops it (a test checks each against the driver).
ACTING = ("--scone-print=", "--scone-version")


def _action(opt, joined: bool) -> str:
    """The fragment's reaction to a word that lookup() finds as ``opt``.

    ``joined``: the word carries a value after the name (a prefix match).
    """
    value_missing = opt.syntax == options.JOINED and not joined
    if opt.role in (options.INFO, options.FORBIDDEN) or opt.name in ACTING:
        return "return"
    if opt.role == options.SCONE:
        return "return" if value_missing else "_sc_drop=1"
    takes_next = not joined and opt.syntax in (options.SEPARATE, options.JOINED_OR_SEPARATE)
    parts = (["_sc_c=1"] if opt.role == options.COMPILE_ONLY else []) + (["_sc_skip=1"] if takes_next else [])
    return " ".join(parts) or ":"


def _arms(act_of) -> list[str]:
    """case arms in lookup()'s order: a whole word found in the table first,
    then the joined spellings, longest name first."""
    exact: dict[str, list[str]] = {}
    for opt in options.TABLE:
        exact.setdefault(act_of(opt, False), []).append(opt.name)
    arms = [f"    {'|'.join(_q(n) for n in names)}) {act} ;;" for act, names in exact.items()]
    arms += [f"    {_q(opt.name)}*) {act_of(opt, True)} ;;" for opt in options._PREFIX]
    return arms


def classify_sh() -> tuple[str, str]:
    """The loop over "$@" that classify() would agree with, as far as it
    matters here, and then the words the driver drops taken out of "$@".

    A word that makes the driver do anything but a compile returns to the
    launcher.
    """
    def drop_only(opt, joined):
        act = _action(opt, joined)
        return "continue" if act == "_sc_drop=1" else ("_sc_skip=1" if "_sc_skip=1" in act else ":")

    return "\n".join([
        "_sc_c= _sc_skip= _sc_drop=",
        "for _sc_w do",
        "  case $_sc_w in @*) return ;; esac",     # a response file, even as a value
        '  if [ -n "$_sc_skip" ]; then _sc_skip=; continue; fi',
        "  case $_sc_w in",
        "    -) ;;",
        '    [!-]*|"") [ -e "$_sc_w" ] || return ;;',   # an input: the driver names a missing one
        *_arms(_action),
        "    --scone*) return ;;",
        "    *) ;;",
        "  esac",
        "done",
        '[ -z "$_sc_skip" ] && [ -n "$_sc_c" ] || return',
    ]), "\n".join([
        # Only once nothing can return: this rewrites "$@".
        'if [ -n "$_sc_drop" ]; then',
        "  _sc_n=$#",
        '  while [ "$_sc_n" -gt 0 ]; do',
        '    _sc_w=$1; shift; _sc_n=$((_sc_n - 1))',
        '    if [ -n "$_sc_skip" ]; then _sc_skip=; set -- "$@" "$_sc_w"; continue; fi',
        "    case $_sc_w in",
        *("  " + a for a in _arms(drop_only)),
        "    esac",
        '    set -- "$@" "$_sc_w"',
        "  done",
        "fi",
    ])


def fragment(*, launcher: str, cache_root: str, program: str, found: str, gcc_include: str,
             sysroot: str, stats: list[tuple[str, str]]) -> str:
    """The fragment's text: checks, classification, exec. Pure.

    ``stats``: (path, what ``stat -L -c STAT_FORMAT`` must print for it).
    """
    marker = "\0"
    argv = compile_path.compile_argv(program, [marker], sysroot, gcc_include)
    cut = argv.index(marker)
    before, after = argv[:cut], argv[cut + 1:]
    paths, lines = zip(*stats)
    classify, drop = classify_sh()
    return "\n".join([
        "# scone-gcc's compile path, generated by scone_cc/driver/fast.py from the",
        "# driver's option table; sourced by the launcher. Do not edit: the driver",
        "# rewrites it. Every 'return' hands the call to the Python driver.",
        f'[ "$_sc_self" = {_q(launcher)} ] && [ "$_sc_cache" = {_q(cache_root)} ] || return',
        '[ -z "${SCONE_SYSROOT:-}" ] && [ -z "${SCONE_HOST_GCC:-}" ] || return',
        classify,
        f'_sc_g=$(command -v {_q(program)}) && [ "$_sc_g" = {_q(found)} ] || return',
        f"[ -d {_q(sysroot)} ] && [ -d {_q(gcc_include)} ] || return",
        f"[ \"$(stat -L -c '{STAT_FORMAT}' -- {' '.join(_q(p) for p in paths)} 2>/dev/null)\" = "
        f"{_q(chr(10).join(lines))} ] || return",
        drop,
        "exec " + " ".join(_q(w) for w in before) + ' "$@" ' + " ".join(_q(w) for w in after),
        "",
    ])


def _fresh_stats(paths_sizes, now_ns: int, racy_ns: int):
    """stat lines for (path, size, mtime_ns or None) triples; None if any
    changed since it was vouched for, or is too recent to be trusted."""
    out = []
    for path, size, mtime in paths_sizes:
        try:
            st = os.stat(path)
        except OSError:
            return None
        if (size is not None and (st.st_size, st.st_mtime_ns) != (size, mtime)) \
                or st.st_mtime_ns >= now_ns - racy_ns:
            return None
        out.append((path, _stat_line(st)))
    return out


def refresh(*, launcher: str, sysroot: str, host, cache_root: str, environ=os.environ) -> None:
    """Write the fragment of the launcher at ``launcher`` if it is not up to date.

    Called by the driver once it knows the sysroot and the host gcc. Writes
    nothing (and the launcher keeps falling back) unless the sysroot's key
    was vouched for by a valid stamp and the compile path's inputs are as
    the launcher will find them. Errors only cost the fast path.
    """
    if not launcher or not os.path.isabs(launcher) or environ.get("SCONE_SYSROOT") \
            or environ.get("SCONE_HOST_GCC") or host.program != "gcc":
        return
    from scone_cc import sysroot as sysroot_mod
    from scone_cc.driver import hostgcc

    stamped = sysroot_mod.stamped_inputs()
    found = hostgcc.find(host.program)
    if stamped is None or found is None or stamped[1] != os.path.realpath(found) \
            or os.path.basename(sysroot) != "sysroot-" + stamped[0][:16]:
        return
    import sys

    here = os.path.dirname(os.path.abspath(__file__))
    pkg = os.path.dirname(here)
    own = [found, launcher, os.path.abspath(sys.argv[0])] + [os.path.join(pkg, m) for m in _MODULES]
    stats = _fresh_stats([(p, None, None) for p in own] + list(stamped[2]),
                         time.time_ns(), sysroot_mod.RACY_NS)
    if stats is None:
        return
    text = fragment(launcher=launcher, cache_root=cache_root, program=host.program, found=found,
                    gcc_include=host.include, sysroot=sysroot, stats=stats)
    path = fragment_path(cache_root, launcher)
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            if f.read() == text:
                return
    except OSError:
        pass
    try:
        from scone_cc.fsutil import atomic_write

        os.makedirs(os.path.dirname(path), exist_ok=True)
        atomic_write(path, text.encode("utf-8", "surrogateescape"))
    except OSError:
        pass  # a read-only cache, a name too long: the driver serves every call
