"""The one syscall table (DESIGN.md §5): every x86-64 Linux call and its class.

``table()`` maps number -> Entry; ``by_name(name)`` finds one entry. The source
is ``syscalls.tbl`` next to this file; the runtime's C header is generated
from it (``python3 -m scone_cc.syscalls.gen_c``).
"""

import functools
from pathlib import Path
from types import MappingProxyType

from .model import CLASSES, EXTERNAL, INTERNAL, UNSUPPORTED, Arg, Entry, Ret

__all__ = ["table", "by_name", "TABLE_PATH", "PSEUDO_BASE", "Entry", "Arg", "Ret",
           "CLASSES", "INTERNAL", "EXTERNAL", "UNSUPPORTED"]

TABLE_PATH = Path(__file__).with_name("syscalls.tbl")

# Pseudo-calls of the scone hook start here; Linux numbers stay below.
PSEUDO_BASE = 1024


@functools.lru_cache(maxsize=None)
def table() -> MappingProxyType:
    """Immutable mapping nr -> Entry for every call in syscalls.tbl (DESIGN.md §5)."""
    from .parse import parse_table

    return MappingProxyType(parse_table(TABLE_PATH.read_text(), str(TABLE_PATH)))


@functools.lru_cache(maxsize=None)
def _names() -> MappingProxyType:
    return MappingProxyType({e.name: e for e in table().values()})


def by_name(name: str) -> Entry | None:
    """The Entry called ``name`` (kernel name, e.g. ``pread64``), or None."""
    return _names().get(name)
