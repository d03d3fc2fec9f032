"""Images of scone binaries: size, build time, and start to first answer against the bare binary.

For samples/hello.c and redis-server (built by scone-gcc as tests/apps does,
from its cache): the image's size against the binary's, the best and
median ``scone-image build`` time, and the wall time from start to the
first answer — hello's first line on stdout, redis's first PONG on
127.0.0.1:PORT — for

* ``direct``: the binary itself, ``SCONE_MODE=SIM``;
* ``runc``: ``runc run`` of a bundle unpacked once beforehand (the engine's
  own cost: namespaces, mounts, then the same binary);
* ``scone-image run``: unpack the image into a fresh bundle, then runc;
* ``podman``: ``podman run --network host`` of the loaded image (private
  storage and configuration, vfs driver), when podman is installed.

Runs alternate between the ways so that load from other processes hits all
alike. Printed as ratios to ``direct``, never asserted.

Then the CAS image (samples/cas.toml: size, warm build time) and the start
of two services: the CAS, then redis-server relinked with the network shield
and --scone-cas-key, which attests to it and gets its password and TLS key;
the time from starting the CAS to redis's first answer over TLS, for
``direct`` (``scone-cas serve`` and the binary on this host) and ``podman``
(the two images, each ``podman run -d``).

Run: ``python3 -m bench.image [--runs N] [--only hello|redis|cas]``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def _check(argv, **kw):
    done = subprocess.run([str(a) for a in argv], capture_output=True, text=True, **kw)
    if done.returncode:
        sys.exit(f"image: {' '.join(map(str, argv))} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def _port() -> int:
    while True:
        port = random.randint(20000, 60000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue


def _first_line(argv, env) -> float:
    """Seconds from start to the first line on stdout; the process is then reaped."""
    t0 = time.monotonic()
    proc = subprocess.Popen([str(a) for a in argv], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL)
    proc.stdout.readline()
    t = time.monotonic() - t0
    proc.stdout.read()
    proc.wait()
    return t


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64) == b"+PONG\r\n"
    except OSError:
        return False


def _first_pong(argv, env, port: int) -> float:
    """Seconds from start to redis's first PONG; the server is then stopped by SIGTERM."""
    t0 = time.monotonic()
    proc = subprocess.Popen([str(a) for a in argv], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        while not _ping(port):
            if proc.poll() is not None or time.monotonic() - t0 > 60:
                sys.exit(f"image: {argv[0]} did not answer on {port}")
            time.sleep(0.005)
        return time.monotonic() - t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class _Podman:
    def __init__(self, root: Path):
        self.runroot = Path(tempfile.mkdtemp(prefix="scone-podman-", dir="/tmp"))
        conf, storage = root / "containers.conf", root / "storage.conf"
        conf.write_text("[containers]\ndefault_ulimits = []\n[engine]\n"
                        f'runtime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n'
                        f'events_logfile_path = "{root}/events.log"\ntmp_dir = "{root}/tmp"\n'
                        f'static_dir = "{root}/static"\nvolume_path = "{root}/volumes"\n')
        storage.write_text(f'[storage]\ndriver = "vfs"\nrunroot = "{self.runroot}"\n'
                           f'graphroot = "{root}/graph"\n')
        (root / "registries.conf").write_text("")
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf), CONTAINERS_STORAGE_CONF=str(storage),
                        CONTAINERS_REGISTRIES_CONF=str(root / "registries.conf"))
        self.base = ["podman", "--root", str(root / "graph"), "--runroot", str(self.runroot),
                     "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]

    def load(self, archive: Path) -> str:
        out = _check([*self.base, "load", "-i", archive], env=self.env)
        return out.split("Loaded image:")[-1].strip()

    def close(self):
        subprocess.run([*self.base, "rmi", "--all", "--force"], env=self.env, capture_output=True)
        shutil.rmtree(self.runroot, ignore_errors=True)


def _bundle(image: Path, work: Path, args) -> Path:
    """A runc bundle of ``image``, unpacked once, adjusted as scone-image run does."""
    from scone_cc.image import oci, run as run_mod

    layout, tag = oci.as_layout(image, work)
    bundle = work / "bundle"
    _check(["umoci", "unpack", "--image", f"{layout}:{tag}", bundle])
    config = json.loads((bundle / "config.json").read_text())
    adjusted = run_mod.bundle_config(config, oci.inspect_config(image), args=args, devices=[])
    (bundle / "config.json").write_text(json.dumps(adjusted))
    return bundle


def _sizes(binary: Path, image: Path) -> str:
    b, i = binary.stat().st_size, image.stat().st_size
    return (f"binary {b / 2**20:.2f} MiB, image (oci-archive) {i / 2**20:.2f} MiB "
            f"= {i / b:.2f}x the binary")


def _rebundle(bundle: Path, args) -> Path:
    """The bundle with this run's arguments (redis takes a new port each run)."""
    path = bundle / "config.json"
    config = json.loads(path.read_text())
    config["process"]["args"] = [*config["process"]["args"][:1], *args]
    path.write_text(json.dumps(config))
    return bundle


def _bench(name: str, recipe: Path, binary: Path, work: Path, runs: int, args_for, answer) -> None:
    """``args_for(port)``: the program's arguments; ``answer(argv, env, port)``: seconds."""
    env = dict(os.environ, SCONE_MODE="SIM")
    image = work / f"{name}.tar"
    times = []
    for _ in range(runs):
        t0 = time.monotonic()
        _check(["scone-image", "build", recipe, "-o", image])
        times.append(time.monotonic() - t0)
    print(f"{name}: {_sizes(binary, image)}")
    print(f"{name}: scone-image build best {min(times):.2f} s, "
          f"median {statistics.median(times):.2f} s")

    (work / f"{name}-runc").mkdir()
    bundle = _bundle(image, work / f"{name}-runc", args_for(0))
    ways = {"direct": lambda p: [binary, *args_for(p)],
            "runc": lambda p: ["runc", "--root", work / "runc-state", "run", "--bundle",
                               _rebundle(bundle, args_for(p)), f"bench-{random.getrandbits(32)}"],
            "scone-image run": lambda p: ["scone-image", "run", image, "--", *args_for(p)]}
    podman = None
    if shutil.which("podman"):
        (work / f"{name}-podman").mkdir()
        podman = _Podman(work / f"{name}-podman")
        ref = podman.load(image)
        ways["podman"] = lambda p: [*podman.base, "run", "--rm", "--network", "host", ref,
                                    *args_for(p)]
    got = {w: [] for w in ways}
    try:
        for _ in range(runs):
            for way, make in ways.items():
                port = _port()
                got[way].append(answer(make(port), podman.env if way == "podman" else env, port))
    finally:
        if podman:
            podman.close()
    base = min(got["direct"])
    for way, ts in got.items():
        print(f"{name}: start to first answer, {way:<16} best {min(ts) * 1000:7.1f} ms, "
              f"median {statistics.median(ts) * 1000:7.1f} ms, best/direct {min(ts) / base:5.2f}x")


def _tls_pong(port: int, ca: Path, password: str) -> bool:
    """AUTH then PING over TLS, as redis-cli --tls --cacert CA -a PASSWORD does."""
    import ssl

    ctx = ssl.create_default_context(cafile=str(ca))
    ctx.check_hostname = False
    cmd = b"".join(b"*%d\r\n" % len(c) + b"".join(b"$%d\r\n%s\r\n" % (len(w), w) for w in c)
                   for c in ([b"AUTH", password.encode()], [b"PING"]))
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as raw, \
                ctx.wrap_socket(raw) as s:
            s.sendall(cmd)
            got = b""
            while len(got) < 12:
                chunk = s.recv(64)
                if not chunk:
                    break
                got += chunk
            return got == b"+OK\r\n+PONG\r\n"
    except (OSError, ssl.SSLError):
        return False


def _wait(what: str, ready, alive, t0: float) -> None:
    while not ready():
        if not alive() or time.monotonic() - t0 > 120:
            sys.exit(f"image: {what} did not come up")
        time.sleep(0.005)


def _bench_cas(redis_tree_binary: Path, work: Path, runs: int) -> None:
    """The CAS image, then the CAS and an attested redis as two services: direct and podman."""
    import base64

    import yaml

    sys.path.insert(0, str(REPO / "tests" / "apps"))
    from appkit import flavour, redis as redis_app

    times = []
    cas_image = work / "cas.tar"
    for _ in range(max(1, min(runs, 3))):
        t0 = time.monotonic()
        _check(["scone-image", "build", REPO / "samples" / "cas.toml", "-o", cas_image])
        times.append(time.monotonic() - t0)
    print(f"cas: image (oci-archive) {cas_image.stat().st_size / 2**20:.1f} MiB; scone-image "
          f"build (base cached) best {min(times):.2f} s, median {statistics.median(times):.2f} s")

    env = dict(os.environ, XDG_CONFIG_HOME=str(work / "config"), SCONE_MODE="SIM")
    for k in ("SCONE_CONFIG_ID", "SCONE_CAS_ADDR"):
        env.pop(k, None)
    cas = [sys.executable, "-m", "scone_cc.cas"]
    state = work / "cas-state"
    pin = _check([*cas, "identity", "--state", state], env=env).strip()
    # The state needs its database before the SIM key can be trusted: one short serve.
    cas_port = _port()
    proc = subprocess.Popen([*cas, "serve", "--state", state, "--listen", f"127.0.0.1:{cas_port}"],
                            env=env, stderr=subprocess.DEVNULL)
    _wait("scone-cas", lambda: _open(cas_port), lambda: proc.poll() is None, time.monotonic())
    (work / "sim.pem").write_text(_check([*cas, "sim-key"], env=env))
    _check([*cas, "trust-sim-key", "--state", state, work / "sim.pem"], env=env)
    port = _port()
    binary = redis_app.relinked_server(
        redis_tree_binary.parent.parent, flavour.get("scone"), work / "redis-tls",
        f"--scone-cas-key={pin}", "--scone-fs=/run/secrets:ephemeral",
        f"--scone-net=server:{port}:tls:cert=/run/secrets/redis.crt,key=/run/secrets/redis.key")
    (work / "redis-tls.toml").write_text(f'name = "redis-tls"\n[[enclave]]\nsource = "{binary}"\n'
                                         f'target = "/usr/bin/redis-server"\n')
    image = work / "redis-tls.tar"
    _check(["scone-image", "build", work / "redis-tls.toml", "-o", image])
    policy = yaml.safe_load(_check([*cas, "session", "template", "--image", image, "--name",
                                    "bench"], env=env))
    policy["secrets"] = [{"name": "pw", "kind": "password"},
                         {"name": "tls", "kind": "x509", "common_name": "localhost"}]
    policy["services"][0].update(
        allow_sim=True, allow_debug=True,
        args=["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
              "--appendonly", "no", "--requirepass", "$$SCONE::pw$$"],
        files=[{"path": "/run/secrets/redis.crt", "content": "$$SCONE::tls.crt$$"},
               {"path": "/run/secrets/redis.key", "content": "$$SCONE::tls.key$$", "mode": 0o600}])
    (work / "bench.yaml").write_text(yaml.safe_dump(policy))
    admin = [*cas, "session", "--cas", f"127.0.0.1:{cas_port}", "--cas-key", pin]
    _check([*admin, "create", "-f", work / "bench.yaml"], env=env)
    ca = work / "session-ca.pem"
    ca.write_text(json.loads(_check([*admin, "show", "--json", "bench"], env=env))["session_ca"])
    config = json.loads(_check([*cas, "sim-attest", "--cas", f"127.0.0.1:{cas_port}", "--cas-key",
                                pin, "--binary", binary, "bench/redis-server"], env=env))
    password = config["args"][config["args"].index("--requirepass") + 1]
    assert all(base64.b64decode(f["content_base64"]) for f in config["files"])
    proc.terminate()
    proc.wait()

    podman = _Podman(_mkdir(work / "cas-podman"))
    cas_ref, redis_ref = podman.load(cas_image), podman.load(image)
    sim_key = work / "config" / "scone" / "sim-attestation-key.pem"

    def direct(cas_addr):
        return ([*cas, "serve", "--state", state, "--listen", cas_addr],
                [binary], dict(env, SCONE_CONFIG_ID="bench/redis-server", SCONE_CAS_ADDR=cas_addr))

    def in_podman(cas_addr):
        run = [*podman.base, "run", "--rm", "--network", "host"]
        return ([*run, "-v", f"{state}:/var/lib/scone-cas", cas_ref, "serve", "--state",
                 "/var/lib/scone-cas", "--listen", cas_addr],
                [*run, "-e", "SCONE_CONFIG_ID=bench/redis-server", "-e",
                 f"SCONE_CAS_ADDR={cas_addr}", "-v",
                 f"{sim_key}:/.config/scone/sim-attestation-key.pem:ro", redis_ref],
                podman.env)

    got = {"direct": [], "podman": []}
    try:
        for _ in range(runs):
            for way, make in (("direct", direct), ("podman", in_podman)):
                cas_port = _port()
                cas_argv, redis_argv, redis_env = make(f"127.0.0.1:{cas_port}")
                t0 = time.monotonic()
                procs = [subprocess.Popen([str(a) for a in cas_argv], env=podman.env
                                          if way == "podman" else env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
                try:
                    _wait(f"{way} CAS", lambda: _open(cas_port), lambda: procs[0].poll() is None, t0)
                    procs.append(subprocess.Popen([str(a) for a in redis_argv], env=redis_env,
                                                  stdout=subprocess.DEVNULL,
                                                  stderr=subprocess.DEVNULL))
                    _wait(f"{way} redis", lambda: _tls_pong(port, ca, password),
                          lambda: procs[1].poll() is None, t0)
                    got[way].append(time.monotonic() - t0)
                finally:
                    for p in reversed(procs):
                        p.terminate()
                        try:
                            p.wait(timeout=30)
                        except subprocess.TimeoutExpired:
                            p.kill()
                            p.wait()
    finally:
        podman.close()
    base = min(got["direct"])
    for way, ts in got.items():
        print(f"cas+redis: CAS start to redis's first TLS answer, {way:<7} best "
              f"{min(ts) * 1000:7.1f} ms, median {statistics.median(ts) * 1000:7.1f} ms, "
              f"best/direct {min(ts) / base:5.2f}x")


def _open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def _mkdir(path: Path) -> Path:
    path.mkdir()
    return path


def _redis_binary() -> Path | None:
    sys.path.insert(0, str(REPO / "tests" / "apps"))
    try:
        from appkit import flavour, redis
        return redis.build_tree(flavour.get("scone")) / "src" / "redis-server"
    except Exception as why:  # no source package, no compiler: say so, go on with hello
        print(f"redis: skipped ({why})")
        return None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="python3 -m bench.image", description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--only", choices=("hello", "redis", "cas"), help="run one part only")
    opts = ap.parse_args(argv)
    want = (lambda part: opts.only in (None, part))
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("umoci", "skopeo", "runc")):
        print("image: skipped (needs root and umoci, skopeo, runc: sh setup.sh)")
        return
    with tempfile.TemporaryDirectory(prefix="scone-bench-image-") as tmp:
        work = Path(tmp)
        if want("hello"):
            _check(["scone-gcc", "-O2", REPO / "samples" / "hello.c", "-o", work / "hello"])
            (work / "hello.toml").write_text('[[enclave]]\nsource = "hello"\n')
            _bench("hello", work / "hello.toml", work / "hello", work, opts.runs,
                   lambda port: ["image"], lambda argv, env, port: _first_line(argv, env))
        redis = _redis_binary() if want("redis") or want("cas") else None
        if redis:
            (work / "redis.toml").write_text(f'name = "redis"\n[[enclave]]\nsource = "{redis}"\n'
                                             "[config]\nports = [6379]\n")
            if want("redis"):
                _bench("redis", work / "redis.toml", redis, work, opts.runs,
                       lambda port: ["--bind", "127.0.0.1", "--port", str(port or 6379), "--save",
                                     "", "--appendonly", "no"],
                       _first_pong)
            if not want("cas"):
                pass
            elif shutil.which("podman") and shutil.which("mmdebstrap"):
                _bench_cas(redis, work, opts.runs)
            else:
                print("cas+redis: skipped (needs podman and mmdebstrap: sh setup.sh)")


if __name__ == "__main__":
    main()
