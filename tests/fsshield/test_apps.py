"""Real programs over an encrypted region (issue 14): each enclave program
is run twice, its files on an unprotected path and in the region, and the
two transcripts must be equal; the host sees no plaintext marker in the
volume, and scone-fs reads and verifies what the enclave wrote.

Quick: zlib's minigzip, lua scripts on files, redis SAVE and restart.
Slow: redis with an append-only file (everysec, always) and BGSAVE, 50
rounds of kill -9 during redis's write loop, SQLite's speedtest1."""

import gzip
import os
import random
import re
import shutil
import signal
import subprocess
import textwrap
import time

import pytest

from .apps import (KEY, grep_marker, key_env, lua_bin, minigzip, redis, redis_server,
                   redis_session, zlib)
from .apps import lua as lua_kit

MARKER = "plaintext-marker-7f3a"


def _flavour(name):
    from appkit import flavour
    try:
        return flavour.get(name)
    except flavour.FlavourUnavailable as why:
        pytest.skip(str(why))


def _built(builder, fl):
    from appkit.source import SourceUnavailable
    try:
        return builder(fl)
    except SourceUnavailable as why:
        pytest.fail(str(why))


def _fs(*args, **kw):
    return subprocess.run(["scone-fs", *map(str, args)], capture_output=True, timeout=120, **kw)


