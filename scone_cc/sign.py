"""``scone-sign``: sign, inspect, verify and compare scone enclave binaries.

The commands are thin: the work is in scone_cc.sgx (signing, diff, sgxs,
keys). One console at this edge prints; ``--json`` gives machines the same
facts. Bad input is one ``scone-sign: error: ...`` line and exit 2.
"""

from __future__ import annotations

import sys

from scone_cc.errors import exit_on_signals

PROG = "scone-sign"
if sys.argv[0].endswith(PROG):
    exit_on_signals(PROG)       # the imports take a while; Ctrl-C then is one line too

import functools  # noqa: E402
import json  # noqa: E402
from pathlib import Path  # noqa: E402

import click  # noqa: E402

from scone_cc import __version__  # noqa: E402
from scone_cc.errors import SconeError, click_main, run_cli  # noqa: E402


def _console():
    from rich.console import Console

    ctx = click.get_current_context()
    root = ctx.find_root()
    if root.obj is None:
        # No colour and no highlighting: output is compared and piped.
        root.obj = Console(highlight=False, color_system=None, soft_wrap=True)
    return root.obj


def _warn(lines) -> None:
    for line in lines:
        sys.stderr.write(f"{PROG}: warning: {line}\n")


def _json(data) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


def _size(what: str):
    def convert(ctx, param, value):
        if value is None:
            return None
        from scone_cc.units import parse_size
        return parse_size(value, what=what, align=4096)
    return convert


def _count(ctx, param, value):
    if value is None:
        return None
    from scone_cc.units import parse_count
    return parse_count(value, what="--tcs")


def _date(ctx, param, value):
    if value is None:
        return None
    from scone_cc.sgx.sigstruct import parse_date
    return parse_date(value)


def _param_options(func):
    options = [
        click.option("--heap", callback=_size("--heap"), metavar="SIZE",
                     help="Enclave heap (K/M/G suffixes), e.g. 256M."),
        click.option("--stack", callback=_size("--stack"), metavar="SIZE",
                     help="Stack per enclave thread, e.g. 256K."),
        click.option("--tcs", callback=_count, metavar="N", help="Number of enclave threads (TCS)."),
        click.option("--production", "production_flag", is_flag=True,
                     help="Sign without ATTRIBUTES.DEBUG (a release enclave)."),
        click.option("--debug", "debug_flag", is_flag=True,
                     help="Sign with ATTRIBUTES.DEBUG."),
        click.option("--isvprodid", type=click.IntRange(0, 0xFFFF), help="ISVPRODID (0..65535)."),
        click.option("--isvsvn", type=click.IntRange(0, 0xFFFF), help="ISVSVN (0..65535)."),
        click.option("--fs", "fs", multiple=True, callback=_fs, metavar="PREFIX:MODE[:KEYSRC]",
                     help="A file-system shield region (repeatable; replaces the binary's "
                          "regions): MODE encrypted, authenticated, ephemeral or unprotected; "
                          "KEYSRC sealed-mrenclave (default), sealed-mrsigner or cas."),
        click.option("--fs-tag", "fs_tag", multiple=True, callback=_fs_tag, metavar="PREFIX:TAG",
                     help="The expected tag of an encrypted or authenticated region's volume "
                          "(repeatable; replaces the binary's tags; `scone-fs tag` prints it): "
                          "any other volume stops the start, and the volume is read-only."),
        click.option("--cas-key", "cas_key", callback=_cas_key, metavar="SHA256",
                     help="Pin the CAS whose public key has this SHA-256 (`scone-cas identity`): "
                          "the enclave gets its arguments, environment and secrets from it "
                          "before main. The binary must be linked with --scone-cas-key."),
        click.option("--net", "net", multiple=True, callback=_net, metavar="ENDPOINT",
                     help="A network shield endpoint (repeatable; replaces the binary's "
                          "endpoints): server:[ADDR:]PORT:tls:cert=PATH,key=PATH[,ca=PATH], "
                          "client:HOST:PORT:tls:ca=PATH[,name=NAME], ...:clear|refuse, "
                          "default:clear|refuse."),
        click.option("--console/--no-console", "console", default=None,
                     help="Encrypt the standard streams (fd 0/1/2) through the console shield "
                          "(read them with scone-console); --no-console turns it off. The binary "
                          "must be linked with --scone-console."),
        click.option("--date", callback=_date, metavar="YYYY-MM-DD",
                     help="SIGSTRUCT date (default: today UTC, or SOURCE_DATE_EPOCH; for "
                          "gendata/catsig the date of BINARY's SIGSTRUCT)."),
    ]

    @functools.wraps(func)
    def command(*args, production_flag, debug_flag, **kwargs):
        # Two contradicting words are a mistake to report, not a race the last one wins.
        if production_flag and debug_flag:
            raise SconeError("--production and --debug contradict each other; give one of them")
        production = True if production_flag else False if debug_flag else None
        return func(*args, production=production, **kwargs)

    for option in reversed(options):
        command = option(command)
    return command


