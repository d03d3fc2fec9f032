"""scone-image k8s: manifests checked against the Kubernetes API's JSON schemas.

The schemas are those the PyPI package kubernetes-validate ships (generated
from each release's OpenAPI document), in their strict form: an unknown
field is an error, as ``kubectl apply --validate=strict`` makes it. No
cluster runs here, so nothing is applied.
"""

import json

import pytest
import yaml

from .conftest import run

kv = pytest.importorskip("kubernetes_validate.utils",
                         reason="kubernetes-validate missing: pip install -e '.[test]'")
VERSIONS = ("1.25.0", kv.latest_version())


def manifests(source, env, *args):
    out = run(["scone-image", "k8s", source, *args], env=env)
    assert out.returncode == 0, out.stderr
    docs = list(yaml.safe_load_all(out.stdout))
    for doc in docs:
        for version in VERSIONS:
            kv.validate(doc, version, strict=True)
    return docs


def pages_mib(binary, env) -> str:
    """The EPC scone-sign's layout adds for ``binary``, in whole MiB."""
    show = json.loads(run(["scone-sign", "show", "--json", binary], env=env).stdout)
    pages = sum(r["pages"] for r in show["layout"]["runs"])
    return f"{-(-pages * 4096 // (1 << 20))}Mi"


@pytest.fixture(scope="module")
def hello_image(hello, image_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("k8s") / "hello.tar"
    r = run(["scone-image", "build", hello / "hello.toml", "-o", out], env=image_env)
    assert r.returncode == 0, r.stderr
    return out


def test_job_from_an_image(hello, hello_image, image_env):
    (job,) = manifests(hello_image, image_env, "--image-ref", "registry.example/hello:1")
    assert job["kind"] == "Job"
    pod = job["spec"]["template"]
    (c,) = pod["spec"]["containers"]
    assert c["image"] == "registry.example/hello:1"
    assert c["env"] == [{"name": "SCONE_MODE", "value": "HW"}]
    want = {"sgx.intel.com/enclave": "1", "sgx.intel.com/epc": pages_mib(hello / "hello", image_env)}
    assert c["resources"] == {"limits": want, "requests": want}
    hashed = run([hello / "hello"], env=dict(image_env, SCONE_HASH="1")).stdout.split()[-1]
    assert pod["metadata"]["annotations"]["scone.enclave.0.mrenclave"] == hashed


def test_deployment_service_and_attestation_from_a_recipe(hello, image_env, tmp_path):
    recipe = tmp_path / "web.toml"
    recipe.write_text(f'name = "web"\n[[enclave]]\nsource = "{hello / "hello"}"\n'
                      '[config]\nports = [8080, "5353/udp"]\n'
                      '[cas]\naddress = "cas.example:8081"\nconfig_id = "web/server"\n')
    deploy, service = manifests(recipe, image_env, "--namespace", "enclaves")
    assert (deploy["kind"], service["kind"]) == ("Deployment", "Service")
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    assert {e["name"]: e["value"] for e in c["env"]} == {
        "SCONE_MODE": "HW", "SCONE_CAS_ADDR": "cas.example:8081", "SCONE_CONFIG_ID": "web/server"}
    assert c["resources"]["limits"]["sgx.intel.com/provision"] == "1"
    assert c["ports"] == [{"containerPort": 8080, "protocol": "TCP"},
                          {"containerPort": 5353, "protocol": "UDP"}]
    assert service["spec"]["selector"] == deploy["spec"]["selector"]["matchLabels"]
    assert [p["port"] for p in service["spec"]["ports"]] == [8080, 5353]
    assert deploy["metadata"]["namespace"] == service["metadata"]["namespace"] == "enclaves"

    # SIM asks for no SGX resource; a CAS given on the command line wins.
    deploy, _ = manifests(recipe, image_env, "--mode", "SIM", "--cas", "other:1")
    (c,) = deploy["spec"]["template"]["spec"]["containers"]
    assert "resources" not in c
    assert {e["name"]: e["value"] for e in c["env"]}["SCONE_CAS_ADDR"] == "other:1"


def test_the_schema_check_is_real():
    """The validator refuses what a cluster would: a misspelt field, a missing selector."""
    with pytest.raises(Exception, match="prots"):
        kv.validate({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "x"},
                     "spec": {"prots": []}}, VERSIONS[-1], strict=True)
    with pytest.raises(Exception, match="selector"):
        kv.validate({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "x"},
                     "spec": {"template": {}}}, VERSIONS[-1], strict=True)


def test_bad_name(hello_image, image_env):
    out = run(["scone-image", "k8s", hello_image, "--name", "Not_A_Name"], env=image_env)
    assert out.returncode == 2
    assert out.stderr.startswith("scone-image: error: name 'Not_A_Name' is not a Kubernetes name")
