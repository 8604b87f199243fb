/* SPDX-License-Identifier: GPL-2.0 */
/*
 * dmp - every difference between the kernels dmp supports (Debian's 5.10 to
 * the newest) is handled here. Features are tested by the macros the kernel
 * defines where it has one, otherwise by the DMP_HAVE_* flags that Kbuild
 * sets from the kernel's headers. No kernel version is compared.
 */
#ifndef DMP_COMPAT_H
#define DMP_COMPAT_H

#include <linux/blkdev.h>
#include <linux/device-mapper.h>
#include <linux/kobject.h>
#include <linux/u64_stats_sync.h>

/* Target features: those of linear that this kernel knows. */
#ifndef DM_TARGET_NOWAIT
#define DM_TARGET_NOWAIT 0
#endif
#ifndef DM_TARGET_PASSES_CRYPTO
#define DM_TARGET_PASSES_CRYPTO 0
#endif
#ifndef DM_TARGET_ATOMIC_WRITES
#define DM_TARGET_ATOMIC_WRITES 0
#endif
#define DMP_TARGET_FEATURES (DM_TARGET_PASSES_INTEGRITY | DM_TARGET_NOWAIT | \
			     DM_TARGET_PASSES_CRYPTO | DM_TARGET_ATOMIC_WRITES)

/* STATUSTYPE_IMA and its helper came in 5.15. */
#ifdef DMEMIT_TARGET_NAME_VERSION
#define DMP_HAVE_STATUS_IMA 1
#else
#define DMP_HAVE_STATUS_IMA 0
#define STATUSTYPE_IMA (-1)
#define DMEMIT_TARGET_NAME_VERSION(y) do { } while (0)
#endif

/* REQ_OP_WRITE_SAME went away in 5.18. */
#ifdef DMP_HAVE_WRITE_SAME
#define DMP_SLOT_WRITE_SAME DMP_SLOT(REQ_OP_WRITE_SAME)
static inline void dmp_set_write_same_bios(struct dm_target *ti)
{
	ti->num_write_same_bios = 1;
}
#else
#define DMP_SLOT_WRITE_SAME (-1)
static inline void dmp_set_write_same_bios(struct dm_target *ti)
{
}
#endif

/* bdev_nr_sectors() came in 5.16; bd_inode went in 6.10. */
#ifdef DMP_HAVE_BDEV_NR_SECTORS
#define dmp_bdev_sectors(bdev) bdev_nr_sectors(bdev)
#else
#define dmp_bdev_sectors(bdev) (i_size_read((bdev)->bd_inode) >> SECTOR_SHIFT)
#endif

/* prepare_ioctl got the ioctl and a "forward" flag in 6.15. */
#ifdef DMP_HAVE_IOCTL_FORWARD
#define DMP_PREPARE_IOCTL_EXTRA_ARGS \
	, unsigned int cmd, unsigned long arg, bool *forward
#else
#define DMP_PREPARE_IOCTL_EXTRA_ARGS
#endif

/*
 * kset_uevent_ops callbacks lost their kset argument in 5.17 and took a
 * const kobject in 6.2.
 */
#if defined(DMP_HAVE_UEVENT_CONST_KOBJ)
#define DMP_UEVENT_NAME_ARGS const struct kobject *kobj
#elif defined(DMP_HAVE_UEVENT_KSET)
#define DMP_UEVENT_NAME_ARGS struct kset *kset, struct kobject *kobj
#else
#define DMP_UEVENT_NAME_ARGS struct kobject *kobj
#endif

/*
 * Readers of u64_stats_sync: the _irq variants (for writers in interrupt
 * context on 32-bit uniprocessor kernels) went away in 6.2, when the plain
 * ones took over their job.
 */
#ifdef DMP_HAVE_U64_STATS_FETCH_IRQ
#define dmp_u64_stats_fetch_begin(syncp) u64_stats_fetch_begin_irq(syncp)
#define dmp_u64_stats_fetch_retry(syncp, start) \
	u64_stats_fetch_retry_irq(syncp, start)
#else
#define dmp_u64_stats_fetch_begin(syncp) u64_stats_fetch_begin(syncp)
#define dmp_u64_stats_fetch_retry(syncp, start) \
	u64_stats_fetch_retry(syncp, start)
#endif

#endif
