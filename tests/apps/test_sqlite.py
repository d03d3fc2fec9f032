"""SQLite: a shell session and five of veryquick's files in SIM, also with the
suite's databases in an encrypted region (quick); the veryquick suite against
native musl, and in an encrypted region against an unprotected directory (slow)."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from appkit import sqlite

from .conftest import built, is_enclave

SESSION = """\
create table t(a integer primary key, b text, c real);
insert into t(b, c) values ('x', 1.5), ('y', 2.5), ('z', null);
begin; update t set c = c * 2 where c is not null; commit;
select count(*), sum(c), group_concat(b, '-') from t;
create index tb on t(b);
select b from t where b > 'x' order by b desc;
with recursive n(i) as (select 1 union all select i + 1 from n where i < 100) select sum(i) from n;
select printf('%08.3f', 3.14159), upper('scone'), length(randomblob(17)), typeof(1e0);
pragma integrity_check;
"""
# Values follow from SQL itself (sum 3+5, 1..100 = 5050, printf per the SQLite docs).
EXPECTED = "3|8.0|x-y-z\nz\ny\n5050\n0003.142|SCONE|17|real\nok\n"


def test_shell_session_in_enclave(scone, tmp_path):
    tree = built(sqlite.build_shell, scone)
    assert is_enclave(tree / "sqlite3")
    db = tmp_path / "t.db"
    out = sqlite.shell(tree, scone, db, SESSION)
    assert (out.returncode, out.stdout) == (0, EXPECTED), out.stderr
    # Reopened by a second enclave process: the data reached the file.
    again = sqlite.shell(tree, scone, db, "select group_concat(c) from t; select sqlite_version();")
    assert (again.returncode, again.stdout) == (0, "3.0,5.0\n3.40.1\n"), again.stderr


# A few of veryquick's own files for CI: SQL functions and SELECT, and the
# WAL and mmap files that go through the enclave's shared file mappings.
QUICK_FILES = ("test/select1.test", "test/func.test", "test/wal2.test", "test/e_wal.test", "test/mmap2.test")


def test_some_veryquick_files_in_enclave(scone):
    ours = sqlite.veryquick(built(sqlite.build_testfixture, scone), scone, only=QUICK_FILES)
    assert ours["files"] == len(QUICK_FILES), ours["log"]
    assert (ours["errors"], ours["failures"], ours["aborted"]) == (0, [], {}), ours
    assert ours["tests"] > 15000, ours  # func.test alone has 14,734 natively


@pytest.mark.slow
def test_veryquick_against_native_musl(scone, musl):
    native = sqlite.veryquick(built(sqlite.build_testfixture, musl), musl)
    ours = sqlite.veryquick(built(sqlite.build_testfixture, scone), scone)
    assert native["tests"] > 200000 and not native["aborted"], native
    assert ours["files"] == native["files"], ours["log"]
    # Differences allowed: only the files and tests RESULTS.md lists as needing
    # a second process (fork refused), each named in appkit/sqlite.py.
    extra = sorted(t for t in set(ours["failures"]) - set(native["failures"]) if not sqlite.refused_in_enclave(t))
    assert not extra, f"enclave-only failures: {extra}"
    dead = sorted(set(ours["aborted"]) - set(native["aborted"]) - set(sqlite.ENCLAVE_REFUSED_FILES))
    assert not dead, f"files ending early only in the enclave: {[(f, ours['aborted'][f]) for f in dead]}"


# The suite with its working directory in an encrypted region (issue 14):
# every test database, journal, WAL and -shm file is a protected file. The
# same testfixture (linked with both file shields, re-signed with the
# region) on an unprotected directory gives the expected counts.
REGION_KEY = "00112233445566778899aabbccddeeff"
REGION_MARKER = "scone-region-marker"
# Our own last file: a database whose rows carry the marker, reopened, then
# in WAL mode (-wal and -shm in the region too), left behind for grep.
MARKER_TEST = """\
set testdir [file dirname $argv0]
source $testdir/tester.tcl
set testprefix regionmarker
forcedelete marker.db marker.db-wal marker.db-shm
do_test 1.0 {
  sqlite3 mdb marker.db
  mdb eval {
    CREATE TABLE m(x TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM n WHERE i<500)
    INSERT INTO m SELECT 'scone-' || 'region-marker-' || i FROM n;
  }
  mdb close
  sqlite3 mdb marker.db
  mdb eval { SELECT count(*), min(x) FROM m WHERE x GLOB 'scone-region-*' }
} {500 scone-region-marker-1}
do_test 2.0 {
  mdb eval { PRAGMA journal_mode=WAL; INSERT INTO m SELECT 'wal-' || x FROM m; }
  list [file exists marker.db-wal] [file exists marker.db-shm] [mdb one {SELECT count(*) FROM m}]
} {1 1 1000}
do_test 3.0 { mdb close; sqlite3 mdb marker.db; mdb eval { PRAGMA integrity_check } } ok
mdb close
finish_test
"""


def _nobody_dir(prefix: str) -> Path:
    d = Path(tempfile.mkdtemp(prefix=prefix))
    subprocess.run(["chown", "nobody:nogroup", str(d)], check=True)
    return d


def _region_and_plain(scone, only=()):
    """veryquick (``only`` its files, then MARKER_TEST) in an encrypted region
    and on an unprotected directory, by the same testfixture."""
    tree = built(sqlite.build_testfixture_fsshields, scone)
    region, plain, bins = _nobody_dir("scone-sqlite-vol-"), _nobody_dir("scone-sqlite-plain-"), Path(tempfile.mkdtemp())
    try:
        signed = bins / "testfixture"
        shutil.copy(tree / "testfixture", signed)
        s = subprocess.run(["scone-sign", "sign", "--fs", f"{region}:encrypted", str(signed)],
                           env=scone.environ(), capture_output=True, text=True)
        assert s.returncode == 0, s.stderr
        extra = {"zz_region_marker.test": MARKER_TEST}
        theirs = sqlite.veryquick(tree, scone, only=only, workdir=plain, extra=extra)
        ours = sqlite.veryquick(tree, scone, only=only, workdir=region, testfixture=signed, extra=extra,
                                run_env={"SCONE_FS_KEY": f"{region}:{REGION_KEY}"})
        found = {d: subprocess.run(["grep", "-rla", REGION_MARKER, str(d)], capture_output=True, text=True)
                 for d in (region, plain)}
        verify = subprocess.run(["scone-fs", "verify", "--key-hex", REGION_KEY, str(region)],
                                capture_output=True, text=True)
        left = sorted(str(p.relative_to(region)) for p in region.rglob("*"))
        return ours, theirs, found[region], found[plain], verify, left
    finally:
        for d in (region, plain, bins):
            shutil.rmtree(d, ignore_errors=True)


# Slow: it builds a second testfixture (both file shields linked in; its
# link line compiles sqlite3.c again), minutes after every runtime change.
# The file shield's quick real-program cases are in tests/fsshield/test_apps.py.
@pytest.mark.slow
def test_some_veryquick_files_in_an_encrypted_region(scone):
    ours, theirs, grep_region, grep_plain, verify, left = _region_and_plain(scone, QUICK_FILES)
    assert theirs["files"] == len(QUICK_FILES) + 1, theirs["log"]
    assert (theirs["errors"], theirs["failures"], theirs["aborted"]) == (0, [], {}), theirs
    assert (ours["errors"], ours["failures"], ours["aborted"]) == (0, [], {}), ours
    assert ours["tests"] == theirs["tests"] > 15000, (ours["tests"], theirs["tests"])
    # The marker reached the unprotected database in clear, and never the region's files.
    assert grep_plain.returncode == 0 and "marker.db" in grep_plain.stdout, grep_plain
    assert "testdir/marker.db" in left and ".scone-volume" in left, left  # tester.tcl works in testdir/
    assert grep_region.returncode == 1, grep_region.stdout
    assert verify.returncode == 0, verify.stdout + verify.stderr


# What differs with the suite's files in an encrypted region, by file or
# test name, with the reason (empty: nothing does).
REGION_DIFFERENCES: dict[str, str] = {}


@pytest.mark.slow
def test_veryquick_in_an_encrypted_region(scone):
    ours, theirs, grep_region, grep_plain, verify, left = _region_and_plain(scone)
    assert theirs["tests"] > 200000, theirs
    assert ours["files"] == theirs["files"], ours["log"]
    extra = sorted(t for t in set(ours["failures"]) - set(theirs["failures"]) if t not in REGION_DIFFERENCES)
    assert not extra, f"failures only in the region: {extra}"
    dead = sorted(set(ours["aborted"]) - set(theirs["aborted"]) - set(REGION_DIFFERENCES))
    assert not dead, f"files ending early only in the region: {[(f, ours['aborted'][f]) for f in dead]}"
    assert grep_plain.returncode == 0 and grep_region.returncode == 1, grep_region.stdout
    assert verify.returncode == 0, verify.stdout + verify.stderr
