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
    autoreconf. See apt_source for the fall-back over versions.
    """
    store = apps_cache() / "src" / package
    if not _orig(store):
        apt_source(package, store)
    return store


def source_versions(package: str) -> list[tuple[str, str]]:
    """(source package, version) pairs ``apt-cache showsrc`` lists for ``package``
    (a source or a binary package name), newest first."""
    import functools

    out = subprocess.run(["apt-cache", "showsrc", package], capture_output=True, text=True)
    found = []
    for record in out.stdout.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in record.splitlines()
                      if ": " in line and not line.startswith(" "))
        binaries = [b.strip() for b in fields.get("Binary", "").split(",")]
        if "Package" in fields and "Version" in fields and \
                package in (fields["Package"], *binaries):
            pair = (fields["Package"], fields["Version"])
            if pair not in found:
                found.append(pair)

    def newer(a, b):
        if a[1] == b[1]:
            return 0
        gt = subprocess.run(["dpkg", "--compare-versions", a[1], "gt", b[1]]).returncode == 0
        return -1 if gt else 1
    return sorted(found, key=functools.cmp_to_key(newer))


def apt_source(package: str, store: Path) -> list[Path]:
    """Download ``package``'s source files into ``store``; its upstream tarballs.

    apt's candidate first; if its files cannot be fetched (a security update
    whose files the mirror does not hold answers 404), every other version
    ``apt-cache showsrc`` lists, newest first. Raises SourceUnavailable,
    naming every attempt, if none can be fetched: callers fail, never skip.
    """
    if shutil.which("apt-get") is None:
        raise SourceUnavailable(f"{package}: apt-get is not available to fetch the source package")
    store.mkdir(parents=True, exist_ok=True)
    attempts = [package] + [f"{src}={version}" for src, version in source_versions(package)]
    errors = []
    for what in attempts:
        out = subprocess.run(["apt-get", "source", "--download-only", what], cwd=store,
                             capture_output=True, text=True)
        if out.returncode == 0 and _orig(store):
            return _orig(store)
        last = (out.stderr.strip().splitlines() or ["no upstream tarball"])[-1]
        errors.append(f"{what}: {last}")
        for partial in store.iterdir():     # a failed attempt's files are not trusted
            if partial.is_file():
                partial.unlink()
    raise SourceUnavailable(
        f"{package}: no version of the source package could be fetched ({'; '.join(errors)}); "
        "add a deb-src entry mirroring the deb one and run apt-get update")


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
