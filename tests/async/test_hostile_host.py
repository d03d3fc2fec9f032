"""A hostile host, built from the starter's own sources with -DSCONE_HOSTILE
(never part of the shipped starter), lies in every field it controls.

Named lies (ABORTS below) answer calls with oversized lengths, impossible
descriptors, flipped cookies, responses for slots never posted and garbage
in out-buffers. The table-driven sweep (CASES, generated below from the
ABIs in runtime/include/scone/) walks every field the host controls
through its limits: the syscall area header, the START arguments, the
queue responses, and the marshalled results and lengths of the victim's
calls, with 0, 1, the maximum, values whose sums or products wrap,
non-canonical addresses, addresses inside the enclave (its first and last
byte, a range that runs into it), and fields the host keeps rewriting
while the enclave reads them. Each case must end in a clean abort with a
message, or in the victim's correct output; never in a signal or a hang,
and never with the victim's canary (a global the lies that would land in
the enclave aim at) changed. The quick suite runs every case once:
len(CASES) = 370 runs (263 async, 107 sync; 113 on the syscall area, 116
on the START arguments, 14 on an ethread's entry, 81 results, 38 lengths
in the arena, 8 responses; 263 must abort, 79 must give the victim's own
output, 28 flip or hand over unmapped memory), about 20 s on 2 cores. The
slow sweep adds the 28 flip and unmapped cases 10 times each (638 runs)."""

import io
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

HERE = Path(__file__).resolve().parent
PROGS = HERE / "progs"

# mode -> what the abort message must say (from the call's own contract)
ABORTS = {
    "size": "system call read (0): result 4160, at most 64 allowed",
    "iov": "system call readv (19): byte count 17, at most 16 allowed",
    "fd": "system call dup (32): descriptor",
    "zero": "system call close (3): result 5, at most 0 allowed",
    "socklen": "system call getsockname (51): socklen_t 4096, at most 128 allowed",
    "msg": "system call recvmsg (47): msg_controllen 1048576, at most 64 allowed",
    "cookie": "which this enclave has not issued or already answered",
    "status": "which this enclave has not issued or already answered",
    "index": "the host reports 2 responses but only 1 requests are outstanding",
}


@pytest.fixture(scope="module")
def victim(build):
    return build(PROGS / "victim.c")


def _attack(hostile, victim, env, mode):
    e = dict(env, SCONE_HOSTILE=mode, SCONE_HOSTILE_EXE=str(victim))
    return subprocess.run([str(hostile), mode], input="hello\n", env=e, capture_output=True,
                          text=True, timeout=60)


def test_honest_run_of_the_hostile_build(hostile, victim, async_env):
    r = _attack(hostile, victim, async_env, "none")
    assert r.returncode == 0 and "getppid 1" in r.stdout, r.stderr


@pytest.mark.parametrize("mode", sorted(ABORTS))
def test_enclave_aborts_on_a_broken_contract(hostile, victim, async_env, mode):
    r = _attack(hostile, victim, async_env, mode)
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert r.stdout == f"start {mode}\n"   # the lie was never passed on
    assert r.stderr.startswith("scone: enclave aborted: scone: "), r.stderr
    assert ABORTS[mode] in r.stderr, r.stderr


def test_garbage_in_an_out_buffer_stays_in_it(hostile, victim, async_env):
    r = _attack(hostile, victim, async_env, "garbage")
    assert r.returncode == 0, r.stderr
    assert "uname 0 sysname[0] A canaries intact" in r.stdout


def test_shipped_starter_has_no_hostile_code(sysroot):
    data = (sysroot / "libexec" / "scone-starter").read_bytes()
    assert b"SCONE_HOSTILE" not in data


# ---- the table-driven sweep -------------------------------------------------
#
# Values are hostile.c expressions: enc = the enclave's base, end = base +
# size, v = the honest value, c = the honest cookie, canary = the victim's
# canary inside the enclave. Outcomes: ABORT (exit 1, "scone: enclave
# aborted: " and a message), ("ok", LINE) (exit 0, LINE and an intact canary
# in the victim's output), EITHER (one of the two; for flips), UNMAPPED
# (legal host memory the host never mapped: the enclave cannot know, so it
# may also end by the fault, with a line naming the host's address).

ABORT, EITHER, UNMAPPED = "abort", "either", "unmapped"
U64 = "0xffffffffffffffff"

# Addresses no host range (8 bytes or more) may have: null, page zero, just
# below 64 KiB, inside the enclave (its first byte, its last 64 and last 8
# bytes, its very last byte), a range that starts below the enclave and
# runs into it, non-canonical, the kernel's half, one that wraps at 2^64,
# and one that crosses 2^47.
BAD_POINTERS = ["0", "1", "0xfff8", "enc", "enc+0x1000", "end-64", "end-8", "end-1", "enc-4",
                "0x800000000000", "0xffff800000000000", "0xffffffffffffffc0", "0x7ffffffffffc"]

