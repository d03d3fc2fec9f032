"""Fixtures for the enclave runtime and starter tests: programs built once per
session with scone-gcc (enclave mode), run in SIM."""

import subprocess
from pathlib import Path

import pytest

PROGS = Path(__file__).resolve().parent / "progs"
REPO = Path(__file__).resolve().parents[2]
UNTRUSTED = REPO / "runtime" / "untrusted"


def starter_sources() -> list[Path]:
    """The starter's sources as runtime/untrusted/part.mk (and hw/part.mk)
    name them, without main.c: a unit test brings its own main."""
    found = [p for d in (UNTRUSTED, UNTRUSTED / "hw") for pat in ("*.c", "*.S")
             for p in sorted(d.glob(pat))]
    return [p for p in found if p != UNTRUSTED / "main.c"] + \
        [REPO / "kmod" / "lib" / "scone_kmod_user.c"] + sorted((REPO / "runtime" / "sgxcrypto").glob("*.c"))


@pytest.fixture(scope="session")
def host_loader(tmp_path_factory):
    """host_loader(unit) -> a host program: tests/runtime/units/UNIT.c linked
    with the starter's own code, as the starter is built."""
    out = tmp_path_factory.mktemp("host-loader")

    def build(unit: str) -> Path:
        exe = out / unit
        cc = subprocess.run(["gcc", "-O1", "-Wall", "-Werror", "-pthread", f"-I{UNTRUSTED}",
                             f"-I{REPO / 'runtime' / 'include'}", f"-I{REPO / 'kmod' / 'lib'}",
                             "-o", str(exe), str(Path(__file__).parent / "units" / f"{unit}.c"),
                             *map(str, starter_sources())], capture_output=True, text=True)
        assert cc.returncode == 0, cc.stderr
        return exe
    return build


@pytest.fixture(scope="session")
def rt_env(private_env):
    """A private HOME (fresh developer key) sharing the built sysroot cache."""
    return private_env(drop=("SCONE_MODE", "SCONE_HASH", "SCONE_VERSION", "SCONE_LOG",
                             "SCONE_SIM_EXIT_CYCLES"), sim=False)


@pytest.fixture(scope="session")
def build(enclave_builder, rt_env):
    """build(source, *flags) -> path of a signed enclave binary (cached per args)."""
    return enclave_builder(rt_env)


@pytest.fixture
def sim_env(rt_env):
    env = dict(rt_env)
    env["SCONE_MODE"] = "SIM"
    return env


@pytest.fixture(scope="session")
def starter(sysroot) -> Path:
    p = Path(sysroot) / "libexec" / "scone-starter"
    assert p.is_file(), "the sysroot has no starter"
    return p
