"""Sessions through the ``scone-cas`` CLI and the API: ownership, validation, races."""

import os
import stat
import subprocess
import sys
import threading

import pytest

from scone_cc.cas import client as cc

MR = "3f" * 32


def cli(cas, *args, config=None):
    env = dict(cas.env, SCONE_CAS_ADDR=cas.address, SCONE_CAS_KEY=cas.pin)
    if config:
        env["XDG_CONFIG_HOME"] = str(config)
    return subprocess.run([sys.executable, "-m", "scone_cc.cas", *args], env=env, capture_output=True, text=True)


def write(tmp_path, text, name="s.yaml"):
    p = tmp_path / name
    p.write_text(text)
    return p


GOOD = f"""\
name: s
secrets:
  - {{name: pw, kind: password}}
services:
  - name: web
    mrenclaves: ["{MR}"]
    args: [web, "$$SCONE::pw$$"]
"""


def test_create_show_update_list_delete(cas, tmp_path, config_home):
    r = cli(cas, "session", "create", "-f", str(write(tmp_path, GOOD)))
    assert r.returncode == 0, r.stderr
    first = r.stdout.split()[-1]
    assert r.stdout == f"session s version 1 hash {first}\n"
    shown = cli(cas, "session", "show", "s")
    assert shown.returncode == 0 and f"hash {first}" in shown.stdout and "secret pw (password)" in shown.stdout
    # The password is never shown to the owner: only attested enclaves get it.
    import json
    js = json.loads(cli(cas, "session", "show", "s", "--json").stdout)
    assert js["secrets"] == [{"name": "pw", "kind": "password"}] and "value" not in json.dumps(js["secrets"])
    # The client certificate and key were made on first use, 0600, under the config dir.
    for name in ("cas-client-key.pem", "cas-client-cert.pem"):
        assert stat.S_IMODE(os.stat(config_home / "scone" / name).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cas.state / "identity-key.pem").st_mode) == 0o600

    no_pred = cli(cas, "session", "update", "-f", str(write(tmp_path, GOOD)))
    assert no_pred.returncode == 2 and "predecessor: missing" in no_pred.stderr
    up = cli(cas, "session", "update", "-f", str(write(tmp_path, GOOD)), "--predecessor", first)
    assert up.returncode == 0 and up.stdout.startswith("session s version 2 hash ")
    second = up.stdout.split()[-1]
    assert second != first
    stale = cli(cas, "session", "update", "-f", str(write(tmp_path, GOOD + f"predecessor: {first}\n")))
    assert stale.returncode == 4
    assert f"predecessor {first[:16]}… is not the current version 2" in stale.stderr
    assert cli(cas, "session", "list").stdout == f"s\t2\t{second}\n"
    stale = cli(cas, "session", "delete", "s", "--predecessor", first)
    assert stale.returncode == 4 and "not deleted" in stale.stderr
    assert cli(cas, "session", "delete", "s", "--predecessor", second).returncode == 0
    gone = cli(cas, "session", "show", "s")
    assert gone.returncode == 2 and "session s: no such session" in gone.stderr


def test_another_client_can_neither_read_nor_change(cas, tmp_path):
    assert cli(cas, "session", "create", "-f", str(write(tmp_path, GOOD))).returncode == 0
    h = cli(cas, "session", "show", "s").stdout.split()[5]
    other = tmp_path / "other"
    for args in (["show", "s"], ["update", "-f", str(write(tmp_path, GOOD)), "--predecessor", h],
                 ["delete", "s", "--predecessor", h]):
        r = cli(cas, "session", *args, config=other)
        assert r.returncode == 3, r.stderr
        assert "session s: owned by another client" in r.stderr
    assert cli(cas, "session", "list", config=other).stdout == ""
    assert cli(cas, "session", "show", "s").stdout.split()[5] == h     # unchanged


