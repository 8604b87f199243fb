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
#include <linux/u64_stats_sync.h>

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

/*
 * The per-CPU counters of a device, laid out for the request path: one slot
 * per request op, so that counting a request is two per-CPU adds at an index
 * and no branch on the op. DMP_SLOT() covers every op a bio-based target is
 * sent (zone and driver ops never reach dmp). Empty bios (REQ_PREFLUSH
 * writes) go to the slot of REQ_OP_FLUSH, an op that no bio carries. Readers
 * fold the slots into a struct dmp_counters (dmp_dev_add_to()).
 */
#define DMP_SLOTS 16
#define DMP_SLOT(op) ((__force unsigned int)(op) & (DMP_SLOTS - 1))
#define DMP_SLOT_EMPTY DMP_SLOT(REQ_OP_FLUSH)

struct dmp_slot {
	u64 reqs;
	u64 bytes;
};

/*
 * On 32-bit kernels a u64 add is two stores (this_cpu_add() of a u64 on
 * i386 is "addl; adcl"), and a reader on another CPU could see the low word
 * wrapped and the high word not yet carried. There each CPU's counters are
 * updated inside its own u64_stats_sync (a per-CPU seqcount, with local
 * interrupts off so that end_io cannot nest in map's update), and readers
 * retry. On 64-bit kernels @syncp is empty and the request path is the two
 * per-CPU adds of dmp_count_bio().
 */
struct dmp_pcpu {
	struct dmp_slot slot[DMP_SLOTS];
	u64 errors;
	struct u64_stats_sync syncp;
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
	struct dmp_pcpu __percpu *pcpu;
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
static __always_inline void dmp_count_bio(struct dmp_pcpu __percpu *s,
					  struct bio *bio)
{
	unsigned int size = bio->bi_iter.bi_size;
	unsigned int i = DMP_SLOT(bio_op(bio));
#if BITS_PER_LONG == 32
	struct dmp_pcpu *p;
	unsigned long flags;

	if (!size)
		i = DMP_SLOT_EMPTY;
	local_irq_save(flags);
	p = this_cpu_ptr(s);
	u64_stats_update_begin(&p->syncp);
	p->slot[i].reqs++;
	p->slot[i].bytes += size;
	u64_stats_update_end(&p->syncp);
	local_irq_restore(flags);
#else
	struct dmp_slot __percpu *o;

	if (!size)
		i = DMP_SLOT_EMPTY;
	o = &s->slot[i];
	this_cpu_inc(o->reqs);
	this_cpu_add(o->bytes, size);
#endif
}

/* The request path: one bio that completed with an error. */
static __always_inline void dmp_count_error(struct dmp_pcpu __percpu *s)
{
#if BITS_PER_LONG == 32
	struct dmp_pcpu *p;
	unsigned long flags;

	local_irq_save(flags);
	p = this_cpu_ptr(s);
	u64_stats_update_begin(&p->syncp);
	p->errors++;
	u64_stats_update_end(&p->syncp);
	local_irq_restore(flags);
#else
	this_cpu_inc(s->errors);
#endif
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
