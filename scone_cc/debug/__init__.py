"""``scone-gdb``: gdb that knows where the enclave is.

A scone binary's code runs from the enclave image, loaded at an address the
starter chooses, so plain gdb shows ``?? ()`` for every enclave frame. The
gdb script beside this file (``scone_gdb.py``, run inside gdb's own
Python, stdlib only) reads that address from the starter's ``scone_debug``
record (runtime/untrusted/debugger.h) whenever the program stops and loads
the image's symbols and DWARF there. ``scone-gdb ARGS`` is ``gdb -x
<script> ARGS``; with plain gdb, ``-x $(scone-gcc --scone-print=gdb-script)``.
"""

import os
import sys

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "scone_gdb.py")


def main(argv=None) -> None:
    """Console entry point: replace this process by gdb with the script loaded."""
    args = sys.argv[1:] if argv is None else list(argv)
    gdb = os.environ.get("SCONE_GDB") or "gdb"
    try:
        os.execvp(gdb, [gdb, "-x", SCRIPT, *args])
    except OSError as err:
        sys.stderr.write(f"scone-gdb: error: {gdb}: cannot run it ({err.strerror}); "
                         "install gdb (apt-get install gdb) or set SCONE_GDB\n")
        sys.exit(127)
