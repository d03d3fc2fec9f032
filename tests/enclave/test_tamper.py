"""Tamper checks on a real signed binary (issue 3): any flipped byte of the
enclave image or of the note stops the enclave from starting, with a reason,
and ``scone-sign verify`` calls the binary bad."""

import io
import os
import random
import subprocess

from elftools.elf.elffile import ELFFile

from scone_cc.enclave import binfmt
from scone_cc.errors import SconeError
from scone_cc.sgx.signing import verify_binary

SEED = 20161102  # the OSDI'16 SCONE paper's conference date: any fixed seed will do
POSITIONS = 200


def section(data, name):
    sec = ELFFile(io.BytesIO(data)).get_section_by_name(name)
    assert sec is not None, f"{name} missing: scone-gcc did not produce an enclave binary"
    return sec["sh_offset"], sec["sh_size"]


def eadd_forced_tcs_bytes(path, data):
    """File positions of the TCS fields EADD zeroes before measuring (sgx-spec
    §1.2: STATE, FLAGS.DBGOPTIN, CSSA, AEP) in every TCS of the note's blob."""
    b = binfmt.read(path)
    desc_at = bytes(data).index(b.note)
    blob_at = desc_at + int.from_bytes(b.note[28:32], "little")
    out = set()
    for i in range(int.from_bytes(b.note[20:24], "little")):
        run = b.note[88 + 32 * i:120 + 32 * i]
        if int.from_bytes(run[12:14], "little") == 0x100:
            src = blob_at + int.from_bytes(run[16:24], "little")
            out |= {src + k for k in [*range(0, 9), *range(24, 28), *range(40, 48)]}
    return out


def run(path, env, *args):
    return subprocess.run([str(path), *args], env=env, capture_output=True, text=True,
                          timeout=60)


def test_untouched_binary_runs_and_verifies(hello, env):
    out = run(hello, env, "tamper", "5")
    assert out.returncode == 5, out.stderr
    assert out.stdout.startswith("Hello, tamper, from inside the enclave!")
    assert verify_binary(hello).problems == ()
    assert subprocess.run(["scone-sign", "verify", str(hello)], env=env,
                          capture_output=True).returncode == 0


def test_flipped_bytes_refuse_to_start(hello, env, tmp_path):
    original = hello.read_bytes()
    image_at = section(original, ".scone.enclave")
    note_at = section(original, ".note.scone")
    rng = random.Random(SEED)
    picks = [("image", image_at[0] + rng.randrange(image_at[1]))
             for _ in range(POSITIONS // 2)]
    picks += [("note", note_at[0] + rng.randrange(note_at[1])) for _ in range(POSITIONS // 2)]
    bad = tmp_path / "bad"
    failures = []
    for i, (where, pos) in enumerate(picks):
        data = bytearray(original)
        data[pos] ^= rng.randrange(1, 256)
        bad.write_bytes(data)
        os.chmod(bad, 0o755)
        out = run(bad, env, "x")
        reasons = [line for line in out.stderr.splitlines() if "[SCONE|WARN] no usable SGX" not in line]
        if out.returncode == 0 or "Hello" in out.stdout or not reasons or \
                not 0 < out.returncode < 128:
            failures.append(f"{where} byte {pos:#x}: rc {out.returncode}, stderr {out.stderr!r}")
            continue
        try:
            problems = verify_binary(bad).problems
        except SconeError:
            problems = ("refused",)
        if not problems:
            failures.append(f"{where} byte {pos:#x}: verify_binary found nothing")
        if i % 20 == 0:
            cli = subprocess.run(["scone-sign", "verify", str(bad)], env=env,
                                 capture_output=True, text=True)
            if cli.returncode == 0 or "Traceback" in cli.stderr:
                failures.append(f"{where} byte {pos:#x}: scone-sign verify said {cli.returncode}")
    assert not failures, f"{len(failures)} of {len(picks)} flips:\n" + "\n".join(failures[:20])


def test_eadd_forced_tcs_fields_are_refused(hello, env, tmp_path):
    # EADD zeroes STATE, FLAGS.DBGOPTIN, CSSA and AEP before measuring, so
    # only the canonical encoding (zero) can catch a flip there.
    original = hello.read_bytes()
    forced = sorted(eadd_forced_tcs_bytes(hello, original))
    bad = tmp_path / "bad"
    started = []
    for pos in forced[:21]:  # the first TCS: STATE, FLAGS byte 0, CSSA, AEP
        data = bytearray(original)
        data[pos] ^= 1
        bad.write_bytes(data)
        os.chmod(bad, 0o755)
        if run(bad, env).returncode == 0:
            started.append(pos)
    assert not started, f"started with flipped bytes at {[hex(p) for p in started]}"


def test_noncanonical_notes_fail_verify(hello, tmp_path):
    # Flips that leave the measurement as it was (sgx-spec §1.2: EADD zeroes
    # these TCS fields; one more zero byte of source): only the canonical
    # encoding catches them.
    b = binfmt.read(hello)
    config = next(i for i, r in enumerate(b.layout.runs) if r.what == "config")
    positions = sorted(eadd_forced_tcs_bytes(hello, hello.read_bytes()))[:21] + \
        [_run_field(hello, 0, 24), _run_field(hello, config, 24)]
    bad = tmp_path / "bad"
    for pos in positions:
        data = bytearray(hello.read_bytes())
        data[pos] ^= 1
        bad.write_bytes(data)
        try:        # refused as the starter refuses it, or a departure from canonical form
            assert verify_binary(bad).problems, hex(pos)
        except SconeError as err:
            assert ".note.scone" in str(err)


def _run_field(hello, index, field_at):
    """File position of byte ``field_at`` of note run ``index``."""
    b = binfmt.read(hello)
    return hello.read_bytes().index(b.note) + 88 + 32 * index + field_at


def _starts_with_flip(hello, env, tmp_path, pos, xor=1):
    data = bytearray(hello.read_bytes())
    data[pos] ^= xor
    bad = tmp_path / "bad"
    bad.write_bytes(data)
    os.chmod(bad, 0o755)
    return run(bad, env).returncode == 0


def test_image_run_source_must_match_its_segment(hello, env, tmp_path):
    # One more byte of source reads a zero byte of file padding: same measurement.
    assert not _starts_with_flip(hello, env, tmp_path, _run_field(hello, 0, 24))


def test_blob_runs_must_follow_one_another(hello, env, tmp_path):
    # The config run one byte longer takes the next TCS's zero STATE byte.
    b = binfmt.read(hello)
    config = next(i for i, r in enumerate(b.layout.runs) if r.what == "config")
    assert not _starts_with_flip(hello, env, tmp_path, _run_field(hello, config, 24))
