"""The scone binary: starter ELF + enclave image + ``.note.scone``.

DESIGN.md §4 and ``runtime/include/scone/note.h``. ``write`` adds to the
starter, section ``.scone.enclave`` (the image file), the note
``.note.scone`` (note.encode) and section ``.scone.starter`` (the starter as it
was given, so that a re-sign whose layout changes the note's size can write
the binary afresh). ``read`` takes it apart again and reports where it departs
from its canonical encoding; ``write_signature`` replaces the note.

The sections are appended by hand (container.append), not by an ELF
rewriting library: the starter's segments must stay exactly as linked.
"""

from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass
from pathlib import Path

from scone_cc.enclave import abi, buildid, container, fspolicy, netpolicy, layout as layout_mod, note
from scone_cc.errors import SconeError
from scone_cc.fsutil import atomic_write
from scone_cc.sgx.pages import EnclaveParams, Layout, PageRun, PageType


@dataclass(frozen=True)
class SconeBinary:
    """A final binary taken apart.

    ``layout`` is what the loader builds: the runs of the note with their
    content. ``params`` come from the config page (and ISVPRODID/ISVSVN from
    the SIGSTRUCT). ``note`` is the raw descriptor. ``problems`` lists every
    way the file departs from the canonical encoding of its own image and
    parameters (empty for an untouched binary); a loader refuses such a file.
    """

    path: Path
    image: bytes
    layout: Layout
    params: EnclaveParams
    sigstruct: bytes | None
    note: bytes
    problems: tuple[str, ...]


def write(path, *, starter: bytes, image: bytes, layout: Layout,
          sigstruct: bytes | None, inputs=()) -> None:
    """Write the final binary to ``path`` (DESIGN.md §4) through fsutil's one door.

    A new file gets mode 0777 masked by the umask, as ld gives; a device or
    FIFO is written as a stream; ``path`` must not be one of ``inputs``.
    """
    _write(Path(path), starter, image, note.encode(layout, image, sigstruct), inputs=inputs)


def assemble(starter: bytes, image: bytes, desc: bytes) -> bytes:
    """The final binary's bytes: ``starter`` with the three scone sections appended.

    The starter's program headers and loaded bytes stay as its linker wrote
    them (container.append), so its .bss stays inside its PT_LOAD and
    strip/objcopy give a binary that still starts.
    """
    try:
        starter_parts = container.sections(starter, "starter")
    except SconeError as err:
        raise SconeError(f"{err} (the starter is <sysroot>/libexec/scone-starter)") from None
    if container.NOTE_SECTION in starter_parts or container.IMAGE_SECTION in starter_parts:
        raise SconeError("starter already holds an enclave; pass the plain scone-starter")
    name = abi.NOTE_NAME + b"\0"
    the_note = (struct.pack("<III", len(name), len(desc), abi.NOTE_TYPE)
                + name + bytes(-len(name) % 4) + desc + bytes(-len(desc) % 4))
    return container.append(starter, "starter", [
        (container.STARTER_SECTION, container.SHT_PROGBITS, 16, starter),
        (container.IMAGE_SECTION, container.SHT_PROGBITS, 16, image),
        (container.NOTE_SECTION, container.SHT_NOTE, 4, the_note),
    ])


def _write(path: Path, starter: bytes, image: bytes, desc: bytes, **kw) -> None:
    data = buildid.stamp(assemble(starter, image, desc), starter, image, str(path))
    _check_written(data, starter, image, desc, path)
    try:
        atomic_write(path, data, 0o777, **kw)
    except OSError as err:
        raise SconeError(f"{path}: cannot write: {err.strerror}") from None


def _check_written(data: bytes, starter: bytes, image: bytes, desc: bytes, path: Path) -> None:
    # Read the parts back as every reader will before anything is written.
    parts = container.locate(data, str(path))
    wanted = {"image": (parts.image, image), "note": (parts.desc, desc),
              "starter": (parts.starter or (0, 0), starter)}
    bad = [name for name, ((off, size), want) in wanted.items() if data[off:off + size] != want]
    if bad:
        raise SconeError(f"{path}: the written binary does not hold the expected "
                         f"{', '.join(bad)}; this is a bug in writing scone binaries")


