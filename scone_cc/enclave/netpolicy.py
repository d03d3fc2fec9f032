"""The network shield's endpoints: a signed parameter (DESIGN.md §4, §8).

An endpoint is ``(kind, host, port, action, cert, key, ca, name)``:

* ``server:[ADDR:]PORT:ACTION[:OPTS]`` — sockets bound to PORT (on ADDR, or
  any address); ``tls`` terminates TLS inside the enclave with
  ``cert=PATH,key=PATH`` and, with ``ca=PATH``, requires client certificates;
* ``client:HOST:PORT:ACTION[:OPTS]`` — connections to HOST:PORT (a numeric
  address, ``localhost``, or ``[v6]``); ``tls`` verifies the peer against
  ``ca=PATH`` and the name ``name=`` (default: HOST);
* ``default:ACTION`` — everything else (``clear`` unless given).

Identities that are no file (DESIGN.md §9):

* ``cert=cas:NAME`` (no ``key=``) and ``ca=cas:NAME``: the TLS identity NAME
  the CAS gave the enclave before main (the session's ``tls:`` entry), held
  in enclave memory only; the binary must be signed with a CAS key;
* ``cert=ratls`` (no ``key=``): RA-TLS, a key made inside and a self-signed
  certificate carrying the enclave's evidence (scone_cc/cas/ratls.py);
* ``mrenclave=HEX`` or ``mrsigner=HEX`` (+ ``isvprodid=N``,
  ``min_isvsvn=N``), and ``allow=sim``, ``allow=debug`` or
  ``allow=sim+debug``: the peer must present an RA-TLS certificate whose
  evidence meets this (in place of ``ca=``). Stored as ``ca=ratls:SPEC``.

ACTION is ``tls``, ``clear`` or ``refuse``. Paths are the enclave's view,
read at run time through the file-system shield. ``encode`` gives the bytes
the layout writes into the measured config page right after the
file-system policy (enclave_abi.h, "network policy"), so the policy is part
of MRENCLAVE; ``decode`` reads them back for ``scone-sign``.

Pure, stdlib only.
"""

from __future__ import annotations

import ipaddress
import struct

from scone_cc.errors import SconeError

KINDS = ("server", "client", "default")        # SCONE_NET_KIND_*: 0..2
ACTIONS = ("clear", "tls", "refuse")           # SCONE_NET_*: 0..2
OPTIONS = ("cert", "key", "ca", "name")
RATLS_OPTIONS = ("mrenclave", "mrsigner", "isvprodid", "min_isvsvn", "allow")

Endpoint = tuple  # (kind, host, port, action, cert, key, ca, name)

_HEAD = struct.Struct("<BBHB3x16s")


def _host(text: str, what: str) -> str:
    t = text[1:-1] if text.startswith("[") and text.endswith("]") else text
    if t in ("", "*"):
        return ""
    if t == "localhost":
        return "127.0.0.1"
    try:
        return str(ipaddress.ip_address(t))
    except ValueError:
        raise SconeError(f"{what}: {text!r} is not a numeric address; give the address the "
                         "program connects to (name= sets the certificate's name)") from None


