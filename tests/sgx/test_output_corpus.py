"""Bad outputs as build systems and careless users give them, for every writing command.

Device nodes (a copy of /dev/null made with mknod, a FIFO), symlinks (to a
file, dangling, to a folder), output = input (same name, hard link,
symlink), a missing and an unwritable (immutable) folder, a read-only
existing output. For each: no traceback, the documented exit status, one
error line, no temporary file left, and every file that should not change
unchanged (bytes, mode, owner, inode type, device number).
"""

import os
import shutil
import stat
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SCONE_SIGN = ([shutil.which("scone-sign")] if shutil.which("scone-sign")
              else [sys.executable, "-m", "scone_cc.sign"])

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="mknod and chattr need root")


def snapshot(folder: Path) -> dict:
    """Everything a command could damage under ``folder``, symlinks not followed."""
    out = {}
    for p in sorted(folder.rglob("*")):
        st = os.lstat(p)
        kind = stat.S_IFMT(st.st_mode)
        data = p.read_bytes() if kind == stat.S_IFREG else (
            os.readlink(p) if kind == stat.S_IFLNK else None)
        out[p.relative_to(folder).as_posix()] = (kind, stat.S_IMODE(st.st_mode), st.st_uid,
                                                 st.st_gid, st.st_rdev, data)
    return out


def temp_files(folder: Path) -> list[str]:
    return [p.name for p in folder.rglob(".*") if p.name.endswith(".tmp")]


def run(argv, cwd, env=None, fifo=None):
    """Run argv; with ``fifo``, read it meanwhile as a pipe's reader would."""
    got = {}
    reader = None
    if fifo is not None:
        def drain():
            with open(fifo, "rb") as f:
                got["data"] = f.read()
        reader = threading.Thread(target=drain, daemon=True)
        reader.start()
    r = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True,
                       stdin=subprocess.DEVNULL, timeout=120)
    if reader is not None:
        if r.returncode != 0:       # release the reader if nothing opened the FIFO
            with open(fifo, "wb"):
                pass
        reader.join(10)
    r.fifo_data = got.get("data")
    return r


def one_error(r, prog):
    assert "Traceback" not in r.stderr, r.stderr
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"{prog}: error: "), r.stderr
    return lines[0]


@pytest.fixture
def place(tmp_path, signed_binary):
    """A folder with an input binary, device nodes, links and folders to write to."""
    d = tmp_path / "w"
    d.mkdir()
    shutil.copy2(signed_binary, d / "app")
    (d / "hello.c").write_text('#include <stdio.h>\nint main(void){puts("hi");return 0;}\n')
    (d / "old").write_bytes(b"old contents\n")
    (d / "readonly").write_bytes(b"read-only contents\n")
    os.chmod(d / "readonly", 0o444)
    (d / "to-old").symlink_to("old")
    (d / "dangling").symlink_to("new-target")
    (d / "sub").mkdir()
    (d / "to-dir").symlink_to("sub")
    if os.geteuid() == 0:
        os.mknod(d / "null", stat.S_IFCHR | 0o666, os.makedev(1, 3))
        (d / "locked").mkdir()
        if subprocess.run(["chattr", "+i", str(d / "locked")]).returncode != 0:
            os.rmdir(d / "locked")
    os.mkfifo(d / "fifo")
    yield d
    if (d / "locked").exists():
        subprocess.run(["chattr", "-i", str(d / "locked")])


def commands(d: Path, key: Path):
    """Each writing command as (name, program, argv for an output, input names)."""
    return {
        "export-sgxs": ("scone-sign", lambda o: [*SCONE_SIGN, "export-sgxs", "app", "-o", o],
                        ["app"]),
        "gendata": ("scone-sign", lambda o: [*SCONE_SIGN, "gendata", "app", "-o", o], ["app"]),
        "keygen": ("scone-sign", lambda o: [*SCONE_SIGN, "keygen", "--force", "-o", o], []),
        "scone-gcc": ("scone-gcc", lambda o: ["scone-gcc", "hello.c", "-o", o], ["hello.c"]),
    }


CMDS = ["export-sgxs", "gendata", "keygen", "scone-gcc"]


def _go(name, place, scone_env, sample_key, out, fifo=None):
    prog, argv, inputs = commands(place, sample_key)[name]
    return prog, run(argv(out), place, env=scone_env, fifo=fifo)


@pytest.mark.parametrize("name", ["export-sgxs", "gendata", "scone-gcc"])
def test_output_is_an_input(name, place, scone_env, sample_key):
    prog, argv, inputs = commands(place, sample_key)[name]
    src = inputs[0]
    os.link(place / src, place / "hard")
    (place / "soft").symlink_to(src)
    before = snapshot(place)
    for out in (src, "hard", "soft", f"./{src}"):
        r = run(argv(out), place, env=scone_env)
        line = one_error(r, prog)
        assert "same file as an input" in line
    assert snapshot(place) == before and temp_files(place) == []


