// SPDX-License-Identifier: GPL-2.0
/*
 * dmp - device-mapper proxy: a pass-through target, like linear, that
 * counts the requests going through it.
 *
 * Table line: <start> <length> dmp <device> [<offset>]
 */
#include <linux/module.h>
#include <linux/slab.h>

#include "dmp.h"
#include "dmp_version.h"

/* ti->private, without the DMP_HIST_ON bit */
static struct dmp_target *to_dt(struct dm_target *ti)
{
	return dmp_dt((unsigned long)READ_ONCE(ti->private));
}

static int dmp_ctr(struct dm_target *ti, unsigned int argc, char **argv)
{
	struct dmp_target *dt;
	struct dmp_dev *sdev;
	unsigned long long start = 0;
	sector_t size;
	int r;

	if (argc < 1 || argc > 2) {
		ti->error = "Invalid argument count: <device> [<offset>]";
		return -EINVAL;
	}
	if (argc == 2 &&
	    (kstrtoull(argv[1], 10, &start) || start != (sector_t)start)) {
		ti->error = "Invalid device sector";
		return -EINVAL;
	}

	dt = kzalloc(sizeof(*dt), GFP_KERNEL);
	if (!dt) {
		ti->error = "Cannot allocate context";
		return -ENOMEM;
	}

	r = dm_get_device(ti, argv[0], dm_table_get_mode(ti->table), &dt->dev);
	if (r) {
		ti->error = "Device lookup failed";
		goto bad;
	}

	size = dmp_bdev_sectors(dt->dev->bdev);
	if (start > size || ti->len > size - start) {
		ti->error = "Device too small for target";
		r = -EINVAL;
		goto bad_dev;
	}
	dt->start = start;

	ti->num_flush_bios = 1;
	ti->num_discard_bios = 1;
	ti->num_secure_erase_bios = 1;
	ti->num_write_zeroes_bios = 1;
	dmp_set_write_same_bios(ti);
	ti->per_io_data_size = sizeof(struct dmp_bio);

	/* sets dt->sdev, dt->stats and ti->private */
	dt->ti = ti;
	sdev = dmp_dev_get(dm_table_get_md(ti->table), dt);
	if (IS_ERR(sdev)) {
		ti->error = "Cannot create statistics";
		r = PTR_ERR(sdev);
		goto bad_dev;
	}
	return 0;

bad_dev:
	dm_put_device(ti, dt->dev);
bad:
	kfree(dt);
	return r;
}

static void dmp_dtr(struct dm_target *ti)
{
	struct dmp_target *dt = to_dt(ti);

	dmp_dev_put(dt->sdev, dt);
	dm_put_device(ti, dt->dev);
	kfree(dt);
}

static int dmp_map(struct dm_target *ti, struct bio *bio)
{
	struct dmp_target *dt = to_dt(ti);

	bio_set_dev(bio, dt->dev->bdev);
	if (bio_sectors(bio))
		bio->bi_iter.bi_sector = dt->start +
			dm_target_offset(ti, bio->bi_iter.bi_sector);
	dmp_count_bio(dt->stats, bio);
	/* histograms off: one load and one branch (a tail call when on) */
	if (unlikely((unsigned long)READ_ONCE(ti->private) & DMP_HIST_ON))
		return dmp_hist_map(dt, bio);
	return DM_MAPIO_REMAPPED;
}

/*
 * The completion of a bio that failed, or of any bio while the histograms
 * are on. Not failures: an operation the device below lacks (callers such
 * as blkdev_issue_zeroout() fall back) and a REQ_NOWAIT bio asked to retry.
 */
static noinline __noclone int dmp_end_slow(struct dm_target *ti,
					   struct bio *bio, blk_status_t error)
{
	unsigned long private = (unsigned long)READ_ONCE(ti->private);
	struct dmp_target *dt = dmp_dt(private);

	if (private & DMP_HIST_ON)
		dmp_hist_end(dt, bio);
	if (error && error != BLK_STS_NOTSUPP && error != BLK_STS_AGAIN)
		dmp_count_error(dt->stats);
	return DM_ENDIO_DONE;
}

