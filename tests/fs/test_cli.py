"""scone-fs as a user meets it: whole outputs, exit statuses (0 ok, 1
verification failure, 2 bad input), one error line, --json."""

import json
import os
import subprocess

import pytest

KEY = bytes.fromhex("0f0e0d0c0b0a09080706050403020100")


def fs(*args, cwd=None):
    env = dict(os.environ, COLUMNS="100", NO_COLOR="1")
    return subprocess.run(["scone-fs", *map(str, args)], capture_output=True, env=env, cwd=cwd)


@pytest.fixture
def plain(tmp_path):
    d = tmp_path / "plain"
    (d / "etc").mkdir(parents=True)
    (d / "etc" / "app.conf").write_bytes(b"port = 8080\n")
    (d / "big").write_bytes(bytes(range(256)) * 40)   # 10,240 bytes
    (d / "empty").write_bytes(b"")
    return d


@pytest.fixture
def keyfile(tmp_path):
    k = tmp_path / "key"
    k.write_bytes(KEY)
    return k


@pytest.fixture
def volume(tmp_path, plain, keyfile):
    r = fs("create", tmp_path / "vol", "--key-file", keyfile, "--from", plain)
    assert r.returncode == 0, r.stderr
    return tmp_path / "vol"


def test_create_ls_verify_cat_tag(volume, keyfile, plain, tmp_path):
    r = fs("ls", volume, "--key-file", keyfile)
    assert r.returncode == 0
    assert r.stdout.decode() == (
        "encrypted            10240  big\n"
        "encrypted                0  empty\n"
        "encrypted               12  etc/app.conf\n")
    tag = fs("tag", volume).stdout.decode().strip()
    assert len(tag) == 64
    r = fs("verify", volume, "--key-file", keyfile, "--tag", tag)
    assert r.returncode == 0 and r.stdout.decode() == f"{volume}: ok, 3 files, tag {tag}\n"
    assert fs("cat", volume, "etc/app.conf", "--key-hex", KEY.hex()).stdout == b"port = 8080\n"
    # on the host, contents are not in clear
    assert b"port = 8080" not in (volume / "etc" / "app.conf").read_bytes()
    r = fs("extract", volume, tmp_path / "out", "--key-file", keyfile)
    assert r.returncode == 0, r.stderr
    for rel in ("big", "empty", "etc/app.conf"):
        assert (tmp_path / "out" / rel).read_bytes() == (plain / rel).read_bytes()


def test_json_outputs(volume, keyfile):
    ls = json.loads(fs("ls", volume, "--key-file", keyfile, "--json").stdout)
    assert [f["path"] for f in ls["files"]] == ["big", "empty", "etc/app.conf"]
    assert ls["files"][0]["mode"] == "encrypted" and ls["files"][0]["size"] == 10240
    assert len(bytes.fromhex(ls["files"][0]["root_mac"])) == 16
    tag = json.loads(fs("tag", volume, "--json").stdout)["tag"]
    assert tag == ls["tag"]
    v = json.loads(fs("verify", volume, "--key-file", keyfile, "--json").stdout)
    assert v == {"volume": str(volume), "files": 3, "tag": tag, "ok": True, "problems": []}


