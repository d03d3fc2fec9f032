"""The image format is umoci's and skopeo's business; this module only calls them.

``umoci`` makes and edits OCI image layouts (init, new, unpack, repack,
config, gc); ``skopeo`` reads any image reference and converts a layout into
an oci-archive or docker-archive. Both are Debian packages (setup.sh).
A missing tool or a failed call is one SconeError naming the tool and the fix.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

from scone_cc.errors import SconeError

# The tools, and the Debian package that brings each.
PACKAGES = {"umoci": "umoci", "skopeo": "skopeo", "runc": "runc", "podman": "podman"}
# skopeo's transports: a reference starting with one of these is passed on as it is.
TRANSPORTS = ("oci:", "oci-archive:", "docker-archive:", "docker://", "docker-daemon:",
              "containers-storage:", "dir:")
FORMATS = ("oci", "oci-archive", "docker-archive")


def tool(name: str) -> str:
    """The path of ``name``, or SconeError saying how to install it."""
    path = shutil.which(name)
    if path is None:
        raise SconeError(f"{name} is not installed; install it with apt-get install "
                         f"{PACKAGES.get(name, name)} (setup.sh does)")
    return path


def call(argv: list[str], *, what: str, cwd=None) -> str:
    """Run a tool; its stdout, or SconeError with ``what`` and the tool's last error line."""
    try:
        out = subprocess.run([tool(argv[0]), *argv[1:]], capture_output=True, text=True, cwd=cwd)
    except OSError as err:
        raise SconeError(f"{what}: cannot run {argv[0]}: {err.strerror}") from None
    if out.returncode:
        lines = [ln.strip() for ln in out.stderr.splitlines() if ln.strip()]
        why = lines[-1] if lines else f"exit status {out.returncode}"
        raise SconeError(f"{what}: {argv[0]} {argv[1]} failed: {why}")
    return out.stdout


def is_layout(path: Path) -> bool:
    """An OCI image layout directory (it holds the ``oci-layout`` marker)."""
    return path.is_dir() and (path / "oci-layout").is_file()


def archive_kind(path: Path) -> str | None:
    """``oci-archive`` or ``docker-archive`` for an image archive, else None."""
    try:
        if not tarfile.is_tarfile(path):
            return None
        with tarfile.open(path) as tf:
            names = set(tf.getnames())
    except (OSError, tarfile.TarError):
        return None
    names = {n.removeprefix("./") for n in names}
    if "oci-layout" in names:
        return "oci-archive"
    if "manifest.json" in names:
        return "docker-archive"
    return None


def split_ref(image: str) -> tuple[Path, str | None]:
    """``DIR:TAG`` or ``FILE`` → (path, tag or None). A path that exists as given wins."""
    path = Path(image)
    if path.exists() or ":" not in image:
        return path, None
    head, _, tag = image.rpartition(":")
    return Path(head), tag


def reference(image) -> str:
    """The skopeo reference of ``image``: a layout DIR[:TAG], an archive, or a reference."""
    text = str(image)
    if text.startswith(TRANSPORTS):
        return text
    path, tag = split_ref(text)
    if is_layout(path):
        return f"oci:{path}" + (f":{tag}" if tag else "")
    if path.is_file() and tag is None:
        kind = archive_kind(path)
        if kind:
            return f"{kind}:{path}"
        raise SconeError(f"{path}: not an image archive (no oci-layout or manifest.json inside); "
                         "give an OCI layout directory or an archive from scone-image build")
    if path.exists():
        raise SconeError(f"{text}: not an OCI image layout (no oci-layout file); give the "
                         "directory scone-image build wrote")
    raise SconeError(f"{text}: no such image; give an OCI layout directory (DIR or DIR:TAG), "
                     "an image archive, or a skopeo reference such as docker://NAME")


def inspect_config(image) -> dict:
    """The image's configuration (OCI image config JSON) as skopeo reads it."""
    ref = reference(image)
    text = call(["skopeo", "inspect", "--config", ref], what=str(image))
    return json.loads(text)


def inspect(image) -> dict:
    """skopeo's summary of the image (Digest, Labels, Layers, …)."""
    ref = reference(image)
    return json.loads(call(["skopeo", "inspect", ref], what=str(image)))


def as_layout(image, scratch: Path) -> tuple[Path, str]:
    """An OCI layout holding ``image``, and its tag: the image itself, or a copy in ``scratch``."""
    ref = reference(image)
    if ref.startswith("oci:"):
        path, tag = split_ref(ref.removeprefix("oci:"))
        return path, tag or _only_tag(path, image)
    layout = scratch / "oci"
    call(["skopeo", "copy", "--quiet", ref, f"oci:{layout}:image"], what=str(image))
    return layout, "image"


def _only_tag(layout: Path, image) -> str:
    try:
        index = json.loads((layout / "index.json").read_text())
    except (OSError, ValueError) as err:
        raise SconeError(f"{image}: cannot read its index.json ({err}); the layout is damaged") \
            from None
    tags = [m.get("annotations", {}).get("org.opencontainers.image.ref.name")
            for m in index.get("manifests", [])]
    tags = [t for t in tags if t]
    if len(tags) != 1:
        raise SconeError(f"{image}: the layout holds {len(tags)} tagged images "
                         f"({', '.join(tags) or 'none'}); name one as DIR:TAG")
    return tags[0]
