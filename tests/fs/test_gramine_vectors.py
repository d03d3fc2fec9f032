"""Files written by Gramine v1.9's own encrypted-file library (see
vectors/README.md for how) are read by both of our implementations."""

import hashlib
import struct
from pathlib import Path

import pytest

from scone_cc.fs import pf

from .conftest import refusal, run_tool

VEC = Path(__file__).resolve().parent / "vectors"
KEY = b"gramine-written!"


def gen(seed: str, n: int) -> bytes:
    out = b"".join(hashlib.sha256(seed.encode() + struct.pack("<Q", i)).digest()
                   for i in range(n // 32 + 1))
    return out[:n]


PLAIN = {
    "empty": b"",
    "small": gen("small", 15),
    "node": gen("node", 3073),
    "mht": gen("mht", 396289),
    "mixed": gen("mixed", 120000)[:50000] + bytes(30000) + gen("mixed-tail", 5000),
}


@pytest.mark.parametrize("name", list(PLAIN))
def test_python_reads_gramine_file(name):
    data = (VEC / f"{name}.pf").read_bytes()
    out = pf.decrypt(data, f"vectors/{name}", KEY)
    assert out.data == PLAIN[name]
    with pytest.raises(pf.PFError) as e:
        pf.decrypt(data, f"vectors/{name}x", KEY)
    assert e.value.code == "path"


@pytest.mark.parametrize("name", list(PLAIN))
def test_c_reads_gramine_file(name, sfs_tool, tmp_path):
    r = run_tool(sfs_tool, "dec", KEY.hex(), f"vectors/{name}", VEC / f"{name}.pf", tmp_path / "o")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "o").read_bytes() == PLAIN[name]
    r = run_tool(sfs_tool, "dec", bytes(16).hex(), f"vectors/{name}", VEC / f"{name}.pf",
                 tmp_path / "o2")
    assert r.returncode == 1 and refusal(r.stderr) == "meta_mac"
