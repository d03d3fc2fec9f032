/*
 * SIM evidence, the starter's half (scone_cc/cas/PROTOCOL.md §3.1): in SIM
 * the starter plays the CPU's EREPORT and the quoting enclave. The REPORT
 * comes only from what this starter measured and initialised (MRENCLAVE
 * from its own EEXTEND stream, ATTRIBUTES/XFRM/MISCSELECT from the SECS it
 * made, MRSIGNER and ISV fields from the SIGSTRUCT EINIT accepted); the
 * enclave contributes REPORTDATA only. The signature itself is made inside
 * the enclave with the key handed back here: the starter is a static
 * program without an ECDSA implementation (runtime/shield/cas/README.md).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <scone/cas_protocol.h>

#include "simquote.h"

static struct scone_sgx_report report;
static int have_report;

void scone_simquote_init(const uint8_t sigstruct[1808], const uint8_t mrenclave[32],
			 uint64_t attributes, uint64_t xfrm, uint32_t miscselect,
			 const uint8_t mrsigner[32])
{
	memset(&report, 0, sizeof report);
	report.miscselect = miscselect;
	memcpy(report.isvfamilyid, sigstruct + 912, 16);
	report.attributes = attributes | 1;          /* INIT, as after EINIT */
	report.xfrm = xfrm;
	memcpy(report.mrenclave, mrenclave, 32);
	memcpy(report.isvextprodid, sigstruct + 1008, 16);
	memcpy(&report.isvprodid, sigstruct + 1024, 2);
	memcpy(&report.isvsvn, sigstruct + 1026, 2);
	memcpy(report.mrsigner, mrsigner, 32);
	have_report = 1;
}

/* $XDG_CONFIG_HOME/scone/ or ~/.config/scone/ (scone_cc/paths.py config_dir). */
static int key_path(char *out, size_t cap)
{
	const char *xdg = getenv("XDG_CONFIG_HOME"), *home = getenv("HOME");
	int n = xdg && *xdg ? snprintf(out, cap, "%s/scone/%s", xdg, SCONE_SIM_KEY_FILE)
		: snprintf(out, cap, "%s/.config/scone/%s", home && *home ? home : "/", SCONE_SIM_KEY_FILE);
	return n > 0 && (size_t)n < cap ? 0 : -1;
}

long scone_simquote(const struct scone_ocall *o)
{
	uint8_t *buf = (uint8_t *)(uintptr_t)o->args[0];
	size_t cap = (size_t)o->args[1];
	char path[4096];
	if (!have_report)
		return -EPERM;                           /* HW: the CPU reports, not us */
	if (!buf || cap < SCONE_SIM_REPORT_SIZE + 1 || key_path(path, sizeof path))
		return -EINVAL;
	struct scone_sgx_report r = report;
	memcpy(r.reportdata, buf, sizeof r.reportdata);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t have = 0;
	uint8_t *key = buf + SCONE_SIM_REPORT_SIZE;
	for (;;) {
		ssize_t got = read(fd, key + have, cap - SCONE_SIM_REPORT_SIZE - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		have += (size_t)got;
		if (have == cap - SCONE_SIM_REPORT_SIZE) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	memcpy(buf, &r, sizeof r);
	return (long)(SCONE_SIM_REPORT_SIZE + have);
}

/* mkdir -p with 0700 for the folders it makes. */
static int folders(char *path)
{
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = 0;
		int rc = mkdir(path, 0700);
		*p = '/';
		if (rc && errno != EEXIST)
			return -errno;
	}
	return 0;
}

/* As keyfiles.create_once: a 0600 temporary file, fsync, then link() into
 * place, so concurrent first starts agree on one key. */
long scone_simkey_create(const struct scone_ocall *o)
{
	const char *pem = (const char *)(uintptr_t)o->args[0];
	size_t len = (size_t)o->args[1];
	char path[4096], tmp[4200];
	if (!have_report)
		return -EPERM;
	if (!pem || !len || len > 16384 || key_path(path, sizeof path))
		return -EINVAL;
	int rc = folders(path);
	if (rc)
		return rc;
	char *slash = strrchr(path, '/');
	snprintf(tmp, sizeof tmp, "%.*s/.%s.%d.tmp", (int)(slash - path), path, slash + 1, (int)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, pem + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			rc = -errno;
			close(fd);
			unlink(tmp);
			return rc ? rc : -EIO;
		}
		off += (size_t)w;
	}
	rc = fsync(fd) ? -errno : 0;
	close(fd);
	if (!rc && link(tmp, path) && errno != EEXIST)
		rc = -errno;
	unlink(tmp);
	return rc;
}
