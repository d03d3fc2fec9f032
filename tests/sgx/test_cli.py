"""`scone-sign` on real binaries, checked with hashlib, openssl and a hand measurement."""

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys

from .conftest import SDK_SAMPLE_MRSIGNER, hand_mrenclave_of_layout

SCONE_SIGN = ([shutil.which("scone-sign")] if shutil.which("scone-sign")
              else [sys.executable, "-m", "scone_cc.sign"])


def ss(*args, env=None):
    return subprocess.run([*SCONE_SIGN, *map(str, args)], capture_output=True, text=True,
                          env=env, stdin=subprocess.DEVNULL)


def one_error(out):
    assert out.returncode == 2, out
    assert "Traceback" not in out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("scone-sign: error: "), out.stderr
    return lines[0]


def test_sign_show_verify_mrenclave(unsigned_binary, sample_key, parts):
    from scone_cc.enclave import layout
    from scone_cc.sgx.pages import EnclaveParams

    out = ss("sign", unsigned_binary, "--key", sample_key, "--date", "2024-02-29", "--json")
    assert out.returncode == 0, out.stderr
    signed = json.loads(out.stdout)
    assert signed["mrsigner"] == SDK_SAMPLE_MRSIGNER
    # Independent measurement: the hand records over the layout of the image and parameters.
    image, _ = parts
    expected = hand_mrenclave_of_layout(layout.compute(image, EnclaveParams(heap_size=1 << 20,
                                                                            stack_size=256 << 10, tcs_count=2)))
    assert signed["mrenclave"] == expected.hex()
    assert ss("mrenclave", unsigned_binary).stdout.strip() == expected.hex()

    show = json.loads(ss("show", unsigned_binary, "--json").stdout)
    assert show["sigstruct"]["date"] == "2024-02-29"
    assert show["sigstruct"]["enclavehash"] == expected.hex()
    assert show["sigstruct"]["attributes"] == "0x6"
    assert show["parameters"]["heap_size"] == 1 << 20 and show["parameters"]["tcs_count"] == 2
    kinds = [(r["what"], r["type"], r["measured"]) for r in show["layout"]["runs"]]
    assert ("heap", "REG", False) in kinds and ("tcs[1]", "TCS", True) in kinds

    text = ss("show", unsigned_binary)
    assert text.returncode == 0 and expected.hex() in text.stdout and "tcs[0]" in text.stdout

    ok = ss("verify", unsigned_binary)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == f"{unsigned_binary}: OK (signature, MRENCLAVE {expected.hex()}, attributes)\n"
    twin = unsigned_binary.parent / "twin"
    shutil.copy(unsigned_binary, twin)
    assert ss("diff", unsigned_binary, twin).stdout == f"equal: MRENCLAVE {expected.hex()}\n"


def test_export_sgxs_hashes_to_mrenclave(signed_binary, tmp_path):
    from scone_cc.sgx.sgxs import canonical_problems, mrenclave_of_sgxs

    out = ss("export-sgxs", signed_binary, "-o", tmp_path / "app.sgxs")
    assert out.returncode == 0, out.stderr
    data = (tmp_path / "app.sgxs").read_bytes()
    mr = ss("mrenclave", signed_binary).stdout.strip()
    assert hashlib.sha256(data).hexdigest() == mr == mrenclave_of_sgxs(data).hex()
    assert canonical_problems(data) == []


def test_tampered_binary_fails_verify(signed_binary):
    from scone_cc.enclave import container

    data = signed_binary.read_bytes()
    parts = container.locate(data, "app")
    rng = random.Random(7)
    spots = ([parts.image[0] + rng.randrange(parts.image[1]) for _ in range(4)]
             + [parts.desc[0] + rng.randrange(parts.desc[1]) for _ in range(6)])
    for at in spots:
        bad = bytearray(data)
        bad[at] ^= 1 << rng.randrange(8)
        signed_binary.write_bytes(bytes(bad))
        out = ss("verify", signed_binary)
        assert out.returncode in (1, 2), f"flip at {at} passed verify"
        assert "Traceback" not in out.stderr and out.stderr.strip(), at
    signed_binary.write_bytes(data)
    assert ss("verify", signed_binary).returncode == 0


