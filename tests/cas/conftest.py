"""Fixtures of the CAS tests: real signed binaries, a real CAS in a subprocess.

The config dir (SIM key, client certificates) is a fresh folder per test so
that nothing touches the user's own ``~/.config/scone``.
"""

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ..conftest import IMAGE_C, gcc

REPO = Path(__file__).resolve().parents[2]
SAMPLE_KEY = REPO / "tests" / "sgx" / "data" / "sdk_sample_key.pem"


@pytest.fixture(autouse=True)
def config_home(tmp_path, monkeypatch):
    home = tmp_path / "config"
    home.mkdir()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def _build(d: Path, source: str, name: str):
    (d / f"{name}.c").write_text(source)
    gcc(["-O2", "-fPIE", "-static-pie", "-nostdlib", "-Wl,-z,text", "-Wl,-z,noexecstack",
         "-Wl,--build-id=none", "-e", "__scone_entry", f"-Wl,-T,{REPO / 'linker_scripts' / 'enclave.ld'}",
         "-o", name, f"{name}.c"], d)
    return (d / name).read_bytes()


@pytest.fixture(scope="session")
def apps(tmp_path_factory):
    """Signed scone binaries: ``debug``, ``prod``, and ``prod2`` (one byte changed: new MRENCLAVE)."""
    from scone_cc.enclave import binfmt, layout
    from scone_cc.sgx.pages import EnclaveParams
    from scone_cc.sgx.signing import sign_binary

    d = tmp_path_factory.mktemp("casapps")
    key = d / "key.pem"
    shutil.copy(SAMPLE_KEY, key)
    os.chmod(key, 0o600)
    (d / "st.c").write_text("int main(void) { return 7; }\n")
    gcc(["-O2", "-static", "-o", "st", "st.c"], d)
    starter = (d / "st").read_bytes()
    images = {"one": _build(d, IMAGE_C, "img1"),
              "two": _build(d, IMAGE_C.replace("counter = 5", "counter = 6"), "img2")}
    out = {}
    for name, image, production in (("debug", "one", False), ("prod", "one", True), ("prod2", "two", True)):
        path = d / name
        lay = layout.compute(images[image], EnclaveParams(heap_size=1 << 20, tcs_count=1))
        binfmt.write(path, starter=starter, image=images[image], layout=lay, sigstruct=None)
        sign_binary(path, key_path=key, production=production)
        out[name] = path
    return out


class Cas:
    def __init__(self, state: Path, env: dict):
        self.state, self.env = state, env
        self.proc = None
        self.port = None
        self.pin = subprocess.run([sys.executable, "-m", "scone_cc.cas", "identity", "--state", str(state)],
                                  env=env, capture_output=True, text=True, check=True).stdout.strip()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def start(self, *extra):
        pf = self.state / "port"
        pf.unlink(missing_ok=True)
        self.log = open(self.state / "log", "ab")
        self.proc = subprocess.Popen([sys.executable, "-m", "scone_cc.cas", "serve", "--state", str(self.state),
                                      "--listen", "127.0.0.1:0", "--port-file", str(pf), *extra],
                                     env=self.env, stdout=self.log, stderr=self.log)
        deadline = time.monotonic() + 30
        while not pf.exists():
            assert self.proc.poll() is None, (self.state / "log").read_text()
            assert time.monotonic() < deadline, "scone-cas did not start"
            time.sleep(0.05)
        self.port = int(pf.read_text())
        return self

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig:
                self.proc.send_signal(sig)
            else:
                self.proc.terminate()
            self.proc.wait(timeout=30)
        if self.proc:
            self.log.close()

    def logtext(self):
        return (self.state / "log").read_text()

    def trust_local_sim_key(self):
        from scone_cc.cas.sim import sim_key
        from scone_cc.cas.keyfiles import pem_private
        key = sim_key()
        pem = self.state / "sim.pem"
        pem.write_bytes(pem_private(key))
        out = subprocess.run([sys.executable, "-m", "scone_cc.cas", "trust-sim-key", "--state", str(self.state),
                              str(pem)], env=self.env, capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        return key


class ThreadCas(Cas):
    """The same App and server loop in a thread of the test process: real TLS, no interpreter start-up."""

    def __init__(self, state: Path, env: dict):
        from scone_cc.cas.identity import cas_identity
        self.state, self.env, self.proc, self.port = state, env, None, None
        self.pin = cas_identity(state)[2]

    def start(self, *extra):
        import asyncio
        import logging
        import threading

        from scone_cc.cas import server

        opts = dict(zip(extra[::2], extra[1::2]))
        self.app = server.App(server.Settings(state=self.state, port=0,
                                              dcap_root=opts.get("--dcap-root")))
        self.handler = logging.FileHandler(self.state / "log")
        self.handler.setFormatter(logging.Formatter("scone-cas: %(message)s"))
        log = logging.getLogger("scone-cas")
        log.setLevel(logging.INFO)
        log.addHandler(self.handler)
        ready = threading.Event()

        def run():
            self.loop = asyncio.new_event_loop()
            self.task = self.loop.create_task(server._serve(self.app, lambda p: (setattr(self, "port", p),
                                                                                  ready.set())))
            try:
                self.loop.run_until_complete(self.task)
            except asyncio.CancelledError:
                pass
            finally:
                self.loop.close()
        self.thread = threading.Thread(target=run, daemon=True)
        self.thread.start()
        assert ready.wait(30), "scone-cas did not start"
        return self

    def stop(self, sig=None):
        import logging
        assert sig is None, "signals need the subprocess CAS (cas_process)"
        self.loop.call_soon_threadsafe(self.task.cancel)
        self.thread.join(30)
        self.app.close()
        logging.getLogger("scone-cas").removeHandler(self.handler)
        self.handler.close()


@pytest.fixture
def cas(tmp_path, config_home):
    """A CAS serving in a thread of the test process."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(config_home))
    c = ThreadCas(tmp_path / "state", env).start()
    yield c
    c.stop()


@pytest.fixture
def cas_process(tmp_path, config_home):
    """A CAS in its own process (``scone-cas serve``), for signals."""
    env = dict(os.environ, XDG_CONFIG_HOME=str(config_home))
    c = Cas(tmp_path / "state", env).start()
    yield c
    c.stop()
