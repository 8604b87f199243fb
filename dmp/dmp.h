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

/*
 * Histograms (dmp_hist.c), for reads and for writes: latency from map to
 * end_io in log2 buckets of microseconds (<= 1 us, <= 2 us, ..., <= 2^25 us
 * = 33.6 s, above), request size in log2 buckets of bytes (<= 512 B, ...,
 * <= 4 MiB, above), and the sums. Bucket i holds bound[i-1] < v <= bound[i].
 */
#define DMP_LAT_BUCKETS 27
#define DMP_SIZE_BUCKETS 15
#define DMP_HIST_DIRS 2		/* 0: reads, 1: writes */

struct dmp_hist_data {
	u64 lat[DMP_HIST_DIRS][DMP_LAT_BUCKETS];
	u64 lat_sum[DMP_HIST_DIRS];	/* ns */
	u64 size[DMP_HIST_DIRS][DMP_SIZE_BUCKETS];
	u64 size_sum[DMP_HIST_DIRS];	/* bytes */
};

/* A device's histograms, while switched on. */
struct dmp_hist {
	struct dmp_hist_data __percpu *pcpu;	/* under the dmp_pcpu syncp */
	u64 gen;			/* unique: tells this one's bios */
	struct dmp_hist_data base;	/* at the last reset, node->base_lock */
	struct rcu_head rcu;
};

/*
 * Per-bio data of a dmp target: the map time of a bio counted in the
 * histograms of generation @tag >> 1, as a read (@tag & 1 == 0) or a write.
 * (At end_io, the bio's size and op may be gone: drivers advance it.)
 */
struct dmp_bio {
	u64 start;
	u64 tag;
};

/* One directory under /sys/module/dmp/stat/: all_devs or a mapped device. */
struct dmp_node {
	struct kobject kobj;
	/* Sums the raw (never reset) counters into @out. */
	void (*read_raw)(struct dmp_node *node, struct dmp_counters *out);
	/*
	 * Under rcu_read_lock(): sums the raw histograms into @out and gives
	 * where their reset baseline is, or NULL when they are off.
	 */
	struct dmp_hist_data *(*hist_raw)(struct dmp_node *node,
					  struct dmp_hist_data *out);
	seqlock_t base_lock;
	struct dmp_counters base;	/* raw counters at the last reset */
};

struct dmp_dev {
	struct dmp_node node;
	struct dmp_pcpu __percpu *pcpu;
	/* NULL while off; set under dmp_lock, read under RCU */
	struct dmp_hist __rcu *hist;	/* for readers (sysfs) */
	struct dmp_hist __rcu *hist_io;	/* for the request path */
	struct list_head targets;	/* its dmp_targets, under dmp_lock */
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

/*
 * A dmp target. ti->private points to it, with DMP_HIST_ON set in the
 * pointer while its device's histograms are on: map and end_io learn it
 * from the load of ti->private they make anyway (or would, for end_io).
 */
struct dmp_target {
	struct dm_dev *dev;
	sector_t start;
	struct dmp_pcpu __percpu *stats;	/* == sdev->pcpu */
	struct dmp_dev *sdev;
	struct dm_target *ti;
	struct list_head link;			/* sdev->targets */
};

#define DMP_HIST_ON 1UL

static __always_inline struct dmp_target *dmp_dt(unsigned long private)
{
	return (struct dmp_target *)(private & ~DMP_HIST_ON);
}

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

/* dmp_hist.c */
int dmp_hist_map(struct dmp_target *dt, struct bio *bio);
void dmp_hist_end(struct dmp_target *dt, struct bio *bio);
int dmp_hist_switch(struct dmp_dev *dev, bool on);
void dmp_hist_link(struct dmp_dev *dev, struct dmp_target *dt);
void dmp_hist_retire(struct dmp_dev *dev);
void dmp_hist_free(struct dmp_dev *dev);
struct dmp_hist_data *dmp_dev_hist_raw(struct dmp_node *node,
				       struct dmp_hist_data *out);
struct dmp_hist_data *dmp_all_hist_raw(struct dmp_node *node,
				       struct dmp_hist_data *out);
void dmp_hist_init(void);

/* dmp_stats.c */
extern struct mutex dmp_lock;
extern seqlock_t dmp_all_lock;
extern struct list_head dmp_live;
int dmp_stats_init(void);
void dmp_stats_exit(void);
struct dmp_dev *dmp_dev_get(struct mapped_device *md, struct dmp_target *dt);
void dmp_dev_put(struct dmp_dev *dev, struct dmp_target *dt);
void dmp_node_read(struct dmp_node *node, struct dmp_counters *out);
bool dmp_node_read_hist(struct dmp_node *node, struct dmp_hist_data *out);
void dmp_node_reset(struct dmp_node *node);
void dmp_object_hold(void);
void dmp_object_release(void);
void dmp_dev_release(struct kobject *kobj);

/* dmp_sysfs.c */
int dmp_sysfs_init(void (*all_read_raw)(struct dmp_node *,
					struct dmp_counters *),
		   struct dmp_hist_data *(*all_hist_raw)(struct dmp_node *,
							 struct dmp_hist_data *));
void dmp_sysfs_exit(void);
int dmp_sysfs_add_dev(struct dmp_dev *dev);
void dmp_sysfs_del_dev(struct dmp_dev *dev);

#endif
