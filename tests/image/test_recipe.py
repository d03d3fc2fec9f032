"""The recipe checker meets every wrong type with a SconeError, never another exception."""

import copy

import pytest

from scone_cc.errors import SconeError
from scone_cc.image import recipe

KEYS = [("name",), ("tag",), ("mode",), ("enclave",), ("file",), ("config",), ("cas",),
        ("config", "entrypoint"), ("config", "cmd"), ("config", "env"), ("config", "ports"),
        ("config", "user"), ("config", "workdir"), ("config", "labels"), ("cas", "address"),
        ("cas", "config_id"), ("enclave", 0, "source"), ("enclave", 0, "target"),
        ("enclave", 0, "volume")]
VALUES = [1, "x", [], [1], {}, {"a": 1}, True, 1.5, ["a"], [{"source": "app"}]]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: ".".join(map(str, k)))
def test_wrong_types(tmp_path, key):
    (tmp_path / "app").write_text("")
    for value in VALUES:
        data = {"enclave": [{"source": "app"}]}
        node = data
        for part in key[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[key[-1]] = copy.deepcopy(value)
        try:
            recipe.parse(data, tmp_path / "r.toml")
        except SconeError:
            pass
