/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every difference between kernel versions that scone.ko meets, in one
 * place. The module is built and tested against Debian's 6.1; the shims
 * keep it building on the kernels a starter may meet (5.8 to 6.15).
 */
#ifndef SCONE_KMOD_COMPAT_H
#define SCONE_KMOD_COMPAT_H

#include <linux/version.h>
#include <linux/hrtimer.h>

/* pin_user_pages_fast() with FOLL_LONGTERM and unpin_user_pages_dirty_lock() */
#if KERNEL_VERSION(5, 8, 0) > LINUX_VERSION_CODE
#error "scone.ko needs Linux 5.8 or later (pin_user_pages_fast with FOLL_LONGTERM)"
#endif

/* 6.13 added hrtimer_setup(); 6.15 removed hrtimer_init(). */
#if KERNEL_VERSION(6, 13, 0) > LINUX_VERSION_CODE
static inline void scone_hrtimer_setup(struct hrtimer *timer,
				       enum hrtimer_restart (*fn)(struct hrtimer *),
				       clockid_t clock, enum hrtimer_mode mode)
{
	hrtimer_init(timer, clock, mode);
	timer->function = fn;
}
#else
#define scone_hrtimer_setup(timer, fn, clock, mode) \
	hrtimer_setup(timer, fn, clock, mode)
#endif

#endif
