/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmp - device-mapper proxy: shared definitions.
 *
 * Every mapped device that has at least one dmp target in a table gets one
 * struct dmp_dev. Its counters are per-CPU and only ever incremented, on the
 * CPU that maps the bio; readers sum the CPUs. "reset" does not touch the
 * counters: it records a baseline that is subtracted when they are shown, so
 * that all_devs, which sums the raw counters of every device, is not affected.
 */
#ifndef DMP_H
#define DMP_H

#include <linux/bio.h>
#include <linux/device-mapper.h>
#include <linux/dm-ioctl.h>
#include <linux/kobject.h>
#include <linux/percpu.h>
#include <linux/seqlock.h>

#include "dmp_compat.h"

#define DM_MSG_PREFIX "dmp"

/* The order is that of "dmsetup status". */
enum dmp_counter {
	DMP_READS,
	DMP_READ_BYTES,
	DMP_WRITES,
	DMP_WRITE_BYTES,
	DMP_DISCARDS,
	DMP_DISCARD_BYTES,
	DMP_WRITE_ZEROES,
	DMP_FLUSHES,
	DMP_ERRORS,
	DMP_NR_COUNTERS
};

struct dmp_counters {
	u64 c[DMP_NR_COUNTERS];
};

/* One directory under /sys/module/dmp/stat/: all_devs or a mapped device. */
struct dmp_node {
	struct kobject kobj;
	/* Sums the raw (never reset) counters into @out. */
	void (*read_raw)(struct dmp_node *node, struct dmp_counters *out);
	seqlock_t base_lock;
	struct dmp_counters base;	/* raw counters at the last reset */
};

struct dmp_dev {
	struct dmp_node node;
	struct dmp_counters __percpu *pcpu;
	struct mapped_device *md;	/* only compared, never dereferenced */
	dev_t devt;
	unsigned int refs;		/* dmp targets using it, under dmp_lock */
	struct hlist_node hash;		/* dmp_devs, under dmp_lock */
	struct list_head list;		/* dmp_live, RCU */
	struct rcu_head rcu;
	bool linked;			/* the symlink @link exists */
	char kname[DISK_NAME_LEN];	/* "dm-N", the directory name */
	char link[DM_NAME_LEN];		/* device-mapper name when created */
};

/* The request path: one bio mapped by a dmp target. */
static inline void dmp_count_bio(struct dmp_counters __percpu *s,
				 struct bio *bio)
{
	unsigned int size = bio->bi_iter.bi_size;

	switch (bio_op(bio)) {
	case REQ_OP_READ:
		this_cpu_inc(s->c[DMP_READS]);
		this_cpu_add(s->c[DMP_READ_BYTES], size);
		break;
	case REQ_OP_WRITE:
		if (likely(size)) {
			this_cpu_inc(s->c[DMP_WRITES]);
			this_cpu_add(s->c[DMP_WRITE_BYTES], size);
		} else {
			/* an empty REQ_PREFLUSH bio */
			this_cpu_inc(s->c[DMP_FLUSHES]);
		}
		break;
	case REQ_OP_DISCARD:
	case REQ_OP_SECURE_ERASE:
		this_cpu_inc(s->c[DMP_DISCARDS]);
		this_cpu_add(s->c[DMP_DISCARD_BYTES], size);
		break;
	case REQ_OP_WRITE_ZEROES:
		this_cpu_inc(s->c[DMP_WRITE_ZEROES]);
		break;
	default:
		/* 5.10's REQ_OP_WRITE_SAME fills a range like write-zeroes */
		if (dmp_op_is_write_same(bio_op(bio)))
			this_cpu_inc(s->c[DMP_WRITE_ZEROES]);
		break;
	}
}

/* dmp_stats.c */
int dmp_stats_init(void);
void dmp_stats_exit(void);
struct dmp_dev *dmp_dev_get(struct mapped_device *md);
void dmp_dev_put(struct dmp_dev *dev);
void dmp_node_read(struct dmp_node *node, struct dmp_counters *out);
void dmp_node_reset(struct dmp_node *node);
void dmp_object_hold(void);
void dmp_object_release(void);
void dmp_dev_release(struct kobject *kobj);

/* dmp_sysfs.c */
int dmp_sysfs_init(void (*all_read_raw)(struct dmp_node *,
					struct dmp_counters *));
void dmp_sysfs_exit(void);
int dmp_sysfs_add_dev(struct dmp_dev *dev);
void dmp_sysfs_del_dev(struct dmp_dev *dev);

#endif
