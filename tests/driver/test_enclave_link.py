"""The enclave link mode end to end: image link, then the enclave build's finish()."""

import os
import re

import pytest

from .conftest import run

HELLO = '#include <stdio.h>\nint main(int c, char **v){ printf("hello %s\\n", c > 1 ? v[1] : "x"); return 3; }\n'


@pytest.fixture
def eenv(scone_env, sysroot):
    if not (sysroot / "lib" / "libscone-enclave.a").exists():
        pytest.skip("the sysroot has no enclave runtime yet (lib/libscone-enclave.a)")
    env = dict(scone_env, SCONE_MODE="SIM")
    env.pop("SCONE_NATIVE", None)
    return env


def mrenclave(path, env) -> str:
    out = run([str(path)], env=dict(env, SCONE_HASH="1"))
    assert out.returncode == 0, out.stderr
    m = re.search(r"\b[0-9a-f]{64}\b", out.stdout)
    assert m, out.stdout
    return m.group(0)


def test_hello_runs_as_an_enclave(scone_gcc, tmp_path, eenv):
    (tmp_path / "hello.c").write_text(HELLO)
    out = run([scone_gcc, "-O2", "hello.c", "-o", "hello"], cwd=tmp_path, env=eenv)
    assert out.returncode == 0, out.stderr
    res = run([str(tmp_path / "hello"), "enclave"], env=eenv)
    assert (res.returncode, res.stdout) == (3, "hello enclave\n"), res.stderr
    assert sorted(os.listdir(tmp_path)) == ["hello", "hello.c", "home"]  # no image left behind


def test_parameters_reach_the_signature(scone_gcc, tmp_path, eenv):
    (tmp_path / "hello.c").write_text(HELLO)
    for name, flags in (("a", ["--scone-heap=64M"]), ("b", ["--scone-heap=64M"]),
                        ("c", ["--scone-heap=128M"]), ("d", ["--scone-tcs=2"])):
        out = run([scone_gcc, *flags, "hello.c", "-o", name], cwd=tmp_path, env=eenv)
        assert out.returncode == 0, out.stderr
    a, b, c, d = (mrenclave(tmp_path / n, eenv) for n in "abcd")
    assert a == b
    assert len({a, c, d}) == 3


def test_native_flag_overrides(scone_gcc, tmp_path, eenv):
    (tmp_path / "hello.c").write_text(HELLO)
    out = run([scone_gcc, "--scone-native", "hello.c", "-o", "n"], cwd=tmp_path, env=eenv)
    assert out.returncode == 0, out.stderr
    assert "__init_libc" in run(["readelf", "-sW", str(tmp_path / "n")]).stdout
    assert run([str(tmp_path / "n")]).stdout == "hello x\n"


def test_bad_key_is_one_error_and_no_output(scone_gcc, tmp_path, eenv):
    (tmp_path / "hello.c").write_text(HELLO)
    out = run([scone_gcc, "--scone-key=/nonexistent/key.pem", "hello.c", "-o", "k"], cwd=tmp_path, env=eenv)
    assert out.returncode != 0
    assert out.stderr.startswith("scone-gcc: error: ") and out.stderr.count("\n") == 1, out.stderr
    assert "Traceback" not in out.stderr
    assert sorted(os.listdir(tmp_path)) == ["hello.c", "home"]


def test_key_warning_reaches_the_user(scone_gcc, tmp_path, eenv):
    (tmp_path / "hello.c").write_text(HELLO)
    key = tmp_path / "shared.pem"
    made = run(["scone-sign", "keygen", "-o", str(key)], env=eenv)
    assert made.returncode == 0, made.stderr
    key.chmod(0o644)
    out = run([scone_gcc, f"--scone-key={key}", "hello.c", "-o", "h"], cwd=tmp_path, env=eenv)
    assert out.returncode == 0, out.stderr
    assert out.stderr == (f"scone-gcc: warning: {key}: private key is readable by its group and "
                          f"others (mode 0644); run `chmod 600 {key}`\n")
    res = run([str(tmp_path / "h"), "k"], env=eenv)
    assert (res.returncode, res.stdout) == (3, "hello k\n"), res.stderr


FACCESSAT = r"""
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
int main(int argc, char **argv) {
    const char *names[] = {".", argv[0], "no-such-file", "/"};
    for (int i = 0; i < 4; i++) {
        int r = faccessat(AT_FDCWD, names[i], R_OK, 0);
        int e = r ? errno : 0;
        int x = faccessat(AT_FDCWD, names[i], X_OK, AT_EACCESS);
        printf("%s: R_OK %d %d, X_OK|AT_EACCESS %d\n", i == 1 ? "self" : names[i], r, e, x);
    }
    int bad = faccessat(AT_FDCWD, ".", R_OK, 0x4000);
    printf("bad flag: %d %s\n", bad, bad ? strerror(errno) : "");
    return 0;
}
"""


