"""The scone binary: starter ELF + enclave image + ``.note.scone``.

DESIGN.md §4 and ``runtime/include/scone/note.h``. ``write`` adds to the
starter, with lief, section ``.scone.enclave`` (the image file), the note
``.note.scone`` (note.encode) and section ``.scone.starter`` (the starter as it
was given, so that a re-sign whose layout changes the note's size can write
the binary afresh). ``read`` takes it apart again and reports where it departs
from its canonical encoding; ``write_signature`` replaces the note.

lief is imported only inside the functions that edit ELF files.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from scone_cc.enclave import abi, container, fspolicy, netpolicy, layout as layout_mod, note
from scone_cc.errors import SconeError
from scone_cc.fsutil import atomic_output, atomic_write
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
          sigstruct: bytes | None) -> None:
    """Write the final binary to ``path`` atomically, mode 0755 (DESIGN.md §4).

    ``starter`` must be an ELF with a PT_NOTE (link it with --build-id): lief
    1.0 drops added notes otherwise.
    """
    _write(Path(path), starter, image, note.encode(layout, image, sigstruct), 0o755)


def _write(path: Path, starter: bytes, image: bytes, desc: bytes, mode: int) -> None:
    try:
        starter_parts = container.sections(starter, "starter")
    except SconeError as err:
        raise SconeError(f"{err} (the starter is <sysroot>/libexec/scone-starter)") from None
    if container.NOTE_SECTION in starter_parts or container.IMAGE_SECTION in starter_parts:
        raise SconeError("starter already holds an enclave; pass the plain scone-starter")

    import lief

    lief.logging.disable()
    config = lief.ELF.Builder.config_t()
    config.notes = True
    binary = lief.ELF.parse(starter)
    if binary is None:
        raise SconeError("starter: lief cannot parse it; rebuild the sysroot")
    if not any(s.type == lief.ELF.Segment.TYPE.NOTE for s in binary.segments):
        raise SconeError("starter has no PT_NOTE segment, so the note cannot be added; "
                         "link the starter with -Wl,--build-id")
    # Two passes: lief 1.0 places a non-loaded section before it grows the
    # program header table for the note, which then overwrites the section.
    binary.add(lief.ELF.Note.create(abi.NOTE_NAME.decode(), abi.NOTE_TYPE, list(desc),
                                    section_name=container.NOTE_SECTION))
    binary = lief.ELF.parse(binary.write_to_bytes(config))
    for name, content in ((container.IMAGE_SECTION, image),
                          (container.STARTER_SECTION, starter)):
        section = lief.ELF.Section(name)
        section.type = lief.ELF.Section.TYPE.PROGBITS
        section.alignment = 16
        section.content = memoryview(content)
        binary.add(section, loaded=False)
    # Notes are written by the first pass; rebuilding them again would turn
    # namesz 6 into 7 (lief 1.0 keeps the NUL it read as part of the name).
    config.notes = False
    try:
        with atomic_output(path, mode) as tmp:
            binary.write(str(tmp), config)
            _check_written(tmp.read_bytes(), starter, image, desc, path)
    except OSError as err:
        raise SconeError(f"{path}: cannot write: {err.strerror}") from None


def _check_written(data: bytes, starter: bytes, image: bytes, desc: bytes, path: Path) -> None:
    # lief reports some failures only by writing a different file: read back.
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
    fs, end = fspolicy.decode_block(content[abi.CONFIG_FS_OFFSET:], where)
    params = EnclaveParams(
        heap_size=config["heap_size"], stack_size=config["stack_size"],
        tcs_count=config["tcs_count"], nssa=config["nssa"],
        ssa_frame_pages=config["ssa_frame_pages"],
        debug=bool(config["flags"] & abi.CONFIG_DEBUG), isvprodid=isv[0], isvsvn=isv[1],
        fs=fs, net=netpolicy.decode(content[abi.CONFIG_FS_OFFSET + end:], where))
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
    written afresh from the starter it keeps. Atomic; the mode is kept.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
        mode = stat.S_IMODE(os.stat(path).st_mode)
    except OSError as err:
        raise SconeError(f"{path}: cannot read: {err.strerror}") from None
    parts = container.locate(data, str(path))
    image = data[parts.image[0]:parts.image[0] + parts.image[1]]
    desc = note.encode(layout, image, sigstruct)
    off, size = parts.desc
    if len(desc) == size:
        try:
            atomic_write(path, data[:off] + desc + data[off + size:], mode)
        except OSError as err:
            raise SconeError(f"{path}: cannot write: {err.strerror}") from None
        return
    if parts.starter is None:
        raise SconeError(f"{path}: the new layout changes the note's size and the binary "
                         "keeps no starter to rebuild from; relink it with scone-gcc")
    starter = data[parts.starter[0]:parts.starter[0] + parts.starter[1]]
    _write(path, starter, image, desc, mode)
