"""Signing keys: RSA-3072 with e = 3 only, one clear error for each bad key (sgx-spec §6)."""

import os
import stat

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from scone_cc.errors import SconeError
from scone_cc.sgx import keys


def _write_key(path, key, mode=0o600, password=None):
    enc = (serialization.BestAvailableEncryption(password) if password
           else serialization.NoEncryption())
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8, enc))
    os.chmod(path, mode)
    return path


@pytest.fixture(scope="module")
def small_e3():
    return rsa.generate_private_key(public_exponent=3, key_size=2048)


@pytest.fixture(scope="module")
def big_e65537():
    return rsa.generate_private_key(public_exponent=65537, key_size=3072)


def test_sample_key_loads(sample_key):
    key, warnings = keys.load_private_key(sample_key)
    assert key.key_size == 3072 and warnings == []


def test_wrong_size(tmp_path, small_e3):
    with pytest.raises(SconeError, match="2048 bits.*3072"):
        keys.load_private_key(_write_key(tmp_path / "k.pem", small_e3))


def test_wrong_exponent(tmp_path, big_e65537):
    with pytest.raises(SconeError, match="exponent is 65537"):
        keys.load_private_key(_write_key(tmp_path / "k.pem", big_e65537))


def test_not_rsa(tmp_path):
    with pytest.raises(SconeError, match="not RSA"):
        keys.load_private_key(_write_key(tmp_path / "k.pem", ec.generate_private_key(ec.SECP256R1())))


def test_unreadable_and_garbage(tmp_path):
    with pytest.raises(SconeError, match="not found"):
        keys.load_private_key(tmp_path / "missing.pem")
    with pytest.raises(SconeError, match="directory"):
        keys.load_private_key(tmp_path)
    (tmp_path / "junk.pem").write_text("hello\n")
    with pytest.raises(SconeError, match="not a readable PEM"):
        keys.load_private_key(tmp_path / "junk.pem")


def test_encrypted_and_public_keys(tmp_path, small_e3, sample_public):
    with pytest.raises(SconeError, match="encrypted"):
        keys.load_private_key(_write_key(tmp_path / "e.pem", small_e3, password=b"pw"))
    with pytest.raises(SconeError, match="public key"):
        keys.load_private_key(sample_public)


def test_readable_key_is_a_warning(tmp_path, sample_key):
    path = tmp_path / "open.pem"
    path.write_bytes(sample_key.read_bytes())
    os.chmod(path, 0o644)
    key, warnings = keys.load_private_key(path)
    assert warnings == [f"{path}: private key is readable by its group and others (mode 0644); "
                        f"run `chmod 600 {path}`"]
    os.chmod(path, 0o640)
    assert "readable by its group (mode 0640)" in keys.load_private_key(path)[1][0]
    # 0622: nobody else can read it, but others can replace it.
    os.chmod(path, 0o622)
    (line,) = keys.load_private_key(path)[1]
    assert "private key is writable by its group and others (mode 0622)" in line
    assert "key is readable" not in line


def test_key_folder_others_can_write_is_a_warning(tmp_path, sample_key):
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    path = shared / "k.pem"
    path.write_bytes(sample_key.read_bytes())
    os.chmod(path, 0o600)
    (line,) = keys.load_private_key(path)[1]
    assert f"its folder {shared} is writable by its group and others (mode 0777)" in line
    # The same folder through a symlink: the folder that holds the key counts.
    (tmp_path / "link").symlink_to(shared)
    (line,) = keys.load_private_key(tmp_path / "link" / "k.pem")[1]
    assert f"its folder {shared} is writable" in line
    os.chmod(shared, 0o1777)    # sticky, as /tmp: others cannot replace our file
    assert keys.load_private_key(path)[1] == []
    os.chmod(shared, 0o700)
    assert keys.load_private_key(path)[1] == []


def test_key_owned_by_another_user_is_a_warning(tmp_path, sample_key):
    if os.geteuid() != 0:
        pytest.skip("needs root to give a file to another user")
    path = tmp_path / "k.pem"
    path.write_bytes(sample_key.read_bytes())
    os.chmod(path, 0o600)
    os.chown(path, 65534, 65534)
    (line,) = keys.load_private_key(path)[1]
    assert "is owned by user nobody (uid 65534), not by you" in line


def test_public_modulus(sample_public, sample_key):
    pub = keys.load_public_modulus(sample_public)
    assert pub == keys.load_public_modulus(sample_key)
    assert pub.bit_length() == 3072


def test_keygen(tmp_path):
    path = keys.keygen(tmp_path / "new.pem")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    key = serialization.load_pem_private_key(path.read_bytes(), None)
    assert key.key_size == 3072 and key.public_key().public_numbers().e == 3
    with pytest.raises(SconeError, match="already exists"):
        keys.keygen(path)
    assert [p.name for p in tmp_path.iterdir()] == ["new.pem"]


def test_dev_key_created_once(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.delenv("SCONE_KEY", raising=False)
    path = keys.resolve_key_path(None)
    assert path == tmp_path / ".config" / "scone" / "enclave-key.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(path.parent).st_mode) == 0o700
    first = path.read_bytes()
    assert keys.dev_key() == path and path.read_bytes() == first
    assert sorted(p.name for p in path.parent.iterdir()) == ["enclave-key.pem"]
    key, warnings = keys.load_private_key(path)
    assert warnings == [] and key.key_size == 3072
    monkeypatch.setenv("SCONE_KEY", "/elsewhere/key.pem")
    assert str(keys.resolve_key_path(None)) == "/elsewhere/key.pem"
    assert str(keys.resolve_key_path("given.pem")) == "given.pem"


def test_signer_callback(sample_key):
    key, _ = keys.load_private_key(sample_key)
    sig, modulus = keys.signer_from_key(key)(b"x" * 256)
    assert len(sig) == 384 and modulus == key.public_key().public_numbers().n
