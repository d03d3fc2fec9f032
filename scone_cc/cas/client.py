"""The CAS's API from Python: the CLI's client and a reference enclave client.

``Connection`` pins the CAS's key (SHA-256 of its SPKI) before a byte of the
request is sent. ``attest`` is the enclave side of PROTOCOL.md step by step —
what the C runtime will do before ``main`` — driven here by Python so the
service can be tested end to end before that client exists.
"""

from __future__ import annotations

import base64
import http.client
import json
import ssl
from pathlib import Path

from scone_cc.errors import SconeError


class CasError(SconeError):
    """An answer of the CAS that is not a success, with its status and reason."""

    def __init__(self, status: int, reason: str, error: str = ""):
        super().__init__(reason, exit_code=3 if status == 403 and error == "refused" else 2)
        self.status, self.reason, self.error = status, reason, error


class Refused(CasError):
    """A refusal: ``str()`` is the one line the enclave prints."""

    def __str__(self) -> str:
        return f"scone-cas refused: {self.reason}"


def parse_address(text: str) -> tuple[str, int]:
    host, sep, port = str(text).rpartition(":")
    if not sep or not port.isdigit():
        raise SconeError(f"CAS address {text!r}: expected HOST:PORT")
    return host, int(port)


class Connection:
    """One keep-alive HTTPS connection to a CAS whose key hash is ``pin``."""

    def __init__(self, address, pin: str, *, cert: Path | None = None, key: Path | None = None,
                 timeout: float = 30):
        self.host, self.port = parse_address(address) if isinstance(address, str) else address
        self.pin = pin.lower()
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        # The CAS is trusted by its pinned key, not by a CA: checked after the
        # handshake and before any request is written.
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        if cert:
            ctx.load_cert_chain(cert, key)
        self.conn = http.client.HTTPSConnection(self.host, self.port, context=ctx, timeout=timeout)
        self._checked = False

    def _connect(self) -> None:
        from scone_cc.cas.identity import cert_key_hash
        try:
            self.conn.connect()
        except (OSError, ssl.SSLError) as err:
            raise SconeError(f"CAS at {self.host}:{self.port}: cannot connect ({err}); is `scone-cas serve` "
                             "running there?") from None
        got = cert_key_hash(self.conn.sock.getpeercert(binary_form=True))
        if got != self.pin:
            self.conn.close()
            raise Refused(0, f"the CAS at {self.host}:{self.port} presents key {got[:16]}…, not the pinned "
                             f"{self.pin[:16]}…; not talking to it", "wrong-cas-key")
        self._checked = True

    def request(self, method: str, path: str, body: dict | None = None) -> dict:
        if self.conn.sock is None:
            self._connect()
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"} if data is not None else {}
        try:
            self.conn.request(method, path, body=data, headers=headers)
            resp = self.conn.getresponse()
            raw = resp.read()
        except (OSError, ssl.SSLError, http.client.HTTPException) as err:
            self.conn.close()
            raise SconeError(f"CAS at {self.host}:{self.port}: {method} {path} failed "
                             f"({err or type(err).__name__})") from None
        try:
            payload = json.loads(raw)
        except ValueError:
            raise SconeError(f"CAS at {self.host}:{self.port}: {method} {path}: answer is not JSON") from None
        if resp.status >= 300:
            cls = Refused if payload.get("error") == "refused" else CasError
            raise cls(resp.status, payload.get("reason", f"HTTP {resp.status}"), payload.get("error", ""))
        return payload

    def close(self) -> None:
        self.conn.close()


class AdminClient:
    """Session management as the holder of a client certificate (the CLI)."""

    def __init__(self, address, pin: str, config: Path | None = None):
        from scone_cc.cas.identity import client_identity
        self.cert, self.key, self.id = client_identity(config)
        self.address, self.pin = address, pin
        self._conn = None

    def _c(self) -> Connection:
        if self._conn is None:
            # Register (idempotent, needs no certificate), then talk with it.
            reg = Connection(self.address, self.pin)
            try:
                reg.request("POST", "/v1/clients", {"certificate": Path(self.cert).read_text()})
            finally:
                reg.close()
            self._conn = Connection(self.address, self.pin, cert=self.cert, key=self.key)
        return self._conn

    def create(self, doc: dict) -> dict:
        return self._c().request("POST", "/v1/sessions", {"policy": doc})

    def update(self, doc: dict, predecessor: str) -> dict:
        return self._c().request("PUT", f"/v1/sessions/{doc['name']}", {"policy": doc, "predecessor": predecessor})

    def show(self, name: str) -> dict:
        return self._c().request("GET", f"/v1/sessions/{name}")

    def list(self) -> list:
        return self._c().request("GET", "/v1/sessions")["sessions"]

    def delete(self, name: str, predecessor: str) -> dict:
        return self._c().request("DELETE", f"/v1/sessions/{name}", {"predecessor": predecessor})

    def close(self) -> None:
        if self._conn:
            self._conn.close()


def attest(address, pin: str, session: str, service: str, make_evidence, *, kind: str = "sim",
           connection: Connection | None = None):
    """The enclave side of an attestation (PROTOCOL.md §3): returns (config, private key, nonce).

    ``make_evidence(reportdata: bytes) -> bytes`` stands for EREPORT + quoting
    (SIM: ``scone_cc.cas.sim.evidence_for_binary``).
    """
    from scone_cc.cas.envelope import open_
    from scone_cc.cas.evidence import reportdata_for
    from scone_cc.cas.keyfiles import new_ec_key, spki_der

    key = new_ec_key()
    spki = spki_der(key.public_key())
    conn = connection or Connection(address, pin)
    try:
        nonce = bytes.fromhex(conn.request("POST", "/v1/attest/nonce", {})["nonce"])
        ev = make_evidence(reportdata_for(spki, nonce))
        answer = conn.request("POST", "/v1/attest", {
            "session": session, "service": service, "nonce": nonce.hex(),
            "public_key": base64.b64encode(spki).decode(),
            "evidence": {"type": kind, "data": base64.b64encode(ev).decode()}})
    finally:
        if connection is None:
            conn.close()
    return json.loads(open_(answer["envelope"], key, nonce)), key, nonce


def commit_tag(address, pin: str, token: str, volume: str, tag: str, previous: str | None = None) -> dict:
    """Tell the CAS a volume's new tag (PROTOCOL.md §4), as the runtime does at each commit."""
    conn = Connection(address, pin)
    try:
        return conn.request("POST", "/v1/volumes/tag",
                            {"token": token, "volume": volume, "tag": tag, "previous": previous})
    finally:
        conn.close()