def _port(text: str, what: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise SconeError(f"{what}: port {text!r} is not 1..65535")
    return int(text)


def parse(text: str, what: str = "--scone-net") -> Endpoint:
    """One endpoint from its command-line form."""
    kind, _, rest = text.partition(":")
    if kind not in KINDS:
        raise SconeError(f"{what}={text!r}: expected server:[ADDR:]PORT:ACTION[:OPTS], "
                         "client:HOST:PORT:ACTION[:OPTS] or default:ACTION")
    words = rest.split(":")
    at = next((i for i, w in enumerate(words) if w in ACTIONS), None)
    if at is None:
        raise SconeError(f"{what}={text!r}: no action; use one of {', '.join(ACTIONS)}")
    where, action, opts = words[:at], words[at], ":".join(words[at + 1:])
    host, port = "", 0
    if kind == "default":
        if action == "tls":
            raise SconeError(f"{what}={text!r}: default takes only clear or refuse "
                             "(tls needs an endpoint's certificate)")
        if where or opts:
            raise SconeError(f"{what}={text!r}: default takes only an action, e.g. default:refuse")
    elif kind == "server":
        if not 1 <= len(where) or not where[-1]:
            raise SconeError(f"{what}={text!r}: server needs a port, e.g. server:6379:tls:...")
        port = _port(where[-1], what)
        host = _host(":".join(where[:-1]), what)
    else:
        if len(where) < 2:
            raise SconeError(f"{what}={text!r}: client needs HOST:PORT, e.g. client:10.0.0.5:443:tls:ca=...")
        port = _port(where[-1], what)
        host = _host(":".join(where[:-1]), what)
        if not host:
            raise SconeError(f"{what}={text!r}: client needs a host address")
    got, ratls = {}, {}
    for item in filter(None, opts.split(",")):
        name, eq, value = item.partition("=")
        if name in RATLS_OPTIONS and eq and value:
            ratls[name] = value
            continue
        if name not in OPTIONS or not eq or not value:
            raise SconeError(f"{what}={text!r}: option {item!r}; expected cert=PATH, key=PATH, "
                             "ca=PATH, name=NAME, cert=cas:NAME, ca=cas:NAME, cert=ratls, or an "
                             "RA-TLS requirement (mrenclave=HEX or mrsigner=HEX, allow=sim)")
        special = (name in ("cert", "ca") and _cas_name(value)) or (name == "cert" and value == "ratls")
        if name != "name" and not special and not value.startswith("/"):
            raise SconeError(f"{what}={text!r}: {name}={value} is not an absolute path "
                             "(the enclave's view of the file), cas:NAME or ratls")
        got[name] = value
    if action != "tls" and (got or ratls):
        raise SconeError(f"{what}={text!r}: options are for tls only")
    if ratls:
        if "ca" in got:
            raise SconeError(f"{what}={text!r}: give ca= or an RA-TLS requirement, not both")
        got["ca"] = _ratls_spec(ratls, f"{what}={text!r}")
    inside = got.get("cert", "") == "ratls" or _cas_name(got.get("cert", ""))
    if inside and "key" in got:
        raise SconeError(f"{what}={text!r}: cert={got['cert']} brings its own key; drop key=")
    if "cert" in got and not inside and "key" not in got:
        raise SconeError(f"{what}={text!r}: cert=PATH needs key=PATH")
    if action == "tls" and kind == "server" and "cert" not in got:
        raise SconeError(f"{what}={text!r}: a tls server needs cert=PATH,key=PATH, cert=cas:NAME "
                         "or cert=ratls")
    if action == "tls" and kind == "client" and "ca" not in got:
        raise SconeError(f"{what}={text!r}: a tls client needs ca=PATH, ca=cas:NAME or an RA-TLS "
                         "requirement (mrenclave=HEX or mrsigner=HEX) to verify the peer")
    if kind == "client" and action == "tls" and "name" not in got:
        got["name"] = host
    return (kind, host, port, action, got.get("cert", ""), got.get("key", ""),
            got.get("ca", ""), got.get("name", ""))


def _cas_name(value: str) -> bool:
    name = value[4:] if value.startswith("cas:") else ""
    return bool(name) and len(name) <= 64 and all(c.isalnum() or c in "_.-" for c in name)


def _ratls_spec(opts: dict, what: str) -> str:
    """RA-TLS requirement options -> the ``ratls:SPEC`` text runtime/shield/cas/ratls.c reads."""
    def hex64(k):
        v = opts[k].lower()
        if len(v) != 64 or any(c not in "0123456789abcdef" for c in v):
            raise SconeError(f"{what}: {k}={opts[k]} is not 64 hex digits")
        return v

    if ("mrenclave" in opts) == ("mrsigner" in opts):
        raise SconeError(f"{what}: an RA-TLS requirement names mrenclave=HEX or mrsigner=HEX (one of them)")
    if "mrenclave" in opts and ({"isvprodid", "min_isvsvn"} & opts.keys()):
        raise SconeError(f"{what}: isvprodid= and min_isvsvn= go with mrsigner=, not mrenclave=")
    items = [f"mrenclave={hex64('mrenclave')}"] if "mrenclave" in opts else [f"mrsigner={hex64('mrsigner')}"]
    for k in ("isvprodid", "min_isvsvn"):
        if k in opts:
            if not opts[k].isdigit() or int(opts[k]) > 65535:
                raise SconeError(f"{what}: {k}={opts[k]} is not 0..65535")
            items.append(f"{k}={int(opts[k])}")
    allow = opts.get("allow", "")
    words = allow.split("+") if allow else []
    if any(w not in ("sim", "debug") for w in words):
        raise SconeError(f"{what}: allow={allow}: expected sim, debug or sim+debug")
    items += [w for w in ("sim", "debug") if w in words]
    return "ratls:" + ";".join(items)


def uses_ratls(endpoints) -> bool:
    """Whether the enclave must link runtime/shield/cas/ratls.c."""
    return any(e[4] == "ratls" or e[6].startswith("ratls:") for e in endpoints)


def check_cas(endpoints, has_cas: bool) -> None:
    """cert=cas:NAME and ca=cas:NAME need the CAS client before main."""
    if has_cas:
        return
    for e in endpoints:
        for v in (e[4], e[6]):
            if v.startswith("cas:"):
                raise SconeError(f"network policy: {e[0]} {e[1] or '*'}:{e[2]}: {v} names a CAS identity, "
                                 "but the enclave is signed without a CAS key; add --scone-cas-key=HASH")


def merge(endpoints, what: str = "--scone-net") -> tuple[Endpoint, ...]:
    """Endpoints in a canonical order; one endpoint given twice differently is refused."""
    seen = {}
    for e in endpoints:
        k = e[:3]
        if k in seen and seen[k] != e:
            raise SconeError(f"{what}: {e[0]} {e[1] or '*'}:{e[2]} given twice differently")
        seen[k] = e
    out = tuple(seen[k] for k in sorted(seen, key=lambda k: (KINDS.index(k[0]), k[1], k[2])))
    encode(out)
    return out


def check_keys(endpoints, fs_regions, debug: bool) -> None:
    """A production enclave takes a TLS private key only from a region the
    host cannot read (encrypted or ephemeral); a debug one from anywhere."""
    if debug:
        return
    for e in endpoints:
        if not e[5]:
            continue
        best, mode = -1, "unprotected"
        for prefix, m, _key in fs_regions:
            if (prefix == "/" or e[5] == prefix or e[5].startswith(prefix + "/")) and len(prefix) > best:
                best, mode = len(prefix), m
        if mode not in ("encrypted", "ephemeral"):
            raise SconeError(f"network policy: {e[0]} {e[1] or '*'}:{e[2]}: key {e[5]} lies where the "
                             f"host reads it in clear ({mode}); put it in an encrypted region "
                             "(--fs PREFIX:encrypted) or sign with --debug")


def _addr(host: str) -> bytes:
    if not host:
        return bytes(16)
    ip = ipaddress.ip_address(host)
    return (ipaddress.IPv6Address(b"\0" * 10 + b"\xff\xff" + ip.packed) if ip.version == 4 else ip).packed


def encode(endpoints) -> bytes:
    """The policy block (enclave_abi.h "network policy"): u32 count; per
    endpoint u8 kind, u8 action, u16 port, u8 has-address, 3 zero bytes,
    16-byte address (IPv4 mapped into IPv6), then cert, key, ca and name,
    each u16 length + bytes (no NUL)."""
    out = bytearray(struct.pack("<I", len(endpoints)))
    for kind, host, port, action, *strings in endpoints:
        out += _HEAD.pack(KINDS.index(kind), ACTIONS.index(action), port, 1 if host else 0, _addr(host))
        for s in strings:
            raw = s.encode()
            out += struct.pack("<H", len(raw)) + raw
    return bytes(out)


def decode(block: bytes, where: str) -> tuple[Endpoint, ...]:
    """Read the policy block back; SconeError on a malformed one."""
    if not any(block):
        return ()
    try:
        (count,), pos, out = struct.unpack_from("<I", block), 4, []
        for _ in range(count):
            kind, action, port, has, addr = _HEAD.unpack_from(block, pos)
            pos += _HEAD.size
            strings = []
            for _ in OPTIONS:
                (n,) = struct.unpack_from("<H", block, pos)
                raw = bytes(block[pos + 2:pos + 2 + n])
                if len(raw) != n:
                    raise ValueError
                strings.append(raw.decode())
                pos += 2 + n
            ip = ipaddress.IPv6Address(addr)
            host = "" if not has else str(ip.ipv4_mapped or ip)
            out.append((KINDS[kind], host, port, ACTIONS[action], *strings))
    except (struct.error, IndexError, ValueError, UnicodeDecodeError):
        raise SconeError(f"{where}: the config page's network policy is malformed; "
                         "the binary is damaged, rebuild it") from None
    if any(block[pos:]):
        raise SconeError(f"{where}: bytes after the network policy are not zero")
    return tuple(out)


def describe(e: Endpoint) -> str:
    """One line for ``scone-sign show``."""
    kind, host, port, action, cert, key, ca, name = e
    where = "" if kind == "default" else f"{('[' + host + ']') if ':' in host else (host or '*')}:{port}"
    opts = ",".join(f"{k}={v}" for k, v in zip(OPTIONS, (cert, key, ca, name)) if v)
    return " ".join(x for x in (kind, where, action, opts) if x)
