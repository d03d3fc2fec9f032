"""nginx in SIM, one process (master_process off): serves static files over loopback."""

import http.client

from appkit import nginx, server

from .conftest import built, is_enclave

BODY = bytes(range(256)) * 300  # 76800 bytes: several reads and writes per response


def _get(port, path, method="GET", conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    c.request(method, path)
    r = c.getresponse()
    return r.status, r.read(), r.getheader("Content-Length")


def test_serves_requests_in_enclave(scone, tmp_path):
    tree = built(nginx.build_tree, scone)
    assert is_enclave(tree / "objs" / "nginx")
    root = tmp_path / "www"
    root.mkdir()
    (root / "index.html").write_text("hello from nginx\n")
    (root / "blob.bin").write_bytes(BODY)
    port = server.free_port()
    conf = nginx.config(tmp_path / "prefix", port, root)
    with open(tmp_path / "nginx.log", "w") as log, \
            server.running(nginx.command(tree, tmp_path / "prefix", conf), port, scone.environ(nginx.ALLOW), log):
        assert _get(port, "/index.html")[:2] == (200, b"hello from nginx\n")
        assert _get(port, "/nope")[0] == 404
        assert _get(port, "/blob.bin", "HEAD") == (200, b"", str(len(BODY)))
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(50):  # one keep-alive connection, many requests
            assert _get(port, "/blob.bin", conn=conn)[:2] == (200, BODY)
    assert "[alert]" not in (tmp_path / "nginx.log").read_text()
