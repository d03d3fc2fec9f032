"""Files that put scone-gcc into build systems: a CMake toolchain file, a
Meson cross file and the ``scone-pkg-config`` wrapper, all around one
install prefix for libraries built with scone-gcc (``paths.prefix_dir``).

``scone-gcc --scone-print=WHAT`` prints their paths (``files()``).
"""

import os

HERE = os.path.dirname(os.path.abspath(__file__))

# What --scone-print answers, besides the prefix.
FILES = {
    "cmake-toolchain": "toolchain.cmake",
    "meson-cross": "meson-cross.ini",
}


def answer(what: str):
    """The path printed by ``--scone-print=WHAT``, or None for an unknown WHAT."""
    if what == "prefix":
        from scone_cc.paths import prefix_dir

        return str(prefix_dir())
    if what == "pkg-config":
        import shutil

        return shutil.which("scone-pkg-config") or "scone-pkg-config"
    if what == "gdb-script":
        from scone_cc.debug import SCRIPT

        return SCRIPT
    name = FILES.get(what)
    return os.path.join(HERE, name) if name else None


CHOICES = ("prefix", "cmake-toolchain", "meson-cross", "pkg-config", "gdb-script")
