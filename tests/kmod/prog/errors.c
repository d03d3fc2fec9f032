/*
 * "errors": every documented -errno of the three ioctls, provoked on
 * purpose, plus the sthread_state semantics of a wait. Expected values come
 * from the kernel-doc of kmod/ioctl.c and from queue_abi.h.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>

#include "kt.h"
#include "qp.h"
#include "scone_kmod_user.h"
#include "uapi/scone_kmod.h"
#include "util.h"

static int kt_ioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) < 0 ? -errno : 0;
}

static int kt_reg_raw(int fd, uint64_t addr, uint32_t entries, uint32_t flags,
		      uint32_t reserved0)
{
	struct scone_kmod_register reg = { .addr = addr, .entries = entries,
					   .flags = flags };

	reg.reserved[0] = reserved0;
	return kt_ioctl(fd, SCONE_KMOD_IOC_REGISTER, &reg);
}

static void kt_expect(const char *name, int got, int want)
{
	kt_check(got == want, name, "got=%d(%s) want=%d(%s)", got,
		 strerror(-got), want, strerror(-want));
}

static void kt_register_errors(int fd)
{
	struct kt_qp q, q2;
	uint64_t a;
	void *ro, *gone;
	uint32_t id;

	kt_qp_alloc(&q, 16);
	a = (uint64_t)(uintptr_t)q.hdr;
	kt_expect("reg_entries_not_pow2", kt_reg_raw(fd, a, 12, 0, 0), -EINVAL);
	kt_expect("reg_entries_too_small", kt_reg_raw(fd, a, 1, 0, 0), -EINVAL);
	kt_expect("reg_entries_too_big",
		  kt_reg_raw(fd, a, 2 * SCONE_KMOD_MAX_ENTRIES, 0, 0), -EINVAL);
	kt_expect("reg_misaligned", kt_reg_raw(fd, a + 8, 16, 0, 0), -EINVAL);
	kt_expect("reg_null", kt_reg_raw(fd, 0, 16, 0, 0), -EINVAL);
	kt_expect("reg_flags", kt_reg_raw(fd, a, 16, 1, 0), -EINVAL);
	kt_expect("reg_reserved", kt_reg_raw(fd, a, 16, 0, 7), -EINVAL);
	kt_expect("reg_bad_argp",
		  kt_ioctl(fd, SCONE_KMOD_IOC_REGISTER, (void *)8), -EFAULT);
	kt_expect("reg_kernel_addr",
		  kt_reg_raw(fd, 0xffff888000000000ull, 16, 0, 0), -EFAULT);
	kt_expect("reg_entries_mismatch", kt_reg_raw(fd, a, 32, 0, 0), -EINVAL);

	q.hdr->magic ^= 1;
	kt_expect("reg_bad_magic", kt_reg_raw(fd, a, 16, 0, 0), -EPROTO);
	q.hdr->magic ^= 1;
	q.hdr->version = SCONE_QUEUE_VERSION + 1;
	kt_expect("reg_bad_version", kt_reg_raw(fd, a, 16, 0, 0), -EPROTO);
	q.hdr->version = SCONE_QUEUE_VERSION;

	ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	kt_expect("reg_readonly",
		  kt_reg_raw(fd, (uint64_t)(uintptr_t)ro, 16, 0, 0), -EFAULT);
	munmap(ro, 4096);
	gone = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(gone, 4096);
	kt_expect("reg_unmapped",
		  kt_reg_raw(fd, (uint64_t)(uintptr_t)gone, 16, 0, 0), -EFAULT);

	/* A header straddling a page boundary pins two pages. */
	kt_qp_alloc(&q2, 64);
	long long pin0 = kt_counter("pinned_pages");
	struct scone_queue_pair *straddle =
		(void *)((char *)q2.hdr + 4096 - 64);

	memcpy(straddle, q2.hdr, 64);
	kt_expect("reg_straddle",
		  scone_kmod_register(fd, straddle, 64, &id), 0);
	kt_check(kt_counter("pinned_pages") - pin0 == 2, "reg_straddle_pages",
		 "pinned=%lld", kt_counter("pinned_pages") - pin0);
	kt_expect("reg_duplicate", scone_kmod_register(fd, straddle, 64, &id),
		  -EEXIST);
	kt_expect("unreg_straddle", scone_kmod_unregister(fd, id), 0);
	kt_check(kt_counter("pinned_pages") == pin0, "unreg_unpins",
		 "pinned=%lld want=%lld", kt_counter("pinned_pages"), pin0);
	kt_qp_free(&q2);
	kt_qp_free(&q);
}

