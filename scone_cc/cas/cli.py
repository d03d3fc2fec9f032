"""``scone-cas``: run the CAS, and manage sessions as a client of its HTTPS API.

Exit status: 0 done; 2 bad input (a session file, an option, a 400/404
answer); 3 refused (403: not the session's owner, or an attestation
refusal); 4 conflict (409: a concurrent update came first, the session
exists); 5 the CAS cannot be reached or presents another key than pinned.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from scone_cc.errors import SconeError, run_cli

PROG = "scone-cas"
_CAS_HELP = "CAS address HOST:PORT (env SCONE_CAS_ADDR)"
_PIN_HELP = "SHA-256 of the CAS's key, as `scone-cas identity` prints it (env SCONE_CAS_KEY)"


def _exit_code(err: SconeError) -> int:
    from scone_cc.cas.client import CasError
    if isinstance(err, CasError):
        if err.error == "wrong-cas-key":
            return 5
        return {403: 3, 409: 4}.get(err.status, 2)
    if "cannot connect" in str(err):
        return 5
    return err.exit_code


def _run(func, *args):
    try:
        return func(*args)
    except SconeError as err:
        from scone_cc.cas.client import Refused
        if isinstance(err, Refused):        # the very line an enclave prints
            sys.stderr.write(f"{err}\n")
            sys.exit(_exit_code(err))
        msg = str(err)
        first, *rest = msg.split("\n")
        sys.stderr.write(f"{PROG}: error: {first}\n" + "".join(f"{PROG}: error: {r}\n" for r in rest))
        sys.exit(_exit_code(err))


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """The configuration and attestation service (CAS) and its client.

    \b
    Exit status: 0 done; 2 bad input (session file, options, 400/404);
    3 refused (not the session's owner, attestation refused); 4 conflict
    (a concurrent update came first, the session exists); 5 the CAS is
    unreachable or presents another key than the one pinned.
    """


@cli.command()
@click.option("--state", "state", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="folder for the identity key and the database (created 0700)")
@click.option("--listen", default="127.0.0.1:8081", show_default=True, help="HOST:PORT; port 0 picks a free one")
@click.option("--port-file", type=click.Path(dir_okay=False, path_type=Path),
              help="write the port actually listened on here (for port 0)")
@click.option("--dcap-root", type=click.Path(dir_okay=False, path_type=Path),
              help="Intel SGX Root CA certificate (PEM) that DCAP quotes' PCK chains must end at; "
                   "without it DCAP evidence is refused")
def serve(state, listen, port_file, dcap_root):
    """Run the CAS: TLS with the state folder's identity key, sessions in SQLite."""
    import logging

    from scone_cc.cas import server
    from scone_cc.fsutil import atomic_write

    logging.basicConfig(level=logging.INFO, format="scone-cas: %(message)s", stream=sys.stderr)

    def go():
        host, port = server.parse_listen(listen)

        def ready(p):
            if port_file:
                atomic_write(port_file, f"{p}\n".encode())
        server.serve(server.Settings(state=state, host=host, port=port, dcap_root=dcap_root), ready)
    _run(go)


@cli.command()
@click.option("--state", required=True, type=click.Path(file_okay=False, path_type=Path))
def identity(state):
    """Print the SHA-256 of the CAS's public key (what enclaves pin: --scone-cas-key)."""
    from scone_cc.cas.identity import cas_identity
    click.echo(_run(lambda: cas_identity(state))[2])


@cli.command("sim-key")
def sim_key_cmd():
    """Print this machine's SIM attestation public key (PEM), creating the key on first use."""
    from cryptography.hazmat.primitives import serialization as ser

    from scone_cc.cas.sim import sim_key
    key = _run(sim_key)
    click.echo(key.public_key().public_bytes(ser.Encoding.PEM, ser.PublicFormat.SubjectPublicKeyInfo)
               .decode(), nl=False)


@cli.command("trust-sim-key")
@click.option("--state", required=True, type=click.Path(file_okay=False, path_type=Path))
@click.argument("pem", type=click.Path(dir_okay=False, path_type=Path))
def trust_sim_key(state, pem):
    """Trust SIM evidence signed by the key in PEM (public or private key file)."""
    def go():
        from cryptography.hazmat.primitives import serialization as ser
        from cryptography.hazmat.primitives.asymmetric import ec

        from scone_cc.cas import sim
        from scone_cc.cas.store import Store
        try:
            data = pem.read_bytes()
        except OSError as err:
            raise SconeError(f"{pem}: cannot read it ({err.strerror})") from None
        try:
            key = ser.load_pem_public_key(data)
        except ValueError:
            try:
                key = ser.load_pem_private_key(data, password=None).public_key()
            except (ValueError, TypeError):
                raise SconeError(f"{pem}: not a PEM public or private key; "
                                 "`scone-cas sim-key` prints one") from None
        if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
            raise SconeError(f"{pem}: a SIM attestation key is EC P-256")
        if not Path(state, "cas.db").exists():
            raise SconeError(f"{state}: no CAS database here; start `scone-cas serve --state {state}` once first")
        store = Store(Path(state) / "cas.db")
        try:
            store.trust_sim_key(sim.key_id(key), sim.public_point(key))
        finally:
            store.close()
        return sim.key_id(key)
    click.echo(f"trusted SIM key {_run(go)}")


@cli.group()
@click.option("--cas", "address", envvar="SCONE_CAS_ADDR", help=_CAS_HELP)
@click.option("--cas-key", "pin", envvar="SCONE_CAS_KEY", help=_PIN_HELP)
@click.pass_context
def session(ctx, address, pin):
    """Create, update, show, list and delete sessions (client certificate: first use makes one)."""
    ctx.obj = (address, pin)


def _client(ctx):
    from scone_cc.cas.client import AdminClient
    address, pin = ctx.obj
    if not address:
        raise SconeError("no CAS address: pass --cas HOST:PORT or set SCONE_CAS_ADDR")
    if not pin or len(pin) != 64:
        raise SconeError("no CAS key to pin: pass --cas-key with the 64 hex digits `scone-cas identity "
                         "--state DIR` prints on the CAS's host, or set SCONE_CAS_KEY")
    return AdminClient(address, pin)


_file = click.option("-f", "--file", "path", required=True, type=click.Path(path_type=Path),
                     help="session policy (YAML)")


@session.command()
@_file
@click.pass_context
def create(ctx, path):
    """Create a session from a YAML policy; you become its owner."""
    from scone_cc.cas.policy import load_yaml

    def go():
        doc = load_yaml(path)
        return _client(ctx).create(doc)
    r = _run(go)
    click.echo(f"session {r['name']} version {r['version']} hash {r['hash']}")


@session.command()
@_file
@click.option("--predecessor", help="hash of the version this replaces (else the file's 'predecessor')")
@click.pass_context
def update(ctx, path, predecessor):
    """Replace a session's policy; refused (exit 4) if the predecessor is not current."""
    from scone_cc.cas.policy import load_yaml

    def go():
        doc = load_yaml(path)
        pred = predecessor or doc.get("predecessor")
        if not pred:
            raise SconeError(f"{path}: predecessor: missing; an update names the hash of the version it "
                             f"replaces (`scone-cas session show {doc['name']}` prints it; or pass --predecessor)")
        return _client(ctx).update(doc, pred.lower())
    r = _run(go)
    click.echo(f"session {r['name']} version {r['version']} hash {r['hash']}")


@session.command()
@click.argument("name")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def show(ctx, name, as_json):
    """Show a session you own: policy, version, hash, secrets' names, volume tags."""
    r = _run(lambda: _client(ctx).show(name))
    if as_json:
        click.echo(json.dumps(r, indent=2))
        return
    import yaml
    click.echo(f"session {r['name']} version {r['version']} hash {r['hash']}")
    click.echo(f"owner {r['owner']}")
    for s in r["secrets"]:
        click.echo(f"secret {s['name']} ({s['kind']})")
    for v, t in sorted(r["volume_tags"].items()):
        click.echo(f"volume {v} tag {t}")
    click.echo(yaml.safe_dump(r["policy"], sort_keys=False).rstrip())


@session.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx, as_json):
    """List the sessions you own."""
    rows = _run(lambda: _client(ctx).list())
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        click.echo(f"{r['name']}\t{r['version']}\t{r['hash']}")


