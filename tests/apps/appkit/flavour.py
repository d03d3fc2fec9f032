"""The ways one source is built: in the enclave (scone-gcc), native plain musl, native glibc.

``scone`` runs in SIM, chosen explicitly: ``AUTO`` would print its
no-device warning on every start, and build tools that treat any stderr
output as failure (Tcl's ``exec``) would stop.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field

NAMES = ("scone", "musl", "glibc")


class FlavourUnavailable(RuntimeError):
    """The compiler a flavour needs is missing."""


@dataclass(frozen=True)
class Flavour:
    name: str
    cc: str
    key: str  # cache key: builds are reused while it stays the same
    env: dict = field(compare=False, hash=False)

    def environ(self, allow: tuple[str, ...] = (), **extra: str) -> dict:
        """The environment for configure/make/run, with ``allow`` as the link's SCONE_ALLOW."""
        env = dict(os.environ, **self.env, **extra)
        env.pop("SCONE_NATIVE", None)
        if self.name == "scone":
            if allow:
                env["SCONE_ALLOW"] = ",".join(allow)
            else:
                env.pop("SCONE_ALLOW", None)
        return env

    @property
    def enclave(self) -> bool:
        return self.name == "scone"


def get(name: str) -> Flavour:
    """The flavour ``name`` (one of ``NAMES``); raises FlavourUnavailable if its compiler is missing."""
    if name == "scone":
        if shutil.which("scone-gcc") is None:
            raise FlavourUnavailable("scone-gcc is not installed; run pip install -e .")
        env = dict(os.environ)
        env.pop("SCONE_NATIVE", None)
        out = subprocess.run(["scone-gcc", "-print-sysroot"], capture_output=True, text=True, env=env)
        if out.returncode:
            raise FlavourUnavailable(f"scone-gcc -print-sysroot failed: {out.stderr.strip()}")
        sysroot = out.stdout.strip()
        return Flavour("scone", "scone-gcc", "scone-" + os.path.basename(sysroot),
                       {"CC": "scone-gcc", "SCONE_MODE": "SIM"})
    if name == "musl":
        if shutil.which("musl-gcc") is None:
            raise FlavourUnavailable("musl-gcc is missing: apt-get install musl-tools")
        # musl-gcc links dynamically against /lib/ld-musl by default; the baseline is static.
        return Flavour("musl", "musl-gcc -static", "musl", {"CC": "musl-gcc -static"})
    if name == "glibc":
        return Flavour("glibc", "gcc", "glibc", {"CC": "gcc"})
    raise ValueError(f"flavour {name!r}: expected one of {', '.join(NAMES)}")
