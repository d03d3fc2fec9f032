"""Images of scone binaries under real engines: runc (scone-image run) and podman, unchanged.

There is no SGX device here: the enclave runs in SIM, as the image's
SCONE_MODE says; SCONE_MODE=HW must fail naming the device paths tried.
"""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import REPO, need, run

APPS = Path(__file__).resolve().parents[1] / "apps"


@pytest.fixture(scope="module")
def hello_images(hello, image_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("images")
    for name, fmt in (("layout", "oci"), ("oci.tar", "oci-archive"),
                      ("docker.tar", "docker-archive")):
        r = run(["scone-image", "build", hello / "hello.toml", "-o", out / name, "--format", fmt],
                env=image_env)
        assert r.returncode == 0, r.stderr
    return out


def test_runc_runs_every_format(hello_images, image_env):
    need("runc")
    for name in ("layout", "oci.tar", "docker.tar"):
        out = run(["scone-image", "run", hello_images / name], env=image_env)
        assert out.returncode == 0, out.stderr
        assert out.stdout == "Hello, image, from inside the enclave!\nargc=2 HOME=/\n"
    # Arguments replace the command; the program's exit status is the container's.
    out = run(["scone-image", "run", "-e", "HOME=/home/x", hello_images / "layout", "you", "3"],
              env=image_env)
    assert out.returncode == 3
    assert out.stdout == "Hello, you, from inside the enclave!\nargc=3 HOME=/home/x\n"


def test_hw_mode_without_device_says_so(hello_images, image_env):
    need("runc")
    out = run(["scone-image", "run", "--mode", "HW", hello_images / "layout"], env=image_env)
    assert out.returncode != 0
    assert "/dev/sgx_enclave" in out.stderr, out.stderr


def test_hw_with_the_device(hello_images, image_env, podman):
    """On an SGX machine: HW through runc and podman with the device passed in. Skipped here."""
    if not os.path.exists("/dev/sgx_enclave"):
        pytest.skip("no /dev/sgx_enclave: HW cannot run on this machine")
    out = run(["scone-image", "run", "--mode", "HW", hello_images / "layout"], env=image_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Hello, image, from inside the enclave!")
    ref = podman("load", "-i", hello_images / "oci.tar").stdout.split("Loaded image:")[-1].strip()
    out = podman("run", "--rm", "--network", "host", "-e", "SCONE_MODE=HW",
                 "--device", "/dev/sgx_enclave", ref)
    # podman 4.3 mounts /dev noexec, which the driver's executable mappings need (README):
    # either it runs, or the starter says why.
    assert out.returncode == 0 or "noexec" in out.stderr, out.stderr


def test_podman_runs_the_archives_unchanged(hello_images, podman):
    """podman load + podman run, with only podman's own options: the engine is not ours."""
    for name in ("oci.tar", "docker.tar"):
        load = podman("load", "-i", hello_images / name)
        assert load.returncode == 0, load.stderr
        # An oci-archive loads as localhost/hello, a docker-archive as docker.io/library/hello.
        ref = load.stdout.split("Loaded image:")[-1].strip()
        assert ref.endswith("/hello:latest"), load.stdout
        labels = podman("image", "inspect", "--format",
                        '{{index .Labels "scone.enclave.0.path"}}', ref)
        assert labels.stdout == "/usr/bin/hello\n", labels.stderr
        out = podman("run", "--rm", "--network", "host", ref)
        assert out.returncode == 0, out.stderr
        assert out.stdout == "Hello, image, from inside the enclave!\nargc=2 HOME=/\n"
        podman("rmi", "--force", ref)
    # An OCI layout runs straight from its directory, with an environment override.
    out = podman("run", "--rm", "--network", "host", "-e", "HOME=/p",
                 f"oci:{hello_images / 'layout'}:latest", "pod", "5")
    assert out.returncode == 5, out.stderr
    assert out.stdout == "Hello, pod, from inside the enclave!\nargc=3 HOME=/p\n"


def _ask(port: int, *words: str) -> bytes:
    """One RESP command over a socket (redis-cli if present is used by the other test)."""
    body = b"".join(b"$%d\r\n%s\r\n" % (len(w), w.encode()) for w in words)
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(b"*%d\r\n" % len(words) + body)
        return s.recv(1024)


def _free_port() -> int:
    import random

    for _ in range(50):
        port = random.randint(20000, 60000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port")


@pytest.fixture(scope="module")
def redis_image(image_env, tmp_path_factory):
    """redis-server built by scone-gcc as tests/apps does (cached there), in an image."""
    need("umoci", "skopeo", "runc")
    sys.path.insert(0, str(APPS))
    from appkit import flavour, probe, redis
    from appkit.source import SourceUnavailable

    try:
        scone = flavour.get("scone")
    except flavour.FlavourUnavailable as why:
        pytest.skip(str(why))
    why = probe.threads(scone)
    if why:
        pytest.skip(f"redis-server starts bio threads; {why}")
    try:
        tree = redis.build_tree(scone)
    except SourceUnavailable as why:
        pytest.skip(str(why))
    work = tmp_path_factory.mktemp("redis")
    (work / "data").mkdir()
    (work / "redis.toml").write_text(f'''
name = "redis"
[[enclave]]
source = "{tree / 'src' / 'redis-server'}"
target = "/usr/bin/redis-server"
[[enclave.volume]]
source = "data"
target = "/data"
[config]
cmd = ["--bind", "127.0.0.1", "--port", "6379", "--save", "", "--appendonly", "no"]
ports = [6379]
workdir = "/data"
''')
    out = run(["scone-image", "build", work / "redis.toml", "-o", work / "redis.tar"],
              env=image_env)
    assert out.returncode == 0, out.stderr
    return work / "redis.tar"


def test_redis_answers_from_its_container(redis_image, image_env, tmp_path):
    """redis-server in its image under runc answers redis-cli on 127.0.0.1:PORT; SIGTERM to
    scone-image run reaches redis, which shuts down cleanly."""
    port = _free_port()
    log = open(tmp_path / "redis.log", "w")
    proc = subprocess.Popen(["scone-image", "run", redis_image, "--", "--bind", "127.0.0.1",
                             "--port", str(port), "--save", "", "--appendonly", "no"],
                            env=image_env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, (tmp_path / "redis.log").read_text()
            try:
                reply = _ask(port, "PING")
                break
            except OSError:
                assert time.monotonic() < deadline, "redis did not listen within 60 s"
                time.sleep(0.1)
        assert reply == b"+PONG\r\n"
        if subprocess.run(["which", "redis-cli"], capture_output=True).returncode == 0:
            cli = run(["redis-cli", "-p", port, "ping"])
            assert cli.stdout == "PONG\n", cli.stderr
        assert _ask(port, "SET", "k", "enclave") == b"+OK\r\n"
        assert _ask(port, "GET", "k") == b"$7\r\nenclave\r\n"
        assert _ask(port, "CONFIG", "GET", "dir") == b"*2\r\n$3\r\ndir\r\n$5\r\n/data\r\n"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0, (tmp_path / "redis.log").read_text()
        assert "ready to exit" in (tmp_path / "redis.log").read_text()
    finally:
        if proc.poll() is None:
            proc.terminate()  # scone-image run passes it on, then removes the container
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


@pytest.fixture(scope="module")
def busybox_image(hello, image_env, tmp_path_factory):
    """hello's enclave with an ordinary static program beside it (busybox), and a CAS."""
    need("runc", "busybox")
    work = tmp_path_factory.mktemp("busybox")
    busybox = subprocess.run(["which", "busybox"], capture_output=True, text=True).stdout.strip()
    recipe = work / "bb.toml"
    recipe.write_text(f'[[enclave]]\nsource = "{hello / "hello"}"\n'
                      f'[[file]]\nsource = "{busybox}"\ntarget = "/bin/busybox"\n'
                      '[cas]\naddress = "cas.example:8081"\nconfig_id = "hello/main"\n')
    out = run(["scone-image", "build", recipe, "-o", work / "img"], env=image_env)
    assert out.returncode == 0, out.stderr
    return work / "img"


def test_devices_reach_the_container(busybox_image, image_env):
    """What HW needs, shown with a device this host has: a misc character device (as
    /dev/sgx_enclave is) passed with --device can be opened inside, and not without it."""
    if not os.path.exists("/dev/fuse"):
        pytest.skip("no /dev/fuse on this host to stand in for /dev/sgx_enclave")
    probe = ["--entrypoint", "/bin/busybox", busybox_image,
             "sh", "-c", "exec 3</dev/fuse && echo opened"]
    with_device = run(["scone-image", "run", "--device", "/dev/fuse", *probe], env=image_env)
    assert (with_device.returncode, with_device.stdout) == (0, "opened\n"), with_device.stderr
    without = run(["scone-image", "run", "--no-devices", *probe], env=image_env)
    assert without.returncode != 0 and without.stdout == ""
    # HW maps /dev/sgx_enclave executable: the container's /dev must not be noexec.
    mounts = run(["scone-image", "run", "--entrypoint", "/bin/busybox", busybox_image,
                  "grep", " /dev ", "/proc/mounts"], env=image_env)
    assert mounts.returncode == 0, mounts.stderr
    (dev,) = mounts.stdout.splitlines()
    assert "noexec" not in dev.split()[3].split(","), dev


def test_cas_variables_reach_the_container(busybox_image, image_env):
    """The recipe's [cas] is in the image's environment; run --cas/--config-id override it."""
    def env_inside(*opts):
        out = run(["scone-image", "run", *opts, "--entrypoint", "/bin/busybox", busybox_image,
                   "env"], env=image_env)
        assert out.returncode == 0, out.stderr
        return dict(line.split("=", 1) for line in out.stdout.splitlines())

    env = env_inside()
    assert (env["SCONE_MODE"], env["SCONE_CAS_ADDR"], env["SCONE_CONFIG_ID"]) == \
        ("SIM", "cas.example:8081", "hello/main")
    env = env_inside("--cas", "10.0.0.1:18765", "--config-id", "s/x", "--mode", "AUTO")
    assert (env["SCONE_MODE"], env["SCONE_CAS_ADDR"], env["SCONE_CONFIG_ID"]) == \
        ("AUTO", "10.0.0.1:18765", "s/x")


def test_the_sample_recipe(hello, image_env, tmp_path):
    """samples/hello.toml, as the README uses it after make demo (build/hello beside samples/)."""
    need("runc")
    (tmp_path / "samples").mkdir()
    (tmp_path / "build").mkdir()
    (tmp_path / "samples" / "hello.toml").write_text((REPO / "samples" / "hello.toml").read_text())
    (tmp_path / "build" / "hello").write_bytes((hello / "hello").read_bytes())
    out = run(["scone-image", "build", tmp_path / "samples" / "hello.toml", "-o",
               tmp_path / "build" / "hello.tar"], env=image_env)
    assert out.returncode == 0, out.stderr
    out = run(["scone-image", "run", tmp_path / "build" / "hello.tar"], env=image_env)
    assert out.stdout == "Hello, container, from inside the enclave!\nargc=2 HOME=/\n", out.stderr
