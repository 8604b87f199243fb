// SPDX-License-Identifier: GPL-2.0
/*
 * dmp - the sysfs tree:
 *
 *   /sys/module/dmp/stat/            a kset; its uevents say SUBSYSTEM=dmp
 *   /sys/module/dmp/stat/all_devs/   all devices since the module loaded
 *   /sys/module/dmp/stat/dm-N/       one mapped device
 *   /sys/module/dmp/stat/<dm name>   symlink to dm-N
 *
 * Every read is computed from one snapshot of the counters. No show or store
 * takes a lock that a target's constructor or destructor holds.
 */
#include <linux/ctype.h>
#include <linux/kernel.h>
#include <linux/math64.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>

#include "dmp.h"

static struct kset *dmp_stat_kset;
static struct dmp_node *dmp_all;

enum dmp_value {
	DMP_V_READ_CNT,
	DMP_V_WRITE_CNT,
	DMP_V_TOTAL_CNT,
	DMP_V_READ_AVR,
	DMP_V_WRITE_AVR,
	DMP_V_TOTAL_AVR,
	DMP_V_DISCARD_CNT,
	DMP_V_WRITE_ZEROES_CNT,
	DMP_V_FLUSH_CNT,
	DMP_V_ERROR_CNT,
};

struct dmp_attr {
	struct kobj_attribute ka;
	enum dmp_value value;
};

static u64 dmp_avg(u64 bytes, u64 count)
{
	return count ? div64_u64(bytes, count) : 0;
}

static u64 dmp_value(const struct dmp_counters *s, enum dmp_value v)
{
	const u64 *c = s->c;

	switch (v) {
	case DMP_V_READ_CNT:
		return c[DMP_READS];
	case DMP_V_WRITE_CNT:
		return c[DMP_WRITES];
	case DMP_V_TOTAL_CNT:
		return c[DMP_READS] + c[DMP_WRITES];
	case DMP_V_READ_AVR:
		return dmp_avg(c[DMP_READ_BYTES], c[DMP_READS]);
	case DMP_V_WRITE_AVR:
		return dmp_avg(c[DMP_WRITE_BYTES], c[DMP_WRITES]);
	case DMP_V_TOTAL_AVR:
		return dmp_avg(c[DMP_READ_BYTES] + c[DMP_WRITE_BYTES],
			       c[DMP_READS] + c[DMP_WRITES]);
	case DMP_V_DISCARD_CNT:
		return c[DMP_DISCARDS];
	case DMP_V_WRITE_ZEROES_CNT:
		return c[DMP_WRITE_ZEROES];
	case DMP_V_FLUSH_CNT:
		return c[DMP_FLUSHES];
	case DMP_V_ERROR_CNT:
		return c[DMP_ERRORS];
	}
	return 0;
}

static struct dmp_node *to_node(struct kobject *kobj)
{
	return container_of(kobj, struct dmp_node, kobj);
}

static ssize_t dmp_value_show(struct kobject *kobj, struct kobj_attribute *ka,
			      char *buf)
{
	struct dmp_attr *a = container_of(ka, struct dmp_attr, ka);
	struct dmp_counters s;

	dmp_node_read(to_node(kobj), &s);
	return sysfs_emit(buf, "%llu\n", dmp_value(&s, a->value));
}

static ssize_t summary_show(struct kobject *kobj, struct kobj_attribute *ka,
			    char *buf)
{
	struct dmp_counters s;

	dmp_node_read(to_node(kobj), &s);
	return sysfs_emit(buf,
			  "read:\n\treqs: %llu\n\tavg size: %llu\n"
			  "write:\n\treqs: %llu\n\tavg size: %llu\n"
			  "total:\n\treqs: %llu\n\tavg size: %llu\n",
			  dmp_value(&s, DMP_V_READ_CNT),
			  dmp_value(&s, DMP_V_READ_AVR),
			  dmp_value(&s, DMP_V_WRITE_CNT),
			  dmp_value(&s, DMP_V_WRITE_AVR),
			  dmp_value(&s, DMP_V_TOTAL_CNT),
			  dmp_value(&s, DMP_V_TOTAL_AVR));
}

