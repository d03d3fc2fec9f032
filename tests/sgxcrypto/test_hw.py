"""The HW backend on a machine without SGX: UAPI numbers and layouts, the
vDSO lookup, XFRM choice, availability messages, and the entry path against
a stand-in for __vdso_sgx_enter_enclave."""

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest
from elftools.elf.elffile import ELFFile

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
HW = REPO / "runtime" / "untrusted" / "hw"
CRYPTO = REPO / "runtime" / "sgxcrypto"
KERNEL_HEADER = Path("/usr/include/x86_64-linux-gnu/asm/sgx.h")

# sgx-spec.md §7, typed from the table
SPEC_IOCTLS = {"CREATE": 0x4008A400, "ADD_PAGES": 0xC030A401, "INIT": 0x4008A402,
               "PROVISION": 0x4008A403, "VEPC_REMOVE_ALL": 0x0000A404}
SPEC_LAYOUT = {"sizeof.create": 8, "sizeof.add_pages": 48, "sizeof.init": 8, "sizeof.run": 256,
               "add_pages.src": 0, "add_pages.offset": 8, "add_pages.length": 16,
               "add_pages.secinfo": 24, "add_pages.flags": 32, "add_pages.count": 40,
               "run.tcs": 0, "run.function": 8, "run.exception_vector": 12,
               "run.exception_error_code": 14, "run.exception_addr": 16,
               "run.user_handler": 24, "run.user_data": 32, "run.reserved": 40, "PAGE_MEASURE": 1}


def ioc(direction: int, nr: int, size: int) -> int:
    """asm-generic/ioctl.h: dir << 30 | size << 16 | type << 8 | nr, type 0xA4."""
    return direction << 30 | size << 16 | 0xA4 << 8 | nr


