"""The syscall table against independent sources: the kernel's and musl's
numbers, the C compiler's struct sizes, and the committed C header."""

import re
import subprocess
import tarfile
from pathlib import Path

import pytest

from scone_cc.errors import SconeError
from scone_cc.syscalls import PSEUDO_BASE, TABLE_PATH, by_name, table
from scone_cc.syscalls.parse import parse_table

KERNEL_HEADER = Path("/usr/include/x86_64-linux-gnu/asm/unistd_64.h")
NR_RE = re.compile(r"^#define\s+__NR_(\w+)\s+(\d+)\s*$", re.M)


def linux():
    return {nr: e for nr, e in table().items() if nr < PSEUDO_BASE}


def test_matches_kernel_header():
    if not KERNEL_HEADER.exists():
        pytest.skip("linux-libc-dev not installed")
    kernel = {int(nr): name for name, nr in NR_RE.findall(KERNEL_HEADER.read_text())}
    assert len(kernel) > 350
    ours = {nr: e.name for nr, e in linux().items()}
    assert ours == kernel


def _musl_syscall_h_in():
    """arch/x86_64/bits/syscall.h.in of pristine musl, or the installed musl-dev header."""
    from scone_cc import musl_source, paths

    try:
        tb = musl_source.tarball(paths.cache_dir())
        with tarfile.open(tb) as tf:
            return tf.extractfile("musl-1.2.3/arch/x86_64/bits/syscall.h.in").read().decode()
    except (SconeError, KeyError, OSError):
        pass
    installed = Path("/usr/include/x86_64-linux-musl/bits/syscall.h")
    if installed.exists():
        return installed.read_text()
    pytest.skip("neither the musl tarball nor musl-dev is available")


def test_matches_musl():
    musl = {name: int(nr) for name, nr in NR_RE.findall(_musl_syscall_h_in())}
    assert len(musl) > 340
    for name, nr in musl.items():
        e = table().get(nr)
        assert e is not None and e.name == name, (name, nr)


def test_pseudo_calls_match_the_hook():
    unmap = by_name("unmapself")
    assert unmap.nr == 1024 and unmap.cls == "internal"
    src = Path(__file__).resolve().parents[2] / "libc_patch/src/thread/x86_64/__unmapself.s"
    if src.exists():
        assert "movl $1024,%eax" in src.read_text()
    hook = Path(__file__).resolve().parents[2] / "runtime/include/scone/hook.h"
    if hook.exists():
        text = hook.read_text()
        base = int(re.search(r"#define\s+SCONE_NR_BASE\s+(\d+)", text).group(1))
        assert base == PSEUDO_BASE
        calls = re.findall(r"#define\s+SCONE_NR_(\w+)\s+\(SCONE_NR_BASE \+ (\d+)\)", text)
        assert calls
        for name, k in calls:
            assert by_name(name) is not None and by_name(name).nr == base + int(k), name


def test_classes_of_the_well_known_calls():
    for name in ("fork", "vfork", "execve", "execveat", "ptrace", "clone3", "kexec_load",
                 "kexec_file_load", "init_module", "finit_module", "process_vm_readv",
                 "process_vm_writev", "seccomp", "modify_ldt", "iopl", "ioperm"):
        assert by_name(name).cls == "unsupported", name
    for name in ("brk", "mmap", "munmap", "mremap", "mprotect", "madvise", "futex", "clone",
                 "exit", "exit_group", "set_tid_address", "set_robust_list", "sched_yield",
                 "rt_sigaction", "rt_sigprocmask", "sigaltstack", "arch_prctl", "getpid",
                 "gettid", "getrandom"):
        assert by_name(name).cls == "internal", name
    for name in ("read", "write", "openat", "accept4", "epoll_wait", "recvmsg", "ioctl"):
        assert by_name(name).cls == "external", name
    assert by_name("clone").thread_flags == 0x100 | 0x10000   # CLONE_VM | CLONE_THREAD


def test_every_unsupported_call_says_why_and_what_to_do():
    for e in table().values():
        if e.cls == "unsupported":
            assert e.reason and e.fix and e.libc, e.name


