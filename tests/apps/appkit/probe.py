"""What the enclave runtime supports today, probed by running a real program, not assumed."""

from __future__ import annotations

import functools
import subprocess
import tempfile
from pathlib import Path

from .flavour import Flavour

_THREADS_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <string.h>
static void *run(void *a) { return (char *)a + 1; }
int main(void)
{
	pthread_t t;
	void *r;
	int e = pthread_create(&t, 0, run, (void *)41);
	if (e) { printf("pthread_create: %s\n", strerror(e)); return 1; }
	pthread_join(t, &r);
	return (long)r == 42 ? 0 : 2;
}
"""


@functools.lru_cache(maxsize=None)
def threads(flavour: Flavour) -> str | None:
    """None if ``pthread_create`` works for ``flavour``; else why not (for a skip reason)."""
    with tempfile.TemporaryDirectory() as d:
        src, exe = Path(d) / "t.c", Path(d) / "t"
        src.write_text(_THREADS_C)
        env = flavour.environ()
        cc = flavour.cc.split()
        b = subprocess.run([*cc, "-pthread", str(src), "-o", str(exe)], env=env,
                           capture_output=True, text=True)
        if b.returncode:
            return f"cannot build a pthread program: {b.stderr.strip()[-300:]}"
        r = subprocess.run([str(exe)], env=env, capture_output=True, text=True, timeout=60)
        if r.returncode:
            return (f"threads do not run in the enclave yet ({r.stdout.strip() or r.returncode}): "
                    "to run once pthread_create works")
    return None
