"""The compile path: gcc with the sysroot's headers in place of the host's."""

# Code generation every enclave needs. -fstack-clash-protection: a frame
# larger than a page touches its pages in order, so it meets the guard page
# below an enclave stack (runtime/untrusted/faults.c names the overflow)
# instead of skipping it and writing over whatever lies below. Put before the
# user's words, so that their -fno-... wins.
CODEGEN = ["-fstack-clash-protection"]


def include_flags(sysroot: str, gcc_include: str) -> list[str]:
    """Header search of a musl toolchain (DESIGN.md §3, as musl-gcc does).

    ``-nostdinc`` drops glibc's /usr/include; the sysroot's headers come first
    and gcc's own dir (stddef.h, stdarg.h, intrinsics) after them. Not
    gcc's include-fixed: those are glibc headers "fixed" for this gcc.
    """
    return ["-nostdinc", "-isystem", sysroot + "/include", "-isystem", gcc_include]


def compile_argv(gcc: str, args, sysroot: str, gcc_include: str) -> list[str]:
    """argv for a call that does not link: ``CODEGEN``, the user's words unchanged, then ours.

    The include flags go last so that the user's own ``-isystem`` dirs are
    searched before the libc's, as they would be before /usr/include with
    plain gcc.
    """
    return [gcc, *CODEGEN, *args, *include_flags(sysroot, gcc_include)]
