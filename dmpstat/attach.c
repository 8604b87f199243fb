// SPDX-License-Identifier: GPL-2.0
/*
 * dmpstat --attach / --detach DEVICE...: swap the `linear` targets of a live
 * device-mapper device to `dmp` (same arguments) and back, the way dmsetup
 * and LVM change a table: load the new table into the inactive slot, check
 * it, suspend (flushing, with the filesystem frozen), resume (which swaps in
 * the new table).
 *
 * Through the device-mapper ioctl interface (/dev/mapper/control and
 * <linux/dm-ioctl.h>), so dmpstat stays libc-only. Safe by construction:
 *   - nothing is suspended until the new table is loaded and read back equal
 *     to what was meant; a failed load is cleared (the inactive slot is left
 *     empty, as it was: a device that already has an inactive table is refused);
 *   - after the suspend, any failure restores the table the device had and
 *     resumes it (recover()), then checks that it did.
 * No udev cookie is passed (event_nr 0): see README.md, "Live attach".
 *
 * Test hooks (DMPSTAT_FAULT): "load" adds a bogus argument to the new dmp or
 * linear lines, so that the kernel rejects the load; "suspend" fails right
 * after the suspend, "resume" right after the resume, to exercise recover().
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "dmpstat.h"

#define CONTROL "/dev/mapper/control"
#define ALIGN8(x) (((x) + 7) & ~(size_t)7)

struct target {
	uint64_t start, len;
	char type[DM_MAX_TYPE_NAME];
	char *params;
};

struct table {
	struct target *t;
	size_t n;
};

static int ctl = -1;
static const char *fault;

static void table_free(struct table *tb)
{
	for (size_t i = 0; i < tb->n; i++)
		free(tb->t[i].params);
	free(tb->t);
	tb->t = NULL;
	tb->n = 0;
}

static bool table_eq(const struct table *a, const struct table *b)
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

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* A zeroed ioctl buffer of `size` bytes addressed to device `name`. */
static struct dm_ioctl *dmi_new(size_t size, const char *name)
{
	struct dm_ioctl *io;

	if (size < sizeof(*io))
		size = sizeof(*io);
	io = calloc(1, size);
	if (!io)
		fatal("out of memory");
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
		big = calloc(1, size);
		if (!big)
			fatal("out of memory");
		*big = req;
		big->data_size = (uint32_t)size;
		free(*iop);
		*iop = big;
	}
}

