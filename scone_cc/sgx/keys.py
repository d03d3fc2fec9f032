"""Enclave signing keys: RSA-3072 with e = 3 in PEM files (docs/sgx-spec.md §6).

Loading checks what EINIT needs (RSA, 3072 bits, exponent 3) and reports a
key file that others can read as a warning string, never a print. The
developer key lives at ``config_dir()/enclave-key.pem`` and is created on
first use; ``SCONE_KEY`` or an explicit path choose another.
"""

from __future__ import annotations

import contextlib
import os
import stat
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.fsutil import atomic_write, output_target
from scone_cc.paths import config_dir
from scone_cc.sgx.sigstruct import Signer

KEY_BITS = 3072
KEY_EXPONENT = 3
DEV_KEY_NAME = "enclave-key.pem"
_FIX = "create one with `scone-sign keygen -o key.pem`"


def _serialization():
    # cryptography is imported lazily: scone-gcc's compile path imports nothing heavy.
    from cryptography.hazmat.primitives import serialization
    return serialization


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SconeError(f"{path}: key file not found; {_FIX}") from None
    except IsADirectoryError:
        raise SconeError(f"{path}: is a directory, not a PEM key file") from None
    except OSError as err:
        raise SconeError(f"{path}: cannot read the key ({err.strerror}); check its permissions") from None


def _check_rsa(key, path: Path, what: str):
    from cryptography.hazmat.primitives.asymmetric import rsa

    if not isinstance(key, (rsa.RSAPrivateKey, rsa.RSAPublicKey)):
        kind = type(key).__name__.lstrip("_")
        raise SconeError(f"{path}: {what} is not RSA ({kind}); SGX signs with RSA-3072, e=3; {_FIX}")
    numbers = key.public_numbers() if isinstance(key, rsa.RSAPublicKey) else key.public_key().public_numbers()
    if key.key_size != KEY_BITS:
        raise SconeError(f"{path}: RSA key has {key.key_size} bits; SGX needs exactly {KEY_BITS}; {_FIX}")
    if numbers.e != KEY_EXPONENT:
        raise SconeError(f"{path}: RSA public exponent is {numbers.e}; SGX needs 3; {_FIX}")
    return key


def _who(bits: int, shift: int) -> str:
    """'its group', 'others' or 'its group and others' for the r/w bit at ``shift``."""
    group, other = bits & (0o010 << shift), bits & (0o001 << shift)
    return " and ".join(w for w, on in (("its group", group), ("others", other)) if on)


def _owner(uid: int) -> str:
    import pwd

    try:
        return f"user {pwd.getpwuid(uid).pw_name} (uid {uid})"
    except KeyError:
        return f"uid {uid}"


def permission_warnings(path: Path) -> list[str]:
    """What lets someone else read or replace the key: one warning line each.

    The file: readable by its group or others (they can sign as you),
    writable by them or owned by another user (they can replace it). Its
    folder (after symlinks): writable by its group or others without the
    sticky bit, or owned by another user (the key can be swapped).
    """
    out = []
    try:
        st = os.stat(path)
    except OSError:
        return out
    mode = stat.S_IMODE(st.st_mode)
    me = os.geteuid()
    wrong = []
    if mode & 0o044:
        wrong.append(f"readable by {_who(mode, 2)}")
    if mode & 0o022:
        wrong.append(f"writable by {_who(mode, 1)}")
    if wrong:
        out.append(f"{path}: private key is {' and '.join(wrong)} (mode {mode:04o}); "
                   f"run `chmod 600 {path}`")
    if st.st_uid not in (me, 0):
        out.append(f"{path}: private key is owned by {_owner(st.st_uid)}, not by you: "
                   "they can read and replace it; use a key of your own")
    folder = Path(os.path.realpath(path)).parent
    try:
        fst = os.stat(folder)
    except OSError:
        return out
    fmode = stat.S_IMODE(fst.st_mode)
    if fmode & 0o022 and not fmode & stat.S_ISVTX:
        out.append(f"{path}: its folder {folder} is writable by {_who(fmode, 1)} "
                   f"(mode {fmode:04o}): they can replace the key; run `chmod go-w {folder}`")
    if fst.st_uid not in (me, 0):
        out.append(f"{path}: its folder {folder} is owned by {_owner(fst.st_uid)}, who can "
                   "replace the key; keep keys in a folder of your own")
    return out


