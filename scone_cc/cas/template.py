"""Starting policies from what identifies an enclave (``session template``).

``from_identity`` takes the measured values; ``from_binary`` reads them from
a signed scone binary's SIGSTRUCT. An OCI image's labels (MRENCLAVE,
MRSIGNER) will be a third source feeding ``from_identity``.
"""

from __future__ import annotations

import re
from pathlib import Path

from scone_cc.errors import SconeError


def from_identity(name: str, mrenclave: bytes, mrsigner: bytes, isvprodid: int, isvsvn: int,
                  debug: bool) -> str:
    service = re.sub(r"[^A-Za-z0-9_.-]", "-", name)[:64] or "app"
    return f"""\
# scone-cas session policy; `scone-cas session create -f THIS` (PROTOCOL.md describes every field)
name: {service}
services:
  - name: {service}
    # exactly this build:
    mrenclaves: ["{mrenclave.hex()}"]
    # or any build by this signer with this product id and at least this SVN:
    # signers: [{{mrsigner: "{mrsigner.hex()}", isvprodid: {isvprodid}, min_isvsvn: {isvsvn}}}]
    allow_debug: {'true' if debug else 'false'}{'   # the binary is signed as a debug enclave' if debug else ''}
    allow_sim: false
    args: ["{service}"]
    env: {{}}
"""


def from_binary(path, name: str | None = None) -> str:
    from scone_cc.sgx import sigstruct as sigs
    from scone_cc.sgx.signing import read
    from scone_cc.sgx.structs import ATTR_DEBUG, Sigstruct

    sb = read(path)
    if sb.sigstruct is None:
        raise SconeError(f"{path}: not signed; sign it first (`scone-sign sign {path}`)")
    sig = Sigstruct.unpack(sb.sigstruct)
    return from_identity(name or Path(path).name, sig.enclavehash, sigs.mrsigner(sb.sigstruct),
                         sig.isvprodid, sig.isvsvn, bool(sig.attributes & ATTR_DEBUG))
