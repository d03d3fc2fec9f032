"""The CAS as a container, and a service attested by it as a second container.

samples/cas.toml becomes an image (a Debian base made by mmdebstrap, cached,
and the scone_cc package); redis-server, built without TLS and relinked with
the network shield and --scone-cas-key pinning that CAS's key, becomes a
second. Both run under podman (private storage and configuration, runc).
The redis container is given SCONE_CONFIG_ID and SCONE_CAS_ADDR, nothing
else: its arguments (a CAS-generated password) and its TLS certificate and
key (files in an ephemeral region) come from its session, which is made
from the image's labels by `scone-cas session template --image`.

Expected values come from the CAS's reference client (`scone-cas sim-attest`,
what an attested enclave receives) and from stock redis-cli and openssl, not
from the runtime under test. There is no SGX device here: SIM, with this
test's SIM attestation key mounted read-only where the starter looks for it
(podman sets HOME to the working directory, /, in an image without
/etc/passwd; on hardware, --device /dev/sgx_enclave --device
/dev/sgx_provision instead).
"""

from __future__ import annotations

import gzip
import json
import shutil
import socket
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from .conftest import REPO, Podman, need, run

APPS = Path(__file__).resolve().parents[1] / "apps"
STATE = "/var/lib/scone-cas"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, alive, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        why = alive()
        assert why is None, f"{what} stopped before listening on {port}: {why}"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            assert time.monotonic() < deadline, f"{what} did not listen on {port} in {timeout} s"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def cas_image(image_env, tmp_path_factory):
    """samples/cas.toml built: a cold build makes the Debian base (cached), a warm one reuses it.
    A build that cannot fetch its base fails here; it is never skipped."""
    out = tmp_path_factory.mktemp("cas-image") / "cas.tar"
    r = run(["scone-image", "build", "--json", REPO / "samples" / "cas.toml", "-o", out],
            env=image_env, timeout=900)
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


@pytest.fixture(scope="module")
def pod(tmp_path_factory):
    need("podman", "runc")
    runroot = Path(tempfile.mkdtemp(prefix="scone-podman-", dir="/tmp"))
    p = Podman(tmp_path_factory.mktemp("podman"), runroot)
    yield p
    p("rm", "--all", "--force")
    p("rmi", "--all", "--force")
    shutil.rmtree(runroot, ignore_errors=True)


def load(pod, archive: Path) -> str:
    out = pod("load", "-i", archive)
    assert out.returncode == 0, out.stderr
    return out.stdout.split("Loaded image:")[-1].strip()


def test_cas_image(cas_image, image_env, tmp_path):
    """Two layers (the base, then scone_cc), the base's provenance in labels, no enclave,
    no __pycache__, Kubernetes manifests asking for no SGX resource."""
    path, _ = cas_image
    info = json.loads(run(["skopeo", "inspect", f"oci-archive:{path}"]).stdout)
    labels = info["Labels"]
    assert labels["scone.enclaves"] == "0"
    assert labels["scone.base"].startswith("debian trixie python3-minimal")
    assert len(info["Layers"]) == 2
    from scone_cc.image.base import Base, cache_key, sha256

    import tomllib
    spec = tomllib.loads((REPO / "samples" / "cas.toml").read_text())["base"]
    folder = Path(image_env["SCONE_CACHE"]) / "image-base" / cache_key(
        Base(suite=spec["debian"], packages=tuple(spec["packages"])))[:32]
    assert labels["scone.base.sha256"] == sha256(folder / "rootfs.tar")
    versions = dict(line.split(" ", 1) for line in (folder / "packages.txt").read_text().splitlines())
    assert {"python3-minimal", "python3-cryptography", "python3-yaml", "python3-click",
            "python3-jsonschema"} <= set(versions)
    # The CAS uses cryptography 42's APIs (not_valid_before_utc, verify_directly_issued_by).
    assert int(versions["python3-cryptography"].split(".")[0]) >= 42
    # The second layer: scone_cc's sources, without the checkout's __pycache__.
    with tarfile.open(path) as tf:
        blob = tf.extractfile("blobs/sha256/" + info["Layers"][1].split(":")[1]).read()
    with tarfile.open(fileobj=__import__("io").BytesIO(gzip.decompress(blob))) as layer:
        names = layer.getnames()
    assert "usr/lib/python3/dist-packages/scone_cc/cas/server.py" in names
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]
    # Kubernetes: the CAS asks for no SGX resource and has a Service on its port.
    k8s = run(["scone-image", "k8s", path], env=image_env)
    assert k8s.returncode == 0, k8s.stderr
    docs = list(yaml.safe_load_all(k8s.stdout))
    import kubernetes_validate.utils as kv
    for doc in docs:
        kv.validate(doc, kv.latest_version(), strict=True)
    (container,) = docs[0]["spec"]["template"]["spec"]["containers"]
    assert "resources" not in container and not container.get("env")
    assert docs[1]["kind"] == "Service" and docs[1]["spec"]["ports"][0]["port"] == 8081