def test_marshalling_of_some_calls_by_hand():
    read = by_name("read")
    assert [(a.kind, a.size, a.size_arg) for a in read.args] == [("fd", 0, None), ("out", 1, 2), ("int", 0, None)]
    assert (read.ret.kind, read.ret.arg) == ("size", 2)
    # Only calls whose size 0 asks for the size needed (xattr(7), getgroups(2))
    # may answer more than they asked; read(2) of 0 bytes gives 0.
    queries = sorted(e.name for e in table().values() if e.ret and e.ret.kind == "sizeq")
    assert queries == sorted(["getgroups", "getxattr", "lgetxattr", "fgetxattr",
                              "listxattr", "llistxattr", "flistxattr"])
    acc = by_name("accept4")
    assert [a.kind for a in acc.args] == ["fd", "out_lenptr", "inout", "int"]
    assert acc.args[1].size_arg == 2 and acc.args[2].size == 4 and acc.ret.kind == "fd"
    ew = by_name("epoll_wait")
    assert (ew.args[1].kind, ew.args[1].size, ew.args[1].size_arg) == ("out", 12, 2)
    assert by_name("fstat").args[1].size == 144
    assert by_name("recvmsg").args[1].kind == "msg_out"
    assert by_name("writev").args[1].kind == "iov_in" and by_name("writev").ret.kind == "iovsize"


STRUCTS_C = r"""
#define _GNU_SOURCE
#include <stdio.h>
#include <time.h>
#include <sys/timerfd.h>
#include <poll.h>
#include <signal.h>
#include <sched.h>
#include <mqueue.h>
#include <utime.h>
#include <sys/epoll.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/time.h>
#include <sys/timex.h>
#include <sys/times.h>
#include <sys/uio.h>
#include <sys/utsname.h>

#define P(n, t) printf("%s %zu\n", n, sizeof(t))
int main(void) {
  P("timespec", struct timespec); P("timeval", struct timeval); P("timezone", struct timezone);
  P("utimbuf", struct utimbuf); P("itimerval", struct itimerval); P("itimerspec", struct itimerspec);
  P("stat", struct stat); P("statx", struct statx); P("statfs", struct statfs);
  P("rlimit", struct rlimit); P("rusage", struct rusage); P("utsname", struct utsname);
  P("sysinfo", struct sysinfo); P("tms", struct tms); P("pollfd", struct pollfd);
  P("epoll_event", struct epoll_event); P("siginfo", siginfo_t); P("sigevent", struct sigevent);
  P("stack", stack_t); P("sched_param", struct sched_param); P("timex", struct timex);
  P("msqid_ds", struct msqid_ds); P("semid_ds", struct semid_ds); P("shmid_ds", struct shmid_ds);
  P("sembuf", struct sembuf); P("mq_attr", struct mq_attr); P("fd_set", fd_set);
  P("socklen", socklen_t); P("loff", off_t);
  return 0;
}
"""


def test_struct_sizes_match_the_c_compiler(tmp_path):
    src = tmp_path / "s.c"
    src.write_text(STRUCTS_C)
    exe = tmp_path / "s"
    cc = subprocess.run(["gcc", "-o", str(exe), str(src)], capture_output=True, text=True)
    assert cc.returncode == 0, cc.stderr
    sizes = dict(line.split() for line in subprocess.check_output([str(exe)], text=True).splitlines())
    text = TABLE_PATH.read_text()
    ours = dict(re.findall(r"^struct (\w+) (\d+)$", text, re.M))
    for name, size in sizes.items():
        if name in ours:
            assert ours[name] == size, name
    assert {"stat", "statx", "epoll_event", "utsname", "timex"} <= set(sizes) & set(ours)


@pytest.mark.parametrize("text,where", [
    ("0 read external size(count) fd:fd buf:out[nope] count:int\n", "1: 'nope'"),
    ("0 read bogus zero\n", "1: unknown class"),
    ("struct int 4\n\n0 read external zero a:int\n1 read external zero\n", "4: call 1 read listed twice"),
    ("57 fork unsupported -\n    why: because\n", "1: unsupported call fork needs"),
    ("0 read external zero p:ptr\n", "1: read: an external call cannot pass"),
    ("    why: x\n", "1: attribute line before any call"),
])
def test_table_errors_name_the_line(text, where):
    with pytest.raises(SconeError) as err:
        parse_table(text, "t.tbl")
    assert f"t.tbl:{where}" in str(err.value)


def test_table_is_immutable_and_cached():
    t = table()
    assert t is table()
    with pytest.raises(TypeError):
        t[0] = None
    e = t[0]
    with pytest.raises(Exception):
        e.name = "x"
    for nr, e in t.items():
        assert by_name(e.name) is e and e.nr == nr
    assert by_name("no_such_call") is None
