"""Fixtures of the enclave-side CAS client tests: a real `scone-cas serve`
in a temporary state folder, a private scone config dir (SIM key, client
certificate), and programs built with scone-gcc --scone-cas-key, run in SIM."""

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def cas_cli(env, *args):
    return subprocess.run([sys.executable, "-m", "scone_cc.cas", *args], env=env,
                          capture_output=True, text=True)


class Cas:
    """One `scone-cas serve` on 127.0.0.1, a free port, its own state."""

    def __init__(self, state: Path, env: dict):
        self.state, self.env = state, env
        out = cas_cli(env, "identity", "--state", str(state))
        assert out.returncode == 0, out.stderr
        self.pin = out.stdout.strip()
        port_file = state / "port"
        self.log_path = state / "log"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "scone_cc.cas", "serve", "--state", str(state),
                                      "--listen", "127.0.0.1:0", "--port-file", str(port_file)],
                                     env=env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while not port_file.exists():
            assert self.proc.poll() is None, self.log_path.read_text()
            assert time.monotonic() < deadline, "scone-cas did not start"
            time.sleep(0.05)
        self.address = f"127.0.0.1:{int(port_file.read_text())}"

    def cli(self, *args):
        return cas_cli(self.env, "session", "--cas", self.address, "--cas-key", self.pin, *args)

    def logtext(self) -> str:
        return self.log_path.read_text()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.log.close()


@pytest.fixture(scope="module")
def cas_env(tmp_path_factory):
    base = tmp_path_factory.mktemp("casclient")
    env = dict(os.environ)
    env.setdefault("SCONE_CACHE", str(Path.home() / ".cache" / "scone"))
    env["HOME"] = str(base / "home")
    env["XDG_CONFIG_HOME"] = str(base / "config")
    for k in ("SCONE_MODE", "SCONE_HASH", "SCONE_LOG", "SCONE_FS", "SCONE_HEAP", "SCONE_CONFIG_ID",
              "SCONE_CAS_ADDR"):
        env.pop(k, None)
    env["SCONE_MODE"] = "SIM"
    return env


@pytest.fixture(scope="module")
def cas(tmp_path_factory, cas_env):
    """A CAS that trusts this machine's SIM key (the one the starter uses)."""
    state = tmp_path_factory.mktemp("cas-state")
    c = Cas(state, cas_env)
    pem = state / "sim.pem"
    out = cas_cli(cas_env, "sim-key")
    assert out.returncode == 0, out.stderr
    pem.write_text(out.stdout)
    out = cas_cli(cas_env, "trust-sim-key", "--state", str(state), str(pem))
    assert out.returncode == 0, out.stderr
    yield c
    c.stop()


@pytest.fixture(scope="module")
def build(tmp_path_factory, cas_env):
    """build(name, source_text, *flags) -> a signed scone binary."""
    out_dir = tmp_path_factory.mktemp("bin")

    def _build(name, source, *flags):
        src = out_dir / f"{name}.c"
        src.write_text(source)
        out = out_dir / name
        r = subprocess.run(["scone-gcc", "-O2", "-o", str(out), str(src), *flags],
                           env=cas_env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        return out

    return _build
