"""The starter's refusals: not a scone binary, no SGX device, bad settings,
and any flipped byte of the enclave image or of the signed note."""

import random
import shutil
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

HELLO = Path(__file__).resolve().parent.parent.parent / "samples" / "hello.c"


def run(cmd, env):
    return subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True,
                          timeout=60)


def section(path: Path, name: str) -> tuple[int, int]:
    with open(path, "rb") as f:
        s = ELFFile(f).get_section_by_name(name)
        assert s is not None, name
        return s["sh_offset"], s["sh_size"]


def flipped(src: Path, dst: Path, offset: int, mask: int = 0x01) -> Path:
    data = bytearray(src.read_bytes())
    data[offset] ^= mask
    dst.write_bytes(bytes(data))
    dst.chmod(0o755)
    return dst


def assert_refused(r, why: str = ""):
    assert r.returncode != 0, r.stdout
    assert r.stdout == ""
    assert "Traceback" not in r.stderr
    assert r.stderr.startswith("scone: error: "), r.stderr
    assert len(r.stderr.splitlines()) == 1, r.stderr
    assert why in r.stderr, r.stderr


def test_bare_starter_is_not_a_scone_binary(starter, sim_env):
    r = run([starter], sim_env)
    assert r.returncode == 2
    assert_refused(r, "not a scone binary (no .note.scone section)")


def test_hw_mode_without_device_names_the_paths(build, rt_env):
    r = run([build(HELLO)], dict(rt_env, SCONE_MODE="HW"))
    assert r.returncode == 2
    assert_refused(r, "/dev/sgx_enclave")
    assert "SCONE_MODE=HW" in r.stderr


def test_unknown_mode(build, rt_env):
    r = run([build(HELLO)], dict(rt_env, SCONE_MODE="FAST"))
    assert_refused(r, "SCONE_MODE=FAST: expected AUTO, SIM or HW")


def test_syscall_mode(build, sim_env):
    for mode in ("sync", "async", "ASYNC", "adaptive", ""):
        r = run([build(HELLO)], dict(sim_env, SCONE_SYSCALL=mode))
        assert r.returncode == 0 and "Hello, world" in r.stdout, (mode, r.stderr)
    r = run([build(HELLO)], dict(sim_env, SCONE_SYSCALL="fast"))
    assert_refused(r, "SCONE_SYSCALL=fast: expected async")


def test_syscall_knobs_are_checked(build, sim_env):
    for env, why in ((dict(SCONE_SLOTS="100"), "SCONE_SLOTS=100: expected a power of two"),
                     (dict(SCONE_QUEUES="0"), "SCONE_QUEUES=0: expected a number from 1 to 64"),
                     (dict(SCONE_QUEUES="2", SCONE_STHREADS="3"), "SCONE_STHREADS=3 and SCONE_QUEUES=2 differ"),
                     (dict(SCONE_ESPINS="x"), "SCONE_ESPINS=x: expected a number"),
                     (dict(SCONE_KMOD="maybe"), "SCONE_KMOD=maybe: expected auto, on or off")):
        assert_refused(run([build(HELLO)], dict(sim_env, **env)), why)


def test_tampered_image_byte_refused_with_reason(build, sim_env, tmp_path):
    exe = build(HELLO)
    off, size = section(exe, ".scone.enclave")
    rng = random.Random(3)
    for i, pos in enumerate([0, size - 1] + rng.sample(range(size), 10)):
        bad = flipped(exe, tmp_path / f"img{i}", off + pos)
        r = run([bad], sim_env)
        assert_refused(r, "does not match the SHA-256 in its signed config page")


