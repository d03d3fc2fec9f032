"""The console shield's frames (runtime/shield/console/FORMAT.md), the
client's half: key derivation, a decoder for one output stream and an
encoder for stdin. Library code: raises StreamError, never prints.

The enclave side is C (runtime/shield/console/console.c); the two are held
together by the format document and by tests that run real enclaves.
"""

from __future__ import annotations

import hashlib
import struct

from scone_cc.errors import SconeError

MAGIC = b"\x89SCN\x01"
HDR = struct.Struct(">5sBBBQI")          # magic, type, stream, zero, seq, len: 20 bytes
TAG = 16
MAX_DATA = 16384
MAX_HELLO = 1024
MAX_TEXT = 4096
HELLO, DATA, END = 1, 2, 3
STDIN, STDOUT, STDERR = 0, 1, 2
NAMES = ("stdin", "stdout", "stderr")
LABEL = b"scone-console/1"
SPKI_LEN = 91
EXIT_TAMPERED = 3


class StreamError(SconeError):
    """A stream that fails the format's checks: it ends here."""

    def __init__(self, message: str):
        super().__init__(message, EXIT_TAMPERED)


def new_key():
    from cryptography.hazmat.primitives.asymmetric import ec
    return ec.generate_private_key(ec.SECP256R1())


def spki(public_key) -> bytes:
    from cryptography.hazmat.primitives import serialization as ser
    return public_key.public_bytes(ser.Encoding.DER, ser.PublicFormat.SubjectPublicKeyInfo)


def env_value(key) -> str:
    """SCONE_CONSOLE_KEY's value for the private key ``key``: its public SPKI, hex."""
    return spki(key.public_key()).hex()


def nonce(stream: int, seq: int) -> bytes:
    return struct.pack(">IQ", stream, seq)


def reportdata_nonce(client_spki: bytes) -> bytes:
    """What the enclave hashes after its own SPKI into REPORTDATA (evidence.reportdata_for)."""
    return LABEL + client_spki


def derive(key, enclave_spki: bytes) -> dict[int, bytes]:
    """The three stream keys: ECDH, then HKDF-SHA256 (FORMAT.md "Keys")."""
    from cryptography.hazmat.primitives import hashes, serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    try:
        peer = ser.load_der_public_key(enclave_spki)
        if not isinstance(peer, ec.EllipticCurvePublicKey) or peer.curve.name != "secp256r1":
            raise ValueError
        z = key.exchange(ec.ECDH(), peer)
    except ValueError:
        raise StreamError("the hello's public key is not a P-256 key (tampered)") from None
    ours = spki(key.public_key())
    salt = hashlib.sha256(ours + enclave_spki).digest()
    return {i: HKDF(hashes.SHA256(), 32, salt, LABEL + b" " + NAMES[i].encode()).derive(z)
            for i in (STDIN, STDOUT, STDERR)}


