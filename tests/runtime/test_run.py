"""Programs built with scone-gcc run inside the SIM enclave: output, argv,
environment, exit status, memory, files, signals, and the runtime's log lines."""

import subprocess
from pathlib import Path

PROGS = Path(__file__).resolve().parent / "progs"
HELLO = PROGS.parent.parent.parent / "samples" / "hello.c"


def run(cmd, env):
    return subprocess.run([str(c) for c in cmd], env=env, capture_output=True, text=True,
                          timeout=60)


def test_hello_output_argv_env_status(build, sim_env):
    exe = build(HELLO)
    env = dict(sim_env, HOME="/some/where")
    r = run([exe, "enclave", "42"], env)
    assert r.stdout == "Hello, enclave, from inside the enclave!\nargc=3 HOME=/some/where\n"
    assert r.returncode == 42
    assert r.stderr == ""
    r = run([exe], dict(env, HOME=""))
    assert r.stdout.splitlines() == ["Hello, world, from inside the enclave!", "argc=1 HOME="]
    assert r.returncode == 0


def test_malloc_heavy(build, sim_env):
    r = run([build(PROGS / "malloc.c")], sim_env)
    assert (r.returncode, r.stdout, r.stderr) == (0, "malloc ok\n", "")


def test_stdio_on_files(build, sim_env, tmp_path):
    target = tmp_path / "out.txt"
    r = run([build(PROGS / "files.c"), target], sim_env)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "lines 1001\n"
    text = target.read_text()
    assert text == "".join(f"line {i}\n" for i in range(1000)) + "tail\n"
    r = run([build(PROGS / "files.c"), target, "unlink"], sim_env)
    assert r.returncode == 0 and not target.exists()


def test_out_of_heap_is_enomem_with_one_log_line(build, sim_env):
    r = run([build(PROGS / "oom.c", "--scone-heap=1M")], sim_env)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "ENOMEM" in r.stdout
    kb = int(r.stdout.split("after ")[1].split(" KiB")[0])
    assert 256 <= kb < 1024          # bounded by the 1 MiB heap, not the host
    warn = [line for line in r.stderr.splitlines() if "[SCONE|WARN]" in line]
    assert len(warn) == 1 and "of the 1.0 MiB heap" in warn[0] and "sign with --heap" in warn[0], r.stderr


def test_unsupported_call_logs_and_fails(build, sim_env):
    r = run([build(PROGS / "unsupported.c")], sim_env)
    assert r.returncode == 0, r.stdout
    assert r.stdout == "r=-1 errno=ENOSYS\n"
    assert r.stderr == "[SCONE|WARN] system call execve (59) is not supported\n"
    quiet = run([build(PROGS / "unsupported.c")], dict(sim_env, SCONE_LOG="off"))
    assert quiet.returncode == 0 and quiet.stderr == ""


def test_ignored_sigpipe_reaches_the_host(build, sim_env):
    r = run([build(PROGS / "sigpipe.c")], sim_env)
    assert (r.returncode, r.stdout) == (0, "write=-1 EPIPE\n")


def test_debug_log_names_the_mode(build, sim_env):
    r = run([build(HELLO)], dict(sim_env, SCONE_LOG="debug"))
    assert r.returncode == 0
    assert "[SCONE|DEBUG] enclave started at 0x" in r.stderr and "SIM" in r.stderr


def test_hash_matches_scone_sign(build, rt_env):
    exe = build(HELLO)
    r = run([exe], dict(rt_env, SCONE_HASH="1"))
    assert r.returncode == 0 and r.stderr == ""
    c_hash = r.stdout.strip()
    assert len(c_hash) == 64 and int(c_hash, 16) >= 0
    py = subprocess.run(["scone-sign", "mrenclave", str(exe)], env=rt_env,
                        capture_output=True, text=True)
    assert py.returncode == 0, py.stderr
    assert py.stdout.strip() == c_hash   # C loader vs Python signer


def test_version_prints_config_and_hash_then_runs(build, sim_env):
    exe = build(HELLO)
    h = run([exe], dict(sim_env, SCONE_HASH="1")).stdout.strip()
    r = run([exe, "v"], dict(sim_env, SCONE_VERSION="1"))
    assert r.returncode == 0
    assert f"Enclave hash: {h}\n" in r.stderr
    assert "Heap: 67108864 bytes" in r.stderr and "mode SIM" in r.stderr
    assert r.stdout.startswith("Hello, v,")


def test_sim_exit_cycles(build, sim_env):
    r = run([build(HELLO)], dict(sim_env, SCONE_SIM_EXIT_CYCLES="20000"))
    assert r.returncode == 0 and r.stdout.startswith("Hello")
    bad = run([build(HELLO)], dict(sim_env, SCONE_SIM_EXIT_CYCLES="lots"))
    assert bad.returncode == 2
    assert bad.stderr.startswith("scone: error: SCONE_SIM_EXIT_CYCLES=lots")


def test_untouched_heap_is_not_resident(build, sim_env, tmp_path):
    """A 64 MiB heap that hello never uses must not become resident memory:
    the SIM enclave's peak stays within 8 MiB of the native static program's."""
    probe = tmp_path / "maxrss"
    cc = subprocess.run(["gcc", "-O2", "-o", str(probe), str(PROGS.parent / "units" / "maxrss.c")],
                        capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    native = build(HELLO, "--scone-native")

    def peak(exe):
        r = subprocess.run([str(probe), str(exe)], env=sim_env, capture_output=True, text=True)
        status, kib = map(int, r.stdout.splitlines()[-1].split())
        assert status == 0
        return kib

    enclave_kib, native_kib = peak(build(HELLO)), peak(native)
    assert enclave_kib <= native_kib + 8 * 1024, (enclave_kib, native_kib)


def test_echo_server_over_sockets(build, sim_env):
    import socket
    import time

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    exe = build(PROGS.parent.parent.parent / "samples" / "echo_server.c")
    srv = subprocess.Popen([str(exe), str(port), "1"], env=sim_env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        assert srv.stdout.readline() == f"listening on 127.0.0.1:{port}\n"
        deadline = time.monotonic() + 10
        while True:
            try:
                c = socket.create_connection(("127.0.0.1", port), timeout=10)
                break
            except ConnectionRefusedError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        with c:
            c.sendall(b"ping from the host\n")
            assert c.recv(100) == b"ping from the host\n"
        assert srv.wait(timeout=10) == 0
    finally:
        srv.kill()
        srv.wait()


def test_large_environment_and_arguments(build, sim_env, tmp_path):
    src = tmp_path / "count.c"
    src.write_text('#include <stdio.h>\n#include <string.h>\nextern char **environ;\n'
                   "int main(int c, char **v) { size_t n = 0, b = 0;\n"
                   "  for (char **e = environ; *e; e++) n++, b += strlen(*e);\n"
                   '  printf("%zu %zu %d %zu\\n", n, b, c, strlen(v[1])); return 0; }\n')
    env = {f"V{i}": "x" * 50 for i in range(5000)}
    env["SCONE_MODE"] = "SIM"
    r = run([build(src), "a" * 100000], env)
    assert r.returncode == 0, r.stderr
    # 5001 variables: V0..V4999 ("Vi=" + 50) and SCONE_MODE=SIM
    size = sum(len(f"V{i}=") + 50 for i in range(5000)) + len("SCONE_MODE=SIM")
    assert r.stdout == f"5001 {size} 2 100000\n"
