"""The attestation protocol end to end, through a real CAS over real TLS.

The enclave side is scone_cc.cas.client.attest driven with SIM evidence made
from real signed binaries (the C runtime's client does not exist yet).
Every refusal is checked on both sides: the client's one line and the
CAS's log.
"""

import base64
import hashlib
import json

import pytest

from scone_cc.cas import client as cc
from scone_cc.cas import sim
from scone_cc.cas.evidence import reportdata_for
from scone_cc.sgx import sigstruct as sigs
from scone_cc.sgx.signing import read


def mrenclave(path):
    return read(path).sigstruct[960:992].hex()     # SIGSTRUCT.ENCLAVEHASH, sgx-spec §6


def policy(app_mr, **svc):
    base = {"name": "s", "services": [dict({"name": "web", "mrenclaves": [app_mr], "allow_sim": True}, **svc)]}
    return base


def evidence_of(binary):
    return lambda rd: sim.evidence_for_binary(binary, rd)


@pytest.fixture
def admin(cas):
    a = cc.AdminClient(cas.address, cas.pin)
    yield a
    a.close()


def test_configuration_reaches_the_attested_enclave(cas, admin, apps):
    cas.trust_local_sim_key()
    doc = policy(mrenclave(apps["prod"]),
                 args=["web", "--pw", "$$SCONE::pw$$"],
                 env={"DB_KEY": "$$SCONE::dbkey$$", "PLAIN": "x"},
                 files=[{"path": "/etc/web/tls.key", "content": "$$SCONE::cert.key$$"},
                        {"path": "/etc/web/blob", "content_base64": base64.b64encode(b"\0\1\2").decode()}],
                 volumes=[{"name": "data", "path": "/data"}],
                 tls=[{"name": "web", "certificate": "$$SCONE::cert.crt$$", "private_key": "$$SCONE::cert.key$$",
                       "ca": "$$SCONE::SESSION_CA.crt$$"}])
    doc["secrets"] = [{"name": "pw", "kind": "password", "size": 24}, {"name": "dbkey", "kind": "random"},
                      {"name": "cert", "kind": "x509", "common_name": "web", "dns": ["web.local"]}]
    doc["volumes"] = [{"name": "data"}]
    admin.create(doc)
    config, _, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    pw = config["args"][2]
    assert config["args"][:2] == ["web", "--pw"] and len(pw) == 24 and pw.isalnum()
    assert len(bytes.fromhex(config["env"]["DB_KEY"])) == 32 and config["env"]["PLAIN"] == "x"
    files = {f["path"]: base64.b64decode(f["content_base64"]) for f in config["files"]}
    assert files["/etc/web/blob"] == b"\0\1\2"
    assert files["/etc/web/tls.key"].startswith(b"-----BEGIN PRIVATE KEY-----")
    # The issued certificate chains to the session CA and carries the key given with it.
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization as ser
    tls = config["tls"][0]
    crt, ca = x509.load_pem_x509_certificate(tls["certificate"].encode()), \
        x509.load_pem_x509_certificate(tls["ca"].encode())
    crt.verify_directly_issued_by(ca)
    key = ser.load_pem_private_key(tls["private_key"].encode(), None)
    assert key.public_key() == crt.public_key()
    assert files["/etc/web/tls.key"] == tls["private_key"].encode()
    assert crt.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(
        x509.DNSName) == ["web.local"]
    vol = config["volumes"][0]
    assert vol["name"] == "data" and vol["path"] == "/data" and len(vol["key"]) == 32 and vol["tag"] is None
    # Generated once and kept: a second attestation gets the same secrets.
    again, _, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    assert again["args"] == config["args"] and again["env"] == config["env"]
    assert again["volumes"][0]["key"] == vol["key"] and again["token"] != config["token"]
    assert "accepted SIM evidence" in cas.logtext()


def test_the_attested_key_gets_a_certificate_from_the_session_ca(cas, admin, apps):
    from cryptography import x509
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"])))
    config, key, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    crt = x509.load_pem_x509_certificate(config["identity"]["certificate"].encode())
    ca = x509.load_pem_x509_certificate(admin.show("s")["session_ca"].encode())
    assert config["identity"]["ca"] == admin.show("s")["session_ca"]
    crt.verify_directly_issued_by(ca)
    assert crt.public_key() == key.public_key()
    assert crt.subject.rfc4514_string() == "CN=web.s"


