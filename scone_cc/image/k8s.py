"""``scone-image k8s``: Kubernetes manifests that run an image on SGX nodes.

A Deployment (a server: the image exposes ports) or a Job (a program that
ends), plus a Service for the ports. The container asks Intel's SGX device
plugin for its resources (intel/intel-device-plugins-for-kubernetes):

* ``sgx.intel.com/enclave: 1`` — the plugin mounts ``/dev/sgx_enclave``;
* ``sgx.intel.com/epc`` — the EPC the enclave takes: every page the loader
  adds (image, heap, stacks, TLS, SSA frames, TCS; label
  ``scone.enclave.N.epc``), rounded up to MiB. Not SECS.SIZE, the
  power-of-two address range, whose padding and guard pages are never added;
* ``sgx.intel.com/provision: 1`` — ``/dev/sgx_provision``, only when the
  enclave attests to a CAS (a CAS address is known).

With ``mode`` SIM nothing SGX is asked for: the pod runs on any node, in
simulation. The pod template carries the enclaves' labels as annotations
(MRENCLAVE is 64 characters, more than a label value may hold).
"""

from __future__ import annotations

import re

from scone_cc.errors import SconeError

RESOURCE_ENCLAVE = "sgx.intel.com/enclave"
RESOURCE_EPC = "sgx.intel.com/epc"
RESOURCE_PROVISION = "sgx.intel.com/provision"
_DNS_LABEL = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


def epc_quantity(enclaves: list[dict], entrypoint: list[str]) -> str:
    """The EPC to ask for, in Mi: the entry point's enclave, or all of them if it is none."""
    chosen = [e for e in enclaves if entrypoint and e["path"] == entrypoint[0]] or enclaves
    total = sum(e["epc_size"] for e in chosen)
    return f"{-(-total // (1 << 20))}Mi"


def _port_list(ports: list[str]) -> list[tuple[int, str]]:
    out = []
    for p in ports:
        number, _, proto = p.partition("/")
        out.append((int(number), (proto or "tcp").upper()))
    return out


def manifests(*, name: str, image_ref: str, enclaves: list[dict], entrypoint: list[str],
              ports: list[str], env: list[tuple[str, str]], kind: str | None = None,
              mode: str = "HW", namespace: str | None = None) -> list[dict]:
    """The objects to apply, as dicts: a Deployment or Job, and a Service if there are ports.

    ``env`` is the container's extra environment (SCONE_CAS_ADDR and
    SCONE_CONFIG_ID among it turn attestation on); ``mode`` is its SCONE_MODE.
    """
    if not _DNS_LABEL.fullmatch(name) or len(name) > 63:
        raise SconeError(f"name {name!r} is not a Kubernetes name (lower-case letters, digits "
                         "and -, at most 63); pass --name")
    kind = kind or ("deployment" if ports else "job")
    if kind not in ("deployment", "job"):
        raise SconeError(f"--kind {kind}: expected deployment or job")
    env = [(k, v) for k, v in env if k != "SCONE_MODE"]
    attest = any(k == "SCONE_CAS_ADDR" and v for k, v in env)
    container: dict = {
        "name": name,
        "image": image_ref,
        # An image without an enclave (the CAS) has no SCONE_MODE and asks for no SGX resource.
        "env": [{"name": "SCONE_MODE", "value": mode}] * bool(enclaves)
        + [{"name": k, "value": v} for k, v in env],
    }
    port_list = _port_list(ports)
    if port_list:
        container["ports"] = [{"containerPort": n, "protocol": proto}
                              for n, proto in port_list]
    if mode != "SIM" and enclaves:
        limits = {RESOURCE_ENCLAVE: "1", RESOURCE_EPC: epc_quantity(enclaves, entrypoint)}
        if attest:
            limits[RESOURCE_PROVISION] = "1"
        container["resources"] = {"limits": limits, "requests": dict(limits)}
    selector = {"app.kubernetes.io/name": name}
    meta = {"name": name, "labels": dict(selector)}
    if namespace:
        meta["namespace"] = namespace
    from scone_cc.image.labels import to_labels

    pod = {"metadata": {"labels": dict(selector), "annotations": to_labels(enclaves)},
           "spec": {"containers": [container]}}
    if kind == "job":
        pod["spec"]["restartPolicy"] = "Never"
        workload = {"apiVersion": "batch/v1", "kind": "Job", "metadata": meta,
                    "spec": {"backoffLimit": 0, "template": pod}}
    else:
        workload = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": meta,
                    "spec": {"replicas": 1, "selector": {"matchLabels": dict(selector)},
                             "template": pod}}
    out = [workload]
    if port_list and kind == "deployment":
        out.append({"apiVersion": "v1", "kind": "Service", "metadata": dict(meta),
                    "spec": {"selector": dict(selector),
                             "ports": [{"name": f"{proto.lower()}-{n}", "port": n,
                                        "targetPort": n, "protocol": proto}
                                       for n, proto in port_list]}})
    return out


def from_image(image) -> dict:
    """The ``manifests`` arguments an image gives (its labels and configuration)."""
    from scone_cc.image import labels, oci

    config = oci.inspect_config(image)
    cfg = config.get("config") or {}
    image_labels = cfg.get("Labels") or {}
    name = image_labels.get("org.opencontainers.image.title", "app")
    tag = image_labels.get("org.opencontainers.image.version", "latest")
    env = [tuple(e.split("=", 1)) for e in cfg.get("Env") or [] if "=" in e]
    return {"name": name, "image_ref": f"{name}:{tag}",
            "enclaves": labels.from_labels(image_labels, str(image)),
            "entrypoint": list(cfg.get("Entrypoint") or []),
            "ports": sorted(cfg.get("ExposedPorts") or {}),
            "env": [(k, v) for k, v in env if k.startswith("SCONE_CAS") or k == "SCONE_CONFIG_ID"]}


def from_recipe(recipe) -> dict:
    """The ``manifests`` arguments a recipe gives (its binaries are read, nothing is built)."""
    from scone_cc.image import labels

    env = [(k, v) for k, v in recipe.environment() if k in ("SCONE_CAS_ADDR", "SCONE_CONFIG_ID")]
    return {"name": recipe.name, "image_ref": recipe.reference,
            "enclaves": labels.recipe_enclaves(recipe), "entrypoint": list(recipe.entrypoint),
            "ports": list(recipe.ports), "env": env}


def to_yaml(objects: list[dict]) -> str:
    """The objects as one multi-document YAML stream, keys in the order written."""
    import yaml

    return yaml.safe_dump_all(objects, sort_keys=False, default_flow_style=False)
