"""A scone binary: the enclave image in section .scone.enclave is checked, not the starter."""

import shutil
import subprocess

import pytest

from scone_cc.check import check_paths

from .conftest import CORPUS, compile_c, expected, verdict_name


def wrap(host, image, out):
    """A binary shaped like scone's: a host ELF with the image in section .scone.enclave."""
    subprocess.run(["objcopy", "--add-section", f".scone.enclave={image}", str(host), str(out)], check=True)
    return out


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    d = tmp_path_factory.mktemp("sb")
    cc = ["musl-gcc", "-g", "-static"] if shutil.which("musl-gcc") else ["gcc", "-g", "-static"]
    return {
        "bad_host": compile_c(["gcc", "-g"], CORPUS / "direct.c", d / "host_direct"),
        "clean_host": compile_c(["gcc", "-g"], CORPUS / "clean.c", d / "host_clean"),
        "bad_image": compile_c(cc, CORPUS / "layered.c", d / "img_layered"),
        "clean_image": compile_c(cc + ["-pthread"], CORPUS / "clean.c", d / "img_clean"),
        "dir": d,
    }


def test_findings_come_from_the_enclave_image(parts):
    out = wrap(parts["clean_host"], parts["bad_image"], parts["dir"] / "app1")
    findings = check_paths([out])
    assert {(f.line, verdict_name(f)) for f in findings} == expected(CORPUS / "layered.c")
    assert {f.obj for f in findings} == {f"{out}[.scone.enclave]"}


def test_the_starter_is_not_checked(parts):
    out = wrap(parts["bad_host"], parts["clean_image"], parts["dir"] / "app2")
    assert check_paths([out]) == []


def test_a_damaged_enclave_image_is_bad_input(parts):
    junk = parts["dir"] / "junk"
    junk.write_bytes(b"\x7fELF" + b"\0" * 20)
    out = wrap(parts["clean_host"], junk, parts["dir"] / "app3")
    r = subprocess.run(["scone-check", str(out)], capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr == (f"scone-check: error: {out}[.scone.enclave]: truncated ELF (24 bytes, the header alone "
                        "needs 64); the file is damaged or was cut short: rebuild it\n")
