"""Network endpoints are signed parameters (DESIGN.md §4, §8): parsed by
scone-gcc and scone-sign, measured in the config page after the
file-system policy, shown by scone-sign show, beyond the host's reach."""

import json
import struct
import subprocess

import pytest

from scone_cc.enclave import netpolicy
from scone_cc.errors import SconeError

ECHO = "echo_epoll.c"


def run(cmd, env, **kw):
    return subprocess.run(cmd, env=env, capture_output=True, text=True, **kw)


@pytest.mark.parametrize("text, endpoint", [
    ("server:6379:tls:cert=/c.pem,key=/k.pem",
     ("server", "", 6379, "tls", "/c.pem", "/k.pem", "", "")),
    ("server:127.0.0.1:6379:tls:cert=/c.pem,key=/k.pem,ca=/ca.pem",
     ("server", "127.0.0.1", 6379, "tls", "/c.pem", "/k.pem", "/ca.pem", "")),
    ("server:[::1]:80:refuse", ("server", "::1", 80, "refuse", "", "", "", "")),
    ("server:11211:clear", ("server", "", 11211, "clear", "", "", "", "")),
    ("client:10.0.0.5:443:tls:ca=/ca.pem,name=db.internal",
     ("client", "10.0.0.5", 443, "tls", "", "", "/ca.pem", "db.internal")),
    ("client:localhost:443:tls:ca=/ca.pem", ("client", "127.0.0.1", 443, "tls", "", "", "/ca.pem", "127.0.0.1")),
    ("default:refuse", ("default", "", 0, "refuse", "", "", "", "")),
])
def test_parse(text, endpoint):
    assert netpolicy.parse(text) == endpoint


@pytest.mark.parametrize("text, why", [
    ("server:6379:tls", "needs cert=PATH,key=PATH"),
    ("server:6379:tls:cert=c.pem,key=/k", "not an absolute path"),
    ("server:70000:clear", "not 1..65535"),
    ("client:db.example:443:tls:ca=/ca", "not a numeric address"),
    ("client:10.0.0.1:443:tls", "needs ca=PATH"),
    ("server:6379:clear:cert=/c", "options are for tls only"),
    ("default:tls", "default takes only clear or refuse"),
    ("listen:80:tls", "expected server"),
    ("server:80", "no action"),
])
def test_parse_refuses(text, why):
    with pytest.raises(SconeError, match=why):
        netpolicy.parse(text)


def test_encoding_follows_the_abi():
    """Bytes written by hand from enclave_abi.h's "network policy" comment."""
    eps = netpolicy.merge([netpolicy.parse("client:10.1.2.3:443:tls:ca=/ca,name=n"),
                           netpolicy.parse("server:6379:tls:cert=/c,key=/k")])
    assert [e[0] for e in eps] == ["server", "client"]
    v4 = bytes(10) + b"\xff\xff" + bytes([10, 1, 2, 3])
    want = (struct.pack("<I", 2)
            + bytes([0, 1]) + struct.pack("<H", 6379) + bytes(4) + bytes(16)
            + b"\2\0/c" + b"\2\0/k" + b"\0\0" + b"\0\0"
            + bytes([1, 1]) + struct.pack("<H", 443) + b"\1\0\0\0" + v4
            + b"\0\0" + b"\0\0" + b"\3\0/ca" + b"\1\0n")
    assert netpolicy.encode(eps) == want
    assert netpolicy.decode(want + bytes(7), "t") == eps
    with pytest.raises(SconeError, match="given twice"):
        netpolicy.merge([netpolicy.parse("server:1:clear"), netpolicy.parse("server:1:refuse")])


def _show(binary, env):
    r = run(["scone-sign", "show", "--json", str(binary)], env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_policy_is_measured_shown_and_resigned(net_build, net_env, tmp_path):
    plain = net_build(ECHO)
    tls = net_build(ECHO, "--scone-net=server:7001:tls:cert=/etc/c.pem,key=/etc/k.pem",
                    "--scone-net=default:refuse")
    a, b = _show(plain, net_env), _show(tls, net_env)
    assert a["net_endpoints"] == []
    assert b["net_endpoints"] == [
        {"kind": "server", "host": "", "port": 7001, "action": "tls", "cert": "/etc/c.pem",
         "key": "/etc/k.pem", "ca": "", "name": ""},
        {"kind": "default", "host": "", "port": 0, "action": "refuse", "cert": "", "key": "",
         "ca": "", "name": ""}]
    assert a["mrenclave"] != b["mrenclave"]
    text = run(["scone-sign", "show", str(tls)], net_env).stdout
    assert "  server *:7001 tls cert=/etc/c.pem,key=/etc/k.pem\n" in text
    assert "  default refuse\n" in text
    # re-signing keeps the endpoints; --net replaces them; with fs regions too
    copy = tmp_path / "copy"
    copy.write_bytes(tls.read_bytes())
    copy.chmod(0o755)
    r = run(["scone-sign", "sign", "--heap", "32M", str(copy)], net_env)
    assert r.returncode == 0, r.stderr
    assert _show(copy, net_env)["net_endpoints"] == b["net_endpoints"]
    r = run(["scone-sign", "sign", "--net", "server:7001:clear", "--fs", "/data:ephemeral", str(copy)], net_env)
    assert r.returncode == 0, r.stderr
    c = _show(copy, net_env)
    assert [e["action"] for e in c["net_endpoints"]] == ["clear"]
    assert c["fs_regions"] == [{"prefix": "/data", "mode": "ephemeral", "key": "sealed-mrenclave"}]
    assert run(["scone-sign", "verify", str(copy)], net_env).returncode == 0


def test_production_refuses_a_key_the_host_reads(net_build, net_env, tmp_path):
    tls = net_build(ECHO, "--scone-net=server:7001:tls:cert=/etc/c.pem,key=/etc/k.pem")
    copy = tmp_path / "copy"
    copy.write_bytes(tls.read_bytes())
    r = run(["scone-sign", "sign", "--production", str(copy)], net_env)
    assert r.returncode != 0
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "key /etc/k.pem lies where the host reads it in clear" in lines[0], r.stderr
    r = run(["scone-sign", "sign", "--production", "--fs", "/etc:encrypted", str(copy)], net_env)
    assert r.returncode == 0, r.stderr
    assert _show(copy, net_env)["parameters"]["debug"] is False


def test_host_cannot_relax_an_endpoint(net_build, net_env, tmp_path):
    """tls -> clear edited in the binary without re-signing: it does not start."""
    tls = net_build(ECHO, "--scone-net=server:7001:tls:cert=/etc/c.pem,key=/etc/k.pem")
    data = bytearray(tls.read_bytes())
    block = netpolicy.encode((netpolicy.parse("server:7001:tls:cert=/etc/c.pem,key=/etc/k.pem"),))
    assert data.count(block) == 1
    at = data.index(block) + 5
    assert data[at] == 1
    data[at] = 0
    forged = tmp_path / "forged"
    forged.write_bytes(bytes(data))
    forged.chmod(0o755)
    r = run([str(forged), "7001"], net_env, timeout=60)
    assert r.returncode != 0 and "ready" not in r.stdout
    assert "MRENCLAVE" in r.stderr or "EINIT" in r.stderr, r.stderr
