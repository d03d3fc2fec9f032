"""The image recipe: a short TOML file naming what goes into an image.

TOML (stdlib ``tomllib``, no typing surprises such as YAML's ``no`` turning
into ``false``). Paths in the recipe are relative to the recipe's folder;
targets are absolute paths inside the image. Every departure from the
schema below is one SconeError naming the recipe, the key and the fix; the
files named are checked to exist here, before anything is built::

    name = "redis"                 # image name (default: the recipe's file name)
    tag = "latest"
    mode = "SIM"                   # SCONE_MODE in the image: SIM, AUTO or HW

    [[enclave]]                    # a scone binary (scone-gcc output)
    source = "redis-server"
    target = "/usr/bin/redis-server"   # default /usr/bin/<file name>
    [[enclave.volume]]             # its protected volume: a directory copied as-is
    source = "data"
    target = "/data"
    owner = "999:999"              # optional, numeric

    [[file]]                       # any other file or directory
    source = "redis.conf"
    target = "/etc/redis.conf"
    mode = "0644"                  # optional
    exclude = ["__pycache__"]      # optional: names (globs) left out of a directory

    [base]                         # optional, for programs that are not scone binaries
    debian = "bookworm"            # a Debian root file system (base.py), or
    packages = ["python3-minimal"] #   tar = "rootfs.tar" (one you have)

    [config]
    entrypoint = ["/usr/bin/redis-server"]   # default: the first enclave
    cmd = ["/etc/redis.conf"]
    env = { KEY = "value" }
    ports = ["6379/tcp"]           # or 6379
    user = "999:999"
    workdir = "/"
    labels = { "org.example.team" = "db" }

    [cas]                          # attestation: passed to the enclave as environment
    address = "cas.example:8081"   # SCONE_CAS_ADDR
    config_id = "redis/server"     # SCONE_CONFIG_ID
"""

from __future__ import annotations

import posixpath
import re
from dataclasses import dataclass, field
from pathlib import Path

from scone_cc.errors import SconeError
from scone_cc.image.base import Base, check_package, check_suite