def _refusal(cas, binary, service="web", session="s"):
    with pytest.raises(cc.Refused) as err:
        cc.attest(cas.address, cas.pin, session, service, evidence_of(binary))
    return str(err.value)


def test_changed_binary_is_refused(cas, admin, apps):
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"])))
    line = _refusal(cas, apps["prod2"])
    mr2 = mrenclave(apps["prod2"])
    assert line == f"scone-cas refused: MRENCLAVE {mr2[:16]}… is not allowed by session s/service web"
    assert f"refused attestation for s/web: MRENCLAVE {mr2[:16]}" in cas.logtext()


def test_debug_enclave_under_production_policy_is_refused(cas, admin, apps):
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["debug"])))
    line = _refusal(cas, apps["debug"])
    assert line == ("scone-cas refused: debug enclave (ATTRIBUTES.DEBUG set) is not accepted by "
                    "session s/service web (allow_debug is false)")
    assert "refused attestation for s/web: debug enclave" in cas.logtext()


def test_sim_evidence_needs_a_policy_that_allows_it(cas, admin, apps):
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"]), allow_sim=False))
    line = _refusal(cas, apps["prod"])
    assert line == "scone-cas refused: SIM evidence is not accepted by session s/service web (allow_sim is false)"
    assert "refused attestation for s/web: SIM evidence is not accepted" in cas.logtext()


def test_untrusted_sim_key_is_refused(cas, admin, apps):
    admin.create(policy(mrenclave(apps["prod"])))
    line = _refusal(cas, apps["prod"])
    assert "which this CAS does not trust" in line and "trust-sim-key" in line


def test_replayed_attestation_is_refused(cas, admin, apps):
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"])))
    from scone_cc.cas.keyfiles import new_ec_key, spki_der
    key = new_ec_key()
    spki = spki_der(key.public_key())
    conn = cc.Connection(cas.address, cas.pin)
    nonce = conn.request("POST", "/v1/attest/nonce", {})["nonce"]
    body = {"session": "s", "service": "web", "nonce": nonce, "public_key": base64.b64encode(spki).decode(),
            "evidence": {"type": "sim", "data": base64.b64encode(
                sim.evidence_for_binary(apps["prod"], reportdata_for(spki, bytes.fromhex(nonce)))).decode()}}
    assert "envelope" in conn.request("POST", "/v1/attest", body)
    with pytest.raises(cc.Refused) as err:          # the very same request again
        conn.request("POST", "/v1/attest", body)
    assert "is unknown, already used or expired (a replayed attestation?)" in str(err.value)
    # Old evidence under a fresh nonce: REPORTDATA binds the old one.
    body["nonce"] = conn.request("POST", "/v1/attest/nonce", {})["nonce"]
    with pytest.raises(cc.Refused) as err:
        conn.request("POST", "/v1/attest", body)
    assert "REPORTDATA does not bind the presented public key and nonce" in str(err.value)
    # Evidence for another key presented with this nonce: refused the same way.
    other = spki_der(new_ec_key().public_key())
    body["nonce"] = conn.request("POST", "/v1/attest/nonce", {})["nonce"]
    body["public_key"] = base64.b64encode(other).decode()
    with pytest.raises(cc.Refused):
        conn.request("POST", "/v1/attest", body)
    conn.close()
    assert cas.logtext().count("refused attestation for s/web") == 3


def test_tampered_sim_evidence_is_refused(cas, admin, apps):
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"])))

    def forged(rd):
        ev = bytearray(sim.evidence_for_binary(apps["prod2"], rd))
        ev[12 + 64:12 + 96] = bytes.fromhex(mrenclave(apps["prod"]))  # claim the allowed MRENCLAVE
        return bytes(ev)
    with pytest.raises(cc.Refused) as err:
        cc.attest(cas.address, cas.pin, "s", "web", forged)
    assert "signature does not verify (tampered evidence)" in str(err.value)