def _wrote(output, text: str) -> None:
    """The confirmation line: on stderr when the output is a stream (-o /dev/stdout)."""
    from scone_cc.fsutil import is_stream

    click.echo(text, err=is_stream(output))


def _fs(ctx, param, value):
    if not value:
        return None
    from scone_cc.enclave import fspolicy
    try:
        return fspolicy.merge([fspolicy.parse(v, "--fs") for v in value], "--fs")
    except SconeError as e:
        raise click.BadParameter(str(e)) from None


def _fs_tag(ctx, param, value):
    if not value:
        return None
    from scone_cc.enclave import fspolicy
    try:
        return tuple(fspolicy.parse_tag(v, "--fs-tag") for v in value)
    except SconeError as e:
        raise click.BadParameter(str(e)) from None


def _cas_key(ctx, param, value):
    if not value:
        return None
    from scone_cc.driver.settings import cas_key
    try:
        return cas_key(value, "--cas-key")
    except SconeError as e:
        raise click.BadParameter(str(e)) from None


def _net(ctx, param, value):
    if not value:
        return None
    from scone_cc.enclave import netpolicy
    try:
        return netpolicy.merge([netpolicy.parse(v, "--net") for v in value], "--net")
    except SconeError as e:
        raise click.BadParameter(str(e)) from None


def _updates(heap, stack, tcs, isvprodid, isvsvn, fs=None, net=None, cas_key=None,
             fs_tag=None, console=None) -> dict:
    named = dict(heap_size=heap, stack_size=stack, tcs_count=tcs,
                 isvprodid=isvprodid, isvsvn=isvsvn, fs=fs, net=net, cas_key=cas_key,
                 fs_tags=fs_tag, console=console)
    return {k: v for k, v in named.items() if v is not None}


def _human_size(n: int) -> str:
    for unit, shift in (("G", 30), ("M", 20), ("K", 10)):
        if n and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="scone-sign",
                      message="%(prog)s (scone) %(version)s")
def cli():
    """Sign and inspect scone SGX enclave binaries."""


@cli.command()
@click.argument("binary", type=click.Path(dir_okay=False))
@click.option("--key", type=click.Path(dir_okay=False), envvar="SCONE_KEY",
              help="PEM RSA-3072 e=3 private key (default: $SCONE_KEY or the developer key).")
@_param_options
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def sign(binary, key, heap, stack, tcs, production, isvprodid, isvsvn, fs, fs_tag, net, cas_key, console, date, as_json):
    """Measure BINARY and sign it in place."""
    from scone_cc.sgx.signing import sign_binary

    result = sign_binary(binary, key_path=key, production=production, date=date,
                         params_update=_updates(heap, stack, tcs, isvprodid, isvsvn, fs, net, cas_key, fs_tag, console))
    _warn(result.warnings)
    facts = {"binary": str(result.path), "mrenclave": result.mrenclave.hex(),
             "mrsigner": result.mrsigner.hex(), "key": str(result.key_path),
             "debug": result.params.debug}
    if as_json:
        _json(facts)
        return
    con = _console()
    con.print(f"signed {result.path} ({'debug' if result.params.debug else 'production'})",
              markup=False)
    con.print(f"  MRENCLAVE {facts['mrenclave']}", markup=False)
    con.print(f"  MRSIGNER  {facts['mrsigner']}", markup=False)
    con.print(f"  key       {facts['key']}", markup=False)