/* Every raw counter since the last reset, in the order of "dmsetup status". */
static ssize_t stat_show(struct kobject *kobj, struct kobj_attribute *ka,
			 char *buf)
{
	struct dmp_counters s;
	const u64 *c = s.c;

	dmp_node_read(to_node(kobj), &s);
	return sysfs_emit(buf, "%llu %llu %llu %llu %llu %llu %llu %llu %llu\n",
			  c[DMP_READS], c[DMP_READ_BYTES], c[DMP_WRITES],
			  c[DMP_WRITE_BYTES], c[DMP_DISCARDS],
			  c[DMP_DISCARD_BYTES], c[DMP_WRITE_ZEROES],
			  c[DMP_FLUSHES], c[DMP_ERRORS]);
}

static ssize_t reset_store(struct kobject *kobj, struct kobj_attribute *ka,
			   const char *buf, size_t count)
{
	unsigned int v;
	int r;

	r = kstrtouint(buf, 10, &v);
	if (r)
		return r;
	if (v != 1)
		return -EINVAL;
	dmp_node_reset(to_node(kobj));
	return count;
}

static ssize_t dmp_emit_row(char *buf, ssize_t n, const char *name,
			    const u64 *v, unsigned int nr)
{
	unsigned int i;

	n += sysfs_emit_at(buf, n, "%s", name);
	for (i = 0; i < nr; i++)
		n += sysfs_emit_at(buf, n, " %llu", v[i]);
	return n + sysfs_emit_at(buf, n, "\n");
}

/* The histograms (README.md, "Histograms"): bounds, counts and sums. */
static ssize_t histograms_show(struct kobject *kobj, struct kobj_attribute *ka,
			       char *buf)
{
	static const char *const dir[DMP_HIST_DIRS] = { "read", "write" };
	u64 bounds[DMP_LAT_BUCKETS];
	struct dmp_hist_data *d;
	char name[32];
	ssize_t n;
	int i;

	d = kmalloc(sizeof(*d), GFP_KERNEL);
	if (!d)
		return -ENOMEM;
	if (!dmp_node_read_hist(to_node(kobj), d)) {
		kfree(d);
		return sysfs_emit(buf, "state off\n");
	}
	n = sysfs_emit(buf, "state on\n");
	for (i = 0; i < DMP_LAT_BUCKETS - 1; i++)
		bounds[i] = 1ULL << i;
	n = dmp_emit_row(buf, n, "latency_bounds_us", bounds,
			 DMP_LAT_BUCKETS - 1);
	for (i = 0; i < DMP_SIZE_BUCKETS - 1; i++)
		bounds[i] = 512ULL << i;
	n = dmp_emit_row(buf, n, "size_bounds_bytes", bounds,
			 DMP_SIZE_BUCKETS - 1);
	for (i = 0; i < DMP_HIST_DIRS; i++) {
		snprintf(name, sizeof(name), "%s_latency", dir[i]);
		n = dmp_emit_row(buf, n, name, d->lat[i], DMP_LAT_BUCKETS);
		n += sysfs_emit_at(buf, n, "%s_latency_sum_ns %llu\n", dir[i],
				   d->lat_sum[i]);
	}
	for (i = 0; i < DMP_HIST_DIRS; i++) {
		snprintf(name, sizeof(name), "%s_size", dir[i]);
		n = dmp_emit_row(buf, n, name, d->size[i], DMP_SIZE_BUCKETS);
		n += sysfs_emit_at(buf, n, "%s_size_sum_bytes %llu\n", dir[i],
				   d->size_sum[i]);
	}
	kfree(d);
	return n;
}

