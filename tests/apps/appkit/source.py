"""Upstream sources from Debian's source packages, downloaded once into the scone cache."""

from __future__ import annotations

import shutil
import subprocess
import tarfile
from pathlib import Path

from .paths import apps_cache


class SourceUnavailable(RuntimeError):
    """The source package cannot be fetched (no apt-get, no deb-src, no network)."""


def fetch(package: str) -> Path:
    """The folder holding ``package``'s Debian source files, downloading them once.

    Only ``apt-get source --download-only``: the upstream tarball is used
    as released, so Debian's patches are not applied and nothing needs
    autoreconf.
    """
    store = apps_cache() / "src" / package
    if _orig(store):
        return store
    if shutil.which("apt-get") is None:
        raise SourceUnavailable(f"{package}: apt-get is not available to fetch the source package")
    store.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["apt-get", "source", "--download-only", package], cwd=store,
                         capture_output=True, text=True)
    if not _orig(store):
        raise SourceUnavailable(
            f"{package}: apt-get source failed ({out.stderr.strip()[-300:]}); "
            "add a deb-src entry mirroring the deb one and run apt-get update")
    return store


def _orig(store: Path) -> list[Path]:
    # Debian splits some packages into orig-<component> tarballs; the main one is wanted.
    return sorted(p for p in store.glob("*.orig.tar.*")
                  if "orig-" not in p.name and not p.name.endswith(".asc"))


def unpack(package: str, dest: Path) -> Path:
    """Unpack ``package``'s upstream tarball under ``dest``; returns its top folder."""
    tarball = _orig(fetch(package))[0]
    with tarfile.open(tarball) as tf:
        top = tf.getnames()[0].split("/")[0]
        tf.extractall(dest, filter="data")
    return dest / top