# Ranges the enclave writes, at least 64 bytes: starting 16 bytes below
# the enclave they run into its first byte.
RANGE_POINTERS = BAD_POINTERS + ["enc-16"]

# Legal host addresses nobody mapped: the last page of user space.
UNMAPPED_POINTERS = ["0x7ffffffff000"]


def _area_cases():
    c = []
    for v in ["0", "1", "v^1", U64]:
        c.append(("area.magic=" + v, "x", ABORT))
    for v in ["0", "v+1", "v-1", "0xffffffff"]:
        c.append(("area.version=" + v, "x", ABORT))
    for v in ["v+8", "0x80000001", "0xffffffff"]:
        c.append(("area.flags=" + v, "x", ABORT))
    c.append(("area.flags=0", "x", ("ok", "getppid 1")))         # sync calls, queues unused
    for v in ["0", "65", "0x80000000", "0xffffffff"]:
        c.append(("area.queues=" + v, "x", ABORT))
    c.append(("area.queues=1", "x", ("ok", "getppid 1")))
    for v in ["0", "1", "3", "8192", "0x80000000", "0xffffffff"]:
        c.append(("area.entries=" + v, "x", ABORT))
    for v in RANGE_POINTERS:
        c.append(("area.pairs=" + v, "x", ABORT))
        c.append(("area.arena=" + v, "x", ABORT))
    for v in UNMAPPED_POINTERS:
        c.append(("area.pairs=" + v, "x", UNMAPPED))
        c.append(("area.arena=" + v, "x", UNMAPPED))
    for v in ["0", "1", "4096", "0xf000", "0x10001", "0x4001000", "0x1000000000000",
              "0x8000000000000000", "0xfffffffffffff000"]:
        c.append(("area.arena_unit=" + v, "x", ABORT))
    # a smaller unit than the host allocated is still a valid layout
    c.append(("area.arena_unit=0x10000", "size", ("ok", "read 6")))
    for v in ["0", "1", "0x10001", "0xffffffff"]:
        c.append(("area.arena_units=" + v, "x", ABORT))
    c.append(("area.arena_units=v-1", "x", ("ok", "getppid 1")))
    for v in ["0", "0xffffffff"]:
        c.append(("area.espins=" + v, "x", ("ok", "getppid 1")))
    # products that wrap to 0 (or below the first unit) and put a unit on the canary
    for unit, units in [("0x1000000000000", "65536"), ("0x10000000000000", "4096"),
                        ("0x8000000000000000", "2")]:
        c.append((f"area.arena_unit={unit};area.arena_units={units};area.arena=canary+{unit}",
                  "write", ABORT))
    c.append(("area.entries=4096;area.queues=64;area.pairs=canary", "x", ABORT))
    return c


def _start_cases():
    c = []
    for f in ["argv", "envp", "ocall", "reserved0"]:
        for v in BAD_POINTERS:
            if (f, v) != ("reserved0", "0"):
                c.append((f"start.{f}={v}", "x", ABORT))
        for v in UNMAPPED_POINTERS:
            c.append((f"start.{f}={v}", "x", UNMAPPED))
    # argv[0] is a string: any byte outside the enclave may start one
    for v in [p for p in BAD_POINTERS if p not in ("enc-4", "0x7ffffffffffc")]:
        c.append(("start.argv0=" + v, "x", ABORT))
    for v in ["enc-4", "0x7ffffffffffc"] + UNMAPPED_POINTERS:
        c.append(("start.argv0=" + v, "x", UNMAPPED))
    for v in ["65537", "v+1", U64, "0x8000000000000001"]:
        c.append(("start.argc=" + v, "x", ABORT))
    c.append(("start.argc=0", "x", ("ok", "getppid 1")))
    for v in ["65", "0x100000001", U64]:                          # SCONE_ETHREADS
        c.append(("start.reserved1=" + v, "x", ABORT))
    # the signal box, the time page, the CPUID table, the SIM seal, the
    # high-water block: a pointer that is not host memory turns the feature
    # off (signals not forwarded, time from the host's answer, CPUID not
    # emulated, no marks); the seal is read only with a file-system policy,
    # which the victim has none of
    for k in (2, 3, 4, 5, 6):
        for v in ["1", "enc", "end-64", "0x800000000000"]:
            c.append((f"start.reserved{k}=" + v, "x", ("ok", "getppid 1")))
    # the OCALL block of an ethread (SCONE_ETHREADS=2: TCS 1 enters by ETHREAD)
    for v in BAD_POINTERS:
        c.append(("ethread.ocall=" + v, "nap", ABORT))
    c.append(("ethread.ocall=v", "nap", ("ok", "getppid 1")))
    # no syscall area: a bare entry, which SIM allows (the host sees all anyway)
    c.append(("start.reserved0=0", "x", ("ok", "getppid 1")))
    for k in (7, 8):
        c.append((f"start.reserved{k}=1", "x", ABORT))
    return c


