"""Crash consistency (FORMAT.md 3): a writer committing to a volume without
pause is killed with SIGKILL at random points, 50 times; after each kill the
volume opens, with the expected tag of the last commit the writer had
durably finished or the one it was making, as at a commit — every file
verifies (C and Python), files committed together are of the same
generation, no file goes back to an older generation, and every byte is the
one that generation wrote."""

import os
import random
import signal
import subprocess
import sys
import time

from scone_cc.fs import volume as vol

from .conftest import run_tool

KEY = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")

WRITER = r"""
import sys
from scone_cc.fs import volume as vol
from tests_fs_content import content
root, start = sys.argv[1], int(sys.argv[2])
key = bytes.fromhex("a0a1a2a3a4a5a6a7a8a9aaabacadaeaf")
print("ready", flush=True)
g = start
while True:
    v = vol.Volume.open(root, key)
    # a pair always committed together, and a file on its own
    v.add([("p/x", content("p/x", g)), ("p/y", content("p/y", g))], vol.ENCRYPTED)
    print("tag", v.meta.counter, v.tag.hex(), flush=True)
    v = vol.Volume.open(root, key)
    v.add([("s", content("s", g))], vol.AUTHENTICATED)
    print("tag", v.meta.counter, v.tag.hex(), flush=True)
    g += 1
"""

CONTENT = r"""
import hashlib
def content(name, gen):
    # sizes that cross node 0's 3 KiB and, now and then, the first child MHT node
    size = [40, 3072, 3073, 9000, 96 * 4096 + 3073][(gen + len(name)) % 5]
    seed = hashlib.sha256(f"{name}:{gen}".encode()).digest()
    head = f"{name}:{gen}:".encode().ljust(32, b"#")
    return head + (seed * (size // 32))[:size - 32]
"""


def generation(name, data):
    """The generation a file's bytes claim, checked against what it wrote."""
    ns = {}
    exec(CONTENT, ns)
    gen = int(data[:32].split(b":")[1])
    assert data == ns["content"](name, gen), f"{name}: wrong bytes for generation {gen}"
    return gen


def test_kill_at_random_points(tmp_path, sfs_tool):
    root = tmp_path / "vol"
    vol.Volume.create(root, KEY)
    (tmp_path / "tests_fs_content.py").write_text(CONTENT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), *sys.path]))
    rng = random.Random(1234)
    last = {"p/x": -1, "p/y": -1, "s": -1}
    counter, tag = 1, vol.volume_tag(root)
    start, interrupted = 0, 0
    for round_ in range(50):
        w = subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(start)],
                             stdout=subprocess.PIPE, text=True, env=env)
        assert w.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.25))
        w.send_signal(signal.SIGKILL)
        out, _ = w.communicate()
        # Only whole lines: the kill may land while a line is half printed
        # (the commit it announces is then the one being made, as below).
        for line in out.split("\n")[:-1]:
            _, c, t = line.split()
            counter, tag = int(c), bytes.fromhex(t)
        leftovers = [p for p in root.rglob("*") if p.name.startswith((vol.PENDING_PREFIX,
                                                                        vol.TMP_PREFIX))]
        interrupted += bool(leftovers)
        v = vol.Volume.open(root, KEY)
        # at the last commit the writer finished, or at the one it was making
        assert v.meta.counter in (counter, counter + 1), round_
        if v.meta.counter == counter:
            assert v.tag == tag, round_
        assert [p for p in v.verify() if p.code != "unknown"] == [], round_
        r = run_tool(sfs_tool, "vol-verify", KEY.hex(), root, v.tag.hex())
        assert r.returncode == 0, (round_, r.stderr)
        gens = {name: generation(name, v.read(name)) for name in last if name in v.meta.entries}
        for name, g in gens.items():
            assert g >= last[name], (round_, name)
            last[name] = g
        if "p/x" in gens or "p/y" in gens:
            assert gens.get("p/x") == gens.get("p/y"), round_
        counter, tag = v.meta.counter, v.tag
        start = max(last.values()) + 1
    # the kills did land inside commits (pending or temporary files left)
    assert interrupted > 0
    assert max(last.values()) > 10
