"""The Python structure tables follow the C headers: offsetof/sizeof printed by gcc."""

import struct
import subprocess

import pytest

from scone_cc.enclave import abi

HEADERS = ("scone/enclave_abi.h", "scone/note.h")

# (Python table, C struct, C name of the fields where they differ)
TABLES = [
    (abi.CONFIG, "struct scone_enclave_config", {}),
    (abi.THREAD_LAYOUT, "struct scone_thread_layout", {}),
    (abi.THREAD, "struct scone_thread", {}),
    (abi.NOTE_HEADER, "struct scone_note_header", {}),
    (abi.NOTE_RUN, "struct scone_note_run", {}),
]

CONSTANTS = {
    "SCONE_MAX_TCS": abi.MAX_TCS, "SCONE_CONFIG_MAGIC": abi.CONFIG_MAGIC,
    "SCONE_CONFIG_VERSION": abi.CONFIG_VERSION, "SCONE_CONFIG_DEBUG": abi.CONFIG_DEBUG,
    "SCONE_CONFIG_CAS": abi.CONFIG_CAS, "SCONE_CONFIG_CONSOLE": abi.CONFIG_CONSOLE,
    "SCONE_NOTE_ENCLAVE": abi.NOTE_TYPE, "SCONE_NOTE_MAGIC": abi.NOTE_MAGIC,
    "SCONE_NOTE_VERSION": abi.NOTE_VERSION, "SCONE_SIGSTRUCT_SIZE": abi.SIGSTRUCT_SIZE,
    "SCONE_SRC_ZERO": abi.SRC_ZERO, "SCONE_SRC_IMAGE": abi.SRC_IMAGE,
    "SCONE_SRC_BLOB": abi.SRC_BLOB,
    "SCONE_NOTE_MIN_SIZE": abi.NOTE_MIN_SIZE, "SCONE_NOTE_MAX_SIZE": abi.NOTE_MAX_SIZE,
    "SCONE_NOTE_MAX_SSA_FRAME_PAGES": abi.NOTE_MAX_SSA_FRAME_PAGES,
    "SCONE_NOTE_MAX_RUNS": abi.NOTE_MAX_RUNS,
    "offsetof(struct scone_enclave_config, threads)": abi.CONFIG_THREADS_OFFSET,
    "sizeof(struct scone_enclave_config)": abi.CONFIG.size,
    "sizeof(struct scone_thread_layout)": abi.THREAD_LAYOUT.size,
    "sizeof(struct scone_thread)": abi.THREAD_STRUCT_SIZE,
    "sizeof(struct scone_note_header)": abi.NOTE_HEADER.size,
    "sizeof(struct scone_note_run)": abi.NOTE_RUN.size,
}


@pytest.fixture(scope="module")
def printed(tmp_path_factory, repo):
    lines = [f'#include <{h}>' for h in HEADERS] + ["#include <stdio.h>", "int main(void) {"]
    for table, cstruct, _ in TABLES:
        for field, _, _ in table.fields:
            lines.append(f'printf("{cstruct}.{field}|%zu|%zu\\n", offsetof({cstruct}, {field}), '
                         f'sizeof((({cstruct} *)0)->{field}));')
    for expr in CONSTANTS:
        lines.append(f'printf("{expr}|%llu\\n", (unsigned long long)({expr}));')
    lines.append("return 0; }")
    d = tmp_path_factory.mktemp("abi")
    (d / "p.c").write_text("\n".join(lines))
    inc = repo / "runtime" / "include"
    out = subprocess.run(["gcc", "-std=c11", "-I", str(inc), "-o", str(d / "p"), str(d / "p.c")],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    text = subprocess.run([str(d / "p")], capture_output=True, text=True, check=True).stdout
    return {line.split("|")[0]: line.split("|")[1:] for line in text.splitlines()}


@pytest.mark.parametrize("table,cstruct", [(t, c) for t, c, _ in TABLES], ids=lambda x: getattr(x, "name", ""))
def test_field_offsets_and_sizes(printed, table, cstruct):
    for field, offset, fmt in table.fields:
        c_off, c_size = printed[f"{cstruct}.{field}"]
        assert (int(c_off), int(c_size)) == (offset, struct.calcsize("<" + fmt)), field


@pytest.mark.parametrize("expr", list(CONSTANTS))
def test_constants(printed, expr):
    assert int(printed[expr][0]) == CONSTANTS[expr]


def test_tables_cover_the_whole_structure():
    # Every byte of each table belongs to exactly one field, up to the part
    # Python packs (the config page up to threads[], the thread page's layout block).
    ends = {"scone_enclave_config": abi.CONFIG_THREADS_OFFSET, "scone_thread": abi.THREAD.size}
    for table, _, _ in TABLES:
        end = 0
        for _, off, fmt in sorted(table.fields, key=lambda f: f[1]):
            assert off == end, (table.name, off)
            end = off + struct.calcsize("<" + fmt)
        assert end == ends.get(table.name, table.size), table.name


def test_tcs_table_matches_the_spec():
    # docs/sgx-spec.md §4.
    spec = {"state": (0, 8), "flags": (8, 8), "ossa": (16, 8), "cssa": (24, 4),
            "nssa": (28, 4), "oentry": (32, 8), "aep": (40, 8), "ofsbase": (48, 8),
            "ogsbase": (56, 8), "fslimit": (64, 4), "gslimit": (68, 4)}
    assert {f: (o, struct.calcsize("<" + fmt)) for f, o, fmt in abi.TCS.fields} == spec