def _sigstruct_dict(raw: bytes) -> dict:
    from scone_cc.errors import SconeError as _E
    from scone_cc.sgx import sigstruct as sigs
    from scone_cc.sgx.structs import Sigstruct

    s = Sigstruct.unpack(raw, strict=False)
    try:
        date = sigs.date_from_bcd(s.date).isoformat()
    except _E:
        date = f"invalid ({s.date:#010x})"
    return {
        "vendor": f"{s.vendor:#x}", "date": date, "swdefined": f"{s.swdefined:#x}",
        "exponent": s.exponent, "modulus_bits": s.modulus.bit_length(),
        "miscselect": f"{s.miscselect:#x}", "miscmask": f"{s.miscmask:#x}",
        "attributes": f"{s.attributes:#x}", "attributemask": f"{s.attributemask:#x}",
        "xfrm": f"{s.xfrm:#x}", "xfrmmask": f"{s.xfrmmask:#x}",
        "enclavehash": s.enclavehash.hex(), "isvprodid": s.isvprodid, "isvsvn": s.isvsvn,
        "mrsigner": sigs.mrsigner(raw).hex() if s.modulus else None,
    }


def _runs(layout) -> list[dict]:
    return [{"offset": f"{r.offset:#x}", "pages": r.count, "type": r.type.name,
             "perms": "".join(c if r.perms & b else "-" for c, b in (("R", 1), ("W", 2), ("X", 4))),
             "measured": r.measured, "what": r.what} for r in layout.runs]


