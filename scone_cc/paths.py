"""Where scone finds its own sources and keeps its caches and keys.

Import-cheap (stdlib only): used on scone-gcc's compile path.
"""

import os
from pathlib import Path


def data_root() -> Path:
    """The folder holding ``libc_patch/``, ``runtime/`` and ``linker_scripts/``.

    A wheel carries them under ``scone_cc/_data``; an editable install or a
    checkout uses the repository itself.
    """
    here = Path(__file__).resolve().parent
    packaged = here / "_data"
    if (packaged / "runtime").is_dir():
        return packaged
    return here.parent


def cache_dir() -> Path:
    """Cache for sysroots and fetched sources: ``$SCONE_CACHE``, else XDG."""
    env = os.environ.get("SCONE_CACHE")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(xdg) / "scone"


def config_dir() -> Path:
    """``~/.config/scone`` (XDG): where the developer signing key lives."""
    xdg = os.environ.get("XDG_CONFIG_HOME") or os.path.join(Path.home(), ".config")
    return Path(xdg) / "scone"


def prefix_dir() -> Path:
    """Install prefix for libraries built with scone-gcc: ``$SCONE_PREFIX``,
    else ``~/.local/share/scone/prefix`` (XDG). The build-system files
    (scone_cc/buildsys) search there and nowhere else."""
    env = os.environ.get("SCONE_PREFIX")
    if env:
        return Path(env)
    xdg = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(xdg) / "scone" / "prefix"