def test_two_step_signing_with_openssl(unsigned_binary, sample_key, sample_public, tmp_path):
    data_file, sig_file = tmp_path / "data.bin", tmp_path / "sig.bin"
    opts = ("--isvsvn", "4", "--date", "2025-03-01")
    before = unsigned_binary.read_bytes()
    out = ss("gendata", unsigned_binary, "-o", data_file, *opts)
    assert out.returncode == 0, out.stderr
    assert unsigned_binary.read_bytes() == before                # gendata only reads
    data = data_file.read_bytes()
    assert len(data) == 256
    # sgx-spec §6: the first signed region starts with HEADER, the second holds
    # ISVPRODID, ISVSVN; DATE (offset 20) is BCD.
    assert data[:16] == bytes.fromhex("06000000e10000000000010000000000")
    assert data[20:24] == (0x20250301).to_bytes(4, "little")
    assert data[128 + 124:128 + 128] == bytes.fromhex("00000400")
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(sample_key), "-out", str(sig_file),
                    str(data_file)], check=True)
    wrong = tmp_path / "wrong.bin"
    wrong.write_bytes(bytes(384))
    assert "does not verify" in one_error(ss("catsig", unsigned_binary, "--signature", wrong,
                                             "--public-key", sample_public, *opts))
    # Options other than gendata's give other bytes: refused, naming the options.
    err = one_error(ss("catsig", unsigned_binary, "--signature", sig_file,
                       "--public-key", sample_public, "--isvsvn", "4"))
    assert "same --date" in err
    assert unsigned_binary.read_bytes() == before
    out = ss("catsig", unsigned_binary, "--signature", sig_file, "--public-key", sample_public, *opts)
    assert out.returncode == 0, out.stderr
    assert ss("verify", unsigned_binary).returncode == 0
    show = json.loads(ss("show", unsigned_binary, "--json").stdout)
    assert show["sigstruct"]["isvsvn"] == 4 and show["sigstruct"]["mrsigner"] == SDK_SAMPLE_MRSIGNER
    assert show["sigstruct"]["date"] == "2025-03-01"
    # openssl, as a second verifier, over the bytes the SIGSTRUCT says were signed.
    from scone_cc.enclave import binfmt

    sig = binfmt.read(unsigned_binary).sigstruct
    assert sig[:128] + sig[900:1028] == data
    (tmp_path / "be.sig").write_bytes(sig[516:900][::-1])
    check = subprocess.run(["openssl", "dgst", "-sha256", "-verify", str(sample_public),
                            "-signature", str(tmp_path / "be.sig"), str(data_file)],
                           capture_output=True, text=True)
    assert check.returncode == 0 and "Verified OK" in check.stdout


def test_gendata_defaults_to_the_date_of_the_binary(signed_binary, sample_key, sample_public,
                                                    tmp_path):
    assert ss("sign", signed_binary, "--key", sample_key, "--date", "2024-02-29").returncode == 0
    before = signed_binary.read_bytes()
    data_file, sig_file = tmp_path / "data.bin", tmp_path / "sig.bin"
    out = ss("gendata", signed_binary, "-o", data_file, "--heap", "2M")
    assert out.returncode == 0, out.stderr
    assert "date 2024-02-29" in out.stdout
    assert signed_binary.read_bytes() == before
    assert data_file.read_bytes()[20:24] == (0x20240229).to_bytes(4, "little")
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(sample_key), "-out", str(sig_file),
                    str(data_file)], check=True)
    out = ss("catsig", signed_binary, "--signature", sig_file, "--public-key", sample_public,
             "--heap", "2M")
    assert out.returncode == 0, out.stderr
    show = json.loads(ss("show", signed_binary, "--json").stdout)
    assert show["parameters"]["heap_size"] == 2 << 20 and show["sigstruct"]["date"] == "2024-02-29"
    assert ss("verify", signed_binary).returncode == 0


