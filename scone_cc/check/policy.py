"""What the checker refuses, read from the one syscall table (DESIGN.md §5, §7)."""

import functools
import os

from ..syscalls import by_name, table

# The libc functions whose thread flags decide (clone(fn, stack, flags, ...)).
CLONE_WRAPPERS = ("clone", "__clone")
# Functions that issue the call whose number is their first argument.
SYSCALL_FUNCTIONS = ("syscall",)
# scone's hook: every syscall of the patched libc calls it with the number in RAX.
HOOK = "__scone_syscall"


@functools.lru_cache(maxsize=None)
def bad_functions() -> dict:
    """libc function name -> the unsupported Entry it needs (the table's ``libc:`` lists)."""
    out = {}
    for e in table().values():
        if e.cls == "unsupported" and not e.quiet:
            for name in e.libc:
                out.setdefault(name, e)
    return out


def unsupported_nr(nr: int, quiet: bool = False):
    """The Entry for raw call ``nr`` if the checker must report it, else None.

    ``quiet`` entries (libcs fall back on ENOSYS) count only when asked for:
    the application's own sites, never libc's.
    """
    e = table().get(nr)
    if e is None or e.cls != "unsupported" or (e.quiet and not quiet):
        return None
    return e


def clone_entry():
    return by_name("clone")


def parse_allow(values=(), env=None) -> frozenset:
    """Names from ``--allow`` values (repeatable, comma lists) and $SCONE_ALLOW."""
    env = os.environ if env is None else env
    names = set()
    for v in list(values) + [env.get("SCONE_ALLOW", "")]:
        names.update(n.strip() for n in v.split(",") if n.strip())
    return frozenset(names)


def is_allowed(allow, *names) -> bool:
    """True if any of ``names`` (callee, syscall name, ...) is allowed."""
    return any(n in allow for n in names if n)
