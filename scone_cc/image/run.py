"""``scone-image run``: one container from an image, under runc, the way an engine would.

A convenience for users and tests: the image is unpacked into a temporary
OCI bundle (``umoci unpack``, which also writes the runtime config from the
image config), the config is adjusted, and ``runc run`` starts it in the
foreground. The same image runs under any engine (podman, Docker, crun)
unchanged; README.md gives their command lines.

Adjustments: ``/dev`` not ``noexec`` (HW maps the device executable), the
host's network namespace (a server's port is the host's,
on 127.0.0.1 as the program binds it), the SGX devices that exist on the
host passed in (``/dev/sgx_enclave``, ``/dev/sgx_provision``, and
``/dev/scone`` of the kernel module: what an engine's ``--device`` does;
none here, so the enclave runs in SIM),
extra environment (``SCONE_MODE``, ``SCONE_CAS_ADDR``, ``SCONE_CONFIG_ID``,
…), and the arguments after the entry point.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.image import oci

# The SGX driver's nodes, and scone.ko's (sthreads sleep in it when it is there).
SGX_DEVICES = ("/dev/sgx_enclave", "/dev/sgx_provision", "/dev/scone")


def sgx_devices() -> list[str]:
    """The SGX device nodes (and /dev/scone) present on this host."""
    return [d for d in SGX_DEVICES if os.path.exists(d)]


def _device(path: str) -> tuple[dict, dict]:
    try:
        st = os.stat(path)
    except OSError as err:
        raise SconeError(f"--device {path}: {err.strerror}; name a device node of this host") \
            from None
    if not stat.S_ISCHR(st.st_mode):
        raise SconeError(f"{path}: not a character device; pass the SGX driver's device nodes")
    major, minor = os.major(st.st_rdev), os.minor(st.st_rdev)
    node = {"path": path, "type": "c", "major": major, "minor": minor,
            "fileMode": stat.S_IMODE(st.st_mode), "uid": 0, "gid": 0}
    allow = {"allow": True, "type": "c", "major": major, "minor": minor, "access": "rwm"}
    return node, allow


def bundle_config(config: dict, image_config: dict, *, args=None, entrypoint=None, env=(),
                  devices=(), terminal: bool = False) -> dict:
    """The runtime config umoci wrote (``config``), adjusted for one run (see the module doc).

    ``entrypoint`` replaces the image's (and drops its command, as Docker's
    ``--entrypoint`` does); ``args`` replace the command.
    """
    config = json.loads(json.dumps(config))
    process = config["process"]
    process["terminal"] = terminal
    image_cfg = image_config.get("config") or {}
    if entrypoint is not None or args is not None:
        entry = [entrypoint] if entrypoint is not None else (image_cfg.get("Entrypoint") or [])
        cmd = args if args is not None else ([] if entrypoint is not None
                                             else image_cfg.get("Cmd") or [])
        process["args"] = [*entry, *cmd]
    if not process.get("args"):
        raise SconeError("the image has no entry point or command; give the program to run")
    merged = dict(e.split("=", 1) for e in process.get("env", []))
    merged.update(dict(env))
    process["env"] = [f"{k}={v}" for k, v in merged.items()]
    # The SGX driver maps enclave pages executable from /dev/sgx_enclave, which a
    # noexec /dev refuses (EPERM): /dev stays exec, as systemd and runtime-tools now leave it.
    for mount in config.get("mounts", []):
        if mount.get("destination") == "/dev":
            mount["options"] = [o for o in mount.get("options", []) if o != "noexec"]
    linux = config.setdefault("linux", {})
    linux["namespaces"] = [ns for ns in linux.get("namespaces", []) if ns["type"] != "network"]
    for path in devices:
        node, allow = _device(path)
        linux.setdefault("devices", []).append(node)
        linux.setdefault("resources", {}).setdefault("devices", []).append(allow)
    return config


def run(image, *, args=None, entrypoint=None, env=(), devices=None) -> int:
    """Run ``image`` under runc in the foreground; the container's exit status.

    ``devices`` defaults to the SGX devices present (``sgx_devices``).
    Signals this process gets (SIGINT, SIGTERM, SIGHUP) go to the container.
    Everything it made (bundle, runc state) is removed at the end.
    """
    if os.geteuid() != 0:
        raise SconeError("scone-image run starts runc as root (a rootful bundle); as a user, "
                         "run the image with podman (see README.md, Containers)")
    for name in ("umoci", "runc", "skopeo"):
        oci.tool(name)
    devices = sgx_devices() if devices is None else list(devices)
    scratch = Path(tempfile.mkdtemp(prefix="scone-image-run-"))
    name = f"scone-{secrets.token_hex(6)}"
    state = scratch / "runc"
    try:
        layout, tag = oci.as_layout(image, scratch)
        image_config = oci.inspect_config(f"oci:{layout}:{tag}")
        bundle = scratch / "bundle"
        oci.call(["umoci", "unpack", "--image", f"{layout}:{tag}", str(bundle)], what=str(image))
        cfg_path = bundle / "config.json"
        config = json.loads(cfg_path.read_text())
        tty = sys.stdin.isatty() and sys.stdout.isatty()
        cfg_path.write_text(json.dumps(bundle_config(config, image_config, args=args,
                                                     entrypoint=entrypoint, env=env,
                                                     devices=devices, terminal=tty)))
        return _foreground([oci.tool("runc"), "--root", str(state), "run", "--bundle",
                            str(bundle), name])
    finally:
        if state.exists():
            subprocess.run([oci.tool("runc"), "--root", str(state), "delete", "--force", name],
                           capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)


def _foreground(argv: list[str]) -> int:
    proc = subprocess.Popen(argv)
    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)

    def forward(signum, frame):
        proc.send_signal(signum)

    old = {s: signal.signal(s, forward) for s in forwarded}
    try:
        status = proc.wait()
    finally:
        for s, handler in old.items():
            signal.signal(s, handler)
    return 128 - status if status < 0 else status
