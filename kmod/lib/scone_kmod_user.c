/*
 * User-space side of /dev/scone (see scone_kmod_user.h and the ioctl ABI in
 * kmod/uapi/scone_kmod.h).
 */
#include "scone_kmod_user.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "../uapi/scone_kmod.h"

int scone_kmod_parse_mode(const char *value, enum scone_kmod_mode *mode)
{
	if (!value || !*value || !strcmp(value, "auto"))
		*mode = SCONE_KMOD_AUTO;
	else if (!strcmp(value, "on"))
		*mode = SCONE_KMOD_ON;
	else if (!strcmp(value, "off"))
		*mode = SCONE_KMOD_OFF;
	else
		return -EINVAL;
	return 0;
}

int scone_kmod_open(const char *path, enum scone_kmod_mode mode)
{
	int fd;

	if (mode == SCONE_KMOD_OFF)
		return -ENOENT;
	fd = open(path ? path : SCONE_KMOD_DEVICE, O_RDWR | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int scone_kmod_register(int fd, struct scone_queue_pair *qp, uint32_t entries,
			uint32_t *id)
{
	struct scone_kmod_register reg;

	memset(&reg, 0, sizeof(reg));
	reg.addr = (uint64_t)(uintptr_t)qp;
	reg.entries = entries;
	if (ioctl(fd, SCONE_KMOD_IOC_REGISTER, &reg) < 0)
		return -errno;
	*id = reg.id;
	return 0;
}

int scone_kmod_wait(int fd, uint32_t id, uint64_t timeout_ns)
{
	struct scone_kmod_wait wait;

	memset(&wait, 0, sizeof(wait));
	wait.id = id;
	wait.timeout_ns = timeout_ns;
	return ioctl(fd, SCONE_KMOD_IOC_WAIT, &wait) < 0 ? -errno : 0;
}

int scone_kmod_unregister(int fd, uint32_t id)
{
	struct scone_kmod_unregister unreg;

	memset(&unreg, 0, sizeof(unreg));
	unreg.id = id;
	return ioctl(fd, SCONE_KMOD_IOC_UNREGISTER, &unreg) < 0 ? -errno : 0;
}

void scone_kmod_close(int fd)
{
	if (fd >= 0)
		close(fd);
}

/* Why an operation failed and what to do, per the errors scone.ko documents. */
static const char *scone_kmod_reason(enum scone_kmod_op op, int err)
{
	switch (op) {
	case SCONE_KMOD_OP_OPEN:
		if (err == -ENOENT || err == -ENODEV || err == -ENXIO)
			return "scone.ko is not loaded; load it (insmod kmod/scone.ko) "
			       "or set SCONE_KMOD=off to use user-space back-off";
		if (err == -EACCES || err == -EPERM)
			return "no permission to open /dev/scone (mode 0600, root); "
			       "run as root or set SCONE_KMOD=off";
		break;
	case SCONE_KMOD_OP_REGISTER:
		if (err == -EINVAL)
			return "queue pair refused: address must be 64-byte aligned, "
			       "entries a power of two in [2, 65536] equal to the "
			       "header's entries";
		if (err == -EPROTO)
			return "queue pair header has a wrong magic or version: "
			       "starter and scone.ko come from different releases; "
			       "rebuild and reload the module";
		if (err == -EFAULT)
			return "queue pair is not in a writable mapping of this "
			       "process that can be pinned";
		if (err == -EEXIST)
			return "this queue pair is already registered";
		if (err == -ENOSPC)
			return "too many queue pairs on one descriptor (at most 64); "
			       "lower SCONE_QUEUES or open /dev/scone again";
		if (err == -EACCES)
			return "/dev/scone was opened by another process; "
			       "open it in the process that owns the queues";
		break;
	case SCONE_KMOD_OP_WAIT:
		if (err == -ETIMEDOUT)
			return "no request before the timeout";
		if (err == -EINTR)
			return "interrupted by a signal";
		if (err == -EIDRM)
			return "queue pair was unregistered while waiting";
		if (err == -EBUSY)
			return "another thread already waits on this queue pair; "
			       "each pair has exactly one sthread";
		if (err == -ENOENT)
			return "no queue pair with this id on this descriptor";
		break;
	case SCONE_KMOD_OP_UNREGISTER:
		if (err == -ENOENT)
			return "no queue pair with this id on this descriptor";
		break;
	}
	return NULL;
}

const char *scone_kmod_strerror(enum scone_kmod_op op, int err, char *buf,
				size_t len)
{
	static const char *const what[] = {
		[SCONE_KMOD_OP_OPEN] = "open /dev/scone",
		[SCONE_KMOD_OP_REGISTER] = "register queue pair with scone.ko",
		[SCONE_KMOD_OP_WAIT] = "wait in scone.ko",
		[SCONE_KMOD_OP_UNREGISTER] = "unregister queue pair from scone.ko",
	};
	const char *why = scone_kmod_reason(op, err);
	const char *name = (unsigned)op < sizeof(what) / sizeof(what[0]) ?
		what[op] : "scone.ko";

	if (!len)
		return buf;
	if (why)
		snprintf(buf, len, "%s: %s (%s)", name, why, strerror(-err));
	else
		snprintf(buf, len, "%s: %s", name, strerror(-err));
	return buf;
}
