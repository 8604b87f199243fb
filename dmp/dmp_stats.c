// SPDX-License-Identifier: GPL-2.0
/*
 * dmp - the counters: one struct dmp_dev per mapped device, shared by all
 * dmp targets of that device in all its tables, and the all_devs aggregate.
 *
 * all_devs is not counted on the request path: it is the sum of the live
 * devices plus what removed devices left behind (dmp_retired), so that a
 * request updates one set of per-CPU counters only.
 */
#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/rculist.h>
#include <linux/slab.h>

#include "dmp.h"

/*
 * The registry of devices; taken in ctr, dtr and the histograms switch
 * (a message), never by sysfs.
 */
DEFINE_MUTEX(dmp_lock);
static DEFINE_HASHTABLE(dmp_devs, 8);

/* dmp_live and dmp_retired change together, under dmp_all_lock. */
LIST_HEAD(dmp_live);
DEFINE_SEQLOCK(dmp_all_lock);
static struct dmp_counters dmp_retired;

/* Objects whose release may still run code of this module. */
static atomic_t dmp_objects = ATOMIC_INIT(0);
static DECLARE_WAIT_QUEUE_HEAD(dmp_objects_wait);

/* Folds the slots of one CPU's counters into @c. */
static void dmp_pcpu_fold(const struct dmp_pcpu *p, u64 *c)
{
	int i;

	for (i = 0; i < DMP_SLOTS; i++) {
		u64 reqs = READ_ONCE(p->slot[i].reqs);
		u64 bytes = READ_ONCE(p->slot[i].bytes);

		if (i == DMP_SLOT(REQ_OP_READ)) {
			c[DMP_READS] += reqs;
			c[DMP_READ_BYTES] += bytes;
		} else if (i == DMP_SLOT(REQ_OP_WRITE)) {
			c[DMP_WRITES] += reqs;
			c[DMP_WRITE_BYTES] += bytes;
		} else if (i == DMP_SLOT(REQ_OP_DISCARD) ||
			   i == DMP_SLOT(REQ_OP_SECURE_ERASE)) {
			c[DMP_DISCARDS] += reqs;
			c[DMP_DISCARD_BYTES] += bytes;
		} else if (i == DMP_SLOT(REQ_OP_WRITE_ZEROES) ||
			   i == DMP_SLOT_WRITE_SAME) {
			c[DMP_WRITE_ZEROES] += reqs;
		} else if (i == DMP_SLOT_EMPTY) {
			c[DMP_FLUSHES] += reqs;
		}
	}
	c[DMP_ERRORS] += READ_ONCE(p->errors);
}

/*
 * Adds the counters of every CPU to @out. Each CPU's are read whole inside
 * its u64_stats_sync: on 32-bit kernels a read that raced with an update
 * of that CPU is done again (on 64-bit kernels the loop runs once).
 */
static void dmp_dev_add_to(struct dmp_dev *dev, struct dmp_counters *out)
{
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct dmp_pcpu *p = per_cpu_ptr(dev->pcpu, cpu);
		struct dmp_counters t;
		unsigned int start;

		do {
			start = dmp_u64_stats_fetch_begin(&p->syncp);
			memset(&t, 0, sizeof(t));
			dmp_pcpu_fold(p, t.c);
		} while (dmp_u64_stats_fetch_retry(&p->syncp, start));
		for (i = 0; i < DMP_NR_COUNTERS; i++)
			out->c[i] += t.c[i];
	}
}

static void dmp_dev_read_raw(struct dmp_node *node, struct dmp_counters *out)
{
	memset(out, 0, sizeof(*out));
	dmp_dev_add_to(container_of(node, struct dmp_dev, node), out);
}

static void dmp_all_read_raw(struct dmp_node *node, struct dmp_counters *out)
{
	struct dmp_dev *dev;
	unsigned int seq;

	do {
		seq = read_seqbegin(&dmp_all_lock);
		*out = dmp_retired;
		rcu_read_lock();
		list_for_each_entry_rcu(dev, &dmp_live, list)
			dmp_dev_add_to(dev, out);
		rcu_read_unlock();
	} while (read_seqretry(&dmp_all_lock, seq));
}

/* One snapshot of what @node shows: raw counters less the reset baseline. */
void dmp_node_read(struct dmp_node *node, struct dmp_counters *out)
{
	struct dmp_counters base;
	unsigned int seq;
	int i;

	/* The baseline first: the raw counters only grow after it is taken. */
	do {
		seq = read_seqbegin(&node->base_lock);
		base = node->base;
	} while (read_seqretry(&node->base_lock, seq));

	node->read_raw(node, out);
	for (i = 0; i < DMP_NR_COUNTERS; i++)
		out->c[i] = out->c[i] > base.c[i] ? out->c[i] - base.c[i] : 0;
}

/*
 * One snapshot of the histograms @node shows, raw less the reset baseline
 * (each word whole); false when they are off.
 */
bool dmp_node_read_hist(struct dmp_node *node, struct dmp_hist_data *out)
{
	struct dmp_hist_data *base;
	u64 *o = (u64 *)out;
	unsigned int seq, i;

	rcu_read_lock();
	base = node->hist_raw(node, out);
	for (i = 0; base && i < sizeof(*out) / sizeof(u64); i++) {
		const u64 *b = (const u64 *)base;
		u64 v;

		do {
			seq = read_seqbegin(&node->base_lock);
			v = b[i];
		} while (read_seqretry(&node->base_lock, seq));
		o[i] = o[i] > v ? o[i] - v : 0;
	}
	rcu_read_unlock();
	return base;
}

