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
