"""The two readers of ``.note.scone`` agree on what a valid note is.

One corpus of malformed notes (each a real binary with one field changed)
goes to the C starter (``SCONE_HASH=1``: parse, measure, print, no run) and
to every scone-sign command that reads a binary; all must refuse it, with
one line and no traceback, and write nothing.
"""

import json
import os
import subprocess
import sys
import textwrap

import pytest

from scone_cc.enclave import abi, binfmt

H = {name: off for name, off, _ in abi.NOTE_HEADER.fields}
RUN = {name: off for name, off, _ in abi.NOTE_RUN.fields}


def _put(desc, at, fmt, value):
    import struct
    struct.pack_into("<" + fmt, desc, at, value)


def corpus(b):
    """(name, function changing a descriptor bytearray) for the binary ``b``."""
    runs = b.layout.runs
    size = b.layout.size
    config = next(i for i, r in enumerate(runs) if r.what == "config")
    heap = next(i for i, r in enumerate(runs) if r.what == "heap")
    tcs = next(i for i, r in enumerate(runs) if r.what == "tcs[0]")

    def header(field, fmt, value):
        return lambda d: _put(d, H[field], fmt, value(d) if callable(value) else value)

    def run(i, field, fmt, value):
        return lambda d: _put(d, 88 + 32 * i + RUN[field], fmt, value)

    def tcs_state(d):
        h = abi.NOTE_HEADER.unpack(bytes(d))
        r = abi.NOTE_RUN.unpack(bytes(d), 88 + 32 * tcs)
        d[h["blob_offset"] + r["src_offset"]] = 1

    def get(field):
        return lambda d: abi.NOTE_HEADER.unpack(bytes(d))[field]

    return [
        ("size 2^62", header("enclave_size", "Q", 1 << 62)),
        ("size 2^63", header("enclave_size", "Q", 1 << 63)),
        ("size 2^48", header("enclave_size", "Q", 1 << 48)),
        ("size 4096", header("enclave_size", "Q", 4096)),
        ("size not a power of two", header("enclave_size", "Q", size + 4096)),
        ("ssa frame 0", header("ssa_frame_pages", "I", 0)),
        ("ssa frame 2^32-1", header("ssa_frame_pages", "I", 0xFFFFFFFF)),
        ("ssa frame 65", header("ssa_frame_pages", "I", 65)),
        ("nruns 0", header("nruns", "I", 0)),
        ("nruns 2^20+1", header("nruns", "I", (1 << 20) + 1)),
        ("runs_offset 96", header("runs_offset", "I", 96)),
        ("blob_offset + 1", header("blob_offset", "I", lambda d: get("blob_offset")(d) + 1)),
        ("sigstruct_offset + 4",
         header("sigstruct_offset", "I", lambda d: get("sigstruct_offset")(d) + 4)),
        ("image_size + 1", header("image_size", "Q", lambda d: get("image_size")(d) + 1)),
        ("image_size 2^63", header("image_size", "Q", 1 << 63)),
        ("reserved byte", lambda d: d.__setitem__(H["reserved"] + 5, 1)),
        ("config_offset + 4096",
         header("config_offset", "Q", lambda d: get("config_offset")(d) + 4096)),
        ("run unaligned", run(0, "offset", "Q", runs[0].offset + 1)),
        ("run of 0 pages", run(heap, "count", "I", 0)),
        ("run past SIZE", run(heap, "offset", "Q", size)),
        ("run offset 2^63", run(heap, "offset", "Q", 1 << 63)),
        ("runs overlap", run(heap, "offset", "Q", runs[config].offset)),
        ("secinfo type 3", run(heap, "secinfo", "H", 0x303)),
        ("secinfo W without R", run(heap, "secinfo", "H", 0x202)),
        ("secinfo SGX2 bits", run(heap, "secinfo", "H", 0x20B)),
        ("TCS with permissions", run(tcs, "secinfo", "H", 0x101)),
        ("config writable", run(config, "secinfo", "H", 0x203)),
        ("measured 2", run(config, "measured", "B", 2)),
        ("source 3", run(heap, "source", "B", 3)),
        ("zero run with source bytes", run(heap, "src_size", "Q", 4096)),
        ("image run 2^62 bytes", run(0, "src_size", "Q", 1 << 62)),
        ("TCS STATE not zero", tcs_state),
    ]


SIGN_RUNNER = textwrap.dedent("""
    import contextlib, io, json, signal, sys
    from scone_cc import sign
    out = {}
    for path in sys.argv[1:]:
        for cmd in (["show"], ["show", "--json"], ["mrenclave"], ["verify"],
                    ["diff", "GOOD"], ["export-sgxs", "-o", "OUT.sgxs"],
                    ["gendata", "-o", "OUT.data"], ["sign", "--tcs", "2"]):
            argv = [cmd[0], path] + [a.replace("GOOD", path + ".good").replace("OUT", path)
                                     for a in cmd[1:]]
            err = io.StringIO()
            sys.argv = ["scone-sign", *argv]
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
                try:
                    sign.main()
                    rc = 0
                except SystemExit as e:
                    rc = e.code or 0
                except BaseException as e:
                    rc = "raised " + repr(e)
            out.setdefault(path, {})[" ".join(cmd)] = [rc, err.getvalue()]
    json.dump(out, sys.stdout)
""")


def test_both_readers_refuse_every_malformed_note(hello, env, tmp_path):
    b = binfmt.read(hello)
    data = hello.read_bytes()
    at = data.index(b.note)
    bads = {}
    for i, (name, change) in enumerate(corpus(b)):
        desc = bytearray(b.note)
        change(desc)
        assert bytes(desc) != b.note, name
        path = tmp_path / f"bad{i}"
        path.write_bytes(data[:at] + bytes(desc) + data[at + len(desc):])
        os.chmod(path, 0o755)
        (tmp_path / f"bad{i}.good").write_bytes(data)
        bads[str(path)] = name

    # The C reader: the starter parses and measures, then prints MRENCLAVE.
    for path, name in bads.items():
        r = subprocess.run([path], env=dict(env, SCONE_HASH="1"), capture_output=True, text=True)
        assert r.returncode != 0 and r.returncode < 128, (name, r.returncode, r.stdout, r.stderr)
        assert r.stdout == "", (name, r.stdout)

    # The Python reader, through every scone-sign command that reads a binary.
    before = {p: open(p, "rb").read() for p in bads}
    r = subprocess.run([sys.executable, "-c", SIGN_RUNNER, *bads], env=dict(env, SCONE_KEY=""),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    results = json.loads(r.stdout)
    accepted = [(bads[p], cmd, rc) for p, cmds in results.items() for cmd, (rc, err) in cmds.items()
                if rc not in (1, 2)]
    assert accepted == [], accepted
    for p, cmds in results.items():
        for cmd, (rc, err) in cmds.items():
            lines = err.strip().splitlines()
            assert "Traceback" not in err and len(lines) >= 1, (bads[p], cmd, err)
            if cmd != "verify":
                assert len(lines) == 1 and lines[0].startswith("scone-sign: error: "), \
                    (bads[p], cmd, err)
        assert open(p, "rb").read() == before[p], (bads[p], "changed")
        assert not os.path.exists(p + ".sgxs") and not os.path.exists(p + ".data")
