/*
 * Can SGX hardware run here? The device node (sgx-spec.md §7) and the vDSO
 * entry point must both exist; each missing piece gets its own sentence.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hw.h"
#include "vdso.h"

const char *const scone_hw_device_paths[] = { "/dev/sgx_enclave", "/dev/sgx/enclave", NULL };

static size_t list_paths(char *out, size_t outlen, const char *const *paths)
{
	size_t used = 0;

	out[0] = 0;
	for (int i = 0; paths[i] && used < outlen; i++) {
		int n = snprintf(out + used, outlen - used, "%s%s", i ? ", " : "", paths[i]);

		if (n < 0)
			break;
		used += (size_t)n;
	}
	return used;
}

int scone_hw_open_device(const char *const *paths, char *err, size_t errlen)
{
	char tried[256];
	int denied = -1, other = -1, other_errno = 0;

	for (int i = 0; paths[i]; i++) {
		struct stat st;
		int fd = open(paths[i], O_RDWR | O_CLOEXEC);

		if (fd >= 0) {
			if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode))
				return fd;
			close(fd);
			snprintf(err, errlen,
				 "%s is not a character device, so not the SGX driver's: remove it, or load a kernel with CONFIG_X86_SGX",
				 paths[i]);
			return -ENODEV;
		}
		if ((errno == EACCES || errno == EPERM) && denied < 0)
			denied = i;
		else if (errno != ENOENT && errno != ENOTDIR && other < 0)
			other = i, other_errno = errno;
	}
	list_paths(tried, sizeof(tried), paths);
	if (denied >= 0) {
		snprintf(err, errlen,
			 "permission denied opening the SGX device %s: add your user to the group that owns it "
			 "(ls -l %s; usually 'sgx') and log in again",
			 paths[denied], paths[denied]);
		return -EACCES;
	}
	if (other >= 0) {
		snprintf(err, errlen, "cannot open the SGX device %s: %s", paths[other], strerror(other_errno));
		return -other_errno;
	}
	snprintf(err, errlen,
		 "no SGX device (tried %s): SGX hardware mode needs a CPU with SGX enabled in the firmware "
		 "and Linux 5.11 or later built with CONFIG_X86_SGX; use SCONE_MODE=SIM to simulate",
		 tried);
	return -ENOENT;
}

int scone_hw_probe(const char *const *paths, char *err, size_t errlen)
{
	int fd = scone_hw_open_device(paths, err, errlen);

	if (fd < 0)
		return 0;
	close(fd);
	if (!scone_vdso_sym(SCONE_HW_VDSO_ENTER, SCONE_HW_VDSO_VERSION)) {
		snprintf(err, errlen,
			 "the kernel's vDSO has no %s (version %s), so enclaves cannot be entered: "
			 "run a kernel built with CONFIG_X86_SGX (Linux 5.11 or later)",
			 SCONE_HW_VDSO_ENTER, SCONE_HW_VDSO_VERSION);
		return 0;
	}
	return 1;
}
