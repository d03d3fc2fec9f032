"""An enclave links only the shields its signed policy names (DESIGN.md §8;
every line inside is attack surface): a hello without a policy carries no
ephemeral-file or network shield code, one with an ephemeral region carries
the first, and a policy that a re-signing adds for a shield the enclave was
linked without stops the start with one line instead of letting its files
or sockets reach the host as they are."""

import io
import shutil
import subprocess
from pathlib import Path

from elftools.elf.elffile import ELFFile

REPO = Path(__file__).resolve().parents[2]
HELLO = REPO / "samples" / "hello.c"


def enclave_symbols(binary: Path) -> set[str]:
    with open(binary, "rb") as f:
        image = ELFFile(f).get_section_by_name(".scone.enclave").data()
    symtab = ELFFile(io.BytesIO(image)).get_section_by_name(".symtab")
    return {s.name for s in symtab.iter_symbols() if s["st_shndx"] != "SHN_UNDEF"}


def test_only_the_named_shields_are_linked(fs_build):
    plain = enclave_symbols(fs_build(HELLO))
    assert "__scone_shield_call" in plain          # the door itself
    assert not {"__scone_eph_fd_call", "__scone_net_call", "__scone_enc_call"} & plain
    eph = enclave_symbols(fs_build(HELLO, "--scone-fs=/scratch:ephemeral"))
    assert "__scone_eph_fd_call" in eph
    assert not {"__scone_net_call", "__scone_enc_call"} & eph


def test_a_policy_for_a_shield_not_linked_stops_the_start(fs_build, fs_env, tmp_path):
    for option, value, what in (("--fs", "/scratch:ephemeral", "ephemeral-file shield"),
                                ("--net", "server:8443:clear", "network shield")):
        binary = tmp_path / f"hello{option}"
        shutil.copy2(fs_build(HELLO), binary)
        r = subprocess.run(["scone-sign", "sign", str(binary), option, value],
                           env=fs_env, capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        r = subprocess.run([str(binary)], env=fs_env, capture_output=True, text=True, timeout=60)
        assert r.returncode != 0 and "hello" not in r.stdout, (r.stdout, r.stderr)
        assert f"linked without the {what}" in r.stderr, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
