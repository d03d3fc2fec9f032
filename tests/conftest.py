"""Fixtures shared by every test area (each area keeps its own in tests/<area>/)."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def run(cmd, **kw):
    """subprocess.run with text output captured; never raises on exit code."""
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run(cmd, **kw)


def gcc(args, cwd):
    """Plain gcc in cwd; the test fails with gcc's message if it does."""
    out = run(["gcc", *args], cwd=cwd)
    assert out.returncode == 0, out.stderr
    return out


# A tiny enclave image (code, read-only and initialised data, a 10,000-byte
# .bss, entry __scone_entry) that hand-worked layouts and measurements use.
IMAGE_C = r"""
static int counter = 5;
static char buf[10000];
const char msg[] = "enclave";
int get(void) { return counter + buf[3] + msg[1]; }
void __scone_entry(void) { counter++; buf[1] = get(); for (;;); }
"""


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def sysroot() -> Path:
    """The built sysroot (built on first use, then cached across runs)."""
    out = run(["scone-gcc", "-print-sysroot"])
    assert out.returncode == 0, out.stderr
    return Path(out.stdout.strip())


@pytest.fixture(scope="session")
def private_env(tmp_path_factory, sysroot):
    """private_env(drop, sim=True) -> an environment with a private HOME
    (a fresh developer key and config) sharing the built sysroot cache,
    without the variables in drop ("SCONE_" alone: every SCONE_* one but
    SCONE_CACHE), and SCONE_MODE=SIM when sim."""

    def _env(drop=(), sim=True):
        env = dict(os.environ)
        env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
        env["HOME"] = str(tmp_path_factory.mktemp("home"))
        env.pop("XDG_CONFIG_HOME", None)
        for k in list(env):
            if k in drop or ("SCONE_" in drop and k.startswith("SCONE_") and k != "SCONE_CACHE"):
                env.pop(k)
        if sim:
            env["SCONE_MODE"] = "SIM"
        return env

    return _env


@pytest.fixture(scope="session")
def enclave_builder(tmp_path_factory):
    """enclave_builder(env, base=None) -> build(source, *flags): scone-gcc -O2
    in env, one binary per (source, flags) for the session (a relative
    source is taken from base)."""

    def _builder(env, base=None):
        out_dir = tmp_path_factory.mktemp("bin")
        cache = {}

        def _build(source, *flags):
            key = (str(source), flags)
            if key not in cache:
                out = out_dir / f"{Path(source).stem}-{len(cache)}"
                src = Path(base) / source if base else Path(source)
                r = run(["scone-gcc", "-O2", "-o", str(out), str(src), *flags], env=env)
                assert r.returncode == 0, r.stderr
                cache[key] = out
            return cache[key]

        return _build

    return _builder


@pytest.fixture
def scone_env(tmp_path, monkeypatch):
    """A private HOME so key creation and config never touch the user's."""
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ)
    # Keep the shared sysroot cache: rebuilding musl per test would be slow.
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(home)
    env.pop("XDG_CONFIG_HOME", None)
    return env


def have(tool: str) -> bool:
    return shutil.which(tool) is not None


@pytest.fixture(scope="session")
def hostile(tmp_path_factory) -> Path:
    """The test-only starter that plays a hostile host (runtime/untrusted/hostile.c)."""
    out = tmp_path_factory.mktemp("hostile")
    target = out / "scone-starter-hostile"
    r = run(["make", "-s", "-j2", "-C", str(REPO / "runtime"), "MUSL=/nonexistent", f"O={out}", str(target)])
    assert r.returncode == 0, r.stderr
    return target