def test_tampered_note_byte_refused(build, sim_env, tmp_path):
    """Every byte of the note is bound: header and runs by their canonical
    encoding and the measurement, the blob by MRENCLAVE, the SIGSTRUCT by EINIT."""
    exe = build(HELLO)
    off, size = section(exe, ".note.scone")
    rng = random.Random(7)
    for i, pos in enumerate([0, 12, 20, size - 1] + rng.sample(range(size), 40)):
        bad = flipped(exe, tmp_path / f"note{i}", off + pos, mask=1 << rng.randrange(8))
        r = run([bad], sim_env)
        assert_refused(r)
        assert any(w in r.stderr for w in (".note.scone", "EINIT refused", "SHA-256")), r.stderr


def test_einit_refusal_names_the_check(build, sim_env, tmp_path):
    exe = build(HELLO)
    off, size = section(exe, ".note.scone")
    sig = off + size - 1808
    # ENCLAVEHASH (SIGSTRUCT 960) is signed: the signature check fails first.
    r = run([flipped(exe, tmp_path / "hash", sig + 960)], sim_env)
    assert_refused(r, "SGX_INVALID_SIGNATURE")
    # The modulus's lowest byte: still an RSA check failure, never a start.
    r = run([flipped(exe, tmp_path / "mod", sig + 128)], sim_env)
    assert_refused(r, "EINIT refused the enclave")


def test_truncated_binary(build, sim_env, tmp_path):
    exe = build(HELLO)
    data = exe.read_bytes()
    cut = tmp_path / "cut"
    off, size = section(exe, ".scone.enclave")
    cut.write_bytes(data[: off + size // 2])
    cut.chmod(0o755)
    r = run([cut], sim_env)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert "scone: error" in r.stderr or r.returncode < 0


def test_hash_needs_no_sgx_and_does_not_run(build, rt_env, tmp_path):
    exe = shutil.copy2(build(HELLO), tmp_path / "h")
    r = run([exe, "x", "9"], dict(rt_env, SCONE_HASH="1", SCONE_MODE="HW"))
    assert r.returncode == 0 and "Hello" not in r.stdout and len(r.stdout.strip()) == 64


@pytest.mark.slow
def test_every_note_byte_is_bound(build, sim_env, tmp_path):
    """Exhaustive: flipping the low bit of any byte of .note.scone stops the start."""
    exe = build(HELLO)
    off, size = section(exe, ".note.scone")
    data = exe.read_bytes()
    bad = tmp_path / "flip"
    started = []
    for pos in range(size):
        d = bytearray(data)
        d[off + pos] ^= 1
        bad.write_bytes(bytes(d))
        bad.chmod(0o755)
        r = subprocess.run([str(bad)], env=sim_env, capture_output=True, timeout=60)
        if r.returncode == 0 or b"Traceback" in r.stderr:
            started.append(pos)
    assert started == []


def test_auto_mode_warns_once_on_a_terminal_only(build):
    """AUTO without an SGX device: one warning line when stderr is a terminal,
    none when it is a pipe (build tools run enclave binaries and some fail on
    any stderr output)."""
    import os
    import pty

    exe = build(HELLO)
    env = {k: v for k, v in os.environ.items() if k != "SCONE_MODE"}
    if os.path.exists("/dev/sgx_enclave") or os.path.exists("/dev/sgx/enclave"):
        pytest.skip("this machine has an SGX device: AUTO runs on hardware")
    piped = subprocess.run([str(exe)], env=env, capture_output=True, text=True)
    assert piped.returncode == 0 and piped.stderr == "", piped.stderr
    master, slave = pty.openpty()
    try:
        tty = subprocess.run([str(exe)], env=env, stdout=subprocess.PIPE, stderr=slave, text=True)
        os.close(slave)
        slave = -1
        chunks = []
        while True:
            try:
                data = os.read(master, 4096)
            except OSError:
                break
            if not data:
                break
            chunks.append(data)
    finally:
        if slave >= 0:
            os.close(slave)
        os.close(master)
    lines = b"".join(chunks).decode().splitlines()
    assert tty.returncode == 0
    assert len(lines) == 1 and lines[0].startswith("[SCONE|WARN] no usable SGX device (tried /dev/sgx_enclave, /dev/sgx/enclave)"), lines
