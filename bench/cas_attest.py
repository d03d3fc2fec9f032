"""Attestations per second one scone-cas serves to 16 concurrent clients.

Starts a real CAS (subprocess, fresh state folder, 127.0.0.1, free port),
creates a session that allows SIM evidence, trusts a fresh SIM key, then runs
``--clients`` client processes for ``--seconds``. Each attestation is what an
enclave start does: a new TLS connection (CAS key pinned), a nonce, a fresh
P-256 key, SIM evidence signed for REPORTDATA = SHA-256(key || nonce), the
attest request, and opening the envelope. The figures are attestations per
second (all clients together), the latency median and p99, and the load
average at the start: clients and CAS share the machine's CPUs, so on a small
machine the clients' own crypto is part of what is measured. Printed, never
asserted.

Run: ``python3 -m bench.cas_attest [--clients 16] [--seconds 10]``.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _client(address, pin, sigstruct, sim_key_pem, seconds, out):
    from cryptography.hazmat.primitives import serialization as ser

    from scone_cc.cas import client as cc
    from scone_cc.cas import sim

    key = ser.load_pem_private_key(sim_key_pem, None)
    lat = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t = time.perf_counter()
        cfg, _, _ = cc.attest(address, pin, "bench", "svc",
                              lambda rd: sim.make_evidence(sim.report_for_sigstruct(sigstruct, rd), key))
        assert cfg["env"]["K"] == "v"
        lat.append(time.perf_counter() - t)
    out.put(lat)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="bench.cas_attest")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--seconds", type=float, default=10)
    args = ap.parse_args(argv)

    from scone_cc.cas import sim
    from scone_cc.cas.client import AdminClient
    from scone_cc.cas.keyfiles import new_ec_key, pem_private
    from scone_cc.sgx import sigstruct as sigs

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        env = dict(os.environ, XDG_CONFIG_HOME=str(tmp / "config"))
        os.environ["XDG_CONFIG_HOME"] = env["XDG_CONFIG_HOME"]
        state, pf = tmp / "state", tmp / "port"
        pin = subprocess.run([sys.executable, "-m", "scone_cc.cas", "identity", "--state", str(state)],
                             env=env, capture_output=True, text=True, check=True).stdout.strip()
        proc = subprocess.Popen([sys.executable, "-m", "scone_cc.cas", "serve", "--state", str(state),
                                 "--listen", "127.0.0.1:0", "--port-file", str(pf)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while not pf.exists():
                if proc.poll() is not None:
                    sys.exit("bench.cas_attest: scone-cas did not start")
                time.sleep(0.05)
            address = f"127.0.0.1:{int(pf.read_text())}"
            mrenclave = os.urandom(32)
            sigstruct = sigs.build(mrenclave, debug=False)
            simkey = new_ec_key()
            keyfile = tmp / "sim.pem"
            keyfile.write_bytes(pem_private(simkey))
            subprocess.run([sys.executable, "-m", "scone_cc.cas", "trust-sim-key", "--state", str(state),
                            str(keyfile)], env=env, check=True, capture_output=True)
            admin = AdminClient(address, pin)
            admin.create({"name": "bench", "services": [{"name": "svc", "mrenclaves": [mrenclave.hex()],
                                                         "allow_sim": True, "env": {"K": "v"}}]})
            admin.close()
            load = os.getloadavg()[0]
            q = mp.get_context("fork").Queue()
            procs = [mp.get_context("fork").Process(
                target=_client, args=(address, pin, sigstruct, pem_private(simkey), args.seconds, q))
                for _ in range(args.clients)]
            start = time.monotonic()
            for p in procs:
                p.start()
            lats = [x for _ in procs for x in q.get()]
            for p in procs:
                p.join()
            wall = time.monotonic() - start
        finally:
            proc.terminate()
            proc.wait()
    lats.sort()
    print(f"scone-cas, {args.clients} concurrent clients, {args.seconds:g} s, {os.cpu_count()} CPUs, "
          f"load {load:.2f} at start")
    print(f"  attestations:    {len(lats)} in each client's {args.seconds:g} s window: "
          f"{len(lats) / args.seconds:.1f} per second ({wall:.1f} s wall with the clients' start-up)")
    print(f"  latency median:  {statistics.median(lats) * 1000:.1f} ms")
    print(f"  latency p99:     {lats[int(len(lats) * 0.99) - 1] * 1000:.1f} ms")


if __name__ == "__main__":
    main()