def test_wrong_cas_key_is_refused_before_sending(cas, admin, apps):
    with pytest.raises(cc.Refused) as err:
        cc.attest(cas.address, "ab" * 32, "s", "web", evidence_of(apps["prod"]))
    assert str(err.value) == (f"scone-cas refused: the CAS at {cas.address} presents key {cas.pin[:16]}…, "
                              f"not the pinned {'ab' * 8}…; not talking to it")
    # The CAS saw a handshake and nothing else: no nonce was asked for.
    assert "nonce" not in cas.logtext() and "attestation" not in cas.logtext()


def test_unknown_session_and_service(cas, admin, apps):
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"])))
    assert _refusal(cas, apps["prod"], session="nope") == "scone-cas refused: there is no session nope"
    assert _refusal(cas, apps["prod"], service="db") == "scone-cas refused: session s has no service db"


def test_signer_policy_and_minimum_svn(cas, admin, apps):
    cas.trust_local_sim_key()
    ss = read(apps["prod2"]).sigstruct
    mrs = hashlib.sha256(ss[128:512]).hexdigest()      # MRSIGNER = SHA-256(MODULUS), sgx-spec §6
    admin.create({"name": "s", "services": [
        {"name": "web", "allow_sim": True, "signers": [{"mrsigner": mrs, "isvprodid": 0}]},
        {"name": "new", "allow_sim": True, "signers": [{"mrsigner": mrs, "isvprodid": 0, "min_isvsvn": 1}]}]})
    assert cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod2"]))[0]["service"] == "web"
    assert _refusal(cas, apps["prod2"], service="new") == \
        "scone-cas refused: ISVSVN 0 is below the minimum 1 of session s/service new"
    assert mrs == sigs.mrsigner(ss).hex()


def test_volume_tag_round_trip_detects_rollback(cas, admin, apps):
    cas.trust_local_sim_key()
    doc = policy(mrenclave(apps["prod"]), volumes=[{"name": "data", "path": "/data"}])
    doc["volumes"] = [{"name": "data"}]
    admin.create(doc)
    first, _, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    assert first["volumes"][0]["tag"] is None
    t1, t2 = "11" * 32, "22" * 32
    cc.commit_tag(cas.address, cas.pin, first["token"], "data", t1)
    cc.commit_tag(cas.address, cas.pin, first["token"], "data", t2, previous=t1)
    # Next start: the expected tag is the last committed one, so a volume the
    # host rolled back to t1 no longer matches.
    second, _, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    assert second["volumes"][0]["tag"] == t2 != t1
    with pytest.raises(cc.CasError) as err:            # a stale committer loses
        cc.commit_tag(cas.address, cas.pin, second["token"], "data", "33" * 32, previous=t1)
    assert err.value.status == 409 and "is not the stored tag" in err.value.reason
    forged = second["token"].rsplit("/", 1)[0] + "/" + "00" * 32
    for bad in (forged, "00" * 32, second["token"].replace("s/web", "s/db")):
        with pytest.raises(cc.Refused, match="token is not one this CAS issued"):
            cc.commit_tag(cas.address, cas.pin, bad, "data", t1)
    with pytest.raises(cc.Refused):
        cc.commit_tag(cas.address, cas.pin, second["token"], "other", t1)
    assert admin.show("s")["volume_tags"] == {"data": t2}


def test_envelope_is_only_for_the_attested_key(cas, admin, apps):
    """The configuration is encrypted to the key REPORTDATA binds: another key cannot open it."""
    from cryptography.exceptions import InvalidTag
    from scone_cc.cas.envelope import open_
    from scone_cc.cas.keyfiles import new_ec_key, spki_der
    cas.trust_local_sim_key()
    admin.create(policy(mrenclave(apps["prod"]), env={"K": "v"}))
    key = new_ec_key()
    spki = spki_der(key.public_key())
    conn = cc.Connection(cas.address, cas.pin)
    nonce = bytes.fromhex(conn.request("POST", "/v1/attest/nonce", {})["nonce"])
    ans = conn.request("POST", "/v1/attest", {
        "session": "s", "service": "web", "nonce": nonce.hex(), "public_key": base64.b64encode(spki).decode(),
        "evidence": {"type": "sim", "data": base64.b64encode(
            sim.evidence_for_binary(apps["prod"], reportdata_for(spki, nonce))).decode()}})
    assert b'"K": "v"' not in json.dumps(ans).encode()
    assert json.loads(open_(ans["envelope"], key, nonce))["env"] == {"K": "v"}
    with pytest.raises(InvalidTag):
        open_(ans["envelope"], new_ec_key(), nonce)