@cli.command()
@click.argument("binary", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print everything as JSON.")
def show(binary, as_json):
    """Print BINARY's SIGSTRUCT, MRENCLAVE, MRSIGNER, parameters and layout."""
    from scone_cc.sgx import measure, signing

    b = signing.read(binary)
    p = b.params
    params = {"heap_size": p.heap_size, "stack_size": p.stack_size, "tcs_count": p.tcs_count,
              "nssa": p.nssa, "ssa_frame_pages": p.ssa_frame_pages, "debug": p.debug,
              "isvprodid": p.isvprodid, "isvsvn": p.isvsvn}
    tags = dict(p.fs_tags)
    regions = [{"prefix": r[0], "mode": r[1], "key": r[2], "tag": tags[r[0]].hex()}
               if r[0] in tags else {"prefix": r[0], "mode": r[1], "key": r[2]} for r in p.fs]
    facts = {
        "binary": str(binary),
        "mrenclave": measure.mrenclave(b.layout).hex(),
        "signed": b.sigstruct is not None,
        "parameters": params,
        "fs_regions": regions,
        "cas_key_sha256": p.cas_key.hex() or None,
        "net_endpoints": [dict(zip(("kind", "host", "port", "action", "cert", "key", "ca", "name"), e))
                          for e in p.net],
        "console": p.console,
        "sigstruct": _sigstruct_dict(b.sigstruct) if b.sigstruct else None,
        "layout": {"size": f"{b.layout.size:#x}", "ssa_frame_pages": b.layout.ssa_frame_pages,
                   "runs": _runs(b.layout)},
        "problems": list(b.problems),
    }
    from scone_cc.enclave import epc
    facts["epc"] = epc.facts(b.layout)
    if as_json:
        _json(facts)
        return
    con = _console()
    sig = facts["sigstruct"]
    con.print(f"binary     {binary}", markup=False)
    con.print(f"MRENCLAVE  {facts['mrenclave']}", markup=False)
    con.print(f"MRSIGNER   {(sig or {}).get('mrsigner') or '(not signed)'}", markup=False)
    con.print("parameters", markup=False)
    for name, value in params.items():
        shown = _human_size(value) if name in ("heap_size", "stack_size") else value
        con.print(f"  {name:<16} {shown}", markup=False)
    con.print("file-system regions" + ("" if regions else "  (none)"), markup=False)
    for r in regions:
        con.print(f"  {r['prefix']:<24} {r['mode']:<14} key {r['key']}"
                  + (f"  tag {r['tag']}" if "tag" in r else ""), markup=False)
    con.print(f"CAS key    {facts['cas_key_sha256'] or '(none: never contacts a CAS)'}", markup=False)
    from scone_cc.enclave import netpolicy
    con.print("network endpoints" + ("" if p.net else "  (none: every socket in clear)"), markup=False)
    for e in p.net:
        con.print(f"  {netpolicy.describe(e)}", markup=False)
    con.print("console    " + ("encrypted: fd 0/1/2 in frames (scone-console)" if p.console
                               else "(clear: fd 0/1/2 as the host gives them)"), markup=False)
    if sig:
        con.print("SIGSTRUCT", markup=False)
        for name, value in sig.items():
            con.print(f"  {name:<16} {value}", markup=False)
    con.print(f"layout     SIZE {facts['layout']['size']}  SSAFRAMESIZE {b.layout.ssa_frame_pages}",
              markup=False)
    rows = [("offset", "pages", "type", "perms", "measured", "what")]
    rows += [(r["offset"], str(r["pages"]), r["type"], r["perms"],
              "yes" if r["measured"] else "no", r["what"]) for r in facts["layout"]["runs"]]
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    for row in rows:
        cells = [row[0].rjust(widths[0]), row[1].rjust(widths[1])]
        cells += [cell.ljust(w) for cell, w in zip(row[2:5], widths[2:])]
        con.print("  " + "  ".join(cells + [row[5]]), markup=False)
    for line in epc.lines(facts["epc"]):
        con.print(f"epc        {line}", markup=False)
    for line in b.problems:
        con.print(f"problem: {line}", markup=False)


@cli.command()
@click.argument("binary", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the findings as JSON.")
def verify(binary, as_json):
    """Check BINARY as EINIT would: exit 0 if good, 1 with one line per problem."""
    from scone_cc.sgx.signing import verify_binary

    check = verify_binary(binary)
    if as_json:
        _json({"binary": str(binary), "ok": not check.problems,
               "mrenclave": check.mrenclave.hex(), "problems": list(check.problems)})
    elif check.problems:
        for line in check.problems:
            click.echo(f"{binary}: {line}", err=True)
    else:
        click.echo(f"{binary}: OK (signature, MRENCLAVE {check.mrenclave.hex()}, attributes)")
    sys.exit(1 if check.problems else 0)


@cli.command()
@click.argument("binary", type=click.Path(dir_okay=False))
def mrenclave(binary):
    """Print BINARY's MRENCLAVE in hex."""
    from scone_cc.sgx import measure, signing

    click.echo(measure.mrenclave(signing.read(binary).layout).hex())


@cli.command()
@click.argument("binary", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the 256 bytes to sign.")
@_param_options
def gendata(binary, output, heap, stack, tcs, production, isvprodid, isvsvn, fs, fs_tag, net, cas_key, console, date):
    """Two-step signing, step one: write the 256 bytes to sign. BINARY is only read.

    The bytes follow from BINARY and the options; the date defaults to the
    one of the SIGSTRUCT BINARY holds. Give catsig the same options.
    """
    from scone_cc.fsutil import atomic_write
    from scone_cc.sgx.signing import two_step

    step = two_step(binary, production=production, date=date,
                    params_update=_updates(heap, stack, tcs, isvprodid, isvsvn, fs, net, cas_key, fs_tag, console))
    try:
        atomic_write(output, step.data, inputs=(binary,))
    except OSError as err:
        raise SconeError(f"{output}: cannot write ({err.strerror})") from None
    _wrote(output, f"wrote {output} (MRENCLAVE {step.mrenclave.hex()}, date {step.date.isoformat()}): "
               "sign it with RSA-3072 e=3, PKCS#1 v1.5 SHA-256 (openssl dgst -sha256 -sign key.pem), "
               f"then run `{PROG} catsig` with the same options")


@cli.command()
@click.argument("binary", type=click.Path(dir_okay=False))
@click.option("--signature", required=True, type=click.Path(dir_okay=False),
              help="Raw big-endian signature (384 bytes) over the gendata output.")
@click.option("--public-key", required=True, type=click.Path(dir_okay=False),
              help="PEM public key (or private key) that made the signature.")
@_param_options
def catsig(binary, signature, public_key, heap, stack, tcs, production, isvprodid, isvsvn, fs, fs_tag, net,
           cas_key, console, date):
    """Two-step signing, step two: attach a signature made elsewhere, verified first.

    The signed bytes are rebuilt from BINARY and the options, which must be
    those given to gendata; BINARY is written only if the signature verifies.
    """
    from scone_cc.sgx import keys
    from scone_cc.sgx.signing import attach_signature

    modulus = keys.load_public_modulus(public_key)
    try:
        raw = Path(signature).read_bytes()
    except OSError as err:
        raise SconeError(f"{signature}: cannot read the signature ({err.strerror})") from None
    result = attach_signature(binary, raw, modulus, production=production, date=date,
                              params_update=_updates(heap, stack, tcs, isvprodid, isvsvn, fs, net, cas_key, fs_tag, console))
    click.echo(f"signed {binary}: MRENCLAVE {result.mrenclave.hex()} MRSIGNER {result.mrsigner.hex()}")


@cli.command()
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the new PEM private key (mode 0600).")
@click.option("--force", is_flag=True, help="Replace an existing file.")
def keygen(output, force):
    """Create an RSA-3072 signing key with exponent 3."""
    from scone_cc.sgx import keys

    keys.keygen(output, force=force)
    click.echo(f"wrote {output} (RSA-3072, e=3, mode 0600)")


@cli.command("export-sgxs")
@click.argument("binary", type=click.Path(dir_okay=False))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False),
              help="Where to write the SGXS stream.")
def export_sgxs(binary, output):
    """Write BINARY's measured stream as an SGXS file (SHA-256 of it = MRENCLAVE)."""
    from scone_cc.fsutil import atomic_write
    from scone_cc.sgx import signing, sgxs

    data = sgxs.write_sgxs(signing.read(binary).layout)
    try:
        atomic_write(output, data, inputs=(binary,))
    except OSError as err:
        raise SconeError(f"{output}: cannot write ({err.strerror})") from None
    _wrote(output, f"wrote {output} ({len(data)} bytes)")


@cli.command()
@click.argument("a", type=click.Path(dir_okay=False))
@click.argument("b", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON.")
def diff(a, b, as_json):
    """Name the first parameter and page that make A's and B's MRENCLAVE differ."""
    from scone_cc.sgx import signing
    from scone_cc.sgx.diff import compare

    ba, bb = signing.read(a), signing.read(b)
    result = compare(ba.params, ba.layout, bb.params, bb.layout)
    if as_json:
        _json({"a": str(a), "b": str(b), **result.as_dict()})
        return
    con = _console()
    if result.equal:
        con.print(f"equal: MRENCLAVE {result.mrenclave_a.hex()}", markup=False)
    else:
        con.print(f"A {a}: MRENCLAVE {result.mrenclave_a.hex()}", markup=False)
        con.print(f"B {b}: MRENCLAVE {result.mrenclave_b.hex()}", markup=False)
    for name, va, vb in result.params:
        con.print(f"parameter {name}: A {va}, B {vb}", markup=False)
    if result.first:
        con.print(f"first differing record #{result.first['record']}: {result.first['why']}",
                  markup=False)


from scone_cc.sizing import size as _size_command  # noqa: E402  (scone-sign size)
cli.add_command(_size_command)


def main():
    """Console entry point: errors become one stderr line (scone_cc.errors.run_cli)."""
    run_cli(PROG, click_main, PROG, cli)


if __name__ == "__main__":
    main()
