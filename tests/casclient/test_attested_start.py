"""The enclave side of scone-cas (DESIGN.md §9, PROTOCOL.md §1-4), in SIM
against a real `scone-cas serve`: an attested start gets its arguments,
environment, an injected file and a generated secret, none of which the host
sees; and each thing a policy or the pin forbids is refused with its reason.

Expected values come from the policy file and from the CAS's Python
reference client (`scone-cas sim-attest`), never from the runtime's client.
"""

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from .conftest import HERE, Cas, cas_cli

APP = (HERE / "app.c").read_text()
FS = "--scone-fs=/run/secrets:ephemeral"
REFUSED = 3                        # SCONE_CAS_EXIT_REFUSED (runtime/shield/cas/cas.h)
FAILED = 2                         # SCONE_CAS_EXIT_FAILED


def mrenclave(binary: Path) -> str:
    out = subprocess.run(["scone-sign", "show", "--json", str(binary)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["mrenclave"]


def policy(name: str, mr: str, *, allow_debug=True, allow_sim=True, file="/run/secrets/key.txt") -> str:
    return f"""
name: {name}
secrets:
  - {{name: pw, kind: password, size: 24}}
services:
  - name: app
    mrenclaves: ["{mr}"]
    allow_debug: {str(allow_debug).lower()}
    allow_sim: {str(allow_sim).lower()}
    args: ["app", "--password", "$$SCONE::pw$$", "plainarg-XYZZY"]
    env: {{APP_SECRET: "envsecret-QUUX"}}
    files: [{{path: {file}, content: "filesecret-FROB", mode: 0600}}]
"""


def create(cas: Cas, tmp_path: Path, text: str):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    out = cas.cli("create", "-f", str(f))
    assert out.returncode == 0, out.stderr


def start_env(cas_env, cas, config_id):
    return dict(cas_env, SCONE_CONFIG_ID=config_id, SCONE_CAS_ADDR=cas.address)


def decoded(stdout: str) -> dict:
    out = {}
    for line in stdout.splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = bytes.fromhex(v).decode()
    return out


@pytest.fixture(scope="module")
def app(build, cas):
    return build("app", APP, FS, f"--scone-cas-key={cas.pin}")


def test_signed_parameter_shown(app, cas):
    out = subprocess.run(["scone-sign", "show", "--json", str(app)], capture_output=True, text=True)
    assert json.loads(out.stdout)["cas_key_sha256"] == cas.pin


def test_attested_start_installs_inside_only(app, cas, cas_env, tmp_path):
    create(cas, tmp_path, policy("good", mrenclave(app)))
    # What the CAS gives this enclave, from its Python reference client.
    ref = cas_cli(cas_env, "sim-attest", "--cas", cas.address, "--cas-key", cas.pin, "--binary", str(app),
                  "good/app")
    assert ref.returncode == 0, ref.stderr
    password = json.loads(ref.stdout)["args"][2]
    assert len(password) == 24
    secrets = [password, "plainarg-XYZZY", "envsecret-QUUX", "filesecret-FROB"]

    env = start_env(cas_env, cas, "good/app")
    p = subprocess.Popen([str(app)], env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    lines = []
    while (line := p.stdout.readline()) and line != "ready\n":
        lines.append(line)
    assert line == "ready\n", p.stderr.read()
    environ = Path(f"/proc/{p.pid}/environ").read_bytes()
    cmdline = Path(f"/proc/{p.pid}/cmdline").read_bytes()
    p.stdin.close()
    assert p.wait(timeout=60) == 0, p.stderr.read()
    got = decoded("".join(lines))
    assert got == {"arg0": "app", "arg1": "--password", "arg2": password, "arg3": "plainarg-XYZZY",
                   "env": "envsecret-QUUX", "early": "envsecret-QUUX", "file": "filesecret-FROB"}
    for s in secrets:
        assert s.encode() not in environ and s.encode() not in cmdline
    assert b"SCONE_CONFIG_ID=good/app" in environ      # the only inputs the host gave

    r = subprocess.run([str(app)], env=dict(env, SCONE_LOG="debug"), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and "scone-cas: configured by the CAS" in r.stderr
    for s in secrets:
        assert s not in r.stderr, f"{s!r} is in the runtime's log"

    if not shutil.which("strace"):
        pytest.skip("strace is not installed")
    trace = tmp_path / "trace"
    r = subprocess.run(["strace", "-f", "-v", "-s", "4096", "-e", "trace=all", "-o", str(trace), str(app)],
                       env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert decoded(r.stdout.replace("ready\n", ""))["arg2"] == password
    text = trace.read_text(errors="replace")
    port = cas.address.rsplit(":", 1)[1]
    assert f"sin_port=htons({port})" in text            # it talked to the CAS from this process
    assert "SCONE_CONFIG_ID=good/app" in text            # and the trace holds the host's view
    for s in secrets:
        assert s not in text, f"{s!r} is visible in the host's view of the process"


def refusal(app, cas, cas_env, config_id):
    r = subprocess.run([str(app)], env=start_env(cas_env, cas, config_id), stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=120)
    lines = r.stderr.strip().splitlines()
    return r.returncode, lines[-1] if lines else "", r.stdout


def test_one_byte_changed_is_refused(build, app, cas, cas_env, tmp_path):
    create(cas, tmp_path, policy("onebyte", mrenclave(app)))
    other = build("app-changed", APP.replace("arg%d", "arg%i"), FS, f"--scone-cas-key={cas.pin}")
    mr = mrenclave(other)
    assert mr != mrenclave(app)
    rc, line, out = refusal(other, cas, cas_env, "onebyte/app")
    assert rc == REFUSED and out == ""
    assert line == f"scone-cas refused: MRENCLAVE {mr[:16]}\u2026 is not allowed by session onebyte/service app"
    assert f"MRENCLAVE {mr[:16]}\u2026 is not allowed by session onebyte/service app" in cas.logtext()


def test_debug_enclave_under_production_policy(app, cas, cas_env, tmp_path):
    create(cas, tmp_path, policy("prodonly", mrenclave(app), allow_debug=False))
    rc, line, out = refusal(app, cas, cas_env, "prodonly/app")
    assert rc == REFUSED and out == ""
    assert line.startswith("scone-cas refused: ") and "debug" in line.lower()
    assert line[len("scone-cas refused: "):] in cas.logtext()


def test_sim_evidence_not_allowed(app, cas, cas_env, tmp_path):
    create(cas, tmp_path, policy("nosim", mrenclave(app), allow_sim=False))
    rc, line, out = refusal(app, cas, cas_env, "nosim/app")
    assert rc == REFUSED and out == ""
    assert line.startswith("scone-cas refused: ") and "SIM" in line
    assert line[len("scone-cas refused: "):] in cas.logtext()


def test_wrong_cas_key_is_refused_before_sending(app, cas, cas_env, tmp_path):
    (tmp_path / "impostor").mkdir()
    impostor = Cas(tmp_path / "impostor", cas_env)
    try:
        rc, line, out = refusal(app, impostor, cas_env, "good/app")
        assert rc == REFUSED and out == ""
        assert line == (f"scone-cas refused: the CAS at {impostor.address} presents key {impostor.pin[:16]}\u2026, "
                        f"not the pinned {cas.pin[:16]}\u2026; not talking to it")
        assert "attest" not in impostor.logtext()          # no request reached it
    finally:
        impostor.stop()


def test_file_outside_protected_regions_is_refused(app, cas, cas_env, tmp_path):
    create(cas, tmp_path, policy("leaky", mrenclave(app), file=str(tmp_path / "leak.txt")))
    rc, line, out = refusal(app, cas, cas_env, "leaky/app")
    assert rc == REFUSED and out == ""
    assert line.startswith(f"scone-cas refused: the policy injects {tmp_path / 'leak.txt'}, which is outside")
    assert not (tmp_path / "leak.txt").exists()


def test_without_config_id_it_does_not_start(app, cas_env):
    r = subprocess.run([str(app)], env=cas_env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == FAILED and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith(
        "scone-cas: this enclave takes its arguments, environment and secrets only from its CAS")


def test_sim_key_made_on_first_use_and_trusted_by_scone_cas(app, cas, cas_env, tmp_path):
    create(cas, tmp_path, policy("firstuse", mrenclave(app)))
    fresh = tmp_path / "fresh-config"
    env = dict(start_env(cas_env, cas, "firstuse/app"), XDG_CONFIG_HOME=str(fresh))
    r = subprocess.run([str(app)], env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120)
    key = fresh / "scone" / "sim-attestation-key.pem"
    assert key.exists() and (key.stat().st_mode & 0o777) == 0o600
    assert r.returncode == REFUSED, r.stderr
    assert "which this CAS does not trust" in r.stderr.strip().splitlines()[-1]
    # The file is the one scone-cas uses: trusting its public half lets the start through.
    pub = cas_cli(dict(cas_env, XDG_CONFIG_HOME=str(fresh)), "sim-key")
    assert pub.returncode == 0 and key.read_text() != pub.stdout
    (tmp_path / "pub.pem").write_text(pub.stdout)
    out = cas_cli(cas_env, "trust-sim-key", "--state", str(cas.state), str(tmp_path / "pub.pem"))
    assert out.returncode == 0, out.stderr
    r = subprocess.run([str(app)], env=env, input="", capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert decoded(r.stdout.replace("ready\n", ""))["file"] == "filesecret-FROB"


def test_no_cas_there(app, cas_env):
    r = subprocess.run([str(app)], env=dict(cas_env, SCONE_CONFIG_ID="good/app", SCONE_CAS_ADDR="127.0.0.1:1"),
                       stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=60)
    assert r.returncode == FAILED and r.stdout == ""
    assert r.stderr.strip().splitlines()[-1].startswith("scone-cas: cannot connect to the CAS at 127.0.0.1:1 (")


def test_hw_evidence_is_chosen_when_the_host_says_hw(app, cas, cas_env, tmp_path, hostile):
    """The dispatch: a starter that does not claim SIM gets asked for a DCAP
    quote, not SIM evidence; on this machine (no Intel DCAP library) the
    start ends with the starter's one line, and nothing is sent to the CAS."""
    create(cas, tmp_path, policy("hwdispatch", mrenclave(app)))
    env = dict(start_env(cas_env, cas, "hwdispatch/app"), SCONE_HOSTILE="start.flags=v^1",
               SCONE_HOSTILE_EXE=str(app), LD_LIBRARY_PATH=str(tmp_path))
    r = subprocess.run([str(hostile), "x"], env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode == FAILED, r.stderr
    assert r.stderr.splitlines()[-1] == (
        "scone-cas: DCAP quote library not installed: libsgx_dcap_ql.so.1: cannot open shared object file: "
        "No such file or directory; install Intel's libsgx-dcap-ql (and configure its PCCS) to attest on SGX "
        "hardware")
    assert "hwdispatch/app" not in cas.logtext()     # no attestation reached the CAS
    # The same binary under the honest starter: SIM evidence, accepted.
    ok = subprocess.run([str(app)], env=start_env(cas_env, cas, "hwdispatch/app"), capture_output=True,
                        text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert any("accepted SIM evidence" in ln and "hwdispatch/app" in ln for ln in cas.logtext().splitlines())
