"""zlib's own ``make test`` (example + minigzip, 32- and 64-bit offsets) in SIM."""

import pytest

from appkit import zlib

from .conftest import built, is_enclave


def test_make_test_in_enclave(scone):
    tree = built(zlib.build_tree, scone)
    assert is_enclave(tree / "example") and is_enclave(tree / "minigzip64")
    res = zlib.run_suite(tree, scone)
    assert (res["rc"], res["passed"], res["failed"]) == (0, 2, 0), res["log"]


@pytest.mark.slow
def test_same_counts_as_native_musl(scone, musl):
    ours = zlib.run_suite(built(zlib.build_tree, scone), scone)
    native = zlib.run_suite(built(zlib.build_tree, musl), musl)
    assert native["rc"] == 0, native["log"]
    assert (ours["rc"], ours["passed"], ours["failed"]) == (native["rc"], native["passed"], native["failed"])
