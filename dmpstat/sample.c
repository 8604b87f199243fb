// SPDX-License-Identifier: GPL-2.0
/*
 * One sample: every directory of /sys/module/dmp/stat (its `stat` and `name`
 * files, and `histograms` when asked), and the block layer's counters of the same dm-N from one read of
 * /proc/diskstats. Files are opened relative to the stat directory (openat),
 * the devices sorted once, and diskstats matched by a merge: the cost is
 * linear in the number of devices (plus the sort).
 *
 * A device that comes or goes while it is read is left out of the sample:
 * ENOENT or ENODEV from its files, its directory gone, or its directory there
 * without its files (the kernel makes a device's directory before its files
 * and removes the files before the directory). A file that is there but
 * malformed ends dmpstat with a message naming the file, and so does
 * all_devs/stat missing (a module older than this dmpstat). A module without
 * all_devs/histograms predates the histograms: no device has any; with it,
 * a device's `histograms` missing is one more sign of the device coming or
 * going.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dmpstat.h"

#define STAT_DIR "/sys/module/dmp/stat"
#define SMALL_MAX 511		/* stat, name: a line */
#define HIST_MAX 65536		/* histograms: a few KiB */

int dev_cmp(const void *a, const void *b)
{
	long x = ((const struct dev *)a)->minor;
	long y = ((const struct dev *)b)->minor;

	if (x == y)
		return 0;
	if (x == ALL_DEVS_MINOR)
		return 1;
	if (y == ALL_DEVS_MINOR)
		return -1;
	return x < y ? -1 : 1;
}

static void src_root(const struct source *src, unsigned int k, char *buf,
		     size_t sz)
{
	if (src->test_seq)
		snprintf(buf, sz, "%s/%u", src->root, k);
	else
		snprintf(buf, sz, "%s", src->root);
}

/* A file's content, NUL-terminated, in a buffer that grows as needed. */
struct fbuf {
	char *p;
	size_t len, cap;
};

/* The one buffer every file of a sample is read into, then parsed. */
static struct fbuf fb;

/*
 * Read the file rel (relative to dfd, or a path with AT_FDCWD) whole into
 * fb; 0, an errno value, or EFBIG if it holds more than max bytes (a file
 * that is malformed that way is not read to its end).
 */
static int read_file(int dfd, const char *rel, size_t max)
{
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	fb.len = 0;
	for (;;) {
		ssize_t r;

		if (fb.cap - fb.len < 1024) {
			fb.cap = fb.cap ? fb.cap * 2 : 16384;
			fb.p = xrealloc(fb.p, fb.cap, 1);
		}
		r = read(fd, fb.p + fb.len, fb.cap - fb.len - 1);
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		fb.len += (size_t)r;
		if (fb.len > max) {
			close(fd);
			return EFBIG;
		}
	}
	close(fd);
	fb.p[fb.len] = '\0';
	return 0;
}

static bool gone(int e)
{
	return e == ENOENT || e == ENODEV;
}

/*
 * A device left out of a sample because it comes or goes; with the test hook
 * DMPSTAT_TRACE=1 in the environment, say so on stderr (the storm case
 * tests/dmpstat/008 counts these lines to know it met each window).
 */
static bool left_out(const char *rel, const char *why)
{
	static int trace = -1;

	if (trace < 0) {
		const char *t = getenv("DMPSTAT_TRACE");

		trace = t && !strcmp(t, "1");
	}
	if (trace)
		fprintf(stderr, "dmpstat: trace: %s: %s, left out\n", rel, why);
	return false;
}

/* Read one file of entry ent into fb; false if the device went away. */
static bool read_dev_file(int dfd, const char *base, const char *ent,
			  const char *file, size_t max)
{
	char rel[KNAME_MAX + 16];
	struct stat st;
	int e;

	snprintf(rel, sizeof(rel), "%s/%s", ent, file);
	e = read_file(dfd, rel, max);
	if (!e)
		return true;
	if (gone(e) && fstatat(dfd, ent, &st, AT_SYMLINK_NOFOLLOW))
		return left_out(rel, "directory gone");
	if (e == ENODEV)
		return left_out(rel, "being removed");
	if (e == EFBIG)
		fatal("%s/%s: malformed (too long)", base, rel);
	/* a device's directory without its files: appearing or going */
	if (e == ENOENT && strcmp(ent, ALL_DEVS))
		return left_out(rel, "directory without this file");
	if (e == ENOENT)
		fatal("%s/%s: missing (is the dmp module older than this dmpstat?)",
		      base, rel);
	fatal("%s/%s: %s", base, rel, strerror(e));
}