def test_faccessat_links_and_answers_as_native(scone_gcc, tmp_path, eenv):
    # musl's faccessat reaches a non-thread clone on its AT_EACCESS fallback;
    # the overlay drops that path, so a program calling it links.
    (tmp_path / "fa.c").write_text(FACCESSAT)
    out = run([scone_gcc, "-O2", "fa.c", "-o", "fa"], cwd=tmp_path, env=eenv)
    assert out.returncode == 0, out.stderr
    out = run([scone_gcc, "--scone-native", "-O2", "fa.c", "-o", "fa-native"], cwd=tmp_path, env=eenv)
    assert out.returncode == 0, out.stderr
    enclave = run(["./fa"], cwd=tmp_path, env=eenv)
    native = run(["./fa-native"], cwd=tmp_path, env=eenv)
    assert enclave.returncode == native.returncode == 0, enclave.stderr
    assert enclave.stdout == native.stdout
    assert enclave.stdout.startswith(".: R_OK 0 0, X_OK|AT_EACCESS 0\n")
    assert f"no-such-file: R_OK -1 {2}, X_OK|AT_EACCESS -1\n" in enclave.stdout   # ENOENT
    assert "bad flag: -1 Invalid argument\n" in enclave.stdout


def test_link_errors_say_only_what_is_true(scone_gcc, tmp_path, eenv):
    (tmp_path / "u.c").write_text("int missing(void);\nint main(void) { return missing(); }\n")
    out = run([scone_gcc, "u.c", "-o", "u"], cwd=tmp_path, env=eenv)
    assert out.returncode == 1, out.stderr
    assert "undefined reference to `missing'" in out.stderr
    assert "IFUNC" not in out.stderr and "PLT" not in out.stderr, out.stderr
    (tmp_path / "i.c").write_text(
        "static int one(void) { return 1; }\nstatic void *pick(void) { return one; }\n"
        'int f(void) __attribute__((ifunc("pick")));\nint main(void) { return f(); }\n')
    out = run([scone_gcc, "i.c", "-o", "i"], cwd=tmp_path, env=eenv)
    assert out.returncode == 2 and "avoid IFUNC" in out.stderr, out.stderr
    assert len(out.stderr.strip().splitlines()) == 1 and not (tmp_path / "i").exists()


def build_id(path) -> str:
    out = run(["readelf", "-n", str(path)])
    m = re.findall(r"Build ID: ([0-9a-f]+)", out.stdout)
    assert len(m) == 1, out.stdout
    return m[0]


def test_each_binary_has_its_own_build_id(scone_gcc, tmp_path, eenv, sysroot):
    import hashlib

    from elftools.elf.elffile import ELFFile

    (tmp_path / "a.c").write_text(HELLO)
    (tmp_path / "b.c").write_text(HELLO.replace("hello", "other"))
    for src, out in (("a.c", "a1"), ("b.c", "b"), ("a.c", "a2")):
        r = run([scone_gcc, "-O2", src, "-o", out], cwd=tmp_path, env=eenv)
        assert r.returncode == 0, r.stderr
    starter = build_id(sysroot / "libexec" / "scone-starter")
    a1, b, a2 = (build_id(tmp_path / n) for n in ("a1", "b", "a2"))
    assert len({starter, a1, b}) == 3 and a1 == a2 and len(a1) == len(starter) == 40
    # SHA-256 over a tag, the starter's ID and the image's SHA-256, cut to the starter's length.
    with open(tmp_path / "a1", "rb") as f:
        image = ELFFile(f).get_section_by_name(".scone.enclave").data()
    want = hashlib.sha256(b"scone build-id\0" + bytes.fromhex(starter)
                          + hashlib.sha256(image).digest()).hexdigest()[:40]
    assert a1 == want
    # The starter the binary runs is still the one it keeps (only the ID differs).
    r = run(["scone-sign", "verify", "a1"], cwd=tmp_path, env=eenv)
    assert r.returncode == 0, r.stdout + r.stderr
    # A re-signing keeps it (same code), and the binary still starts.
    r = run(["scone-sign", "sign", "--tcs", "3", "a1"], cwd=tmp_path, env=eenv)
    assert r.returncode == 0, r.stderr
    assert build_id(tmp_path / "a1") == a1
    assert run(["./a1"], cwd=tmp_path, env=eenv).stdout == "hello x\n"