MODES = ("SIM", "AUTO", "HW")
# Paths the runtime mounts over: a file there would be hidden or refused.
_RUNTIME_PATHS = ("/proc", "/sys", "/dev")
_NAME = re.compile(r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_ENV = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OWNER = re.compile(r"(\d+):(\d+)")


@dataclass(frozen=True)
class Entry:
    """A file or directory copied from ``source`` (here) to ``target`` (in the image)."""

    source: Path
    target: str
    mode: int | None = None
    owner: tuple[int, int] = (0, 0)
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class Enclave:
    """A scone binary and the protected volumes that belong to it."""

    source: Path
    target: str
    volumes: tuple[Entry, ...] = ()


@dataclass(frozen=True)
class Recipe:
    """A checked recipe: every source exists, every target is a clean absolute path."""

    path: Path
    name: str
    tag: str
    mode: str
    enclaves: tuple[Enclave, ...]
    files: tuple[Entry, ...]
    entrypoint: tuple[str, ...]
    cmd: tuple[str, ...]
    env: tuple[tuple[str, str], ...]
    ports: tuple[str, ...]
    user: str
    workdir: str
    labels: dict = field(default_factory=dict)
    cas_address: str | None = None
    config_id: str | None = None
    base: Base | None = None

    @property
    def reference(self) -> str:
        """``name:tag``, the image's name in archives and engines."""
        return f"{self.name}:{self.tag}"

    def environment(self) -> list[tuple[str, str]]:
        """The image's Env: SCONE_MODE (with enclaves), the CAS variables, then the recipe's own."""
        env = [("SCONE_MODE", self.mode)] if self.enclaves else []
        if self.cas_address:
            env.append(("SCONE_CAS_ADDR", self.cas_address))
        if self.config_id:
            env.append(("SCONE_CONFIG_ID", self.config_id))
        return env + [kv for kv in self.env if kv[0] not in dict(env)]


class _Reader:
    """Checks one table of the recipe, naming ``where`` (``recipe.toml: enclave[1]``) in errors."""

    def __init__(self, table, where: str, base: Path):
        if not isinstance(table, dict):
            raise SconeError(f"{where}: expected a table, found {type(table).__name__}")
        self.table, self.where, self.base = table, where, base

    def fail(self, key: str, why: str) -> SconeError:
        return SconeError(f"{self.where}{'.' + key if key else ''}: {why}")

    def known(self, *keys: str) -> None:
        extra = sorted(set(self.table) - set(keys))
        if extra:
            raise self.fail(extra[0], f"unknown key; expected one of {', '.join(keys)}")

    def str(self, key: str, default=None, *, required=False) -> str | None:
        value = self.table.get(key, default)
        if value is None:
            if required:
                raise self.fail(key, "missing; it is required")
            return None
        if not isinstance(value, str) or not value:
            raise self.fail(key, f"expected a non-empty string, found {value!r}")
        return value

    def strings(self, key: str) -> tuple[str, ...] | None:
        value = self.table.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.fail(key, f"expected a list of strings, found {value!r}")
        return tuple(value)

    def mapping(self, key: str) -> dict:
        value = self.table.get(key, {})
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise self.fail(key, 'expected a table of strings, e.g. { KEY = "value" }')
        return value

    def tables(self, key: str) -> list:
        value = self.table.get(key, [])
        if not isinstance(value, list):
            raise self.fail(key, f"expected [[{key}]] tables")
        return value

    def source(self, key: str = "source") -> Path:
        text = self.str(key, required=True)
        path = self.base / text
        if not path.exists() and not path.is_symlink():
            raise self.fail(key, f"{path}: no such file or directory; build it first or fix "
                                 "the path (relative to the recipe's folder)")
        return path

    def target(self, key: str = "target", default: str | None = None) -> str:
        text = self.str(key, default, required=True)
        return _clean_target(text, lambda why: self.fail(key, why))

    def mode(self) -> int | None:
        value = self.table.get("mode")
        if value is None:
            return None
        if isinstance(value, str) and re.fullmatch(r"0?[0-7]{3,4}", value):
            return int(value, 8)
        raise self.fail("mode", f'expected an octal string such as "0644", found {value!r}')

    def owner(self) -> tuple[int, int]:
        text = self.str("owner", "0:0")
        m = _OWNER.fullmatch(text)
        if not m:
            raise self.fail("owner", f'expected numeric "UID:GID" such as "999:999", found {text!r}')
        return int(m[1]), int(m[2])


def _clean_target(text: str, fail) -> str:
    if not text.startswith("/"):
        raise fail(f"{text!r} must be an absolute path in the image, e.g. /usr/bin/app")
    parts = text.split("/")
    if ".." in parts or "." in parts:
        raise fail(f"{text!r} must not contain '.' or '..' components")
    clean = posixpath.normpath(text)
    if clean == "/":
        raise fail("'/' is the image's root; name a file or folder under it")
    for mounted in _RUNTIME_PATHS:
        if clean == mounted or clean.startswith(mounted + "/"):
            raise fail(f"{clean} is under {mounted}, which the container runtime mounts over; "
                       "pick another path")
    return clean


def _entry(table, where: str, base: Path, *, default_target: str | None = None,
           exclude: bool = False) -> Entry:
    r = _Reader(table, where, base)
    r.known("source", "target", "mode", "owner", *(("exclude",) if exclude else ()))
    src = r.source()
    patterns = r.strings("exclude") or ()
    if patterns and not src.is_dir():
        raise r.fail("exclude", f"{src} is not a directory; exclude names what to leave out "
                                "of a directory")
    if any(not p or "/" in p for p in patterns):
        raise r.fail("exclude", "a pattern is a file name glob such as __pycache__ or *.pyc, "
                                "without /")
    return Entry(src, r.target(default=default_target), r.mode(), r.owner(), patterns)


def _base(table, where: str, folder: Path) -> Base | None:
    if table is None:
        return None
    r = _Reader(table, where, folder)
    r.known("debian", "packages", "mirror", "tar")
    if "tar" in r.table:
        if set(r.table) - {"tar"}:
            raise r.fail("tar", "a base is either a tar file or a Debian suite with packages, "
                                "not both")
        tar = r.source("tar")
        if not tar.is_file():
            raise r.fail("tar", f"{tar} is not a file; give a root file system tar file")
        return Base(tar=tar)
    suite = check_suite(r.str("debian", required=True), lambda why: r.fail("debian", why))
    packages = r.strings("packages")
    if not packages:
        raise r.fail("packages", 'missing; list the Debian packages the program needs, e.g. '
                                 '["python3-minimal"]')
    packages = tuple(check_package(p, lambda why: r.fail("packages", why)) for p in packages)
    mirror = r.str("mirror", "http://deb.debian.org/debian")
    if not re.fullmatch(r"https?://[^\s]+", mirror):
        raise r.fail("mirror", f"{mirror!r}: expected an http:// or https:// archive URL")
    return Base(suite=suite, packages=packages, mirror=mirror.rstrip("/"))


def _port(value, fail) -> str:
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str):
        raise fail(f"expected a port such as 6379 or \"6379/tcp\", found {value!r}")
    m = re.fullmatch(r"(\d{1,5})(?:/(tcp|udp|sctp))?", text)
    if not m or not 0 < int(m[1]) < 65536:
        raise fail(f"{text!r} is not a port; write 1..65535 with an optional /tcp, /udp or /sctp")
    return f"{int(m[1])}/{m[2] or 'tcp'}"


def load(path) -> Recipe:
    """Read and check the recipe at ``path`` (the format is this module's docstring)."""
    import tomllib

    path = Path(path)
    try:
        text = path.read_text()
    except OSError as err:
        raise SconeError(f"{path}: cannot read the recipe: {err.strerror}") from None
    except UnicodeDecodeError:
        raise SconeError(f"{path}: the recipe is not UTF-8 text; write it in TOML") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SconeError(f"{path}: not valid TOML: {err}") from None
    return parse(data, path)