def test_add_as_and_authenticated(volume, keyfile, tmp_path):
    src = tmp_path / "notes.txt"
    src.write_bytes(b"public but pinned\n")
    r = fs("add", volume, src, "--as", "docs/notes", "--mode", "authenticated",
           "--key-file", keyfile, "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == ["docs/notes"]
    assert (volume / "docs" / "notes").read_bytes() == b"public but pinned\n"
    assert b"authenticated           18  docs/notes" in fs("ls", volume, "--key-file", keyfile).stdout
    (volume / "docs" / "notes").write_bytes(b"public but pinnet\n")
    r = fs("verify", volume, "--key-file", keyfile)
    assert r.returncode == 1
    assert r.stderr.decode() == ("docs/notes: auth_hash: content differs from its recorded "
                                 "SHA-256\n")


def test_verify_failures_one_line_each(volume, keyfile):
    os.unlink(volume / "empty")
    data = bytearray((volume / "big").read_bytes())
    data[9000] ^= 1   # node 2 (bytes 8192..12287): logical data node 0
    (volume / "big").write_bytes(bytes(data))
    (volume / "stray").write_bytes(b"x")
    r = fs("verify", volume, "--key-file", keyfile)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().splitlines() == [
        "big: data_mac: data node 0 fails its MAC",  # physical node 2,
        "empty: missing: recorded in the volume but absent (deleted)",
        "stray: unknown: file not recorded in the volume (added behind its back)",
    ]
    j = json.loads(fs("verify", volume, "--key-file", keyfile, "--json").stdout)
    assert [(p["path"], p["code"]) for p in j["problems"]] == [
        ("big", "data_mac"), ("empty", "missing"), ("stray", "unknown")]


def test_cat_refuses_tampered_file_without_output(volume, keyfile):
    data = bytearray((volume / "etc" / "app.conf").read_bytes())
    data[500] ^= 4
    (volume / "etc" / "app.conf").write_bytes(bytes(data))
    r = fs("cat", volume, "etc/app.conf", "--key-file", keyfile)
    assert r.returncode == 1 and r.stdout == b""
    assert r.stderr.decode().startswith("etc/app.conf: meta_mac: ")
    assert len(r.stderr.splitlines()) == 1


def test_wrong_key_and_rollback_are_verification_failures(volume, keyfile, tmp_path):
    r = fs("ls", volume, "--key-hex", "11" * 16)
    assert r.returncode == 1
    assert r.stderr.decode() == ("scone-fs: error: wrong volume key (key check value differs); "
                                 "give the key the volume was created with\n")
    r = fs("verify", volume, "--key-file", keyfile, "--tag", "00" * 32)
    assert r.returncode == 1
    assert r.stderr.decode().startswith(".scone-volume: vol_tag: volume tag ")


@pytest.mark.parametrize("args,msg", [
    (["ls", "{vol}", "--key-hex", "abc"], "--key-hex: a volume key is 16 raw bytes or 32 hex"),
    (["ls", "{vol}"], "give the volume key with exactly one of --key-file"),
    (["ls", "{vol}", "--key-file", "{tmp}/nokey"], "cannot read the key file"),
    (["ls", "{tmp}/nodir", "--key-file", "{key}"], "no such volume directory"),
    (["create", "{vol}", "--key-file", "{key}"], "exists and is not an empty directory"),
    (["add", "{vol}", "{key}", "{key}", "--as", "x", "--key-file", "{key}"], "--as names one file"),
    (["add", "{vol}", "{key}", "--as", "../x", "--key-file", "{key}"], "not a valid path"),
    (["add", "{vol}", "{key}", "--as", ".scone-volume", "--key-file", "{key}"], "not a valid path"),
    (["add", "{vol}", "{tmp}/absent", "--key-file", "{key}"], "cannot read"),
    (["add", "{vol}", "{key}", "--as", "big/x", "--key-file", "{key}"], "big is a file in the"),
    (["add", "{vol}", "{key}", "--as", "etc", "--key-file", "{key}"], "a directory of that name"),
    (["verify", "{vol}", "--key-file", "{key}", "--tag", "zz"], "--tag: a volume tag is 64 hex"),
])
def test_bad_input_exits_2_with_one_line(args, msg, volume, keyfile, tmp_path):
    before = sorted((p.relative_to(volume), p.read_bytes()) for p in volume.rglob("*") if p.is_file())
    r = fs(*[a.format(vol=volume, key=keyfile, tmp=tmp_path) for a in args])
    assert r.returncode == 2, r.stderr
    lines = r.stderr.decode().splitlines()
    assert len(lines) == 1 and msg in lines[0], lines
    assert b"Traceback" not in r.stderr
    after = sorted((p.relative_to(volume), p.read_bytes()) for p in volume.rglob("*") if p.is_file())
    assert after == before


def test_extract_never_replaces_without_force(volume, keyfile, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "big").write_bytes(b"mine")
    r = fs("extract", volume, out, "--key-file", keyfile)
    assert r.returncode == 2 and b"exists; pass --force" in r.stderr
    assert (out / "big").read_bytes() == b"mine" and not (out / "empty").exists()
    assert fs("extract", volume, out, "--key-file", keyfile, "--force").returncode == 0
    assert len((out / "big").read_bytes()) == 10240


def test_key_file_in_hex(volume, tmp_path):
    k = tmp_path / "hexkey"
    k.write_text(KEY.hex() + "\n")
    assert fs("verify", volume, "--key-file", k).returncode == 0


def test_missing_metadata(volume, keyfile):
    os.unlink(volume / ".scone-volume")
    r = fs("verify", volume, "--key-file", keyfile)
    assert r.returncode == 1
    assert r.stderr.decode().startswith(".scone-volume: vol_missing: ")
    r = fs("tag", volume)
    assert r.returncode == 1 and len(r.stderr.splitlines()) == 1


def test_create_refuses_before_writing_anything(tmp_path, keyfile):
    src = tmp_path / "src"
    src.mkdir()
    (src / "fine").write_bytes(b"ok")
    os.close(os.open(os.path.join(os.fsencode(src), b"bad\xfe"), os.O_CREAT | os.O_WRONLY))
    r = fs("create", tmp_path / "new", "--key-file", keyfile, "--from", src)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1
    assert b"not valid UTF-8" in r.stderr
    assert not (tmp_path / "new").exists()
