"""A cpio "newc" archive writer for initramfs images.

Implements the format the kernel unpacks at boot
(Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte
ASCII header per entry ("070701" and 13 eight-digit hex fields), the name
NUL-terminated and padded to 4 bytes, the data padded to 4 bytes, closed by
an entry named "TRAILER!!!". Pure: entries in, bytes out.
"""

from dataclasses import dataclass

S_IFDIR = 0o040000
S_IFREG = 0o100000
S_IFLNK = 0o120000
S_IFCHR = 0o020000


@dataclass(frozen=True)
class Entry:
    """One archive member; ``rdev`` = (major, minor) for device nodes."""

    name: str
    mode: int
    data: bytes = b""
    rdev: tuple[int, int] = (0, 0)


def directory(name: str) -> Entry:
    return Entry(name, S_IFDIR | 0o755)


def regular(name: str, data: bytes, perm: int = 0o644) -> Entry:
    return Entry(name, S_IFREG | perm, data)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, S_IFLNK | 0o777, target.encode())


def chardev(name: str, major: int, minor: int, perm: int = 0o600) -> Entry:
    return Entry(name, S_IFCHR | perm, rdev=(major, minor))


def _pad4(n: int) -> bytes:
    return b"\0" * (-n % 4)


def _member(ino: int, e: Entry) -> bytes:
    name = e.name.lstrip("/").encode() + b"\0"
    fields = (ino, e.mode, 0, 0, 1, 0, len(e.data), 0, 0, e.rdev[0], e.rdev[1], len(name), 0)
    head = b"070701" + b"".join(b"%08X" % f for f in fields)
    return head + name + _pad4(len(head) + len(name)) + e.data + _pad4(len(e.data))


def archive(entries: list[Entry]) -> bytes:
    """The newc archive of ``entries`` in order (parents before children)."""
    out = [_member(i + 1, e) for i, e in enumerate(entries)]
    out.append(_member(0, Entry("TRAILER!!!", 0)))
    return b"".join(out)
