"""The recipe checker meets every wrong type with a SconeError, never another exception."""

import copy

import pytest

from scone_cc.errors import SconeError
from scone_cc.image import recipe

KEYS = [("name",), ("tag",), ("mode",), ("enclave",), ("file",), ("config",), ("cas",),
        ("config", "entrypoint"), ("config", "cmd"), ("config", "env"), ("config", "ports"),
        ("config", "user"), ("config", "workdir"), ("config", "labels"), ("cas", "address"),
        ("cas", "config_id"), ("enclave", 0, "source"), ("enclave", 0, "target"),
        ("enclave", 0, "volume"), ("base",), ("base", "debian"), ("base", "packages"),
        ("base", "mirror"), ("base", "tar"), ("file", 0, "exclude")]
VALUES = [1, "x", [], [1], {}, {"a": 1}, True, 1.5, ["a"], [{"source": "app"}]]


@pytest.mark.parametrize("key", KEYS, ids=lambda k: ".".join(map(str, k)))
def test_wrong_types(tmp_path, key):
    (tmp_path / "app").write_text("")
    (tmp_path / "d").mkdir(exist_ok=True)
    for value in VALUES:
        data = {"enclave": [{"source": "app"}], "file": [{"source": "d", "target": "/d"}]}
        node = data
        for part in key[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        node[key[-1]] = copy.deepcopy(value)
        try:
            recipe.parse(data, tmp_path / "r.toml")
        except SconeError:
            pass


def _fails(tmp_path, data, *words):
    with pytest.raises(SconeError) as err:
        recipe.parse(data, tmp_path / "r.toml")
    for w in words:
        assert w in str(err.value), str(err.value)


def test_base(tmp_path):
    """A base is a Debian suite with packages, or a tar file; an image of it may hold no enclave."""
    (tmp_path / "d").mkdir()
    (tmp_path / "rootfs.tar").write_bytes(b"")
    ok = recipe.parse({"base": {"debian": "bookworm", "packages": ["python3-minimal"]},
                       "config": {"entrypoint": ["/usr/bin/python3"]}}, tmp_path / "r.toml")
    assert ok.enclaves == () and ok.base.suite == "bookworm"
    assert ok.base.packages == ("python3-minimal",)
    assert ok.environment() == []           # no SCONE_MODE without an enclave
    assert recipe.parse({"base": {"tar": "rootfs.tar"}, "config": {"entrypoint": ["/x"]}},
                        tmp_path / "r.toml").base.tar == tmp_path / "rootfs.tar"
    _fails(tmp_path, {"base": {"debian": "bookworm", "packages": ["python3"]}},
           "config.entrypoint", "missing")
    _fails(tmp_path, {"config": {"entrypoint": ["/x"]}}, "names no [[enclave]]")
    _fails(tmp_path, {"base": {"debian": "bookworm"}}, "base.packages", "missing")
    _fails(tmp_path, {"base": {"debian": "bookworm", "packages": ["Python3; rm -rf /"]}},
           "base.packages", "not a Debian package name")
    _fails(tmp_path, {"base": {"debian": "../x", "packages": ["a1"]}}, "base.debian")
    _fails(tmp_path, {"base": {"debian": "bookworm", "packages": ["a1"], "mirror": "ftp://x"}},
           "base.mirror")
    _fails(tmp_path, {"base": {"tar": "rootfs.tar", "debian": "bookworm"}}, "not both")
    _fails(tmp_path, {"base": {"tar": "none.tar"}}, "base.tar", "no such file")
    _fails(tmp_path, {"base": {"tar": "d"}}, "base.tar", "not a file")
    _fails(tmp_path, {"enclave": [{"source": "d"}],
                      "file": [{"source": "rootfs.tar", "target": "/r", "exclude": ["x"]}]},
           "file[0].exclude", "not a directory")
    _fails(tmp_path, {"enclave": [{"source": "d"}],
                      "file": [{"source": "d", "target": "/r", "exclude": ["a/b"]}]},
           "file[0].exclude", "without /")


def test_base_cache_key():
    """The cache key changes with each input of the base and not with the packages' order."""
    from scone_cc.image.base import Base, cache_key

    one = Base(suite="bookworm", packages=("a1", "b2"))
    assert cache_key(one) == cache_key(Base(suite="bookworm", packages=("b2", "a1")))
    assert len({cache_key(one), cache_key(Base(suite="trixie", packages=("a1", "b2"))),
                cache_key(Base(suite="bookworm", packages=("a1",))),
                cache_key(Base(suite="bookworm", packages=("a1", "b2"), mirror="http://m/d"))}) == 4
