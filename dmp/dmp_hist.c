// SPDX-License-Identifier: GPL-2.0
/*
 * dmp - latency and request-size histograms, per device, switched on and
 * off at run time ("dmsetup message DEV 0 histograms on|off").
 *
 * Off, a device has no histogram memory, and its targets' ti->private has
 * DMP_HIST_ON clear: map and end_io test that bit and do nothing more.
 * On, map (dmp_hist_map) counts the size of reads and writes and notes the
 * time in the bio's per-bio data, with the generation of the histograms it
 * counted in and whether it is a read or a write; end_io (dmp_hist_end)
 * counts the latency of a bio whose generation is that of the current
 * histograms (a bio mapped while they were off, or in earlier ones, is left
 * out). end_io does not look at the bio itself: the driver below may have
 * advanced it (brd does on 7.x: bi_size is 0 at completion). Counting is per CPU, like the
 * counters, inside the same u64_stats_sync on 32-bit kernels.
 *
 * The request path reaches them through dev->hist_io, in an RCU-sched
 * read-side section (preemption off: cheaper than a preemptible RCU's
 * nesting count, and synchronize_rcu() waits for it too); readers through
 * dev->hist. Switching off clears the bits and hist_io, waits for an RCU
 * grace period (a bio that saw them may still be counting), then, in one
 * step for all_devs' readers, folds what they counted into the retired sums
 * and clears hist; they are freed after another grace period. A removed
 * device's histograms are folded when its last target goes (no bio is in
 * flight then) and freed with it.
 */
#include <linux/bitops.h>
#include <linux/math64.h>
#include <linux/random.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/timekeeping.h>

#include "dmp.h"

#define DMP_HIST_WORDS (sizeof(struct dmp_hist_data) / sizeof(u64))

/* What devices switched off or removed left; under dmp_all_lock. */
static struct dmp_hist_data dmp_hist_retired;
/* Generations of histograms: random start below 2^62, never reused. */
static atomic64_t dmp_hist_gen;

void dmp_hist_init(void)
{
	atomic64_set(&dmp_hist_gen, get_random_u64() >> 2);
}

/* 0 for reads, 1 for writes carrying data, -1 for anything else. */
static int dmp_hist_dir(struct bio *bio)
{
	if (!bio->bi_iter.bi_size)
		return -1;
	switch (bio_op(bio)) {
	case REQ_OP_READ:
		return 0;
	case REQ_OP_WRITE:
		return 1;
	default:
		return -1;
	}
}

/* The bucket of a latency: the smallest k with ns <= 2^k us. */
static unsigned int dmp_lat_bucket(u64 ns)
{
	u64 us = ns ? div_u64(ns - 1, NSEC_PER_USEC) : 0;

	return min_t(unsigned int, fls64(us), DMP_LAT_BUCKETS - 1);
}

/* The bucket of a size: the smallest k with bytes <= 512 << k. */
static unsigned int dmp_size_bucket(unsigned int bytes)
{
	return min_t(unsigned int, fls((bytes - 1) >> SECTOR_SHIFT),
		     DMP_SIZE_BUCKETS - 1);
}

/*
 * Adds 1 to @cnt and @v to @sum, this CPU's: on 32-bit kernels inside the
 * CPU's u64_stats_sync (that of its counters), with interrupts off.
 */
static __always_inline void dmp_hist_add(struct dmp_pcpu __percpu *stats,
					 u64 __percpu *cnt, u64 __percpu *sum,
					 u64 v)
{
#if BITS_PER_LONG == 32
	struct dmp_pcpu *p;
	unsigned long flags;

	local_irq_save(flags);
	p = this_cpu_ptr(stats);
	u64_stats_update_begin(&p->syncp);
	(*this_cpu_ptr(cnt))++;
	*this_cpu_ptr(sum) += v;
	u64_stats_update_end(&p->syncp);
	local_irq_restore(flags);
#else
	this_cpu_inc(*cnt);
	this_cpu_add(*sum, v);
#endif
}

/* The request path, histograms on: a bio is mapped; DM_MAPIO_REMAPPED. */
int dmp_hist_map(struct dmp_target *dt, struct bio *bio)
{
	struct dmp_bio *pb = dm_per_bio_data(bio, sizeof(struct dmp_bio));
	unsigned int bytes = bio->bi_iter.bi_size;
	int dir = dmp_hist_dir(bio);
	struct dmp_hist *h;

	if (dir < 0)
		return DM_MAPIO_REMAPPED;
	rcu_read_lock_sched();
	h = rcu_dereference_sched(dt->sdev->hist_io);
	if (h) {
		pb->tag = h->gen << 1 | dir;
		pb->start = ktime_get_ns();
		dmp_hist_add(dt->stats,
			     &h->pcpu->size[dir][dmp_size_bucket(bytes)],
			     &h->pcpu->size_sum[dir], bytes);
	}
	rcu_read_unlock_sched();
	return DM_MAPIO_REMAPPED;
}

/* The request path, histograms on: a bio completes. */
void dmp_hist_end(struct dmp_target *dt, struct bio *bio)
{
	struct dmp_bio *pb = dm_per_bio_data(bio, sizeof(struct dmp_bio));
	struct dmp_hist *h;

	rcu_read_lock_sched();
	h = rcu_dereference_sched(dt->sdev->hist_io);
	if (h && pb->tag >> 1 == h->gen) {
		u64 ns = ktime_get_ns() - pb->start;
		unsigned int dir = pb->tag & 1;

		pb->tag = 0;
		dmp_hist_add(dt->stats, &h->pcpu->lat[dir][dmp_lat_bucket(ns)],
			     &h->pcpu->lat_sum[dir], ns);
	}
	rcu_read_unlock_sched();
}

