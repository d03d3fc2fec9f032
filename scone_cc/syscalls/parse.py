"""Parser of syscalls.tbl (the format is described at the top of that file)."""

import re

from ..errors import SconeError
from .model import ARG_KINDS, CLASSES, EXTERNAL, PATH_MAX, RET_KINDS, UNSUPPORTED, Arg, Entry, Ret

_BRACKET = re.compile(r"^([a-z0-9_]+)(?:\[([^\]]*)\])?$")
_RET = re.compile(r"^([a-z]+)(?:\(([a-z0-9_]+)\))?$")
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*$")


class _Ctx:
    def __init__(self, where: str):
        self.where = where

    def fail(self, lineno: int, msg: str):
        raise SconeError(f"{self.where}:{lineno}: {msg}; fix the syscall table")


def _size_spec(ctx, lineno, spec, names, structs):
    """Turn the S of in[S]/out[S]/inout[S] into (size, size_arg, lenptr)."""
    if spec.startswith("*"):
        ref = spec[1:]
        if ref not in names:
            ctx.fail(lineno, f"'*{ref}' names no argument of this call")
        return 0, names.index(ref), True
    if "*" in spec:
        typ, ref = spec.split("*", 1)
        if typ not in structs:
            ctx.fail(lineno, f"unknown struct '{typ}'")
        if ref not in names:
            ctx.fail(lineno, f"'{ref}' names no argument of this call")
        return structs[typ], names.index(ref), False
    if spec.isdigit():
        return int(spec), None, False
    if spec in structs:
        return structs[spec], None, False
    if spec in names:
        return 1, names.index(spec), False
    ctx.fail(lineno, f"'{spec}' is neither a struct, an argument nor a byte count")


def _arg(ctx, lineno, text, names, structs):
    name, _, kind = text.partition(":")
    m = _BRACKET.match(kind)
    if not _IDENT.match(name) or not m:
        ctx.fail(lineno, f"bad argument '{text}' (expected name:kind)")
    base, spec = m.group(1), m.group(2)
    if base in ("int", "fd", "ptr", "msg_in", "msg_out", "sigmask6") and spec is None:
        return Arg(name, base)
    if base == "str":
        if spec is not None and not spec.isdigit():
            ctx.fail(lineno, f"str[{spec}]: the bound must be a number")
        return Arg(name, "str", int(spec) if spec else PATH_MAX)
    if base in ("in", "out", "inout") and spec:
        size, size_arg, lenptr = _size_spec(ctx, lineno, spec, names, structs)
        if lenptr and base != "out":
            ctx.fail(lineno, f"'{base}[*...]': a capacity pointer only makes sense for out")
        return Arg(name, "out_lenptr" if lenptr else base, size, size_arg)
    if base in ARG_KINDS and spec:
        if spec not in names:
            ctx.fail(lineno, f"{base}[{spec}]: '{spec}' names no argument of this call")
        return Arg(name, base, 0, names.index(spec))
    ctx.fail(lineno, f"unknown argument kind '{kind}'")


def _ret(ctx, lineno, text, names):
    if text == "-":
        return None
    m = _RET.match(text)
    if not m or m.group(1) not in RET_KINDS:
        ctx.fail(lineno, f"unknown result kind '{text}'")
    kind, ref = m.groups()
    if (kind in ("size", "sizeq", "iovsize")) != (ref is not None):
        ctx.fail(lineno, f"result kind '{kind}' {'needs' if ref is None else 'takes no'} argument")
    if ref is not None and ref not in names:
        ctx.fail(lineno, f"result '{text}' names no argument of this call")
    return Ret(kind, names.index(ref) if ref is not None else None)


def parse_table(text: str, where: str = "syscalls.tbl") -> dict:
    """Parse the table text into {nr: Entry} (format: the header of syscalls.tbl)."""
    ctx = _Ctx(where)
    structs: dict[str, int] = {}
    entries: dict[int, dict] = {}
    names: dict[str, int] = {}
    cur = None
    for lineno, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].rstrip()
        if not line:
            continue
        if line[0] in " \t":
            if cur is None:
                ctx.fail(lineno, "attribute line before any call")
            key, sep, val = line.strip().partition(":")
            val = val.strip()
            if not sep or key not in ("why", "fix", "libc", "thread-flags", "quiet"):
                ctx.fail(lineno, f"unknown attribute '{line.strip()}'")
            if key == "why":
                cur["reason"] = val
            elif key == "fix":
                cur["fix"] = val
            elif key == "libc":
                cur["libc"] = tuple(val.split())
            elif key == "thread-flags":
                cur["thread_flags"] = int(val, 16)
            else:
                cur["quiet"] = val == "yes"
            continue
        f = line.split()
        if f[0] == "struct":
            if len(f) != 3 or not f[2].isdigit():
                ctx.fail(lineno, "expected 'struct NAME SIZE'")
            structs[f[1]] = int(f[2])
            continue
        if len(f) < 4 or not f[0].isdigit():
            ctx.fail(lineno, "expected 'NR NAME CLASS RET ARG...'")
        nr, name, cls, ret = int(f[0]), f[1], f[2], f[3]
        if cls not in CLASSES:
            ctx.fail(lineno, f"unknown class '{cls}' (internal, external or unsupported)")
        if nr in entries or name in names:
            ctx.fail(lineno, f"call {nr} {name} listed twice")
        argnames = [a.partition(":")[0] for a in f[4:]]
        if len(argnames) > 6:
            ctx.fail(lineno, f"{name} has more than 6 arguments")
        args = tuple(_arg(ctx, lineno, a, argnames, structs) for a in f[4:])
        if cls == EXTERNAL and any(a.kind == "ptr" for a in args):
            ctx.fail(lineno, f"{name}: an external call cannot pass an enclave pointer ('ptr')")
        r = _ret(ctx, lineno, ret, argnames)
        if (cls == EXTERNAL) != (r is not None):
            ctx.fail(lineno, f"{name}: external calls, and only they, give a result kind")
        cur = dict(name=name, nr=nr, cls=cls, args=args, ret=r, line=lineno)
        entries[nr] = cur
        names[name] = nr
    out = {}
    for nr, e in sorted(entries.items()):
        if e["cls"] == UNSUPPORTED:
            if not e.get("reason") or not e.get("fix"):
                ctx.fail(e["line"], f"unsupported call {e['name']} needs both 'why:' and 'fix:'")
            e.setdefault("libc", (e["name"],))
        out[nr] = Entry(**e)
    return out
