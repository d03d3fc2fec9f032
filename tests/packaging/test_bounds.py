"""pyproject.toml's dependency bounds are true: the lower bounds work (slow:
a venv with exactly those versions builds, runs, signs and checks), and the
lief that came just before its bound is refused with one clear line."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from scone_cc import deps
from scone_cc.errors import SconeError

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


def test_lief_bound_is_the_one_checked():
    assert lower_bounds()["lief"] == ".".join(map(str, deps.LIEF_MIN))


@pytest.mark.parametrize("version, ok", [
    # Tried: 0.15.0 and 0.16.7 cannot parse the starter; 0.17.0 to 0.17.5
    # write the section header table misaligned; 0.17.6 and 1.0.0 work.
    ("0.15.0", False), ("0.16.7", False), ("0.17.0", False), ("0.17.5", False),
    ("0.17.6", True), ("0.17.6-08dc3b7f", True), ("1.0.0-d05b3499b", True), ("x", False),
])
def test_lief_versions(version, ok):
    if ok:
        deps.check_lief_version(version)
    else:
        with pytest.raises(SconeError, match=r"pip install -U 'lief>=0\.17\.6'"):
            deps.check_lief_version(version)


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

    # The lief just below the bound: one clear line, no binary.
    proc = run([py, "-m", "pip", "install", "-q", "lief==0.17.5"])
    if proc.returncode == 0:
        proc = run([b / "scone-gcc", "hello.c", "-o", "hello2"], cwd=work, env=env)
        assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
        assert "lief 0.17.5" in proc.stderr and "lief>=0.17.6" in proc.stderr
        assert not (work / "hello2").exists()
