"""The last step of a scone-gcc link: enclave image -> signed scone binary.

DESIGN.md §3 steps (2)-(4): static check of the image, layout, signing, final
binary (starter + image + signed note, binfmt). The image is read, laid out
and measured once, and the binary written once, already signed. Either
``output`` ends up a complete signed binary or it is left as it was.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.sgx.pages import EnclaveParams

STARTER = Path("libexec") / "scone-starter"


def finish(image_path, output, *, sysroot: Path, params: EnclaveParams,
           key: str | Path | None = None, allow: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Check ``image_path``, lay it out, sign and write ``output`` (DESIGN.md §3, §4).

    The starter is ``<sysroot>/libexec/scone-starter``; ``key`` picks the
    signing key (default: ``$SCONE_KEY`` or the developer key); ``allow``
    names unsupported calls the check lets through. Returns the warnings, one
    line each without a prefix, for the caller to print: calls let through by
    ``allow`` and key warnings. The image file is removed in every case.
    Raises one SconeError on any failure.
    """
    from scone_cc.enclave import binfmt, layout

    image_path, output = Path(image_path), Path(output)
    try:
        image = _read(image_path, "enclave image")
        try:
            lay = layout.compute(image, params)  # vets the image before the check reads it
        except SconeError as err:
            raise SconeError(f"{output}: {err}", err.exit_code) from None
        warnings = list(static_check(image, output, allow))
        starter = _read(Path(sysroot) / STARTER, "starter (rebuild the sysroot)")
        from scone_cc.sgx.signing import sign_layout

        sigstruct, _, _, key_warnings = sign_layout(lay, params, where=output, key_path=key)
        binfmt.write(output, starter=starter, image=image, layout=lay, sigstruct=sigstruct)
        return tuple(warnings) + key_warnings
    except OSError as err:
        raise SconeError(f"{output}: cannot write: {err.strerror}") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            image_path.unlink()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read the {what}: {err.strerror}") from None


def static_check(image: bytes, output: Path, allow: tuple[str, ...]) -> list[str]:
    """DESIGN.md §7 on the linked image, named ``output``: SconeError (exit 1) on
    a call not allowed; the allowed ones come back as warning lines."""
    from scone_cc.check import WARNING, check_blob, require_clean
    from scone_cc.check.inputs import Blob, validate_elf
    from scone_cc.check.policy import is_allowed

    name = str(output)
    validate_elf(name, image)
    allow = frozenset(allow)
    found = require_clean(check_blob(Blob(name, image), allow), what=name)
    out = []
    for f in found:
        line = f.format()
        tag = f"{f.location}: {WARNING}: "
        text = f"{f.location}: {line[len(tag):]}" if line.startswith(tag) else line
        if f.kind == "instruction":
            text += "; allowed by --scone-allow/SCONE_ALLOW: the process ends there if it runs"
        elif is_allowed(allow, f.callee, f.syscall, *f.chain):
            text += "; allowed by --scone-allow/SCONE_ALLOW: it fails with ENOSYS at run time"
        out.append(text)
    return out
