"""Start-up of a SIM enclave as the starter does it now: page permissions
after EINIT against the signed layout, the image digest checked before any
image header is trusted, and the starter's own phase timings."""

import json
import re
import struct
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "samples" / "hello.c"
PAGE = 4096


def run(cmd, env=None):
    return subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True, timeout=120)


def layout(exe: Path, env) -> dict:
    r = run(["scone-sign", "show", "--json", exe], env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["layout"]


def expected_perms(lay: dict) -> list[str]:
    """Per page of SIZE: what SIM must leave after EINIT (sgx-spec.md §7:
    a TCS maps read-write, pages never added are inaccessible)."""
    pages = ["---"] * (int(lay["size"], 16) // PAGE)
    for r in lay["runs"]:
        first = int(r["offset"], 16) // PAGE
        perms = "rw-" if r["type"] == "TCS" else r["perms"].lower()
        pages[first:first + r["pages"]] = [perms] * r["pages"]
    return pages


def test_sim_page_permissions_follow_the_layout(host_loader, build, rt_env):
    exe = build(HELLO)
    tool = host_loader("sim_perms_test")
    r = run([tool, exe])
    assert r.returncode == 0, r.stdout + r.stderr
    head, *maps = r.stdout.splitlines()
    base, size = (int(v, 16) for v in head.split()[1:])
    got = ["unmapped"] * (size // PAGE)
    for line in maps:
        span, perms = line.split()[:2]
        lo, hi = (int(v, 16) for v in span.split("-"))
        for p in range(max(lo, base), min(hi, base + size), PAGE):
            got[(p - base) // PAGE] = perms[:3]
    want = expected_perms(layout(exe, rt_env))
    assert len(got) == len(want)
    wrong = [(hex(i * PAGE), g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not wrong, f"{len(wrong)} pages differ, first {wrong[:5]}"
    # The layout has guard pages, so this checks that they were closed.
    assert "---" in want[: max(i for i, w in enumerate(want) if w != "---")]


def test_flipped_program_header_is_an_image_mismatch(build, sim_env, tmp_path):
    """The image's SHA-256 rides along the measurement now; a flipped byte
    in the image's program headers must still be reported as that digest's
    mismatch, not as a PT_LOAD the note does not describe."""
    exe = build(HELLO)
    data = bytearray(exe.read_bytes())
    with open(exe, "rb") as f:
        sec = ELFFile(f).get_section_by_name(".scone.enclave")
        at = sec["sh_offset"]
    e_phoff, = struct.unpack_from("<Q", data, at + 32)
    e_phnum, = struct.unpack_from("<H", data, at + 56)
    loads = [at + e_phoff + 56 * i for i in range(e_phnum)
             if struct.unpack_from("<I", data, at + e_phoff + 56 * i)[0] == 1]
    assert loads, "the enclave image has no PT_LOAD"
    data[loads[0] + 8] ^= 0x10                # its p_offset: no run would match it
    bad = tmp_path / "phdr"
    bad.write_bytes(bytes(data))
    bad.chmod(0o755)
    r = run([bad], sim_env)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.startswith("scone: error: ") and len(r.stderr.splitlines()) == 1, r.stderr
    assert "does not match the SHA-256 in its signed config page" in r.stderr, r.stderr


def test_debug_log_times_the_starter(build, sim_env):
    r = run([build(HELLO), "t"], dict(sim_env, SCONE_LOG="debug"))
    assert r.returncode == 0 and "Hello, t," in r.stdout, r.stderr
    m = re.search(r"\[SCONE\|DEBUG\] start-up in the starter: (.*)", r.stderr)
    assert m, r.stderr
    phases = dict((k, float(v)) for k, v in re.findall(r"\s*([^,]+?) ([0-9.]+) ms", m.group(1)))
    assert list(phases) == ["note", "load (ECREATE EADD EEXTEND EINIT)", "syscall threads", "ethreads"], phases
    # A 64 MiB heap alone is 16,384 EADD records: the load cannot take no time.
    assert phases["load (ECREATE EADD EEXTEND EINIT)"] > 0
