"""kill -9 of a program committing to a protected file without pause: each
reopen shows the file as at a commit the program made (the last one it
reported, or the one it was making), or is refused with one line naming the
file, never other bytes (README "File-system shield"; files are updated in
place, so a kill inside a commit leaves the file refused, not repaired)."""

import os
import random
import signal
import subprocess
import time

import pytest

from .conftest import HERE, KEY


def _rounds(mode, n, fs_build, fs_env, tmp_path):
    vol = tmp_path / "vol"
    loop = fs_build(HERE / "append_loop.c", f"--scone-fs={vol}:{mode}")
    read = fs_build(HERE / "read_all.c", f"--scone-fs={vol}:{mode}")
    env = dict(fs_env, SCONE_FS_KEY=f"{vol}:{KEY}")
    rng = random.Random(1234)
    seen = {"state": 0, "refused": 0, "since": 0}   # since: a commit of f since the volume began
    for _ in range(n):
        if not vol.exists():
            vol.mkdir()
        p = subprocess.Popen([str(loop), str(vol / "f")], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True, start_new_session=True)
        time.sleep(rng.uniform(0.3, 1.2))
        os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate(timeout=30)
        done = [int(x.split()[1]) for x in out.splitlines() if x.startswith("committed")]
        r = subprocess.run([str(read), str(vol / "f")], env=env, capture_output=True, text=True,
                           timeout=60)
        if r.stdout == "open: No such file or directory\n":
            # killed before the commit that creates the file: as before it
            assert not done and not seen["since"], out
            seen["state"] += 1
            continue
        seen["since"] = 1
        if r.returncode == 0:
            lines = r.stdout.splitlines()
            # this run appended after what the previous runs left
            last = int(lines[-1].split()[1]) if lines else -1
            assert all(x.startswith("line ") for x in lines), r.stdout[-200:]
            if done:
                assert last in (done[-1], done[-1] + 1), (done[-1], lines[-3:])
            seen["state"] += 1
        else:
            assert r.stdout == "open: I/O error\n", r.stdout
            refused = [x for x in r.stderr.splitlines() if "refused" in x]
            assert len(refused) == 1 and "/f:" in refused[0], r.stderr
            seen["refused"] += 1
            subprocess.run(["rm", "-rf", str(vol)], check=True)   # start over
            seen["since"] = 0
    assert seen["state"] + seen["refused"] == n
    print(f"{mode}: {seen['state']} reopened as at a commit, {seen['refused']} refused")
    return seen


@pytest.mark.parametrize("mode", ["encrypted", "authenticated"])
def test_kill_during_commits(mode, fs_build, fs_env, tmp_path):
    _rounds(mode, 6, fs_build, fs_env, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["encrypted", "authenticated"])
def test_kill_during_commits_50_rounds(mode, fs_build, fs_env, tmp_path):
    _rounds(mode, 50, fs_build, fs_env, tmp_path)
