"""Sign, check and compare scone binaries: the flows behind ``scone-sign``.

Each function reads a binary (scone_cc.enclave.binfmt), recomputes the
layout from its image and signed parameters (scone_cc.enclave.layout),
measures it (docs/sgx-spec.md §1) and builds or checks the SIGSTRUCT (§6).
Two-step signing writes nothing in step one: the bytes to sign are a pure
function of the binary and the options, rebuilt identically in step two.
Nothing here prints (warnings are returned); files are written atomically
by binfmt.
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
    if "fs" in changes and "fs_tags" not in changes:
        changes["fs_tags"] = ()       # new regions: the old volumes' tags no longer apply
    if changes.get("fs_tags"):
        from scone_cc.enclave import fspolicy
        changes["fs_tags"] = fspolicy.merge_tags(changes.get("fs", params.fs), changes["fs_tags"],
                                                 "--fs-tag")
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
    return params, layout, mr, _body(mr, params, date)


def _body(mr: bytes, params: EnclaveParams, date: _dt.date | None) -> bytes:
    return sigs.build(mr, debug=params.debug, isvprodid=params.isvprodid, isvsvn=params.isvsvn,
                      date=date, ssa_frame_pages=params.ssa_frame_pages)


def _key_signer(key_path) -> tuple[sigs.Signer, Path, list[str]]:
    from scone_cc.sgx import keys

    used_key = keys.resolve_key_path(key_path)
    key, warnings = keys.load_private_key(used_key)
    return keys.signer_from_key(key), used_key, list(warnings)


def _checked_signature(body: bytes, signed_by, mr: bytes, params: EnclaveParams, where) -> bytes:
    """``body`` signed, and only if the result passes EINIT's checks (sgx-spec §6)."""
    signed = signed_by(body)
    problems = sigs.verify(signed, mrenclave=mr, secs_attributes=secs_attributes(params),
                           secs_xfrm=sigs.XFRM, secs_miscselect=0)
    if problems:
        raise SconeError(f"{where}: the new SIGSTRUCT does not pass EINIT's checks: {problems[0]}")
    return signed


def sign_layout(layout: Layout, params: EnclaveParams, *, where, key_path=None,
                signer: sigs.Signer | None = None,
                date: _dt.date | None = None) -> tuple[bytes, bytes, Path | None, tuple[str, ...]]:
    """Measure ``layout`` and sign it: ``(sigstruct, mrenclave, key path, warnings)`` (§1, §6).

    ``signer`` (e.g. an HSM) wins over ``key_path``; without either the key is
    ``$SCONE_KEY`` or the developer key, created on first use. Key warnings
    (a key file others can read) are returned, not printed. ``where`` names
    the binary in errors. Writes nothing.
    """
    mr = measure.mrenclave(layout)
    used_key, warnings = None, []
    if signer is None:
        signer, used_key, warnings = _key_signer(key_path)
    signed = _checked_signature(_body(mr, params, date), lambda b: sigs.sign(b, signer),
                                mr, params, where)
    return signed, mr, used_key, tuple(warnings)


def sign_binary(path, *, key_path=None, signer: sigs.Signer | None = None,
                params_update: dict | None = None, production: bool | None = None,
                date: _dt.date | None = None) -> SignResult:
    """Re-lay out, measure and sign the binary at ``path`` in place (sgx-spec §1, §6).

    See ``sign_layout`` for the key. The note is replaced atomically; nothing
    is written if any step fails.
    """
    binary = read(path)
    params = updated_params(binary.params, params_update, production)
    layout = _compute(binary.image, params)
    warnings = [f"{path}: re-signing a binary changed after it was built ({p})"
                for p in binary.problems]
    signed, mr, used_key, key_warnings = sign_layout(layout, params, where=path,
                                                     key_path=key_path, signer=signer, date=date)
    _binfmt().write_signature(path, layout, signed)
    return SignResult(Path(path), params, layout, mr, sigs.mrsigner(signed), signed,
                      used_key, tuple(warnings) + key_warnings)


# --- two-step signing: the bytes to sign are a function of the binary and the options ---

@dataclass(frozen=True)
class TwoStep:
    """What gendata and catsig both rebuild from a binary and the signing options."""

    params: EnclaveParams
    layout: Layout
    mrenclave: bytes
    date: _dt.date
    body: bytes

    @property
    def data(self) -> bytes:
        """The 256 bytes an external signer signs (sgx-spec §6)."""
        return sigs.signed_data(self.body)


def _stored_date(binary, where) -> _dt.date | None:
    if binary.sigstruct is None:
        return None
    bcd = Sigstruct.unpack(binary.sigstruct, strict=False).date
    try:
        return sigs.date_from_bcd(bcd)
    except SconeError:
        raise SconeError(f"{where}: its SIGSTRUCT holds no valid date ({bcd:#010x}); "
                         "pass --date YYYY-MM-DD to both gendata and catsig") from None


def two_step(path, *, params_update: dict | None = None, production: bool | None = None,
             date: _dt.date | None = None) -> TwoStep:
    """The unsigned SIGSTRUCT that ``path`` and these options give (sgx-spec §6). Reads only.

    The date defaults to the one of the SIGSTRUCT the binary holds (scone-gcc
    signs every binary), else to ``sigstruct.default_date()``; so gendata and
    catsig run on different days still agree unless told another date.
    """
    binary = read(path)
    date = date or _stored_date(binary, path) or sigs.default_date()
    params, layout, mr, body = unsigned_sigstruct(binary, params_update=params_update,
                                                  production=production, date=date)
    return TwoStep(params, layout, mr, date, body)


def attach_signature(path, signature: bytes, modulus: int, *, params_update: dict | None = None,
                     production: bool | None = None, date: _dt.date | None = None) -> SignResult:
    """Two-step signing, step two: attach a big-endian signature made elsewhere.

    The SIGSTRUCT is rebuilt from the binary and the options exactly as
    ``two_step`` (gendata) built it; the signature must verify over it and the
    result must pass EINIT's checks before the note is replaced (sgx-spec §6).
    """
    step = two_step(path, params_update=params_update, production=production, date=date)

    def attach(body: bytes) -> bytes:
        try:
            return sigs.attach(body, signature, modulus)
        except SconeError as err:
            raise SconeError(
                f"{path}: {err}; catsig rebuilds the signed bytes from the binary and its options "
                f"(here --date {step.date.isoformat()}): give it the same --date, --heap, --stack, "
                "--tcs, --production/--debug, --isvprodid and --isvsvn as gendata") from None

    signed = _checked_signature(step.body, attach, step.mrenclave, step.params, path)
    _binfmt().write_signature(path, step.layout, signed)
    return SignResult(Path(path), step.params, step.layout, step.mrenclave,
                      sigs.mrsigner(signed), signed, None)


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
    problems += _binfmt().starter_problems(path)
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
