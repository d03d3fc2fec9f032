"""``scone-sign size``: the heap, stack and TCS count to sign with, from one run.

The command runs (default: BINARY itself) against a copy of BINARY signed
with generous limits, put in BINARY's place for the run so that every start
of it by the command (a test suite, a make target) gets the copy; the
original is put back atomically at the end, also on SIGINT/SIGTERM. Each
process of the copy writes its high-water marks (the starter's
SCONE_HWM_FILE, runtime/untrusted/hwm.c) to a file of its own; they are
merged by maximum, filtered on the copy's MRENCLAVE (other scone programs
the command runs are not BINARY), and turned into sizes with a margin.

The generous sizes never reach the binary the user keeps: the copy lives in
a temporary directory and only its bytes visit BINARY's path for the run.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import click

from scone_cc.errors import SconeError

# Generous, but the enclave's SIZE (a power of two >= image + heap + stacks)
# must stay reservable: 4 GiB of heap and 64 MiB per TCS give an 8 GiB
# SIZE with the default 8 TCS, address space only in SIM.
GENEROUS_HEAP = 4 << 30
GENEROUS_STACK = 64 << 20
MIN_HEAP = 1 << 20
MIN_STACK = 16 << 10


def _margin(ctx, param, value: str) -> float:
    text = value.strip().rstrip("%")
    try:
        m = float(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a percentage; write e.g. 25%") from None
    if not 0 <= m <= 1000:
        raise click.BadParameter(f"{value!r} is outside 0%..1000%")
    return m / 100


def _round_up(n: int, step: int) -> int:
    return -(-n // step) * step


def _word(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def bitmap_bytes(heap_size: int) -> int:
    """The heap's own bookkeeping, which grows with the heap signed: its page
    bitmap at the bottom (runtime/trusted/heap.c, one bit a page) and the
    record of the program's page protections (runtime/trusted/memory.c, one
    byte an allocatable page)."""
    total = heap_size // 4096
    bitmap = _round_up(_round_up(total, 64) // 8, 4096)
    return bitmap + _round_up(max(total - bitmap // 4096, 0), 4096)


def suggest(marks: dict, margin: float, original) -> dict:
    """Sizes from merged high-water marks (pure): heap and stack with the margin,
    the heap rounded up to 64 KiB (1 MiB from 64 MiB on), the stack to the
    page; TCS: the ethreads the run used (one per CPU it could use, up to
    the TCS count signed), at least one. The heap's figure is the pages
    handed out; the bitmap of the heap signed is added. Fine steps, so
    that a small program is not given several times what it used (the
    suggestions stay within 2x of the smallest sizes that pass:
    tests/sizing)."""
    need = int(marks["heap_used"] * (1 + margin))
    step = 1 << 20 if need >= 64 << 20 else 64 << 10
    heap = _round_up(need, step)
    heap = max(MIN_HEAP, _round_up(need + bitmap_bytes(heap + step), step))
    stack = max(MIN_STACK, _round_up(int(marks["stack_peak"] * (1 + margin)), 4 << 10))
    tcs = max(1, min(original.tcs_count, marks["ethreads"]) if marks["ethreads"] else original.tcs_count)
    return {"heap_size": heap, "stack_size": stack, "tcs_count": tcs}


def merge(files: list[dict]) -> dict:
    """The maximum of every figure over the runs' files."""
    keys = ("heap_peak", "heap_refused", "stack_peak", "pthread_stack_peak", "ethreads",
            "lthreads_peak", "arena_peak")
    out = {k: max((f.get(k, 0) for f in files), default=0) for k in keys}
    out["heap_used"] = max(f.get("heap_peak", 0) - bitmap_bytes(f.get("heap_size", 0)) for f in files)
    out["runs"] = len(files)
    out["inexact_runs"] = sum(1 for f in files if not f.get("exact"))
    out["overflows"] = sum(1 for f in files if f.get("stack_overflow_thread") is not None)
    out["ends"] = sorted({f"{f.get('end')} {f.get('value')}" for f in files})
    return out


class _Swap:
    """BINARY's bytes replaced by the generous copy for the run, put back atomically."""

    def __init__(self, binary: Path, copy: Path):
        self.binary, self.copy = binary, copy
        self.saved = binary.with_name(f".{binary.name}.scone-size-original")
        self.restored = False

    def __enter__(self):
        if self.saved.exists():
            raise SconeError(f"{self.saved} exists: an earlier scone-sign size was stopped "
                             f"before it put {self.binary} back; check which is the original, "
                             "put it in place and remove the other")
        os.link(self.binary, self.saved)
        tmp = self.binary.with_name(f".{self.binary.name}.scone-size-tmp")
        shutil.copy2(self.copy, tmp)
        os.replace(tmp, self.binary)
        return self

    def restore(self):
        if not self.restored:
            os.replace(self.saved, self.binary)
            self.restored = True

    def __exit__(self, *exc):
        # Also on SIGINT/SIGTERM/SIGHUP: run_cli turns them into an exception
        # (errors.catch_signals), which ends the command and comes through here.
        self.restore()


