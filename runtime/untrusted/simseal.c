/*
 * SIM's stand-in for EGETKEY (enclave_abi.h, SCONE_START_SIM_SEAL): when the
 * enclave's file-system policy has a region with a sealed key, the starter
 * hands in a per-machine secret (created on first use, mode 0600, in the
 * scone config directory beside the developer key) with the enclave's
 * MRENCLAVE and MRSIGNER; the enclave derives its sealing keys from them.
 * Anyone who can read the secret file (this machine's root) can derive the
 * same keys: SIM protects nothing against the host.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../sgxcrypto/sha256.h"
#include "simseal.h"

/* Does the policy (enclave_abi.h "file-system policy") seal any key? */
static int wants_seal(const uint8_t *p, size_t n)
{
	uint32_t count;
	if (n < 4)
		return 0;
	memcpy(&count, p, 4);
	size_t at = 4;
	for (uint32_t i = 0; i < count && at + 4 <= n; i++) {
		uint16_t len;
		memcpy(&len, p + at + 2, 2);
		if (p[at] == SCONE_FS_MODE_ENCRYPTED && p[at + 1] != SCONE_FS_KEY_CAS)
			return 1;
		at += 4 + (size_t)len;
	}
	return 0;
}

static int secret_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n = xdg && *xdg ? snprintf(out, cap, "%s/scone", xdg)
			    : home && *home ? snprintf(out, cap, "%s/.config/scone", home) : -1;
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

static int read_secret(const char *path, uint8_t out[32])
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	ssize_t r = fstat(fd, &st) ? -1 : read(fd, out, 32);
	close(fd);
	if (r != 32 || st.st_size != 32 || (st.st_mode & 077) || st.st_uid != geteuid())
		return -EINVAL;
	return 0;
}

int scone_sim_seal(const struct scone_note *n, const uint8_t mrenclave[32],
		   struct scone_sim_seal *out, char *err, size_t errlen)
{
	if (!wants_seal(n->fs_policy, n->fs_policy_size))
		return 0;
	char dir[4000], path[4100];
	int l = secret_path(dir, sizeof dir);
	if (l < 0) {
		snprintf(err, errlen, "the SIM sealing secret needs HOME or XDG_CONFIG_HOME");
		return -1;
	}
	snprintf(path, sizeof path, "%s/sim-seal-secret", dir);
	int r = read_secret(path, out->secret);
	if (r == -ENOENT) {
		char parent[4000];
		snprintf(parent, sizeof parent, "%.*s", l - 6, dir);   /* without "/scone" */
		mkdir(parent, 0700);
		mkdir(dir, 0700);
		int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			uint8_t s[32];
			int ok = getrandom(s, 32, 0) == 32 && write(fd, s, 32) == 32 && !fsync(fd);
			close(fd);
			if (!ok)
				unlink(path);
		}
		r = read_secret(path, out->secret);                     /* ours, or a racing starter's */
	}
	if (r) {
		snprintf(err, errlen, "%s: the SIM sealing secret is unreadable or not 32 bytes of mode 0600 owned by this user (%s); remove it to make a new one (sealed volumes made with it become unreadable)",
			 path, strerror(-r));
		return -1;
	}
	memcpy(out->mrenclave, mrenclave, 32);
	sha256(n->sigstruct + 128, 384, out->mrsigner);
	return 1;
}
