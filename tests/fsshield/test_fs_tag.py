"""A volume's expected tag signed into the enclave (--scone-fs-tag,
scone-sign sign --fs-tag): measured with the policy, listed by scone-sign
show; any other version of the volume stops the start with one line naming
it, and the pinned volume is read-only."""

import json
import shutil
import struct
import subprocess

import pytest

from scone_cc.enclave import fspolicy
from scone_cc.errors import SconeError

from .conftest import HERE, KEY, run as _run, scone_fs as _fs


def test_tag_in_the_policy_block_byte_for_byte():
    tag = bytes(range(32))
    regions = (("/a", "ephemeral", "sealed-mrenclave"), ("/d", "authenticated", "cas"))
    block = fspolicy.encode(regions, (("/d", tag),))
    # enclave_abi.h: count; mode, key source | 0x80, length, prefix, tag
    want = struct.pack("<I", 2) + bytes([1, 0, 2, 0]) + b"/a" + bytes([2, 2 | 0x80, 2, 0]) + b"/d" + tag
    assert block == want
    assert fspolicy.decode_block_tags(block + bytes(8), "x") == (regions, (("/d", tag),), len(want))
    assert fspolicy.decode_block(block, "x") == (regions, len(want))
    with pytest.raises(SconeError, match="malformed"):
        fspolicy.decode_block_tags(block[:-1], "x")         # the tag cut short
    bad = bytearray(block)
    bad[5] |= 0x80                                          # a tag on an ephemeral region
    with pytest.raises(SconeError, match="malformed"):
        fspolicy.decode_block_tags(bytes(bad) + bytes(64), "x")


def test_tag_arguments_refused_clearly():
    with pytest.raises(SconeError, match="64 hex digits"):
        fspolicy.parse_tag("/d:abcd")
    with pytest.raises(SconeError, match="64 hex digits"):
        fspolicy.parse_tag("/d")
    assert fspolicy.parse_tag("/d/:" + "ab" * 32) == ("/d", bytes([0xab]) * 32)
    regions = (("/d", "encrypted", "sealed-mrenclave"), ("/e", "ephemeral", "sealed-mrenclave"))
    with pytest.raises(SconeError, match="not an encrypted or authenticated region"):
        fspolicy.merge_tags(regions, [("/e", bytes(32))])
    with pytest.raises(SconeError, match="not an encrypted or authenticated region"):
        fspolicy.merge_tags(regions, [("/x", bytes(32))])
    with pytest.raises(SconeError, match="two different tags"):
        fspolicy.merge_tags(regions, [("/d", bytes(32)), ("/d", b"\1" * 32)])


@pytest.mark.parametrize("mode", ["encrypted", "authenticated"])
def test_signed_tag_pins_the_volume(mode, fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    vol.mkdir()
    key = {"SCONE_FS_KEY": f"{vol}:{KEY}"}
    write = fs_build(HERE / "open_one.c", f"--scone-fs={vol}:{mode}")
    assert _run(write, [vol / "f"], fs_env, **key).returncode == 0
    tag = _fs("tag", vol).stdout.split()[-1]
    old = tmp_path / "old"
    shutil.copytree(vol, old)
    read = fs_build(HERE / "read_all.c", f"--scone-fs={vol}:{mode}", f"--scone-fs-tag={vol}:{tag}")
    r = _run(read, [vol / "f"], fs_env, **key)
    assert r.returncode == 0 and r.stdout == "secret marker\n", r.stderr
    show = json.loads(subprocess.run(["scone-sign", "show", "--json", str(read)], env=fs_env,
                                     capture_output=True, text=True).stdout)
    assert show["fs_regions"] == [{"prefix": str(vol), "mode": mode, "key": "sealed-mrenclave",
                                   "tag": tag}]
    text = subprocess.run(["scone-sign", "show", str(read)], env=fs_env, capture_output=True,
                          text=True).stdout
    assert f"tag {tag}" in text
    # pinned: read-only
    pinned_write = fs_build(HERE / "open_one.c", f"--scone-fs={vol}:{mode}", f"--scone-fs-tag={vol}:{tag}")
    r = _run(pinned_write, [vol / "f"], fs_env, **key)
    assert r.returncode == 1 and r.stdout == "Read-only file system\n"
    assert _fs("tag", vol).stdout.split()[-1] == tag
    # the debug variable cannot override the signed tag
    r = _run(read, [vol / "f"], fs_env, SCONE_FS_TAG=f"{vol}:{'0' * 64}", **key)
    assert r.returncode != 0 and "signed into the enclave" in r.stderr and r.stdout == ""
    # a newer volume (another program wrote to it), then an older one: refused
    assert _run(write, [vol / "g"], fs_env, **key).returncode == 0
    r = _run(read, [vol / "f"], fs_env, **key)
    assert r.returncode != 0 and "secret" not in r.stdout
    lines = [x for x in r.stderr.splitlines() if "refused" in x]
    assert len(lines) == 1 and str(vol) in lines[0] and "signed into the enclave" in lines[0], r.stderr
    shutil.rmtree(vol)
    shutil.copytree(old, vol)
    assert _run(read, [vol / "f"], fs_env, **key).returncode == 0
    # re-signed with another tag, and with none
    copy = tmp_path / "copy"
    shutil.copy(read, copy)
    s = subprocess.run(["scone-sign", "sign", "--fs-tag", f"{vol}:{'1' * 64}", str(copy)],
                       env=fs_env, capture_output=True, text=True)
    assert s.returncode == 0, s.stderr
    r = _run(copy, [vol / "f"], fs_env, **key)
    assert r.returncode != 0 and "rolled back" in r.stderr
    s = subprocess.run(["scone-sign", "sign", "--fs-tag", f"/elsewhere:{'1' * 64}", str(copy)],
                       env=fs_env, capture_output=True, text=True)
    assert s.returncode == 2 and "not an encrypted or authenticated region" in s.stderr
    assert "Traceback" not in s.stderr
    s = subprocess.run(["scone-sign", "sign", "--fs", f"{vol}:{mode}", str(copy)],
                       env=fs_env, capture_output=True, text=True)
    assert s.returncode == 0, s.stderr
    r = _run(copy, [vol / "f"], fs_env, **key)
    assert r.returncode == 0 and r.stdout == "secret marker\n", r.stderr