@needs_root
@pytest.mark.parametrize("name", CMDS)
def test_device_node_stays_a_device(name, place, scone_env, sample_key):
    before = snapshot(place)
    prog, r = _go(name, place, scone_env, sample_key, "null")
    if name == "keygen":
        assert "is a device; the key must be a regular file" in one_error(r, prog)
    else:
        assert r.returncode == 0, r.stderr
    assert snapshot(place) == before and temp_files(place) == []
    assert not [p for p in os.listdir(place.parent) if p.endswith(".tmp")]


@pytest.mark.parametrize("name", CMDS)
def test_fifo_is_written_as_a_stream(name, place, scone_env, sample_key):
    before = snapshot(place)
    prog, r = _go(name, place, scone_env, sample_key, "fifo",
                  fifo=None if name == "keygen" else place / "fifo")
    if name == "keygen":
        assert "is a FIFO; the key must be a regular file" in one_error(r, prog)
    else:
        assert r.returncode == 0, r.stderr
        assert r.fifo_data, "nothing came through the FIFO"
        if name == "scone-gcc":
            assert r.fifo_data[:4] == b"\x7fELF"
    assert snapshot(place) == before and temp_files(place) == []


@pytest.mark.parametrize("name", CMDS)
def test_symlinks(name, place, scone_env, sample_key):
    before = snapshot(place)
    prog, r = _go(name, place, scone_env, sample_key, "to-old")
    assert r.returncode == 0, r.stderr
    after = snapshot(place)
    assert after["to-old"] == before["to-old"]            # the link stays a link
    assert after["old"][0] == stat.S_IFREG and after["old"][5] != b"old contents\n"
    prog, r = _go(name, place, scone_env, sample_key, "dangling")
    assert r.returncode == 0, r.stderr
    assert os.path.islink(place / "dangling") and (place / "new-target").is_file()
    prog, r = _go(name, place, scone_env, sample_key, "to-dir")
    line = one_error(r, prog)
    assert "directory" in line
    assert os.listdir(place / "sub") == [] and temp_files(place) == []


@pytest.mark.parametrize("name", CMDS)
def test_missing_and_unwritable_folders(name, place, scone_env, sample_key):
    before = snapshot(place)
    prog, r = _go(name, place, scone_env, sample_key, "nowhere/out")
    assert "folder nowhere does not exist" in one_error(r, prog)
    if (place / "locked").exists():
        prog, r = _go(name, place, scone_env, sample_key, "locked/out")
        assert "folder locked is not writable" in one_error(r, prog)
    prog, r = _go(name, place, scone_env, sample_key, "/proc/out")
    assert "/proc/out" in one_error(r, prog)
    assert snapshot(place) == before and temp_files(place) == []


@pytest.mark.parametrize("name", CMDS)
def test_read_only_existing_output_is_replaced_as_gcc_does(name, place, scone_env, sample_key):
    prog, r = _go(name, place, scone_env, sample_key, "readonly")
    assert r.returncode == 0, r.stderr
    assert (place / "readonly").read_bytes() != b"read-only contents\n"
    assert temp_files(place) == []


def test_new_outputs_honour_the_umask(place, scone_env, sample_key):
    for mask, exe in ((0o022, 0o755), (0o077, 0o700), (0o002, 0o775)):
        out = place / f"bin{mask:o}"
        r = subprocess.run(f"umask {mask:03o}; exec scone-gcc hello.c -o {out.name}", shell=True,
                           cwd=place, env=scone_env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert stat.S_IMODE(os.stat(out).st_mode) == exe


def test_sign_keeps_the_link_the_owner_and_the_mode(place, scone_env, sample_key):
    app = place / "app"
    os.chmod(app, 0o750)
    if os.geteuid() == 0:
        os.chown(app, 65534, 65534)
    (place / "app-link").symlink_to("app")
    r = subprocess.run([*SCONE_SIGN, "sign", "app-link", "--key", str(sample_key), "--tcs", "3"],
                       cwd=place, env=scone_env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert os.readlink(place / "app-link") == "app"
    st = os.stat(app)
    assert stat.S_IMODE(st.st_mode) == 0o750
    if os.geteuid() == 0:
        assert (st.st_uid, st.st_gid) == (65534, 65534)
    show = subprocess.run([*SCONE_SIGN, "show", "--json", "app"], cwd=place,
                          capture_output=True, text=True)
    assert '"tcs_count": 3' in show.stdout           # the target was signed
    assert temp_files(place) == []
