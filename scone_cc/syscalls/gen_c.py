"""Generate runtime/include/scone/syscall_table.h from syscalls.tbl.

``python3 -m scone_cc.syscalls.gen_c [OUT]`` writes the header atomically;
``render()`` returns its text (the test compares it with the committed file).
"""

import sys
from pathlib import Path

from . import PSEUDO_BASE, table
from .model import ARG_KINDS, CLASSES, RET_KINDS

HEADER = Path(__file__).resolve().parents[2] / "runtime" / "include" / "scone" / "syscall_table.h"
NONE = 0xFF

_PREAMBLE = """\
/*
 * GENERATED from scone_cc/syscalls/syscalls.tbl by
 * `python3 -m scone_cc.syscalls.gen_c` -- do not edit; edit the table.
 *
 * The one syscall table (DESIGN.md section 5), indexed by system call number:
 * its name, its class, and for external calls how each argument is
 * marshalled and how the result is checked. Pseudo-calls of the scone hook
 * (numbers >= SCONE_SYS_PSEUDO_BASE) have their own arrays.
 *
 * Marshalling of one argument (struct scone_sys_arg):
 *   kind      SCONE_ARG_*
 *   size_arg  index (0..5) of the argument giving the element count or byte
 *             count, or SCONE_SYS_NOARG
 *   size      IN/OUT/INOUT: bytes if size_arg is SCONE_SYS_NOARG, else the
 *             size of one element (bytes = size * args[size_arg]);
 *             STR: maximum length including the NUL;
 *             OUT_LENPTR: 0 (the capacity is the socklen_t that
 *             args[size_arg] points to, copied in first)
 *   IOV_*, MMSG_*, MSGBUF_*: size_arg gives the count (msgbuf: text bytes
 *   after the long mtype); IOCTL, FCNTL, SEMUN: size_arg is the request or
 *   command that says what the argument is.
 * Results (ret, ret_arg): ZERO 0 or -errno; VALUE anything; FD -errno or a
 * descriptor; SIZE -errno or 0..args[ret_arg], whatever args[ret_arg] is;
 * SIZEQ the same, except that args[ret_arg] == 0 asks for the size needed (any
 * result >= 0, nothing copied back); IOVSIZE -errno or 0..the total length of
 * the iovec (or msghdr) argument ret_arg.
 */
#ifndef SCONE_SYSCALL_TABLE_H
#define SCONE_SYSCALL_TABLE_H

#include <stdint.h>

/* each file that includes this uses only some of the arrays */
#define SCONE_SYS_UNUSED __attribute__((__unused__))
"""


def _c_name(s: str) -> str:
    return s.upper()


def _str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _desc(e) -> str:
    if e.ret is None:
        return f"{{ SCONE_SYS_CLASS_{_c_name(e.cls)}, 0, 0, SCONE_SYS_NOARG, {{ {{ 0 }} }} }}"
    args = ", ".join(
        f"{{ SCONE_ARG_{_c_name(a.kind)}, {NONE if a.size_arg is None else a.size_arg}, {a.size} }}"
        for a in e.args
    ) or "{ 0 }"
    ret_arg = "SCONE_SYS_NOARG" if e.ret.arg is None else e.ret.arg
    return (f"{{ SCONE_SYS_CLASS_{_c_name(e.cls)}, {len(e.args)}, SCONE_RET_{_c_name(e.ret.kind)}, "
            f"{ret_arg}, {{ {args} }} }}")