@pytest.mark.slow
def test_cas_image_reproducible(cas_image, image_env, tmp_path):
    """A second build on the cached base: the same digest (hello's image is checked in the
    quick suite, test_build.py)."""
    again = run(["scone-image", "build", "--json", REPO / "samples" / "cas.toml", "-o",
                 tmp_path / "again.tar"], env=image_env, timeout=900)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["digest"] == cas_image[1]["digest"]


@pytest.mark.slow
def test_base_that_cannot_be_made(image_env, tmp_path):
    """A package Debian does not have: one line naming the recipe and mmdebstrap, exit 2,
    nothing in the cache, no image. (Slow: mmdebstrap reads the archive's index first.)"""
    if shutil.which("mmdebstrap") is None:
        pytest.fail("mmdebstrap is not installed: apt-get install mmdebstrap (setup.sh does)")
    (tmp_path / "r.toml").write_text(
        '[base]\ndebian = "bookworm"\npackages = ["scone-no-such-package"]\n'
        '[config]\nentrypoint = ["/bin/true"]\n')
    cache = tmp_path / "cache"
    out = run(["scone-image", "build", tmp_path / "r.toml", "-o", tmp_path / "img.tar"],
              env=dict(image_env, SCONE_CACHE=str(cache)), timeout=600)
    assert out.returncode == 2, out.stderr
    (line,) = out.stderr.splitlines()
    assert line.startswith("scone-image: error: ") and "base: mmdebstrap bookworm failed" in line
    assert not (tmp_path / "img.tar").exists()
    (folder,) = (cache / "image-base").iterdir()
    assert sorted(p.name for p in folder.iterdir()) == [".lock"]


def test_base_links_are_never_followed(image_env, tmp_path):
    """A base's absolute symbolic links point at this host's files while the image is built:
    a file put at one replaces the link; a target through one is refused; the host is intact."""
    import io
    import os

    if os.geteuid() != 0:
        pytest.skip("a base is unpacked as root")
    victim, victim_dir = tmp_path / "victim", tmp_path / "victim-dir"
    victim.write_text("host file\n")
    victim_dir.mkdir()
    with tarfile.open(tmp_path / "rootfs.tar", "w") as tf:
        for name, link in (("./etc", None), ("./etc/awk", str(victim)),
                           ("./opt", None), ("./opt/lib", str(victim_dir))):
            info = tarfile.TarInfo(name)
            info.type, info.mode = (tarfile.DIRTYPE, 0o755) if link is None else (tarfile.SYMTYPE,
                                                                                0o777)
            info.linkname = link or ""
            tf.addfile(info)
        data = b"#!/bin/sh\n"
        info = tarfile.TarInfo("./bin/sh")
        info.size, info.mode = len(data), 0o755
        tf.addfile(info, io.BytesIO(data))
    (tmp_path / "mine").write_text("the image's\n")
    head = '[base]\ntar = "rootfs.tar"\n[config]\nentrypoint = ["/bin/sh"]\n'
    (tmp_path / "ok.toml").write_text(head + '[[file]]\nsource = "mine"\ntarget = "/etc/awk"\n')
    out = run(["scone-image", "build", tmp_path / "ok.toml", "-o", tmp_path / "ok"], env=image_env)
    assert out.returncode == 0, out.stderr
    assert victim.read_text() == "host file\n"
    unpacked = tmp_path / "unpacked"
    r = run(["umoci", "unpack", "--image", f"{tmp_path / 'ok'}:latest", unpacked])
    assert r.returncode == 0, r.stderr
    awk = unpacked / "rootfs" / "etc" / "awk"
    assert not awk.is_symlink() and awk.read_text() == "the image's\n"
    (tmp_path / "bad.toml").write_text(head + '[[file]]\nsource = "mine"\ntarget = "/opt/lib/x"\n')
    out = run(["scone-image", "build", tmp_path / "bad.toml", "-o", tmp_path / "bad"],
              env=image_env)
    assert out.returncode == 2
    (line,) = out.stderr.splitlines()
    assert "/opt/lib is a symbolic link in the base" in line, line
    assert not (tmp_path / "bad").exists() and list(victim_dir.iterdir()) == []


