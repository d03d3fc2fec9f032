// SPDX-License-Identifier: GPL-2.0
/*
 * Counters in /sys/class/misc/scone/, one value per file: sysfs needs no
 * extra mount in a minimal system (unlike debugfs), and tests and
 * benchmarks read them before and after a run.
 */
#include <linux/device.h>
#include <linux/kernel.h>
#include <linux/sysfs.h>

#include "scone.h"

struct scone_stats scone_stats;

struct scone_stat_attr {
	struct device_attribute dev_attr;
	atomic64_t *counter;
};

static ssize_t scone_stat_show(struct device *dev,
			       struct device_attribute *attr, char *buf)
{
	struct scone_stat_attr *sa =
		container_of(attr, struct scone_stat_attr, dev_attr);

	return sysfs_emit(buf, "%lld\n", (long long)atomic64_read(sa->counter));
}

enum { SCONE_WAKEUPS, SCONE_POLLS, SCONE_REQUESTS_SEEN, SCONE_WAITS,
	SCONE_TIMEOUTS, SCONE_PAIRS, SCONE_PINNED_PAGES };

static struct scone_stat_attr scone_stat_attrs[] = {
	[SCONE_WAKEUPS] = { __ATTR(wakeups, 0444, scone_stat_show, NULL),
			    &scone_stats.wakeups },
	[SCONE_POLLS] = { __ATTR(polls, 0444, scone_stat_show, NULL),
			  &scone_stats.polls },
	[SCONE_REQUESTS_SEEN] = { __ATTR(requests_seen, 0444,
					 scone_stat_show, NULL),
				  &scone_stats.requests_seen },
	[SCONE_WAITS] = { __ATTR(waits, 0444, scone_stat_show, NULL),
			  &scone_stats.waits },
	[SCONE_TIMEOUTS] = { __ATTR(timeouts, 0444, scone_stat_show, NULL),
			     &scone_stats.timeouts },
	[SCONE_PAIRS] = { __ATTR(pairs, 0444, scone_stat_show, NULL),
			  &scone_stats.pairs },
	[SCONE_PINNED_PAGES] = { __ATTR(pinned_pages, 0444,
					scone_stat_show, NULL),
				 &scone_stats.pinned_pages },
};

static struct attribute *scone_stats_attrs[] = {
	&scone_stat_attrs[SCONE_WAKEUPS].dev_attr.attr,
	&scone_stat_attrs[SCONE_POLLS].dev_attr.attr,
	&scone_stat_attrs[SCONE_REQUESTS_SEEN].dev_attr.attr,
	&scone_stat_attrs[SCONE_WAITS].dev_attr.attr,
	&scone_stat_attrs[SCONE_TIMEOUTS].dev_attr.attr,
	&scone_stat_attrs[SCONE_PAIRS].dev_attr.attr,
	&scone_stat_attrs[SCONE_PINNED_PAGES].dev_attr.attr,
	NULL,
};

static const struct attribute_group scone_stats_group = {
	.attrs = scone_stats_attrs,
};

const struct attribute_group *scone_stats_groups[] = {
	&scone_stats_group,
	NULL,
};
