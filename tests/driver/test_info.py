"""-print-* and -dump* answers: what the musl sysroot implies."""

from .conftest import run


def test_print_sysroot_is_the_sysroot_module(scone_gcc, scone_env):
    from scone_cc import sysroot

    out = run([scone_gcc, "-print-sysroot"], env=scone_env)
    assert out.returncode == 0, out.stderr
    assert out.stdout == f"{sysroot.current()}\n"


def test_print_file_name(scone_gcc, scone_env):
    sysroot = run([scone_gcc, "-print-sysroot"], env=scone_env).stdout.strip()

    def ask(name):
        out = run([scone_gcc, f"-print-file-name={name}"], env=scone_env)
        assert out.returncode == 0, out.stderr
        return out.stdout

    assert ask("libc.a") == f"{sysroot}/lib/libc.a\n"
    assert ask("crt1.o") == f"{sysroot}/lib/crt1.o\n"
    assert ask("libgcc.a") == run(["gcc", "-print-file-name=libgcc.a"]).stdout
    assert ask("include") == run(["gcc", "-print-file-name=include"]).stdout
    assert ask("libanl.a") == "libanl.a\n"          # glibc's, not ours
    assert ask("no-such-lib.a") == "no-such-lib.a\n"


def test_machine(scone_gcc, scone_env):
    assert run([scone_gcc, "-dumpmachine"], env=scone_env).stdout == "x86_64-linux-musl\n"


def test_forwarded_to_gcc(scone_gcc, scone_env):
    for words in (["--version"], ["-dumpversion"], ["-print-prog-name=ld"], ["-print-libgcc-file-name"]):
        ours, gccs = run([scone_gcc, *words], env=scone_env), run(["gcc", *words])
        assert (ours.returncode, ours.stdout) == (gccs.returncode, gccs.stdout), words
    v = run([scone_gcc, "-v"], env=scone_env)
    assert v.returncode == 0 and "gcc version" in v.stderr


def test_search_dirs(scone_gcc, scone_env):
    sysroot = run([scone_gcc, "-print-sysroot"], env=scone_env).stdout.strip()
    out = run([scone_gcc, "-print-search-dirs"], env=scone_env)
    libdir = run(["gcc", "-print-libgcc-file-name"]).stdout.strip().rsplit("/", 1)[0]
    lines = out.stdout.splitlines()
    assert f"libraries: ={sysroot}/lib/:{libdir}/" in lines
    assert lines[0] == run(["gcc", "-print-search-dirs"]).stdout.splitlines()[0]
