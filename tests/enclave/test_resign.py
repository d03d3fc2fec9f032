"""Re-signing a real binary with new parameters rewrites its note (DESIGN.md §4):
the same size in place, a new size from the starter the binary keeps."""

import shutil
import subprocess

from scone_cc.enclave import binfmt


def sign(path, env, *args):
    out = subprocess.run(["scone-sign", "sign", *args, str(path)], env=env,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return out


def test_resign_heap_in_place_and_tcs_from_kept_starter(hello, env, tmp_path):
    app = tmp_path / "app"
    shutil.copy(hello, app)
    before = binfmt.read(app)
    sign(app, env, "--heap", "8M")
    b = binfmt.read(app)
    assert b.params.heap_size == 8 << 20 and len(b.note) == len(before.note)
    assert b.image == before.image and b.problems == ()
    sign(app, env, "--tcs", "3", "--production")
    b = binfmt.read(app)
    assert (b.params.tcs_count, b.params.debug, b.params.heap_size) == (3, False, 8 << 20)
    assert len(b.note) == len(before.note) - 5 * (4 * 32 + 72 + 32)
    assert b.problems == ()
    run = subprocess.run([str(app), "again", "4"], env=env, capture_output=True, text=True)
    assert run.returncode == 4 and run.stdout.startswith("Hello, again,"), run.stderr
    assert subprocess.run(["scone-sign", "verify", str(app)], env=env).returncode == 0
