"""lighttpd's own ``make check`` (Perl harness driving ``lighttpd -D``) in SIM against native musl."""

import pytest

from appkit import lighttpd

from .conftest import built, is_enclave

pytestmark = pytest.mark.slow


def test_make_check_against_native_musl(scone, musl):
    native = lighttpd.make_check(built(lighttpd.build_tree, musl), musl)
    assert native["tests"], native["log"]
    tree = built(lighttpd.build_tree, scone)
    assert is_enclave(tree / "src" / "lighttpd")
    ours = lighttpd.make_check(tree, scone)
    assert ours["tests"] == native["tests"], ours["log"]
    extra = sorted(set(ours["failed"]) - set(native["failed"]) - set(lighttpd.NEEDS_CHILD))
    assert not extra, ours["log"]
    units = sorted(set(ours["unit_failed"]) - set(native["unit_failed"]) - set(lighttpd.NEEDS_CHILD))
    assert not units, ours["log"]
