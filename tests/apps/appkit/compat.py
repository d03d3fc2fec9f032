"""Headers musl deliberately omits that some upstream sources include unconditionally.

musl ships no ``<sys/queue.h>`` (BSD list macros; distributions built on
musl package it apart). The host's copy is a self-contained macro header,
so both musl flavours get it from one extra ``-idirafter`` folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from .paths import apps_cache

_HOST_QUEUE_H = (Path("/usr/include/x86_64-linux-gnu/sys/queue.h"), Path("/usr/include/sys/queue.h"))


def bsd_queue_include() -> Path:
    """A folder holding ``sys/queue.h``, for ``CPPFLAGS=-idirafter <folder>``."""
    inc = apps_cache() / "compat" / "include"
    target = inc / "sys" / "queue.h"
    if not target.exists():
        host = next((p for p in _HOST_QUEUE_H if p.exists()), None)
        if host is None:
            raise FileNotFoundError("sys/queue.h: not found on the host; apt-get install libc6-dev")
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(".tmp")
        shutil.copyfile(host, tmp)
        tmp.replace(target)
    return inc
