/* SPDX-License-Identifier: GPL-2.0 */
/* dm.c: the device-mapper ioctls of --attach/--detach and --histograms. */
#ifndef DMPSTAT_DM_H
#define DMPSTAT_DM_H

#include <linux/dm-ioctl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>	/* the DM_* commands are _IOWR()s */

/* One target of a table, as dmsetup table prints it. */
struct target {
	uint64_t start, len;
	char type[DM_MAX_TYPE_NAME];
	char *params;
};

struct table {
	struct target *t;
	size_t n;
};

/* Open /dev/mapper/control, or end with a message for option --opt. */
void dm_open(const char *opt);
void dm_close(void);

void table_free(struct table *tb);
bool table_eq(const struct table *a, const struct table *b);
/* these return 0 or an errno value */
int dm_simple(unsigned long cmd, const char *name, uint32_t flags,
	      struct dm_ioctl *out);
int get_table(const char *name, bool inactive, struct table *tb);
int load_table(const char *name, const struct table *tb, bool ro);
bool target_registered(const char *type);
/* DEVICE as dmpstat accepts it -> its device-mapper name (out, DM_NAME_LEN);
 * ENXIO: no such device */
int dm_resolve(const char *arg, char *out);
/* dmsetup message NAME SECTOR MSG */
int dm_message(const char *name, uint64_t sector, const char *msg);

#endif
