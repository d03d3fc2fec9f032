"""Each enclave's identity as image labels, and back (DESIGN.md §10).

An image built by ``scone-image build`` carries, for enclave ``N`` (0, 1, …
in recipe order), the labels below; ``scone.enclaves`` is their count.
Numbers are decimal, hashes lower-case hex, booleans ``true``/``false``::

    scone.enclave.N.path        where the binary is in the image
    scone.enclave.N.mrenclave   MRENCLAVE (SIGSTRUCT.ENCLAVEHASH, recomputed)
    scone.enclave.N.mrsigner    MRSIGNER (SHA-256 of the signing key's modulus)
    scone.enclave.N.isvprodid   ISVPRODID
    scone.enclave.N.isvsvn      ISVSVN
    scone.enclave.N.debug       ATTRIBUTES.DEBUG: true for debug, false for production
    scone.enclave.N.heap        signed heap size, bytes
    scone.enclave.N.stack       signed stack size per thread, bytes
    scone.enclave.N.tcs         signed number of TCS (enclave threads)
    scone.enclave.N.size        SECS.SIZE: the enclave's address range, bytes
    scone.enclave.N.epc         EPC the enclave takes: the pages added, bytes
    scone.enclave.N.volumes     its protected volumes' paths, comma-separated

The facts are read from the binaries with the signer's own code
(``scone_cc.sgx.signing``): the layout is recomputed and the signature
checked as EINIT would, so a label never vouches for a binary that would
not start. ``image_enclaves`` reads them back as dicts, for scone-cas and
``scone-image k8s``.
"""

from __future__ import annotations

from pathlib import Path

from scone_cc.errors import SconeError

PREFIX = "scone.enclave."
COUNT = "scone.enclaves"
# (label suffix, dict key, type) in the order they are written.
FIELDS = (
    ("path", "path", str),
    ("mrenclave", "mrenclave", str),
    ("mrsigner", "mrsigner", str),
    ("isvprodid", "isvprodid", int),
    ("isvsvn", "isvsvn", int),
    ("debug", "debug", bool),
    ("heap", "heap_size", int),
    ("stack", "stack_size", int),
    ("tcs", "tcs_count", int),
    ("size", "enclave_size", int),
    ("epc", "epc_size", int),
    ("volumes", "volumes", list),
)


def enclave_facts(binary, target: str, volumes=()) -> dict:
    """The identity of the scone binary at ``binary``, to be placed at ``target``.

    Raises SconeError, naming the file, if it is not a scone binary, is not
    signed, or would not pass EINIT (``scone-sign verify``'s checks).
    """
    from scone_cc.sgx import signing, sigstruct
    from scone_cc.sgx.pages import PAGE_SIZE

    check = signing.verify_binary(binary)
    if check.problems:
        raise SconeError(f"{binary}: {check.problems[0]}; rebuild it with scone-gcc or "
                         "re-sign it with scone-sign sign")
    parsed = signing.read(binary)
    p = parsed.params
    return {
        "path": target,
        "mrenclave": check.mrenclave.hex(),
        "mrsigner": sigstruct.mrsigner(check.sigstruct).hex(),
        "isvprodid": p.isvprodid,
        "isvsvn": p.isvsvn,
        "debug": p.debug,
        "heap_size": p.heap_size,
        "stack_size": p.stack_size,
        "tcs_count": p.tcs_count,
        "enclave_size": parsed.layout.size,
        "epc_size": sum(r.count for r in parsed.layout.runs) * PAGE_SIZE,
        "volumes": list(volumes),
    }


def _text(value, kind) -> str:
    if kind is bool:
        return "true" if value else "false"
    if kind is list:
        return ",".join(value)
    return str(value)


def to_labels(enclaves: list[dict]) -> dict[str, str]:
    """The labels for ``enclaves`` (dicts as ``enclave_facts`` returns them)."""
    labels = {COUNT: str(len(enclaves))}
    for i, facts in enumerate(enclaves):
        for suffix, key, kind in FIELDS:
            labels[f"{PREFIX}{i}.{suffix}"] = _text(facts[key], kind)
    return labels


def _value(text: str, kind, fail):
    if kind is int:
        if not text.isdigit():
            raise fail(f"{text!r} is not a number")
        return int(text)
    if kind is bool:
        if text not in ("true", "false"):
            raise fail(f"{text!r} is not true or false")
        return text == "true"
    if kind is list:
        return [v for v in text.split(",") if v]
    return text


def from_labels(labels: dict[str, str], where: str) -> list[dict]:
    """The enclaves that ``labels`` describe; SconeError naming ``where`` if they are incomplete."""
    labels = labels or {}
    count = labels.get(COUNT)
    if count is None or not count.isdigit():
        raise SconeError(f"{where}: no {COUNT} label; it was not built by scone-image build "
                         "(rebuild it with scone-image build RECIPE)")
    enclaves = []
    for i in range(int(count)):
        facts = {}
        for suffix, key, kind in FIELDS:
            name = f"{PREFIX}{i}.{suffix}"
            if name not in labels:
                raise SconeError(f"{where}: label {name} is missing; rebuild the image with "
                                 "scone-image build")

            def fail(why, name=name):
                return SconeError(f"{where}: label {name}: {why}; rebuild the image")

            facts[key] = _value(labels[name], kind, fail)
        enclaves.append(facts)
    return enclaves


def image_enclaves(image) -> list[dict]:
    """The enclaves of ``image``, one dict per enclave with the keys of ``FIELDS``.

    ``image`` is an OCI layout directory (``DIR`` or ``DIR:TAG``), an
    oci-archive or docker-archive file, or any reference skopeo reads
    (``docker://…``, ``containers-storage:…``). Keys: path, mrenclave,
    mrsigner (hex), isvprodid, isvsvn, heap_size, stack_size, tcs_count,
    enclave_size, epc_size (ints), debug (bool), volumes (list of paths).
    """
    from scone_cc.image import oci

    config = oci.inspect_config(image)
    return from_labels((config.get("config") or {}).get("Labels") or {}, str(image))


def recipe_enclaves(recipe) -> list[dict]:
    """The enclaves of a checked recipe (scone_cc.image.recipe), read from its binaries."""
    out = []
    for i, e in enumerate(recipe.enclaves):
        try:
            out.append(enclave_facts(Path(e.source), e.target, [v.target for v in e.volumes]))
        except SconeError as err:
            raise SconeError(f"{recipe.path}: enclave[{i}]: {err} (an ordinary file goes under "
                             "[[file]])", err.exit_code) from None
    return out
