"""A C client written from PROTOCOL.md with OpenSSL 3 (tests/cas/c_client) against a real CAS.

Not the runtime's client (that one runs inside the enclave and is still to
come): a host program that shows the protocol page is enough to write it,
and that every step (pinning, SIM evidence, ECDH + HKDF + AES-256-GCM) is
plain OpenSSL 3.
"""

import json
import subprocess
from pathlib import Path

import pytest

from scone_cc.cas import client as cc
from scone_cc.sgx.signing import read

from ..conftest import gcc

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


@pytest.fixture(scope="module")
def c_client(tmp_path_factory):
    d = tmp_path_factory.mktemp("cclient")
    gcc(["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", f"-I{REPO / 'runtime/include'}", "-o",
         str(d / "cas_client"), str(HERE / "c_client" / "cas_client.c"), "-lssl", "-lcrypto"], d)
    return d / "cas_client"


def run(c_client, cas, config_id, binary, tmp_path, pin=None):
    from scone_cc.cas.sim import sim_key_path
    ss = tmp_path / f"{binary.name}.sigstruct"
    ss.write_bytes(read(binary).sigstruct)
    return subprocess.run([str(c_client), "127.0.0.1", str(cas.port), pin or cas.pin, config_id, str(ss),
                           str(sim_key_path())], capture_output=True, text=True, timeout=60)


def test_c_client_gets_its_configuration(c_client, cas, apps, tmp_path):
    cas.trust_local_sim_key()
    mr = read(apps["prod"]).sigstruct[960:992].hex()
    a = cc.AdminClient(cas.address, cas.pin)
    a.create({"name": "s", "secrets": [{"name": "pw", "kind": "password"}],
              "services": [{"name": "web", "mrenclaves": [mr], "allow_sim": True,
                            "args": ["web", "$$SCONE::pw$$"], "env": {"A": "b"},
                            "files": [{"path": "/etc/x", "content": "héllo\n"}]}]})
    r = run(c_client, cas, "s/web", apps["prod"], tmp_path)
    assert r.returncode == 0, r.stderr
    cfg = json.loads(r.stdout)
    assert cfg["args"][0] == "web" and len(cfg["args"][1]) == 20 and cfg["env"] == {"A": "b"}
    assert cfg["files"][0]["path"] == "/etc/x" and cfg["identity"]["certificate"].startswith("-----BEGIN")
    # The C client's SIM evidence was verified by the CAS like Python's.
    assert "accepted SIM evidence" in cas.logtext()

    r = run(c_client, cas, "s/web", apps["prod2"], tmp_path)
    mr2 = read(apps["prod2"]).sigstruct[960:968].hex()
    assert r.returncode == 3
    assert r.stderr == f"scone-cas refused: MRENCLAVE {mr2}… is not allowed by session s/service web\n"

    r = run(c_client, cas, "s/web", apps["prod"], tmp_path, pin="ef" * 32)
    assert r.returncode == 3
    assert r.stderr == (f"scone-cas refused: the CAS at 127.0.0.1:{cas.port} presents key {cas.pin[:16]}…, "
                        f"not the pinned {'ef' * 8}…; not talking to it\n")
    a.close()
