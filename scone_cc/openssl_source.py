"""OpenSSL's source from Debian's archive: choose a version, fetch, verify, unpack.

The shields' crypto library (DESIGN.md section 8) is OpenSSL 3.0 built from
Debian 12's source package, with Debian's patches (its security fixes among
them). Debian's security archive keeps only the newest upload, while the
package index may still list it before the mirror has it, or list older
ones that are gone: the newest listed version whose files download is used,
falling back in order.

Trust: apt's source index is signed (InRelease); the SHA-256 it lists for
each file of a version is checked against what was downloaded, and every
file the ``.dsc`` names is checked against the ``.dsc``'s own
Checksums-Sha256. The verified files are kept in ``<cache>/src/openssl/``
and used from there from then on, so the choice is made once per cache and
the archive is not asked again.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from .errors import SconeError

PACKAGE = "openssl"
# The decision is OpenSSL 3.0 (runtime/shield/crypto/README.md): other
# series are not candidates even if an index lists them.
SERIES = "3.0."
FIX = ("run `sh setup.sh` (adds a deb-src entry mirroring the deb one, then "
       "apt-get update) and check that deb.debian.org is reachable")
RECORD = "source.json"


@dataclass(frozen=True)
class Candidate:
    """One version of the source package as apt's index lists it."""

    version: str
    files: dict = field(default_factory=dict)  # name -> (sha256, size)

    @property
    def dsc(self) -> str:
        return next(n for n in self.files if n.endswith(".dsc"))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def parse_showsrc(text: str) -> list[Candidate]:
    """The versions in ``apt-cache showsrc`` output, with their Checksums-Sha256 files."""
    out = []
    for stanza in re.split(r"\n\s*\n", text):
        fields, key = {}, None
        for line in stanza.splitlines():
            if line[:1] in (" ", "\t") and key:
                fields[key].append(line.strip())
            elif ":" in line:
                key, _, value = line.partition(":")
                fields[key] = [value.strip()] if value.strip() else []
        if fields.get("Package") != [PACKAGE] or not fields.get("Version"):
            continue
        files = {}
        for row in fields.get("Checksums-Sha256", []):
            parts = row.split()
            if len(parts) == 3:
                files[parts[2]] = (parts[0], int(parts[1]))
        if any(n.endswith(".dsc") for n in files):
            out.append(Candidate(fields["Version"][0], files))
    return out


def parse_dsc(text: str) -> dict:
    """The Checksums-Sha256 of a ``.dsc``: name -> (sha256, size)."""
    files, inside = {}, False
    for line in text.splitlines():
        if line.startswith("Checksums-Sha256:"):
            inside = True
        elif inside and line[:1] == " ":
            parts = line.split()
            if len(parts) == 3:
                files[parts[2]] = (parts[0], int(parts[1]))
        elif inside:
            break
    return files


def _compare(ca: Candidate, cb: Candidate) -> int:
    """Debian version order, as dpkg has it."""
    a, b = ca.version, cb.version
    if a == b:
        return 0
    gt = subprocess.run(["dpkg", "--compare-versions", a, "gt", b]).returncode == 0
    return 1 if gt else -1


