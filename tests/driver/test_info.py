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


def test_two_dash_spellings_are_answered_alike(scone_gcc, scone_env):
    # gcc accepts both spellings (CPython's configure asks --print-multiarch);
    # answered by gcc, the two-dash ones would describe glibc.
    sysroot = run([scone_gcc, "-print-sysroot"], env=scone_env).stdout.strip()
    for words, want in ((["--print-multiarch"], "x86_64-linux-musl\n"),
                        (["--print-sysroot"], f"{sysroot}\n"),
                        (["--print-file-name=libc.a"], f"{sysroot}/lib/libc.a\n"),
                        (["--print-file-name", "libc.a"], f"{sysroot}/lib/libc.a\n"),
                        (["--print-file-name", "crt1.o"], f"{sysroot}/lib/crt1.o\n")):
        out = run([scone_gcc, *words], env=scone_env)
        assert (out.returncode, out.stdout) == (0, want), (words, out.stderr)
    out = run([scone_gcc, "--print-search-dirs"], env=scone_env)
    assert f"libraries: ={sysroot}/lib/" in out.stdout
    for words in (["--print-prog-name=ld"], ["--print-prog-name", "as"],
                  ["--print-libgcc-file-name"], ["--print-multi-os-directory"]):
        ours, gccs = run([scone_gcc, *words], env=scone_env), run(["gcc", *words])
        assert (ours.returncode, ours.stdout) == (gccs.returncode, gccs.stdout), words


def test_versions(scone_gcc, scone_env):
    from importlib.metadata import version

    want = version("scone-cc")
    # --version is gcc's, unchanged: configure and CMake identify gcc by it.
    ours, gccs = run([scone_gcc, "--version"], env=scone_env), run(["gcc", "--version"])
    assert (ours.returncode, ours.stdout) == (0, gccs.stdout)
    out = run([scone_gcc, "--scone-version"], env=dict(scone_env, SCONE_CACHE="/nonexistent/x"))
    assert out.returncode == 0 and out.stderr == ""   # builds nothing
    assert out.stdout.splitlines()[0] == f"scone-gcc (scone) {want}"
    for prog in ("scone-sign", "scone-check"):
        out = run([prog, "--version"], env=scone_env)
        assert (out.returncode, out.stdout) == (0, f"{prog} (scone) {want}\n"), out.stderr


def test_help_is_gccs_then_ours(scone_gcc, scone_env):
    ours, gccs = run([scone_gcc, "--help"], env=scone_env), run(["gcc", "--help"])
    assert ours.returncode == gccs.returncode == 0
    assert ours.stdout.startswith(gccs.stdout)
    tail = ours.stdout[len(gccs.stdout):]
    # The README's table of the driver's own options.
    for name, env in (("--scone-heap=SIZE", "SCONE_HEAP"), ("--scone-stack=SIZE", "SCONE_STACK"),
                      ("--scone-tcs=N", "SCONE_TCS"), ("--scone-key=FILE", "SCONE_KEY"),
                      ("--scone-allow=NAME[,NAME]", "SCONE_ALLOW"),
                      ("--scone-native", "SCONE_NATIVE")):
        line = [ln for ln in tail.splitlines() if ln.split()[:1] == [name]]
        assert len(line) == 1 and env in line[0].split(), (name, tail)
    assert "--scone-version" in tail and "--scone-print=WHAT" in tail