/*
 * The current device-mapper name: it changes with "dmsetup rename". Reading
 * it takes device-mapper's hash lock, under which some kernels destroy
 * tables (5.10 removes a device's inactive table so): this read must not
 * hold back the removal of its own directory, so it gives up the active
 * reference that kobject_del() waits for, and holds the kobject and the
 * mapped device instead.
 */
static ssize_t name_show(struct kobject *kobj, struct kobj_attribute *ka,
			 char *buf)
{
	struct dmp_dev *dev = container_of(kobj, struct dmp_dev, node.kobj);
	struct kernfs_node *kn;
	struct mapped_device *md;
	char name[DM_NAME_LEN];
	ssize_t r = -ENODEV;

	kobject_get(kobj);
	kn = sysfs_break_active_protection(kobj, &ka->attr);
	md = dm_get_md(dev->devt);	/* NULL once it is being deleted */
	if (md) {
		if (md == dev->md && !dm_copy_name_and_uuid(md, name, NULL))
			r = sysfs_emit(buf, "%s\n", name);
		dm_put(md);
	}
	if (kn)
		sysfs_unbreak_active_protection(kn);
	kobject_put(kobj);
	return r;
}

#define DMP_VALUE_ATTR(_name, _value)					\
	static struct dmp_attr dmp_attr_##_name = {			\
		.ka = __ATTR(_name, 0444, dmp_value_show, NULL),	\
		.value = _value,					\
	}

DMP_VALUE_ATTR(read_cnt, DMP_V_READ_CNT);
DMP_VALUE_ATTR(write_cnt, DMP_V_WRITE_CNT);
DMP_VALUE_ATTR(total_cnt, DMP_V_TOTAL_CNT);
DMP_VALUE_ATTR(read_avr_bs, DMP_V_READ_AVR);
DMP_VALUE_ATTR(write_avr_bs, DMP_V_WRITE_AVR);
DMP_VALUE_ATTR(total_avr_bs, DMP_V_TOTAL_AVR);
DMP_VALUE_ATTR(discard_cnt, DMP_V_DISCARD_CNT);
DMP_VALUE_ATTR(write_zeroes_cnt, DMP_V_WRITE_ZEROES_CNT);
DMP_VALUE_ATTR(flush_cnt, DMP_V_FLUSH_CNT);
DMP_VALUE_ATTR(error_cnt, DMP_V_ERROR_CNT);
static struct kobj_attribute dmp_attr_summary = __ATTR_RO(summary);
static struct kobj_attribute dmp_attr_stat = __ATTR_RO(stat);
static struct kobj_attribute dmp_attr_histograms = __ATTR_RO(histograms);
static struct kobj_attribute dmp_attr_reset = __ATTR_WO(reset);
static struct kobj_attribute dmp_attr_name = __ATTR_RO(name);

static struct attribute *dmp_common_attrs[] = {
	&dmp_attr_read_cnt.ka.attr,
	&dmp_attr_write_cnt.ka.attr,
	&dmp_attr_total_cnt.ka.attr,
	&dmp_attr_read_avr_bs.ka.attr,
	&dmp_attr_write_avr_bs.ka.attr,
	&dmp_attr_total_avr_bs.ka.attr,
	&dmp_attr_discard_cnt.ka.attr,
	&dmp_attr_write_zeroes_cnt.ka.attr,
	&dmp_attr_flush_cnt.ka.attr,
	&dmp_attr_error_cnt.ka.attr,
	&dmp_attr_summary.attr,
	&dmp_attr_stat.attr,
	&dmp_attr_histograms.attr,
	&dmp_attr_reset.attr,
	NULL
};

static const struct attribute_group dmp_common_group = {
	.attrs = dmp_common_attrs,
};

static struct attribute *dmp_dev_attrs[] = {
	&dmp_attr_name.attr,
	NULL
};

static const struct attribute_group dmp_dev_group = {
	.attrs = dmp_dev_attrs,
};

static const struct attribute_group *dmp_all_groups[] = {
	&dmp_common_group,
	NULL
};

