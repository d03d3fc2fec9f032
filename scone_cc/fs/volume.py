"""Volumes: a protected region's root directory and its metadata file
(FORMAT.md sections 2 and 3), the host side of the file-system shield.

The metadata file ``.scone-volume`` records, per file (path relative to the
volume), its protection and what pins its content: for ``encrypted`` files
the root MAC (node 0's GCM tag) and plaintext size, for ``authenticated``
files the SHA-256 and size of the clear content. It is encrypted and
authenticated with a key derived from the volume key; its SHA-256 is the
volume's tag.

Library code: raises SconeError / reports problems, never prints or exits.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import struct
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from scone_cc.errors import SconeError
from scone_cc.fs import pf

META_NAME = ".scone-volume"
PENDING_PREFIX = ".scone-pending."   # new content waiting for its rename (section 3)
TMP_PREFIX = ".scone-tmp."
MAGIC = b"SCONEVOL"
VERSION = 1
HEADER = struct.Struct("<8sHHIQ16s12sI")   # magic, version, flags, reserved, counter, key check, nonce, body len
ENTRY_HEAD = struct.Struct("<H")
ENTRY_TAIL = struct.Struct("<B7sQ32s")     # kind, reserved, size, digest
KEY_LABEL = b"SCONE-VOLUME-METADATA-KEY"
CHECK_LABEL = b"SCONE-VOLUME-KEY-CHECK"
MAX_BODY = 16 << 20
ENCRYPTED, AUTHENTICATED = 1, 2
KIND_NAMES = {ENCRYPTED: "encrypted", AUTHENTICATED: "authenticated"}
KINDS = {v: k for k, v in KIND_NAMES.items()}

assert HEADER.size == 56


class VolumeError(SconeError):
    """A refusal of the volume as a whole; ``code`` as the C library names it."""

    def __init__(self, code: str, message: str):
        super().__init__(message, exit_code=1)
        self.code = code


@dataclass(frozen=True)
class Entry:
    path: str
    kind: int
    size: int
    digest: bytes      # encrypted: root MAC (16 bytes); authenticated: SHA-256

    def record(self) -> dict:
        return {"path": self.path, "mode": KIND_NAMES[self.kind], "size": self.size,
                ("root_mac" if self.kind == ENCRYPTED else "sha256"): self.digest.hex()}


@dataclass(frozen=True)
class Problem:
    path: str
    code: str
    message: str

    def line(self) -> str:
        return f"{self.path}: {self.code}: {self.message}"


def check_path(rel: str) -> str:
    """A volume-relative path: '/'-separated, no empty, '.', '..' or
    '.scone-*' component (FORMAT.md 2.3). Returns it or raises (exit 2)."""
    try:
        b = rel.encode("utf-8")
    except UnicodeEncodeError:
        raise SconeError(f"{rel!r}: not valid UTF-8; volume paths are UTF-8 (rename the "
                         "file or pick another --as name)") from None
    parts = rel.split("/")
    if (not rel or len(b) >= pf.PATH_MAX_SIZE or "\0" in rel
            or any(p in ("", ".", "..") or p.startswith(".scone-") for p in parts)):
        raise SconeError(f"{rel!r}: not a valid path inside a volume (relative, no '.', '..', "
                         "empty or '.scone-' components, under 772 bytes); pick another --as name")
    return rel


def _keys(vkey: bytes) -> tuple[bytes, bytes]:
    zero = bytes(pf.NONCE)
    return pf.kdf(vkey, KEY_LABEL, zero), pf.kdf(vkey, CHECK_LABEL, zero)


def encode_body(entries: dict[str, Entry]) -> bytes:
    """The plaintext body: u32 count, then entries in byte order of path."""
    out = bytearray(struct.pack("<I", len(entries)))
    for path in sorted(entries, key=lambda p: p.encode()):
        e = entries[path]
        pb = path.encode()
        digest = e.digest.ljust(32, b"\0")
        out += ENTRY_HEAD.pack(len(pb)) + pb + ENTRY_TAIL.pack(e.kind, bytes(7), e.size, digest)
    return bytes(out)


def decode_body(body: bytes) -> dict[str, Entry]:
    def bad(why):
        return VolumeError("vol_format", f"{META_NAME}: malformed metadata ({why})")

    if len(body) < 4:
        raise bad("short body")
    (count,), pos, prev = struct.unpack_from("<I", body, 0), 4, None
    entries = {}
    for _ in range(count):
        if len(body) - pos < ENTRY_HEAD.size + ENTRY_TAIL.size:
            raise bad("entry past the end")
        (plen,) = ENTRY_HEAD.unpack_from(body, pos)
        pb = body[pos + 2:pos + 2 + plen]
        if len(pb) != plen or len(body) - pos - 2 - plen < ENTRY_TAIL.size:
            raise bad("entry past the end")
        kind, reserved, size, digest = ENTRY_TAIL.unpack_from(body, pos + 2 + plen)
        try:
            path = check_path(pb.decode())
        except (UnicodeDecodeError, SconeError):
            raise bad("invalid path") from None
        if prev is not None and pb <= prev:
            raise bad("paths out of order")
        if kind not in KIND_NAMES or any(reserved) or (kind == ENCRYPTED and any(digest[16:])):
            raise bad("reserved bytes or unknown protection")
        entries[path] = Entry(path, kind, size, digest[:16] if kind == ENCRYPTED else digest)
        prev, pos = pb, pos + 2 + plen + ENTRY_TAIL.size
    if pos != len(body):
        raise bad("trailing bytes")
    return entries


def seal(entries: dict[str, Entry], vkey: bytes, counter: int, random=os.urandom) -> bytes:
    """The metadata file's bytes for commit number ``counter``."""
    key, check = _keys(vkey)
    body = encode_body(entries)
    if len(body) > MAX_BODY:
        raise SconeError(f"{META_NAME}: too many entries ({len(entries)})")
    head = HEADER.pack(MAGIC, VERSION, 0, 0, counter, check, random(12), len(body))
    return head + AESGCM(key).encrypt(head[40:52], body, head)