def render() -> str:
    """The header text for the current table (DESIGN.md §5)."""
    t = table()
    linux = {nr: e for nr, e in t.items() if nr < PSEUDO_BASE}
    pseudo = {nr: e for nr, e in t.items() if nr >= PSEUDO_BASE}
    count = max(linux) + 1
    npseudo = max(pseudo) - PSEUDO_BASE + 1
    out = [_PREAMBLE]
    out.append("#define SCONE_SYS_CLASS_NONE 0u  /* no call has this number */")
    for i, c in enumerate(CLASSES, 1):
        out.append(f"#define SCONE_SYS_CLASS_{_c_name(c)} {i}u")
    out.append("")
    out.append(f"#define SCONE_SYS_COUNT {count}u  /* numbers 0 .. SCONE_SYS_COUNT-1 */")
    out.append(f"#define SCONE_SYS_PSEUDO_BASE {PSEUDO_BASE}u")
    out.append(f"#define SCONE_SYS_PSEUDO_COUNT {npseudo}u")
    for nr, e in sorted(pseudo.items()):
        out.append(f"#define SCONE_SYS_PSEUDO_{e.name} {nr}u")
    out.append(f"#define SCONE_SYS_NOARG {NONE}u")
    out.append("")
    out.append("/* argument kinds */")
    out.append("#define SCONE_ARG_NONE 0u")
    for i, k in enumerate(ARG_KINDS, 1):
        out.append(f"#define SCONE_ARG_{_c_name(k)} {i}u")
    out.append("")
    out.append("/* result kinds (0: not marshalled) */")
    for i, k in enumerate(RET_KINDS, 1):
        out.append(f"#define SCONE_RET_{_c_name(k)} {i}u")
    out.append("""
struct scone_sys_arg {
	uint8_t kind;              /* SCONE_ARG_* */
	uint8_t size_arg;          /* argument index, or SCONE_SYS_NOARG */
	uint16_t size;             /* bytes, element size, or string bound */
};

struct scone_sys_desc {
	uint8_t cls;               /* SCONE_SYS_CLASS_* */
	uint8_t nargs;             /* marshalled arguments (external calls) */
	uint8_t ret;               /* SCONE_RET_*, 0 if not marshalled */
	uint8_t ret_arg;           /* argument index, or SCONE_SYS_NOARG */
	struct scone_sys_arg args[6];
};
_Static_assert(sizeof(struct scone_sys_arg) == 4, "compact table");
_Static_assert(sizeof(struct scone_sys_desc) == 28, "compact table");
""")

    def arrays(prefix, entries, n, base):
        out.append(f"static const char *const {prefix}_name[{n}] SCONE_SYS_UNUSED = {{")
        for nr, e in sorted(entries.items()):
            out.append(f"\t[{nr - base}] = {_str(e.name)},")
        out.append("};\n")
        out.append(f"static const uint8_t {prefix}_class[{n}] SCONE_SYS_UNUSED = {{")
        for nr, e in sorted(entries.items()):
            out.append(f"\t[{nr - base}] = SCONE_SYS_CLASS_{_c_name(e.cls)},")
        out.append("};\n")
        out.append(f"static const struct scone_sys_desc {prefix}_desc[{n}] SCONE_SYS_UNUSED = {{")
        for nr, e in sorted(entries.items()):
            out.append(f"\t[{nr - base}] = {_desc(e)}, /* {e.name} */")
        out.append("};\n")

    arrays("scone_sys", linux, "SCONE_SYS_COUNT", 0)
    out.append("/* why each unsupported call is refused, and what to do instead */")
    out.append("static const char *const scone_sys_reason[SCONE_SYS_COUNT] SCONE_SYS_UNUSED = {")
    for nr, e in sorted(linux.items()):
        if e.reason and e.cls == "unsupported":
            out.append(f"\t[{nr}] = {_str(e.reason)},")
    out.append("};\n")
    out.append("static const char *const scone_sys_fix[SCONE_SYS_COUNT] SCONE_SYS_UNUSED = {")
    for nr, e in sorted(linux.items()):
        if e.fix and e.cls == "unsupported":
            out.append(f"\t[{nr}] = {_str(e.fix)},")
    out.append("};\n")
    arrays("scone_sys_pseudo", pseudo, "SCONE_SYS_PSEUDO_COUNT", PSEUDO_BASE)
    out.append("""\
/* The class of call nr; SCONE_SYS_CLASS_NONE for numbers nobody defines. */
static inline unsigned scone_sys_class_of(long nr)
{
	if (nr >= 0 && nr < (long)SCONE_SYS_COUNT)
		return scone_sys_class[nr];
	if (nr >= (long)SCONE_SYS_PSEUDO_BASE && nr < (long)(SCONE_SYS_PSEUDO_BASE + SCONE_SYS_PSEUDO_COUNT))
		return scone_sys_pseudo_class[nr - SCONE_SYS_PSEUDO_BASE];
	return SCONE_SYS_CLASS_NONE;
}

/* The name of call nr, or 0. */
static inline const char *scone_sys_name_of(long nr)
{
	if (nr >= 0 && nr < (long)SCONE_SYS_COUNT)
		return scone_sys_name[nr];
	if (nr >= (long)SCONE_SYS_PSEUDO_BASE && nr < (long)(SCONE_SYS_PSEUDO_BASE + SCONE_SYS_PSEUDO_COUNT))
		return scone_sys_pseudo_name[nr - SCONE_SYS_PSEUDO_BASE];
	return 0;
}

#endif""")
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    """Write the header (default: runtime/include/scone/syscall_table.h) atomically."""
    from scone_cc.fsutil import write_generated

    return write_generated(render, HEADER, argv)


if __name__ == "__main__":
    sys.exit(main())