def _result_cases():
    c = []
    read = [("0", ("ok", "read 0")), ("1", ("ok", "read 1")), ("64", ("ok", "read 64")),
            ("65", ABORT), ("0x7fffffffffffffff", ABORT), ("-1", ("ok", "read -1")),
            ("-4095", ("ok", "read -1")), ("-4096", ABORT), ("0x8000000000000000", ABORT)]
    c += [("ret.0=" + v, "size", o) for v, o in read]
    c += [("ret.0=" + v, "read0", o) for v, o in
          [("0", ("ok", "read0 0")), ("1", ABORT), ("1048576", ABORT), ("-4096", ABORT),
           ("-22", ("ok", "read0 -1"))]]
    c += [("ret.19=" + v, "iov", o) for v, o in
          [("16", ("ok", "readv 16")), ("17", ABORT), ("-4096", ABORT), (U64, ("ok", "readv -1"))]]
    c += [("ret.32=" + v, "fd", o) for v, o in
          [("0x7fffffbf", ("ok", "dup 2147483583")), ("0x7fffffc0", ABORT), ("0x100000000", ABORT),
           ("-9", ("ok", "dup -1")), ("-4096", ABORT)]]
    c += [("ret.3=" + v, "zero", o) for v, o in [("1", ABORT), ("0xffffffff", ABORT), ("-9", ("ok", "close -1"))]]
    c += [("ret.63=" + v, "garbage", o) for v, o in [("1", ABORT), ("-4096", ABORT)]]
    # lengths the host writes back into the arena
    c += [("mem.51.2.0.4=" + v, "socklen", o) for v, o in
          [("16", ("ok", "getsockname 0 len 16")), ("128", ("ok", "getsockname 0 len 128")),
           ("129", ABORT), ("0xffffffff", ABORT)]]
    c += [("mem.47.1.40.8=" + v, "msg", o) for v, o in
          [("0", ("ok", "recvmsg 1")), ("64", ("ok", "recvmsg 1")), ("65", ABORT), (U64, ABORT)]]
    c += [("mem.47.1.8.4=" + v, "msg", o) for v, o in
          [("128", ("ok", "recvmsg 1")), ("129", ABORT), ("0xffffffff", ABORT)]]
    c += [("ret.47=" + v, "msg", o) for v, o in
          [("64", ("ok", "recvmsg 64")), ("65", ABORT), ("-4096", ABORT)]]
    c.append(("ret.110=v", "mmsg", ("ok", "recvmmsg 3 wrong 0")))   # an honest recvmmsg
    c += [(f"mem.299.1.{56 + 64 * j}.4={v}", "mmsg", o) for j, v, o in
          [(0, "21", ABORT), (2, "21", ABORT), (1, "0xffffffff", ABORT),
           (2, "0", ("ok", "recvmmsg 3 wrong 1"))]]
    c += [("ret.299=" + v, "mmsg", o) for v, o in [("4", ABORT), ("-4096", ABORT), ("2", ("ok", "recvmmsg 2 wrong 0"))]]
    c += [("ret.110=" + v, "x", o) for v, o in [("-1", ("ok", "getppid 0")), ("0x7fffffff", ("ok", "getppid 1"))]]
    # transfers past the arena unit go in chunks; each chunk is checked, and
    # a host that hides the descriptor's type gets one chunk (a short count)
    c += [(lie, "big", o) for lie, o in
          [("ret.0=v", ("ok", "big 307200 307200 same 1")), ("ret.0=v+1", ABORT),
           ("ret.1=0x20001", ABORT), ("ret.1=v-1", ("ok", "big 131071 131072 same 1")),
           ("ret.5=-9", ("ok", "big 131072 131072 same 1"))]]
    return c


def _response_cases():
    return [("rsp.110.cookie=" + v, "x", ABORT) for v in ["c^0x10000000000", "c+1", "0", "c^0xffffffff", U64]] + \
           [("rsp.110.extra=" + v, "x", ABORT) for v in ["1", "2", "0x7fffffff"]]


