"""The records of the syscall table: one call, its arguments, its result check."""

from dataclasses import dataclass, field

INTERNAL = "internal"
EXTERNAL = "external"
UNSUPPORTED = "unsupported"
CLASSES = (INTERNAL, EXTERNAL, UNSUPPORTED)

# Argument kinds, in the order of their C codes (SCONE_ARG_*; 0 is "no argument").
ARG_KINDS = (
    "int", "fd", "ptr", "str",
    "in", "out", "inout", "out_lenptr",
    "iov_in", "iov_out", "msg_in", "msg_out", "mmsg_in", "mmsg_out",
    "msgbuf_in", "msgbuf_out", "sigmask6",
    "ioctl", "fcntl", "semun",
)

# Result kinds, in the order of their C codes (SCONE_RET_*; 0 is "not marshalled").
RET_KINDS = ("zero", "value", "fd", "size", "iovsize", "sizeq")

PATH_MAX = 4096


@dataclass(frozen=True)
class Arg:
    """One argument of a call and how it is marshalled (syscalls.tbl header).

    ``size`` is a fixed byte count, or the element size when ``size_arg`` (the
    index of the argument giving the count) is set; for ``str`` it is the
    maximum length including the NUL.
    """

    name: str
    kind: str
    size: int = 0
    size_arg: int | None = None


@dataclass(frozen=True)
class Ret:
    """How the runtime checks a result coming back from outside."""

    kind: str
    arg: int | None = None


@dataclass(frozen=True)
class Entry:
    """One system call: number, name, class, and what the checker/runtime say about it."""

    name: str
    nr: int
    cls: str
    args: tuple = ()
    ret: Ret | None = None
    reason: str = ""
    fix: str = ""
    libc: tuple = ()
    thread_flags: int = 0
    quiet: bool = False
    line: int = field(default=0, compare=False)

    @property
    def unsupported(self) -> bool:
        return self.cls == UNSUPPORTED