void dmp_node_reset(struct dmp_node *node)
{
	struct dmp_hist_data *base;

	write_seqlock(&node->base_lock);
	node->read_raw(node, &node->base);
	rcu_read_lock();
	base = node->hist_raw(node, NULL);
	if (base)
		node->hist_raw(node, base);
	rcu_read_unlock();
	write_sequnlock(&node->base_lock);
}

static void dmp_dev_free_rcu(struct rcu_head *rcu)
{
	struct dmp_dev *dev = container_of(rcu, struct dmp_dev, rcu);

	dmp_hist_free(dev);
	free_percpu(dev->pcpu);
	kfree(dev);
	dmp_object_release();
}

void dmp_dev_release(struct kobject *kobj)
{
	struct dmp_dev *dev = container_of(kobj, struct dmp_dev, node.kobj);

	/* all_devs readers may still walk over it */
	call_rcu(&dev->rcu, dmp_dev_free_rcu);
}

static struct dmp_dev *dmp_dev_create(struct mapped_device *md, dev_t devt,
				      const char *name)
{
	struct dmp_dev *dev;
	int cpu, r;

	dev = kzalloc(sizeof(*dev), GFP_KERNEL);
	if (!dev)
		return ERR_PTR(-ENOMEM);
	dev->pcpu = alloc_percpu(struct dmp_pcpu);
	if (!dev->pcpu) {
		kfree(dev);
		return ERR_PTR(-ENOMEM);
	}
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(dev->pcpu, cpu)->syncp);
	dmp_object_hold();
	dev->md = md;
	dev->devt = devt;
	dev->refs = 1;
	dev->node.read_raw = dmp_dev_read_raw;
	dev->node.hist_raw = dmp_dev_hist_raw;
	INIT_LIST_HEAD(&dev->targets);
	seqlock_init(&dev->node.base_lock);
	strscpy(dev->kname, dm_disk(md)->disk_name, sizeof(dev->kname));
	strscpy(dev->link, name, sizeof(dev->link));

	r = dmp_sysfs_add_dev(dev);	/* on failure, it has freed @dev */
	if (r)
		return ERR_PTR(r);

	write_seqlock(&dmp_all_lock);
	list_add_tail_rcu(&dev->list, &dmp_live);
	write_sequnlock(&dmp_all_lock);
	hash_add(dmp_devs, &dev->hash, devt);
	return dev;
}

/*
 * Called by the constructor of each dmp target @dt: the device's counters,
 * created with its sysfs directory for the first target of @md. @dt joins
 * the device's targets (dt->sdev, dt->stats, dt->ti->private set).
 */
struct dmp_dev *dmp_dev_get(struct mapped_device *md, struct dmp_target *dt)
{
	dev_t devt = disk_devt(dm_disk(md));
	char name[DM_NAME_LEN];
	struct dmp_dev *dev;

	/*
	 * Outside dmp_lock: this takes device-mapper's hash lock, under which
	 * some kernels (5.10) destroy tables, and so call dmp_dev_put().
	 */
	if (dm_copy_name_and_uuid(md, name, NULL))
		name[0] = '\0';

	mutex_lock(&dmp_lock);
	hash_for_each_possible(dmp_devs, dev, hash, devt) {
		if (dev->devt == devt) {
			dev->refs++;
			goto out;
		}
	}
	dev = dmp_dev_create(md, devt, name);
	if (IS_ERR(dev))
		goto unlock;
out:
	dt->sdev = dev;
	dt->stats = dev->pcpu;
	dmp_hist_link(dev, dt);
unlock:
	mutex_unlock(&dmp_lock);
	return dev;
}

/*
 * Called by the destructor of each dmp target. When the last one goes, no
 * bio is in flight any more: the counters move to dmp_retired and the sysfs
 * directory goes. Removing it waits for running sysfs reads, which take no
 * lock that a destructor may hold (see name_show()). It is done under
 * dmp_lock so that a new table of the same device cannot make its directory
 * before this one is gone.
 */
void dmp_dev_put(struct dmp_dev *dev, struct dmp_target *dt)
{
	mutex_lock(&dmp_lock);
	list_del(&dt->link);
	if (--dev->refs) {
		mutex_unlock(&dmp_lock);
		return;
	}
	hash_del(&dev->hash);
	write_seqlock(&dmp_all_lock);
	list_del_rcu(&dev->list);
	dmp_dev_add_to(dev, &dmp_retired);
	dmp_hist_retire(dev);
	write_sequnlock(&dmp_all_lock);
	dmp_sysfs_del_dev(dev);
	mutex_unlock(&dmp_lock);
}

void dmp_object_hold(void)
{
	atomic_inc(&dmp_objects);
}

void dmp_object_release(void)
{
	if (atomic_dec_and_test(&dmp_objects))
		wake_up(&dmp_objects_wait);
}

int dmp_stats_init(void)
{
	dmp_hist_init();
	return dmp_sysfs_init(dmp_all_read_raw, dmp_all_hist_raw);
}

void dmp_stats_exit(void)
{
	dmp_sysfs_exit();
	/* Releases may be delayed (CONFIG_DEBUG_KOBJECT_RELEASE). */
	wait_event(dmp_objects_wait, !atomic_read(&dmp_objects));
	rcu_barrier();
}
