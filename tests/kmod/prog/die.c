/*
 * "die": a process that registered pairs and has sthreads asleep in the
 * module dies without unregistering (SIGKILL, then a plain exit, then a
 * close); the release path must unpin and free everything each time.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/wait.h>

#include "kt.h"
#include "scone_kmod_user.h"
#include "sthread.h"
#include "util.h"

#define KT_DIE_PAIRS 4

enum kt_death { KT_KILLED, KT_EXITED, KT_CLOSED };

static void kt_child(int ready_fd, int go_fd, enum kt_death how)
{
	static struct kt_qp q[KT_DIE_PAIRS];
	static struct kt_sthread st[KT_DIE_PAIRS];
	int fd = scone_kmod_open(NULL, SCONE_KMOD_ON);
	int p, all;
	char c = 1;

	if (fd < 0)
		_exit(2);
	for (p = 0; p < KT_DIE_PAIRS; p++) {
		if (kt_qp_alloc(&q[p], 32) ||
		    scone_kmod_register(fd, q[p].hdr, 32, &st[p].id))
			_exit(3);
		st[p].q = &q[p];
		st[p].fd = fd;
		st[p].spins = 100;
		st[p].cpu = -1;
		if (how == KT_KILLED)
			kt_sthread_start(&st[p]);
	}
	do {
		usleep(1000);
		all = 1;
		for (p = 0; p < KT_DIE_PAIRS && how == KT_KILLED; p++)
			all &= kt_qp_sthread_state(&q[p]) ==
			       SCONE_STHREAD_SLEEPING;
	} while (!all);
	if (write(ready_fd, &c, 1) != 1)
		_exit(4);
	if (how == KT_CLOSED) {
		if (read(go_fd, &c, 1) != 1)
			_exit(4);
		scone_kmod_close(fd);
		if (write(ready_fd, &c, 1) != 1)
			_exit(4);
		pause();
	}
	if (how == KT_EXITED) {
		/* Exits with its pairs registered and the device open. */
		if (read(go_fd, &c, 1) != 1)
			_exit(4);
		_exit(0);
	}
	pause();
	_exit(5);
}

static int kt_back_to(long long pairs0, long long pin0)
{
	uint64_t deadline = kt_now_ns() + 3000000000ull;

	while (kt_counter("pairs") != pairs0 ||
	       kt_counter("pinned_pages") != pin0) {
		if (kt_now_ns() > deadline)
			return 0;
		usleep(1000);
	}
	return 1;
}

static void kt_die_once(enum kt_death how, const char *name)
{
	static const char *const names[] = { "killed", "exited", "closed" };
	long long pairs0 = kt_counter("pairs"), pin0 = kt_counter("pinned_pages");
	long long pairs1, pin1;
	int pipefd[2], gofd[2], status;
	pid_t pid;
	char c;

	if (pipe(pipefd) || pipe(gofd))
		return;
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		close(gofd[1]);
		kt_child(pipefd[1], gofd[0], how);
	}
	close(pipefd[1]);
	close(gofd[0]);
	if (read(pipefd[0], &c, 1) != 1) {
		kt_check(0, name, "child failed before it was ready");
		return;
	}
	pairs1 = kt_counter("pairs");
	pin1 = kt_counter("pinned_pages");
	if (how == KT_KILLED)
		kill(pid, SIGKILL);
	if (how == KT_EXITED && write(gofd[1], &c, 1) != 1)
		kill(pid, SIGKILL);
	if (how == KT_CLOSED) {
		/* Released on close while the process lives on. */
		if (write(gofd[1], &c, 1) == 1 && read(pipefd[0], &c, 1) == 1)
			kt_check(kt_back_to(pairs0, pin0), "die_closed_released",
				 "pairs=%lld pinned_pages=%lld",
				 kt_counter("pairs"), kt_counter("pinned_pages"));
		kill(pid, SIGKILL);
	}
	waitpid(pid, &status, 0);
	close(pipefd[0]);
	close(gofd[1]);
	kt_check(pairs1 - pairs0 == KT_DIE_PAIRS && pin1 - pin0 == KT_DIE_PAIRS &&
		 kt_back_to(pairs0, pin0), name,
		 "how=%s registered=%lld pinned=%lld after: pairs=%lld pinned_pages=%lld",
		 names[how], pairs1 - pairs0, pin1 - pin0, kt_counter("pairs"),
		 kt_counter("pinned_pages"));
}

int kt_cmd_die(void)
{
	kt_die_once(KT_KILLED, "die_killed_while_waiting");
	kt_die_once(KT_EXITED, "die_exited_registered");
	kt_die_once(KT_CLOSED, "die_closed_registered");
	return kt_failures != 0;
}
