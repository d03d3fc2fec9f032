"""The driver's own settings: ``--scone-*`` options over ``SCONE_*`` variables."""

from collections import namedtuple

from scone_cc.driver.options import JOINED, SCONE, TABLE
from scone_cc.errors import SconeError
from scone_cc.units import parse_count, parse_size

# crypto: link the shields' crypto object (scone/crypto.h); the shield
# options imply it.
LinkSettings = namedtuple("LinkSettings", "native params key allow crypto", defaults=(False,))

# Valued options and their variables, from the one option table.
_ENV = {o.name.rstrip("="): o.env for o in TABLE
        if o.role == SCONE and o.env and o.syntax == JOINED}
_TRUE, _FALSE = ("1", "yes", "true", "on"), ("", "0", "no", "false", "off")


def _flag(environ, name: str) -> bool:
    value = environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SconeError(f"{name}={environ[name]!r}: expected 1 or 0")


def cas_key(text: str, what: str) -> bytes:
    """The CAS key hash of ``--scone-cas-key``/``--cas-key``: 64 hex digits, as
    ``scone-cas identity`` prints them (PROTOCOL.md §1)."""
    text = text.strip().lower()
    if len(text) != 64 or any(c not in "0123456789abcdef" for c in text):
        raise SconeError(f"{what}={text!r}: expected the 64 hex digits `scone-cas identity` prints")
    return bytes.fromhex(text)


def link_settings(scone, environ) -> LinkSettings:
    """Resolve ``Invocation.scone`` and the environment into link settings.

    The command line wins over the environment; ``--scone-net`` endpoints
    add up and imply ``--scone-crypto``, as ``--scone-console`` does; ``--scone-fs`` regions
    (repeatable; ``SCONE_FS`` lists them, comma-separated) add up; ``--scone-allow`` lists add
    up. Sizes take K/M/G suffixes and must be whole pages (sgx-spec §2);
    the result's ``params`` is the signed ``EnclaveParams`` (DESIGN.md §5).
    """
    from scone_cc.enclave import fspolicy, netpolicy
    from scone_cc.sgx.pages import PAGE_SIZE, EnclaveParams

    given = {}
    allow = []
    kwargs_cas = b""
    native = _flag(environ, "SCONE_NATIVE")
    crypto = _flag(environ, "SCONE_CRYPTO")
    console = _flag(environ, "SCONE_CONSOLE")
    for name, env in _ENV.items():
        if environ.get(env, "").strip():
            given[name] = (env, environ[env])
    if environ.get("SCONE_ALLOW", "").strip():
        allow.extend(environ["SCONE_ALLOW"].split(","))
    fs = [fspolicy.parse(r, "SCONE_FS") for r in environ.get("SCONE_FS", "").split(",") if r.strip()]
    net = []
    fs_tags = []
    for name, value in scone:
        if name == "--scone-fs":
            fs.append(fspolicy.parse(value, "--scone-fs"))
        elif name == "--scone-fs-tag":
            fs_tags.append(fspolicy.parse_tag(value, "--scone-fs-tag"))
        elif name == "--scone-net":
            net.append(netpolicy.parse(value, "--scone-net"))
            crypto = True
        elif name == "--scone-native":
            native = True
        elif name == "--scone-crypto":
            crypto = True
        elif name == "--scone-console":
            console = True
        elif name == "--scone-cas-key":
            kwargs_cas = cas_key(value, "--scone-cas-key")
            crypto = True       # the attestation client runs on the crypto API
        elif name == "--scone-allow":
            allow.extend(value.split(","))
        else:
            given[name] = (f"{name}=", value)

    kwargs = {}
    if "--scone-heap" in given:
        what, text = given["--scone-heap"]
        kwargs["heap_size"] = parse_size(text, what=what.rstrip("="), align=PAGE_SIZE)
    if "--scone-stack" in given:
        what, text = given["--scone-stack"]
        kwargs["stack_size"] = parse_size(text, what=what.rstrip("="), align=PAGE_SIZE)
    if "--scone-tcs" in given:
        what, text = given["--scone-tcs"]
        kwargs["tcs_count"] = parse_count(text, what=what.rstrip("="))
    if fs or fs_tags:
        kwargs["fs"] = fspolicy.merge(fs)
        kwargs["fs_tags"] = fspolicy.merge_tags(kwargs["fs"], fs_tags)
        # encrypted and authenticated regions are served with the shields' crypto
        crypto = crypto or any(mode in ("encrypted", "authenticated") for _, mode, _ in kwargs["fs"])
    if kwargs_cas:
        kwargs["cas_key"] = kwargs_cas
    if net:
        kwargs["net"] = netpolicy.merge(net)
    if console:
        kwargs["console"] = True
        crypto = True           # the console shield's frames are AES-GCM from the crypto API
    key = given["--scone-key"][1] if "--scone-key" in given else None
    names = tuple(a.strip() for a in allow if a.strip())
    params = EnclaveParams(**kwargs)
    if not native:
        from scone_cc.enclave.layout import check_fits

        check_fits(params)      # before ld runs, not after
    return LinkSettings(native, params, key, names, crypto)
