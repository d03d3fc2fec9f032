"""The CAS's state in SQLite: sessions, secrets, volume tags, clients, SIM keys.

WAL with ``synchronous=FULL``: a commit is on disk (fsync) before the API
acknowledges it, so ``kill -9`` loses nothing acknowledged; every state
change is one ``BEGIN IMMEDIATE`` transaction, so nothing is ever
half-written. The server calls this from one worker thread; the
``scone-cas trust-sim-key`` command may write beside it (SQLite locks).
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from pathlib import Path

from scone_cc.errors import SconeError

SCHEMA = """
CREATE TABLE IF NOT EXISTS clients (
  id TEXT PRIMARY KEY, cert TEXT NOT NULL, subject TEXT NOT NULL UNIQUE, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sim_keys (id TEXT PRIMARY KEY, point BLOB NOT NULL, added REAL NOT NULL);
CREATE TABLE IF NOT EXISTS sessions (
  name TEXT PRIMARY KEY, owner TEXT NOT NULL, version INTEGER NOT NULL, hash TEXT NOT NULL,
  policy TEXT NOT NULL, ca TEXT NOT NULL, updated REAL NOT NULL);
CREATE TABLE IF NOT EXISTS secrets (
  session TEXT NOT NULL, name TEXT NOT NULL, kind TEXT NOT NULL, fingerprint TEXT NOT NULL,
  value TEXT NOT NULL, PRIMARY KEY (session, name));
CREATE TABLE IF NOT EXISTS volume_tags (
  session TEXT NOT NULL, volume TEXT NOT NULL, tag TEXT NOT NULL, updated REAL NOT NULL,
  PRIMARY KEY (session, volume));
"""


class StoreError(SconeError):
    status = 400


class NotFound(StoreError):
    status = 404


class Forbidden(StoreError):
    status = 403


class Conflict(StoreError):
    status = 409


class Store:
    """Narrow interface over one SQLite file (``DIR/cas.db``)."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            # It holds the secrets: owner-only from its first byte (WAL and
            # shm files take the database's permissions).
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
        except OSError as err:
            raise SconeError(f"{self.path}: cannot create the CAS database ({err.strerror})") from None
        try:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False, timeout=30)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=FULL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as err:
            raise SconeError(f"{self.path}: not a usable CAS database ({err}); "
                             "point --state at the CAS's own state folder") from None

    def close(self) -> None:
        self.db.close()

    def _tx(self):
        return _Tx(self.db)

    def snapshot(self):
        """A read transaction: every read inside sees one committed state (WAL snapshot)."""
        return _Tx(self.db, "BEGIN DEFERRED")

    # --- clients and SIM keys ------------------------------------------
    def add_client(self, cid: str, cert_pem: str, subject: str) -> bool:
        """Register a client certificate; True if new. Subjects are unique (TLS finds anchors by name)."""
        with self._tx() as db:
            row = db.execute("SELECT id FROM clients WHERE subject = ?", (subject,)).fetchone()
            if row and row[0] != cid:
                raise Conflict(f"client certificate subject '{subject}' is registered with another key; "
                               "give the certificate a unique subject")
            return db.execute("INSERT OR IGNORE INTO clients VALUES (?, ?, ?, ?)",
                              (cid, cert_pem, subject, time.time())).rowcount == 1

    def client_certs(self) -> list[str]:
        return [r[0] for r in self.db.execute("SELECT cert FROM clients")]

    def trust_sim_key(self, kid: str, point: bytes) -> bool:
        with self._tx() as db:
            return db.execute("INSERT OR IGNORE INTO sim_keys VALUES (?, ?, ?)",
                              (kid, point, time.time())).rowcount == 1

    def sim_key_ids(self) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT id FROM sim_keys")}

    # --- sessions -------------------------------------------------------
    def _owned(self, db, name: str, owner: str):
        row = db.execute("SELECT owner, version, hash FROM sessions WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise NotFound(f"session {name}: no such session")
        if row[0] != owner:
            raise Forbidden(f"session {name}: owned by another client; only the client certificate "
                            "that created it may read or change it")
        return row

    def create_session(self, name, owner, policy, digest, ca, plan, tags=None) -> int:
        """Insert version 1; ``plan(existing)`` gives the secrets as {name: (kind, fp, value)}.

        ``tags``: {volume: tag} the owner gave as expected tags.
        """
        with self._tx() as db:
            if db.execute("SELECT 1 FROM sessions WHERE name = ?", (name,)).fetchone():
                raise Conflict(f"session {name}: already exists; change it with `scone-cas session update`")
            db.execute("INSERT INTO sessions VALUES (?, ?, 1, ?, ?, ?, ?)",
                       (name, owner, digest, json.dumps(policy), json.dumps(ca), time.time()))
            self._apply_secrets(db, name, plan({}))
            self._set_tags(db, name, tags)
            return 1

    @staticmethod
    def _set_tags(db, session, tags) -> None:
        for volume, tag in (tags or {}).items():
            db.execute("INSERT OR REPLACE INTO volume_tags VALUES (?, ?, ?, ?)", (session, volume, tag, time.time()))

    def update_session(self, name, owner, predecessor, policy, digest, plan, tags=None) -> int:
        """Replace the policy if ``predecessor`` is the current hash (else Conflict), atomically."""
        with self._tx() as db:
            _, version, current = self._owned(db, name, owner)
            if predecessor != current:
                raise Conflict(f"session {name}: predecessor {predecessor[:16]}… is not the current version "
                               f"{version} ({current[:16]}…); another update came first — read the session "
                               "again and re-apply your change")
            db.execute("UPDATE sessions SET version = ?, hash = ?, policy = ?, updated = ? WHERE name = ?",
                       (version + 1, digest, json.dumps(policy), time.time(), name))
            existing = {r[0]: (r[1], r[2]) for r in
                        db.execute("SELECT name, kind, fingerprint FROM secrets WHERE session = ?", (name,))}
            self._apply_secrets(db, name, plan(existing), keep=True)
            self._set_tags(db, name, tags)
            volumes = [v["name"] for v in policy.get("volumes", [])]
            db.execute(f"DELETE FROM volume_tags WHERE session = ? AND volume NOT IN "
                       f"({','.join('?' * len(volumes))})", (name, *volumes))
            return version + 1

    @staticmethod
    def _apply_secrets(db, session, planned, keep=False):
        if keep:
            names = list(planned)
            db.execute(f"DELETE FROM secrets WHERE session = ? AND name NOT IN ({','.join('?' * len(names))})",
                       (session, *names))
        for sname, entry in planned.items():
            if entry is None:       # kept as it is
                continue
            kind, fp, value = entry
            db.execute("INSERT OR REPLACE INTO secrets VALUES (?, ?, ?, ?, ?)",
                       (session, sname, kind, fp, json.dumps(value)))

    def delete_session(self, name, owner, predecessor) -> None:
        """Delete if ``predecessor`` is the current hash (a delete is a change like any other)."""
        with self._tx() as db:
            _, version, current = self._owned(db, name, owner)
            if predecessor != current:
                raise Conflict(f"session {name}: predecessor {predecessor[:16]}… is not the current "
                               f"version {version}; not deleted")
            for table in ("sessions", "secrets", "volume_tags"):
                db.execute(f"DELETE FROM {table} WHERE {'name' if table == 'sessions' else 'session'} = ?",
                           (name,))

    def session(self, name: str, owner: str | None = None) -> dict:
        """The session row; with ``owner`` refuse another client's session."""
        if owner is not None:
            self._owned(self.db, name, owner)
        row = self.db.execute("SELECT name, owner, version, hash, policy, ca FROM sessions WHERE name = ?",
                              (name,)).fetchone()
        if row is None:
            raise NotFound(f"session {name}: no such session")
        return {"name": row[0], "owner": row[1], "version": row[2], "hash": row[3],
                "policy": json.loads(row[4]), "ca": json.loads(row[5])}

    def sessions(self, owner: str) -> list[dict]:
        return [{"name": r[0], "version": r[1], "hash": r[2]} for r in self.db.execute(
            "SELECT name, version, hash FROM sessions WHERE owner = ? ORDER BY name", (owner,))]

    def secrets(self, session: str) -> dict:
        return {r[0]: (r[1], json.loads(r[2])) for r in
                self.db.execute("SELECT name, kind, value FROM secrets WHERE session = ?", (session,))}

    # --- volumes -------------------------------------------------------
    def volume_tags(self, session: str) -> dict:
        return dict(self.db.execute("SELECT volume, tag FROM volume_tags WHERE session = ?", (session,)))

    def set_volume_tag(self, session, volume, tag, previous) -> None:
        """Store ``tag``; if ``previous`` is given it must be the stored tag (compare and swap)."""
        with self._tx() as db:
            row = db.execute("SELECT tag FROM volume_tags WHERE session = ? AND volume = ?",
                             (session, volume)).fetchone()
            current = row[0] if row else None
            if previous is not None and previous != current:
                raise Conflict(f"volume {session}/{volume}: previous tag {previous[:16]}… is not the stored "
                               f"tag {(current or 'none')[:16]}… (another instance committed, or a rollback)")
            db.execute("INSERT OR REPLACE INTO volume_tags VALUES (?, ?, ?, ?)",
                       (session, volume, tag, time.time()))


class _Tx:
    """``BEGIN IMMEDIATE`` … ``COMMIT`` (or ``ROLLBACK`` on any exception)."""

    def __init__(self, db, begin: str = "BEGIN IMMEDIATE"):
        self.db, self.begin = db, begin

    def __enter__(self):
        self.db.execute(self.begin)
        return self.db

    def __exit__(self, kind, value, tb):
        self.db.execute("ROLLBACK" if kind else "COMMIT")
        return False