static void kt_table_full(int fd)
{
	static struct kt_qp q[SCONE_KMOD_MAX_PAIRS + 1];
	uint32_t id[SCONE_KMOD_MAX_PAIRS + 1];
	unsigned int i;
	int rc = 0;

	for (i = 0; i < SCONE_KMOD_MAX_PAIRS && !rc; i++) {
		kt_qp_alloc(&q[i], 2);
		rc = scone_kmod_register(fd, q[i].hdr, 2, &id[i]);
	}
	kt_check(rc == 0 && kt_counter("pairs") >= SCONE_KMOD_MAX_PAIRS,
		 "reg_max_pairs", "rc=%d pairs=%lld", rc, kt_counter("pairs"));
	kt_qp_alloc(&q[i], 2);
	kt_expect("reg_table_full", scone_kmod_register(fd, q[i].hdr, 2,
							&id[i]), -ENOSPC);
	for (i = 0; i < SCONE_KMOD_MAX_PAIRS; i++)
		scone_kmod_unregister(fd, id[i]);
	for (i = 0; i <= SCONE_KMOD_MAX_PAIRS; i++)
		kt_qp_free(&q[i]);
}

struct kt_waiter {
	int fd;
	uint32_t id;
	uint64_t timeout_ns;
	int rc;
	pthread_t t;
};

static void *kt_waiter_main(void *arg)
{
	struct kt_waiter *w = arg;

	w->rc = scone_kmod_wait(w->fd, w->id, w->timeout_ns);
	return NULL;
}

static void kt_on_alarm(int sig)
{
	(void)sig;
}

static void kt_wait_errors(int fd)
{
	struct scone_kmod_wait wait = { 0 };
	struct scone_request r = { .nr = 39 };
	struct kt_waiter w = { .fd = fd };
	struct sigaction sa;
	struct kt_qp q;
	uint64_t t;
	uint32_t id;

	kt_qp_alloc(&q, 16);
	scone_kmod_register(fd, q.hdr, 16, &id);
	kt_expect("wait_unknown_id", scone_kmod_wait(fd, id + 1, 1000), -ENOENT);
	kt_expect("wait_id_out_of_range", scone_kmod_wait(fd, 100000, 1000),
		  -ENOENT);
	wait.id = id;
	wait.reserved[1] = 1;
	kt_expect("wait_reserved", kt_ioctl(fd, SCONE_KMOD_IOC_WAIT, &wait),
		  -EINVAL);
	wait.reserved[1] = 0;
	wait.flags = 2;
	kt_expect("wait_flags", kt_ioctl(fd, SCONE_KMOD_IOC_WAIT, &wait),
		  -EINVAL);
	kt_expect("wait_bad_argp", kt_ioctl(fd, SCONE_KMOD_IOC_WAIT, (void *)8),
		  -EFAULT);

	t = kt_now_ns();
	kt_expect("wait_timeout", scone_kmod_wait(fd, id, 20000000), -ETIMEDOUT);
	t = kt_now_ns() - t;
	kt_check(t >= 20000000, "wait_timeout_length", "waited_us=%llu",
		 (unsigned long long)(t / 1000));
	kt_check(kt_qp_sthread_state(&q) == SCONE_STHREAD_RUNNING,
		 "state_running_after_wait", "state=%u", kt_qp_sthread_state(&q));

	kt_qp_post(&q, &r);
	t = kt_now_ns();
	kt_expect("wait_pending_returns", scone_kmod_wait(fd, id, 0), 0);
	kt_check(kt_now_ns() - t < 1000000000ull, "wait_pending_immediate", NULL);
	kt_qp_take_request(&q, &r);

	/* A second waiter on one pair, and sthread_state while asleep. */
	w.id = id;
	/* Long enough never to end a wait that works; ends one that does not. */
	w.timeout_ns = 5000000000ull;
	pthread_create(&w.t, NULL, kt_waiter_main, &w);
	t = kt_now_ns() + 2000000000ull;
	while (kt_qp_sthread_state(&q) != SCONE_STHREAD_SLEEPING &&
	       kt_now_ns() < t)
		usleep(1000);
	kt_check(kt_qp_sthread_state(&q) == SCONE_STHREAD_SLEEPING,
		 "state_sleeping_in_wait", NULL);
	/* Past the waiter's last look at the indices: it is really asleep. */
	usleep(20000);
	kt_expect("wait_busy", scone_kmod_wait(fd, id, 1000000), -EBUSY);
	/* A request posted while it sleeps: only the poller can wake it. */
	long long w0 = kt_counter("wakeups");

	t = kt_now_ns();
	kt_qp_post(&q, &r);
	pthread_join(w.t, NULL);
	t = kt_now_ns() - t;
	kt_expect("wait_woken_by_poller", w.rc, 0);
	/* Not by the 5 s timeout: far sooner, even under emulation. */
	kt_check(t < 2000000000ull, "wait_woken_soon", "after_us=%llu",
		 (unsigned long long)(t / 1000));
	kt_check(kt_counter("wakeups") - w0 == 1, "wakeup_counted",
		 "wakeups=%lld", kt_counter("wakeups") - w0);
	kt_qp_take_request(&q, &r);

	/* A signal ends the wait with -EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = kt_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	ualarm(50000, 0);
	kt_expect("wait_signal", scone_kmod_wait(fd, id, 0), -EINTR);

	/* Unregistering makes the waiter leave with -EIDRM. */
	pthread_create(&w.t, NULL, kt_waiter_main, &w);
	t = kt_now_ns() + 2000000000ull;
	while (kt_qp_sthread_state(&q) != SCONE_STHREAD_SLEEPING &&
	       kt_now_ns() < t)
		usleep(1000);
	kt_expect("unreg_with_waiter", scone_kmod_unregister(fd, id), 0);
	pthread_join(w.t, NULL);
	kt_expect("wait_unregistered", w.rc, -EIDRM);
	kt_expect("unreg_twice", scone_kmod_unregister(fd, id), -ENOENT);
	kt_expect("wait_after_unreg", scone_kmod_wait(fd, id, 1000), -ENOENT);
	kt_qp_free(&q);
}

