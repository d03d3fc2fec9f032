"""pyproject.toml's dependency bounds are true: the lower bounds work (slow:
a venv with exactly those versions builds, runs, signs and checks a
program, and imports the modules that use the rest)."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

HELLO = '#include <stdio.h>\nint main(void) { puts("bounds"); return 0; }\n'
FORK = '#include <unistd.h>\nint main(void) { return fork(); }\n'


def lower_bounds() -> dict:
    meta = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    out = {}
    for req in meta["dependencies"]:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9.]+)", req)
        assert m, f"{req}: state a lower bound as NAME>=VERSION"
        out[m.group(1)] = m.group(2)
    return out


def test_every_dependency_has_a_lower_bound():
    bounds = lower_bounds()
    assert {"click", "rich", "pyelftools", "cryptography", "capstone"} <= set(bounds)
    # capstone 5.0.0 is yanked on PyPI ("wrong"); pip warns when it is chosen.
    assert bounds["capstone"] != "5.0.0"


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    return subprocess.run([str(c) for c in cmd], **kw)


@pytest.mark.slow
def test_lower_bounds_work(tmp_path):
    venv = tmp_path / "venv"
    assert run([sys.executable, "-m", "venv", venv]).returncode == 0
    py = venv / "bin/python"
    pins = [f"{name}=={version}" for name, version in lower_bounds().items()]
    proc = run([py, "-m", "pip", "install", "-q", *pins])
    if proc.returncode:
        pytest.skip(f"cannot install {' '.join(pins)} from the package index: {proc.stderr[-300:]}")
    proc = run([py, "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", REPO])
    if proc.returncode:  # no hatchling in the venv: let pip fetch it
        proc = run([py, "-m", "pip", "install", "-q", "--no-deps", REPO])
    assert proc.returncode == 0, proc.stderr[-2000:]
    proc = run([py, "-m", "pip", "check"])
    assert proc.returncode == 0, proc.stdout

    work = tmp_path / "work"
    work.mkdir()
    (work / "hello.c").write_text(HELLO)
    (work / "fork.c").write_text(FORK)
    home = tmp_path / "home"
    home.mkdir()
    env = dict(os.environ, HOME=str(home), PATH=f"{venv / 'bin'}:{os.environ['PATH']}")
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env.pop("XDG_CONFIG_HOME", None)
    b = venv / "bin"

    proc = run([b / "scone-gcc", "-g", "hello.c", "-o", "hello"], cwd=work, env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr
    assert run(["./hello"], cwd=work, env=env).stdout == "bounds\n"
    assert run([b / "scone-sign", "verify", "hello"], cwd=work, env=env).returncode == 0
    assert run([b / "scone-sign", "show", "--json", "hello"], cwd=work, env=env).returncode == 0
    assert run([b / "scone-sign", "keygen", "-o", "k.pem"], cwd=work, env=env).returncode == 0
    proc = run([b / "scone-sign", "sign", "--key", "k.pem", "--heap", "32M", "hello"], cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr
    assert run(["./hello"], cwd=work, env=env).stdout == "bounds\n"
    assert run([b / "scone-check", "hello"], cwd=work, env=env).returncode == 0
    proc = run([b / "scone-gcc", "-g", "fork.c", "-o", "fork"], cwd=work, env=env)
    assert proc.returncode == 1 and "fork.c:2" in proc.stderr, proc.stderr

    # The modules that use pyyaml and jsonschema load with their lower bounds.
    proc = run([py, "-c", "import scone_cc.image.k8s, scone_cc.cas.policy, scone_cc.cas.cli"],
               cwd=work, env=env)
    assert proc.returncode == 0, proc.stderr[-2000:]