def measure(binary: str, command: list[str], margin: float) -> dict:
    """Run ``command`` with a generous copy of ``binary`` in its place; the report (dict)."""
    from scone_cc.enclave import epc
    from scone_cc.enclave.layout import compute
    from scone_cc.sgx import signing

    path = Path(binary)
    if not path.is_file():
        raise SconeError(f"{binary}: no such file; give the scone binary to size")
    original = signing.read(binary)
    with tempfile.TemporaryDirectory(prefix="scone-size-") as tmp:
        copy = Path(tmp) / path.name
        shutil.copy2(path, copy)
        res = signing.sign_binary(copy, params_update={"heap_size": GENEROUS_HEAP,
                                                        "stack_size": GENEROUS_STACK})
        mr = res.mrenclave.hex()
        env = dict(os.environ, SCONE_MODE="SIM", SCONE_HWM_FILE=f"{tmp}/hwm.%p.json")
        cmd = command or [str(path.resolve())]
        with _Swap(path, copy):
            try:
                # The command's own output goes to stderr: stdout is the report's.
                status = subprocess.run(cmd, env=env, stdout=sys.stderr.fileno()).returncode
            except OSError as err:
                raise SconeError(f"cannot run {cmd[0]}: {err.strerror}") from None
        files = []
        for name in sorted(glob.glob(f"{tmp}/hwm.*.json")):
            try:
                d = json.loads(Path(name).read_text())
            except (OSError, ValueError):
                continue
            if d.get("mrenclave") == mr:
                files.append(d)
    if not files:
        raise SconeError(f"the command ran {binary} no time (no high-water file came back; "
                         f"exit status {status}); give a command that starts it", exit_code=1)
    marks = merge(files)
    problems = []
    if marks["overflows"]:
        problems.append(f"a stack overflowed even at {_word(GENEROUS_STACK)}: the program "
                        "recurses without bound or needs more than scone-sign size tries")
    if marks["heap_refused"]:
        problems.append(f"a request of {marks['heap_refused']} bytes was refused even with "
                        f"a {_word(GENEROUS_HEAP)} heap")
    sizes = suggest(marks, margin, original.params)
    layout = compute(original.image, signing.updated_params(original.params, sizes))
    return {
        "binary": str(binary),
        "command": cmd,
        "command_status": status,
        "margin": margin,
        "signed": {"heap_size": original.params.heap_size,
                   "stack_size": original.params.stack_size,
                   "tcs_count": original.params.tcs_count},
        "measured": marks,
        "suggested": sizes,
        "sign_command": (f"scone-sign sign --heap {_word(sizes['heap_size'])} "
                         f"--stack {_word(sizes['stack_size'])} --tcs {sizes['tcs_count']} {binary}"),
        "epc": epc.facts(layout),
        "problems": problems,
    }


def report_lines(r: dict) -> list[str]:
    from scone_cc.enclave import epc

    m, s, o = r["measured"], r["suggested"], r["signed"]
    h = epc.human
    out = [
        f"{r['binary']}: {m['runs']} run(s) of it by the command (exit status {r['command_status']})"
        + (f", {m['inexact_runs']} ended by a signal (stacks sampled)" if m["inexact_runs"] else ""),
        f"  heap   peak {h(m['heap_used'])} handed out  -> sign with {_word(s['heap_size'])}"
        f" (now {_word(o['heap_size'])})",
        f"  stack  deepest {h(m['stack_peak'])}  -> sign with {_word(s['stack_size'])}"
        f" (now {_word(o['stack_size'])}); pthread stacks {h(m['pthread_stack_peak'])} (musl's "
        "own size from the heap, not --stack)",
        f"  tcs    {m['ethreads']} ethread(s) used  -> sign with {s['tcs_count']}"
        f" (now {o['tcs_count']}; one ethread per CPU up to the TCS count)",
        f"  lthreads at once {m['lthreads_peak']}, largest call's arena use {m['arena_peak']} bytes",
        f"  margin {r['margin'] * 100:g}%",
    ]
    out += ["  " + line for line in epc.lines(r["epc"])]
    out += [f"problem: {p}" for p in r["problems"]]
    out.append(r["sign_command"])
    return out


@click.command("size", context_settings={"ignore_unknown_options": True})
@click.argument("binary", type=click.Path(dir_okay=False))
@click.argument("command", nargs=-1, type=click.UNPROCESSED)
@click.option("--margin", default="25%", callback=_margin, show_default=True,
              help="Head room added to the measured peaks.")
@click.option("--apply", "apply_", is_flag=True, help="Sign BINARY with the sizes found.")
@click.option("--key", type=click.Path(dir_okay=False), envvar="SCONE_KEY",
              help="Key for --apply (default: $SCONE_KEY or the developer key).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
def size(binary, command, margin, apply_, key, as_json):
    """Run COMMAND (default: BINARY with ARGS) with generous limits; print the sizes to sign with.

    scone-sign size BINARY [--margin 25%] [--apply] [--json] [ARGS... | -- COMMAND...]
    """
    # After "--": a command of its own; without it, the words are BINARY's arguments.
    cmd = list(command) if "--" in sys.argv[1:] else ([str(Path(binary).resolve()), *command] if command else [])
    r = measure(binary, cmd, margin)
    if apply_ and not r["problems"]:
        from scone_cc.sgx.signing import sign_binary

        res = sign_binary(binary, key_path=key, params_update=dict(r["suggested"]))
        r["applied"] = {"mrenclave": res.mrenclave.hex()}
        for w in res.warnings:
            sys.stderr.write(f"scone-sign: warning: {w}\n")
    if as_json:
        click.echo(json.dumps(r, indent=2))
    else:
        for line in report_lines(r):
            click.echo(line)
        if "applied" in r:
            click.echo(f"signed {binary} with these sizes (MRENCLAVE {r['applied']['mrenclave']})")
    if r["problems"]:
        sys.exit(1)