def gcc(out: Path, *args):
    res = subprocess.run(["gcc", "-O2", "-Wall", "-Werror", "-o", str(out), *map(str, args)],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr


@pytest.fixture(scope="module")
def driver(tmp_path_factory) -> Path:
    exe = tmp_path_factory.mktemp("hw") / "hw_driver"
    gcc(exe, f"-I{HW}", f"-I{HW.parent}", HERE / "hw_driver.c", HERE / "fake_vdso.S",
        *sorted(HW.glob("*.c")), *sorted(HW.glob("*.S")), *sorted(CRYPTO.glob("*.c")), "-lm")
    return exe


def drive(driver, *args, **kw) -> str:
    res = subprocess.run([str(driver), *map(str, args)], capture_output=True, text=True, **kw)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_part_mk_builds_every_object_into_starter_objs(tmp_path):
    mk = tmp_path / "t.mk"
    mk.write_text(f"TOP := {REPO}/runtime/\nO := {tmp_path}/out\nCC := gcc\n"
                  f"include {HW}/part.mk\nall: $(STARTER_OBJS)\nprint:\n\t@echo $(STARTER_OBJS)\n")
    res = subprocess.run(["make", "-s", "-f", str(mk), "all", "print"], capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    objs = res.stdout.split()
    sources = sorted(p.name for p in HW.iterdir() if p.suffix in (".c", ".S"))
    assert sorted(Path(o).name for o in objs) == [s + ".o" for s in sources]
    assert all(Path(o).is_file() for o in objs)
    # the starter's symbol comes out of it
    nm = subprocess.run(["nm", *objs], capture_output=True, text=True).stdout
    assert " D scone_backend_hw" in nm or " R scone_backend_hw" in nm


def test_spec_ioctl_numbers_follow_the_ioctl_encoding():
    write, readwrite = 1, 3
    assert SPEC_IOCTLS["CREATE"] == ioc(write, 0, 8)
    assert SPEC_IOCTLS["ADD_PAGES"] == ioc(readwrite, 1, 48)
    assert SPEC_IOCTLS["INIT"] == ioc(write, 2, 8)
    assert SPEC_IOCTLS["PROVISION"] == ioc(write, 3, 8)


def uapi(tmp_path) -> dict:
    exe = tmp_path / "uapi_dump"
    gcc(exe, f"-I{HW}", HERE / "uapi_dump.c")
    out = subprocess.run([str(exe)], capture_output=True, text=True, check=True).stdout
    return {k: int(v) for k, v in (line.split() for line in out.splitlines())}


@pytest.mark.skipif(not KERNEL_HEADER.exists(), reason="linux-libc-dev has no asm/sgx.h")
def test_installed_kernel_header_matches_spec_and_ours(tmp_path):
    got = uapi(tmp_path)
    for name, value in SPEC_IOCTLS.items():
        assert got[f"kernel.{name}"] == value, name
    for name, value in SPEC_LAYOUT.items():
        assert got[f"kernel.{name}"] == value, name
        assert got[f"scone.{name}"] == value, name
    for name in ("CREATE", "ADD_PAGES", "INIT"):
        assert got[f"scone.{name}"] == SPEC_IOCTLS[name], name


def test_vdso_lookup_finds_clock_gettime_where_the_elf_says(driver, tmp_path):
    dump = tmp_path / "vdso.so"
    out = drive(driver, "vdso", "__vdso_clock_gettime", "LINUX_2.6", dump)
    assert out.startswith("found ")
    with open(dump, "rb") as f:
        elf = ELFFile(f)
        dynsym = elf.get_section_by_name(".dynsym")
        want = [s for s in dynsym.iter_symbols() if s.name == "__vdso_clock_gettime"]
        load = next(seg for seg in elf.iter_segments() if seg["p_type"] == "PT_LOAD")
        assert len(want) == 1
        # image offset = symbol value - first PT_LOAD's vaddr + its file offset
        expect = want[0]["st_value"] - load["p_vaddr"] + load["p_offset"]
    assert int(out.split()[1], 16) == expect
    assert drive(driver, "clock") == "1"


def test_vdso_lookup_checks_the_version(driver, tmp_path):
    assert drive(driver, "vdso", "__vdso_clock_gettime", "LINUX_9.9", tmp_path / "v") == "missing"
    assert drive(driver, "vdso", "__vdso_no_such_function", "LINUX_2.6", tmp_path / "v") == "missing"


def test_sgx_enter_symbol_absent_is_reported_cleanly(driver, tmp_path):
    dump = tmp_path / "vdso.so"
    out = drive(driver, "vdso", "__vdso_sgx_enter_enclave", "LINUX_2.6", dump)
    with open(dump, "rb") as f:
        names = {s.name for s in ELFFile(f).get_section_by_name(".dynsym").iter_symbols()}
    if "__vdso_sgx_enter_enclave" in names:     # a kernel with CONFIG_X86_SGX
        assert out.startswith("found 0x")
    else:
        assert out == "missing"


def no_sgx_device():
    return not any(os.path.exists(p) for p in ("/dev/sgx_enclave", "/dev/sgx/enclave"))


@pytest.mark.skipif(not no_sgx_device(), reason="this machine has an SGX device")
def test_available_names_the_device_paths(driver):
    ok, _, msg = drive(driver, "available").partition(" ")
    assert ok == "0"
    assert "/dev/sgx_enclave" in msg and "/dev/sgx/enclave" in msg
    assert "CONFIG_X86_SGX" in msg and "SCONE_MODE=SIM" in msg


@pytest.mark.skipif(not no_sgx_device(), reason="this machine has an SGX device")
def test_create_without_device_fails_cleanly(driver):
    rc, ptr, msg = drive(driver, "create").split(" ", 2)
    assert int(rc) < 0 and ptr == "null"
    assert "/dev/sgx_enclave" in msg


def test_regular_file_is_not_the_driver(driver, tmp_path):
    fake = tmp_path / "sgx_enclave"
    fake.write_bytes(b"")
    ok, _, msg = drive(driver, "probe", fake).partition(" ")
    assert ok == "0" and f"{fake} is not a character device" in msg


@pytest.fixture
def char_device(tmp_path):
    node = tmp_path / "sgx_enclave"
    try:
        os.mknod(node, stat.S_IFCHR | 0o600, os.makedev(1, 3))   # /dev/null's numbers
        with open(node, "rb"):
            pass
    except OSError as e:
        pytest.skip(f"cannot make a device node here: {e}")
    return node


def test_device_without_vdso_entry_names_the_symbol(driver, char_device, tmp_path):
    dump = tmp_path / "v.so"
    if drive(driver, "vdso", "__vdso_sgx_enter_enclave", "LINUX_2.6", dump) != "missing":
        pytest.skip("this kernel has the SGX vDSO entry")
    ok, _, msg = drive(driver, "probe", char_device).partition(" ")
    assert ok == "0"
    assert "__vdso_sgx_enter_enclave" in msg and "LINUX_2.6" in msg and "CONFIG_X86_SGX" in msg


@pytest.mark.skipif(os.geteuid() != 0 or not shutil.which("setpriv"), reason="needs root and setpriv")
def test_permission_denied_says_how_to_fix(driver, char_device, tmp_path):
    os.chmod(tmp_path, 0o755)
    os.chmod(driver.parent, 0o755)
    res = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                          str(driver), "probe", str(char_device), "/nonexistent/sgx"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    ok, _, msg = res.stdout.strip().partition(" ")
    assert ok == "0"
    assert f"permission denied opening the SGX device {char_device}" in msg and "group" in msg


@pytest.mark.parametrize("xcr0,allowed,sig_xfrm,mask,expect", [
    # mask fixes only x87/SSE: every state the OS enables is turned on
    (0x2E7, 2**64 - 1, 0x3, 0x3, 0x2E7),
    # Gramine's mask: AVX, AVX-512, AMX free; PKRU (bit 9) fixed off
    (0x2E7, 2**64 - 1, 0x3, 0xFFFFFFFFFFF9FF1B, 0xE7),
    # SGX's CPUID allowance limits what XCR0 offers
    (0x2E7, 0x7, 0x3, 0x3, 0x7),
    # fixed AVX-512 off while AVX is free
    (0xE7, 2**64 - 1, 0x7, 0xE0 | 0x3, 0x7),
    # a feature group split by the mask is dropped where free
    (0xE7, 2**64 - 1, 0x3, 0x23, 0x7),
    # everything fixed: exactly the signed value
    (0xE7, 2**64 - 1, 0x7, 2**64 - 1, 0x7),
])
def test_xfrm_choice(driver, xcr0, allowed, sig_xfrm, mask, expect):
    out = drive(driver, "xfrm", hex(xcr0), hex(allowed), hex(sig_xfrm), hex(mask)).split(" ", 2)
    assert out[:2] == ["0", hex(expect)]
    chosen = int(out[1], 16)
    assert (chosen & mask) == (sig_xfrm & mask)           # EINIT's masked compare holds
    assert chosen & ~(xcr0 & allowed) == 0                 # within what the OS enables


@pytest.mark.parametrize("xcr0,sig_xfrm,mask,words", [
    (0x7, 0xE7, 2**64 - 1, "does not enable"),             # AVX-512 required, OS lacks it
    (0xE7, 0x1, 0x3, "x87 or SSE off"),
    (0xE7, 0x23, 2**64 - 1, "only partly"),
])
def test_xfrm_refusals(driver, xcr0, sig_xfrm, mask, words):
    rc, x, msg = drive(driver, "xfrm", hex(xcr0), hex(2**64 - 1), hex(sig_xfrm), hex(mask)).split(" ", 2)
    assert rc == "-1" and words in msg and "re-sign" in msg


def cpu_flags() -> set:
    with open("/proc/cpuinfo") as f:
        return set(next(line for line in f if line.startswith("flags")).split(":")[1].split())


def test_xfrm_from_sigstruct_on_this_cpu(driver):
    # everything fixed: exactly the signed legacy value
    assert drive(driver, "xfrmsig", "0x3", hex(2**64 - 1)).split()[:2] == ["0", "0x3"]
    # only x87/SSE fixed: AVX comes on exactly when the kernel lists it (it
    # hides avx when XCR0 lacks the YMM state)
    rc, x = drive(driver, "xfrmsig", "0x3", "0x3").split()[:2]
    assert rc == "0" and int(x, 16) & 3 == 3
    assert bool(int(x, 16) & 4) == ("avx" in cpu_flags())
    assert bool(int(x, 16) & 0xE0) == ("avx512f" in cpu_flags())


def test_xsave_sizes(driver):
    # legacy 512 + header 64 (spec §5); AVX adds 256 at its CPUID offset 576
    assert drive(driver, "xsave", "0x3") == "576"
    with open("/proc/cpuinfo") as f:
        if " avx " in f.read():
            assert drive(driver, "xsave", "0x7") == "832"


def test_entry_returns_enclave_rdi_rsi_and_restores_state(driver):
    lines = drive(driver, "enter", 5, 21).splitlines()
    assert lines[0].strip() == "0 6 42"        # stand-in exits with RDI = op + 1, RSI = arg * 2
    assert lines[1] == "rounding nearest mxcsr 0x1f80"   # the C defaults, as before entry


def test_entry_reports_a_fault_instead_of_an_exit(driver):
    lines = drive(driver, "enter", 99, 0).splitlines()
    rc, _, _, msg = lines[0].split(" ", 3)
    assert rc == "-14"                  # -EFAULT
    assert "#PF" in msg and "vector 14" in msg and "0x6" in msg and "0xdead000" in msg and "EENTER" in msg
    assert lines[1] == "rounding nearest mxcsr 0x1f80"   # the C defaults, as before entry


def test_entry_keeps_callee_saved_registers(driver):
    assert drive(driver, "preserve") == "1"


# route.c against the kernel's uapi (struct sgx_enclave_run: function is the
# last ENCLU leaf, EENTER 2 / ERESUME 3 / EEXIT 4) and the enclave ABI
# (enclave_abi.h: EEXIT reasons DONE 2, ABORT 3, ERESUME 4, UNHANDLED 5);
# signals as Linux maps the vectors natively (SIGSEGV 11 for #PF/#GP,
# SIGILL 4 for #UD, SIGFPE 8 for #DE/#MF/#XM, SIGBUS 7 for #AC).
@pytest.mark.parametrize("fn, vec, reason, inexc, pending, want", [
    (4, 0, 1, 0, 0, "done leaf 0 exception 0 signo 0 vector 0"),        # an OCALL exit: the caller's
    (2, 14, 0, 0, 0, "next leaf 2 exception 1 signo 11 vector 14"),     # AEX during EENTER: exception entry
    (3, 6, 0, 0, 0, "next leaf 2 exception 1 signo 4 vector 6"),        # AEX during ERESUME, #UD
    (3, 0, 0, 0, 0, "next leaf 2 exception 1 signo 8 vector 0"),
    (3, 13, 0, 0, 0, "next leaf 2 exception 1 signo 11 vector 13"),
    (3, 17, 0, 0, 0, "next leaf 2 exception 1 signo 7 vector 17"),
    (3, 19, 0, 0, 0, "next leaf 2 exception 1 signo 8 vector 19"),
    (3, 3, 0, 0, 0, "fatal leaf 0 exception 0 signo 5 vector 3"),       # #BP: nothing inside handles it
    (3, 2, 0, 0, 0, "fatal leaf 0 exception 0 signo 0 vector 2"),       # NMI: not the enclave's
    (4, 0, 4, 1, 14, "next leaf 3 exception 0 signo 0 vector 0"),       # handled: ERESUME
    (4, 0, 5, 1, 14, "fatal leaf 0 exception 0 signo 11 vector 14"),    # unhandled #PF: SIGSEGV
    (4, 0, 5, 1, 6, "fatal leaf 0 exception 0 signo 4 vector 6"),
    (4, 0, 3, 1, 14, "done leaf 0 exception 0 signo 0 vector 0"),       # aborted in the entry
    (4, 0, 1, 1, 14, "fatal leaf 0 exception 0 signo 0 vector 0"),      # an OCALL from the entry: broken
    (2, 14, 0, 1, 14, "fatal leaf 0 exception 0 signo 11 vector 14"),   # a fault in the entry: no SSA left
    (7, 0, 0, 0, 0, "fatal leaf 0 exception 0 signo 0 vector 0"),       # not the vDSO's ABI
])
def test_exception_routing_decision(driver, fn, vec, reason, inexc, pending, want):
    assert drive(driver, "route", fn, vec, reason, inexc, pending) == want


@pytest.mark.parametrize("script, leaves, result", [
    ("x", "E", "0 2 7 signo 0"),                  # no fault
    ("prx", "EER", "0 2 7 signo 0"),              # #PF, handled inside, ERESUME, then exit
    ("prprx", "EERER", "0 2 7 signo 0"),          # twice over
    ("urx", "EER", "0 2 7 signo 0"),
    ("pn", "EE", "-14 0 0 signo 11"),             # unhandled #PF: the process ends by SIGSEGV
    ("un", "EE", "-14 0 0 signo 4"),
    ("pp", "EE", "-14 0 0 signo 11"),             # a fault in the exception entry
])
def test_exception_path_through_the_vdso(driver, script, leaves, result):
    out = drive(driver, "fault", script).splitlines()
    assert out[0] == leaves
    assert (out[1] + " ").startswith(result + " "), out


# SECS.MISCSELECT: the SIGSTRUCT's bits under MISCMASK exactly, a free bit
# where CPUID.(12H,0):EBX has it (scone signs EXINFO, bit 0, free).
@pytest.mark.parametrize("sig, mask, supported, want", [
    (1, 0xFFFFFFFE, 1, "0 0x1"),          # EXINFO asked, the CPU has it
    (1, 0xFFFFFFFE, 0, "0 0x0"),          # an SGX1 part without it: loads, no EXINFO
    (0, 0xFFFFFFFF, 1, "0 0x0"),          # not asked
    (1, 0xFFFFFFFF, 0, "-1 0x0"),         # enforced and missing: refused with a sentence
    (3, 0xFFFFFFFC, 1, "0 0x1"),          # only what the CPU supports
])
def test_miscselect_choice(driver, sig, mask, supported, want):
    out = drive(driver, "misc", sig, mask, supported)
    assert out.startswith(want), out
    if want.startswith("-1"):
        assert "cannot run here" in out and "CPUID.(12H,0):EBX" in out