def parse(data: dict, path: Path) -> Recipe:
    """Check the recipe ``data`` read from ``path``; sources are relative to its folder."""
    base = path.parent
    top = _Reader(data, str(path), base)
    top.known("name", "tag", "mode", "enclave", "file", "config", "cas", "base")
    name = top.str("name", path.stem.lower())
    if not _NAME.fullmatch(name):
        raise top.fail("name", f"{name!r} is not an image name; use lower-case letters, digits "
                               "and . _ - (e.g. redis), or set name = \"...\"")
    tag = top.str("tag", "latest")
    if not _TAG.fullmatch(tag):
        raise top.fail("tag", f"{tag!r} is not an image tag; use letters, digits, _ . - "
                              "(at most 128, not starting with . or -)")
    mode = top.str("mode", "SIM").upper()
    if mode not in MODES:
        raise top.fail("mode", f"{mode!r}: expected one of {', '.join(MODES)}")

    enclaves = []
    for i, table in enumerate(top.tables("enclave")):
        where = f"{path}: enclave[{i}]"
        r = _Reader(table, where, base)
        r.known("source", "target", "volume")
        src = r.source()
        target = r.target(default=f"/usr/bin/{src.name}")
        volumes = tuple(_entry(v, f"{where}.volume[{j}]", base)
                        for j, v in enumerate(r.tables("volume")))
        for j, v in enumerate(volumes):
            if not v.source.is_dir():
                raise SconeError(f"{where}.volume[{j}].source: {v.source} is not a directory; "
                                 "a volume is a directory copied into the image")
        enclaves.append(Enclave(src, target, volumes))
    root = _base(data.get("base"), f"{path}: base", base)
    if not enclaves and root is None:
        raise top.fail("", "names no [[enclave]]; add one with the scone binary as source")
    files = tuple(_entry(t, f"{path}: file[{i}]", base, exclude=True)
                  for i, t in enumerate(top.tables("file")))

    cfg = _Reader(data.get("config", {}), f"{path}: config", base)
    cfg.known("entrypoint", "cmd", "env", "ports", "user", "workdir", "labels")
    entrypoint = cfg.strings("entrypoint") or (enclaves[0].target if enclaves else None,)
    if entrypoint == (None,):
        raise cfg.fail("entrypoint", "missing; an image without [[enclave]] names the program "
                                     "to run, e.g. entrypoint = [\"/usr/bin/python3\"]")
    env = cfg.mapping("env")
    for key in env:
        if not _ENV.fullmatch(key):
            raise cfg.fail("env", f"{key!r} is not an environment variable name")
    raw_ports = cfg.table.get("ports") or []
    if not isinstance(raw_ports, list):
        raw_ports = [raw_ports]
    ports = tuple(_port(p, lambda why: cfg.fail("ports", why)) for p in raw_ports)
    user = cfg.str("user", "0:0")
    if not re.fullmatch(r"[A-Za-z0-9_.-]+(?::[A-Za-z0-9_.-]+)?", user):
        raise cfg.fail("user", f"{user!r}: expected USER, UID or UID:GID")
    workdir = cfg.str("workdir", "/")
    if workdir != "/":
        workdir = _clean_target(workdir, lambda why: cfg.fail("workdir", why))

    cas = _Reader(data.get("cas", {}), f"{path}: cas", base)
    cas.known("address", "config_id")

    recipe = Recipe(path, name, tag, mode, tuple(enclaves), files, entrypoint,
                    cfg.strings("cmd") or (), tuple(env.items()), ports, user, workdir,
                    dict(cfg.mapping("labels")), cas.str("address"), cas.str("config_id"), root)
    _no_clashes(recipe)
    if not re.fullmatch(r"\d+(?::\d+)?", user) and root is None and not any(
            f.target in ("/etc", "/etc/passwd") for f in files):
        raise cfg.fail("user", f"{user!r} is a name, but the image has no /etc/passwd to "
                               "resolve it (there is no base image); write a numeric UID:GID "
                               "or add /etc/passwd under [[file]]")
    return recipe


def _no_clashes(recipe: Recipe) -> None:
    seen: dict[str, str] = {}
    items = [(e.target, f"enclave[{i}]") for i, e in enumerate(recipe.enclaves)]
    items += [(v.target, f"enclave[{i}].volume[{j}]")
              for i, e in enumerate(recipe.enclaves) for j, v in enumerate(e.volumes)]
    items += [(f.target, f"file[{i}]") for i, f in enumerate(recipe.files)]
    for target, what in items:
        for other, owner in seen.items():
            if target == other or target.startswith(other + "/") or other.startswith(target + "/"):
                raise SconeError(f"{recipe.path}: {what}.target {target} overlaps {owner}'s "
                                 f"{other}; give each entry its own path")
        seen[target] = what