def _verified(vol):
    v = _fs("verify", "--key-hex", KEY, vol, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    assert not grep_marker(vol, MARKER), "plaintext in the volume"


def _transcript(r):
    """What a run shows, without the enclave's own log lines."""
    err = "".join(line for line in r.stderr.splitlines(True) if not line.startswith("[SCONE|"))
    return r.returncode, r.stdout, err


# ---- zlib's minigzip -------------------------------------------------------

def test_minigzip_in_an_encrypted_region(tmp_path):
    scone = _flavour("scone")
    vol, plain, src = tmp_path / "vol", tmp_path / "plain", tmp_path / "src"
    plain.mkdir()
    src.mkdir()
    data = (MARKER + " line of text\n").encode() * 3000 + os.urandom(20000)   # 19 data nodes
    (plain / "f").write_bytes(data)
    (src / "f").write_bytes(data)
    assert _fs("create", vol, "--key-hex", KEY, "--from", src).returncode == 0
    prog = minigzip(_built(zlib.build_tree, scone), scone, vol, tmp_path / "minigzip")
    env = key_env(scone, vol)

    def both(*args):
        runs = []
        for d in (plain, vol):
            r = subprocess.run([str(prog), *[a.format(d=d) for a in args]], env=env,
                               capture_output=True, timeout=300)
            runs.append((r.returncode, r.stdout, r.stderr.decode(errors="replace")))
        out = [(rc, so, "".join(ln for ln in se.splitlines(True) if not ln.startswith("[SCONE|")))
               for rc, so, se in runs]
        assert out[0] == out[1], runs[1][2]
        assert out[0][0] == 0, out[0]
        return runs[0][1]

    gz = both("-c", "{d}/f")                          # to stdout: reads the region's file
    assert gzip.decompress(gz) == data
    both("{d}/f")                                      # f -> f.gz, f removed
    assert not (vol / "f").exists() and (vol / "f.gz").exists()
    assert _fs("cat", "--key-hex", KEY, vol, "f.gz").stdout == (plain / "f.gz").read_bytes()
    both("-d", "{d}/f.gz")                             # back again
    assert _fs("cat", "--key-hex", KEY, vol, "f").stdout == data == (plain / "f").read_bytes()
    ls = _fs("ls", "--key-hex", KEY, vol, text=True).stdout
    assert " f\n" in ls and "f.gz" not in ls, ls
    # a gzip file made on the host (Python's gzip, not zlib's code under test),
    # put in the volume by scone-fs, inflated by the enclave
    other = os.urandom(5000) + (MARKER * 1000).encode()
    (src / "h.gz").write_bytes(gzip.compress(other, mtime=0))
    assert _fs("add", "--key-hex", KEY, vol, src / "h.gz").returncode == 0
    r = subprocess.run([str(prog), "-d", str(vol / "h.gz")], env=env, capture_output=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert _fs("cat", "--key-hex", KEY, vol, "h").stdout == other
    _verified(vol)


# ---- lua scripts on files --------------------------------------------------

LUA_SCRIPT = textwrap.dedent("""\
    local dir, marker = arg[1], arg[2]
    local p = dir .. "/notes.txt"
    local f = assert(io.open(p, "w"))
    for i = 1, 2000 do f:write(string.format("%05d %s\\n", i, marker)) end
    print("size after write", f:seek("end"))
    f:close()
    f = assert(io.open(p, "a")) f:write("appended 1\\n") f:close()
    f = assert(io.open(p, "a+")) f:write("appended 2\\n")
    f:seek("set", 0) print("a+ reads from 0:", f:read("l")) f:close()
    f = assert(io.open(p, "r+"))
    print("seek", f:seek("set", 6 * 1000 + 26 * 999))
    f:write("OVERWRITTEN")
    print("cur", f:seek("cur"), "end", f:seek("end"))
    f:seek("set", 30000) print("at 30000:", f:read(20))
    f:close()
    local n, last, sum = 0, nil, 0
    for l in io.lines(p) do n = n + 1 last = l sum = sum + #l end
    print("lines", n, "chars", sum, "last", last)
    for l in io.lines(p) do if l:find("OVERWRITTEN") then print("found:", l) end end
    f = assert(io.open(p, "rb")) local all = f:read("a") f:close()
    print("bytes", #all, "count", select(2, all:gsub(marker:gsub("%-", "%%-"), "")))
    local nums = dir .. "/nums.txt"
    f = assert(io.open(nums, "w")) f:write("3.5 42 0x10\\nrest of line\\n") f:close()
    f = assert(io.open(nums)) print("numbers", f:read("n", "n", "n")) print("then", f:read("l", "l", "l")) f:close()
    print("rename", os.rename(nums, dir .. "/nums2.txt"))
    print("old open", io.open(nums) == nil, "new size", io.open(dir .. "/nums2.txt"):seek("end"))
    print("remove", os.remove(dir .. "/nums2.txt"), io.open(dir .. "/nums2.txt") == nil)
    f = assert(io.open(dir .. "/big.bin", "wb"))
    for i = 1, 64 do f:write(string.rep(string.char(65 + i % 26), 4096)) end
    f:seek("set", 4096 * 10 + 100) f:write("X") f:close()
    f = assert(io.open(dir .. "/big.bin", "rb"))
    f:seek("set", 4096 * 10 + 99) print("mid", f:read(3)) print("end", f:seek("end")) f:close()
    """)


def test_lua_scripts_on_files_in_an_encrypted_region(tmp_path):
    scone = _flavour("scone")
    vol, plain = tmp_path / "vol", tmp_path / "plain"
    vol.mkdir()
    plain.mkdir()
    prog = lua_bin(_built(lua_kit.build_tree, scone), scone, vol, tmp_path / "lua")
    (tmp_path / "t.lua").write_text(LUA_SCRIPT)
    env = key_env(scone, vol, lua_kit.ALLOW)
    runs = [subprocess.run([str(prog), str(tmp_path / "t.lua"), str(d), MARKER], env=env,
                           capture_output=True, text=True, timeout=300) for d in (plain, vol)]
    assert runs[0].returncode == 0, runs[0].stderr
    assert _transcript(runs[1]) == _transcript(runs[0]), runs[1].stderr
    # the files' bytes as the script's operations define them, made here
    notes = bytearray("".join(f"{i:05d} {MARKER}\n" for i in range(1, 2001)).encode()
                      + b"appended 1\nappended 2\n")
    notes[31974:31974 + 11] = b"OVERWRITTEN"
    big = bytearray(b"".join(bytes([65 + i % 26]) * 4096 for i in range(1, 65)))
    big[4096 * 10 + 100] = ord("X")
    lines = notes.decode().splitlines()
    assert (f"lines\t{len(lines)}\tchars\t{sum(map(len, lines))}\tlast\tappended 2\n"
            in runs[0].stdout), runs[0].stdout
    assert f"count\t{notes.count(MARKER.encode())}\n" in runs[0].stdout
    assert "numbers\t3.5\t42\t16" in runs[0].stdout
    for name, want in (("notes.txt", notes), ("big.bin", big)):
        assert (plain / name).read_bytes() == want, name
        assert _fs("cat", "--key-hex", KEY, vol, name).stdout == want, name
    _verified(vol)


# ---- redis: SAVE and restart -------------------------------------------------

def _redis(tmp_path):
    scone = _flavour("scone")
    vol = tmp_path / "vol"
    vol.mkdir()
    tree = _built(redis.build_tree, scone)
    return scone, vol, tree, redis_server(tree, scone, vol, tmp_path / "redis-server")


BIG = (MARKER + "-0123456789") * 1000


def _fill(c):
    return [c.ask("SET", "k1", MARKER), c.ask("SET", "big", BIG),
            c.ask("RPUSH", "l", "a", MARKER, "c"), c.ask("INCRBY", "n", 41),
            c.ask("HSET", "h", "f1", "v1", "f2", MARKER)]


def _read_back(c):
    return [c.ask("DBSIZE"), c.ask("GET", "k1"), c.ask("STRLEN", "big"), c.ask("GET", "big") == BIG,
            c.ask("LRANGE", "l", "0", "-1"), c.ask("GET", "n"), c.ask("HGETALL", "h")]


EXPECTED_BACK = [5, MARKER, len(BIG), True, ["a", MARKER, "c"], "41", ["f1", "v1", "f2", MARKER]]


def test_redis_save_and_restart_in_an_encrypted_region(tmp_path):
    scone, vol, _tree, server = _redis(tmp_path)
    env = key_env(scone, vol, redis.ALLOW)
    plain = tmp_path / "plain"
    plain.mkdir()
    seen = []
    for d in (plain, vol):
        t = []
        with redis_session(server, d, env, tmp_path / "log") as (c, _):
            t += _fill(c)
            t.append(c.ask("SAVE"))
        with redis_session(server, d, env, tmp_path / "log") as (c, _):
            t += _read_back(c)
        seen.append(t)
    assert seen[0][-len(EXPECTED_BACK):] == EXPECTED_BACK
    assert seen[1] == seen[0], (tmp_path / "log").read_text()[-3000:]
    ls = _fs("ls", "--key-hex", KEY, vol, text=True).stdout
    assert "dump.rdb" in ls and "temp-" not in ls, ls
    _verified(vol)


# ---- redis: append-only file, BGSAVE (slow) ------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("fsync", ["everysec", "always"])
def test_redis_appendonly_in_an_encrypted_region(fsync, tmp_path):
    """Keys come back from the AOF after a restart; BGSAVE forks, which the
    runtime refuses (ENOSYS): the same error reply on both paths."""
    scone, vol, _tree, server = _redis(tmp_path)
    env = key_env(scone, vol, redis.ALLOW)
    plain = tmp_path / "plain"
    plain.mkdir()
    conf = ("--appendonly", "yes", "--appendfsync", fsync)
    seen = []
    for d in (plain, vol):
        t = []
        with redis_session(server, d, env, tmp_path / "log", *conf) as (c, _):
            t += _fill(c)
            for i in range(200):
                c.ask("INCR", "counter")
            t.append(c.ask("BGSAVE"))
            t.append(c.ask("DBSIZE"))
        with redis_session(server, d, env, tmp_path / "log", *conf) as (c, _):
            t += _read_back(c)[1:] + [c.ask("GET", "counter"), c.ask("DBSIZE")]
            t.append(c.ask("SET", "after", "restart"))
        with redis_session(server, d, env, tmp_path / "log", *conf) as (c, _):
            t += [c.ask("GET", "after"), c.ask("DBSIZE")]
        seen.append(t)
    assert seen[0][5].startswith("ERROR"), seen[0]      # BGSAVE: fork refused in the enclave
    assert seen[0][6:] == [6] + EXPECTED_BACK[1:] + ["200", 6, "OK", "restart", 7], seen[0]
    assert seen[1] == seen[0], (tmp_path / "log").read_text()[-3000:]
    assert "fork: Function not implemented" in (tmp_path / "log").read_text()
    ls = _fs("ls", "--key-hex", KEY, vol, text=True).stdout
    assert "appendonlydir/appendonly.aof.manifest" in ls, ls
    _verified(vol)


# ---- kill -9 during redis's write loop (slow) -----------------------------------

@pytest.mark.slow
def test_kill_9_during_redis_appendfsync_always(tmp_path):
    """50 rounds: INCR in a loop with appendfsync always (each reply after
    its write is committed), SIGKILL at a random moment, restart. The
    restarted server holds every acknowledged INCR and at most the one in
    flight, or it refuses to start with the shield's line naming the file;
    never another value. A refused volume is started afresh."""
    scone, vol, _tree, server = _redis(tmp_path)
    env = key_env(scone, vol, redis.ALLOW)
    conf = ("--appendonly", "yes", "--appendfsync", "always")
    rng = random.Random(14)
    log = tmp_path / "log"
    outcomes = {"kept": 0, "refused": 0}
    acked = 0
    for rnd in range(50):
        with redis_session(server, vol, env, log, *conf) as (c, proc):
            start = int(c.ask("GET", "counter") or 0)
            assert acked <= start <= acked + 1, (rnd, acked, start)
            acked = start
            deadline = time.monotonic() + rng.uniform(0.05, 1.0)
            try:
                while time.monotonic() < deadline:
                    acked = c.ask("INCR", "counter")
                c.sock.sendall(b"*2\r\n$4\r\nINCR\r\n$7\r\ncounter\r\n")   # one in flight
                proc.send_signal(signal.SIGKILL)
            finally:
                proc.wait(timeout=30)
        probe = tmp_path / "probe.log"
        probe.write_text("")
        try:
            with redis_session(server, vol, env, probe, *conf) as (c, _):
                got = int(c.ask("GET", "counter") or 0)
            assert acked <= got <= acked + 1, (rnd, acked, got)
            acked = got
            outcomes["kept"] += 1
        except (RuntimeError, ConnectionError):       # exited before, or while, loading
            text = probe.read_text()
            lines = [ln for ln in text.splitlines() if "fs shield:" in ln and "refused" in ln]
            assert lines and str(vol) in lines[0], text[-2000:]
            print(f"round {rnd}: {lines[0]}")
            outcomes["refused"] += 1
            shutil.rmtree(vol)
            vol.mkdir()
            acked = 0
    print(f"kill -9 rounds: {outcomes}")
    assert outcomes["kept"] + outcomes["refused"] == 50


# ---- SQLite's speedtest1 (slow) ---------------------------------------------------

def _speedtest1_lines(text):
    """speedtest1's report without its timings: the tests it ran, in order."""
    return [re.sub(r"\.{2,}\s*[0-9.]+s$", "", ln.rstrip()) for ln in text.splitlines()
            if re.search(r"[0-9.]+s$", ln.rstrip())]


@pytest.mark.slow
@pytest.mark.parametrize("journal", [(), ("--journal", "wal", "--exclusive")])
def test_speedtest1_database_in_an_encrypted_region(journal, tmp_path):
    """speedtest1 --verify with its database (and journal, or WAL) and its
    query output in the region: the same tests, the same verification hash
    and the same output bytes as on an unprotected path."""
    from appkit import sqlite
    scone = _flavour("scone")
    vol, plain = tmp_path / "vol", tmp_path / "plain"
    vol.mkdir()
    plain.mkdir()
    prog = tmp_path / "speedtest1"
    shutil.copy(_built(sqlite.build_speedtest1, scone) / "speedtest1", prog)
    s = subprocess.run(["scone-sign", "sign", "--fs", f"{vol}:encrypted", str(prog)],
                       env=scone.environ(), capture_output=True, text=True)
    assert s.returncode == 0, s.stderr
    env = key_env(scone, vol)
    runs = []
    for d in (plain, vol):
        r = subprocess.run([str(prog), "--size", "10", "--verify", *journal, "--output", str(d / "out.txt"),
                            str(d / "t.db")], env=env, capture_output=True, text=True, timeout=3600)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        runs.append(r)
    want, got = (_speedtest1_lines(r.stdout) for r in runs)
    assert len(want) > 20 and got == want
    hashes = [re.findall(r"(?im)^.*verification hash.*$", r.stdout) for r in runs]
    assert hashes[0] and hashes[0] == hashes[1]
    out = _fs("cat", "--key-hex", KEY, vol, "out.txt").stdout
    assert out == (plain / "out.txt").read_bytes() and len(out) > 1000
    v = _fs("verify", "--key-hex", KEY, vol, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    assert sorted(p.name for p in vol.iterdir()) == [".scone-volume", "out.txt", "t.db"]
    # speedtest1 spells numbers out in its rows: plain on the unprotected path only
    assert b" thousand " in (plain / "t.db").read_bytes()
    assert not grep_marker(vol, " thousand ")
