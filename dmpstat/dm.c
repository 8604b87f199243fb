// SPDX-License-Identifier: GPL-2.0
/*
 * The device-mapper ioctl interface (/dev/mapper/control and
 * <linux/dm-ioctl.h>), what --attach/--detach and --histograms need of it,
 * so that dmpstat stays libc-only: tables read and loaded, simple commands
 * (status, suspend, resume, clear), target messages, and a DEVICE argument
 * resolved to its device-mapper name.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "dmpstat.h"
#include "dm.h"

#define CONTROL "/dev/mapper/control"
#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

static int ctl = -1;

void table_free(struct table *tb)
{
	for (size_t i = 0; i < tb->n; i++)
		free(tb->t[i].params);
	free(tb->t);
	tb->t = NULL;
	tb->n = 0;
}

bool table_eq(const struct table *a, const struct table *b)
{
	if (a->n != b->n)
		return false;
	for (size_t i = 0; i < a->n; i++)
		if (a->t[i].start != b->t[i].start || a->t[i].len != b->t[i].len ||
		    strcmp(a->t[i].type, b->t[i].type) ||
		    strcmp(a->t[i].params, b->t[i].params))
			return false;
	return true;
}

/* A zeroed ioctl buffer of `size` bytes addressed to device `name`. */
static struct dm_ioctl *dmi_new(size_t size, const char *name)
{
	struct dm_ioctl *io;

	if (size < sizeof(*io))
		size = sizeof(*io);
	io = xcalloc(1, size);
	io->version[0] = DM_VERSION_MAJOR;	/* minor 0: every 4.x kernel */
	io->data_size = (uint32_t)size;
	io->data_start = sizeof(*io);
	if (name)
		snprintf(io->name, sizeof(io->name), "%s", name);
	return io;
}

/*
 * Run cmd on *iop; for commands that return data (and carry nothing but the
 * header), retry with a buffer twice as large while the kernel says it was
 * too small. 0 or an errno value.
 */
static int dmi_run(unsigned long cmd, struct dm_ioctl **iop)
{
	struct dm_ioctl req = **iop;	/* the kernel rewrites the header */
	size_t size = req.data_size;

	for (;;) {
		struct dm_ioctl *big;

		if (ioctl(ctl, cmd, *iop) < 0)
			return errno;
		if (!((*iop)->flags & DM_BUFFER_FULL_FLAG))
			return 0;
		if (size > (1u << 28))
			return ENOBUFS;
		size *= 2;
		big = xcalloc(1, size);
		*big = req;
		big->data_size = (uint32_t)size;
		free(*iop);
		*iop = big;
	}
}

/* A simple command (status, suspend, resume, clear) on name. */
int dm_simple(unsigned long cmd, const char *name, uint32_t flags,
		     struct dm_ioctl *out)
{
	struct dm_ioctl *io = dmi_new(sizeof(*io), name);
	int e;

	io->flags = flags;
	e = dmi_run(cmd, &io);
	if (!e && out)
		*out = *io;
	free(io);
	return e;
}

/* The live (or inactive) table of name, as dmsetup table prints it. */
int get_table(const char *name, bool inactive, struct table *tb)
{
	struct dm_ioctl *io = dmi_new(16384, name);
	const char *data, *end;
	uint32_t off = 0;
	int e;

	io->flags = DM_STATUS_TABLE_FLAG | DM_SECURE_DATA_FLAG |
		    (inactive ? DM_QUERY_INACTIVE_TABLE_FLAG : 0);
	e = dmi_run(DM_TABLE_STATUS, &io);
	if (e) {
		free(io);
		return e;
	}
	data = (const char *)io + io->data_start;
	end = (const char *)io + io->data_size;
	tb->n = io->target_count;
	tb->t = xcalloc(tb->n, sizeof(*tb->t));
	for (size_t i = 0; i < tb->n; i++) {
		const struct dm_target_spec *sp;
		const char *p;
		size_t plen;

		if (data + off + sizeof(*sp) > end)
			goto bad;
		sp = (const struct dm_target_spec *)(data + off);
		p = (const char *)(sp + 1);
		plen = strnlen(p, (size_t)(end - p));
		if (p + plen >= end)
			goto bad;
		tb->t[i].start = sp->sector_start;
		tb->t[i].len = sp->length;
		memcpy(tb->t[i].type, sp->target_type, DM_MAX_TYPE_NAME);
		tb->t[i].type[DM_MAX_TYPE_NAME - 1] = '\0';
		tb->t[i].params = xstrdup(p);
		off = sp->next;
	}
	explicit_bzero(io, io->data_size);	/* a crypt key may be in it */
	free(io);
	return 0;
bad:
	free(io);
	table_free(tb);
	return EPROTO;
}

