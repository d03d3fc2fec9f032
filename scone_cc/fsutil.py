"""Every file scone writes goes through here: one door for outputs.

A reader never sees a half-written file, and a user's file is never
damaged: a regular file (or a symlink to one, whose target is written and
whose link stays) is replaced by a rename of a complete temporary file; a
character device, a FIFO or an open descriptor's file (``-o /dev/null``,
``-o /dev/stdout``) is written as a stream and stays what it is; an output that is the same file
as an input is refused, as gcc refuses it. A temporary file never outlives
the command, also when it is ended by SIGTERM, SIGINT or SIGHUP
(scone_cc.errors.run_cli turns those into exceptions).
"""

import contextlib
import os
import shutil
import signal
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scone_cc.errors import SconeError

_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}


def umask() -> int:
    """The process's umask (read by setting it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@dataclass(frozen=True)
class Target:
    """Where an output really goes.

    ``path`` is the file written: the name given, or the final target of a
    symlink. ``stream`` is True for a character device or a FIFO, written in
    place. ``existing`` is the stat of what is there now (None if nothing).
    """

    path: Path
    stream: bool
    existing: os.stat_result | None


def output_target(path, *, inputs=(), what: str = "output", stream_ok: bool = True) -> Target:
    """Resolve ``path`` as an output and refuse what must not be written.

    Refused with a SconeError (exit 2): a directory, a block device, a
    socket, a missing or unwritable folder, a device or FIFO when
    ``stream_ok`` is False, and an output that is one of ``inputs`` (same
    st_dev and st_ino: the same name, a hard link or a symlink to it).
    """
    given = Path(path)
    try:
        st = os.stat(given)     # through symlinks: /dev/stdout -> /proc/self/fd/1 -> a pipe
    except FileNotFoundError:
        st = None
    except OSError as err:
        raise SconeError(f"{given}: cannot use as {what} ({err.strerror})") from None
    if st is not None:
        for inp in inputs:
            with contextlib.suppress(OSError):
                ist = os.stat(inp)
                if (ist.st_dev, ist.st_ino) == (st.st_dev, st.st_ino):
                    same = "" if str(inp) == str(path) else f" (the input {inp})"
                    raise SconeError(f"{given}: the {what} is the same file as an input{same}; "
                                     "writing it would destroy the input: choose another name")
        kind = stat.S_IFMT(st.st_mode)
        if kind == stat.S_IFREG and _through_proc(given):
            # /dev/stdout, /dev/fd/N: an open descriptor's file, e.g. the shell's
            # `> file`; replacing the name would leave the descriptor behind.
            return Target(given, True, st)
        if kind == stat.S_IFDIR:
            raise SconeError(f"{given}: is a directory; give the {what} a file name")
        if kind in (stat.S_IFCHR, stat.S_IFIFO):
            if not stream_ok:
                raise SconeError(f"{given}: is a {'FIFO' if kind == stat.S_IFIFO else 'device'}; "
                                 f"the {what} must be a regular file: give a file name")
            return Target(given, True, st)
        if kind != stat.S_IFREG:
            raise SconeError(f"{given}: is neither a regular file, a character device nor a "
                             f"FIFO; refusing to write the {what} there")
    # A symlink (even a dangling one) stays: its final target is written.
    real = Path(os.path.realpath(given)) if given.is_symlink() else given
    folder = real.parent
    if not folder.is_dir():
        raise SconeError(f"{given}: cannot write the {what}: folder {folder} does not exist; "
                         "create it first")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise SconeError(f"{given}: cannot write the {what}: folder {folder} is not writable; "
                         "choose another place or fix its permissions")
    return Target(real, False, st)


def _through_proc(path: Path) -> bool:
    """True if ``path`` names an open descriptor's file (/dev/stdout, /dev/fd/N, /proc/PID/fd/N)."""
    p = os.path.abspath(path)
    for _ in range(40):
        p = os.path.join(os.path.realpath(os.path.dirname(p)), os.path.basename(p))
        if p.startswith("/proc/"):
            return True
        if not os.path.islink(p):
            return False
        p = os.path.join(os.path.dirname(p), os.readlink(p))
    return False


def new_temp(folder: Path, name: str) -> Path:
    """A new empty file ``.NAME.XXXX.tmp`` in ``folder``, created with signals held.

    No signal between the creation and the caller's ``try``: the handlers
    of run_cli raise, and a name not yet known could not be removed.
    """
    old = signal.pthread_sigmask(signal.SIG_BLOCK, _SIGNALS)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
        os.close(fd)
        return Path(tmp)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


@contextlib.contextmanager
def atomic_output(path, mode: int = 0o666, *, inputs=(), what: str = "output",
                  stream_ok: bool = True, keep_owner: bool = False):
    """Yield a temporary path to fill; on success it becomes ``path``.

    A regular file is replaced by a rename, with permissions ``mode`` masked
    by the umask (as open(2) and ld create files), or, with ``keep_owner``,
    the mode, owner and group of the file replaced. A character device or a
    FIFO gets the bytes written into it and stays as it is. On any
    exception (or signal) the temporary file is removed and ``path`` is
    untouched. See output_target for what is refused.
    """
    target = output_target(path, inputs=inputs, what=what, stream_ok=stream_ok)
    folder = Path(tempfile.gettempdir()) if target.stream else target.path.parent
    tmp = new_temp(folder, target.path.name)
    try:
        yield tmp
        if target.stream:
            _stream(tmp, target.path)
            return
        if keep_owner and target.existing is not None:
            st = target.existing
            with contextlib.suppress(PermissionError):
                os.chown(tmp, st.st_uid, st.st_gid)
            os.chmod(tmp, stat.S_IMODE(st.st_mode))
        else:
            os.chmod(tmp, mode & ~umask())
        os.replace(tmp, target.path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _stream(tmp: Path, path: Path) -> None:
    # Without O_CREAT or O_TRUNC the node stays the node it is; O_APPEND
    # continues a file reached through /dev/stdout where the shell left it.
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_APPEND)
    try:
        with open(tmp, "rb") as src, os.fdopen(fd, "wb", closefd=False) as dst:
            shutil.copyfileobj(src, dst)
    finally:
        os.close(fd)


def atomic_write(path, data: bytes, mode: int = 0o666, **kw) -> None:
    """Write ``data`` to ``path`` through atomic_output (same keywords)."""
    with atomic_output(path, mode, **kw) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def is_stream(path) -> bool:
    """True if atomic_output writes ``path`` in place (a device, a FIFO, /dev/stdout)."""
    try:
        return output_target(path).stream
    except SconeError:
        return False


def write_generated(render, default: Path, argv=None) -> int:
    """The command line of a header generator (``python3 -m ... [OUT]``):
    ``render()`` written atomically to OUT, or to ``default``."""
    import sys

    from scone_cc.errors import run_cli

    def go():
        args = sys.argv[1:] if argv is None else argv
        out = Path(args[0]) if args else default
        if not out.parent.is_dir():
            raise SconeError(f"{out.parent}: no such directory; pass an output path in an existing folder")
        atomic_write(out, render().encode())
        return 0

    return run_cli("gen_c", go)
