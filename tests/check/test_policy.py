"""The link step's API: check_paths, Finding.format/severity, require_clean."""


import pytest

from scone_cc.check import ERROR, WARNING, check_paths, require_clean
from scone_cc.check.policy import bad_functions, parse_allow
from scone_cc.errors import SconeError

from .conftest import CORPUS, compile_c


def test_parse_allow_merges_options_and_environment():
    assert parse_allow(["fork", "system, popen"], env={"SCONE_ALLOW": "execve,,vfork"}) == \
        {"fork", "system", "popen", "execve", "vfork"}
    assert parse_allow([], env={}) == frozenset()


def test_bad_functions_come_from_the_table():
    bad = bad_functions()
    assert bad["fork"].nr == 57 and bad["daemon"].nr == 57 and bad["system"].nr == 59
    assert bad["fexecve"].nr == 322 and bad["ptrace"].nr == 101 and bad["iopl"].nr == 172
    assert "clone" not in bad and "rseq" not in bad and "clone3" not in bad   # decided by flags / quiet


@pytest.fixture(scope="module")
def layered(tmp_path_factory):
    d = tmp_path_factory.mktemp("pol")
    return compile_c(["gcc", "-g", "-c"], CORPUS / "layered.c", d / "layered.o")


def test_require_clean_lists_errors_and_says_how_to_allow(layered):
    findings = check_paths([layered])
    assert {f.severity for f in findings} == {ERROR}
    with pytest.raises(SconeError) as ei:
        require_clean(findings)
    msg = str(ei.value)
    assert ei.value.exit_code == 1
    assert "--scone-allow=popen,system" in msg and "SCONE_ALLOW=popen,system" in msg
    for f in findings:
        assert f.format() in msg


def test_allowed_findings_are_warnings_and_pass(layered):
    findings = check_paths([layered], allow={"system", "popen"})
    assert findings and {f.severity for f in findings} == {WARNING}
    assert require_clean(findings) == findings
    partly = check_paths([layered], allow={"system"})
    assert {(f.callee, f.severity) for f in partly} == {("system", WARNING), ("popen", ERROR)}


def test_allow_by_system_call_name(layered):
    assert {f.severity for f in check_paths([layered], allow={"execve"})} == {WARNING}


def test_clone_with_unknown_flags_is_a_warning(tmp_path):
    src = tmp_path / "c.c"
    src.write_text("#define _GNU_SOURCE\n#include <sched.h>\nstatic char st[4096];\n"
                   "static int f(void *a) { return 0; }\n"
                   "int spawn(int flags) { return clone(f, st + sizeof st, flags, 0); }\n"
                   "int thread(void) { return clone(f, st + sizeof st, CLONE_VM|CLONE_FS|CLONE_FILES|"
                   "CLONE_SIGHAND|CLONE_THREAD, 0); }\n")
    obj = compile_c(["gcc", "-g", "-c"], src, tmp_path / "c.o")
    findings = check_paths([obj])
    assert [(f.line, f.severity, f.kind) for f in findings] == [(5, WARNING, "clone")]
    assert "flags not known here" in findings[0].message
    require_clean(findings)
