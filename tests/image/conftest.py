"""Fixtures of the image tests: a scone hello, its recipe, and a private podman.

The engines are the real ones from Debian (umoci, skopeo, runc, podman);
a test that needs one that is missing is skipped with the package to install.
podman runs with its own storage, run root and containers.conf under the
test's temporary directory, so the machine's configuration is never read
or changed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 300)
    return subprocess.run([str(c) for c in cmd], **kw)


def need(*tools: str) -> None:
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        pytest.skip(f"{', '.join(missing)} missing: apt-get install {' '.join(missing)} "
                    "(setup.sh does)")


@pytest.fixture(scope="session")
def image_env(tmp_path_factory) -> dict:
    """The environment for scone-gcc and scone-image: a private HOME (its own dev key)."""
    home = tmp_path_factory.mktemp("home")
    env = dict(os.environ)
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    env.pop("SOURCE_DATE_EPOCH", None)
    return env


@pytest.fixture(scope="session")
def hello(tmp_path_factory, image_env) -> Path:
    """samples/hello.c built by scone-gcc: a folder holding ``hello`` and ``hello.toml``."""
    need("umoci", "skopeo")
    work = tmp_path_factory.mktemp("hello")
    out = run(["scone-gcc", "-O2", REPO / "samples" / "hello.c", "-o", work / "hello"],
              env=image_env)
    assert out.returncode == 0, out.stderr
    (work / "hello.toml").write_text(
        '[[enclave]]\nsource = "hello"\n\n[config]\ncmd = ["image"]\n')
    return work


class Podman:
    """podman with everything private: storage (vfs), run root, containers.conf, runtime runc."""

    def __init__(self, root: Path, runroot: Path):
        self.root, self.runroot = root, runroot
        root.mkdir(parents=True, exist_ok=True)
        conf = root / "containers.conf"
        # default_ulimits = []: podman would raise RLIMIT_NOFILE, which this host refuses.
        conf.write_text(
            "[containers]\ndefault_ulimits = []\n"
            f'[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\n'
            f'events_logger = "file"\nevents_logfile_path = "{root}/events.log"\n'
            f'tmp_dir = "{root}/tmp"\nstatic_dir = "{root}/static"\n'
            f'volume_path = "{root}/volumes"\n')
        storage = root / "storage.conf"
        storage.write_text(f'[storage]\ndriver = "vfs"\nrunroot = "{runroot}"\n'
                           f'graphroot = "{root}/graph"\n')
        self.env = dict(os.environ, CONTAINERS_CONF=str(conf),
                        CONTAINERS_STORAGE_CONF=str(storage),
                        CONTAINERS_REGISTRIES_CONF=str(root / "registries.conf"))
        (root / "registries.conf").write_text("")

    def __call__(self, *args, **kw):
        base = ["podman", "--root", self.root / "graph", "--runroot", self.runroot,
                "--storage-driver", "vfs", "--runtime", "runc", "--cgroup-manager", "cgroupfs"]
        return run([*base, *args], env=self.env, **kw)


@pytest.fixture
def podman(tmp_path):
    need("podman", "runc")
    # podman refuses a run root longer than 50 characters: a short one in /tmp.
    runroot = Path(tempfile.mkdtemp(prefix="scone-podman-", dir="/tmp"))
    p = Podman(tmp_path / "podman", runroot)
    yield p
    p("rm", "--all", "--force")
    p("rmi", "--all", "--force")
    shutil.rmtree(runroot, ignore_errors=True)


def skopeo_labels(ref: str) -> dict:
    out = run(["skopeo", "inspect", ref])
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)
