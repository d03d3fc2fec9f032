"""Real programs over shielded regions, compared with the same program on
an unprotected path (slow: the first run builds SQLite's shell from Debian's
source with scone-gcc, as tests/apps does, then it is cached)."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "apps"))

from appkit import build, flavour, source, sqlite  # noqa: E402

from .conftest import KEY

# SQL whose answers SQLite itself fixes: the same session on a plain path
# (native musl) gives the expected output; the database in the region must
# give the same bytes, journal files and all.
SESSION = """\
PRAGMA journal_mode=DELETE;
CREATE TABLE t(a INTEGER PRIMARY KEY, b TEXT, c BLOB);
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<5000)
INSERT INTO t SELECT i, 'row ' || i || ' secret-sqlite-marker', randomblob(100) FROM n;
COMMIT;
CREATE INDEX tb ON t(b);
UPDATE t SET b = b || '!' WHERE a % 7 = 0;
DELETE FROM t WHERE a % 11 = 0;
SELECT count(*), sum(a), max(length(b)) FROM t;
SELECT b FROM t WHERE a IN (1, 7, 4999);
PRAGMA integrity_check;
VACUUM;
SELECT count(*) FROM t;
"""


def _flavour(name):
    try:
        return flavour.get(name)
    except flavour.FlavourUnavailable as why:
        pytest.skip(str(why))


def _shell_with_shield(fl):
    """SQLite's shell linked with an encrypted and an ephemeral region (so
    with both file shields: an enclave links only the shields its policy
    names); tests re-sign it with their own region."""
    def recipe(work: Path) -> Path:
        src = source.unpack(sqlite.PACKAGE, work)
        env = fl.environ(sqlite.ALLOW, SCONE_FS="/scone-fs-placeholder:encrypted,"
                                                "/scone-fs-scratch-placeholder:ephemeral")
        build.step(sqlite.CONFIGURE + ["--disable-tcl"], src, env)
        build.step(["make", "-j2", "sqlite3"], src, env)
        return src
    return build.cached(sqlite.PACKAGE + "-fsshields", fl, recipe) / "sqlite3"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["encrypted", "ephemeral"])
def test_sqlite_shell_in_a_region(mode, fs_env, tmp_path):
    scone, musl = _flavour("scone"), _flavour("musl")
    plain = sqlite.build_shell(musl) / "sqlite3"
    want = subprocess.run([str(plain), str(tmp_path / "plain.db")], input=SESSION,
                          capture_output=True, text=True, timeout=300)
    assert want.returncode == 0 and "4546|11366365|30" in want.stdout, want.stderr
    region = tmp_path / "vol"
    region.mkdir()
    shell = tmp_path / "sqlite3"
    shutil.copy(_shell_with_shield(scone), shell)
    s = subprocess.run(["scone-sign", "sign", "--fs", f"{region}:{mode}", str(shell)],
                       env=fs_env, capture_output=True, text=True)
    assert s.returncode == 0, s.stderr
    env = dict(fs_env, SCONE_FS_KEY=f"{region}:{KEY}", SCONE_ALLOW=",".join(sqlite.ALLOW))
    got = subprocess.run([str(shell), str(region / "db.sqlite")], input=SESSION, env=env,
                         capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    if mode == "ephemeral":
        assert not any(region.iterdir())
        return
    for f in region.iterdir():
        assert b"secret-sqlite-marker" not in f.read_bytes(), f
    v = subprocess.run(["scone-fs", "verify", "--key-hex", KEY, str(region)],
                       capture_output=True, text=True)
    assert v.returncode == 0, v.stdout + v.stderr
    # a second enclave process reopens the database
    again = subprocess.run([str(shell), str(region / "db.sqlite")],
                           input="SELECT count(*) FROM t; PRAGMA integrity_check;\n", env=env,
                           capture_output=True, text=True, timeout=300)
    assert (again.returncode, again.stdout) == (0, "4546\nok\n"), again.stderr
