"""``scone-console``: the client of the console shield (runtime/shield/console/FORMAT.md).

* ``run [OPTIONS] -- PROGRAM ARGS``: makes a session key, runs PROGRAM with
  its public key in SCONE_CONSOLE_KEY, shows PROGRAM's stdout and stderr as
  they arrive, decrypted and checked, and sends its own stdin to PROGRAM in
  frames. Exits with PROGRAM's exit status (128 + N when signal N ended it).
* ``keygen KEYFILE``: a key for a later capture; prints SCONE_CONSOLE_KEY=...
* ``decrypt --key-file KEYFILE < capture``: decrypts one captured stream.

Exit codes of the tool's own: 2 bad input (no key, unreadable key file,
PROGRAM not a console-shielded scone binary), 3 a stream that fails the
format's checks (tampered, dropped, reordered, replayed, truncated frame, or
evidence that does not verify): one line, ``scone-console: error: ...``.
A line the host wrote between frames (the starter's and the runtime's own
messages) is shown on stderr as ``scone-console: host: ...``: it is not the
program's.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import click

from scone_cc.errors import SconeError, click_main, run_cli

PROG = "scone-console"


def _load_key(path: str):
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.primitives.asymmetric import ec

    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise SconeError(f"{path}: cannot read the key file ({err.strerror}); make one with "
                         f"`{PROG} keygen {path}`") from None
    try:
        key = ser.load_pem_private_key(data, None)
    except (ValueError, TypeError):
        key = None
    if not isinstance(key, ec.EllipticCurvePrivateKey) or key.curve.name != "secp256r1":
        raise SconeError(f"{path}: not a P-256 private key in PEM; make one with `{PROG} keygen`")
    return key


def _sim_key_ids(given: str | None) -> list[str]:
    if given:
        return [given.lower()]
    from scone_cc.cas import sim
    path = sim.sim_key_path()
    if not path.exists():
        return []
    from scone_cc.cas.keyfiles import load_ec_private
    return [sim.key_id(load_ec_private(path, "SIM attestation key").public_key())]


def _binary_mrenclave(path: str) -> bytes:
    from scone_cc.sgx import measure, signing

    b = signing.read(path)
    if not b.params.console:
        raise SconeError(f"{path}: this binary does not encrypt its console (scone-sign show says "
                         "console clear); link it with scone-gcc --scone-console or sign it with "
                         "scone-sign sign --console")
    return measure.mrenclave(b.layout)


def checker(key, *, mrenclave: bytes | None, sim_key_id: str | None, no_evidence: bool):
    """on_hello for frames.Decoder: check the evidence, derive the keys."""
    from scone_cc.cas import evidence as ev
    from scone_cc.console import frames

    client_spki = frames.spki(key.public_key())
    seen = {}

    def on_hello(enclave_spki: bytes, data: bytes):
        if "keys" in seen:
            if seen["spki"] != enclave_spki:
                raise frames.StreamError("stdout and stderr were made for two different enclave "
                                         "keys (a host in the middle)")
            return seen["keys"]
        if not data:
            if not no_evidence:
                raise frames.StreamError(
                    "the enclave sent no evidence for its key (on SGX hardware quotes are not "
                    "produced yet); without it the host could sit in the middle; accept that "
                    "with --no-evidence")
        else:
            trusted = _sim_key_ids(sim_key_id)
            if not trusted:
                raise frames.StreamError("the hello carries SIM evidence, and this machine has no "
                                         "SIM attestation key to check it against; give the "
                                         "signer's with --sim-key-id")
            try:
                got = ev.verify("sim", data, sim_key_ids=trusted)
            except SconeError as err:
                raise frames.StreamError(f"the hello's evidence: {err}") from None
            try:
                ev.check_binding(got.report, enclave_spki, frames.reportdata_nonce(client_spki))
            except SconeError:
                raise frames.StreamError(
                    "the hello's evidence binds the enclave's key to another client key: the "
                    "stream was made for another key (wrong --key-file), or a host in the "
                    "middle replaced the key") from None
            if mrenclave and got.report.mrenclave != mrenclave:
                raise frames.StreamError(f"the hello's evidence is for MRENCLAVE "
                                         f"{got.report.mrenclave.hex()}, not {mrenclave.hex()}")
        seen.update(spki=enclave_spki, keys=frames.derive(key, enclave_spki))
        return seen["keys"]

    return on_hello


def _mrenclave_option(mrenclave: str | None, binary: str | None) -> bytes | None:
    if mrenclave:
        try:
            value = bytes.fromhex(mrenclave)
        except ValueError:
            value = b""
        if len(value) != 32:
            raise SconeError(f"--mrenclave {mrenclave!r}: expected 64 hex digits")
        return value
    return _binary_mrenclave(binary) if binary else None


def _show(event, out, err) -> None:
    """Write an event; a reader that went away (`| head`) stops the
    showing, not the checking."""
    try:
        if event[0] == "data" and out:
            out.write(event[1])
            out.flush()
        elif event[0] == "text" and err:
            err.write(f"{PROG}: host: {event[1]}".encode())
            err.flush()
    except BrokenPipeError:
        pass


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli():
    """The client of scone's console shield: run a program whose standard
    streams are encrypted, or decrypt a captured stream."""


@cli.command()
@click.argument("keyfile", type=click.Path(dir_okay=False))
def keygen(keyfile):
    """Make a P-256 key in KEYFILE (0600) and print the SCONE_CONSOLE_KEY to run with."""
    from scone_cc.cas.keyfiles import create_once, pem_private
    from scone_cc.console import frames

    key = frames.new_key()
    if not create_once(Path(keyfile), lambda: pem_private(key)):
        raise SconeError(f"{keyfile}: exists; choose another name (a key is never overwritten)")
    click.echo(f"SCONE_CONSOLE_KEY={frames.env_value(key)}")


_evidence_options = [
    click.option("--mrenclave", metavar="HEX", help="The MRENCLAVE the hello's evidence must name."),
    click.option("--sim-key-id", metavar="HEX",
                 help="The SIM attestation key to trust (default: this machine's)."),
    click.option("--no-evidence", is_flag=True,
                 help="Accept a hello without evidence (then a host in the middle goes unseen)."),
]


def _with_evidence(f):
    for o in reversed(_evidence_options):
        f = o(f)
    return f


@cli.command()
@click.option("--key-file", required=True, type=click.Path(dir_okay=False),
              help="The private key the stream was made for (keygen).")
@click.option("--binary", type=click.Path(dir_okay=False),
              help="The scone binary that wrote the stream: its MRENCLAVE is checked.")
@_with_evidence
def decrypt(key_file, binary, mrenclave, sim_key_id, no_evidence):
    """Decrypt one captured stream (stdout or stderr) from stdin to stdout."""
    from scone_cc.console import frames

    key = _load_key(key_file)
    expected = _mrenclave_option(mrenclave, binary)
    dec = frames.Decoder(checker(key, mrenclave=expected, sim_key_id=sim_key_id,
                                 no_evidence=no_evidence))
    out, err = sys.stdout.buffer, sys.stderr.buffer
    while True:
        chunk = os.read(0, 1 << 16)
        if not chunk:
            break
        for event in dec.feed(chunk):
            _show(event, out, err)
    dec.close()


def _resolve(program: str) -> str:
    found = program if "/" in program else shutil.which(program)
    if not found or not os.path.isfile(found):
        raise SconeError(f"{program}: no such program; give its path")
    return found


@cli.command(context_settings={"ignore_unknown_options": True})
@click.option("--key-file", type=click.Path(dir_okay=False),
              help="Use this key (keygen) instead of a new one for this run.")
@_with_evidence
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
def run(key_file, mrenclave, sim_key_id, no_evidence, command):
    """Run COMMAND (after --) with its standard streams through the console shield."""
    from scone_cc.console import frames

    program = _resolve(command[0])
    expected = _mrenclave_option(mrenclave, program)
    key = _load_key(key_file) if key_file else frames.new_key()
    on_hello = checker(key, mrenclave=expected, sim_key_id=sim_key_id, no_evidence=no_evidence)
    env = dict(os.environ, SCONE_CONSOLE_KEY=frames.env_value(key))
    try:
        proc = subprocess.Popen([program, *command[1:]], stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except OSError as err:
        raise SconeError(f"{program}: cannot run it ({err.strerror})") from None
    keys = {}
    ready = threading.Event()
    failed = []
    done = threading.Event()

    def hello_then_check(spki, data):
        got = on_hello(spki, data)
        keys.update(got)
        ready.set()
        return got

    def pump_out(pipe, out):
        dec = frames.Decoder(hello_then_check)
        try:
            while True:
                chunk = os.read(pipe.fileno(), 1 << 16)
                if not chunk:
                    break
                for event in dec.feed(chunk):
                    _show(event, out, sys.stderr.buffer)
            dec.close()
        except SconeError as err:
            failed.append(err)
            done.set()

    def pump_in():
        ready.wait()
        if not keys:
            return
        enc = frames.Encoder(keys[frames.STDIN])
        try:
            while True:
                try:
                    chunk = os.read(0, frames.MAX_DATA)
                except OSError:
                    chunk = b""
                proc.stdin.write(enc.data(chunk) if chunk else enc.end())
                proc.stdin.flush()
                if not chunk:
                    break
            proc.stdin.close()
        except (BrokenPipeError, ValueError, OSError):
            pass                # the program is gone or closed its stdin

    outs = [threading.Thread(target=pump_out, args=(proc.stdout, sys.stdout.buffer), daemon=True),
            threading.Thread(target=pump_out, args=(proc.stderr, sys.stderr.buffer), daemon=True)]
    for t in outs:
        t.start()
    threading.Thread(target=pump_in, daemon=True).start()
    try:
        while proc.poll() is None and not done.is_set():
            done.wait(0.05)
        if failed:
            proc.kill()
        code = proc.wait()
        for t in outs:
            t.join()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        ready.set()
    if failed:
        err = failed[0]
        if code < 0:
            err = SconeError(f"{err} (the program was ended by signal {-code})", 128 - code)
        raise err
    return 128 - code if code < 0 else code


def main():
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    code = run_cli(PROG, click_main, PROG, cli)
    sys.exit(code if isinstance(code, int) else 0)
