"""The enclave's marshalling code (runtime/trusted/marshal*.c) built into a
host program under ASan and UBSan and fed hostile host answers: the
contract checks of tests/async/harness/marshal_hostile.c, then a fuzz over
every external call of the table with garbage arenas and random results."""

import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]

TRUSTED = REPO / "runtime" / "trusted"
SOURCES = [TRUSTED / "marshal.c", TRUSTED / "marshal_msg.c", TRUSTED / "marshal_dyn.c",
           HERE / "harness" / "marshal_hostile.c"]
SANITIZE = ["-fsanitize=address,undefined", "-fno-sanitize-recover=undefined", "-fno-omit-frame-pointer"]


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    out = tmp_path_factory.mktemp("marshal") / "marshal_hostile"
    r = subprocess.run(["gcc", "-D_GNU_SOURCE", "-std=gnu11", "-g", "-O1", "-Wall", "-Wextra", *SANITIZE,
                        "-I", str(REPO / "runtime/include"), "-I", str(TRUSTED),
                        *map(str, SOURCES), "-o", str(out)], capture_output=True, text=True)
    if r.returncode and "sanitizer" in r.stderr.lower() and "cannot find" in r.stderr:
        pytest.skip("gcc has no ASan/UBSan runtime here")
    assert r.returncode == 0, r.stderr
    return out


def _run(harness, *args):
    env = {"ASAN_OPTIONS": "detect_leaks=0:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}
    return subprocess.run([str(harness), *args], capture_output=True, text=True, env=env, timeout=300)


def test_contract_checks_under_sanitizers(harness):
    r = _run(harness, "cases")
    cases = dict(line.split(" ", 2)[1:] for line in r.stdout.splitlines() if line.startswith("CASE "))
    failed = {k: v for k, v in cases.items() if not v.startswith("ok")}
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr
    assert not failed and r.returncode == 0, (failed, r.stderr[-2000:])
    # every case the harness knows ran, and the list is not empty
    assert len(cases) >= 28, cases


def test_fuzz_every_external_call_under_sanitizers(harness):
    r = _run(harness, "fuzz", "150")
    assert "AddressSanitizer" not in r.stderr and "runtime error" not in r.stderr, r.stderr[-4000:]
    assert r.returncode == 0, r.stderr[-2000:]
    line = next(x for x in r.stdout.splitlines() if x.startswith("FUZZ "))
    print(line)
    counts = dict(kv.split("=") for kv in line.split()[1:])
    # hostile answers were both accepted (within contract) and refused (beyond it)
    assert int(counts["accepted"]) > 1000 and int(counts["refused"]) > 1000, line