static void kt_misc_errors(int fd)
{
	struct scone_kmod_unregister unreg = { .id = 0, .reserved = 1 };
	struct kt_qp q;
	uint32_t id;
	pid_t pid;
	int status, rc;
	char msg[256];

	kt_expect("unreg_reserved",
		  kt_ioctl(fd, SCONE_KMOD_IOC_UNREGISTER, &unreg), -EINVAL);
	kt_expect("unreg_bad_argp",
		  kt_ioctl(fd, SCONE_KMOD_IOC_UNREGISTER, (void *)8), -EFAULT);
	kt_expect("unknown_ioctl", kt_ioctl(fd, _IO(SCONE_KMOD_IOC_MAGIC, 0x7f),
					    NULL), -ENOTTY);

	/* An inherited descriptor may not register the child's memory. */
	kt_qp_alloc(&q, 16);
	pid = fork();
	if (pid == 0)
		_exit(-scone_kmod_register(fd, q.hdr, 16, &id));
	waitpid(pid, &status, 0);
	rc = WIFEXITED(status) ? -WEXITSTATUS(status) : -1;
	kt_expect("reg_other_process", rc, -EACCES);
	kt_qp_free(&q);

	scone_kmod_strerror(SCONE_KMOD_OP_REGISTER, -EPROTO, msg, sizeof(msg));
	kt_check(strstr(msg, "magic or version") != NULL, "lib_strerror", "%s",
		 msg);
	kt_expect("lib_open_off", scone_kmod_open(NULL, SCONE_KMOD_OFF),
		  -ENOENT);
	kt_expect("lib_open_missing",
		  scone_kmod_open("/dev/scone-missing", SCONE_KMOD_AUTO),
		  -ENOENT);
}

int kt_cmd_errors(void)
{
	char msg[256];
	int fd = scone_kmod_open(NULL, SCONE_KMOD_ON);

	kt_check(fd >= 0, "errors_open", "%s",
		 fd < 0 ? scone_kmod_strerror(SCONE_KMOD_OP_OPEN, fd, msg,
					      sizeof(msg)) : "");
	if (fd < 0)
		return 1;
	kt_register_errors(fd);
	kt_table_full(fd);
	kt_wait_errors(fd);
	kt_misc_errors(fd);
	scone_kmod_close(fd);
	return kt_failures != 0;
}