class Decoder:
    """One output stream (stdout or stderr), fed as bytes arrive.

    ``feed`` returns events: ``("hello", enclave_spki, evidence)``,
    ``("data", bytes)``, ``("text", line)`` (a line the host wrote between
    frames: not the program's) and ``("end",)``; ``close`` checks that the
    stream ended with its end frame. ``on_hello(enclave_spki, evidence)``
    returns the stream keys (it checks the evidence) or raises.
    """

    def __init__(self, on_hello, stream: int | None = None):
        self.on_hello = on_hello
        self.stream = stream
        self.buf = bytearray()
        self.pos = 0                   # stream offset of buf[0]
        self.seq = 0
        self.key = None
        self.ended = False

    def _fail(self, what: str):
        name = NAMES[self.stream] if self.stream is not None else "stream"
        raise StreamError(f"{name}: frame {self.seq} at byte {self.pos} {what}; the stream ends here")

    def feed(self, data: bytes) -> list:
        self.buf += data
        out = []
        while self.buf:
            if self.buf[0] != MAGIC[0]:
                nl = self.buf.find(b"\n", 0, MAX_TEXT)
                if nl < 0:
                    if len(self.buf) >= MAX_TEXT or not self._texty(self.buf):
                        self._fail("is neither a frame nor a line of text (tampered)")
                    break
                line = bytes(self.buf[:nl + 1])
                if not self._texty(line[:-1]):
                    self._fail("is neither a frame nor a line of text (tampered)")
                out.append(("text", line.decode()))
                self._take(nl + 1)
                continue
            if self.ended:
                self._fail("follows the end frame (appended or replayed)")
            if len(self.buf) < HDR.size:
                if not MAGIC.startswith(bytes(self.buf[:5])):
                    self._fail("has a bad magic (tampered)")
                break
            magic, kind, stream, zero, seq, n = HDR.unpack_from(self.buf)
            if magic != MAGIC or zero or kind not in (HELLO, DATA, END):
                self._fail("has a bad header (tampered)")
            if self.stream is None and kind == HELLO and stream in (STDOUT, STDERR):
                self.stream = stream
            if stream != self.stream:
                self._fail(f"belongs to {NAMES[stream] if stream < 3 else 'no stream'} (spliced)")
            if (kind == HELLO) != (self.key is None):
                self._fail("is a hello out of place" if kind == HELLO else "comes before the hello")
            if seq != self.seq:
                self._fail("is missing (dropped or reordered)" if seq > self.seq
                           else "is replayed or reordered")
            if n > (MAX_HELLO if kind == HELLO else MAX_DATA) or (kind != HELLO and (kind == END) == (n != 0)):
                self._fail("has a bad length (tampered)")
            total = HDR.size + n + TAG
            if len(self.buf) < total:
                break
            frame = bytes(self.buf[:total])
            header, body, tag = frame[:HDR.size], frame[HDR.size:-TAG], frame[-TAG:]
            if kind == HELLO:
                out.append(self._hello(header, body, tag))
            else:
                plain = self._open(header, body, tag)
                out.append(("data", plain) if kind == DATA else ("end",))
                self.ended = kind == END
            self.seq += 1
            self._take(total)
        return out

    def close(self) -> None:
        if self.key is None and not self.buf:
            name = NAMES[self.stream] if self.stream is not None else "stream"
            raise StreamError(f"{name}: no hello at byte {self.pos}: not a console-shielded "
                              "stream, or it was cut before it began (truncated)")
        if self.buf:
            self._fail("is cut short (truncated)")
        if not self.ended:
            self._fail("never comes: the stream ends without its end frame (truncated)")

    @staticmethod
    def _texty(b) -> bool:
        try:
            s = bytes(b).decode()
        except UnicodeDecodeError:
            return False
        return all(c >= " " or c in "\t\r\x1b" for c in s)

    def _take(self, n: int) -> None:
        del self.buf[:n]
        self.pos += n

    def _hello(self, header: bytes, body: bytes, tag: bytes):
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            (kl,) = struct.unpack_from(">H", body)
            enclave_spki = body[2:2 + kl]
            (el,) = struct.unpack_from(">H", body, 2 + kl)
            evidence = body[4 + kl:4 + kl + el]
            if kl != SPKI_LEN or 4 + kl + el != len(body):
                raise struct.error
        except struct.error:
            self._fail("is a malformed hello (tampered)")
        keys = self.on_hello(enclave_spki, evidence)
        try:
            AESGCM(keys[self.stream]).decrypt(nonce(self.stream, 0), tag, header + body)
        except InvalidTag:
            self._fail("is a hello that does not authenticate: the key is not the one this "
                       "stream was made for (wrong --key-file), or the hello was tampered with")
        self.key = keys[self.stream]
        return ("hello", enclave_spki, evidence)

    def _open(self, header: bytes, body: bytes, tag: bytes) -> bytes:
        from cryptography.exceptions import InvalidTag
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        try:
            return AESGCM(self.key).decrypt(nonce(self.stream, self.seq), body + tag, header)
        except InvalidTag:
            self._fail("fails authentication (tampered)")


class Encoder:
    """stdin's frames, from sequence number 1 (stdin has no hello)."""

    def __init__(self, key: bytes):
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM
        self.aead = AESGCM(key)
        self.seq = 1

    def _frame(self, kind: int, data: bytes) -> bytes:
        header = HDR.pack(MAGIC, kind, STDIN, 0, self.seq, len(data))
        sealed = self.aead.encrypt(nonce(STDIN, self.seq), data, header)
        self.seq += 1
        return header + sealed

    def data(self, data: bytes) -> bytes:
        return b"".join(self._frame(DATA, data[i:i + MAX_DATA]) for i in range(0, len(data), MAX_DATA))

    def end(self) -> bytes:
        return self._frame(END, b"")
