"""Fetching Debian's sources: when apt's candidate cannot be fetched (a
security update whose files the mirror lacks answers 404), an older version
that apt-cache showsrc lists is used; when none can be, the caller fails."""

import subprocess

import pytest
from appkit.source import SourceUnavailable, apt_source, source_versions


def test_versions_newest_first():
    versions = source_versions("zlib")
    assert versions and all(src == "zlib" for src, _ in versions)
    for (_, newer), (_, older) in zip(versions, versions[1:]):
        assert subprocess.run(["dpkg", "--compare-versions", newer, "gt", older]).returncode == 0


@pytest.mark.parametrize("package", ["zlib", "lua5.4"])
def test_every_real_program_source_can_be_fetched(tmp_path, package):
    # zlib's candidate here is 1:1.2.13.dfsg-1+deb12u1, whose files the
    # mirror does not serve: the fall-back to 1:1.2.13.dfsg-1 is what works.
    tarballs = apt_source(package, tmp_path)
    assert tarballs and tarballs[0].stat().st_size > 100_000
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".partial")]


def test_no_version_at_all_is_an_error_naming_the_attempts(tmp_path):
    with pytest.raises(SourceUnavailable, match="no-such-source-scone: no version"):
        apt_source("no-such-source-scone", tmp_path)