static const struct attribute_group *dmp_dev_groups[] = {
	&dmp_common_group,
	&dmp_dev_group,
	NULL
};

static void dmp_all_release(struct kobject *kobj)
{
	kfree(to_node(kobj));
	dmp_object_release();
}

static struct kobj_type dmp_all_ktype = {
	.release = dmp_all_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = dmp_all_groups,
};

static struct kobj_type dmp_dev_ktype = {
	.release = dmp_dev_release,
	.sysfs_ops = &kobj_sysfs_ops,
	.default_groups = dmp_dev_groups,
};

static const char *dmp_uevent_name(DMP_UEVENT_NAME_ARGS)
{
	return "dmp";
}

static const struct kset_uevent_ops dmp_uevent_ops = {
	.name = dmp_uevent_name,
};

/*
 * A symlink named after the device would clash with all_devs, or with the
 * directory of a device that has (or may later get) that kernel name.
 */
static bool dmp_link_name_ok(const char *name)
{
	const char *p;

	if (!*name || !strcmp(name, "all_devs"))
		return false;
	if (strncmp(name, "dm-", 3) || !name[3])
		return true;
	for (p = name + 3; *p; p++)
		if (!isdigit(*p))
			return true;
	return false;
}

/* On failure, @dev has been released. */
int dmp_sysfs_add_dev(struct dmp_dev *dev)
{
	struct kobject *kobj = &dev->node.kobj;
	int r;

	kobj->kset = dmp_stat_kset;
	r = kobject_init_and_add(kobj, &dmp_dev_ktype, NULL, "%s", dev->kname);
	if (r) {
		kobject_put(kobj);
		return r;
	}

	if (dmp_link_name_ok(dev->link)) {
		r = sysfs_create_link_nowarn(&dmp_stat_kset->kobj, kobj,
					     dev->link);
		dev->linked = !r;
	} else {
		r = -EEXIST;
	}
	if (r)
		pr_warn("dmp: %s: no symlink \"%s\" in stat/: %s\n", dev->kname,
			dev->link, r == -EEXIST ? "name taken" : "error");

	kobject_uevent(kobj, KOBJ_ADD);
	return 0;
}

void dmp_sysfs_del_dev(struct dmp_dev *dev)
{
	struct kobject *kobj = &dev->node.kobj;

	kobject_uevent(kobj, KOBJ_REMOVE);
	if (dev->linked)
		sysfs_remove_link(&dmp_stat_kset->kobj, dev->link);
	kobject_del(kobj);	/* waits for running shows but name_show() */
	kobject_put(kobj);
}

int dmp_sysfs_init(void (*all_read_raw)(struct dmp_node *,
					struct dmp_counters *),
		   struct dmp_hist_data *(*all_hist_raw)(struct dmp_node *,
							 struct dmp_hist_data *))
{
	int r;

	dmp_stat_kset = kset_create_and_add("stat", &dmp_uevent_ops,
					    &THIS_MODULE->mkobj.kobj);
	if (!dmp_stat_kset)
		return -ENOMEM;

	dmp_all = kzalloc(sizeof(*dmp_all), GFP_KERNEL);
	if (!dmp_all) {
		kset_unregister(dmp_stat_kset);
		return -ENOMEM;
	}
	dmp_object_hold();
	dmp_all->read_raw = all_read_raw;
	dmp_all->hist_raw = all_hist_raw;
	seqlock_init(&dmp_all->base_lock);
	dmp_all->kobj.kset = dmp_stat_kset;
	r = kobject_init_and_add(&dmp_all->kobj, &dmp_all_ktype, NULL,
				 "all_devs");
	if (r) {
		kobject_put(&dmp_all->kobj);
		kset_unregister(dmp_stat_kset);
		return r;
	}
	kobject_uevent(&dmp_all->kobj, KOBJ_ADD);
	return 0;
}

void dmp_sysfs_exit(void)
{
	kobject_put(&dmp_all->kobj);
	kset_unregister(dmp_stat_kset);
}
