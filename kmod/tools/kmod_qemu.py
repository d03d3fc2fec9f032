"""Build scone.ko and a static test program, pack them with busybox into an
initramfs, boot the pinned Debian kernel under QEMU (software emulation)
and return the serial console output. Used by tests/kmod and
bench/kmod_bench.py.

Needs (Debian 12): linux-image-6.1.0-<n>-amd64, linux-headers-6.1.0-<n>-amd64
(same <n>), qemu-system-x86, busybox-static, gcc.
"""

import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import kmod_newc as newc  # noqa: E402

from scone_cc.errors import SconeError  # noqa: E402
from scone_cc.fsutil import atomic_write  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
KMOD = REPO / "kmod"
PROG = REPO / "tests" / "kmod" / "prog"
BUSYBOX = Path("/bin/busybox")
QEMU = "qemu-system-x86_64"
KERNEL_GLOB = "vmlinuz-6.1.0-*-amd64"
# With two vCPUs under TCG the kernel finds the TSCs "unsynchronized" and
# falls back to the HPET, whose every read is an emulated MMIO access.
APPEND_EXTRA = "tsc=reliable"
ACCEL = "tcg"
INSTALL_HINT = (
    "apt-get install linux-image-6.1.0-<n>-amd64 linux-headers-6.1.0-<n>-amd64 "
    "qemu-system-x86 busybox-static"
)


@dataclass(frozen=True)
class Kernel:
    """A Debian kernel image with the headers it was built with."""

    release: str  # e.g. 6.1.0-56-amd64
    image: Path
    headers: Path


def _release_key(release: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", release))


def find_kernel(boot: Path = Path("/boot"), src: Path = Path("/usr/src")) -> Kernel | None:
    """The newest pinned kernel whose image and headers are both installed."""
    found = []
    for image in boot.glob(KERNEL_GLOB):
        release = image.name.removeprefix("vmlinuz-")
        headers = src / f"linux-headers-{release}"
        if (headers / "Makefile").is_file():
            found.append(Kernel(release, image, headers))
    return max(found, key=lambda k: _release_key(k.release), default=None)


def missing_tools() -> list[str]:
    """What is absent for a QEMU run, as package names to install."""
    missing = []
    if shutil.which(QEMU) is None:
        missing.append("qemu-system-x86")
    if not BUSYBOX.is_file():
        missing.append("busybox-static")
    if find_kernel() is None:
        missing.append("linux-image-6.1.0-<n>-amd64 + linux-headers-6.1.0-<n>-amd64")
    return missing


def _run(cmd: list[str], what: str, **kw) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        raise SconeError(f"{what} failed (exit {proc.returncode}): " + " | ".join(tail))
    return proc.stdout + proc.stderr


def build_module(kernel: Kernel, out: Path, extra_warnings: bool = True) -> tuple[Path, str]:
    """Build scone.ko from a copy of kmod/ in ``out``; returns (ko, build log).

    A copy, because Kbuild of 6.1 writes its objects beside the sources and
    several builds may run at once.
    """
    if out.exists():
        shutil.rmtree(out)
    shutil.copytree(KMOD, out, ignore=shutil.ignore_patterns("tools", "lib", "*.o", "*.ko", ".*"))
    cmd = ["make", "-C", str(kernel.headers), f"M={out}",
           f"SCONE_INCLUDE={REPO / 'runtime' / 'include'}", "modules"]
    if extra_warnings:
        cmd.insert(1, "W=1")
    log = _run(cmd, f"building scone.ko against {kernel.headers}")
    return out / "scone.ko", log


def build_prog(out: Path) -> Path:
    """The static test program (plays enclave and sthreads) at ``out``."""
    sources = sorted(PROG.glob("*.c")) + [KMOD / "lib" / "scone_kmod_user.c"]
    cmd = ["gcc", "-static", "-O2", "-Wall", "-Wextra", "-Werror", "-pthread",
           f"-I{KMOD}", f"-I{KMOD / 'lib'}", f"-I{REPO / 'runtime' / 'include'}",
           "-o", str(out)] + [str(s) for s in sources]
    _run(cmd, "building the kmod test program (gcc -static)")
    return out


def initramfs(init_script: str, files: dict[str, Path]) -> bytes:
    """A newc archive: busybox as /bin/busybox, ``files`` at their guest
    paths (mode 0755), /init running ``init_script`` under busybox sh."""
    entries = [newc.directory(d) for d in ("bin", "dev", "proc", "sys", "tmp")]
    entries.append(newc.chardev("dev/console", 5, 1))
    entries.append(newc.regular("bin/busybox", BUSYBOX.read_bytes(), 0o755))
    entries.append(newc.symlink("bin/sh", "busybox"))
    for guest, host in sorted(files.items()):
        entries.append(newc.regular(guest, host.read_bytes(), 0o755))
    init = "#!/bin/sh\n/bin/busybox --install -s /bin\nexport PATH=/bin\n" + init_script
    entries.append(newc.regular("init", init.encode(), 0o755))
    return newc.archive(entries)


def boot(kernel: Kernel, initrd: Path, timeout: float = 180, smp: int = 2,
         memory_mb: int = 256) -> str:
    """Boot under TCG until the guest powers off; returns the serial output."""
    cmd = [QEMU, "-accel", ACCEL, "-smp", str(smp), "-m", str(memory_mb),
           "-nographic", "-no-reboot", "-kernel", str(kernel.image), "-initrd", str(initrd),
           "-append", "console=ttyS0 panic=-1 quiet oops=panic " + APPEND_EXTRA]
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        out = (exc.stdout or b"").decode(errors="replace")
        raise SconeError(f"QEMU guest did not power off within {timeout:.0f} s; "
                         f"last output: {out[-2000:]!r}") from None
    return proc.stdout.decode(errors="replace") + proc.stderr.decode(errors="replace")


def prepare(work: Path, init_script: str) -> tuple[Kernel, Path, str]:
    """Builds module and program, writes the initramfs; (kernel, initrd, build log)."""
    kernel = find_kernel()
    if kernel is None:
        raise SconeError(f"no pinned kernel with matching headers in /boot, /usr/src; {INSTALL_HINT}")
    work.mkdir(parents=True, exist_ok=True)
    ko, log = build_module(kernel, work / "kmod")
    prog = build_prog(work / "kmod_test")
    initrd = work / "initramfs.cpio"
    atomic_write(initrd, initramfs(init_script, {"scone.ko": ko, "kmod_test": prog}))
    return kernel, initrd, log
