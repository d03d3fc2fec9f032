#include <unistd.h>
#include <fcntl.h>
#include "syscall.h"

/* scone: musl's faccessat without its AT_EACCESS fallback. Upstream
 * answers AT_EACCESS, on kernels without faccessat2 and when the real and
 * effective ids differ, from a child started with __clone and no thread
 * flags: a process an enclave cannot create. Keeping that path would make
 * every program that calls faccessat (even with flag 0) reach a
 * non-thread clone, and scone-check refuses it. Here faccessat2 answers
 * AT_EACCESS (Linux 5.8 and later); where it cannot, the call fails with
 * the ENOSYS the kernel gave, instead of a refused clone at run time. */
int faccessat(int fd, const char *filename, int amode, int flag)
{
	if (flag) {
		int ret = __syscall(SYS_faccessat2, fd, filename, amode, flag);
		if (ret != -ENOSYS) return __syscall_ret(ret);
	}

	if (flag & ~AT_EACCESS)
		return __syscall_ret(-EINVAL);

	if (!flag || (getuid()==geteuid() && getgid()==getegid()))
		return syscall(SYS_faccessat, fd, filename, amode);

	return __syscall_ret(-ENOSYS);
}
