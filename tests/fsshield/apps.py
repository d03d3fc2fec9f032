"""Real programs (built by tests/apps from Debian's sources) relinked with
an encrypted region, and what their checks share: a RESP client, a redis
server session, the volume's grep for a plaintext marker. The bench
(bench/fs_shield.py) uses the same builds."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "apps"))

from appkit import lua, redis, relink, server, zlib  # noqa: E402

KEY = "00112233445566778899aabbccddeeff"


def region_flag(region: Path) -> str:
    return f"--scone-fs={region}:encrypted"


def key_env(flavour, region: Path, allow=(), **extra) -> dict:
    """The program's run environment with the region's debug key."""
    return flavour.environ(allow, SCONE_FS_KEY=f"{region}:{KEY}", **extra)


def minigzip(tree: Path, flavour, region: Path, out: Path) -> Path:
    return relink.relinked(tree, "minigzip", out, flavour.environ(), (region_flag(region),))


def lua_bin(tree: Path, flavour, region: Path, out: Path) -> Path:
    return relink.relinked(tree / "src", "lua", out, flavour.environ(lua.ALLOW), (region_flag(region),),
                           ("linux", f"CC={flavour.cc}"))


def redis_server(tree: Path, flavour, region: Path, out: Path) -> Path:
    return redis.relinked_server(tree, flavour, out, region_flag(region))


def grep_marker(volume: Path, marker: str) -> str:
    """Files of the volume in which grep finds the marker (none expected)."""
    r = subprocess.run(["grep", "-r", "-a", "-l", "-F", marker, str(volume)], capture_output=True,
                       text=True)
    assert r.returncode in (0, 1), r.stderr
    return r.stdout


# ---- a minimal RESP client (redis-cli is an enclave too: 0.2 s a start) ----

def _line(f) -> bytes:
    s = f.readline()
    if not s.endswith(b"\r\n"):
        raise ConnectionError("connection closed")
    return s[:-2]


def _reply(f):
    s = _line(f)
    kind, rest = s[:1], s[1:]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return "ERROR " + rest.decode()
    if kind == b":":
        return int(rest)
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)
        return data[:-2].decode()
    if kind == b"*":
        n = int(rest)
        return None if n < 0 else [_reply(f) for _ in range(n)]
    raise ConnectionError(f"bad reply {s[:40]!r}")


class Resp:
    """One connection; ``ask(*args)`` sends a command and returns its reply."""

    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=60)
        self.f = self.sock.makefile("rb")

    def ask(self, *args):
        parts = [f"*{len(args)}\r\n".encode()]
        for a in args:
            b = a if isinstance(a, bytes) else str(a).encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(b), b))
        self.sock.sendall(b"".join(parts))
        return _reply(self.f)

    def close(self):
        self.f.close()
        self.sock.close()


@contextmanager
def redis_session(binary: Path, directory: Path, env: dict, log: Path, *conf: str):
    """redis-server with its --dir at ``directory``; yields (client, process).
    The block ends it with SHUTDOWN NOSAVE if it still runs."""
    port = server.free_port()
    cmd = [str(binary), "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--dir", str(directory), *conf]
    with open(log, "a") as out, server.running(cmd, port, env, out) as proc:
        c = Resp(port)
        try:
            # it accepts while it loads its RDB or AOF, and answers LOADING
            while str(c.ask("PING")).startswith("ERROR LOADING"):
                time.sleep(0.05)
            yield c, proc
        finally:
            if proc.poll() is None:
                try:
                    c.ask("SHUTDOWN", "NOSAVE")
                except OSError:
                    pass
                proc.wait(timeout=60)
            c.close()


__all__ = ["KEY", "Resp", "grep_marker", "key_env", "lua", "lua_bin", "minigzip", "redis", "redis_server",
           "redis_session", "region_flag", "zlib"]
