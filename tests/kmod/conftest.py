"""Fixtures of the kernel-module tests: the QEMU harness, one module build
and one guest boot shared by the tests of a session."""

import importlib
import sys

import pytest

from scone_cc.errors import SconeError


@pytest.fixture(scope="session")
def kq(repo):
    """kmod/tools/kmod_qemu.py, the builder and QEMU runner."""
    sys.path.insert(0, str(repo / "kmod" / "tools"))
    return importlib.import_module("kmod_qemu")


@pytest.fixture(scope="session")
def kernel(kq):
    k = kq.find_kernel()
    if k is None:
        pytest.skip("no linux-image-6.1.0-*-amd64 with matching linux-headers installed; "
                    + kq.INSTALL_HINT)
    return k


@pytest.fixture(scope="session")
def module_build(kq, kernel, tmp_path_factory):
    """(scone.ko, build log) built with W=1 from a copy of kmod/."""
    try:
        return kq.build_module(kernel, tmp_path_factory.mktemp("kmod") / "kmod")
    except SconeError as err:
        pytest.fail(str(err))