static struct dev *new_dev(struct sample *s)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 64;
		s->dev = xrealloc(s->dev, s->cap, sizeof(*s->dev));
	}
	return &s->dev[s->n];
}

static bool is_dir(int dfd, const struct dirent *de)
{
	struct stat st;

	if (de->d_type == DT_DIR)
		return true;
	if (de->d_type != DT_UNKNOWN)
		return false;
	return !fstatat(dfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) &&
	       S_ISDIR(st.st_mode);
}

/* The histograms of entry ent into d->hist; false if the device went away. */
static bool read_hist(int dfd, const char *base, const char *ent,
		      struct dev *d)
{
	static struct hist_file hf;
	const char *why;

	if (!read_dev_file(dfd, base, ent, "histograms", HIST_MAX))
		return false;
	if (parse_histograms(fb.p, fb.len, &hf, &why))
		fatal("%s/%s/histograms: malformed (%s)", base, ent, why);
	d->hist = hf.on ? hists_new(&hf) : NULL;
	return true;
}

static void read_devices(const struct source *src, struct sample *s,
			 const char *base)
{
	DIR *dir = opendir(base);
	struct dirent *de;
	struct stat st;
	bool hist;
	int dfd;

	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR) {
			s->loaded = false;
			s->hist_files = false;
			return;
		}
		fatal("%s: %s", base, strerror(errno));
	}
	s->loaded = true;
	dfd = dirfd(dir);
	hist = src->hist && !fstatat(dfd, ALL_DEVS "/histograms", &st, 0);
	s->hist_files = hist;
	while ((errno = 0, de = readdir(dir))) {
		struct dev *d;
		const char *why;
		long minor;

		if (!strcmp(de->d_name, ALL_DEVS))
			minor = ALL_DEVS_MINOR;
		else if (parse_kname(de->d_name, &minor))
			continue;
		if (!is_dir(dfd, de))
			continue;
		if (strlen(de->d_name) >= sizeof(d->kname))
			continue;	/* not a dm-N of 31 bits */
		d = new_dev(s);
		memcpy(d->kname, de->d_name, strlen(de->d_name) + 1);
		d->minor = minor;
		d->name[0] = '\0';
		d->has_disk = false;
		d->hist = NULL;
		if (!read_dev_file(dfd, base, de->d_name, "stat", SMALL_MAX))
			continue;
		if (parse_dmp_stat(fb.p, fb.len, d->c, &why))
			fatal("%s/%s/stat: malformed (%s)", base, de->d_name, why);
		if (minor != ALL_DEVS_MINOR) {
			if (!read_dev_file(dfd, base, de->d_name, "name",
					   SMALL_MAX))
				continue;
			if (parse_name(fb.p, fb.len, d->name, sizeof(d->name),
				       &why))
				fatal("%s/%s/name: malformed (%s)", base,
				      de->d_name, why);
		}
		if (hist && !read_hist(dfd, base, de->d_name, d))
			continue;
		s->n++;
	}
	if (errno)
		fatal("%s: %s", base, strerror(errno));
	closedir(dir);
	if (s->n)
		qsort(s->dev, s->n, sizeof(*s->dev), dev_cmp);
}

struct disk_ent {
	long minor;
	struct disk_stats d;
};

struct disk_vec {
	struct disk_ent *e;
	size_t n, cap;
};

static void disk_add(void *arg, long minor, const struct disk_stats *d)
{
	struct disk_vec *v = arg;

	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->e = xrealloc(v->e, v->cap, sizeof(*v->e));
	}
	v->e[v->n].minor = minor;
	v->e[v->n].d = *d;
	v->n++;
}