/* A simple command (status, suspend, resume, clear) on name. */
static int dm_simple(unsigned long cmd, const char *name, uint32_t flags,
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
static int get_table(const char *name, bool inactive, struct table *tb)
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
	tb->t = calloc(tb->n ? tb->n : 1, sizeof(*tb->t));
	if (!tb->t)
		fatal("out of memory");
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
		tb->t[i].params = strdup(p);
		if (!tb->t[i].params)
			fatal("out of memory");
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
static int load_table(const char *name, const struct table *tb, bool ro)
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
static bool target_registered(const char *type)
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

/* Run MODPROBE dmp quietly (DMPSTAT_MODPROBE, default /sbin/modprobe). */
static void modprobe_dmp(void)
{
	const char *mp = getenv("DMPSTAT_MODPROBE");
	pid_t pid;
	int st;

	if (!mp || !*mp)
		mp = "/sbin/modprobe";
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(mp, mp, "dmp", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* DEVICE as dmpstat accepts it -> its device-mapper name (out, DM_NAME_LEN). */
static int resolve(const char *arg, char *out)
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

/*
 * After a failure once the device may have been suspended: drop any inactive
 * table, bring back the table `old` if the live one is not it, resume, and
 * check. true if the device is as it was.
 */
static bool recover(const char *name, const struct table *old, bool ro)
{
	struct table live = { 0 };
	struct dm_ioctl st;
	bool ok;
	int e;

	dm_simple(DM_TABLE_CLEAR, name, 0, NULL);
	e = get_table(name, false, &live);
	if (e) {
		fprintf(stderr, "dmpstat: %s: cannot read the live table: %s\n",
			name, strerror(e));
	} else if (!table_eq(&live, old)) {
		e = load_table(name, old, ro);
		if (e)
			fprintf(stderr, "dmpstat: %s: cannot reload the old "
				"table: %s\n", name, strerror(e));
		else if (!dm_simple(DM_DEV_STATUS, name, 0, &st) &&
			 !(st.flags & DM_SUSPEND_FLAG))
			dm_simple(DM_DEV_SUSPEND, name, DM_SUSPEND_FLAG, NULL);
	}
	table_free(&live);
	if (!dm_simple(DM_DEV_STATUS, name, 0, &st) &&
	    (st.flags & DM_SUSPEND_FLAG)) {
		e = dm_simple(DM_DEV_SUSPEND, name, 0, NULL);	/* resume */
		if (e)
			fprintf(stderr, "dmpstat: %s: cannot resume: %s\n",
				name, strerror(e));
	}
	ok = !get_table(name, false, &live) && table_eq(&live, old) &&
	     !dm_simple(DM_DEV_STATUS, name, 0, &st) &&
	     !(st.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG));
	table_free(&live);
	return ok;
}

/* Attach (or detach) one device. 0 done or nothing to do, 1 error. */
static int swap_one(const char *arg, bool attach)
{
	const char *from = attach ? "linear" : "dmp";
	const char *to = attach ? "dmp" : "linear";
	struct table old = { 0 }, want = { 0 }, got = { 0 };
	char name[DM_NAME_LEN];
	struct dm_ioctl st;
	size_t nswap = 0, nto = 0;
	double t0, t1, t2;
	bool ro;
	int e, rc = 1;

	e = resolve(arg, name);
	if (e == ENXIO) {
		fprintf(stderr, "dmpstat: unknown device '%s': no device-mapper "
			"device has that name or number\n", arg);
		return 1;
	}
	if (e) {
		fprintf(stderr, "dmpstat: %s: %s\n", arg, strerror(e));
		return 1;
	}
	if ((e = dm_simple(DM_DEV_STATUS, name, 0, &st))) {
		fprintf(stderr, "dmpstat: %s: %s\n", name, strerror(e));
		return 1;
	}
	ro = st.flags & DM_READONLY_FLAG;
	if (!(st.flags & DM_ACTIVE_PRESENT_FLAG)) {
		fprintf(stderr, "dmpstat: %s: has no live table: not touched\n",
			name);
		return 1;
	}
	if (st.flags & DM_SUSPEND_FLAG) {
		fprintf(stderr, "dmpstat: %s: is suspended (by someone else): "
			"not touched\n", name);
		return 1;
	}
	if (st.flags & DM_INACTIVE_PRESENT_FLAG) {
		fprintf(stderr, "dmpstat: %s: already has an inactive table "
			"loaded (another tool at work?): not touched\n", name);
		return 1;
	}
	if ((e = get_table(name, false, &old))) {
		fprintf(stderr, "dmpstat: %s: cannot read its table: %s\n",
			name, strerror(e));
		return 1;
	}
	want.n = old.n;
	want.t = calloc(old.n ? old.n : 1, sizeof(*want.t));
	if (!want.t)
		fatal("out of memory");
	for (size_t i = 0; i < old.n; i++) {
		want.t[i] = old.t[i];
		want.t[i].params = strdup(old.t[i].params);
		if (!want.t[i].params)
			fatal("out of memory");
		if (!strcmp(old.t[i].type, from)) {
			snprintf(want.t[i].type, DM_MAX_TYPE_NAME, "%s", to);
			nswap++;
		} else if (!strcmp(old.t[i].type, to)) {
			nto++;
		}
	}
	if (nswap && fault && !strcmp(fault, "load"))
		for (size_t i = 0; i < want.n; i++)
			if (!strcmp(want.t[i].type, to) && strcmp(old.t[i].type, to)) {
				char *p = malloc(strlen(want.t[i].params) + 8);

				if (!p)
					fatal("out of memory");
				sprintf(p, "%s bogus", want.t[i].params);
				free(want.t[i].params);
				want.t[i].params = p;
			}
	if (!nswap) {
		if (nto)
			printf("%s: already %s (%zu %s target%s): nothing to do\n",
			       name, attach ? "attached" : "detached", nto, to,
			       nto == 1 ? "" : "s");
		else
			printf("%s: no %s target (table: %s%s): nothing to do\n",
			       name, from, old.n ? old.t[0].type : "empty",
			       old.n > 1 ? ", ..." : "");
		flush_stdout();
		rc = 0;
		goto out;
	}
	if (attach && !target_registered("dmp")) {
		modprobe_dmp();
		if (!target_registered("dmp")) {
			fprintf(stderr, "dmpstat: %s: not attached: the dmp target "
				"is not available and 'modprobe dmp' did not load "
				"it (is the dmp module installed for this kernel?); "
				"the device is unchanged\n", name);
			goto out;
		}
	}

	/* 1. load the new table inactive, and check it */
	e = load_table(name, &want, ro);
	if (!e)
		e = get_table(name, true, &got);
	if (!e && !table_eq(&got, &want))
		e = EILSEQ;
	if (e) {
		dm_simple(DM_TABLE_CLEAR, name, 0, NULL);
		fprintf(stderr, "dmpstat: %s: not %s: loading the new table "
			"failed: %s%s; the device is unchanged\n", name,
			attach ? "attached" : "detached",
			e == EILSEQ ? "the kernel read it back different" :
			strerror(e),
			e == EINVAL ? " (the kernel log says why: dmesg | grep "
			"device-mapper)" : "");
		goto out;
	}

	/* 2. suspend (flush, freeze the filesystem), 3. resume: the swap */
	t0 = now();
	e = dm_simple(DM_DEV_SUSPEND, name, DM_SUSPEND_FLAG, NULL);
	if (!e && fault && !strcmp(fault, "suspend"))
		e = EIO;
	if (e) {
		fprintf(stderr, "dmpstat: %s: not %s: suspend failed: %s\n", name,
			attach ? "attached" : "detached", strerror(e));
		goto restore;
	}
	t1 = now();
	e = dm_simple(DM_DEV_SUSPEND, name, 0, &st);
	t2 = now();
	if (!e && fault && !strcmp(fault, "resume"))
		e = EIO;
	if (e) {
		fprintf(stderr, "dmpstat: %s: not %s: resume failed: %s\n", name,
			attach ? "attached" : "detached", strerror(e));
		goto restore;
	}
	table_free(&got);
	e = get_table(name, false, &got);
	if (e || !table_eq(&got, &want) || (st.flags & DM_SUSPEND_FLAG)) {
		fprintf(stderr, "dmpstat: %s: not %s: the live table is not the "
			"new one after the resume\n", name,
			attach ? "attached" : "detached");
		goto restore;
	}
	printf("%s: %s: %zu %s target%s now %s (I/O paused %.1f ms: "
	       "suspend %.1f ms, resume %.1f ms)\n", name,
	       attach ? "attached" : "detached", nswap, from,
	       nswap == 1 ? "" : "s", to, (t2 - t0) * 1e3, (t1 - t0) * 1e3,
	       (t2 - t1) * 1e3);
	flush_stdout();
	rc = 0;
	goto out;

restore:
	if (recover(name, &old, ro))
		fprintf(stderr, "dmpstat: %s: restored: the old table is live "
			"and the device resumed\n", name);
	else
		fprintf(stderr, "dmpstat: %s: COULD NOT RESTORE the device: "
			"check 'dmsetup info %s' and 'dmsetup table %s'\n",
			name, name, name);
out:
	table_free(&old);
	table_free(&want);
	table_free(&got);
	return rc;
}

int attach_main(bool attach, int n, char *const *devs)
{
	int rc = 0;

	fault = getenv("DMPSTAT_FAULT");
	ctl = open(CONTROL, O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		if (errno == EACCES || errno == EPERM)
			fatal("--%s needs root: cannot open %s: %s",
			      attach ? "attach" : "detach", CONTROL,
			      strerror(errno));
		fatal("cannot open %s: %s (is device-mapper in this kernel?)",
		      CONTROL, strerror(errno));
	}
	{	/* every ioctl needs CAP_SYS_ADMIN: say so once */
		struct dm_ioctl *io = dmi_new(sizeof(*io), NULL);
		int e = dmi_run(DM_VERSION, &io);

		free(io);
		if (e == EACCES || e == EPERM)
			fatal("--%s needs root (CAP_SYS_ADMIN): %s",
			      attach ? "attach" : "detach", strerror(e));
		if (e)
			fatal("device-mapper does not answer on %s: %s",
			      CONTROL, strerror(e));
	}
	for (int i = 0; i < n; i++)
		if (swap_one(devs[i], attach))
			rc = 1;
	close(ctl);
	return rc;
}
