"""scone-fs: the host side of the file-system shield's volumes.

    scone-fs create DIR --key-file K [--from PLAINDIR] [--mode encrypted|authenticated]
    scone-fs add VOLUME FILE... [--as RELPATH] [--mode ...]
    scone-fs ls VOLUME          scone-fs verify VOLUME [--tag HEX]
    scone-fs cat VOLUME RELPATH scone-fs extract VOLUME OUTDIR [RELPATH...]
    scone-fs tag VOLUME

Exit status: 0 ok; 1 verification failure (one line per problem, naming the
file: "path: code: what"); 2 bad input (arguments, unreadable files, keys).
Every reporting command takes --json.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from scone_cc.errors import SconeError, run_cli
from scone_cc.fs import volume as vol

PROG = "scone-fs"


def _json(data) -> None:
    click.echo(json.dumps(data, indent=2))


def _parse_key(raw: bytes, where: str) -> bytes:
    if len(raw) == 16:
        return raw
    text = raw.strip()
    if len(text) == 32:
        try:
            return bytes.fromhex(text.decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            pass
    raise SconeError(f"{where}: a volume key is 16 raw bytes or 32 hex digits "
                     f"(got {len(raw)} bytes); make one with: head -c 16 /dev/urandom > key")


def _key(key_file, key_hex) -> bytes:
    if bool(key_file) == bool(key_hex):
        raise SconeError("give the volume key with exactly one of --key-file FILE or --key-hex HEX")
    if key_hex:
        return _parse_key(key_hex.encode(), "--key-hex")
    try:
        return _parse_key(Path(key_file).read_bytes(), key_file)
    except OSError as err:
        raise SconeError(f"{key_file}: cannot read the key file ({err.strerror})") from None


def key_options(f):
    f = click.option("--key-hex", metavar="HEX", help="Volume key as 32 hex digits.")(f)
    f = click.option("--key-file", type=click.Path(dir_okay=False),
                     help="Volume key: a file of 16 raw bytes or 32 hex digits.")(f)
    return f


def _mode_option(f):
    return click.option("--mode", type=click.Choice(["encrypted", "authenticated"]),
                        default="encrypted", show_default=True,
                        help="Protection of the files added.")(f)


def _read_plain(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read ({err.strerror})") from None


def _fail(problems: list[vol.Problem], as_json: bool, extra: dict) -> None:
    if as_json:
        _json({**extra, "ok": False, "problems": [p.__dict__ for p in problems]})
    for p in problems:
        click.echo(p.line(), err=True)
    sys.exit(1)


def _open(volume, key, tag=None) -> vol.Volume:
    """A refusal of the volume as a whole is one line naming the metadata
    file, exit status 1 (run_cli prints it)."""
    return vol.Volume.open(volume, key, tag)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """Create, fill, inspect and verify scone file-system volumes.

    \b
    Exit status: 0 ok; 1 verification failure (one line per problem,
    "path: code: what"); 2 bad input. Format: runtime/shield/fs/FORMAT.md.
    """


@cli.command()
@click.argument("directory", type=click.Path(file_okay=False))
@key_options
@click.option("--from", "source", type=click.Path(file_okay=False),
              help="Fill the volume with the files of this plain directory.")
@_mode_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def create(directory, key_file, key_hex, source, mode, as_json):
    """Make a new volume in DIRECTORY (absent or empty)."""
    key = _key(key_file, key_hex)
    items = []
    if source:
        src = Path(source)
        if not src.is_dir():
            raise SconeError(f"{src}: no such directory (--from)")
        for dirpath, dirnames, filenames in os.walk(src):
            dirnames.sort()
            for name in sorted(filenames):
                p = Path(dirpath) / name
                if p.is_symlink() or not p.is_file():
                    raise SconeError(f"{p}: not a regular file; volumes hold regular files only")
                rel = p.relative_to(src).as_posix()
                vol.check_path(rel)
                items.append((rel, _read_plain(p)))
    v = vol.Volume.create(directory, key)
    if items:
        v.add(items, vol.KINDS[mode])
    if as_json:
        _json({"volume": str(directory), "files": len(items), "tag": v.tag.hex()})
    else:
        click.echo(f"{directory}: volume with {len(items)} files, tag {v.tag.hex()}")


@cli.command()
@click.argument("volume", type=click.Path(file_okay=False))
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@key_options
@click.option("--as", "as_path", metavar="RELPATH", help="Path inside the volume (one FILE only).")
@_mode_option
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def add(volume, files, key_file, key_hex, as_path, mode, as_json):
    """Add (or replace) FILES in VOLUME, in one commit."""
    key = _key(key_file, key_hex)
    if as_path and len(files) != 1:
        raise SconeError("--as names one file; give exactly one FILE with it")
    items = [(vol.check_path(as_path or Path(f).name), _read_plain(Path(f))) for f in files]
    v = _open(volume, key)
    v.add(items, vol.KINDS[mode])
    if as_json:
        _json({"volume": str(volume), "added": [rel for rel, _ in items], "tag": v.tag.hex()})
    else:
        click.echo(f"{volume}: added {len(items)} file(s), tag {v.tag.hex()}")


@cli.command("ls")
@click.argument("volume", type=click.Path(file_okay=False))
@key_options
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def ls_(volume, key_file, key_hex, as_json):
    """List the files VOLUME records (from its metadata only)."""
    v = _open(volume, _key(key_file, key_hex))
    entries = [v.meta.entries[p] for p in sorted(v.meta.entries, key=lambda p: p.encode())]
    if as_json:
        _json({"volume": str(volume), "counter": v.meta.counter, "tag": v.tag.hex(),
               "files": [e.record() for e in entries]})
        return
    for e in entries:
        click.echo(f"{vol.KIND_NAMES[e.kind]:<13} {e.size:>12}  {e.path}")


@cli.command()
@click.argument("volume", type=click.Path(file_okay=False))
@key_options
@click.option("--tag", "tag_hex", metavar="HEX", help="Expected volume tag (refuses a rollback).")
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def verify(volume, key_file, key_hex, tag_hex, as_json):
    """Check every file of VOLUME against its metadata (offline, with the key)."""
    key = _key(key_file, key_hex)
    tag = None
    if tag_hex is not None:
        try:
            tag = bytes.fromhex(tag_hex)
        except ValueError:
            tag = b""
        if len(tag) != 32:
            raise SconeError("--tag: a volume tag is 64 hex digits (scone-fs tag prints it)")
    try:
        v = _open(volume, key, tag)
    except vol.VolumeError as err:
        msg = str(err).removeprefix(vol.META_NAME + ": ")
        _fail([vol.Problem(vol.META_NAME, err.code, msg)], as_json, {"volume": str(volume)})
    problems = v.verify()
    facts = {"volume": str(volume), "files": len(v.meta.entries), "tag": v.tag.hex()}
    if problems:
        _fail(problems, as_json, facts)
    if as_json:
        _json({**facts, "ok": True, "problems": []})
    else:
        click.echo(f"{volume}: ok, {len(v.meta.entries)} files, tag {v.tag.hex()}")


@cli.command()
@click.argument("volume", type=click.Path(file_okay=False))
@click.argument("relpath")
@key_options
def cat(volume, relpath, key_file, key_hex):
    """Write the plaintext of RELPATH to stdout (checked in full first)."""
    v = _open(volume, _key(key_file, key_hex))
    try:
        data = v.read(relpath)
    except vol.VolumeError as err:
        _fail([vol.Problem(relpath, err.code, str(err).split(": ", 1)[-1])], False, {})
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()


@cli.command()
@click.argument("volume", type=click.Path(file_okay=False))
@click.argument("outdir", type=click.Path(file_okay=False))
@click.argument("relpaths", nargs=-1)
@key_options
@click.option("--force", is_flag=True, help="Replace files that exist in OUTDIR.")
@click.option("--json", "as_json", is_flag=True, help="Print what was written as JSON.")
def extract(volume, outdir, relpaths, key_file, key_hex, force, as_json):
    """Decrypt files (all by default) into OUTDIR; nothing is written unless
    every one of them verifies, and no existing file is replaced without
    --force."""
    from scone_cc.fsutil import atomic_write

    v = _open(volume, _key(key_file, key_hex))
    names = list(relpaths) or sorted(v.meta.entries, key=lambda p: p.encode())
    for rel in names:
        vol.check_path(rel)
    plain, problems = {}, []
    for rel in names:
        try:
            plain[rel] = v.read(rel)
        except vol.VolumeError as err:
            problems.append(vol.Problem(rel, err.code, str(err).split(": ", 1)[-1]))
    if problems:
        _fail(problems, as_json, {"volume": str(volume)})
    out = Path(outdir)
    for rel in plain:
        dest = out / rel
        if dest.exists() or dest.is_symlink():
            if not dest.is_file() or dest.is_symlink():
                raise SconeError(f"{dest}: exists and is not a regular file; pick another OUTDIR")
            if not force:
                raise SconeError(f"{dest}: exists; pass --force to replace it")
    for rel, data in plain.items():
        dest = out / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(dest, data, 0o600)
    if as_json:
        _json({"volume": str(volume), "outdir": str(out), "files": list(plain)})
    else:
        click.echo(f"{outdir}: {len(plain)} file(s) extracted")


@cli.command()
@click.argument("volume", type=click.Path(file_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the tag as JSON.")
def tag(volume, as_json):
    """Print VOLUME's tag: the SHA-256 of its metadata file."""
    try:
        t = vol.volume_tag(volume)
    except vol.VolumeError as err:
        _fail([vol.Problem(vol.META_NAME, err.code, str(err))], as_json, {"volume": str(volume)})
    if as_json:
        _json({"volume": str(volume), "tag": t.hex()})
    else:
        click.echo(t.hex())


def main():
    """Console entry point: errors become one stderr line (scone_cc.errors.run_cli)."""
    run_cli(PROG, cli)


if __name__ == "__main__":
    main()