def test_schema_errors_name_the_file_and_field(cas, tmp_path):
    bad = write(tmp_path, f"""\
name: s
services:
  - name: web
    mrenclaves: ["{MR}", "xyz"]
    allow_sim: "yes"
    colour: blue
    env: {{A: "$$SCONE::nothere$$"}}
""")
    r = cli(cas, "session", "create", "-f", str(bad))
    assert r.returncode == 2 and r.stdout == ""
    lines = r.stderr.splitlines()
    assert f"scone-cas: error: {bad}: services[0].mrenclaves[1]: not 64 hex digits" in lines
    assert f"scone-cas: error: {bad}: services[0].allow_sim: must be a boolean" in lines
    assert f"scone-cas: error: {bad}: services[0]: unknown field 'colour'" in lines
    ref = write(tmp_path, GOOD.replace("$$SCONE::pw$$", "$$SCONE::pw.crt$$"), "r.yaml")
    r = cli(cas, "session", "create", "-f", str(ref))
    assert r.returncode == 2
    assert r.stderr == (f"scone-cas: error: {ref}: services[0].args[1]: $$SCONE::pw.crt$$: a password "
                        "secret has no '.crt' (it has only the bare name)\n")
    yaml_err = write(tmp_path, "name: [\n", "y.yaml")
    r = cli(cas, "session", "create", "-f", str(yaml_err))
    assert r.returncode == 2 and f"{yaml_err}:2:1: not valid YAML" in r.stderr and "Traceback" not in r.stderr
    assert cli(cas, "session", "list").stdout == ""                    # nothing was created


def test_server_validates_too(cas):
    a = cc.AdminClient(cas.address, cas.pin)
    with pytest.raises(cc.CasError) as err:
        a.create({"name": "s", "services": [{"name": "web", "mrenclaves": ["00"]}]})
    assert err.value.status == 400 and err.value.reason == "session: services[0].mrenclaves[0]: not 64 hex digits"
    with pytest.raises(cc.CasError) as err:
        a.create({"name": "s", "services": [{"name": "web"}]})
    assert "neither 'mrenclaves' nor 'signers'" in err.value.reason
    a.close()


def test_routes_need_a_client_certificate(cas):
    conn = cc.Connection(cas.address, cas.pin)
    with pytest.raises(cc.CasError) as err:
        conn.request("GET", "/v1/sessions")
    assert err.value.status == 401 and "needs a client certificate" in err.value.reason
    conn.close()


def test_two_racing_updates_one_wins(cas):
    doc = {"name": "s", "services": [{"name": "web", "mrenclaves": [MR]}]}
    a = cc.AdminClient(cas.address, cas.pin)
    base = a.create(doc)["hash"]
    clients = [cc.AdminClient(cas.address, cas.pin) for _ in range(2)]
    for c in clients:
        c._c()                                    # connected and registered before the race
    barrier = threading.Barrier(2)
    results = [None, None]

    def one(i):
        d = dict(doc, services=[dict(doc["services"][0], args=[f"writer{i}"])])
        barrier.wait()
        try:
            results[i] = clients[i].update(d, base)
        except cc.CasError as err:
            results[i] = err
    threads = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wins = [r for r in results if isinstance(r, dict)]
    losses = [r for r in results if isinstance(r, cc.CasError)]
    assert len(wins) == 1 and len(losses) == 1
    assert losses[0].status == 409 and "another update came first" in losses[0].reason
    shown = a.show("s")
    assert shown["version"] == 2 and shown["hash"] == wins[0]["hash"]
    winner = results.index(wins[0])
    assert shown["policy"]["services"][0]["args"] == [f"writer{winner}"]
    for c in clients + [a]:
        c.close()


def test_template_from_a_signed_binary(cas, tmp_path, apps):
    from scone_cc.sgx.signing import read
    r = cli(cas, "session", "template", "--binary", str(apps["prod"]), "--name", "app")
    assert r.returncode == 0, r.stderr
    mr = read(apps["prod"]).sigstruct[960:992].hex()        # SIGSTRUCT.ENCLAVEHASH (sgx-spec §6)
    assert f'mrenclaves: ["{mr}"]' in r.stdout and "allow_debug: false" in r.stdout
    assert "allow_debug: true" in cli(cas, "session", "template", "--binary", str(apps["debug"])).stdout
    created = cli(cas, "session", "create", "-f", str(write(tmp_path, r.stdout)))
    assert created.returncode == 0, created.stderr
    r = cli(cas, "session", "template", "--binary", str(tmp_path / "s.yaml"))
    assert r.returncode == 2 and "Traceback" not in r.stderr


