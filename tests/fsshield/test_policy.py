"""File-system regions are signed parameters (DESIGN.md §4, §8): parsed by
scone-gcc and scone-sign, measured in the config page, shown by
scone-sign show, and beyond the host's reach."""

import json
import subprocess

import pytest

from scone_cc.enclave import abi, fspolicy
from scone_cc.errors import SconeError

from .conftest import HERE

HELLO = HERE / "open_one.c"


def run(cmd, env, **kw):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)


@pytest.mark.parametrize("text, region", [
    ("/data:encrypted", ("/data", "encrypted", "sealed-mrenclave")),
    ("/data/:authenticated:sealed-mrsigner", ("/data", "authenticated", "sealed-mrsigner")),
    ("//tmp//x:ephemeral", ("/tmp/x", "ephemeral", "sealed-mrenclave")),
    ("/:unprotected:cas", ("/", "unprotected", "cas")),
    ("/a:b:encrypted", ("/a:b", "encrypted", "sealed-mrenclave")),
])
def test_parse(text, region):
    assert fspolicy.parse(text) == region


@pytest.mark.parametrize("text, why", [
    ("data:encrypted", "not an absolute path"),
    ("/data", "expected PREFIX:MODE"),
    ("/data:secret", "expected PREFIX:MODE"),
    ("/data:encrypted:tpm", "expected PREFIX:MODE"),
    ("/a/../b:encrypted", "'.' or '..'"),
])
def test_parse_refuses(text, why):
    with pytest.raises(SconeError, match=why):
        fspolicy.parse(text)


def test_merge_and_encoding():
    regions = fspolicy.merge([("/z", "ephemeral", "cas"), ("/a", "encrypted", "sealed-mrenclave"),
                              ("/a", "encrypted", "sealed-mrenclave")])
    assert regions == (("/a", "encrypted", "sealed-mrenclave"), ("/z", "ephemeral", "cas"))
    # enclave_abi.h: u32 count; u8 mode, u8 key, u16 len, prefix
    assert fspolicy.encode(regions) == (b"\2\0\0\0" + b"\3\0\2\0/a" + b"\1\2\2\0/z")
    assert fspolicy.decode(fspolicy.encode(regions) + bytes(10), "t") == regions
    with pytest.raises(SconeError, match="different modes"):
        fspolicy.merge([("/a", "encrypted", "cas"), ("/a", "ephemeral", "cas")])
    with pytest.raises(SconeError, match="do not fit"):
        fspolicy.merge([("/" + "x" * 200 + str(i), "encrypted", "cas") for i in range(8)])
    assert abi.CONFIG_FS_OFFSET + abi.CONFIG_FS_SIZE == 4096


def _show(binary, env):
    r = run(["scone-sign", "show", "--json", str(binary)], env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_policy_is_measured_shown_and_kept(fs_build, fs_env, tmp_path):
    plain = fs_build(HELLO)
    shielded = fs_build(HELLO, "--scone-fs=/data:encrypted", "--scone-fs=/tmp/s:ephemeral:cas")
    a, b = _show(plain, fs_env), _show(shielded, fs_env)
    assert a["fs_regions"] == []
    assert b["fs_regions"] == [{"prefix": "/data", "mode": "encrypted", "key": "sealed-mrenclave"},
                               {"prefix": "/tmp/s", "mode": "ephemeral", "key": "cas"}]
    assert a["mrenclave"] != b["mrenclave"]
    text = run(["scone-sign", "show", str(shielded)], fs_env).stdout
    assert "/data" in text and "encrypted" in text and "/tmp/s" in text
    # the environment variable at link time gives the same enclave
    env = dict(fs_env, SCONE_FS="/tmp/s:ephemeral:cas,/data:encrypted")
    out = tmp_path / "via-env"
    r = run(["scone-gcc", "-O2", "-o", str(out), str(HELLO)], env)
    assert r.returncode == 0, r.stderr
    assert _show(out, fs_env)["mrenclave"] == b["mrenclave"]
    # re-signing keeps the regions unless told otherwise; --fs replaces them
    copy = tmp_path / "copy"
    copy.write_bytes(shielded.read_bytes())
    copy.chmod(0o755)
    r = run(["scone-sign", "sign", "--heap", "32M", str(copy)], fs_env)
    assert r.returncode == 0, r.stderr
    assert _show(copy, fs_env)["fs_regions"] == b["fs_regions"]
    r = run(["scone-sign", "sign", "--fs", "/data:unprotected", str(copy)], fs_env)
    assert r.returncode == 0, r.stderr
    c = _show(copy, fs_env)
    assert c["fs_regions"] == [{"prefix": "/data", "mode": "unprotected", "key": "sealed-mrenclave"}]
    r = run(["scone-sign", "sign", "--fs", "/data:open", str(copy)], fs_env)
    assert r.returncode != 0 and "expected PREFIX:MODE" in r.stderr


def test_host_cannot_turn_a_region_off(fs_build, fs_env, tmp_path):
    """The policy bytes edited in the binary (mode encrypted -> unprotected)
    without re-signing: the enclave does not start, and verify says so."""
    shielded = fs_build(HELLO, "--scone-fs=/data:encrypted")
    data = bytearray(shielded.read_bytes())
    block = fspolicy.encode((("/data", "encrypted", "sealed-mrenclave"),))
    assert data.count(block) == 1
    at = data.index(block) + 4
    assert data[at] == 3
    data[at] = 0
    forged = tmp_path / "forged"
    forged.write_bytes(bytes(data))
    forged.chmod(0o755)
    r = run([str(forged), "/data/x"], fs_env, timeout=60)
    assert r.returncode != 0
    assert "opened" not in r.stdout
    assert "MRENCLAVE" in r.stderr or "EINIT" in r.stderr, r.stderr
    v = run(["scone-sign", "verify", str(forged)], fs_env)
    assert v.returncode != 0


def test_authenticated_region_is_shown_and_implies_crypto(fs_build, fs_env):
    """An authenticated region is measured and listed like the others; it
    links the protected-file shield and the crypto it hashes with."""
    from scone_cc.driver.settings import link_settings

    b = _show(fs_build(HELLO, "--scone-fs=/conf:authenticated"), fs_env)
    assert b["fs_regions"] == [{"prefix": "/conf", "mode": "authenticated", "key": "sealed-mrenclave"}]
    assert link_settings([("--scone-fs", "/conf:authenticated")], {}).crypto


def test_link_settings_add_up_and_imply_crypto():
    from scone_cc.driver.settings import link_settings

    s = link_settings([("--scone-fs", "/b:ephemeral")], {"SCONE_FS": "/a:encrypted:sealed-mrsigner"})
    assert s.params.fs == (("/a", "encrypted", "sealed-mrsigner"), ("/b", "ephemeral", "sealed-mrenclave"))
    assert s.crypto
    s = link_settings([("--scone-fs", "/b:ephemeral")], {})
    assert not s.crypto and s.params.fs == (("/b", "ephemeral", "sealed-mrenclave"),)
    with pytest.raises(SconeError, match="SCONE_FS"):
        link_settings([], {"SCONE_FS": "relative:encrypted"})
