/*
 * Blocking calls off the sthreads (blocking.h). The request stays in its
 * arena unit meanwhile (the enclave keeps the unit until the response), so
 * pointers in it remain valid; responses may then come out of order, which
 * the enclave matches by cookie.
 *
 * An sthread never blocks on a descriptor the program made blocking: every
 * attempt is itself non-blocking (blocking_xfer.c), and EAGAIN parks the call
 * again. Checking readiness first and then running the call blocking is not
 * enough: when several parked reads of one pipe are handed back to
 * different sthreads, all of them see the one byte, one takes it and the
 * others block inside read() holding their sthreads, while the write that
 * would feed them waits behind one of those (tests/threads, pipe_race.c).
 *
 * Cancellation (queue_abi.h): a parked call whose cancel word names it is
 * answered instead of waiting. Its sthread looks before it parks the call;
 * the poller looks on every pass, after taking in new calls and after each
 * wake-up (scone_blocking_kick), and hands cancelled calls back to their
 * sthreads, which look again after one last attempt.
 */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "blocking.h"
#include "blocking_xfer.h"
#include "hostcall.h"
#include "hostile.h"

#define MAXFDS 64
#define MAXPOLL 4096

enum { K_INLINE, K_XFER, K_POLL, K_PPOLL, K_EPOLL, K_PAUSE };

struct scone_parked {
	struct scone_request r;
	struct scone_blocking_owner *owner;
	int kind, nfds;
	int slot;                          /* poller's fds index, -1: not watched */
	int64_t deadline;                  /* monotonic ns, -1: none */
	int64_t done;                      /* K_XFER: progress so far (blocking_xfer.h) */
	struct pollfd fds[MAXFDS];
	struct scone_parked *next;
};

static struct scone_parked *_Atomic incoming;
static pthread_once_t poller_once = PTHREAD_ONCE_INIT;
static int poller_fd = -1;

static int kind_of(int64_t nr)
{
	if (scone_xfer_events(nr))
		return K_XFER;
	switch (nr) {
	case 7: return K_POLL;
	case 271: return K_PPOLL;
	case 232: case 281: return K_EPOLL;   /* epoll_wait, epoll_pwait */
	case 34: return K_PAUSE;              /* pause: only a signal ends it */
	default: return K_INLINE;
	}
}

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static long run(const struct scone_request *r, const int64_t *args)
{
	struct scone_ocall o = { .nr = r->nr };
	memcpy(o.args, args, sizeof o.args);
	return scone_hostile_result(r, scone_hostcall(&o));
}

/* The call with a zero timeout, for the poll family. */
static long run_now(const struct scone_request *r, int kind)
{
	int64_t a[6];
	static const struct timespec zero;
	memcpy(a, r->args, sizeof a);
	if (kind == K_POLL)
		a[2] = 0;
	else if (kind == K_PPOLL)
		a[2] = (int64_t)(uintptr_t)&zero;
	else
		a[3] = 0;
	return run(r, a);
}

static void *poller(void *arg);

static void start_poller(void)
{
	poller_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (poller_fd < 0)
		return;
	pthread_attr_t attr;
	pthread_t t;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 << 10);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, poller, NULL)) {
		close(poller_fd);
		poller_fd = -1;
	}
}

static int park(struct scone_parked *p)
{
	pthread_once(&poller_once, start_poller);
	if (poller_fd < 0)
		return 0;
	p->next = atomic_load(&incoming);
	while (!atomic_compare_exchange_weak(&incoming, &p->next, p))
		;
	uint64_t one = 1;
	if (write(poller_fd, &one, 8) < 0) {
		/* The counter is full: the poller has plenty to wake it. */
	}
	return 1;
}

