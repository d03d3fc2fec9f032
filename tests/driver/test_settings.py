"""--scone-* options and SCONE_* variables become the signed EnclaveParams."""

import pytest

from scone_cc.driver.settings import link_settings
from scone_cc.errors import SconeError
from scone_cc.sgx.pages import EnclaveParams


def test_defaults_are_the_contract_defaults():
    s = link_settings((), {})
    assert s.native is False
    assert s.params == EnclaveParams()
    assert s.key is None and s.allow == ()


def test_command_line_over_environment():
    env = {"SCONE_HEAP": "32M", "SCONE_STACK": "64K", "SCONE_TCS": "2",
           "SCONE_KEY": "/env.pem", "SCONE_ALLOW": "fork"}
    s = link_settings((("--scone-heap", "128M"), ("--scone-tcs", "4"),
                       ("--scone-allow", "execve,system"), ("--scone-key", "k.pem")), env)
    assert s.params.heap_size == 128 << 20
    assert s.params.stack_size == 64 << 10
    assert s.params.tcs_count == 4
    assert s.key == "k.pem"
    assert s.allow == ("fork", "execve", "system")


@pytest.mark.parametrize("env, native", [
    ({}, False), ({"SCONE_NATIVE": "1"}, True), ({"SCONE_NATIVE": "0"}, False),
    ({"SCONE_NATIVE": ""}, False), ({"SCONE_NATIVE": "yes"}, True),
])
def test_native_from_environment(env, native):
    assert link_settings((), env).native is native


def test_native_flag():
    assert link_settings((("--scone-native", ""),), {"SCONE_NATIVE": "0"}).native is True


def test_errors_name_the_setting():
    with pytest.raises(SconeError, match=r"^SCONE_HEAP: '12Q' is not a size"):
        link_settings((), {"SCONE_HEAP": "12Q"})
    with pytest.raises(SconeError, match=r"^--scone-stack: '1000' \(1000 bytes\) is not a multiple"):
        link_settings((("--scone-stack", "1000"),), {})
    with pytest.raises(SconeError, match=r"^SCONE_NATIVE='maybe': expected 1 or 0"):
        link_settings((), {"SCONE_NATIVE": "maybe"})


@pytest.mark.parametrize("words, env", [
    ((("--scone-heap", "1024G"),), {}),            # a 2 TiB enclave
    ((), {"SCONE_HEAP": "64G"}),                   # 64 GiB + the rest: SIZE 128 GiB
    ((("--scone-tcs", "64"), ("--scone-stack", "1G")), {}),
])
def test_enclave_larger_than_64_gib_is_refused_before_the_link(words, env):
    with pytest.raises(SconeError, match=r"the most scone lays out is 64 GiB") as err:
        link_settings(words, env)
    assert "\n" not in str(err.value) and err.value.exit_code == 2


def test_enclave_of_64_gib_is_accepted():
    # 63 GiB of heap + 8 x 1 MiB stacks fits below 2^36 bytes (SIZE = 64 GiB).
    assert link_settings((("--scone-heap", "63G"),), {}).params.heap_size == 63 << 30
    # Native links have no enclave: the bound does not apply.
    assert link_settings((("--scone-heap", "1024G"),), {"SCONE_NATIVE": "1"}).native
