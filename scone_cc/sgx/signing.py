"""Sign, check and compare scone binaries: the flows behind ``scone-sign``.

Each function reads a binary (scone_cc.enclave.binfmt), recomputes the
layout from its image and signed parameters (scone_cc.enclave.layout),
measures it (docs/sgx-spec.md §1) and builds or checks the SIGSTRUCT (§6).
Nothing here prints; files are written atomically by binfmt.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
from dataclasses import dataclass
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.sgx import measure, sigstruct as sigs
from scone_cc.sgx.pages import EnclaveParams, Layout
from scone_cc.sgx.structs import ATTR_DEBUG, ATTR_MODE64BIT, Sigstruct


@dataclass(frozen=True)
class SignResult:
    """What ``sign_binary`` wrote."""

    path: Path
    params: EnclaveParams
    layout: Layout
    mrenclave: bytes
    mrsigner: bytes
    sigstruct: bytes
    key_path: Path | None
    warnings: tuple[str, ...] = ()


def _binfmt():
    from scone_cc.enclave import binfmt
    return binfmt


def _compute(image: bytes, params: EnclaveParams) -> Layout:
    from scone_cc.enclave import layout
    return layout.compute(image, params)


def read(path):
    """``binfmt.read(path)``: the binary taken apart (SconeError on bad input)."""
    return _binfmt().read(path)


def updated_params(params: EnclaveParams, params_update: dict | None = None,
                   production: bool | None = None) -> EnclaveParams:
    """``params`` with the given fields replaced; ``production`` sets ``debug``."""
    changes = dict(params_update or {})
    unknown = set(changes) - {f.name for f in dataclasses.fields(EnclaveParams)}
    if unknown:
        raise SconeError(f"unknown enclave parameter(s): {', '.join(sorted(unknown))}")
    if production is not None:
        changes["debug"] = not production
    return dataclasses.replace(params, **changes)


def secs_attributes(params: EnclaveParams) -> int:
    """ATTRIBUTES.FLAGS the loader puts in SECS for ``params`` (sgx-spec §3)."""
    return ATTR_MODE64BIT | (ATTR_DEBUG if params.debug else 0)


def unsigned_sigstruct(binary, *, params_update: dict | None = None,
                       production: bool | None = None,
                       date: _dt.date | None = None) -> tuple[EnclaveParams, Layout, bytes, bytes]:
    """Parameters, layout, MRENCLAVE and unsigned SIGSTRUCT for ``binary`` (§1, §6)."""
    params = updated_params(binary.params, params_update, production)
    layout = _compute(binary.image, params)
    mr = measure.mrenclave(layout)
    body = sigs.build(mr, debug=params.debug, isvprodid=params.isvprodid, isvsvn=params.isvsvn,
                      date=date, ssa_frame_pages=params.ssa_frame_pages)
    return params, layout, mr, body


def sign_binary(path, *, key_path=None, signer: sigs.Signer | None = None,
                params_update: dict | None = None, production: bool | None = None,
                date: _dt.date | None = None) -> SignResult:
    """Re-lay out, measure and sign the binary at ``path`` in place (sgx-spec §1, §6).

    ``signer`` (e.g. an HSM) wins over ``key_path``; without either the key is
    ``$SCONE_KEY`` or the developer key, created on first use. The note is
    replaced atomically; nothing is written if any step fails.
    """
    from scone_cc.sgx import keys

    binary = read(path)
    params, layout, mr, body = unsigned_sigstruct(
        binary, params_update=params_update, production=production, date=date)
    warnings = [f"{path}: re-signing a binary changed after it was built ({p})"
                for p in binary.problems]
    used_key = None
    if signer is None:
        used_key = keys.resolve_key_path(key_path)
        key, key_warnings = keys.load_private_key(used_key)
        warnings += key_warnings
        signer = keys.signer_from_key(key)
    signed = sigs.sign(body, signer)
    problems = sigs.verify(signed, mrenclave=mr, secs_attributes=secs_attributes(params),
                           secs_xfrm=sigs.XFRM, secs_miscselect=0)
    if problems:
        raise SconeError(f"{path}: the new SIGSTRUCT does not pass EINIT's checks: {problems[0]}")
    _binfmt().write_signature(path, layout, signed)
    return SignResult(Path(path), params, layout, mr, sigs.mrsigner(signed), signed,
                      used_key, tuple(warnings))


def prepare(path, data_out, *, params_update: dict | None = None,
            production: bool | None = None, date: _dt.date | None = None) -> bytes:
    """Two-step signing, step one: write the 256 bytes to sign, store an unsigned SIGSTRUCT.

    ``data_out`` gets exactly ``signed_data`` (sgx-spec §6) first; only then
    is the binary's note replaced. The binary will not start until
    ``attach_signature`` adds a signature over exactly those bytes.
    """
    from scone_cc.fsutil import atomic_write

    binary = read(path)
    _, layout, _, body = unsigned_sigstruct(binary, params_update=params_update,
                                            production=production, date=date)
    data = sigs.signed_data(body)
    try:
        atomic_write(data_out, data)
    except OSError as err:
        raise SconeError(f"{data_out}: cannot write ({err.strerror})") from None
    _binfmt().write_signature(path, layout, body)
    return data


def signed_data_of(path) -> bytes:
    """The 256 bytes to sign for the SIGSTRUCT that ``path`` holds now (§6)."""
    binary = read(path)
    if binary.sigstruct is None:
        raise SconeError(f"{path}: holds no SIGSTRUCT; run `scone-sign gendata` first")
    return sigs.signed_data(binary.sigstruct)


def attach_signature(path, signature: bytes, modulus: int) -> SignResult:
    """Two-step signing, step two: attach a big-endian signature made elsewhere.

    The SIGSTRUCT must match the binary's measurement and the signature must
    verify before anything is written (sgx-spec §6).
    """
    binary = read(path)
    if binary.sigstruct is None:
        raise SconeError(f"{path}: holds no SIGSTRUCT to sign; run `scone-sign gendata` first")
    mr = measure.mrenclave(binary.layout)
    body = binary.sigstruct
    if Sigstruct.unpack(body, strict=False).enclavehash != mr:
        raise SconeError(f"{path}: its SIGSTRUCT was made for another measurement; "
                         "run `scone-sign gendata` again and sign its output")
    signed = sigs.attach(body, signature, modulus)
    layout = _compute(binary.image, binary.params)
    _binfmt().write_signature(path, layout, signed)
    return SignResult(Path(path), binary.params, layout, mr, sigs.mrsigner(signed), signed, None)


@dataclass(frozen=True)
class Check:
    """What ``verify_binary`` found: ``problems`` is empty for a good binary."""

    path: Path
    mrenclave: bytes
    sigstruct: bytes | None
    problems: tuple[str, ...]


def verify_binary(path) -> Check:
    """Play EINIT on a binary: encoding, signature, measurement, attributes (§6)."""
    binary = read(path)
    problems = list(binary.problems)
    mr = measure.mrenclave(binary.layout)
    try:
        if measure.mrenclave(_compute(binary.image, binary.params)) != mr:
            problems.append("the note's page runs do not measure like the layout of its image "
                            "and parameters")
    except SconeError as err:
        problems.append(f"the layout cannot be recomputed: {err}")
    if binary.sigstruct is None:
        problems.append("the binary is not signed; run `scone-sign sign`")
    else:
        problems += sigs.verify(binary.sigstruct, mrenclave=mr,
                                secs_attributes=secs_attributes(binary.params),
                                secs_xfrm=sigs.XFRM, secs_miscselect=0)
    return Check(Path(path), mr, binary.sigstruct, tuple(problems))