/* A good completion, histograms off: two loads and two branches. */
static int dmp_end_io(struct dm_target *ti, struct bio *bio,
		      blk_status_t *error)
{
	if (unlikely((unsigned long)READ_ONCE(ti->private) & DMP_HIST_ON) ||
	    unlikely(*error))
		return dmp_end_slow(ti, bio, *error);
	return DM_ENDIO_DONE;
}

static void dmp_status(struct dm_target *ti, status_type_t type,
		       unsigned int status_flags, char *result,
		       unsigned int maxlen)
{
	struct dmp_target *dt = to_dt(ti);
	struct dmp_counters s;
	unsigned int sz = 0;

	switch (type) {
	case STATUSTYPE_INFO:
		dmp_node_read(&dt->sdev->node, &s);
		DMEMIT("%llu %llu %llu %llu %llu %llu %llu %llu %llu",
		       s.c[DMP_READS], s.c[DMP_READ_BYTES],
		       s.c[DMP_WRITES], s.c[DMP_WRITE_BYTES],
		       s.c[DMP_DISCARDS], s.c[DMP_DISCARD_BYTES],
		       s.c[DMP_WRITE_ZEROES], s.c[DMP_FLUSHES],
		       s.c[DMP_ERRORS]);
		break;
	case STATUSTYPE_TABLE:
		DMEMIT("%s %llu", dt->dev->name, (unsigned long long)dt->start);
		break;
	default:
		if (DMP_HAVE_STATUS_IMA && type == STATUSTYPE_IMA) {
			DMEMIT_TARGET_NAME_VERSION(ti->type);
			DMEMIT(",device_name=%s,start=%llu;", dt->dev->name,
			       (unsigned long long)dt->start);
		}
		break;
	}
}

static int dmp_message(struct dm_target *ti, unsigned int argc, char **argv,
		       char *result, unsigned int maxlen)
{
	struct dmp_target *dt = to_dt(ti);

	if (argc == 2 && !strcmp(argv[0], "histograms")) {
		if (!strcmp(argv[1], "on") || !strcmp(argv[1], "off"))
			return dmp_hist_switch(dt->sdev, argv[1][1] == 'n');
		return -EINVAL;
	}
	if (argc != 1 || (strcmp(argv[0], "clear_stats") &&
			  strcmp(argv[0], "reset")))
		return -EINVAL;
	dmp_node_reset(&dt->sdev->node);
	return 0;
}

static int dmp_prepare_ioctl(struct dm_target *ti, struct block_device **bdev
			     DMP_PREPARE_IOCTL_EXTRA_ARGS)
{
	struct dmp_target *dt = to_dt(ti);
	struct dm_dev *dev = dt->dev;

	*bdev = dev->bdev;
	/* Only pass ioctls through if the device sizes match exactly. */
	if (dt->start || ti->len != dmp_bdev_sectors(dev->bdev))
		return 1;
	return 0;
}

static int dmp_iterate_devices(struct dm_target *ti,
			       iterate_devices_callout_fn fn, void *data)
{
	struct dmp_target *dt = to_dt(ti);

	return fn(ti, dt->dev, dt->start, ti->len, data);
}

static struct target_type dmp_target = {
	.name = "dmp",
	.version = { DMP_VERSION_MAJOR, DMP_VERSION_MINOR, DMP_VERSION_PATCH },
	.features = DMP_TARGET_FEATURES,
	.module = THIS_MODULE,
	.ctr = dmp_ctr,
	.dtr = dmp_dtr,
	.map = dmp_map,
	.end_io = dmp_end_io,
	.status = dmp_status,
	.message = dmp_message,
	.prepare_ioctl = dmp_prepare_ioctl,
	.iterate_devices = dmp_iterate_devices,
};

static int __init dmp_init(void)
{
	int r;

	r = dmp_stats_init();
	if (r)
		return r;
	r = dm_register_target(&dmp_target);
	if (r) {
		DMERR("register failed %d", r);
		dmp_stats_exit();
	}
	return r;
}

static void __exit dmp_exit(void)
{
	dm_unregister_target(&dmp_target);
	dmp_stats_exit();
}

module_init(dmp_init);
module_exit(dmp_exit);

MODULE_DESCRIPTION(DM_NAME " proxy target that counts requests");
MODULE_AUTHOR("dmp developers");
MODULE_LICENSE("GPL");
MODULE_VERSION(DMP_VERSION);
