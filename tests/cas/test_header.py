"""The committed C header of the CAS protocol is what the generator makes, and
C sees the REPORT offsets the SDM gives."""

import subprocess
from pathlib import Path

from scone_cc.cas import gen_c

from .test_evidence import SDM_REPORT

REPO = Path(__file__).resolve().parents[2]


def test_committed_header_is_up_to_date():
    committed = (REPO / "runtime/include/scone/cas_protocol.h").read_text()
    assert committed == gen_c.render(), "run: python3 -m scone_cc.cas.gen_c"


def test_c_sees_the_sdm_offsets(tmp_path):
    probe = tmp_path / "probe.c"
    probe.write_text('#include <stdio.h>\n#include "scone/cas_protocol.h"\nint main(void) {\n'
                     + "".join(f'  printf("{n} %zu\\n", offsetof(struct scone_sgx_report, {n}));\n'
                               for n, _, _ in SDM_REPORT)
                     + '  printf("size %zu %d %s\\n", sizeof(struct scone_sgx_report), SCONE_SIM_SIZE, '
                       'SCONE_SIM_MAGIC);\n  return 0;\n}\n')
    out = subprocess.run(["gcc", "-std=c11", "-Wall", "-Werror", f"-I{REPO / 'runtime/include'}", "-o",
                          str(tmp_path / "probe"), str(probe)], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    got = subprocess.run([str(tmp_path / "probe")], capture_output=True, text=True, check=True).stdout
    assert got == "".join(f"{n} {off}\n" for n, off, _ in SDM_REPORT) + "size 432 573 SCONESIM\n"
