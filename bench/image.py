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

Run: ``python3 -m bench.image [--runs N]``.
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
    opts = ap.parse_args(argv)
    if os.geteuid() != 0 or not all(shutil.which(t) for t in ("umoci", "skopeo", "runc")):
        print("image: skipped (needs root and umoci, skopeo, runc: sh setup.sh)")
        return
    with tempfile.TemporaryDirectory(prefix="scone-bench-image-") as tmp:
        work = Path(tmp)
        _check(["scone-gcc", "-O2", REPO / "samples" / "hello.c", "-o", work / "hello"])
        (work / "hello.toml").write_text('[[enclave]]\nsource = "hello"\n')
        _bench("hello", work / "hello.toml", work / "hello", work, opts.runs,
               lambda port: ["image"], lambda argv, env, port: _first_line(argv, env))
        redis = _redis_binary()
        if redis:
            (work / "redis.toml").write_text(f'name = "redis"\n[[enclave]]\nsource = "{redis}"\n'
                                             "[config]\nports = [6379]\n")
            _bench("redis", work / "redis.toml", redis, work, opts.runs,
                   lambda port: ["--bind", "127.0.0.1", "--port", str(port or 6379), "--save", "",
                                 "--appendonly", "no"],
                   _first_pong)


if __name__ == "__main__":
    main()
