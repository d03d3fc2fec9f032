"""``scone-image build``: a recipe becomes one OCI image, reproducibly and atomically.

A scone binary needs no base: it is a static executable (the starter
with the enclave inside), so the one layer holds the recipe's enclaves,
their volumes, its other files and an empty ``/tmp``, nothing else. A
program that is not one (the CAS, in Python) names a ``[base]`` root file
system (base.py), which becomes a first layer of its own. umoci writes the
layers and the configuration; skopeo converts the layout into an archive
when one is asked for.

Reproducible: every file's mtime is set to the build time, owners are the
recipe's (root by default), umoci writes the layer's entries sorted, and the
image's ``created`` and its one history entry are the build time, which is
``SOURCE_DATE_EPOCH`` (default 0, as ko does), never the clock. The same
inputs therefore give the same manifest digest.

Atomic: everything is built in a temporary directory beside the output and
renamed over it at the end; on any error nothing is left. An existing
output is replaced only if it is an image (an OCI layout or an image
archive), never another file.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.image import base as base_mod, labels as labels_mod, oci
from scone_cc.image.recipe import Entry, Recipe

CREATED_BY = "scone-image build"


@dataclass(frozen=True)
class Built:
    """What ``build`` wrote."""

    path: Path
    format: str
    reference: str
    digest: str
    size: int
    created: str
    enclaves: list


def build_epoch(environ=os.environ) -> int:
    """``SOURCE_DATE_EPOCH`` (reproducible-builds.org), else 0."""
    text = environ.get("SOURCE_DATE_EPOCH")
    if text is None or text == "":
        return 0
    if not text.isdigit():
        raise SconeError(f"SOURCE_DATE_EPOCH={text!r} is not a number of seconds since 1970; "
                         "set it to e.g. $(git log -1 --format=%ct)")
    return int(text)


def _rfc3339(epoch: int) -> str:
    return _dt.datetime.fromtimestamp(epoch, _dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def output_format(output: Path, fmt: str | None) -> str:
    """The asked format, else ``oci-archive`` for ``*.tar`` and an OCI layout otherwise."""
    if fmt is None:
        return "oci-archive" if output.suffix == ".tar" else "oci"
    if fmt not in oci.FORMATS:
        raise SconeError(f"--format {fmt}: expected one of {', '.join(oci.FORMATS)}")
    return fmt


def _check_output(output: Path) -> None:
    if output.is_symlink() or (output.exists() and not (oci.is_layout(output)
                                                       or oci.archive_kind(output))):
        raise SconeError(f"{output}: exists and is not an image; remove it or choose another "
                         "output (only an image is ever replaced)")
    parent = output.parent
    if not parent.is_dir():
        raise SconeError(f"{output}: no such directory {parent}; create it first")


def build(recipe: Recipe, output, *, fmt: str | None = None, epoch: int | None = None) -> Built:
    """Build ``recipe`` into ``output`` (a layout directory or an archive file).

    Every binary is checked (``labels.enclave_facts``) before anything is
    written. Raises SconeError; on error ``output`` is as it was.
    """
    output = Path(output)
    fmt = output_format(output, fmt)
    epoch = build_epoch() if epoch is None else epoch
    _check_output(output)
    for tool in ("umoci", "skopeo"):
        oci.tool(tool)
    if os.geteuid() != 0 and _needs_chown(recipe):
        raise SconeError(f"{recipe.path}: an owner other than 0:0 needs root to build; "
                         "run scone-image build as root or drop the owner")
    enclaves = labels_mod.recipe_enclaves(recipe)
    base_tar = (base_mod.rootfs_tar(recipe.base, str(recipe.path))
                if recipe.base is not None else None)
    try:
        scratch = Path(tempfile.mkdtemp(prefix=f".{output.name}.", suffix=".tmp",
                                        dir=output.parent))
    except OSError as err:
        raise SconeError(f"{output}: cannot write in {output.parent} ({err.strerror}); "
                         "choose a writable output") from None
    try:
        layout = _layout(recipe, scratch, enclaves, epoch, base_tar)
        product = layout
        if fmt != "oci":
            product = scratch / "image.tar"
            oci.call(["skopeo", "copy", "--quiet", f"oci:{layout}:{recipe.tag}",
                      f"{fmt}:{product}:{recipe.reference}"], what=str(output))
            product.chmod(0o644)
        summary = oci.inspect(f"{fmt}:{product}" + (f":{recipe.tag}" if fmt == "oci" else ""))
        _put(product, output)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return Built(output, fmt, recipe.reference, summary["Digest"], _size(output),
                 _rfc3339(epoch), enclaves)


def _layout(recipe: Recipe, scratch: Path, enclaves: list, epoch: int,
            base_tar: Path | None = None) -> Path:
    layout, bundle = scratch / "oci", scratch / "bundle"
    image = f"{layout}:{recipe.tag}"
    where = str(recipe.path)
    rootless = ["--rootless"] if os.geteuid() != 0 else []
    created = _rfc3339(epoch)
    oci.call(["umoci", "init", "--layout", str(layout)], what=where)
    oci.call(["umoci", "new", "--image", image], what=where)
    oci.call(["umoci", "unpack", *rootless, "--image", image, str(bundle)], what=where)
    if recipe.base is not None:
        # The base is a layer of its own: images on the same base share it.
        base_mod.unpack(base_tar, bundle / "rootfs", where)
        _set_times(bundle / "rootfs", epoch)
        oci.call(["umoci", "repack", "--refresh-bundle", "--image", image,
                  f"--history.created={created}", f"--history.created_by={CREATED_BY}",
                  f"--history.comment=base: {recipe.base.describe()}", str(bundle)], what=where)
    _populate(bundle / "rootfs", recipe, epoch)
    # The history comment repeats each enclave's identity: umoci stat prints it.
    comment = "; ".join(f"{e['path']} MRENCLAVE {e['mrenclave']} MRSIGNER {e['mrsigner']}"
                        for e in enclaves)
    oci.call(["umoci", "repack", "--image", image, f"--history.created={created}",
              f"--history.created_by={CREATED_BY}", f"--history.comment={comment}",
              str(bundle)], what=where)
    config = _config_args(recipe, enclaves, created, base_tar)
    oci.call(["umoci", "config", "--image", image, "--no-history", *config], what=where)
    oci.call(["umoci", "gc", "--layout", str(layout)], what=where)
    # umoci writes blobs 0600: others could not read (or load) the image.
    for dirpath, dirnames, filenames in os.walk(layout):
        for name in filenames:
            os.chmod(os.path.join(dirpath, name), 0o644)
    return layout


def _config_args(recipe: Recipe, enclaves: list, created: str,
                 base_tar: Path | None = None) -> list[str]:
    # The "--flag=value" form throughout: a value may itself start with "-".
    args = [f"--created={created}", "--os=linux", "--architecture=amd64",
            f"--config.user={recipe.user}", f"--config.workingdir={recipe.workdir}"]
    args += [f"--config.entrypoint={a}" for a in recipe.entrypoint]
    args += [f"--config.cmd={a}" for a in recipe.cmd]
    args += [f"--config.env={k}={v}" for k, v in recipe.environment()]
    args += [f"--config.exposedports={p}" for p in recipe.ports]
    image_labels = {"org.opencontainers.image.title": recipe.name,
                    "org.opencontainers.image.version": recipe.tag,
                    "org.opencontainers.image.created": created}
    if base_tar is not None:
        image_labels["scone.base"] = recipe.base.describe()
        image_labels["scone.base.sha256"] = base_mod.sha256(base_tar)
    image_labels.update(recipe.labels)
    image_labels.update(labels_mod.to_labels(enclaves))
    args += [f"--config.label={k}={v}" for k, v in sorted(image_labels.items())]
    return args


def _needs_chown(recipe: Recipe) -> bool:
    entries = list(recipe.files) + [v for e in recipe.enclaves for v in e.volumes]
    return any(e.owner != (0, 0) for e in entries)


def _populate(rootfs: Path, recipe: Recipe, epoch: int) -> None:
    """Lay the recipe's entries out under ``rootfs``, then fix every mtime to ``epoch``."""
    for e in recipe.enclaves:
        _copy(Entry(e.source, e.target, 0o755), rootfs, str(recipe.path))
        for v in e.volumes:
            _copy(v, rootfs, str(recipe.path))
    for f in recipe.files:
        _copy(f, rootfs, str(recipe.path))
    tmp = rootfs / "tmp"
    if not tmp.exists():
        tmp.mkdir()
        tmp.chmod(0o1777)
    _set_times(rootfs, epoch)


