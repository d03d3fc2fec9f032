"""Volume keys and tags from the CAS (PROTOCOL.md §4-5), in SIM: the fs
shield serves an encrypted region with the key the CAS gives, each commit's
tag goes back to the CAS (compare-and-swap), and an older copy of the volume
put back by the host is refused at the next start (rollback).

The tags are checked against `scone-fs tag` (the host tool reads the
volume's metadata file itself) and `scone-cas session show`."""

import json
import shutil
import subprocess

import pytest

from .conftest import HERE
from .test_attested_start import REFUSED, mrenclave, start_env


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    return tmp_path_factory.mktemp("volumes") / "data"


@pytest.fixture(scope="module")
def vol_app(build, cas, region):
    return build("vol", (HERE / "vol.c").read_text(), f"--scone-fs={region}:encrypted:cas",
                 f"--scone-cas-key={cas.pin}")


def cas_tag(cas, session):
    out = cas.cli("show", session, "--json")
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def host_tag(volume) -> str:
    out = subprocess.run(["scone-fs", "tag", "--json", str(volume)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)["tag"]


def test_tags_go_back_and_rollback_is_refused(vol_app, cas, cas_env, region, tmp_path):
    region.mkdir()
    (tmp_path / "s.yaml").write_text(f"""
name: vols
volumes: [{{name: data}}]
services:
  - name: app
    mrenclaves: ["{mrenclave(vol_app)}"]
    allow_debug: true
    allow_sim: true
    args: ["vol", "{region}/log.txt"]
    volumes: [{{name: data, path: {region}}}]
""")
    out = cas.cli("create", "-f", str(tmp_path / "s.yaml"))
    assert out.returncode == 0, out.stderr
    env = start_env(cas_env, cas, "vols/app")

    def start():
        return subprocess.run([str(vol_app)], env=env, stdin=subprocess.DEVNULL, capture_output=True,
                              text=True, timeout=120)

    r = start()
    assert r.returncode == 0 and r.stdout == "lines=1\n", r.stderr
    first = host_tag(region)
    shown = json.dumps(cas_tag(cas, "vols"))
    assert first in shown, shown
    assert b"one more start" not in (region / "log.txt").read_bytes()     # encrypted on the host
    old = tmp_path / "old"
    shutil.copytree(region, old)

    r = start()
    assert r.returncode == 0 and r.stdout == "lines=2\n", r.stderr
    second = host_tag(region)
    assert second != first and second in json.dumps(cas_tag(cas, "vols"))

    # The host puts the older volume back: the CAS holds the newer tag.
    shutil.rmtree(region)
    shutil.copytree(old, region)
    r = start()
    assert r.returncode != 0 and "lines=" not in r.stdout
    assert r.stderr.strip().splitlines()[-1] == (
        f"scone: enclave aborted: scone: volume {region} refused: volume tag differs from the expected one "
        "(rolled back) (with the tag the CAS holds)"), r.stderr
