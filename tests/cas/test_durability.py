"""kill -9 of the CAS during a stream of session updates loses nothing acknowledged.

A real CAS subprocess; a client loop records every acknowledged version; the
CAS gets SIGKILL mid-stream; after a restart the session is the last
acknowledged version (or the one in flight, whose answer was lost), and its
policy and generated secret agree: no update is half there.
"""

import json
import random
import signal
import sqlite3
import threading
import time

from scone_cc.cas import client as cc

MR = "3f" * 32


def doc(i):
    return {"name": "s", "secrets": [{"name": "pw", "kind": "password", "size": 10 + i % 7}],
            "services": [{"name": "web", "mrenclaves": [MR], "args": [f"update-{i}"]}]}


def test_sigkill_during_updates_loses_no_acknowledged_update(cas_process):
    cas = cas_process
    admin = cc.AdminClient(cas.address, cas.pin)
    acked = [(0, admin.create(doc(0)))]          # (i, answer)
    kill_after = random.randint(20, 60)      # leaves 40 updates in flight or to come
    failed = threading.Event()

    def loop():
        for i in range(1, 101):
            try:
                acked.append((i, admin.update(doc(i), acked[-1][1]["hash"])))
            except Exception:                    # the CAS is gone
                failed.set()
                return
    t = threading.Thread(target=loop)
    t.start()
    while len(acked) <= kill_after and t.is_alive():
        time.sleep(0.001)
    cas.stop(signal.SIGKILL)
    t.join(timeout=60)
    assert cas.proc.returncode == -signal.SIGKILL
    assert failed.is_set(), "the CAS was killed before the loop ended"
    admin.close()

    last_i, last = acked[-1]
    cas.start()
    admin = cc.AdminClient(cas.address, cas.pin)
    shown = admin.show("s")
    # Either the last acknowledged update, or the one whose answer was lost to the kill.
    assert shown["version"] in (last["version"], last["version"] + 1)
    i = last_i if shown["version"] == last["version"] else last_i + 1
    if i == last_i:
        assert shown["hash"] == last["hash"]
    assert shown["policy"]["services"][0]["args"] == [f"update-{i}"]
    db = sqlite3.connect(cas.state / "cas.db")
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    (value,) = db.execute("SELECT value FROM secrets WHERE session = 's' AND name = 'pw'").fetchone()
    assert len(json.loads(value)["value"]) == 10 + i % 7       # secret from the same transaction
    (version,) = db.execute("SELECT version FROM sessions WHERE name = 's'").fetchone()
    assert version == shown["version"]
    db.close()
    # And the chain goes on from there.
    assert admin.update(doc(999), shown["hash"])["version"] == shown["version"] + 1
    admin.close()
    print(f"killed after {len(acked) - 1} acknowledged updates; restart found version {shown['version']}")


def test_sigterm_stops_cleanly(cas_process):
    cas_process.stop(signal.SIGTERM)
    assert cas_process.proc.returncode == 0
    assert cas_process.logtext().rstrip().endswith("scone-cas: stopped")
