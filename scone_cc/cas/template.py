"""Starting policies from what identifies enclaves (``scone-cas session template``).

``from_enclaves`` writes one service per enclave from its identity (the
dicts of ``scone_cc.image.labels``: path, mrenclave, mrsigner, isvprodid,
isvsvn, debug, volumes). ``from_binary`` reads one from a signed scone
binary's SIGSTRUCT; ``from_image`` reads an image's labels, as
``scone-image build`` wrote them.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import Path

from scone_cc.errors import SconeError


def _name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "-", text).strip("-.")[:64] or "app"


def from_enclaves(name: str, enclaves: list[dict]) -> str:
    """A policy naming each enclave by MRENCLAVE (MRSIGNER alternative commented)."""
    if not enclaves:
        raise SconeError(f"{name}: no enclave to write a policy for")
    session = _name(name)
    services, volumes, seen = [], [], set()
    for e in enclaves:
        svc = _name(posixpath.basename(e.get("path") or session))
        while svc in seen:
            svc += "-2"
        seen.add(svc)
        lines = [f"  - name: {svc}",
                 "    # exactly this build:",
                 f'    mrenclaves: ["{e["mrenclave"]}"]',
                 "    # or any build by this signer with this product id and at least this SVN:",
                 f'    # signers: [{{mrsigner: "{e["mrsigner"]}", isvprodid: {e["isvprodid"]}, '
                 f'min_isvsvn: {e["isvsvn"]}}}]',
                 f"    allow_debug: {'true   # signed as a debug enclave' if e['debug'] else 'false'}",
                 "    allow_sim: false",
                 f'    args: ["{posixpath.basename(e.get("path") or svc)}"]',
                 "    env: {}"]
        mounts = []
        for path in e.get("volumes") or ():
            vol = _name(f"{svc}-{posixpath.basename(path.rstrip('/')) or 'root'}")
            volumes.append(f"  - {{name: {vol}}}            # key made by the CAS")
            mounts.append(f"{{name: {vol}, path: {path}}}")
        if mounts:
            lines.append(f"    volumes: [{', '.join(mounts)}]")
        services.append("\n".join(lines))
    out = ["# scone-cas session policy; `scone-cas session create -f THIS` (PROTOCOL.md §7 has every field)",
           f"name: {session}"]
    if volumes:
        out += ["volumes:", *volumes]
    out += ["services:", *services]
    return "\n".join(out) + "\n"


def from_binary(path, name: str | None = None) -> str:
    from scone_cc.sgx import sigstruct as sigs
    from scone_cc.sgx.signing import read
    from scone_cc.sgx.structs import ATTR_DEBUG, Sigstruct

    sb = read(path)
    if sb.sigstruct is None:
        raise SconeError(f"{path}: not signed; sign it first (`scone-sign sign {path}`)")
    sig = Sigstruct.unpack(sb.sigstruct)
    return from_enclaves(name or Path(path).name, [{
        "path": Path(path).name, "mrenclave": sig.enclavehash.hex(), "mrsigner": sigs.mrsigner(sb.sigstruct).hex(),
        "isvprodid": sig.isvprodid, "isvsvn": sig.isvsvn, "debug": bool(sig.attributes & ATTR_DEBUG)}])


def from_image(image: str, name: str | None = None) -> str:
    """From an image's ``scone.enclave.N.*`` labels (any reference scone-image reads)."""
    from scone_cc.image.labels import image_enclaves

    enclaves = image_enclaves(image)
    if not enclaves:
        raise SconeError(f"{image}: the image carries no scone.enclave labels; build it with `scone-image build`")
    default = re.split(r"[/:]", str(image).rstrip("/").split("/")[-1])[0] or "app"
    return from_enclaves(name or default, enclaves)
