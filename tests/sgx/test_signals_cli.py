"""SIGTERM, SIGINT and SIGHUP during every writing command: exit 128 + the
signal, one line, no traceback, no temporary file, the output either as it
was or complete (never half-written)."""

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCONE_SIGN = ([shutil.which("scone-sign")] if shutil.which("scone-sign")
              else [sys.executable, "-m", "scone_cc.sign"])


def temp_files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".tmp"))


def children(pid: int) -> list[str]:
    try:
        return Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []


def interrupted(r, sig):
    assert r.returncode == 128 + sig, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr and "Aborted" not in r.stderr
    assert r.stderr.strip().splitlines()[-1].endswith(f"interrupted by {signal.Signals(sig).name}")


def before_our_handlers(stderr: str) -> bool:
    """Python's own report of a SIGINT during its start-up or while importing
    the first lines of our module (before exit_on_signals): only module-level
    frames of ours, if any."""
    if "Fatal Python error: init_import_site" in stderr:
        return True
    if not stderr.rstrip().endswith("KeyboardInterrupt"):
        return False
    ours = re.findall(r'File "[^"]*scone_cc/[^"]*", line \d+, in (\S+)', stderr)
    return all(where == "<module>" for where in ours)


def _default_actions():
    for sig in (signal.SIGINT, signal.SIGHUP, signal.SIGTERM):
        signal.signal(sig, signal.SIG_DFL)


def start(argv, cwd, env):
    # The signals' default actions for the child: a shell that runs the suite
    # in the background may have left SIGINT ignored, and nohup SIGHUP (the
    # commands rightly keep an ignored signal ignored).
    return subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL,
                            preexec_fn=_default_actions)


def finish(p):
    out, err = p.communicate(timeout=120)
    return subprocess.CompletedProcess(p.args, p.returncode, out, err)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_signal_while_ld_runs(tmp_path, scone_env, sig):
    (tmp_path / "hello.c").write_text('int main(void){return 0;}\n')
    p = start(["scone-gcc", "hello.c", "-o", "out"], tmp_path, scone_env)
    deadline = time.monotonic() + 60
    while not children(p.pid) and p.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert children(p.pid), "gcc never ran"
    p.send_signal(sig)
    r = finish(p)
    interrupted(r, sig)
    assert sorted(os.listdir(tmp_path)) == ["hello.c", "home"]


def _writers(d: Path, key: Path, public: Path, sig_file: Path):
    return {
        "sign": [*SCONE_SIGN, "sign", "app", "--key", str(key), "--tcs", "3"],
        "keygen": [*SCONE_SIGN, "keygen", "--force", "-o", "k.pem"],
        "export-sgxs": [*SCONE_SIGN, "export-sgxs", "app", "-o", "out.sgxs"],
        "gendata": [*SCONE_SIGN, "gendata", "app", "-o", "data.bin"],
        "catsig": [*SCONE_SIGN, "catsig", "app", "--signature", str(sig_file),
                   "--public-key", str(public)],
    }


@pytest.mark.parametrize("name, sig", [
    ("sign", signal.SIGTERM), ("keygen", signal.SIGTERM), ("export-sgxs", signal.SIGTERM),
    ("gendata", signal.SIGTERM), ("catsig", signal.SIGTERM),
    ("sign", signal.SIGINT), ("export-sgxs", signal.SIGHUP),
])
def test_signal_during_scone_sign(name, sig, tmp_path, signed_binary, sample_key, sample_public):
    d = tmp_path / "w"
    d.mkdir()
    # A 1 GiB heap: 262,144 measured records, so each command works long enough to be hit.
    big = tmp_path / "big"
    shutil.copy2(signed_binary, big)
    subprocess.run([*SCONE_SIGN, "sign", str(big), "--key", str(sample_key), "--heap", "1G"],
                   check=True, capture_output=True)
    shutil.copy2(big, d / "app")
    # A valid signature for catsig: gendata, then openssl over its bytes.
    subprocess.run([*SCONE_SIGN, "gendata", "app", "-o", str(tmp_path / "data")], cwd=d,
                   check=True, capture_output=True)
    subprocess.run(["openssl", "dgst", "-sha256", "-sign", str(sample_key), "-out",
                    str(tmp_path / "sig"), str(tmp_path / "data")], check=True)
    (d / "k.pem").write_bytes(b"old key\n")
    argv = _writers(d, sample_key, sample_public, tmp_path / "sig")[name]
    original = (d / "app").read_bytes()
    seen = set()
    for step in range(1, 25):
        if "interrupted" in seen and step > 6:
            break
        delay = 0.02 + 0.025 * step
        shutil.copy2(big, d / "app")
        p = start(argv, d, None)
        time.sleep(delay)
        p.send_signal(sig)
        r = finish(p)
        if before_our_handlers(r.stderr):
            # SIGINT while the interpreter starts, before scone-sign's first
            # lines put its handlers in place (nothing of ours ran), or while
            # it shuts down after the work (no frame of ours either): the
            # checks below still hold.
            seen.add("outside our handlers")
        else:
            assert "Traceback" not in r.stderr, r.stderr
            if r.returncode == 0:
                seen.add("done")
            elif r.returncode == -sig:
                # Before Python installed the handlers, or after the command's
                # work, during interpreter shutdown: the signal's own action.
                seen.add("killed")
            else:
                interrupted(r, sig)
                seen.add("interrupted")
        assert temp_files(d) == []
        app = (d / "app").read_bytes()
        if app != original:       # complete: it verifies
            v = subprocess.run([*SCONE_SIGN, "verify", "app"], cwd=d, capture_output=True)
            assert v.returncode == 0, v.stderr
        key = (d / "k.pem").read_bytes()
        assert key == b"old key\n" or key.startswith(b"-----BEGIN RSA PRIVATE KEY-----")
    assert "interrupted" in seen
