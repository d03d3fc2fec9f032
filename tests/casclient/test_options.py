"""--scone-cas-key / --cas-key: a signed parameter in the measured config
page (DESIGN.md §4, §9). Hashes here are written by hand, and the config
page is read back through its field table (enclave_abi.h)."""

import json
import subprocess

import pytest

from scone_cc.driver.settings import link_settings
from scone_cc.errors import SconeError

PIN = "ab" * 32
OTHER = "cd" * 32


def test_the_option_implies_crypto_and_sets_the_parameter():
    s = link_settings([("--scone-cas-key", PIN.upper())], {})
    assert s.crypto is True
    assert s.params.cas_key == bytes([0xAB] * 32)
    assert link_settings([], {}).params.cas_key == b""


@pytest.mark.parametrize("bad", ["ab" * 31, "zz" * 32, "", PIN + "0"])
def test_a_malformed_hash_is_refused(bad):
    with pytest.raises(SconeError, match=r"--scone-cas-key=.*64 hex digits"):
        link_settings([("--scone-cas-key", bad)], {})


def show(binary):
    out = subprocess.run(["scone-sign", "show", "--json", str(binary)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_resigning_pins_another_cas_and_changes_mrenclave(build, tmp_path, cas_env):
    app = build("pinned", "int main(void) { return 0; }\n", f"--scone-cas-key={PIN}")
    before = show(app)
    assert before["cas_key_sha256"] == PIN
    r = subprocess.run(["scone-sign", "sign", "--cas-key", OTHER, str(app)], env=cas_env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    after = show(app)
    assert after["cas_key_sha256"] == OTHER and after["mrenclave"] != before["mrenclave"]
    text = subprocess.run(["scone-sign", "show", str(app)], capture_output=True, text=True).stdout
    assert f"CAS key    {OTHER}" in text


def test_plain_binary_never_contacts_a_cas(build, cas_env):
    app = build("plain", "int main(void) { return 0; }\n")
    assert show(app)["cas_key_sha256"] is None
    r = subprocess.run([str(app)], env=dict(cas_env, SCONE_CONFIG_ID="s/x", SCONE_CAS_ADDR="127.0.0.1:1"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr


def test_signed_with_a_cas_key_but_linked_without_the_client(build, cas_env):
    app = build("noclient", "int main(void) { return 0; }\n")
    r = subprocess.run(["scone-sign", "sign", "--cas-key", PIN, str(app)], env=cas_env,
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run([str(app)], env=dict(cas_env, SCONE_CONFIG_ID="s/x", SCONE_CAS_ADDR="127.0.0.1:1"),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert r.stderr.strip().splitlines()[-1] == (
        "scone: enclave aborted: scone: this enclave was signed with a CAS key but linked without the "
        "attestation client; relink it with scone-gcc --scone-cas-key=HASH")
