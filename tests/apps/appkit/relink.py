"""A program's own link line (``make -n -B``) run again with extra scone-gcc
flags (e.g. a file-system region): no recompilation of a cached tree."""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path


def relinked(workdir: Path, target: str, out: Path, env: dict, flags: tuple[str, ...] = (),
             make_args: tuple[str, ...] = ()) -> Path:
    """``target``'s link command from ``make -n -B target`` in ``workdir``,
    writing ``out`` instead, with ``flags`` appended."""
    dry = subprocess.run(["make", "-n", "-B", *make_args, target], cwd=workdir, env=env,
                         capture_output=True, text=True, check=True).stdout
    line = next((ln for ln in dry.splitlines() if f"-o {target} " in ln or ln.endswith(f"-o {target}")),
                None)
    if line is None:
        raise RuntimeError(f"no link line for {target} in make -n of {workdir}")
    cmd = shlex.split(line[line.index("1>&2;") + 5:] if "1>&2;" in line else line)
    cmd[cmd.index("-o") + 1] = str(out)
    r = subprocess.run(cmd + list(flags), cwd=workdir, env=env, capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(f"relinking {target} failed: {r.stderr.strip()[-2000:]}")
    return out