/* A new parked record for r, or NULL to run it inline (blocking). */
static struct scone_parked *describe(struct scone_blocking_owner *owner, const struct scone_request *r,
				     int kind, int64_t done)
{
	struct scone_parked *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	p->r = *r;
	p->owner = owner;
	p->kind = kind;
	p->deadline = -1;
	p->done = done;
	if (kind == K_PAUSE) {
		p->nfds = 0;
	} else if (kind == K_XFER || kind == K_EPOLL) {
		p->nfds = 1;
		p->fds[0] = (struct pollfd){ .fd = (int)r->args[0],
					     .events = kind == K_EPOLL ? POLLIN : scone_xfer_events(r->nr) };
	} else {
		uint64_t n = (uint64_t)r->args[1];
		if (n > MAXFDS) {
			free(p);
			return NULL;
		}
		p->nfds = (int)n;
		memcpy(p->fds, (const void *)(uintptr_t)r->args[0], n * sizeof(struct pollfd));
		for (int i = 0; i < p->nfds; i++)
			p->fds[i].revents = 0;
	}
	if (kind == K_XFER) {
		/* A socket's receive or send timeout bounds the wait, as natively. */
		int64_t t = scone_xfer_timeout(r);
		if (t > 0)
			p->deadline = now_ns() + t;
	} else if (kind == K_POLL || kind == K_EPOLL) {
		int ms = (int)r->args[kind == K_POLL ? 2 : 3];
		if (ms >= 0)
			p->deadline = now_ns() + (int64_t)ms * 1000000;
	} else if (kind == K_PPOLL && r->args[2]) {
		struct timespec ts;
		memcpy(&ts, (const void *)(uintptr_t)r->args[2], sizeof ts);
		p->deadline = now_ns() + (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
	}
	return p;
}

static int cancelled(const struct scone_blocking_owner *o, const struct scone_request *r)
{
	if (!o->cancel)
		return 0;
	atomic_thread_fence(memory_order_seq_cst);
	return __atomic_load_n(&o->cancel[(uint32_t)r->cookie & o->mask], __ATOMIC_RELAXED) == r->cookie;
}

/*
 * The answer to a cancelled call, as the kernel's to a signal: what was
 * transferred already; else ERESTARTSYS for the reads and writes that
 * SA_RESTART restarts (signal(7): not on a socket with a timeout, which is
 * what a deadline of a K_XFER call means); else EINTR (poll, epoll_wait,
 * pause: never restarted).
 */
static long interrupted(int kind, int64_t done, int64_t deadline)
{
	if (kind == K_XFER && done)
		return (long)done;
	return kind == K_XFER && deadline < 0 ? -SCONE_ERESTARTSYS : -EINTR;
}

/* Park r (progress done), or, if nothing can be parked, run the rest
 * blocking on this sthread as a last resort: 0 if parked, 1 if *ret set. */
static int park_or_run(struct scone_blocking_owner *owner, const struct scone_request *r, int kind,
		       int64_t done, long *ret)
{
	struct scone_parked *p = describe(owner, r, kind, done);
	if (p && cancelled(owner, r)) {
		*ret = interrupted(kind, done, p->deadline);
		free(p);
		return 1;
	}
	if (p && park(p))
		return 0;
	free(p);
	*ret = kind == K_XFER ? scone_xfer_blocking(r, done) : run(r, r->args);
	*ret = scone_hostile_result(r, *ret);
	return 1;
}

int scone_blocking_run(struct scone_blocking_owner *owner, const struct scone_request *r, long *ret)
{
	int kind = owner && owner->wake ? kind_of(r->nr) : K_INLINE;
	if (kind == K_INLINE) {
		*ret = run(r, r->args);
		return 1;
	}
	if (kind == K_XFER) {
		int64_t done = 0;
		if (scone_xfer_attempt(r, &done, ret)) {
			*ret = scone_hostile_result(r, *ret);
			return 1;
		}
		return park_or_run(owner, r, kind, done, ret);
	}
	if (kind == K_PAUSE)
		return park_or_run(owner, r, kind, 0, ret);
	long now = run_now(r, kind);
	int zero_timeout = kind == K_PPOLL ? (r->args[2] && !memcmp((const void *)(uintptr_t)r->args[2], &(struct timespec){ 0, 0 }, sizeof(struct timespec)))
					   : r->args[kind == K_POLL ? 2 : 3] == 0;
	if (now != 0 || zero_timeout) {
		*ret = now;
		return 1;
	}
	return park_or_run(owner, r, kind, 0, ret);
}

struct scone_parked *scone_blocking_take(struct scone_blocking_owner *owner)
{
	if (!atomic_load_explicit(&owner->back, memory_order_relaxed))
		return NULL;
	return atomic_exchange(&owner->back, NULL);
}

int scone_blocking_retry(struct scone_blocking_owner *owner, struct scone_parked *p,
			 struct scone_parked **next, struct scone_request *r, long *ret)
{
	(void)owner;
	*next = p->next;
	*r = p->r;
	if (p->kind == K_XFER) {
		if (!scone_xfer_attempt(&p->r, &p->done, ret)) {
			if (cancelled(p->owner, &p->r))
				*ret = interrupted(p->kind, p->done, p->deadline);
			else if (p->deadline >= 0 && now_ns() >= p->deadline)
				*ret = p->done ? p->done : -EAGAIN;
			else if (park(p))
				return 0;
			else
				*ret = scone_xfer_blocking(&p->r, p->done);
		}
		*ret = scone_hostile_result(&p->r, *ret);
	} else if (p->kind == K_PAUSE) {
		if (!cancelled(p->owner, &p->r) && park(p))
			return 0;
		*ret = -EINTR;
	} else {
		*ret = run_now(&p->r, p->kind);
		if (*ret == 0 && cancelled(p->owner, &p->r))
			*ret = -EINTR;
		else if (*ret == 0 && (p->deadline < 0 || now_ns() < p->deadline) && park(p))
			return 0;
	}
	free(p);
	return 1;
}

static void hand_back(struct scone_parked *p)
{
	struct scone_blocking_owner *o = p->owner;
	p->next = atomic_load(&o->back);
	while (!atomic_compare_exchange_weak(&o->back, &p->next, p))
		;
	o->wake(o->arg);
}

void scone_blocking_kick(void)
{
	pthread_once(&poller_once, start_poller);
	uint64_t one = 1;
	if (poller_fd >= 0 && write(poller_fd, &one, 8) < 0) {
		/* The counter is full: the poller has plenty to wake it. */
	}
}

static void *poller(void *arg)
{
	(void)arg;
	static struct pollfd fds[MAXPOLL];
	struct scone_parked *mine = NULL;
	for (;;) {
		struct scone_parked *in = atomic_exchange(&incoming, NULL);
		while (in) {
			struct scone_parked *n = in->next;
			in->next = mine;
			mine = in;
			in = n;
		}
		int n = 1, urgent = 0;
		int64_t deadline = -1;
		fds[0] = (struct pollfd){ .fd = poller_fd, .events = POLLIN };
		for (struct scone_parked *p = mine; p; p = p->next) {
			p->slot = -1;
			if (n + p->nfds <= MAXPOLL) {
				memcpy(&fds[n], p->fds, p->nfds * sizeof *fds);
				p->slot = n;
				n += p->nfds;
			}
			if (p->deadline >= 0 && (deadline < 0 || p->deadline < deadline))
				deadline = p->deadline;
			/* Looked at after the wake-up that brought p in (or after
			 * the kick): a cancel stored before either is seen here. */
			urgent |= cancelled(p->owner, &p->r);
		}
		int ms = urgent ? 0 : -1;
		if (deadline >= 0 && !urgent) {
			int64_t left = deadline - now_ns();
			ms = left <= 0 ? 0 : (int)((left + 999999) / 1000000);
		}
		int r = poll(fds, (nfds_t)n, ms);
		if (r < 0 && errno != EINTR)
			continue;
		if (fds[0].revents) {
			uint64_t v;
			if (read(poller_fd, &v, 8) < 0) {
				/* Already drained: nothing more to do. */
			}
		}
		int64_t t = now_ns();
		struct scone_parked **link = &mine;
		while (*link) {
			struct scone_parked *p = *link;
			int fire = (p->deadline >= 0 && t >= p->deadline) || cancelled(p->owner, &p->r);
			if (p->slot >= 0)
				for (int i = 0; i < p->nfds; i++)
					fire |= fds[p->slot + i].revents != 0;
			else
				fire = 1;   /* not watched: let its sthread look again */
			if (fire) {
				*link = p->next;
				hand_back(p);
			} else {
				link = &p->next;
			}
		}
	}
	return NULL;
}
