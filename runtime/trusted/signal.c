/*
 * Signal dispositions and the signal mask as in-enclave state. Delivery into
 * the enclave comes with a later issue: until then a handler is recorded but
 * never runs. SIG_IGN and SIG_DFL are mirrored to the host, so that, e.g.,
 * an ignored SIGPIPE does not kill the process.
 */
#include "client.h"

#define EINVAL 22
#define NSIG 65
#define SIGKILL 9
#define SIGSTOP 19
#define SIG_DFL 0ul
#define SIG_IGN 1ul

struct k_sigaction {               /* the kernel's layout, as musl passes it */
	unsigned long handler;
	unsigned long flags;
	unsigned long restorer;
	unsigned long mask;
};

static struct k_sigaction actions[NSIG];
static unsigned long blocked;

long __scone_sys_rt_sigaction(long sig, const void *act, void *oact, unsigned long size)
{
	if (size != 8 || sig < 1 || sig >= NSIG)
		return -EINVAL;
	if (act && (sig == SIGKILL || sig == SIGSTOP))
		return -EINVAL;
	if (oact)
		__scone_memcpy(oact, &actions[sig], sizeof actions[sig]);
	if (act) {
		__scone_memcpy(&actions[sig], act, sizeof actions[sig]);
		unsigned long h = actions[sig].handler;
		struct k_sigaction host = { .handler = h == SIG_IGN ? SIG_IGN : SIG_DFL };
		/* Marshalled like an external call: sig, act in, no oact, size. */
		static const struct scone_sys_desc mirror = {
			SCONE_SYS_CLASS_EXTERNAL, 4, SCONE_RET_VALUE, SCONE_SYS_NOARG,
			{ { SCONE_ARG_INT, SCONE_SYS_NOARG, 0 },
			  { SCONE_ARG_IN, SCONE_SYS_NOARG, sizeof host },
			  { SCONE_ARG_INT, SCONE_SYS_NOARG, 0 },
			  { SCONE_ARG_INT, SCONE_SYS_NOARG, 0 } } };
		const long a[6] = { sig, (long)&host, 0, 8 };
		__scone_external_desc(13 /* rt_sigaction */, &mirror, a);
		if (h > SIG_IGN)
			__scone_log(SCONE_LOG_DEBUG, "signal %d: handler recorded; signal delivery into the enclave is not implemented yet", (int)sig);
	}
	return 0;
}

long __scone_sys_rt_sigprocmask(long how, const void *set, void *oset, unsigned long size)
{
	if (size != 8)
		return -EINVAL;
	unsigned long old = blocked, s = 0;
	if (set) {
		__scone_memcpy(&s, set, 8);
		switch (how) {
		case 0: blocked |= s; break;       /* SIG_BLOCK */
		case 1: blocked &= ~s; break;      /* SIG_UNBLOCK */
		case 2: blocked = s; break;        /* SIG_SETMASK */
		default: return -EINVAL;
		}
		blocked &= ~((1ul << (SIGKILL - 1)) | (1ul << (SIGSTOP - 1)));
	}
	if (oset)
		__scone_memcpy(oset, &old, 8);
	return 0;
}
