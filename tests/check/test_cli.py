"""scone-check as a command: whole outputs, exit codes, policy, JSON."""

import json
import os
import subprocess

import pytest

FORK_FIX = ("use threads (pthread_create), or run the child outside the enclave and talk to it "
            "through a pipe or socket")
PROG = "#include <unistd.h>\nint main(void)\n{\n    return fork();\n}\n"
CLEAN = "#include <stdio.h>\nint main(void)\n{\n    return puts(\"hi\");\n}\n"


def cli(args, cwd, **env):
    e = dict(os.environ, COLUMNS="80", NO_COLOR="1", TERM="dumb")
    e.pop("SCONE_ALLOW", None)
    e.update(env)
    return subprocess.run(["scone-check"] + args, cwd=cwd, capture_output=True, text=True, env=e)


@pytest.fixture
def prog(tmp_path):
    (tmp_path / "prog.c").write_text(PROG)
    subprocess.run(["gcc", "-g", "-c", "prog.c", "-o", "prog.o"], cwd=tmp_path, check=True)
    (tmp_path / "clean.c").write_text(CLEAN)
    subprocess.run(["gcc", "-g", "-c", "clean.c", "-o", "clean.o"], cwd=tmp_path, check=True)
    dump = subprocess.run(["objdump", "-dr", "prog.o"], cwd=tmp_path, capture_output=True, text=True,
                          check=True).stdout
    reloc = next(line for line in dump.splitlines() if "R_X86_64_PLT32" in line and "\tfork-0x4" in line)
    call = int(reloc.split(":")[0].strip(), 16) - 1      # the e8 opcode precedes the relocated field
    col = PROG.splitlines()[3].index("fork") + 1
    return tmp_path, call, col


def test_error_line_whole(prog):
    d, call, col = prog
    r = cli(["prog.o"], d)
    assert r.stdout == (f"prog.c:4:{col}: error: call to 'fork' needs system call fork (57), which enclaves do "
                        f"not support; {FORK_FIX} [in 'main', prog.o(.text+{call:#x})]\n")
    assert r.stderr == "" and r.returncode == 1


@pytest.mark.parametrize("how", [["--allow", "fork"], ["--allow", "system,fork"], ["--allow", "x", "--allow", "fork"],
                                 "env"])
def test_allow_turns_errors_into_warnings(prog, how):
    d, call, col = prog
    r = cli(["prog.o"], d, SCONE_ALLOW="popen,fork") if how == "env" else cli(how + ["prog.o"], d)
    assert r.stdout == (f"prog.c:4:{col}: warning: call to 'fork' needs system call fork (57), which enclaves do "
                        f"not support; {FORK_FIX} [in 'main', prog.o(.text+{call:#x})]\n")
    assert r.returncode == 0


def test_json_one_object_per_finding(prog):
    d, call, col = prog
    r = cli(["--json", "prog.o", "clean.o"], d)
    lines = r.stdout.splitlines()
    assert len(lines) == 1 and r.returncode == 1
    f = json.loads(lines[0])
    assert (f["location"], f["severity"], f["callee"], f["syscall"], f["nr"], f["function"], f["offset"]) == \
        (f"prog.c:4:{col}", "error", "fork", "fork", 57, "main", call)
    assert f["where"] == f"prog.o(.text+{call:#x})" and f["fix"] == FORK_FIX


def test_clean_file_exits_zero_silently(prog):
    d, _call, _col = prog
    r = cli(["clean.o"], d)
    assert (r.stdout, r.stderr, r.returncode) == ("", "", 0)


def test_bad_input_is_one_line_and_exit_2_while_good_files_are_still_checked(prog):
    d, call, col = prog
    (d / "notes.txt").write_text("hello\n")
    r = cli(["notes.txt", "prog.o"], d)
    assert r.stderr == ("scone-check: error: notes.txt: not an ELF file (starts with 68656c6c); "
                        "pass objects, archives or executables\n")
    assert r.stdout.startswith(f"prog.c:4:{col}: error: call to 'fork'")
    assert r.returncode == 2


def test_archive_member_that_is_not_elf_is_noted_and_skipped(prog):
    d, _call, _col = prog
    (d / "README").write_text("not an object\n")
    subprocess.run(["ar", "rc", "libx.a", "README", "clean.o"], cwd=d, check=True)
    r = cli(["libx.a"], d)
    assert r.stderr == "libx.a(README): note: skipping archive member that is not an ELF object\n"
    assert (r.stdout, r.returncode) == ("", 0)


def test_usage_errors_are_one_line():
    r = subprocess.run(["scone-check"], capture_output=True, text=True)
    assert r.stderr == "scone-check: error: Missing argument 'FILES...'; see scone-check --help\n"
    assert r.returncode == 2
    r = subprocess.run(["scone-check", "--frobnicate", "x"], capture_output=True, text=True)
    assert r.returncode == 2 and len(r.stderr.splitlines()) == 1 and "Traceback" not in r.stderr