# --- DCAP evidence through the CAS (quotes assembled from Intel's field table) ---

def _dcap_policy(admin, **svc):
    admin.create({"name": "s", "services": [dict({"name": "web", "mrenclaves": ["11" * 32], "env": {"K": "v"}},
                                                 **svc)]})


def _quote_maker(pki, **kw):
    from .quotes import assemble_quote
    return lambda rd: assemble_quote(rd, pki=pki, **kw)[0]


def test_dcap_quote_accepted_with_the_configured_root(cas, tmp_path):
    from cryptography.hazmat.primitives import serialization as ser
    from .quotes import make_pki
    pki = make_pki()
    (tmp_path / "root.pem").write_bytes(pki[1].public_bytes(ser.Encoding.PEM))
    cas.stop()
    cas.start("--dcap-root", str(tmp_path / "root.pem"))
    admin = cc.AdminClient(cas.address, cas.pin)
    _dcap_policy(admin)
    config, _, _ = cc.attest(cas.address, cas.pin, "s", "web", _quote_maker(pki), kind="dcap")
    assert config["env"] == {"K": "v"}
    assert "accepted DCAP quote for s/web" in cas.logtext() and "collateral" in cas.logtext()
    # A chain from another root, a debug enclave, another MRENCLAVE: refused.
    with pytest.raises(cc.Refused, match="not at the trusted Intel SGX Root CA"):
        cc.attest(cas.address, cas.pin, "s", "web", _quote_maker(make_pki()), kind="dcap")
    with pytest.raises(cc.Refused, match="debug enclave"):
        cc.attest(cas.address, cas.pin, "s", "web", _quote_maker(pki, attributes=0x7), kind="dcap")
    with pytest.raises(cc.Refused, match="MRENCLAVE 2222222222222222… is not allowed by session s/service web"):
        cc.attest(cas.address, cas.pin, "s", "web", _quote_maker(pki, mrenclave=b"\x22" * 32), kind="dcap")
    admin.close()


def test_dcap_refused_without_a_root(cas):
    from .quotes import make_pki
    admin = cc.AdminClient(cas.address, cas.pin)
    _dcap_policy(admin)
    with pytest.raises(cc.Refused) as err:
        cc.attest(cas.address, cas.pin, "s", "web", _quote_maker(make_pki()), kind="dcap")
    assert str(err.value) == ("scone-cas refused: DCAP evidence cannot be checked: this CAS was started without "
                              "the Intel SGX Root CA (scone-cas serve --dcap-root PEM)")
    admin.close()


def test_bad_dcap_root_is_one_error(tmp_path, config_home):
    import os
    import subprocess
    import sys
    (tmp_path / "root.pem").write_text("not a certificate\n")
    r = subprocess.run([sys.executable, "-m", "scone_cc.cas", "serve", "--state", str(tmp_path / "st"),
                        "--listen", "127.0.0.1:0", "--dcap-root", str(tmp_path / "root.pem")],
                       env=dict(os.environ), capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert r.stderr == (f"scone-cas: error: --dcap-root {tmp_path / 'root.pem'}: not a self-signed PEM "
                        "certificate; give the Intel SGX Root CA "
                        "(Intel_SGX_Provisioning_Certification_RootCA.pem)\n")


def test_database_is_owner_only(cas):
    import os
    import stat
    assert stat.S_IMODE(os.stat(cas.state / "cas.db").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(cas.state).st_mode) == 0o700


def test_secrets_survive_updates_unless_their_definition_changes(cas, admin, apps):
    cas.trust_local_sim_key()
    env = {"PW": "$$SCONE::pw$$", "K": "$$SCONE::k.pub$$", "KEY": "$$SCONE::k$$", "R": "$$SCONE::r.b64$$",
           "RH": "$$SCONE::r$$"}
    doc = policy(mrenclave(apps["prod"]), env=env)
    doc["secrets"] = [{"name": "pw", "kind": "password"}, {"name": "k", "kind": "ec-key"},
                      {"name": "r", "kind": "random", "size": 16}]
    h = admin.create(doc)["hash"]
    env1 = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))[0]["env"]
    assert base64.b64decode(env1["R"]).hex() == env1["RH"] and len(env1["RH"]) == 32
    from cryptography.hazmat.primitives import serialization as ser
    assert ser.load_pem_private_key(env1["KEY"].encode(), None).public_key() == \
        ser.load_pem_public_key(env1["K"].encode())
    doc["services"][0]["args"] = ["changed"]
    h = admin.update(doc, h)["hash"]
    env2 = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))[0]["env"]
    assert env2 == env1
    doc["secrets"][0]["size"] = 30                      # a new definition: a new value
    admin.update(doc, h)
    env3 = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))[0]["env"]
    assert len(env3["PW"]) == 30 and env3["K"] == env1["K"] and env3["R"] == env1["R"]