static int disk_cmp(const void *a, const void *b)
{
	long x = ((const struct disk_ent *)a)->minor;
	long y = ((const struct disk_ent *)b)->minor;

	return x < y ? -1 : x > y;
}

/* Without /proc/diskstats: /sys/block/dm-N/stat, one device at a time. */
static void read_block_stats(struct sample *s, const char *root)
{
	char path[PATH_MAX];
	size_t i;

	for (i = 0; i < s->n; i++) {
		struct dev *d = &s->dev[i];
		const char *why;
		int e;

		if (d->minor == ALL_DEVS_MINOR)
			continue;
		snprintf(path, sizeof(path), "%s/sys/block/%s/stat", root,
			 d->kname);
		e = read_file(AT_FDCWD, path, 1023);
		if (gone(e))
			continue;
		if (e)
			fatal("%s: %s", path, e == EFBIG ? "malformed (too long)"
							 : strerror(e));
		if (parse_block_stat(fb.p, fb.len, &d->disk, &why))
			fatal("%s: malformed (%s)", path, why);
		d->has_disk = true;
	}
}

static void read_disks(struct sample *s, const char *root)
{
	static struct disk_vec v;
	char path[PATH_MAX];
	const char *why;
	size_t i, j;
	int e;

	snprintf(path, sizeof(path), "%s/proc/diskstats", root);
	e = read_file(AT_FDCWD, path, SIZE_MAX / 2);
	if (e == ENOENT) {
		read_block_stats(s, root);
		return;
	}
	if (e)
		fatal("%s: %s", path, strerror(e));
	v.n = 0;
	if (parse_diskstats(fb.p, fb.len, disk_add, &v, &why))
		fatal("%s: malformed (%s)", path, why);
	if (v.n)
		qsort(v.e, v.n, sizeof(*v.e), disk_cmp);
	/* both sorted by minor (all_devs last, and never in diskstats) */
	for (i = 0, j = 0; i < s->n && j < v.n;) {
		struct dev *d = &s->dev[i];

		if (d->minor == ALL_DEVS_MINOR || d->minor < v.e[j].minor) {
			i++;
		} else if (d->minor > v.e[j].minor) {
			j++;
		} else {
			d->has_disk = true;
			d->disk = v.e[j].d;
			i++;
			j++;
		}
	}
}

static void read_clock(struct sample *s, const char *root)
{
	char path[PATH_MAX], *end;
	const char *why = "not a number";
	double t;
	int e;

	snprintf(path, sizeof(path), "%s/clock", root);
	e = read_file(AT_FDCWD, path, 63);
	if (e)
		fatal("%s: %s", path, strerror(e));
	t = strtod(fb.p, &end);
	if (end == fb.p || (*end && *end != '\n') || !(t >= 0 && t < 1e12))
		fatal("%s: malformed (%s)", path, why);
	s->mono = t;
	s->wall.tv_sec = (time_t)t;
	s->wall.tv_nsec = (long)((t - (double)s->wall.tv_sec) * 1e9);
}

static void sample_clear(struct sample *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->dev[i].hist);
	s->n = 0;
}

void sample_take(struct source *src, struct sample *s)
{
	char root[PATH_MAX - 64], base[PATH_MAX];
	struct timespec ts;

	src_root(src, src->next++, root, sizeof(root));
	sample_clear(s);
	if (src->test_seq) {
		read_clock(s, root);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s->mono = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		clock_gettime(CLOCK_REALTIME, &s->wall);
	}
	snprintf(base, sizeof(base), "%s" STAT_DIR, root);
	read_devices(src, s, base);
	if (s->loaded)
		read_disks(s, root);
}

void sample_free(struct sample *s)
{
	sample_clear(s);
	free(s->dev);
	s->dev = NULL;
	s->n = s->cap = 0;
}

int reset_write(const struct source *src, const char *kname)
{
	char root[PATH_MAX - 64], path[PATH_MAX];
	int fd, e = 0;

	src_root(src, 0, root, sizeof(root));
	snprintf(path, sizeof(path), "%s" STAT_DIR "/%s/reset", root, kname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	if (write(fd, "1", 1) != 1)
		e = errno ? errno : EIO;
	if (close(fd) && !e)
		e = errno;
	return e;
}