def read(path) -> SconeBinary:
    """Read a final binary (DESIGN.md §4, note.h).

    Raises SconeError for a file that is not ELF, not a scone binary,
    truncated, or whose note cannot be followed; other departures from the
    canonical encoding are listed in ``problems``.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read: {err.strerror}") from None
    where = str(path)
    parts = container.locate(data, where)
    image = data[parts.image[0]:parts.image[0] + parts.image[1]]
    desc = data[parts.desc[0]:parts.desc[0] + parts.desc[1]]
    dec = note.decode(desc, where)
    note.validate(dec, len(desc), image, where)    # what the starter refuses, refused here
    sigstruct = dec.sigstruct if any(dec.sigstruct) else None

    runs = []
    for i, r in enumerate(dec.runs):
        source = {abi.SRC_ZERO: b"", abi.SRC_IMAGE: image, abi.SRC_BLOB: dec.blob}[r["source"]]
        start, end = r["src_offset"], r["src_offset"] + r["src_size"]
        if end > len(source):
            raise SconeError(f"{where}: .note.scone run {i} takes bytes {start:#x}..{end:#x} "
                             f"of a source of {len(source):#x} bytes; the binary is damaged")
        try:
            runs.append(PageRun(r["offset"], r["count"], PageType(r["secinfo"] >> 8),
                                r["secinfo"] & 0xFF, bool(r["measured"]),
                                source[start:end], f"run[{i}]"))
        except ValueError as err:
            raise SconeError(f"{where}: .note.scone run {i} is malformed: {err}") from None
    h = dec.header
    loaded = Layout(h["enclave_size"], h["ssa_frame_pages"], tuple(runs))
    params, config = _params(loaded, h["config_offset"], sigstruct, where)

    problems: list[str] = []
    if config["image_sha256"] != hashlib.sha256(image).digest():
        problems.append("the enclave image (.scone.enclave) does not match the SHA-256 in "
                        "its config page: it was changed after the binary was built")
    canonical = None
    try:
        canonical = layout_mod.compute(image, params)
        expected = note.encode(canonical, image, dec.sigstruct)
    except SconeError as err:
        problems.append(f"the note's parameters do not give a valid layout: {err}")
    else:
        if expected != desc:
            problems.append(_first_difference(expected, desc, dec.header))
    if canonical and len(canonical.runs) == len(runs):
        runs = [PageRun(r.offset, r.count, r.type, r.perms, r.measured, r.content,
                        c.what if c.offset == r.offset else r.what)
                for r, c in zip(runs, canonical.runs)]
        loaded = Layout(loaded.size, loaded.ssa_frame_pages, tuple(runs))
    return SconeBinary(path, image, loaded, params, sigstruct, desc, tuple(problems))


def starter_problems(path) -> list[str]:
    """What keeps the starter of ``path`` from running (container.starter_problems)."""
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read: {err.strerror}") from None
    return container.starter_problems(data, str(path))


def _params(loaded: Layout, config_offset: int, sigstruct: bytes | None,
            where: str) -> tuple[EnclaveParams, dict]:
    runs = [r for r in loaded.runs if r.offset == config_offset and r.content]
    if len(runs) != 1:
        raise SconeError(f"{where}: .note.scone has no config page at {config_offset:#x}; "
                         "the binary is damaged, rebuild it")
    content = runs[0].page(0)
    config = abi.CONFIG.unpack(content)
    if config["magic"] != abi.CONFIG_MAGIC or config["version"] != abi.CONFIG_VERSION:
        raise SconeError(f"{where}: the config page has magic {config['magic']:#x} version "
                         f"{config['version']}; the binary is damaged or too new, rebuild it")
    isv = (0, 0)
    if sigstruct is not None:
        isv = (int.from_bytes(sigstruct[1024:1026], "little"),
               int.from_bytes(sigstruct[1026:1028], "little"))
    fs, fs_tags, end = fspolicy.decode_block_tags(content[abi.CONFIG_FS_OFFSET:], where)
    params = EnclaveParams(
        heap_size=config["heap_size"], stack_size=config["stack_size"],
        tcs_count=config["tcs_count"], nssa=config["nssa"],
        ssa_frame_pages=config["ssa_frame_pages"],
        debug=bool(config["flags"] & abi.CONFIG_DEBUG), isvprodid=isv[0], isvsvn=isv[1],
        fs=fs, fs_tags=fs_tags, net=netpolicy.decode(content[abi.CONFIG_FS_OFFSET + end:], where),
        cas_key=config["cas_key_sha256"] if config["flags"] & abi.CONFIG_CAS else b"",
        console=bool(config["flags"] & abi.CONFIG_CONSOLE))
    return params, config


def _first_difference(expected: bytes, got: bytes, header: dict) -> str:
    at = next((i for i, (a, b) in enumerate(zip(expected, got)) if a != b),
              min(len(expected), len(got)))
    if at < abi.NOTE_HEADER.size:
        field = next(f for f, off, fmt in reversed(abi.NOTE_HEADER.fields) if off <= at)
        what = f"header field {field}"
    elif at < header["blob_offset"]:
        i, off = divmod(at - header["runs_offset"], abi.NOTE_RUN.size)
        field = next(f for f, o, fmt in reversed(abi.NOTE_RUN.fields) if o <= off)
        what = f"run {i} field {field}"
    elif at < header["sigstruct_offset"]:
        what = f"blob byte {at - header['blob_offset']}"
    else:
        what = "its length"
    return (f".note.scone differs from its canonical encoding at byte {at} ({what}): "
            "it was changed after the binary was built")


def write_signature(path, layout: Layout, sigstruct: bytes | None) -> None:
    """Replace the note of ``path`` by the one of ``layout`` and ``sigstruct``.

    The image stays. If the new descriptor has the size of the old one (the
    same image and TCS count) only its bytes change; otherwise the binary is
    written afresh from the starter it keeps. Atomic; a symlink stays and its
    target is written; mode, owner and group are kept.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read: {err.strerror}") from None
    parts = container.locate(data, str(path))
    image = data[parts.image[0]:parts.image[0] + parts.image[1]]
    desc = note.encode(layout, image, sigstruct)
    off, size = parts.desc
    if len(desc) == size:
        try:
            atomic_write(path, data[:off] + desc + data[off + size:], keep_owner=True,
                         stream_ok=False, what="binary")
        except OSError as err:
            raise SconeError(f"{path}: cannot write: {err.strerror}") from None
        return
    if parts.starter is None:
        raise SconeError(f"{path}: the new layout changes the note's size and the binary "
                         "keeps no starter to rebuild from; relink it with scone-gcc")
    starter = data[parts.starter[0]:parts.starter[0] + parts.starter[1]]
    _write(path, starter, image, desc, keep_owner=True, stream_ok=False, what="binary")