@pytest.fixture(scope="module")
def redis_tree():
    sys.path.insert(0, str(APPS))
    from appkit import flavour, probe, redis
    from appkit.source import SourceUnavailable

    try:
        scone = flavour.get("scone")
    except flavour.FlavourUnavailable as why:
        pytest.fail(str(why))
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    try:
        return redis, scone, redis.build_tree(scone)
    except SourceUnavailable as why:
        pytest.fail(str(why))


def image_bytes(archive: Path) -> bytes:
    """Every blob of an image archive, layers decompressed: what anyone with the image reads."""
    out = []
    with tarfile.open(archive) as tf:
        for m in tf.getmembers():
            if m.isfile():
                data = tf.extractfile(m).read()
                out.append(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
    return b"".join(out)


def test_cas_and_redis_containers(cas_image, redis_tree, pod, image_env, tmp_path):
    need("redis-cli", "openssl")
    redis, scone, tree = redis_tree
    env = dict(image_env, XDG_CONFIG_HOME=str(tmp_path / "config"))
    for k in ("SCONE_CONFIG_ID", "SCONE_CAS_ADDR", "SCONE_MODE"):
        env.pop(k, None)

    def cas(*args, **kw):
        return run([sys.executable, "-m", "scone_cc.cas", *args], env=env, **kw)

    # 1. The CAS container: its identity (made on first use in its state volume), then serve.
    cas_ref = load(pod, cas_image[0])
    state = tmp_path / "cas-state"
    state.mkdir()
    volume = ["-v", f"{state}:{STATE}"]
    out = pod("run", "--rm", *volume, cas_ref, "identity", "--state", STATE)
    assert out.returncode == 0, out.stderr
    pin = out.stdout.strip()
    assert len(pin) == 64
    cas_port = free_port()
    cas_addr = f"127.0.0.1:{cas_port}"
    out = pod("run", "-d", "--name", "cas", "--network", "host", *volume, cas_ref,
              "serve", "--state", STATE, "--listen", cas_addr)
    assert out.returncode == 0, out.stderr

    def cas_alive():
        state_ = pod("inspect", "--format", "{{.State.Status}}", "cas").stdout.strip()
        return None if state_ == "running" else pod("logs", "cas").stderr[-2000:]

    wait_port(cas_port, cas_alive, "the CAS container")
    # The operator trusts this test's SIM attestation key, inside the CAS container.
    sim = cas("sim-key")
    assert sim.returncode == 0, sim.stderr
    (state / "sim.pem").write_text(sim.stdout)
    out = pod("exec", "cas", "python3", "-m", "scone_cc.cas", "trust-sim-key", "--state", STATE,
              f"{STATE}/sim.pem")
    assert out.returncode == 0, out.stderr

    # 2. redis-server relinked: TLS from files the CAS injects into an ephemeral region.
    port = free_port()
    binary = redis.relinked_server(
        tree, scone, tmp_path / "redis-server", f"--scone-cas-key={pin}",
        "--scone-fs=/run/secrets:ephemeral",
        f"--scone-net=server:{port}:tls:cert=/run/secrets/redis.crt,key=/run/secrets/redis.key")
    (tmp_path / "redis.toml").write_text(
        f'name = "redis-tls"\n[[enclave]]\nsource = "{binary}"\ntarget = "/usr/bin/redis-server"\n'
        f'[config]\nports = [{port}]\n')
    image = tmp_path / "redis-tls.tar"
    out = run(["scone-image", "build", tmp_path / "redis.toml", "-o", image], env=image_env)
    assert out.returncode == 0, out.stderr

    # 3. The session, from the image's labels.
    out = cas("session", "template", "--image", image, "--name", "redis-tls")
    assert out.returncode == 0, out.stderr
    policy = yaml.safe_load(out.stdout)
    (svc,) = policy["services"]
    assert svc["name"] == "redis-server"
    policy["secrets"] = [{"name": "pw", "kind": "password", "size": 24},
                         {"name": "tls", "kind": "x509", "common_name": "localhost",
                          "dns": ["localhost"]}]
    svc.update(allow_sim=True, allow_debug=True,
               args=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                     "--appendonly", "no", "--requirepass", "$$SCONE::pw$$"],
               files=[{"path": "/run/secrets/redis.crt", "content": "$$SCONE::tls.crt$$"},
                      {"path": "/run/secrets/redis.key", "content": "$$SCONE::tls.key$$",
                       "mode": 0o600}])
    (tmp_path / "session.yaml").write_text(yaml.safe_dump(policy))
    admin = ["session", "--cas", cas_addr, "--cas-key", pin]
    out = cas(*admin, "create", "-f", tmp_path / "session.yaml")
    assert out.returncode == 0, out.stderr
    shown = json.loads(cas(*admin, "show", "--json", "redis-tls").stdout)
    ca = tmp_path / "ca.pem"
    ca.write_text(shown["session_ca"])

    # What an attested redis receives, from the CAS's reference client: the secrets to look for.
    ref = cas("sim-attest", "--cas", cas_addr, "--cas-key", pin, "--binary", binary,
              "redis-tls/redis-server")
    assert ref.returncode == 0, ref.stderr
    config = json.loads(ref.stdout)
    password = config["args"][config["args"].index("--requirepass") + 1]
    import base64
    key_pem = next(base64.b64decode(f["content_base64"]).decode() for f in config["files"]
                   if f["path"] == "/run/secrets/redis.key")
    assert "PRIVATE KEY" in key_pem and len(password) == 24
    key_body = "".join(key_pem.strip().splitlines()[1:-1])
    secrets = [password.encode(), key_body.encode(), key_body[:40].encode()]

    # 4. The redis container: SCONE_CONFIG_ID and SCONE_CAS_ADDR only.
    sim_key = tmp_path / "config" / "scone" / "sim-attestation-key.pem"
    assert sim_key.is_file()
    redis_ref = load(pod, image)
    out = pod("run", "-d", "--name", "redis", "--network", "host",
              "-e", "SCONE_CONFIG_ID=redis-tls/redis-server", "-e", f"SCONE_CAS_ADDR={cas_addr}",
              "-v", f"{sim_key}:/.config/scone/sim-attestation-key.pem:ro", redis_ref)
    assert out.returncode == 0, out.stderr

    def redis_alive():
        st = pod("inspect", "--format", "{{.State.Status}}", "redis").stdout.strip()
        return None if st == "running" else (pod("logs", "redis").stderr[-2000:]
                                             + pod("logs", "cas").stderr[-1000:]
                                             + pod("inspect", "--format", "{{.Config.Env}}",
                                                   "redis").stdout + pod("diff", "redis").stdout)

    wait_port(port, redis_alive, "the redis container")

    def cli(*args, password_=None):
        cmd = ["redis-cli", "-p", str(port), "--tls", "--cacert", ca]
        if password_ is not None:
            cmd += ["--no-auth-warning", "-a", password_]
        return run([*cmd, *args], timeout=60)

    assert cli("PING", password_=password).stdout == "PONG\n"
    assert cli("SET", "k", "v", password_=password).stdout == "OK\n"
    assert cli("GET", "k", password_=password).stdout == "v\n"
    assert "NOAUTH" in cli("GET", "k").stdout
    wrong = cli("PING", password_=password[::-1])
    assert "WRONGPASS" in wrong.stderr and "PONG" not in wrong.stdout
    plain = run(["redis-cli", "-p", str(port), "-a", password, "--no-auth-warning", "PING"],
                timeout=60)
    assert "PONG" not in plain.stdout
    # The certificate redis presents is the CAS's x509 secret: issued by the session CA.
    served = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{port}",
                             "-CAfile", str(ca), "-verify_return_error"], input=b"",
                            capture_output=True, timeout=60)
    assert b"Verify return code: 0 (ok)" in served.stdout, served.stdout[-1000:]
    assert b"CN = localhost" in served.stdout

    # 5. No secret in the container's configuration, environment, command line, nor image.
    inspect = pod("inspect", "redis")
    assert inspect.returncode == 0, inspect.stderr
    info = json.loads(inspect.stdout)[0]
    oci_config = Path(info["OCIConfigPath"]).read_bytes()
    assert json.loads(oci_config)["process"]["args"] == ["/usr/bin/redis-server"]
    pid = info["State"]["Pid"]
    environ = Path(f"/proc/{pid}/environ").read_bytes()
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert b"SCONE_CONFIG_ID=redis-tls/redis-server" in environ.split(b"\0")
    assert cmdline == b"/usr/bin/redis-server\0"
    passed = {e.split("=", 1)[0] for e in info["Config"]["Env"]}
    assert passed - {"PATH", "HOME", "HOSTNAME", "TERM", "container", "SCONE_MODE"} == \
        {"SCONE_CONFIG_ID", "SCONE_CAS_ADDR"}
    blobs = image_bytes(image)
    for secret in secrets:
        for where, data in (("podman inspect", inspect.stdout.encode()),
                            ("config.json", oci_config), ("/proc/PID/environ", environ),
                            ("/proc/PID/cmdline", cmdline), ("the image", blobs)):
            assert secret not in data, f"a secret is in {where}"
    # The probe itself can see: the same search finds what the container was given.
    assert b"redis-tls/redis-server" in oci_config and cas_addr.encode() in environ