/* Load tb into the inactive slot of name. */
int load_table(const char *name, const struct table *tb, bool ro)
{
	size_t size = sizeof(struct dm_ioctl), off;
	struct dm_ioctl *io;
	int e;

	for (size_t i = 0; i < tb->n; i++)
		size += ALIGN8(sizeof(struct dm_target_spec) +
			       strlen(tb->t[i].params) + 1);
	io = dmi_new(size, name);
	io->target_count = (uint32_t)tb->n;
	io->flags = DM_SECURE_DATA_FLAG | (ro ? DM_READONLY_FLAG : 0);
	off = io->data_start;
	for (size_t i = 0; i < tb->n; i++) {
		struct dm_target_spec *sp = (void *)((char *)io + off);
		size_t sz = ALIGN8(sizeof(*sp) + strlen(tb->t[i].params) + 1);

		sp->sector_start = tb->t[i].start;
		sp->length = tb->t[i].len;
		memcpy(sp->target_type, tb->t[i].type, DM_MAX_TYPE_NAME);
		strcpy((char *)(sp + 1), tb->t[i].params);
		sp->next = (uint32_t)sz;
		off += sz;
	}
	e = dmi_run(DM_TABLE_LOAD, &io);
	explicit_bzero(io, size);
	free(io);
	return e;
}

/* Is the target type registered with device-mapper? */
bool target_registered(const char *type)
{
	struct dm_ioctl *io = dmi_new(16384, NULL);
	const char *data, *end;
	uint32_t off = 0;
	bool found = false;

	if (dmi_run(DM_LIST_VERSIONS, &io)) {
		free(io);
		return false;
	}
	data = (const char *)io + io->data_start;
	end = (const char *)io + io->data_size;
	while (data + off + sizeof(struct dm_target_versions) < end) {
		const struct dm_target_versions *v = (const void *)(data + off);

		if (!strncmp(v->name, type, (size_t)(end - v->name)))
			found = true;
		if (!v->next)
			break;
		off += v->next;
	}
	free(io);
	return found;
}

/* DEVICE as dmpstat accepts it -> its device-mapper name (out, DM_NAME_LEN). */
int dm_resolve(const char *arg, char *out)
{
	struct dm_ioctl st;
	const char *s = arg;
	struct stat sb;
	char path[64];
	unsigned int ma, mi;
	int e;

	if (!strncmp(s, "/dev/mapper/", 12))
		s += 12;
	if (*s == '/') {	/* /dev/dm-3, /dev/VG/LV: by device number */
		if (stat(s, &sb) || !S_ISBLK(sb.st_mode))
			return ENXIO;
		ma = major(sb.st_rdev);
		mi = minor(sb.st_rdev);
		goto by_dev;
	}
	if (strlen(s) >= DM_NAME_LEN)
		return ENXIO;
	e = dm_simple(DM_DEV_STATUS, s, 0, &st);
	if (e != ENXIO) {
		if (!e)
			snprintf(out, DM_NAME_LEN, "%s", st.name);
		return e;
	}
	/* dm-N: its number from sysfs */
	if (strncmp(s, "dm-", 3) || strspn(s + 3, "0123456789") != strlen(s + 3) ||
	    !s[3] || strlen(s) > 20)
		return ENXIO;
	snprintf(path, sizeof(path), "/sys/block/%s/dev", s);
	{
		FILE *f = fopen(path, "r");
		int ok = f && fscanf(f, "%u:%u", &ma, &mi) == 2;

		if (f)
			fclose(f);
		if (!ok)
			return ENXIO;
	}
by_dev:
	{
		struct dm_ioctl *io = dmi_new(sizeof(*io), NULL);

		/* the kernel's huge_encode_dev() */
		io->dev = (uint64_t)(mi & 0xff) | ((uint64_t)ma << 8) |
			  ((uint64_t)(mi & ~0xffu) << 12);
		e = dmi_run(DM_DEV_STATUS, &io);
		if (!e)
			snprintf(out, DM_NAME_LEN, "%s", io->name);
		free(io);
	}
	return e;
}

void dm_open(const char *opt)
{
	ctl = open(CONTROL, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		if (errno == EACCES || errno == EPERM)
			fatal("--%s needs root: cannot open %s: %s", opt, CONTROL,
			      strerror(errno));
		fatal("cannot open %s: %s (is device-mapper in this kernel?)",
		      CONTROL, strerror(errno));
	}
	{	/* every ioctl needs CAP_SYS_ADMIN: say so once */
		struct dm_ioctl *io = dmi_new(sizeof(*io), NULL);
		int e = dmi_run(DM_VERSION, &io);

		free(io);
		if (e == EACCES || e == EPERM)
			fatal("--%s needs root (CAP_SYS_ADMIN): %s", opt,
			      strerror(e));
		if (e)
			fatal("device-mapper does not answer on %s: %s",
			      CONTROL, strerror(e));
	}
}

void dm_close(void)
{
	close(ctl);
	ctl = -1;
}

int dm_message(const char *name, uint64_t sector, const char *msg)
{
	size_t len = strlen(msg) + 1;
	struct dm_ioctl *io = dmi_new(sizeof(*io) +
				      sizeof(struct dm_target_msg) + len, name);
	struct dm_target_msg *m = (void *)((char *)io + io->data_start);
	int e = 0;

	m->sector = sector;
	memcpy(m->message, msg, len);
	if (ioctl(ctl, DM_TARGET_MSG, io) < 0)
		e = errno;
	free(io);
	return e;
}
