"""Headers that upstream sources include unconditionally but a musl toolchain here lacks.

* ``<sys/queue.h>``: musl ships none (BSD list macros; distributions built
  on musl package it apart). The host's copy is a self-contained macro header.
* ``<crypt.h>``: upstream musl installs it, Debian's musl-dev leaves it out
  although ``crypt()`` is in its libc.a; the copy comes from upstream musl's
  own headers as installed in the scone sysroot.

Both go in one folder given with ``-idirafter``, after the compiler's own
headers, so a toolchain that has them uses its own.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from .paths import apps_cache

_HOST_QUEUE_H = (Path("/usr/include/x86_64-linux-gnu/sys/queue.h"), Path("/usr/include/sys/queue.h"))


def _sysroot_crypt_h() -> Path | None:
    out = subprocess.run(["scone-gcc", "-print-sysroot"], capture_output=True, text=True)
    path = Path(out.stdout.strip()) / "include" / "crypt.h"
    return path if out.returncode == 0 and path.exists() else None


def _place(target: Path, origin: Path | None, why: str) -> None:
    if target.exists():
        return
    if origin is None:
        raise FileNotFoundError(f"{target.name}: no copy found; {why}")
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".tmp")
    shutil.copyfile(origin, tmp)
    tmp.replace(target)


def include_dir() -> Path:
    """A folder with ``sys/queue.h`` and ``crypt.h``, for ``-idirafter <folder>``."""
    inc = apps_cache() / "compat" / "include"
    _place(inc / "sys" / "queue.h", next((p for p in _HOST_QUEUE_H if p.exists()), None),
           "apt-get install libc6-dev")
    _place(inc / "crypt.h", _sysroot_crypt_h(), "install scone (pip install -e .) so its sysroot builds")
    return inc
