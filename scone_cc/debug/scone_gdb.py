"""gdb script: load a scone binary's enclave symbols where the enclave is.

Runs inside gdb's Python (stdlib only). On every stop, if the program is a
scone binary (sections ``.scone.enclave`` and ``scone_debug``) whose starter
has recorded the enclave's base (runtime/untrusted/debugger.h), the image
is written to a temporary file and added with ``add-symbol-file FILE -o
BASE``: functions, files, lines and unwinding of enclave code then work.
``scone-symbols`` does the same on demand.
"""

import os
import struct
import tempfile

import gdb

DEBUG_SECTION = "scone_debug"
IMAGE_SECTION = ".scone.enclave"
MAGIC = 0x6775626465656E6F
VERSION = 1

_loaded = {}   # binary path -> (base, temporary image file)


def _sections(path):
    """name -> (sh_addr, sh_offset, sh_size) of an ELF64 little-endian file."""
    with open(path, "rb") as f:
        data = f.read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        return {}
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shentsize, shnum, shstrndx = struct.unpack_from("<HHH", data, 0x3A)
    if shentsize != 64 or not shnum or shoff + shnum * 64 > len(data) or shstrndx >= shnum:
        return {}
    heads = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + i * 64) for i in range(shnum)]
    strtab = heads[shstrndx]
    names = data[strtab[4]:strtab[4] + strtab[5]]
    out = {}
    for h in heads:
        end = names.find(b"\0", h[0])
        out[names[h[0]:end].decode("ascii", "replace")] = (h[3], h[4], h[5], data)
    return out


def load_symbols(verbose=False):
    """Add the enclave's symbols at its base; True if they are (now) loaded."""
    inferior = gdb.selected_inferior()
    path = gdb.current_progspace().filename
    if not inferior.pid or not path:
        return False
    try:
        secs = _sections(path)
    except OSError:
        return False
    if DEBUG_SECTION not in secs or IMAGE_SECTION not in secs:
        if verbose:
            print(f"scone: {path} is not a scone binary with a scone_debug record")
        return False
    addr = secs[DEBUG_SECTION][0]
    try:
        magic, version, base, _size = struct.unpack("<QQQQ", bytes(inferior.read_memory(addr, 32)))
    except gdb.MemoryError:
        return False
    if magic != MAGIC or version != VERSION or not base:
        if verbose:
            print("scone: the enclave is not loaded yet")
        return False
    old = _loaded.get(path)
    if old and old[0] == base:
        return True
    if old:
        gdb.execute(f"remove-symbol-file {old[1]}", to_string=True)
        os.unlink(old[1])
    _, offset, size, data = secs[IMAGE_SECTION]
    fd, image = tempfile.mkstemp(prefix="scone-enclave-", suffix=".elf")
    with os.fdopen(fd, "wb") as f:
        f.write(data[offset:offset + size])
    gdb.execute(f"add-symbol-file {image} -o {base:#x}", to_string=True)
    _loaded[path] = (base, image)
    if verbose:
        print(f"scone: enclave symbols loaded at {base:#x}")
    return True


def _on_stop(_event):
    try:
        load_symbols()
    except gdb.error as err:
        print(f"scone: cannot load the enclave's symbols: {err}")


def _on_exit():
    for _base, image in _loaded.values():
        try:
            os.unlink(image)
        except OSError:
            pass


class SconeSymbols(gdb.Command):
    """Load the enclave's symbols at the address the starter loaded it."""

    def __init__(self):
        super().__init__("scone-symbols", gdb.COMMAND_FILES)

    def invoke(self, arg, from_tty):
        load_symbols(verbose=True)


SconeSymbols()
gdb.events.stop.connect(_on_stop)
import atexit  # noqa: E402  (gdb's Python runs atexit handlers when gdb quits)

atexit.register(_on_exit)