def _set_times(rootfs: Path, epoch: int) -> None:
    for dirpath, dirnames, filenames in os.walk(rootfs, topdown=False):
        for name in filenames + dirnames:
            os.utime(os.path.join(dirpath, name), (epoch, epoch), follow_symlinks=False)
    os.utime(rootfs, (epoch, epoch))


def _place(rootfs: Path, target: str, where: str) -> Path:
    """The path of ``target`` under ``rootfs``, its folders made. With a base, a folder on the
    way may be the base's symbolic link, possibly absolute (/etc/alternatives): never followed."""
    node = rootfs
    for part in Path(target).parts[1:-1]:
        node = node / part
        if node.is_symlink() or (node.exists() and not node.is_dir()):
            kind = "a symbolic link" if node.is_symlink() else "a file"
            raise SconeError(f"{where}: target {target}: /{node.relative_to(rootfs)} is {kind} "
                             "in the base; name the real path (a link is never followed, it "
                             "could lead out of the image)")
        if not node.exists():
            node.mkdir(mode=0o755)
    return rootfs / target.lstrip("/")


def _copy(entry: Entry, rootfs: Path, where: str) -> None:
    """Copy ``entry`` without the source's owner, times or extended attributes."""
    dest = _place(rootfs, entry.target, where)
    src = entry.source
    if src.is_dir() and not src.is_symlink():
        _copy_tree(src, dest, entry.owner, where, entry.exclude)
        if entry.mode is not None:
            dest.chmod(entry.mode)
        return
    _copy_one(src, dest, entry.owner, where)
    if entry.mode is not None:
        dest.chmod(entry.mode)


