"""The CAS's HTTPS JSON API on asyncio + ssl (PROTOCOL.md has every route).

``make_app(settings)`` builds the application object; ``serve(settings)``
runs it. HTTP/1.1 with Content-Length bodies and keep-alive: the little
that an enclave-side client must speak. Store calls run on one worker
thread, so the event loop never waits for an fsync and writes are ordered.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import hashlib
import hmac
import json
import logging
import os
import re
import secrets as _rand
import ssl
import time
from dataclasses import dataclass
from pathlib import Path

from scone_cc.cas import evidence, policy
from scone_cc.cas import secrets as gen
from scone_cc.cas.identity import cas_identity, cert_key_hash
from scone_cc.cas.keyfiles import create_once
from scone_cc.cas.sim import EvidenceError
from scone_cc.cas.store import Store, StoreError
from scone_cc.errors import SconeError

log = logging.getLogger("scone-cas")
MAX_BODY = 8 << 20
MAX_NONCES = 1 << 16
TOKEN_KEY = "token-key"
IDLE_TIMEOUT = 60.0     # seconds a connection may sit between or inside requests
_REASONS = {200: "OK", 201: "Created", 400: "Bad Request", 401: "Unauthorized", 403: "Forbidden",
            404: "Not Found", 405: "Method Not Allowed", 409: "Conflict", 413: "Payload Too Large",
            500: "Internal Server Error", 503: "Service Unavailable"}


@dataclass(frozen=True)
class Settings:
    state: Path
    host: str = "127.0.0.1"
    port: int = 0
    nonce_ttl: float = 120.0
    dcap_root: Path | None = None     # Intel SGX Root CA (PEM); without it DCAP evidence is refused


class HttpError(Exception):
    def __init__(self, status: int, reason: str, error: str = "bad-request"):
        super().__init__(reason)
        self.status, self.reason, self.error = status, reason, error


def _refuse(reason: str) -> HttpError:
    return HttpError(403, reason, "refused")


def _b64(value, what: str) -> bytes:
    if not isinstance(value, str):
        raise HttpError(400, f"{what}: missing or not a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise HttpError(400, f"{what}: not valid base64") from None


def _hex64(value, what: str, optional: bool = False):
    if value is None and optional:
        return None
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise HttpError(400, f"{what}: not 64 lower-case hex digits")
    return value


class App:
    """The CAS: routes, nonces and the TLS context, over one Store."""

    def __init__(self, settings: Settings):
        self.settings = settings
        state = Path(settings.state)
        try:
            state.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as err:
            raise SconeError(f"--state {state}: cannot create the state folder ({err.strerror})") from None
        cert, key, self.key_hash = cas_identity(state)
        self.store = Store(state / "cas.db")
        self.ssl = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl.minimum_version = ssl.TLSVersion.TLSv1_2
        self.ssl.load_cert_chain(cert, key)
        # Client certificates are self-signed; each registered one is a trust
        # anchor of its own, so the handshake proves possession of its key.
        self.ssl.verify_mode = ssl.CERT_OPTIONAL
        for pem in self.store.client_certs():
            self.ssl.load_verify_locations(cadata=pem)
        self.nonces: dict[str, float] = {}
        create_once(state / TOKEN_KEY, lambda: _rand.token_bytes(32))
        self.token_key = (state / TOKEN_KEY).read_bytes()
        self.dcap_root = load_root(settings.dcap_root) if settings.dcap_root else None
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="cas-store")

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        self.store.close()

    async def _db(self, fn, *args):
        return await asyncio.get_running_loop().run_in_executor(self.pool, fn, *args)

    # --- HTTP ----------------------------------------------------------
    async def connection(self, reader, writer) -> None:
        sslobj = writer.get_extra_info("ssl_object")
        der = sslobj.getpeercert(binary_form=True) if sslobj else None
        client = cert_key_hash(der) if der else None
        try:
            while True:
                try:
                    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT)
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, ssl.SSLError,
                        asyncio.TimeoutError):
                    return      # the peer left, idled, or sent a head over 64 KiB
                status, payload, close = await self._one(head, reader, client)
                body = json.dumps(payload).encode()
                writer.write(f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                             f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
                             f"{'Connection: close' + chr(13) + chr(10) if close else ''}\r\n".encode() + body)
                await writer.drain()
                if close:
                    return
        except (ConnectionError, ssl.SSLError, asyncio.IncompleteReadError, asyncio.TimeoutError):
            return
        finally:
            writer.close()

    async def _one(self, head: bytes, reader, client):
        try:
            lines = head.decode("latin-1").split("\r\n")
            method, target, _version = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if line:
                    k, _, v = line.partition(":")
                    headers[k.strip().lower()] = v.strip()
            length = int(headers.get("content-length", "0"))
            if length < 0:
                raise ValueError
        except ValueError:
            return 400, {"error": "bad-request", "reason": "malformed HTTP request"}, True
        close = headers.get("connection", "").lower() == "close"
        if length > MAX_BODY:
            return 413, {"error": "bad-request", "reason": f"body of {length} bytes exceeds {MAX_BODY}"}, True
        raw = await asyncio.wait_for(reader.readexactly(length), IDLE_TIMEOUT) if length else b""
        try:
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                raise HttpError(400, "body: not JSON") from None
            if not isinstance(body, dict):
                raise HttpError(400, "body: must be a JSON object")
            status, payload = await self.route(method, target, body, client)
            return status, payload, close
        except HttpError as err:
            return err.status, {"error": err.error, "reason": err.reason}, close
        except StoreError as err:
            error = {403: "forbidden", 404: "not-found", 409: "conflict"}.get(err.status, "bad-request")
            return err.status, {"error": error, "reason": str(err)}, close
        except SconeError as err:
            return 400, {"error": "bad-request", "reason": str(err)}, close
        except Exception:  # a bug: log it, answer, keep serving
            log.exception("internal error on %s %s", method, target)
            return 500, {"error": "internal", "reason": "internal error; see the CAS log"}, True

    async def route(self, method: str, target: str, body: dict, client):
        path = target.split("?", 1)[0].rstrip("/")
        m = re.fullmatch(r"/v1/sessions/([^/]+)", path)
        table = {
            ("GET", "/v1/identity"): lambda: (200, {"public_key_sha256": self.key_hash}),
            ("POST", "/v1/clients"): lambda: self.register(body),
            ("POST", "/v1/attest/nonce"): lambda: self.nonce(),
            ("POST", "/v1/attest"): lambda: self.attest(body),
            ("POST", "/v1/volumes/tag"): lambda: self.volume_tag(body),
            ("GET", "/v1/sessions"): lambda: self.list_sessions(self._who(client)),
            ("POST", "/v1/sessions"): lambda: self.create(body, self._who(client)),
        }
        if m:
            name = m.group(1)
            table.update({
                ("GET", path): lambda: self.show(name, self._who(client)),
                ("PUT", path): lambda: self.update(name, body, self._who(client)),
                ("DELETE", path): lambda: self.delete(name, body, self._who(client)),
            })
        handler = table.get((method, path))
        if handler is None:
            known = any(p == path for _, p in table)
            raise HttpError(405 if known else 404, f"{method} {path}: no such route",
                            "bad-request" if known else "not-found")
        result = handler()
        return await result if asyncio.iscoroutine(result) else result

    @staticmethod
    def _who(client):
        if client is None:
            raise HttpError(401, "this route needs a client certificate (the scone-cas CLI makes one and "
                                 "registers it)", "unauthorized")
        return client

    # --- clients --------------------------------------------------------
    async def register(self, body):
        from cryptography import x509
        pem = body.get("certificate")
        try:
            cert = x509.load_pem_x509_certificate(pem.encode())
        except (AttributeError, ValueError):
            raise HttpError(400, "certificate: not a PEM X.509 certificate") from None
        from scone_cc.cas.identity import key_hash
        cid = key_hash(cert.public_key())
        subject = cert.subject.rfc4514_string()
        try:
            cert.verify_directly_issued_by(cert)
        except Exception:
            raise HttpError(400, "certificate: must be self-signed by the key it certifies") from None
        if await self._db(self.store.add_client, cid, pem, subject):
            self.ssl.load_verify_locations(cadata=pem)
            log.info("registered client %s", cid[:16])
        return 200, {"client": cid}

    # --- sessions -------------------------------------------------------
    def _policy(self, body) -> dict:
        doc = body.get("policy")
        if not isinstance(doc, dict):
            raise HttpError(400, "policy: missing or not an object")
        found = policy.problems(doc)
        if found:
            raise HttpError(400, "\n".join(f"session: {p}" for p in found))
        doc = dict(doc)
        doc.pop("predecessor", None)
        return doc

    @staticmethod
    def _plan(doc: dict, ca: dict):
        wanted = {s["name"]: s for s in doc.get("secrets", [])}
        vols = {f"volume:{v['name']}": v for v in doc.get("volumes", [])}

        def plan(existing):
            out = {}
            for name, spec in wanted.items():
                fp = gen.spec_fingerprint(spec)
                out[name] = None if existing.get(name) == (spec["kind"], fp) else (
                    spec["kind"], fp, gen.generate(spec, ca))
            for name, v in vols.items():
                fp = gen.spec_fingerprint({"volume_key": v.get("key")})
                out[name] = None if existing.get(name) == ("volume-key", fp) else (
                    "volume-key", fp, {"hex": v.get("key") or _rand.token_bytes(16).hex()})
            return out
        return plan

    async def create(self, body, who):
        doc = self._policy(body)
        ca = gen.make_ca(doc["name"])
        digest = policy.session_hash(doc, None)
        tags = {v["name"]: v["tag"] for v in doc.get("volumes", []) if "tag" in v}
        version = await self._db(self.store.create_session, doc["name"], who, doc, digest, ca,
                                 self._plan(doc, ca), tags)
        log.info("session %s created (version %d) by %s", doc["name"], version, who[:16])
        return 201, {"name": doc["name"], "version": version, "hash": digest}

    async def update(self, name, body, who):
        doc = self._policy(body)
        if doc["name"] != name:
            raise HttpError(400, f"policy.name '{doc['name']}' is not the session '{name}' being updated")
        pred = _hex64(body.get("predecessor"), "predecessor")
        current = await self._db(self.store.session, name, who)
        digest = policy.session_hash(doc, pred)
        # A tag the owner writes (or changes) in the policy replaces the stored
        # one: restoring a volume from a backup is the owner's explicit act.
        before = {v["name"]: v.get("tag") for v in current["policy"].get("volumes", [])}
        tags = {v["name"]: v["tag"] for v in doc.get("volumes", [])
                if "tag" in v and v["tag"] != before.get(v["name"])}
        version = await self._db(self.store.update_session, name, who, pred, doc, digest,
                                 self._plan(doc, current["ca"]), tags)
        log.info("session %s updated to version %d", name, version)
        return 200, {"name": name, "version": version, "hash": digest}

    def _read_session(self, name, who):
        with self.store.snapshot():
            return self.store.session(name, who), self.store.secrets(name), self.store.volume_tags(name)

    async def show(self, name, who):
        s, stored, tags = await self._db(self._read_session, name, who)
        kinds = {n: k for n, (k, _) in stored.items() if not n.startswith("volume:")}
        return 200, {"name": name, "version": s["version"], "hash": s["hash"], "owner": s["owner"],
                     "policy": s["policy"], "secrets": gen.public_view(kinds), "session_ca": s["ca"]["crt"],
                     "volume_tags": tags}

    async def list_sessions(self, who):
        return 200, {"sessions": await self._db(self.store.sessions, who)}

    async def delete(self, name, body, who):
        pred = _hex64(body.get("predecessor"), "predecessor")
        await self._db(self.store.delete_session, name, who, pred)
        log.info("session %s deleted", name)
        return 200, {"name": name, "deleted": True}

    # --- attestation ----------------------------------------------------
    def nonce(self):
        now = time.monotonic()
        if len(self.nonces) >= MAX_NONCES:
            self.nonces = {n: t for n, t in self.nonces.items() if t > now}
            if len(self.nonces) >= MAX_NONCES:
                raise HttpError(503, "too many attestations in progress; retry shortly", "busy")
        n = _rand.token_bytes(32).hex()
        self.nonces[n] = now + self.settings.nonce_ttl
        return 200, {"nonce": n, "expires_in": self.settings.nonce_ttl}

    async def attest(self, body):
        session, service = body.get("session"), body.get("service")
        if not isinstance(session, str) or not isinstance(service, str):
            raise HttpError(400, "session and service: missing or not strings")
        nonce_hex = _hex64(body.get("nonce"), "nonce")
        spki = _b64(body.get("public_key"), "public_key")
        ev = body.get("evidence")
        if not isinstance(ev, dict):
            raise HttpError(400, "evidence: missing or not an object with 'type' and 'data'")
        data = _b64(ev.get("data"), "evidence.data")
        where = f"{session}/{service}"
        # The nonce is spent whatever happens next: evidence is never checked twice.
        expiry = self.nonces.pop(nonce_hex, None)
        try:
            if expiry is None or expiry < time.monotonic():
                raise _refuse(f"nonce {nonce_hex[:16]}… is unknown, already used or expired (a replayed "
                              "attestation?); ask for a fresh nonce")
            try:
                from cryptography.hazmat.primitives import serialization as ser
                from cryptography.hazmat.primitives.asymmetric import ec
                key = ser.load_der_public_key(spki)
                if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
                    raise ValueError
            except ValueError:
                raise HttpError(400, "public_key: not a DER SubjectPublicKeyInfo of an EC P-256 key") from None
            try:
                ids = await self._db(self.store.sim_key_ids) if ev.get("type") == "sim" else ()
                if ev.get("type") == "dcap" and self.dcap_root is None:
                    raise _refuse("DCAP evidence cannot be checked: this CAS was started without the Intel "
                                  "SGX Root CA (scone-cas serve --dcap-root PEM)")
                verified = evidence.verify(ev.get("type"), data, sim_key_ids=ids, dcap_root=self.dcap_root)
                evidence.check_binding(verified.report, spki, bytes.fromhex(nonce_hex))
            except EvidenceError as err:
                raise _refuse(str(err)) from None
            # One store call: the policy, its secrets and tags are one version
            # (the store thread runs nothing in between). Reads only.
            s, config = await self._db(self._decide_and_configure, session, service, verified)
            config["identity"] = {"certificate": gen.attested_certificate(spki, session, service, s["ca"]),
                                  "ca": s["ca"]["crt"]}
        except HttpError as err:
            if err.status == 403:
                log.warning("refused attestation for %s: %s", where, err.reason)
            raise
        if verified.kind == "sim":
            log.warning("accepted SIM evidence (%s, no hardware protection) for %s, MRENCLAVE %s",
                        verified.detail, where, verified.report.mrenclave.hex()[:16])
        else:
            log.info("accepted DCAP quote for %s, MRENCLAVE %s (%s)", where,
                     verified.report.mrenclave.hex()[:16], verified.detail)
        from scone_cc.cas.envelope import seal
        plain = json.dumps(config).encode()
        return 200, {"envelope": seal(plain, spki, bytes.fromhex(nonce_hex))}

    def _token(self, session: str, service: str, rand: str) -> str:
        """``SESSION/SERVICE/RAND/MAC``: the enclave's credential for volume tags, checked without storage.

        MAC = HMAC-SHA256 under the state folder's token key, so attesting
        writes nothing and tokens outlive restarts (names never hold '/').
        """
        msg = b"scone-cas volume token v1\0" + "\0".join((session, service, rand)).encode()
        mac = hmac.new(self.token_key, msg, hashlib.sha256).hexdigest()
        return f"{session}/{service}/{rand}/{mac}"

    def _decide_and_configure(self, session: str, service: str, verified):
        """The policy decision and the configuration, on the store thread (raises a refusal)."""
        with self.store.snapshot():
            try:
                s = self.store.session(session)
            except StoreError:
                raise _refuse(f"there is no session {session}") from None
            svc = next((x for x in s["policy"]["services"] if x["name"] == service), None)
            if svc is None:
                raise _refuse(f"session {session} has no service {service}")
            decision = policy.decide(session, svc, verified.report, sim=verified.kind == "sim")
            if not decision.allowed:
                raise _refuse(decision.reason)
            return s, self._configuration(s, svc)

    def _configuration(self, s: dict, svc: dict):
        """What the service receives (PROTOCOL.md "Configuration"); runs on the store thread."""
        stored = self.store.secrets(s["name"])
        values = {n: v for n, (_, v) in stored.items()}
        kinds = {n: k for n, (k, _) in stored.items()}
        values[policy.SESSION_CA], kinds[policy.SESSION_CA] = s["ca"], "ca"
        sub = lambda t: gen.substitute(t, values, kinds)  # noqa: E731
        tags = self.store.volume_tags(s["name"])
        token = self._token(s["name"], svc["name"], _rand.token_bytes(16).hex())
        files = []
        for f in svc.get("files", []):
            content = sub(f["content"]).encode() if "content" in f else base64.b64decode(f["content_base64"])
            files.append({"path": f["path"], "mode": f.get("mode", 0o600),
                          "content_base64": base64.b64encode(content).decode()})
        config = {
            "session": s["name"], "service": svc["name"], "version": s["version"],
            "args": [sub(a) for a in svc["args"]] if "args" in svc else None,
            "env": {k: sub(v) for k, v in svc["env"].items()} if "env" in svc else None,
            "files": files,
            "volumes": [{"name": v["name"], "path": v["path"], "key": values[f"volume:{v['name']}"]["hex"],
                         "tag": tags.get(v["name"])} for v in svc.get("volumes", [])],
            "tls": [{k: sub(v) if k != "name" else v for k, v in t.items()} for t in svc.get("tls", [])],
            "token": token,
        }
        return config

    async def volume_tag(self, body):
        token = body.get("token")
        volume = body.get("volume")
        tag = _hex64(body.get("tag"), "tag")
        previous = _hex64(body.get("previous"), "previous", optional=True)
        parts = token.split("/") if isinstance(token, str) else []
        if len(parts) != 4 or not hmac.compare_digest(self._token(*parts[:3]), token):
            raise _refuse("token is not one this CAS issued (attest again)")
        session, service = parts[0], parts[1]
        try:
            s = await self._db(self.store.session, session)
        except StoreError:
            raise _refuse(f"there is no session {session} any more") from None
        svc = next((x for x in s["policy"]["services"] if x["name"] == service), None)
        if svc is None or volume not in {v["name"] for v in svc.get("volumes", [])}:
            raise _refuse(f"volume {volume!r} is not mounted by session {session}/service {service}")
        await self._db(self.store.set_volume_tag, session, volume, tag, previous)
        log.info("volume %s/%s: tag %s stored", session, volume, tag[:16])
        return 200, {"volume": volume, "tag": tag}


async def _serve(app: App, ready=None, signals: bool = False) -> None:
    s = app.settings
    try:
        server = await asyncio.start_server(app.connection, s.host, s.port, ssl=app.ssl,
                                            ssl_handshake_timeout=15, limit=1 << 16)
    except OSError as err:
        why = os.strerror(err.errno) if err.errno else str(err)
        raise SconeError(f"--listen {s.host}:{s.port}: cannot listen there ({why}); "
                         "choose another address or port") from None
    port = server.sockets[0].getsockname()[1]
    log.info("listening on %s:%d, identity %s", s.host, port, app.key_hash)
    if ready:
        ready(port)
    if signals:
        # SIGTERM/SIGINT end serving cleanly (every acknowledged change is
        # already on disk; this only closes the listener and the database).
        import signal
        task = asyncio.current_task()
        for sig in (signal.SIGTERM, signal.SIGINT):
            asyncio.get_running_loop().add_signal_handler(sig, task.cancel)
    async with server:
        try:
            await server.serve_forever()
        except asyncio.CancelledError:
            if not signals:
                raise
            log.info("stopped")


def serve(settings: Settings, ready=None) -> None:
    """Run the CAS until killed; ``ready(port)`` is called once it listens."""
    app = App(settings)
    try:
        asyncio.run(_serve(app, ready, signals=True))
    finally:
        app.close()


def load_root(path: Path):
    """The DCAP trust anchor: a self-signed CA certificate in PEM (Intel's, from its PCS)."""
    from cryptography import x509
    try:
        cert = x509.load_pem_x509_certificate(Path(path).read_bytes())
        cert.verify_directly_issued_by(cert)
    except OSError as err:
        raise SconeError(f"--dcap-root {path}: cannot read it ({err.strerror})") from None
    except Exception:
        raise SconeError(f"--dcap-root {path}: not a self-signed PEM certificate; give the Intel SGX Root "
                         "CA (Intel_SGX_Provisioning_Certification_RootCA.pem)") from None
    return cert


def parse_listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) <= 65535:
        raise SconeError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:8081 (port 0 picks a free one)")
    return host or "127.0.0.1", int(port)