def load_private_key(path) -> tuple[object, list[str]]:
    """Load an RSA-3072, e=3 private key from a PEM file: ``(key, warnings)``."""
    path = Path(path)
    data = _read(path)
    from cryptography.exceptions import UnsupportedAlgorithm

    ser = _serialization()
    try:
        # Every signature is verified against the modulus before anything is
        # written (scone_cc.sgx.signing), so OpenSSL's consistency check of
        # p, q and d adds nothing here but ~0.1 s to every link.
        key = ser.load_pem_private_key(data, password=None, unsafe_skip_rsa_key_validation=True)
    except TypeError:
        raise SconeError(f"{path}: the key is encrypted; decrypt it first "
                         f"(`openssl rsa -in {path} -out plain.pem`) or sign with gendata/catsig") from None
    except (ValueError, UnsupportedAlgorithm) as err:
        if b"PUBLIC KEY" in data:
            raise SconeError(f"{path}: is a public key; signing needs the private key") from None
        raise SconeError(f"{path}: not a readable PEM private key ({err.__class__.__name__}); {_FIX}") from None
    return _check_rsa(key, path, "the key"), permission_warnings(path)


def load_public_modulus(path) -> int:
    """The RSA modulus from a PEM public key, certificate-free (or a private key)."""
    path = Path(path)
    data = _read(path)
    ser = _serialization()
    try:
        key = ser.load_pem_public_key(data)
    except Exception:
        try:
            key = ser.load_pem_private_key(data, password=None).public_key()
        except Exception:
            raise SconeError(f"{path}: not a PEM RSA public key (expected `-----BEGIN PUBLIC KEY-----`, "
                             f"e.g. from `openssl rsa -in key.pem -pubout`)") from None
    return _check_rsa(key, path, "the public key").public_numbers().n


def _generate_pem() -> bytes:
    from cryptography.hazmat.primitives.asymmetric import rsa

    ser = _serialization()
    key = rsa.generate_private_key(public_exponent=KEY_EXPONENT, key_size=KEY_BITS)
    return key.private_bytes(ser.Encoding.PEM, ser.PrivateFormat.TraditionalOpenSSL, ser.NoEncryption())


def keygen(path, *, force: bool = False) -> Path:
    """Write a new RSA-3072, e=3 private key to ``path`` (mode 0600, atomically).

    Only into a regular file: a private key never goes to a device or a
    FIFO (where it would be read by whoever holds the other end, or lost).
    """
    path = Path(path)
    target = output_target(path, what="key", stream_ok=False)
    if target.existing is not None and not force:
        raise SconeError(f"{path}: already exists; choose another name or pass --force to replace it")
    try:
        atomic_write(path, _generate_pem(), 0o600, what="key", stream_ok=False)
    except OSError as err:
        raise SconeError(f"{path}: cannot write the key ({err.strerror}); "
                         "choose a folder you can write to") from None
    return path


def dev_key_path() -> Path:
    """``config_dir()/enclave-key.pem``: the developer key (DESIGN §3)."""
    return config_dir() / DEV_KEY_NAME


def dev_key() -> Path:
    """The developer key's path, creating the key (0600, folder 0700) on first use.

    Concurrent first uses agree on one key: the new file is linked into place
    only if none exists yet.
    """
    path = dev_key_path()
    if path.exists():
        return path
    folder = path.parent
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as err:
        raise SconeError(f"{folder}: cannot create the key folder ({err.strerror}); "
                         "set SCONE_KEY or pass --key") from None
    tmp = folder / f".{DEV_KEY_NAME}.{os.getpid()}.tmp"
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(_generate_pem())
            f.flush()
            os.fsync(f.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(tmp, path)
    except OSError as err:
        raise SconeError(f"{path}: cannot create the developer key ({err.strerror}); "
                         "set SCONE_KEY or pass --key") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return path


def resolve_key_path(key_path=None) -> Path:
    """The key to sign with: ``key_path``, else ``$SCONE_KEY``, else the developer key."""
    if key_path:
        return Path(key_path)
    env = os.environ.get("SCONE_KEY")
    if env:
        return Path(env)
    return dev_key()


def signer_from_key(key) -> Signer:
    """A ``Signer`` over a loaded private key: PKCS#1 v1.5 with SHA-256 (sgx-spec §6)."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    modulus = key.public_key().public_numbers().n

    def signer(data: bytes) -> tuple[bytes, int]:
        return key.sign(data, padding.PKCS1v15(), hashes.SHA256()), modulus

    return signer
