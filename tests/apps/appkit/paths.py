"""Where fetched sources and cached builds live."""

import os
from pathlib import Path


def apps_cache() -> Path:
    """``$SCONE_CACHE/apps``, else ``~/.cache/scone/apps`` (XDG)."""
    env = os.environ.get("SCONE_CACHE")
    if env:
        return Path(env) / "apps"
    xdg = os.environ.get("XDG_CACHE_HOME") or os.path.join(Path.home(), ".cache")
    return Path(xdg) / "scone" / "apps"
