"""The last step of a scone-gcc link: enclave image -> signed scone binary.

DESIGN.md §3 steps (2)-(4): static check of the image, layout, final binary
(starter + image + note, binfmt), signing. Either ``output`` ends up a
complete signed binary or it is left as it was.
"""

from __future__ import annotations

import contextlib
import dataclasses
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.sgx.pages import EnclaveParams

STARTER = Path("libexec") / "scone-starter"


def finish(image_path, output, *, sysroot: Path, params: EnclaveParams,
           key: str | Path | None = None, allow: tuple[str, ...] = ()) -> None:
    """Check ``image_path``, lay it out, write and sign ``output`` (DESIGN.md §3, §4).

    The starter is ``<sysroot>/libexec/scone-starter``; ``key`` picks the
    signing key (default: ``$SCONE_KEY`` or the developer key); ``allow``
    names unsupported calls the check lets through. The image file is removed
    in every case. Raises one SconeError on any failure.
    """
    from scone_cc.enclave import binfmt, layout
    from scone_cc.fsutil import atomic_output

    image_path, output = Path(image_path), Path(output)
    try:
        image = _read(image_path, "enclave image")
        try:
            lay = layout.compute(image, params)  # vets the image before the check reads it
        except SconeError as err:
            raise SconeError(f"{output}: {err}", err.exit_code) from None
        _static_check(image_path, output, allow)
        starter = _read(Path(sysroot) / STARTER, "starter (rebuild the sysroot)")
        from scone_cc.sgx.signing import sign_binary

        with atomic_output(output, 0o755) as tmp:
            binfmt.write(tmp, starter=starter, image=image, layout=lay, sigstruct=None)
            # The unsigned note cannot carry ISVPRODID/ISVSVN: hand every
            # parameter to the signer so that it lays out exactly this.
            sign_binary(tmp, key_path=key, params_update=dataclasses.asdict(params))
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


def _static_check(image_path: Path, output: Path, allow: tuple[str, ...]) -> None:
    """DESIGN.md §7: a link fails (exit 1) on any unsupported call not allowed."""
    from scone_cc.check import check_paths, require_clean

    require_clean(check_paths([image_path], allow=allow), what=str(output))