def test_no_pin_or_wrong_pin(cas, tmp_path):
    p = str(write(tmp_path, GOOD))
    env = dict(cas.env)
    r = subprocess.run([sys.executable, "-m", "scone_cc.cas", "session", "--cas", cas.address, "create", "-f", p],
                       env=env, capture_output=True, text=True)
    assert r.returncode == 2 and "no CAS key to pin" in r.stderr
    r = subprocess.run([sys.executable, "-m", "scone_cc.cas", "session", "--cas", cas.address, "--cas-key",
                        "cd" * 32, "create", "-f", p], env=env, capture_output=True, text=True)
    assert r.returncode == 5
    assert r.stderr == (f"scone-cas refused: the CAS at {cas.address} presents key {cas.pin[:16]}…, "
                        f"not the pinned {'cd' * 8}…; not talking to it\n")


def test_serve_errors_are_one_line(cas, tmp_path):
    r = subprocess.run([sys.executable, "-m", "scone_cc.cas", "serve", "--state", str(tmp_path / "st"),
                        "--listen", cas.address], env=cas.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr.endswith(f"scone-cas: error: --listen {cas.address}: cannot listen there (Address already "
                             "in use); choose another address or port\n")
    assert "Traceback" not in r.stderr
    r = subprocess.run([sys.executable, "-m", "scone_cc.cas", "serve", "--state", str(tmp_path / "st"),
                        "--listen", "nowhere"], env=cas.env, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and "--listen 'nowhere': expected HOST:PORT" in r.stderr


def test_garbage_and_oversized_requests(cas):
    import json
    import socket
    import ssl
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE

    def exchange(raw):
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", cas.port))) as s:
            s.sendall(raw)
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        return head.split(b"\r\n")[0], json.loads(body)
    line, body = exchange(b"GARBAGE\r\n\r\n")
    assert line == b"HTTP/1.1 400 Bad Request" and body["reason"] == "malformed HTTP request"
    line, body = exchange(b"POST /v1/attest HTTP/1.1\r\nContent-Length: 999999999\r\n\r\n")
    assert line == b"HTTP/1.1 413 Payload Too Large"
    line, body = exchange(b"POST /v1/attest HTTP/1.1\r\nContent-Length: 5\r\nConnection: close\r\n\r\n[1,2]")
    assert line == b"HTTP/1.1 400 Bad Request" and body["reason"] == "body: must be a JSON object"
    line, body = exchange(b"POST /v1/attest HTTP/1.1\r\nContent-Length: -5\r\n\r\n")
    assert line == b"HTTP/1.1 400 Bad Request"
    line, body = exchange(b"GET /v2/nothing HTTP/1.1\r\nConnection: close\r\n\r\n")
    assert line == b"HTTP/1.1 404 Not Found" and body["error"] == "not-found"
    # The CAS is still serving.
    assert cc.Connection(cas.address, cas.pin).request("GET", "/v1/identity") == {"public_key_sha256": cas.pin}


def test_the_protocol_pages_example_policy_is_valid():
    """PROTOCOL.md §7's example, placeholders filled in, passes the schema and the cross-checks."""
    import re
    from pathlib import Path

    import yaml

    from scone_cc.cas import policy
    text = (Path(policy.__file__).parent / "PROTOCOL.md").read_text()
    block = re.search(r"## 7\. Session policy.*?```yaml\n(.*?)```", text, re.S).group(1)
    block = block.replace("<64 hex>, ...", "<64 hex>").replace("<64 hex>", "ab" * 32)
    doc = yaml.safe_load(block)
    doc.pop("predecessor")
    assert policy.problems(doc) == []
    assert doc["services"][0]["files"][0]["mode"] == 0o600


def test_sim_attest_plays_the_enclave(cas, tmp_path, apps):
    import json
    from scone_cc.sgx.signing import read
    cas.trust_local_sim_key()
    mr = read(apps["prod"]).sigstruct[960:992].hex()
    p = write(tmp_path, GOOD.replace(MR, mr).replace("    args:", "    allow_sim: true\n    args:"))
    assert cli(cas, "session", "create", "-f", str(p)).returncode == 0
    r = cli(cas, "sim-attest", "--binary", str(apps["prod"]), "s/web")
    assert r.returncode == 0, r.stderr
    cfg = json.loads(r.stdout)
    assert cfg["args"][0] == "web" and len(cfg["args"][1]) == 20
    r = cli(cas, "sim-attest", "--binary", str(apps["prod2"]), "s/web")
    assert r.returncode == 3
    assert r.stderr == (f"scone-cas refused: MRENCLAVE {read(apps['prod2']).sigstruct[960:968].hex()}… "
                        "is not allowed by session s/service web\n")
    r = cli(cas, "sim-attest", "--binary", str(apps["prod"]), "nosep")
    assert r.returncode == 2 and "expected SESSION/SERVICE" in r.stderr


def test_unreachable_cas_is_exit_5(tmp_path, config_home):
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()                                   # nothing listens there now
    r = subprocess.run([sys.executable, "-m", "scone_cc.cas", "session", "--cas", f"127.0.0.1:{port}",
                        "--cas-key", "ab" * 32, "list"], capture_output=True, text=True,
                       env=dict(os.environ, XDG_CONFIG_HOME=str(config_home)))
    assert r.returncode == 5
    assert r.stderr.startswith(f"scone-cas: error: CAS at 127.0.0.1:{port}: cannot connect (")
    assert r.stderr.endswith("is `scone-cas serve` running there?\n")


def test_template_from_an_image(cas, tmp_path, apps):
    """An image built by scone-image with two enclaves, one with a volume: one service each."""
    import shutil
    from scone_cc.sgx.signing import read
    if not (shutil.which("umoci") and shutil.which("skopeo")):
        pytest.skip("umoci, skopeo missing: apt-get install umoci skopeo (setup.sh does)")
    for name in ("prod", "debug"):
        shutil.copy(apps[name], tmp_path / name)
    (tmp_path / "data").mkdir()
    (tmp_path / "r.toml").write_text(
        'name = "two"\n[[enclave]]\nsource = "prod"\ntarget = "/usr/bin/web"\n'
        '[[enclave.volume]]\nsource = "data"\ntarget = "/data"\n'
        '[[enclave]]\nsource = "debug"\ntarget = "/usr/bin/worker"\n')
    built = subprocess.run([sys.executable, "-m", "scone_cc.image.cli", "build", str(tmp_path / "r.toml"),
                            "-o", str(tmp_path / "img")], capture_output=True, text=True, env=cas.env)
    assert built.returncode == 0, built.stderr
    r = cli(cas, "session", "template", "--image", str(tmp_path / "img"))
    assert r.returncode == 0, r.stderr
    import yaml
    doc = yaml.safe_load(r.stdout)
    web, worker = doc["services"]
    assert doc["name"] == "img" and (web["name"], worker["name"]) == ("web", "worker")
    assert web["mrenclaves"] == [read(apps["prod"]).sigstruct[960:992].hex()] and web["allow_debug"] is False
    assert worker["mrenclaves"] == [read(apps["debug"]).sigstruct[960:992].hex()] and worker["allow_debug"]
    assert web["volumes"] == [{"name": "web-data", "path": "/data"}] and doc["volumes"] == [{"name": "web-data"}]
    created = cli(cas, "session", "create", "-f", str(write(tmp_path, r.stdout)))
    assert created.returncode == 0, created.stderr
    both = cli(cas, "session", "template", "--image", str(tmp_path / "img"), "--binary", str(apps["prod"]))
    assert both.returncode == 2 and "exactly one of --binary BIN and --image IMG" in both.stderr