# Fields the host rewrites while the enclave runs: whichever value the
# enclave reads, it reads it once.
FLIPS = [("area.arena_unit=v/0x1000000000000", "write"), ("area.arena=v/canary", "write"),
         ("area.arena_units=v/0", "x"), ("area.entries=v/0xffffffff", "x"),
         ("start.argv0=v/enc", "x"), ("start.argc=v/0xffffffffffffffff", "x"),
         ("mem.47.1.40.8=0/0x100000", "msg"), ("mem.51.2.0.4=16/0xffffffff", "socklen"),
         ("mem.299.1.56.4=20/0xffffffff", "mmsg"), ("mem.47.1.8.4=0/0xffffffff", "msg")]


def _cases():
    async_cases = _area_cases() + _start_cases() + _result_cases() + _response_cases() + \
        [(lie, mode, EITHER) for lie, mode in FLIPS]
    # sync: the same area and result lies travel the exit path
    sync_cases = [x for x in async_cases if x[0].startswith(("ret.", "mem.", "area.arena", "start.ocall"))
                  and not x[0].startswith("ret.110") and x[0] != "area.arena_units=v-1"]
    return [("async",) + x for x in async_cases], [("sync",) + x for x in sync_cases]


ASYNC_CASES, SYNC_CASES = _cases()
CASES = ASYNC_CASES + SYNC_CASES


@pytest.fixture(scope="module")
def canary(victim):
    """Offset of the victim's canary in the enclave image (its symbol table)."""
    with open(victim, "rb") as f:
        image = ELFFile(io.BytesIO(ELFFile(f).get_section_by_name(".scone.enclave").data()))
    return image.get_section_by_name(".symtab").get_symbol_by_name("scone_victim_canary")[0]["st_value"]


def _run_case(hostile, victim, env, canary, case):
    syscall, lie, mode, want = case
    e = dict(env, SCONE_HOSTILE=lie, SCONE_HOSTILE_EXE=str(victim), SCONE_HOSTILE_CANARY=hex(canary),
             SCONE_SYSCALL=syscall)
    if lie.startswith("ethread."):
        e["SCONE_ETHREADS"] = "2"
    try:
        r = subprocess.run([str(hostile), mode], input="hello\n", env=e, capture_output=True,
                           text=True, errors="replace", timeout=30)
    except subprocess.TimeoutExpired:
        return "hang"
    out, err = r.stdout, r.stderr
    if r.returncode == 3 or "canary smashed" in out:
        return "the enclave was written into"
    aborted = r.returncode == 1 and err.startswith("scone: enclave aborted: ") and \
        len(err.strip()) > len("scone: enclave aborted: ")
    if want == ABORT:
        return None if aborted else f"no clean abort: status {r.returncode}, stderr {err[-300:]!r}"
    ok = r.returncode == 0                  # the victim exits 3 if its canary changed
    fault = r.returncode in (-11, -7) and "the host broke the enclave ABI" in err
    if want == UNMAPPED:
        return None if aborted or ok or fault else f"status {r.returncode}, stderr {err[-300:]!r}"
    if want == EITHER:
        return None if aborted or ok else f"status {r.returncode}, stdout {out[-200:]!r}, stderr {err[-300:]!r}"
    line = want[1]
    if ok and line in out.splitlines() and "canary intact" in out:
        return None
    return f"expected {line!r}: status {r.returncode}, stdout {out[-200:]!r}, stderr {err[-300:]!r}"


def _sweep(hostile, victim, env, canary, cases):
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda c: _run_case(hostile, victim, env, canary, c), cases))
    return {f"{c[0]} {c[1]} [{c[2]}]": r for c, r in zip(cases, results) if r}


def test_every_host_field_at_its_limits(hostile, victim, async_env, canary):
    bad = _sweep(hostile, victim, async_env, canary, CASES)
    assert not bad, "\n".join(f"{k}: {v}" for k, v in sorted(bad.items()))


@pytest.mark.slow
def test_every_host_field_at_its_limits_flips_repeated(hostile, victim, async_env, canary):
    flips = [c for c in CASES if c[3] in (EITHER, UNMAPPED)] * 10
    bad = _sweep(hostile, victim, async_env, canary, CASES + flips)
    assert not bad, "\n".join(f"{k}: {v}" for k, v in sorted(bad.items()))


def test_the_sweep_covers_every_host_field():
    """Every field of the syscall area and the START arguments is in the table."""
    lies = " ".join(c[1] for c in CASES)
    for f in ["magic", "version", "flags", "queues", "entries", "pairs", "arena", "arena_unit",
              "arena_units", "espins"]:
        assert f"area.{f}=" in lies, f
    for f in ["argc", "argv", "envp", "ocall", "argv0"] + [f"reserved{k}" for k in range(9)]:
        assert f"start.{f}=" in lies, f
    assert "ethread.ocall=" in lies
    assert "rsp.110.cookie" in lies and "rsp.110.extra" in lies
