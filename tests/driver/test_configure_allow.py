"""configure's function checks meet the enclave link's refusals: without
SCONE_ALLOW they answer "no" for fork, execv, posix_spawn; exported
while configuring, "yes" (README, "Configure scripts and unsupported
calls"). Quick: autoconf's own AC_CHECK_FUNCS test program; slow: lighttpd's
configure (HAVE_FORK)."""

import os
import re

import pytest

from .conftest import debian_source, run

# AC_LANG_FUNC_LINK_TRY(C) as autoconf 2.71 writes it into conftest.c.
CONFTEST = """\
/* Define {f} to an innocuous variant, in case <limits.h> declares {f}.
   For example, HP-UX 11i <limits.h> declares gettimeofday.  */
#define {f} innocuous_{f}
#include <limits.h>
#undef {f}
#ifdef __cplusplus
extern "C"
#endif
char {f} ();
#if defined __stub_{f} || defined __stub___{f}
choke me
#endif
int
main (void)
{{
return {f} ();
  ;
  return 0;
}}
"""

NAMES = ("fork", "execv", "posix_spawn")


@pytest.fixture
def aenv(scone_env):
    env = dict(scone_env, SCONE_MODE="SIM")
    for k in ("SCONE_NATIVE", "SCONE_ALLOW"):
        env.pop(k, None)
    return env


@pytest.mark.parametrize("func", NAMES)
def test_autoconf_function_check(scone_gcc, aenv, tmp_path, func):
    (tmp_path / "conftest.c").write_text(CONFTEST.format(f=func))
    cmd = [scone_gcc, "-o", "conftest", "-g", "-O2", "conftest.c"]
    out = run(cmd, cwd=tmp_path, env=aenv)
    assert out.returncode == 1 and f"'{func}'" in out.stderr, out.stderr
    assert not (tmp_path / "conftest").exists()            # configure: "no"
    out = run(cmd, cwd=tmp_path, env=dict(aenv, SCONE_ALLOW=",".join(NAMES)))
    assert out.returncode == 0, out.stderr                 # configure: "yes"
    assert (tmp_path / "conftest").exists()


@pytest.mark.slow
def test_lighttpd_configure_finds_fork_only_with_scone_allow(aenv, tmp_path):
    found = {}
    for label, extra in (("plain", {}), ("allowed", {"SCONE_ALLOW": "fork,execve,execv,execvp"})):
        src = debian_source("lighttpd", tmp_path / label)
        out = run(["./configure", "--disable-shared", "--enable-static", "--without-pcre2",
                   "--without-zlib", "--without-bzip2"], cwd=src,
                  env=dict(aenv, CC="scone-gcc", **extra), timeout=1800)
        assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-2000:]
        config = (src / "config.h").read_text()
        found[label] = bool(re.search(r"^#define HAVE_FORK 1$", config, re.M))
        assert re.search(r"^#define HAVE_GETUID 1$", config, re.M), label   # checks do link
    assert found == {"plain": False, "allowed": True}