@dataclass
class Metadata:
    entries: dict[str, Entry] = field(default_factory=dict)
    counter: int = 0
    tag: bytes = b""


def unseal(data: bytes, vkey: bytes, expect_tag: bytes | None = None) -> Metadata:
    """Check and decrypt a metadata file (FORMAT.md 2.1): with ``expect_tag``
    any other version is refused (rollback) before anything else."""
    if not data:
        raise VolumeError("vol_missing", f"{META_NAME} is empty")
    tag = hashlib.sha256(data).digest()
    if len(data) < HEADER.size + 16:
        raise VolumeError("vol_format", f"{META_NAME}: {len(data)} bytes is too short")
    magic, version, flags, reserved, counter, check, nonce, blen = HEADER.unpack_from(data, 0)
    if magic != MAGIC:
        raise VolumeError("vol_magic", f"{META_NAME}: not a scone volume metadata file")
    if version != VERSION:
        raise VolumeError("vol_version", f"{META_NAME}: version {version}, only {VERSION} is supported")
    if flags or reserved or blen + HEADER.size + 16 != len(data) or blen > MAX_BODY or blen < 4:
        raise VolumeError("vol_format", f"{META_NAME}: malformed header")
    if expect_tag is not None and tag != expect_tag:
        raise VolumeError("vol_tag", f"volume tag {tag.hex()} differs from the expected "
                                     f"{expect_tag.hex()} (rolled back or replaced)")
    key, want_check = _keys(vkey)
    if check != want_check:
        raise VolumeError("vol_key", "wrong volume key (key check value differs); give the "
                                     "key the volume was created with")
    try:
        body = AESGCM(key).decrypt(nonce, data[HEADER.size:], data[:HEADER.size])
    except InvalidTag:
        raise VolumeError("vol_mac", f"{META_NAME} fails its MAC (tampered)") from None
    return Metadata(decode_body(body), counter, tag)


# ---- a volume on disk -------------------------------------------------------