def test_resign_parameters_and_diff(signed_binary, sample_key, tmp_path):
    other = tmp_path / "other"
    shutil.copy(signed_binary, other)
    assert "equal" in ss("diff", signed_binary, other).stdout
    out = ss("sign", other, "--key", sample_key, "--production", "--isvprodid", "9",
             "--stack", "128K")
    assert out.returncode == 0, out.stderr
    show = json.loads(ss("show", other, "--json").stdout)
    assert show["sigstruct"]["attributes"] == "0x4" and show["parameters"]["debug"] is False
    assert show["parameters"]["stack_size"] == 128 << 10 and show["sigstruct"]["isvprodid"] == 9
    assert ss("verify", other).returncode == 0
    d = json.loads(ss("diff", signed_binary, other, "--json").stdout)
    assert d["equal"] is False
    names = {p["name"] for p in d["parameters"]}
    assert {"debug", "isvprodid", "stack_size"} <= names
    # The config page (debug flag) is the first measured difference.
    assert "config" in d["first_difference"]["a"] and "EEXTEND" in d["first_difference"]["why"]
    text = ss("diff", signed_binary, other).stdout
    assert "first differing record" in text and "parameter stack_size" in text


def test_bad_inputs_one_error_no_output(tmp_path, signed_binary):
    junk = tmp_path / "junk"
    junk.write_bytes(b"#!/bin/sh\necho hi\n")
    trunc = tmp_path / "trunc"
    trunc.write_bytes(signed_binary.read_bytes()[:3000])
    for target in (junk, trunc, tmp_path / "missing"):
        for args in (("show", target), ("verify", target), ("mrenclave", target),
                     ("export-sgxs", target, "-o", tmp_path / "out.sgxs"),
                     ("gendata", target, "-o", tmp_path / "out.bin"),
                     ("sign", target, "--key", signed_binary)):
            one_error(ss(*args))
    assert not (tmp_path / "out.sgxs").exists() and not (tmp_path / "out.bin").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["app", "junk", "trunc"]


def test_bad_options(signed_binary, tmp_path):
    assert "not a real date" in one_error(ss("sign", signed_binary, "--date", "2023-02-29"))
    assert "not a size" in one_error(ss("sign", signed_binary, "--heap", "12x"))
    assert "multiple of 4096" in one_error(ss("sign", signed_binary, "--heap", "5000"))
    before = signed_binary.read_bytes()
    assert "not found" in one_error(ss("sign", signed_binary, "--key", tmp_path / "nokey.pem"))
    assert signed_binary.read_bytes() == before


def test_production_and_debug_together_are_refused(signed_binary):
    before = signed_binary.read_bytes()
    for order in (("--production", "--debug"), ("--debug", "--production")):
        line = one_error(ss("sign", signed_binary, *order))
        assert "--production and --debug contradict each other" in line
    assert signed_binary.read_bytes() == before
    assert "contradict" in one_error(ss("gendata", signed_binary, "-o", signed_binary.parent / "d",
                                        "--production", "--debug"))
    assert not (signed_binary.parent / "d").exists()


def test_usage_errors_are_one_line(signed_binary):
    for args in (("keygen",), ("sign",), ("show", signed_binary, "--frobnicate"),
                 ("export-sgxs", signed_binary), ("sign", signed_binary, "--isvsvn", "70000"),
                 ("no-such-command",)):
        line = one_error(ss(*args))
        assert "--help" in line or "Invalid value" in line, line
    r = ss("--help")
    assert r.returncode == 0 and "keygen" in r.stdout


def test_keygen_and_dev_key(tmp_path, unsigned_binary, scone_env):
    out = ss("keygen", "-o", tmp_path / "k.pem")
    assert out.returncode == 0 and oct(os.stat(tmp_path / "k.pem").st_mode & 0o777) == "0o600"
    assert "already exists" in one_error(ss("keygen", "-o", tmp_path / "k.pem"))
    scone_env.pop("SCONE_KEY", None)
    out = ss("sign", unsigned_binary, env=scone_env)
    assert out.returncode == 0, out.stderr
    dev = os.path.join(scone_env["HOME"], ".config", "scone", "enclave-key.pem")
    assert os.stat(dev).st_mode & 0o777 == 0o600
    assert ss("verify", unsigned_binary, env=scone_env).returncode == 0
