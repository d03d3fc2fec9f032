"""The committed C header is what the generator makes from the table, and it
compiles and agrees with the kernel's own numbering when used from C."""

import re
import subprocess
from pathlib import Path

import pytest

from scone_cc.syscalls import gen_c

REPO = Path(__file__).resolve().parents[2]
KERNEL_HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")


def test_committed_header_is_up_to_date():
    committed = (REPO / "runtime/include/scone/syscall_table.h").read_text()
    assert committed == gen_c.render(), "run: python3 -m scone_cc.syscalls.gen_c"


PROBE = r"""
#include <stdio.h>
#include "scone/syscall_table.h"
int main(void) {
  for (long nr = 0; nr < (long)SCONE_SYS_COUNT; nr++)
    if (scone_sys_name_of(nr))
      printf("%ld %s %u %u\n", nr, scone_sys_name_of(nr), scone_sys_class_of(nr), scone_sys_desc[nr].nargs);
  printf("1024 %s %u\n", scone_sys_name_of(1024), scone_sys_class_of(1024));
  printf("-1 %u %u\n", scone_sys_class_of(-1), scone_sys_class_of(999));
  return 0;
}
"""


def test_header_compiles_and_numbers_match_kernel(tmp_path):
    if not KERNEL_HEADER.exists():
        pytest.skip("linux-libc-dev not installed")
    (tmp_path / "p.c").write_text(PROBE)
    cc = subprocess.run(["gcc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-I", str(REPO / "runtime/include"),
                         "-o", str(tmp_path / "p"), str(tmp_path / "p.c")], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    lines = subprocess.check_output([str(tmp_path / "p")], text=True).splitlines()
    kernel = {int(nr): name for name, nr in re.findall(r"#define\s+__NR_(\w+)\s+(\d+)", KERNEL_HEADER.read_text())}
    got = {int(f[0]): f[1] for f in (line.split() for line in lines[:-2])}
    assert got == kernel
    classes = {f[1]: int(f[2]) for f in (line.split() for line in lines[:-2])}
    # SCONE_SYS_CLASS_INTERNAL=1, EXTERNAL=2, UNSUPPORTED=3 (the header's documented codes)
    assert classes["fork"] == 3 and classes["futex"] == 1 and classes["read"] == 2
    nargs = {f[1]: int(f[3]) for f in (line.split() for line in lines[:-2])}
    assert nargs["read"] == 3 and nargs["recvfrom"] == 6 and nargs["getpid"] == 0
    assert lines[-2] == "1024 unmapself 1"
    assert lines[-1] == "-1 0 0"


def test_generator_writes_atomically_and_rejects_bad_dir(tmp_path, capsys):
    out = tmp_path / "t.h"
    assert gen_c.main([str(out)]) == 0
    assert out.read_text() == gen_c.render()
    with pytest.raises(SystemExit) as ex:
        gen_c.main([str(tmp_path / "missing" / "t.h")])
    assert ex.value.code == 2
    assert "no such directory" in capsys.readouterr().err
    assert not (tmp_path / "missing").exists()
