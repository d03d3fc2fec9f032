"""finish(): enclave image -> signed scone binary, or nothing at all."""

import hashlib
import os
import struct
import subprocess

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from scone_cc.enclave import binfmt, build
from scone_cc.errors import SconeError
from scone_cc.sgx.pages import EnclaveParams

PARAMS = EnclaveParams(heap_size=1 << 20, stack_size=64 << 10, tcs_count=2, isvprodid=7,
                       isvsvn=3)


@pytest.fixture(scope="module")
def key_file(tmp_path_factory):
    key = rsa.generate_private_key(public_exponent=3, key_size=3072)
    path = tmp_path_factory.mktemp("key") / "k.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    os.chmod(path, 0o600)
    return path, key.public_key()


@pytest.fixture
def sysroot_dir(tmp_path, starter):
    (tmp_path / "sysroot" / "libexec").mkdir(parents=True)
    (tmp_path / "sysroot" / "libexec" / "scone-starter").write_bytes(starter)
    return tmp_path / "sysroot"


@pytest.fixture
def image_file(tmp_path, ld_image):
    path = tmp_path / ".app.enclave.tmp"
    path.write_bytes(ld_image.read_bytes())
    return path


def mrenclave(lay):
    # docs/sgx-spec.md §1, written out here independently of scone_cc.sgx.
    h = hashlib.sha256()
    h.update(b"ECREATE\0" + struct.pack("<IQ", lay.ssa_frame_pages, lay.size) + bytes(44))
    for run in lay.runs:
        for i in range(run.count):
            off = run.offset + i * 4096
            h.update(b"EADD\0\0\0\0" + struct.pack("<QQ", off, run.secinfo_flags) + bytes(40))
            if run.measured:
                page = run.page(i)
                for c in range(16):
                    h.update(b"EEXTEND\0" + struct.pack("<Q", off + 256 * c) + bytes(48))
                    h.update(page[256 * c:256 * (c + 1)])
    return h.digest()


def test_finish_writes_a_signed_binary(tmp_path, sysroot_dir, image_file, ld_image, key_file):
    out = tmp_path / "app"
    warnings = build.finish(image_file, out, sysroot=sysroot_dir, params=PARAMS,
                            key=str(key_file[0]))
    assert warnings == ()
    assert not image_file.exists()
    assert os.stat(out).st_mode & 0o777 == 0o755
    b = binfmt.read(out)
    assert b.image == ld_image.read_bytes() and b.problems == ()
    assert b.params == PARAMS
    sig = b.sigstruct
    # sgx-spec §6: ENCLAVEHASH, ISVPRODID/ISVSVN, modulus, RSA PKCS#1 v1.5 signature.
    assert sig[960:992] == mrenclave(b.layout)
    assert struct.unpack_from("<HH", sig, 1024) == (7, 3)
    pub = key_file[1]
    assert int.from_bytes(sig[128:512], "little") == pub.public_numbers().n
    pub.verify(sig[516:900][::-1], sig[0:128] + sig[900:1028], padding.PKCS1v15(),
               hashes.SHA256())
    assert leftovers(tmp_path) == []


def test_finish_returns_key_warnings(tmp_path, sysroot_dir, image_file, key_file):
    shared = tmp_path / "shared.pem"
    shared.write_bytes(key_file[0].read_bytes())
    os.chmod(shared, 0o644)
    out = tmp_path / "app"
    warnings = build.finish(image_file, out, sysroot=sysroot_dir, params=PARAMS, key=shared)
    assert len(warnings) == 1 and warnings[0].startswith(f"{shared}: private key is readable by")
    assert "chmod 600" in warnings[0]
    assert binfmt.read(out).problems == ()


def test_finish_replaces_an_existing_output(tmp_path, sysroot_dir, image_file, key_file):
    out = tmp_path / "app"
    out.write_text("old")
    build.finish(image_file, out, sysroot=sysroot_dir, params=PARAMS, key=key_file[0])
    assert binfmt.read(out).sigstruct is not None


def leftovers(d):
    return [p.name for p in d.iterdir() if p.name.endswith(".tmp")]


def test_bad_image_leaves_output_alone(tmp_path, sysroot_dir, key_file):
    image = tmp_path / ".app.enclave.tmp"
    image.write_text("not an image\n")
    out = tmp_path / "app"
    out.write_text("old")
    with pytest.raises(SconeError) as err:
        build.finish(image, out, sysroot=sysroot_dir, params=PARAMS, key=key_file[0])
    assert str(err.value).startswith(f"{out}: enclave image: not an ELF file")
    assert out.read_text() == "old" and not image.exists() and leftovers(tmp_path) == []


def test_missing_starter(tmp_path, image_file, key_file):
    out = tmp_path / "app"
    with pytest.raises(SconeError, match="scone-starter: cannot read the starter"):
        build.finish(image_file, out, sysroot=tmp_path / "nowhere", params=PARAMS,
                     key=key_file[0])
    assert not out.exists() and not image_file.exists() and leftovers(tmp_path) == []


def test_bad_params(tmp_path, sysroot_dir, image_file, key_file):
    with pytest.raises(SconeError, match="TCS count 0"):
        build.finish(image_file, tmp_path / "app", sysroot=sysroot_dir,
                     params=EnclaveParams(tcs_count=0), key=key_file[0])
    assert not (tmp_path / "app").exists() and leftovers(tmp_path) == []


def test_bad_key_leaves_nothing(tmp_path, sysroot_dir, image_file):
    bad = tmp_path / "bad.pem"
    bad.write_text("not a key\n")
    os.chmod(bad, 0o600)
    with pytest.raises(SconeError):
        build.finish(image_file, tmp_path / "app", sysroot=sysroot_dir, params=PARAMS, key=bad)
    assert not (tmp_path / "app").exists() and leftovers(tmp_path) == []


def test_link_refuses_unsupported_calls_unless_allowed(tmp_path, env, repo):
    """DESIGN.md §7 through scone-gcc: the check runs on the enclave image, named as the output."""
    src = str(repo / "samples" / "fork_user.c")
    out = tmp_path / "fu"
    refused = subprocess.run(["scone-gcc", "-O2", "-g", src, "-o", str(out)], env=env,
                             capture_output=True, text=True)
    assert refused.returncode == 1, refused.stderr
    assert "fork_user.c:12" in refused.stderr and "--scone-allow=fork" in refused.stderr
    assert refused.stderr.startswith(f"scone-gcc: error: {out} needs system calls")
    assert f"[in 'main', {out}(.text+0x" in refused.stderr
    assert ".tmp" not in refused.stderr and "Traceback" not in refused.stderr
    assert not out.exists() and leftovers(tmp_path) == []
    allowed = subprocess.run(["scone-gcc", "-O2", "-g", "--scone-allow=fork", src, "-o", str(out)],
                             env=env, capture_output=True, text=True)
    assert allowed.returncode == 0, allowed.stderr
    lines = allowed.stderr.splitlines()
    assert len(lines) == 1, allowed.stderr
    assert lines[0].startswith("scone-gcc: warning: ") and "fork_user.c:12" in lines[0]
    assert "call to 'fork'" in lines[0] and "ENOSYS" in lines[0] and ".tmp" not in lines[0]
    ran = subprocess.run([str(out)], env=env, capture_output=True, text=True)
    assert ran.returncode == 0 and "fork failed" in ran.stdout, ran.stdout + ran.stderr
