// SPDX-License-Identifier: GPL-2.0
/*
 * One sample: every directory of /sys/module/dmp/stat (its `stat` and `name`
 * files), and the block layer's counters of the same dm-N from one read of
 * /proc/diskstats. Files are opened relative to the stat directory (openat),
 * the devices sorted once, and diskstats matched by a merge: the cost is
 * linear in the number of devices (plus the sort).
 *
 * A device that goes away while it is read (ENOENT or ENODEV from its files,
 * its directory gone) is left out of the sample. A file that is there but
 * malformed, or a file missing from a directory that still exists, ends
 * dmpstat with a message naming the file.
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

/* Read a small file relative to dfd; 0, an errno value, or EFBIG. */
static int read_at(int dfd, const char *rel, char *buf, size_t sz, size_t *len)
{
	size_t n = 0;
	int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	for (;;) {
		ssize_t r = read(fd, buf + n, sz - n);

		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
		if (n == sz) {
			close(fd);
			return EFBIG;
		}
	}
	close(fd);
	*len = n;
	return 0;
}

/* Read a whole file of any size into *buf (grown as needed). */
static int read_all(const char *path, char **buf, size_t *cap, size_t *len)
{
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return errno;
	for (;;) {
		ssize_t r;

		if (*cap - n < 4096) {
			size_t ncap = *cap ? *cap * 2 : 65536;
			char *nb = realloc(*buf, ncap);

			if (!nb)
				fatal("out of memory");
			*buf = nb;
			*cap = ncap;
		}
		r = read(fd, *buf + n, *cap - n);
		if (r < 0) {
			int e = errno;

			if (e == EINTR)
				continue;
			close(fd);
			return e;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	*len = n;
	return 0;
}

static bool gone(int e)
{
	return e == ENOENT || e == ENODEV;
}

/* Read one file of entry ent into buf; false if the device went away. */
static bool read_dev_file(int dfd, const char *base, const char *ent,
			  const char *file, char *buf, size_t sz, size_t *len)
{
	char rel[KNAME_MAX + 16];
	struct stat st;
	int e;

	snprintf(rel, sizeof(rel), "%s/%s", ent, file);
	e = read_at(dfd, rel, buf, sz, len);
	if (!e)
		return true;
	if (gone(e) && fstatat(dfd, ent, &st, AT_SYMLINK_NOFOLLOW))
		return false;	/* the whole directory went: removed */
	if (e == ENODEV)
		return false;	/* being removed */
	if (e == EFBIG)
		fatal("%s/%s: malformed (too long)", base, rel);
	if (e == ENOENT)
		fatal("%s/%s: missing (is the dmp module older than this dmpstat?)",
		      base, rel);
	fatal("%s/%s: %s", base, rel, strerror(e));
}

static struct dev *new_dev(struct sample *s)
{
	if (s->n == s->cap) {
		size_t ncap = s->cap ? s->cap * 2 : 64;
		struct dev *nd = realloc(s->dev, ncap * sizeof(*nd));

		if (!nd)
			fatal("out of memory");
		s->dev = nd;
		s->cap = ncap;
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

static void read_devices(struct sample *s, const char *base)
{
	DIR *dir = opendir(base);
	struct dirent *de;
	int dfd;

	if (!dir) {
		if (errno == ENOENT || errno == ENOTDIR) {
			s->loaded = false;
			return;
		}
		fatal("%s: %s", base, strerror(errno));
	}
	s->loaded = true;
	dfd = dirfd(dir);
	while ((errno = 0, de = readdir(dir))) {
		struct dev *d;
		const char *why;
		char buf[512];
		size_t len;
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
		if (!read_dev_file(dfd, base, de->d_name, "stat", buf,
				   sizeof(buf), &len))
			continue;
		if (parse_dmp_stat(buf, len, d->c, &why))
			fatal("%s/%s/stat: malformed (%s)", base, de->d_name, why);
		if (minor != ALL_DEVS_MINOR) {
			if (!read_dev_file(dfd, base, de->d_name, "name", buf,
					   sizeof(buf), &len))
				continue;
			if (parse_name(buf, len, d->name, sizeof(d->name), &why))
				fatal("%s/%s/name: malformed (%s)", base,
				      de->d_name, why);
		}
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
		size_t ncap = v->cap ? v->cap * 2 : 64;
		struct disk_ent *ne = realloc(v->e, ncap * sizeof(*ne));

		if (!ne)
			fatal("out of memory");
		v->e = ne;
		v->cap = ncap;
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
	char path[PATH_MAX], buf[1024];
	size_t i, len;

	for (i = 0; i < s->n; i++) {
		struct dev *d = &s->dev[i];
		const char *why;
		int e;

		if (d->minor == ALL_DEVS_MINOR)
			continue;
		snprintf(path, sizeof(path), "%s/sys/block/%s/stat", root,
			 d->kname);
		e = read_at(AT_FDCWD, path, buf, sizeof(buf), &len);
		if (gone(e))
			continue;
		if (e)
			fatal("%s: %s", path, e == EFBIG ? "malformed (too long)"
							 : strerror(e));
		if (parse_block_stat(buf, len, &d->disk, &why))
			fatal("%s: malformed (%s)", path, why);
		d->has_disk = true;
	}
}

static void read_disks(struct sample *s, const char *root)
{
	static char *buf;
	static size_t cap;
	static struct disk_vec v;
	char path[PATH_MAX];
	const char *why;
	size_t len = 0, i, j;
	int e;

	snprintf(path, sizeof(path), "%s/proc/diskstats", root);
	e = read_all(path, &buf, &cap, &len);
	if (e == ENOENT) {
		read_block_stats(s, root);
		return;
	}
	if (e)
		fatal("%s: %s", path, strerror(e));
	v.n = 0;
	if (parse_diskstats(buf, len, disk_add, &v, &why))
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
	char path[PATH_MAX], buf[64], *end;
	const char *why = "not a number";
	size_t len;
	double t;
	int e;

	snprintf(path, sizeof(path), "%s/clock", root);
	e = read_at(AT_FDCWD, path, buf, sizeof(buf) - 1, &len);
	if (e)
		fatal("%s: %s", path, strerror(e));
	buf[len] = '\0';
	t = strtod(buf, &end);
	if (end == buf || (*end && *end != '\n') || !(t >= 0 && t < 1e12))
		fatal("%s: malformed (%s)", path, why);
	s->mono = t;
	s->wall.tv_sec = (time_t)t;
	s->wall.tv_nsec = (long)((t - (double)s->wall.tv_sec) * 1e9);
}

void sample_take(struct source *src, struct sample *s)
{
	char root[PATH_MAX - 64], base[PATH_MAX];
	struct timespec ts;

	src_root(src, src->next++, root, sizeof(root));
	s->n = 0;
	if (src->test_seq) {
		read_clock(s, root);
	} else {
		clock_gettime(CLOCK_MONOTONIC, &ts);
		s->mono = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
		clock_gettime(CLOCK_REALTIME, &s->wall);
	}
	snprintf(base, sizeof(base), "%s" STAT_DIR, root);
	read_devices(s, base);
	if (s->loaded)
		read_disks(s, root);
}

void sample_free(struct sample *s)
{
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
