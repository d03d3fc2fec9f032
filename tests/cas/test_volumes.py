"""Rollback protection with real volumes: the CAS's stored tag against scone-fs.

The runtime's part (committing a tag at each volume commit, checking the
expected tag before mounting) is played by this test with ``scone-fs`` and
the Python reference client; the CAS's part is the real service.
"""

import json
import shutil
import subprocess
import sys

from scone_cc.cas import client as cc
from scone_cc.cas import sim
from scone_cc.sgx.signing import read


def fs(*args):
    return subprocess.run([sys.executable, "-m", "scone_cc.fs.cli", *args], capture_output=True, text=True)


def start(cas, binary):
    return cc.attest(cas.address, cas.pin, "s", "web", lambda rd: sim.evidence_for_binary(binary, rd))[0]


def test_a_rolled_back_volume_is_caught_by_the_stored_tag(cas, apps, tmp_path):
    cas.trust_local_sim_key()
    admin = cc.AdminClient(cas.address, cas.pin)
    admin.create({"name": "s", "volumes": [{"name": "data"}], "services": [{
        "name": "web", "mrenclaves": [read(apps["prod"]).sigstruct[960:992].hex()], "allow_sim": True,
        "volumes": [{"name": "data", "path": "/data"}]}]})
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / "a.txt").write_text("first\n")
    vol, backup = tmp_path / "vol", tmp_path / "vol.bak"

    # Run 1: the volume is made with the CAS's key; its tag goes to the CAS.
    cfg = start(cas, apps["prod"])
    key, expected = cfg["volumes"][0]["key"], cfg["volumes"][0]["tag"]
    assert expected is None
    r = fs("create", str(vol), "--key-hex", key, "--from", str(tmp_path / "plain"), "--json")
    assert r.returncode == 0, r.stderr
    t1 = json.loads(r.stdout)["tag"]
    cc.commit_tag(cas.address, cas.pin, cfg["token"], "data", t1, previous=None)
    shutil.copytree(vol, backup)                       # the host keeps a copy

    # Run 2: the volume verifies against the stored tag; a commit moves it on.
    cfg = start(cas, apps["prod"])
    assert cfg["volumes"][0]["tag"] == t1
    assert fs("verify", str(vol), "--key-hex", key, "--tag", t1).returncode == 0
    (tmp_path / "b.txt").write_text("second\n")
    r = fs("add", str(vol), str(tmp_path / "b.txt"), "--key-hex", key, "--json")
    assert r.returncode == 0, r.stderr
    t2 = json.loads(r.stdout)["tag"]
    cc.commit_tag(cas.address, cas.pin, cfg["token"], "data", t2, previous=t1)

    # The host rolls the volume back to its copy. Run 3 learns t2 from the
    # CAS, and the old volume, intact in itself, fails against it.
    shutil.rmtree(vol)
    shutil.copytree(backup, vol)
    cfg = start(cas, apps["prod"])
    assert cfg["volumes"][0]["tag"] == t2 != t1
    assert fs("verify", str(vol), "--key-hex", key).returncode == 0       # consistent on its own
    r = fs("verify", str(vol), "--key-hex", key, "--tag", t2)
    assert r.returncode == 1 and "vol_tag" in r.stderr and f"volume tag {t1}" in r.stderr, r.stderr
    admin.close()