def _copy_one(src: Path, dest: Path, owner: tuple[int, int], where: str) -> None:
    try:
        st = src.lstat()
        if os.path.lexists(dest):
            # The base's: a folder is merged into, a file or link replaced (never written through).
            if stat.S_ISDIR(dest.lstat().st_mode):
                if not stat.S_ISDIR(st.st_mode):
                    raise SconeError(f"{where}: {src} would replace the base's folder "
                                     f"{dest.name}; name another target")
                return          # its owner and mode stay the base's
            os.unlink(dest)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(src), dest)
        elif stat.S_ISREG(st.st_mode):
            shutil.copyfile(src, dest)
            dest.chmod(stat.S_IMODE(st.st_mode))
        elif stat.S_ISDIR(st.st_mode):
            dest.mkdir()
            dest.chmod(stat.S_IMODE(st.st_mode))
        else:
            raise SconeError(f"{where}: {src} is neither a file, a directory nor a symbolic "
                             "link; an image holds only those")
        if os.geteuid() == 0:
            os.chown(dest, *owner, follow_symlinks=False)
    except OSError as err:
        raise SconeError(f"{where}: cannot copy {src}: {err.strerror}") from None


def _copy_tree(src: Path, dest: Path, owner: tuple[int, int], where: str,
               exclude: tuple[str, ...] = ()) -> None:
    _copy_one(src, dest, owner, where)
    try:
        children = sorted(os.scandir(src), key=lambda d: d.name)
    except OSError as err:
        raise SconeError(f"{where}: cannot read {src}: {err.strerror}") from None
    for child in children:
        if any(fnmatch.fnmatchcase(child.name, p) for p in exclude):
            continue
        path = Path(child.path)
        if child.is_dir(follow_symlinks=False):
            _copy_tree(path, dest / child.name, owner, where, exclude)
        else:
            _copy_one(path, dest / child.name, owner, where)


def _put(product: Path, output: Path) -> None:
    """Rename ``product`` over ``output``; a directory on either side is swapped by two renames."""
    try:
        if output.exists() and (output.is_dir() or product.is_dir()):
            old = product.parent / "replaced"
            os.rename(output, old)
            try:
                os.rename(product, output)
            except OSError:
                os.rename(old, output)
                raise
        else:
            os.replace(product, output)
    except OSError as err:
        raise SconeError(f"{output}: cannot write: {err.strerror}") from None


def _size(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())
