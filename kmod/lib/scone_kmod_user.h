/*
 * The user-space side of /dev/scone, for the starter's sthreads: open the
 * device (as SCONE_KMOD=auto|on|off says), register queue pairs, sleep in
 * the module until a request is posted, unregister.
 *
 * Every function returns 0 (or a value >= 0) on success and -errno on
 * failure; scone_kmod_strerror() turns an (operation, -errno) pair into one
 * line that says what went wrong and how to fix it. Nothing here prints,
 * allocates or keeps state, so it can run in any sthread.
 *
 * The starter's use (build with -I kmod -I runtime/include):
 *
 *	enum scone_kmod_mode mode;
 *	if (scone_kmod_parse_mode(getenv("SCONE_KMOD"), &mode))
 *		die("SCONE_KMOD must be auto, on or off");
 *	int fd = scone_kmod_open(NULL, mode);
 *	if (fd < 0 && mode == SCONE_KMOD_ON)
 *		die(scone_kmod_strerror(SCONE_KMOD_OP_OPEN, fd, buf, sizeof(buf)));
 *	// fd < 0 otherwise: user-space back-off, as without the module
 *	// per queue pair, header filled in, before its sthread starts:
 *	rc = scone_kmod_register(fd, qp, entries, &id);
 *	// in the sthread, after SCONE_SSPINS empty polls:
 *	rc = scone_kmod_wait(fd, id, 0);   // 0, -EINTR: poll the queue again
 *
 * While an sthread is inside scone_kmod_wait() the module writes its
 * sthread_state (SLEEPING, then RUNNING on return) on its behalf.
 */
#ifndef SCONE_KMOD_USER_H
#define SCONE_KMOD_USER_H

#include <stddef.h>
#include <stdint.h>

#include <scone/queue_abi.h>

enum scone_kmod_op {
	SCONE_KMOD_OP_OPEN,
	SCONE_KMOD_OP_REGISTER,
	SCONE_KMOD_OP_WAIT,
	SCONE_KMOD_OP_UNREGISTER,
};

enum scone_kmod_mode {
	SCONE_KMOD_AUTO,	/* use the module when /dev/scone exists */
	SCONE_KMOD_ON,		/* use it; a missing module is an error */
	SCONE_KMOD_OFF,		/* never use it: user-space back-off */
};

/* Parses SCONE_KMOD's value (NULL or "" = auto); -EINVAL if unknown. */
int scone_kmod_parse_mode(const char *value, enum scone_kmod_mode *mode);

/*
 * Opens `path` (NULL = /dev/scone) as `mode` says. Returns the descriptor,
 * or -ENOENT / -ENODEV / -EACCES... when the module cannot be used; in
 * mode auto a missing device is not an error: it returns -ENOENT and the
 * caller falls back to user-space back-off. In mode off it returns
 * -ENOENT without touching the file system.
 */
int scone_kmod_open(const char *path, enum scone_kmod_mode mode);

/* Registers the pair at `qp` (its header filled in); stores its id. */
int scone_kmod_register(int fd, struct scone_queue_pair *qp, uint32_t entries,
			uint32_t *id);

/*
 * Sleeps until pair `id` has a request (0), `timeout_ns` passes
 * (-ETIMEDOUT; 0 = no limit), a signal arrives (-EINTR), or the pair is
 * unregistered (-EIDRM).
 */
int scone_kmod_wait(int fd, uint32_t id, uint64_t timeout_ns);

int scone_kmod_unregister(int fd, uint32_t id);

/* Closes the device: every pair still registered on it is released. */
void scone_kmod_close(int fd);

/*
 * Writes one line "what: why; fix" for a failure `err` (-errno) of `op`
 * into buf (always NUL-terminated) and returns buf.
 */
const char *scone_kmod_strerror(enum scone_kmod_op op, int err, char *buf,
				size_t len);

#endif
