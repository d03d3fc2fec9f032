"""Byte layouts of the structures the enclave ABI headers define.

The C headers are the one source: ``runtime/include/scone/enclave_abi.h``
(config page, thread page) and ``runtime/include/scone/note.h`` (note header
and runs); the TCS follows docs/sgx-spec.md §4. Each structure is a table of
(field, offset, struct format) so that a test can hold every offset against
``offsetof`` printed by gcc from the headers.

Pure, stdlib only.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass


@dataclass(frozen=True)
class Struct:
    """A little-endian C structure described by (name, offset, format) rows."""

    name: str
    size: int
    fields: tuple[tuple[str, int, str], ...]

    def pack(st, **values) -> bytes:  # noqa: N805 (a field is named "self")
        """Pack ``values`` (missing fields are zero) into ``size`` bytes."""
        unknown = set(values) - {f for f, _, _ in st.fields}
        if unknown:
            raise KeyError(f"{st.name}: no field {sorted(unknown)}")
        out = bytearray(st.size)
        for field, offset, fmt in st.fields:
            value = values.get(field, b"" if fmt.endswith("s") else 0)
            struct.pack_into("<" + fmt, out, offset, value)
        return bytes(out)

    def unpack(self, data: bytes, offset: int = 0) -> dict:
        """Unpack the structure at ``data[offset:]`` into a dict of fields."""
        return {field: struct.unpack_from("<" + fmt, data, offset + off)[0]
                for field, off, fmt in self.fields}


# enclave_abi.h: struct scone_thread_layout (one per TCS, in the config page).
THREAD_LAYOUT = Struct("scone_thread_layout", 40, (
    ("tcs", 0, "Q"), ("ssa", 8, "Q"), ("stack_lo", 16, "Q"),
    ("stack_hi", 24, "Q"), ("thread", 32, "Q"),
))

MAX_TCS = 64                            # SCONE_MAX_TCS
CONFIG_MAGIC = 0x4746434E4F435355       # SCONE_CONFIG_MAGIC, "USCONCFG"
CONFIG_VERSION = 1
CONFIG_DEBUG = 1                        # SCONE_CONFIG_DEBUG
CONFIG_CAS = 2                          # SCONE_CONFIG_CAS: cas_key_sha256 is set
CONFIG_CONSOLE = 4                      # SCONE_CONFIG_CONSOLE: fd 0/1/2 through the console shield
CONFIG_THREADS_OFFSET = 208

# enclave_abi.h: struct scone_enclave_config, without its threads[] array.
CONFIG = Struct("scone_enclave_config", CONFIG_THREADS_OFFSET + MAX_TCS * THREAD_LAYOUT.size, (
    ("magic", 0, "Q"), ("version", 8, "I"), ("tcs_count", 12, "I"),
    ("enclave_size", 16, "Q"), ("image_end", 24, "Q"), ("heap_offset", 32, "Q"),
    ("heap_size", 40, "Q"), ("stack_size", 48, "Q"), ("nssa", 56, "I"),
    ("ssa_frame_pages", 60, "I"), ("flags", 64, "Q"), ("reserved", 72, "16s"),
    ("image_sha256", 88, "32s"), ("cas_key_sha256", 120, "32s"), ("reserved2", 152, "56s"),
))

# enclave_abi.h: the file-system policy block fills the config page after
# threads[] (scone_cc/enclave/fspolicy.py encodes it).
CONFIG_FS_OFFSET = CONFIG.size          # SCONE_CONFIG_FS_OFFSET
CONFIG_FS_SIZE = 4096 - CONFIG_FS_OFFSET  # SCONE_CONFIG_FS_SIZE

# enclave_abi.h: the "layout" block of struct scone_thread; the runtime state
# after it is zero at load.
THREAD = Struct("scone_thread", 32, (
    ("self", 0, "Q"), ("tcs", 8, "Q"), ("stack_hi", 16, "Q"),
    ("index", 24, "I"), ("pad0", 28, "I"),
))
THREAD_STRUCT_SIZE = 128                # sizeof(struct scone_thread)

# sgx-spec §4: the TCS up to GSLIMIT; OCETSSA, PREVSSP and the reserved tail
# are zero. STATE, CSSA, AEP and FLAGS.DBGOPTIN are what EADD forces to zero.
TCS = Struct("tcs", 72, (
    ("state", 0, "Q"), ("flags", 8, "Q"), ("ossa", 16, "Q"), ("cssa", 24, "I"),
    ("nssa", 28, "I"), ("oentry", 32, "Q"), ("aep", 40, "Q"), ("ofsbase", 48, "Q"),
    ("ogsbase", 56, "Q"), ("fslimit", 64, "I"), ("gslimit", 68, "I"),
))

NOTE_NAME = b"SCONE"
NOTE_TYPE = 0x53430001                  # SCONE_NOTE_ENCLAVE
NOTE_MAGIC = 0x454E4353                 # SCONE_NOTE_MAGIC, "SCNE"
NOTE_VERSION = 1
SIGSTRUCT_SIZE = 1808

# note.h: struct scone_note_header.
NOTE_HEADER = Struct("scone_note_header", 88, (
    ("magic", 0, "I"), ("version", 4, "I"), ("enclave_size", 8, "Q"),
    ("ssa_frame_pages", 16, "I"), ("nruns", 20, "I"), ("runs_offset", 24, "I"),
    ("blob_offset", 28, "I"), ("blob_size", 32, "I"), ("sigstruct_offset", 36, "I"),
    ("image_size", 40, "Q"), ("config_offset", 48, "Q"), ("reserved", 56, "32s"),
))

SRC_ZERO, SRC_IMAGE, SRC_BLOB = 0, 1, 2  # enum scone_run_source

# note.h: what a reader accepts. notecheck.c and note.validate apply the
# same checks with them; tests/enclave/test_note_agreement.py feeds one
# corpus of malformed notes to both readers.
NOTE_MIN_SIZE = 2 * 4096                # SCONE_NOTE_MIN_SIZE: enclave_size in [8 KiB, 128 TiB]
NOTE_MAX_SIZE = 1 << 47                 # SCONE_NOTE_MAX_SIZE
NOTE_MAX_SSA_FRAME_PAGES = 64           # SCONE_NOTE_MAX_SSA_FRAME_PAGES
NOTE_MAX_RUNS = 1 << 20                 # SCONE_NOTE_MAX_RUNS

# note.h: struct scone_note_run.
NOTE_RUN = Struct("scone_note_run", 32, (
    ("offset", 0, "Q"), ("count", 8, "I"), ("secinfo", 12, "H"),
    ("measured", 14, "B"), ("source", 15, "B"), ("src_offset", 16, "Q"),
    ("src_size", 24, "Q"),
))
