"""AES-128-GCM throughput of the shields' crypto library inside the enclave.

Builds tests/crypto/progs/shield_crypto.c with ``scone-gcc --scone-crypto``
(enclave, SIM) and with ``--scone-native`` (the same code as a static musl
program), runs ``bench SECONDS BYTES`` (one
``__scone_crypto_aes_gcm_encrypt`` call per 4 KiB, 16 KiB or 1 MiB buffer, key
set-up included, as a file-system shield would call it) in each, once more
in the enclave with AES-NI and PCLMUL masked off
(``OPENSSL_ia32cap=~0x200000200000000``), and compares with the host's
libcrypto making the same EVP calls per buffer (a glibc program, when the
host has OpenSSL's headers) and with ``openssl speed -evp aes-128-gcm
-bytes BYTES`` (one context, updates only, no key set-up or tag per
buffer; on this machine it reports about 3x what any program making
per-buffer EVP calls gets, host libcrypto included, so it is shown for
reference only). Figures are printed, never asserted.

Run: ``python3 -m bench.crypto_gcm [--seconds N]``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PROG = REPO / "tests" / "crypto" / "progs" / "shield_crypto.c"
NO_AESNI = "~0x200000200000000"

# The enclave API's per-buffer calls, against the host's own libcrypto.
HOST_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <openssl/evp.h>
static unsigned char buf[(1 << 20) + 16];
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}
int main(int argc, char **argv)
{
	size_t len = (size_t)atol(argv[2]);
	unsigned char key[16] = {1}, iv[12] = {2}, tag[16];
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-GCM", NULL);
	double t0 = now(), t;
	unsigned long n = 0;
	int outl;
	(void)argc;
	do {
		for (size_t done = 0; done < (8u << 20); done += len, n++) {
			EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
			EVP_CipherInit_ex2(ctx, c, key, iv, 1, NULL);
			EVP_CipherUpdate(ctx, buf, &outl, buf, (int)len);
			EVP_CipherFinal_ex(ctx, buf + len, &outl);
			EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, 16, tag);
			EVP_CIPHER_CTX_free(ctx);
		}
	} while ((t = now() - t0) < atof(argv[1]));
	printf("%.1f MB/s\n", n * (double)len / t / 1e6);
	return 0;
}
"""


def _build(out: Path, *flags: str) -> None:
    argv = ["scone-gcc", "-O2", "--scone-crypto", *flags, str(PROG), "-o", str(out)]
    done = subprocess.run(argv, capture_output=True, text=True)
    if done.returncode:
        sys.exit(f"crypto_gcm: {' '.join(argv)} failed:\n{done.stderr}")


def _mbs(argv, env=None) -> float:
    out = subprocess.run(argv, capture_output=True, text=True,
                         env={**os.environ, "SCONE_MODE": "SIM", **(env or {})})
    m = re.search(r"([\d.]+) MB/s", out.stdout)
    if out.returncode or not m:
        sys.exit(f"crypto_gcm: {argv[0]} failed:\n{out.stdout}{out.stderr}")
    return float(m.group(1))


def _host_build(tmp: Path) -> Path | None:
    """HOST_C against the host's libcrypto, or None without its headers."""
    src, out = tmp / "host.c", tmp / "host"
    src.write_text(HOST_C)
    done = subprocess.run(["gcc", "-O2", str(src), "-o", str(out), "-lcrypto"],
                          capture_output=True, text=True)
    return None if done.returncode else out


def _openssl_speed(seconds: int, size: int) -> float | None:
    """The host OpenSSL's figure for ``size``-byte blocks, in MB/s (10^6 bytes)."""
    if shutil.which("openssl") is None:
        return None
    out = subprocess.run(["openssl", "speed", "-evp", "aes-128-gcm", "-bytes", str(size),
                          "-seconds", str(seconds)], capture_output=True, text=True)
    # "AES-128-GCM  1234567.89k": thousands of bytes per second.
    m = re.search(r"^AES-128-GCM\s+([\d.]+)k\s*$", out.stdout, re.M | re.I)
    return float(m.group(1)) / 1000 if m else None


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(prog="bench.crypto_gcm")
    ap.add_argument("--seconds", type=int, default=2)
    args = ap.parse_args(argv)
    s = str(args.seconds)
    with tempfile.TemporaryDirectory() as tmp:
        enclave, native = Path(tmp) / "enclave", Path(tmp) / "native"
        _build(enclave)
        _build(native, "--scone-native")
        host = _host_build(Path(tmp))
        for size in (4096, 16384, 1 << 20):
            n = str(size)
            rows = [
                ("enclave (SIM), scone crypto", _mbs([str(enclave), "bench", s, n])),
                ("enclave (SIM), AES-NI/PCLMUL masked",
                 _mbs([str(enclave), "bench", s, n], {"OPENSSL_ia32cap": NO_AESNI})),
                ("native static musl, same code", _mbs([str(native), "bench", s, n])),
                ("host libcrypto (glibc), same calls",
                 _mbs([str(host), s, n]) if host else None),
                ("host openssl speed -evp", _openssl_speed(args.seconds, size)),
            ]
            musl, speed = rows[2][1], rows[4][1]
            print(f"AES-128-GCM, {size}-byte buffers, {s} s each "
                  "(ratios against the same code native, and against openssl speed):")
            for name, mbs in rows:
                if mbs is None:
                    print(f"  {name:40s} n/a")
                else:
                    vs_host = f"{mbs / speed:5.2f}x" if speed else "  n/a"
                    print(f"  {name:40s} {mbs:9.1f} MB/s  {mbs / musl:5.2f}x  {vs_host}")


if __name__ == "__main__":
    main()