def test_volume_token_outlives_a_cas_restart(cas, admin, apps):
    import os
    import stat
    cas.trust_local_sim_key()
    doc = policy(mrenclave(apps["prod"]), volumes=[{"name": "data", "path": "/data"}])
    doc["volumes"] = [{"name": "data"}]
    admin.create(doc)
    cfg, _, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    admin.close()
    cas.stop()
    cas.start()
    cc.commit_tag(cas.address, cas.pin, cfg["token"], "data", "44" * 32)
    again, _, _ = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))
    assert again["volumes"][0]["tag"] == "44" * 32
    assert stat.S_IMODE(os.stat(cas.state / "token-key").st_mode) == 0o600


def test_expected_tag_from_the_policy_and_an_owner_reset(cas, admin, apps):
    cas.trust_local_sim_key()
    t0, t1, t2 = "a0" * 32, "a1" * 32, "a2" * 32
    doc = policy(mrenclave(apps["prod"]), volumes=[{"name": "data", "path": "/data"}])
    doc["volumes"] = [{"name": "data", "tag": t0}]
    h = admin.create(doc)["hash"]
    cfg = cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))[0]
    assert cfg["volumes"][0]["tag"] == t0
    cc.commit_tag(cas.address, cas.pin, cfg["token"], "data", t1, previous=t0)
    doc["services"][0]["args"] = ["x"]                 # an update that leaves the tag alone
    h = admin.update(doc, h)["hash"]
    assert cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))[0]["volumes"][0]["tag"] == t1
    doc["volumes"][0]["tag"] = t2                      # the owner restores a backup
    h = admin.update(doc, h)["hash"]
    assert cc.attest(cas.address, cas.pin, "s", "web", evidence_of(apps["prod"]))[0]["volumes"][0]["tag"] == t2
    doc["volumes"], doc["services"][0]["volumes"] = [], []
    admin.update(doc, h)
    assert admin.show("s")["volume_tags"] == {}


def test_concurrent_attestations_during_updates(cas, admin, apps):
    """16 clients attest at once while the owner updates: every one gets a whole version."""
    import threading
    cas.trust_local_sim_key()
    doc = policy(mrenclave(apps["prod"]), args=["v1"], env={"V": "v1"})
    h = admin.create(doc)["hash"]
    sigstruct = read(apps["prod"]).sigstruct
    key = sim.sim_key()
    results, errors = [], []

    def one():
        try:
            for _ in range(3):
                cfg = cc.attest(cas.address, cas.pin, "s", "web",
                                lambda rd: sim.make_evidence(sim.report_for_sigstruct(sigstruct, rd), key))[0]
                results.append((cfg["version"], cfg["args"][0], cfg["env"]["V"]))
        except Exception as err:                       # noqa: BLE001 - collected and asserted below
            errors.append(err)
    threads = [threading.Thread(target=one) for _ in range(16)]
    for t in threads:
        t.start()
    for v in (2, 3):
        doc["services"][0]["args"], doc["services"][0]["env"] = [f"v{v}"], {"V": f"v{v}"}
        h = admin.update(doc, h)["hash"]
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 48
    assert all(a == e == f"v{ver}" for ver, a, e in results)   # never half of one version
