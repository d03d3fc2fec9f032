"""The label encoding (scone_cc.image.labels): written as README.md documents, read back whole."""

import pytest

from scone_cc.errors import SconeError
from scone_cc.image import labels

FACTS = {"path": "/usr/bin/app", "mrenclave": "ab" * 32, "mrsigner": "cd" * 32,
         "isvprodid": 7, "isvsvn": 3, "debug": False, "heap_size": 1 << 30,
         "stack_size": 8 << 20, "tcs_count": 4, "enclave_size": 1 << 31,
         "epc_size": (1 << 30) + (40 << 20), "volumes": ["/data", "/logs"]}


def test_documented_names_and_round_trip():
    written = labels.to_labels([FACTS])
    assert written == {
        "scone.enclaves": "1",
        "scone.enclave.0.path": "/usr/bin/app",
        "scone.enclave.0.mrenclave": "ab" * 32,
        "scone.enclave.0.mrsigner": "cd" * 32,
        "scone.enclave.0.isvprodid": "7",
        "scone.enclave.0.isvsvn": "3",
        "scone.enclave.0.debug": "false",
        "scone.enclave.0.heap": "1073741824",
        "scone.enclave.0.stack": "8388608",
        "scone.enclave.0.tcs": "4",
        "scone.enclave.0.size": "2147483648",
        "scone.enclave.0.epc": "1115684864",
        "scone.enclave.0.volumes": "/data,/logs",
    }
    assert labels.from_labels(written, "img") == [FACTS]


@pytest.mark.parametrize("change, words", [
    ({"scone.enclave.0.tcs": "four"}, "label scone.enclave.0.tcs: 'four' is not a number"),
    ({"scone.enclave.0.debug": "yes"}, "label scone.enclave.0.debug: 'yes' is not true or false"),
    ({"scone.enclaves": "2"}, "label scone.enclave.1.path is missing"),
])
def test_incomplete_or_malformed(change, words):
    written = dict(labels.to_labels([FACTS]), **change)
    with pytest.raises(SconeError, match=words):
        labels.from_labels(written, "img")