def _fsync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_durable(path: Path, data: bytes, mode: int = 0o644) -> None:
    """temp + fsync + rename + fsync of the directory (FORMAT.md 3)."""
    tmp = path.with_name(TMP_PREFIX + path.name)
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def _pending(root: Path, rel: str) -> Path:
    p = root / rel
    return p.with_name(PENDING_PREFIX + p.name)


class Volume:
    """An open volume: its directory, key and checked metadata."""

    def __init__(self, root: Path, vkey: bytes, meta: Metadata):
        self.root, self.vkey, self.meta = root, vkey, meta

    # -- opening --
    @classmethod
    def open(cls, root, vkey: bytes, expect_tag: bytes | None = None) -> "Volume":
        root = Path(root)
        if not root.is_dir():
            raise SconeError(f"{root}: no such volume directory; create one with scone-fs create")
        mp = root / META_NAME
        try:
            data = mp.read_bytes()
        except FileNotFoundError:
            raise VolumeError("vol_missing", f"{mp}: volume metadata missing (deleted, or not a "
                                             "volume: scone-fs create makes one)") from None
        return cls(root, vkey, unseal(data, vkey, expect_tag))

    @classmethod
    def create(cls, root, vkey: bytes) -> "Volume":
        root = Path(root)
        if root.exists() and (not root.is_dir() or any(root.iterdir())):
            raise SconeError(f"{root}: exists and is not an empty directory; pick a new path")
        root.mkdir(parents=True, exist_ok=True)
        v = cls(root, vkey, Metadata())
        v._commit({})
        return v

    @property
    def tag(self) -> bytes:
        return self.meta.tag

    # -- reading --
    def _content_path(self, e: Entry) -> tuple[Path, bytes | None]:
        """Where the committed content of ``e`` is: the file itself, or its
        pending copy when a commit stopped before the rename (section 3)."""
        target = self.root / e.path
        for p in (target, _pending(self.root, e.path)):
            try:
                data = p.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                continue
            if self._matches(e, data):
                return p, data
        return target, None

    def _matches(self, e: Entry, data: bytes) -> bool:
        if e.kind == AUTHENTICATED:
            return len(data) == e.size and hashlib.sha256(data).digest() == e.digest
        try:
            return pf.header(data).md_mac == e.digest
        except pf.PFError:
            return False

    def read(self, rel: str) -> bytes:
        """The plaintext of ``rel``, fully checked; raises VolumeError(code)."""
        e = self.meta.entries.get(rel)
        if e is None:
            raise VolumeError("no_entry", f"{rel}: not recorded in the volume")
        target = self.root / rel
        where, data = self._content_path(e)
        if data is None:   # explain why, from the file itself
            try:
                data = target.read_bytes()
            except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
                raise VolumeError("missing", f"{rel}: recorded in the volume but absent "
                                             "(deleted)") from None
        if e.kind == AUTHENTICATED:
            if len(data) != e.size:
                raise VolumeError("size", f"{rel}: {len(data)} bytes, the volume recorded {e.size}")
            if hashlib.sha256(data).digest() != e.digest:
                raise VolumeError("auth_hash", f"{rel}: content differs from its recorded SHA-256")
            return data
        try:
            out = pf.decrypt(data, rel, self.vkey)
        except pf.PFError as err:
            raise VolumeError(err.code, f"{rel}: {err}") from None
        if out.root_mac != e.digest:
            raise VolumeError("stale", f"{rel}: not the version the volume recorded "
                                       "(an older or other copy)")
        if out.size != e.size:
            raise VolumeError("size", f"{rel}: size {out.size}, the volume recorded {e.size}")
        return out.data

    def verify(self) -> list[Problem]:
        """Every recorded file checked in full, plus files the volume does not
        know (FORMAT.md 4). An empty list means the volume is intact."""
        problems = []
        for rel in sorted(self.meta.entries, key=lambda p: p.encode()):
            try:
                self.read(rel)
            except VolumeError as err:
                problems.append(Problem(rel, err.code, str(err).split(": ", 1)[-1]))
        known = set(self.meta.entries)
        for dirpath, dirnames, filenames in os.walk(self.root):
            dirnames.sort()
            for name in sorted(filenames):
                rel = os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")
                if rel == META_NAME or name.startswith(PENDING_PREFIX) or name.startswith(TMP_PREFIX):
                    continue
                if rel not in known:
                    problems.append(Problem(rel, "unknown", "file not recorded in the volume "
                                                            "(added behind its back)"))
        return problems

    # -- writing --
    def recover(self) -> None:
        """Finish a commit that stopped after its metadata was written (rename
        pending copies that match), drop pending copies that do not."""
        for e in self.meta.entries.values():
            p = _pending(self.root, e.path)
            if p.exists():
                data = p.read_bytes()
                if self._matches(e, data) and not self._matches_file(e):
                    os.replace(p, self.root / e.path)
                    _fsync_dir(p.parent)
        for dirpath, _, filenames in os.walk(self.root):
            for name in filenames:
                if name.startswith(PENDING_PREFIX) or name.startswith(TMP_PREFIX):
                    os.unlink(os.path.join(dirpath, name))

    def _matches_file(self, e: Entry) -> bool:
        try:
            return self._matches(e, (self.root / e.path).read_bytes())
        except OSError:
            return False

    def add(self, items: list[tuple[str, bytes]], kind: int, random=os.urandom) -> None:
        """Add or replace files and commit once (FORMAT.md 3): each new
        content under a pending name, fsync'd; then the metadata, atomically;
        then each pending copy renamed over its file. A failure before the
        metadata is written leaves the volume as it was."""
        self.recover()
        entries = dict(self.meta.entries)
        staged = []
        try:
            for rel, plain in items:
                check_path(rel)
                target = self.root / rel
                if target.is_dir():
                    raise SconeError(f"{rel}: a directory of that name exists in the volume")
                for parent in Path(rel).parents:
                    if parent != Path(".") and parent.as_posix() in entries:
                        raise SconeError(f"{rel}: {parent} is a file in the volume, not a "
                                         "directory")
                target.parent.mkdir(parents=True, exist_ok=True)
                if kind == ENCRYPTED:
                    enc = pf.encrypt(plain, rel, self.vkey, random)
                    data, e = enc.data, Entry(rel, ENCRYPTED, enc.size, enc.root_mac)
                else:
                    data = plain
                    e = Entry(rel, AUTHENTICATED, len(plain), hashlib.sha256(plain).digest())
                pending = _pending(self.root, rel)
                staged.append((pending, target))
                fd = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    view = memoryview(data)
                    while view:
                        view = view[os.write(fd, view):]
                    os.fsync(fd)
                finally:
                    os.close(fd)
                entries[rel] = e
            self._commit(entries, random)
        except BaseException as err:
            for pending, _ in staged:
                with contextlib.suppress(OSError):
                    os.unlink(pending)
            if isinstance(err, OSError):
                raise SconeError(f"{self.root}: cannot write the volume "
                                 f"({err.strerror}: {err.filename})") from None
            raise
        dirs = set()
        for pending, target in staged:
            os.replace(pending, target)
            dirs.add(target.parent)
        for d in dirs:
            _fsync_dir(d)

    def _commit(self, entries: dict[str, Entry], random=os.urandom) -> None:
        data = seal(entries, self.vkey, self.meta.counter + 1, random)
        _write_durable(self.root / META_NAME, data, 0o644)
        self.meta = Metadata(entries, self.meta.counter + 1, hashlib.sha256(data).digest())


def volume_tag(root) -> bytes:
    """The volume's tag: SHA-256 of its metadata file (no key needed)."""
    mp = Path(root) / META_NAME
    try:
        return hashlib.sha256(mp.read_bytes()).digest()
    except FileNotFoundError:
        raise VolumeError("vol_missing", f"{mp}: volume metadata missing") from None
    except IsADirectoryError:
        raise SconeError(f"{mp}: is a directory") from None
