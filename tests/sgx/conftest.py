"""Fixtures of the SGX tests: published key vectors, a hand measurement, real binaries."""

import hashlib
import json
import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from ..conftest import IMAGE_C, gcc

DATA = Path(__file__).resolve().parent / "data"
REPO = Path(__file__).resolve().parents[2]

# docs/sgx-spec.md §6: MRSIGNER of the Intel SDK sample key.
SDK_SAMPLE_MRSIGNER = "83d719e77deaca1470f6baf62a4d774303c899db69020f9c70ee1dfc08c7ce9e"


def hand_records(size, ssa_pages, pages):
    """The update records assembled from the spec's tables (sgx-spec §1), by hand.

    ``pages``: (offset, secinfo_flags, content-or-None); None means EADD only.
    Independent of scone_cc.sgx.measure on purpose.
    """
    out = [b"ECREATE\0" + struct.pack("<I", ssa_pages) + struct.pack("<Q", size) + bytes(44)]
    for offset, flags, content in pages:
        out.append(b"EADD\0\0\0\0" + struct.pack("<QQ", offset, flags) + bytes(40))
        if content is not None:
            content = content.ljust(4096, b"\0")
            if flags >> 8 == 1:  # TCS: EADD zeroes STATE, CSSA, AEP, DBGOPTIN (§1.2)
                c = bytearray(content)
                c[0:8] = bytes(8)
                c[8] &= 0xFE
                c[24:28] = bytes(4)
                c[40:48] = bytes(8)
                content = bytes(c)
            for k in range(16):
                out.append(b"EEXTEND\0" + struct.pack("<Q", offset + 256 * k) + bytes(48)
                           + content[256 * k:256 * (k + 1)])
    return out


def hand_mrenclave_of_layout(layout):
    """MRENCLAVE of a scone Layout, through ``hand_records`` only."""
    pages = []
    for run in layout.runs:
        for i in range(run.count):
            content = run.content[i * 4096:(i + 1) * 4096] if run.measured else None
            pages.append((run.offset + i * 4096, (int(run.type) << 8) | run.perms, content))
    return hashlib.sha256(b"".join(hand_records(layout.size, layout.ssa_frame_pages, pages))).digest()


@pytest.fixture(scope="session")
def sample_key(tmp_path_factory) -> Path:
    """The Intel SDK sample key (tests/sgx/data/README.md), copied with mode 0600."""
    d = tmp_path_factory.mktemp("samplekey")
    path = d / "sample.pem"
    shutil.copy(DATA / "sdk_sample_key.pem", path)
    os.chmod(path, 0o600)
    return path


@pytest.fixture(scope="session")
def sample_public(tmp_path_factory, sample_key) -> Path:
    """The sample key's public half, extracted by the openssl CLI."""
    path = sample_key.parent / "sample.pub.pem"
    subprocess.run(["openssl", "rsa", "-in", str(sample_key), "-pubout", "-out", str(path)],
                   check=True, capture_output=True)
    return path


@pytest.fixture(scope="session")
def rsa_vector() -> dict:
    return {k: bytes.fromhex(v) for k, v in
            json.loads((DATA / "sdk_sample_rsa_vector.json").read_text()).items()}


@pytest.fixture(scope="session")
def parts(tmp_path_factory):
    """(image bytes, starter bytes): a real static-pie image and a starter-like ELF."""
    d = tmp_path_factory.mktemp("sgxparts")
    (d / "img.c").write_text(IMAGE_C)
    script = REPO / "linker_scripts" / "enclave.ld"
    layout_args = [f"-Wl,-T,{script}"] if script.exists() else ["-Wl,-z,max-page-size=4096"]
    gcc(["-O2", "-fPIE", "-static-pie", "-nostdlib", "-Wl,-z,text", "-Wl,-z,noexecstack",
         "-Wl,--build-id", "-e", "__scone_entry", *layout_args, "-o", "img", "img.c"], d)
    (d / "st.c").write_text("int main(void) { return 7; }\n")
    gcc(["-O2", "-static", "-Wl,--build-id", "-o", "st", "st.c"], d)
    return (d / "img").read_bytes(), (d / "st").read_bytes()


@pytest.fixture(scope="session")
def unsigned_template(tmp_path_factory, parts) -> Path:
    """An unsigned scone binary: 1 MiB heap, 256 KiB stacks, 2 TCS (SIZE 2 MiB)."""
    from scone_cc.enclave import binfmt, layout
    from scone_cc.sgx.pages import EnclaveParams

    image, starter = parts
    path = tmp_path_factory.mktemp("unsigned") / "app"
    lay = layout.compute(image, EnclaveParams(heap_size=1 << 20, stack_size=256 << 10, tcs_count=2))
    binfmt.write(path, starter=starter, image=image, layout=lay, sigstruct=None)
    return path


@pytest.fixture
def unsigned_binary(tmp_path, unsigned_template) -> Path:
    path = tmp_path / "app"
    shutil.copy(unsigned_template, path)
    return path


@pytest.fixture
def signed_binary(unsigned_binary, sample_key) -> Path:
    from scone_cc.sgx.signing import sign_binary

    sign_binary(unsigned_binary, key_path=sample_key)
    return unsigned_binary