def candidates() -> list[Candidate]:
    """The 3.0 versions apt's index lists, newest first."""
    if shutil.which("apt-cache") is None:
        raise SconeError(f"cannot fetch the {PACKAGE} source: apt-cache not found; {FIX}")
    proc = subprocess.run(["apt-cache", "showsrc", PACKAGE], capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C"})
    found = [c for c in parse_showsrc(proc.stdout) if c.version.startswith(SERIES)]
    if not found:
        raise SconeError(f"apt-cache showsrc {PACKAGE}: no {SERIES}x source package listed; {FIX}")
    return sorted(found, key=functools.cmp_to_key(_compare), reverse=True)


def verify(folder: Path, cand: Candidate) -> None:
    """Raise SconeError unless every file of ``cand`` in ``folder`` matches the
    index and the ``.dsc``'s own checksums."""
    for name, (sha, size) in cand.files.items():
        p = folder / name
        if not p.is_file():
            raise SconeError(f"{p}: missing")
        got = sha256_file(p)
        if got != sha or p.stat().st_size != size:
            raise SconeError(f"{p}: sha256 {got} does not match apt's index ({sha}); "
                             "the download is corrupt or the index is stale")
    dsc = parse_dsc((folder / cand.dsc).read_text(errors="replace"))
    if not dsc:
        raise SconeError(f"{folder / cand.dsc}: no Checksums-Sha256 field")
    for name, (sha, _size) in dsc.items():
        p = folder / name
        got = sha256_file(p) if p.is_file() else "missing"
        if got != sha:
            raise SconeError(f"{p}: sha256 {got} does not match {cand.dsc} ({sha})")


def _download(cand: Candidate, dest: Path) -> None:
    """``apt-get source --download-only openssl=VERSION`` into ``dest``, verified."""
    proc = subprocess.run(["apt-get", "source", "--download-only", f"{PACKAGE}={cand.version}"],
                          cwd=dest, capture_output=True, text=True,
                          env={**os.environ, "LC_ALL": "C"})
    missing = [n for n in cand.files if not (dest / n).is_file()]
    if proc.returncode != 0 or missing:
        errs = [ln for ln in proc.stderr.splitlines() if ln.startswith("E:")]
        raise SconeError((errs or [f"exit {proc.returncode}"])[0])
    verify(dest, cand)


def recorded(cache: Path) -> dict | None:
    """The source chosen earlier in this cache (version, dsc, dsc_sha256), if any."""
    try:
        rec = json.loads((cache / "src" / PACKAGE / RECORD).read_text())
        return rec if {"version", "dsc", "dsc_sha256", "files"} <= rec.keys() else None
    except (OSError, ValueError, AttributeError):
        return None


def fetch(cache: Path) -> tuple[Path, dict]:
    """The verified source files' folder and their record, downloading once.

    Tries the listed versions newest first; fails naming each one tried.
    """
    store = cache / "src" / PACKAGE
    rec = recorded(cache)
    if rec:
        folder = store / rec["version"]
        cand = Candidate(rec["version"], {k: tuple(v) for k, v in rec["files"].items()})
        try:
            verify(folder, cand)
            return folder, rec
        except (SconeError, OSError):
            pass  # damaged: choose and fetch again
    if shutil.which("apt-get") is None:
        raise SconeError(f"cannot fetch the {PACKAGE} source: apt-get not found; {FIX}")
    store.mkdir(parents=True, exist_ok=True)
    tried = []
    for cand in candidates():
        tmp = Path(tempfile.mkdtemp(prefix=".fetch-", dir=store))
        try:
            _download(cand, tmp)
        except SconeError as err:
            tried.append(f"{cand.version}: {err}")
            shutil.rmtree(tmp, ignore_errors=True)
            continue
        folder = store / cand.version
        if folder.exists():
            shutil.rmtree(folder)
        os.rename(tmp, folder)
        rec = {"version": cand.version, "dsc": cand.dsc,
               "dsc_sha256": cand.files[cand.dsc][0],
               "files": {k: list(v) for k, v in cand.files.items()}}
        from .fsutil import atomic_write

        atomic_write(store / RECORD, (json.dumps(rec, indent=2) + "\n").encode())
        return folder, rec
    raise SconeError(f"cannot fetch the {PACKAGE} source: every listed version failed ("
                     + "; ".join(tried) + f"); {FIX}")


def unpack(folder: Path, rec: dict, dest: Path) -> Path:
    """Extract with Debian's patches applied, as ``dpkg-source -x`` does; returns the tree."""
    if shutil.which("dpkg-source") is None:
        raise SconeError("dpkg-source not found: install dpkg-dev (`sh setup.sh` does)")
    tree = dest / "openssl"
    # --no-check: the files were verified above against the signed index.
    proc = subprocess.run(["dpkg-source", "--no-check", "-x", str(folder / rec["dsc"]), str(tree)],
                          capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
    if proc.returncode != 0 or not (tree / "Configure").is_file():
        raise SconeError(f"dpkg-source -x {rec['dsc']} failed: "
                         f"{(proc.stderr.strip().splitlines() or ['no tree'])[-1]}")
    return tree