@session.command()
@click.argument("name")
@click.option("--predecessor", required=True, help="the current hash (`session show` prints it); "
              "refused (exit 4) if the session changed since")
@click.pass_context
def delete(ctx, name, predecessor):
    """Delete a session you own, with its secrets and volume tags."""
    _run(lambda: _client(ctx).delete(name, predecessor.lower()))
    click.echo(f"session {name} deleted")


@session.command()
@click.option("--binary", type=click.Path(dir_okay=False, path_type=Path),
              help="a signed scone binary: its SIGSTRUCT gives MRENCLAVE, MRSIGNER, ISVPRODID, ISVSVN")
@click.option("--image", help="an image built by scone-image (OCI layout DIR[:TAG], archive, or a "
                              "reference skopeo reads): one service per enclave, from its labels")
@click.option("--name", help="session name (default: the binary's or the image's name)")
def template(binary, image, name):
    """Print a starting policy for a signed binary or an image (edit, then `session create -f`)."""
    from scone_cc.cas import template as t

    def go():
        if bool(binary) == bool(image):
            raise SconeError("give exactly one of --binary BIN and --image IMG")
        return t.from_binary(binary, name) if binary else t.from_image(image, name)
    click.echo(_run(go), nl=False)


@cli.command("sim-attest")
@click.option("--cas", "address", envvar="SCONE_CAS_ADDR", required=True, help=_CAS_HELP)
@click.option("--cas-key", "pin", envvar="SCONE_CAS_KEY", required=True, help=_PIN_HELP)
@click.option("--binary", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="the signed scone binary whose enclave to play")
@click.argument("config_id", metavar="SESSION/SERVICE")
def sim_attest(address, pin, binary, config_id):
    """Attest as BINARY's enclave would, with SIM evidence, and print what it receives (JSON).

    A development aid (a binary built with --scone-cas-key does this itself,
    inside): it runs the enclave side of the protocol (PROTOCOL.md §2) outside
    any enclave, so the configuration, secrets included, lands on this terminal.
    """
    from scone_cc.cas import client as cc
    from scone_cc.cas import sim

    session, sep, service = config_id.partition("/")
    if not sep or not session or not service:
        _run(lambda: (_ for _ in ()).throw(SconeError(f"{config_id!r}: expected SESSION/SERVICE")))
    config, _, _ = _run(lambda: cc.attest(address, pin.lower(), session, service,
                                          lambda rd: sim.evidence_for_binary(binary, rd)))
    click.echo(json.dumps(config, indent=2))


def main():
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    run_cli(PROG, cli.main, prog_name=PROG, standalone_mode=True)