/*
 * Adds every CPU's histograms of @h to @out, each word read whole inside
 * its CPU's u64_stats_sync (on 64-bit kernels the loop runs once).
 */
static void dmp_hist_add_to(struct dmp_dev *dev, struct dmp_hist *h,
			    struct dmp_hist_data *out)
{
	u64 *o = (u64 *)out;
	unsigned int i;
	int cpu;

	for_each_possible_cpu(cpu) {
		struct dmp_pcpu *p = per_cpu_ptr(dev->pcpu, cpu);
		const u64 *s = (const u64 *)per_cpu_ptr(h->pcpu, cpu);

		for (i = 0; i < DMP_HIST_WORDS; i++) {
			unsigned int start;
			u64 v;

			do {
				start = dmp_u64_stats_fetch_begin(&p->syncp);
				v = READ_ONCE(s[i]);
			} while (dmp_u64_stats_fetch_retry(&p->syncp, start));
			o[i] += v;
		}
	}
}

/* node->hist_raw of a device (@out NULL: only where the baseline is) */
struct dmp_hist_data *dmp_dev_hist_raw(struct dmp_node *node,
				       struct dmp_hist_data *out)
{
	struct dmp_dev *dev = container_of(node, struct dmp_dev, node);
	struct dmp_hist *h = rcu_dereference(dev->hist);

	if (h && out) {
		memset(out, 0, sizeof(*out));
		dmp_hist_add_to(dev, h, out);
	}
	return h ? &h->base : NULL;
}

/* node->hist_raw of all_devs: on while any device has them on */
struct dmp_hist_data *dmp_all_hist_raw(struct dmp_node *node,
				       struct dmp_hist_data *out)
{
	static struct dmp_hist_data base;	/* under node->base_lock */
	struct dmp_dev *dev;
	unsigned int seq;
	bool on;

	do {
		seq = read_seqbegin(&dmp_all_lock);
		if (out)
			*out = dmp_hist_retired;
		on = false;
		list_for_each_entry_rcu(dev, &dmp_live, list) {
			struct dmp_hist *h = rcu_dereference(dev->hist);

			if (h && out)
				dmp_hist_add_to(dev, h, out);
			on |= !!h;
		}
	} while (read_seqretry(&dmp_all_lock, seq));
	return on ? &base : NULL;
}

static void dmp_hist_free_rcu(struct rcu_head *rcu)
{
	struct dmp_hist *h = container_of(rcu, struct dmp_hist, rcu);

	free_percpu(h->pcpu);
	kfree(h);
}

/* Tells every target of @dev whether its histograms are on. */
static void dmp_hist_tag(struct dmp_dev *dev, bool on)
{
	struct dmp_target *dt;

	list_for_each_entry(dt, &dev->targets, link)
		WRITE_ONCE(dt->ti->private,
			   (void *)((unsigned long)dt | (on ? DMP_HIST_ON : 0)));
}

/* "histograms on|off": 0, or -ENOMEM. */
int dmp_hist_switch(struct dmp_dev *dev, bool on)
{
	struct dmp_hist *h;

	mutex_lock(&dmp_lock);
	h = rcu_dereference_protected(dev->hist, lockdep_is_held(&dmp_lock));
	if (on && !h) {
		h = kzalloc(sizeof(*h), GFP_KERNEL);
		if (h)
			h->pcpu = alloc_percpu(struct dmp_hist_data);
		if (!h || !h->pcpu) {
			kfree(h);
			mutex_unlock(&dmp_lock);
			return -ENOMEM;
		}
		h->gen = atomic64_inc_return(&dmp_hist_gen);
		/* the histograms before the bit that sends bios to them */
		rcu_assign_pointer(dev->hist, h);
		rcu_assign_pointer(dev->hist_io, h);
		dmp_hist_tag(dev, true);
	} else if (!on && h) {
		dmp_hist_tag(dev, false);
		RCU_INIT_POINTER(dev->hist_io, NULL);
		/* bios that saw them may still be counting into them */
		synchronize_rcu();
		/* all_devs' readers see them either live or retired */
		write_seqlock(&dmp_all_lock);
		dmp_hist_add_to(dev, h, &dmp_hist_retired);
		RCU_INIT_POINTER(dev->hist, NULL);
		write_sequnlock(&dmp_all_lock);
		call_rcu(&h->rcu, dmp_hist_free_rcu);
	}
	mutex_unlock(&dmp_lock);
	return 0;
}

/* A new target of @dev (dmp_lock held): on if the device's are. */
void dmp_hist_link(struct dmp_dev *dev, struct dmp_target *dt)
{
	bool on = rcu_access_pointer(dev->hist_io);

	list_add_tail(&dt->link, &dev->targets);
	WRITE_ONCE(dt->ti->private,
		   (void *)((unsigned long)dt | (on ? DMP_HIST_ON : 0)));
}

/*
 * The last target of @dev goes (dmp_lock and dmp_all_lock held): no bio is
 * in flight; what its histograms counted goes to the retired sums. They
 * are freed with the device (dmp_hist_free), after an RCU grace period.
 */
void dmp_hist_retire(struct dmp_dev *dev)
{
	struct dmp_hist *h;

	h = rcu_dereference_protected(dev->hist, lockdep_is_held(&dmp_lock));
	if (h)
		dmp_hist_add_to(dev, h, &dmp_hist_retired);
}

/* With the device, after an RCU grace period. */
void dmp_hist_free(struct dmp_dev *dev)
{
	struct dmp_hist *h = rcu_dereference_protected(dev->hist, true);

	if (h)
		dmp_hist_free_rcu(&h->rcu);
}
