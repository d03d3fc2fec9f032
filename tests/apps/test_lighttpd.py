"""lighttpd's own ``make check`` (Perl harness driving ``lighttpd -D``) in SIM against native musl."""

import pytest

from appkit import lighttpd

from .conftest import built, is_enclave

# prove's summary as it printed it for the enclave run of 29 Nov 2026: a
# long list of failed tests wraps onto an indented line.
PROVE_SUMMARY = """\
Test Summary Report
-------------------
./mod-scgi.t      (Wstat: 2048 (exited 8) Tests: 10 Failed: 8)
  Failed tests:  2-9
  Non-zero exit status: 8
./request.t       (Wstat: 10752 (exited 42) Tests: 164 Failed: 42)
  Failed tests:  19-24, 69-74, 118, 120-138, 148-151, 155
                157-161
  Non-zero exit status: 42
Files=4, Tests=224,  8 wallclock secs
"""


def test_failed_tests_reads_wrapped_lists():
    got = lighttpd.failed_tests(PROVE_SUMMARY)
    assert len(got) == 8 + 42  # the Wstat lines' "Failed:" counts
    assert got[:2] == ["mod-scgi.t#2", "mod-scgi.t#3"]
    assert got[-5:] == [f"request.t#{n}" for n in range(157, 162)]


def test_make_check_in_enclave(scone):
    """The whole make check in the enclave, for CI (seconds once built): the
    harness's 224 tests (as many as natively) run, and only the named tests
    that need a child fail."""
    tree = built(lighttpd.build_tree, scone)
    ours = lighttpd.make_check(tree, scone)
    named = {t for group in lighttpd.HARNESS_NEEDS_CHILD.values() for t in group}
    assert ours["tests"] == 224, ours["log"]
    assert set(ours["failed"]) <= named, sorted(set(ours["failed"]) - named)
    assert set(ours["unit_failed"]) <= {*lighttpd.NEEDS_CHILD, "run-tests.pl"}, ours["log"]


@pytest.mark.slow
def test_make_check_against_native_musl(scone, musl):
    native = lighttpd.make_check(built(lighttpd.build_tree, musl), musl)
    assert native["tests"], native["log"]
    tree = built(lighttpd.build_tree, scone)
    assert is_enclave(tree / "src" / "lighttpd")
    ours = lighttpd.make_check(tree, scone)
    assert ours["tests"] == native["tests"], ours["log"]
    named = {t for group in lighttpd.HARNESS_NEEDS_CHILD.values() for t in group}
    # Apart from the named tests (a child refused) and the native-only
    # crypt() failures, the same tests fail: none more, none fewer.
    assert set(ours["failed"]) - named == set(native["failed"]) - named - set(lighttpd.NATIVE_NO_CRYPT), ours["log"]
    assert ours["passed"] >= native["passed"] - len(named), ours["log"]
    # run-tests.pl is the harness as one unit: it fails natively (crypt) and here.
    units = sorted(set(ours["unit_failed"]) - set(native["unit_failed"]) - set(lighttpd.NEEDS_CHILD))
    assert not units, ours["log"]
