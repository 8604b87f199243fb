// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers of what dmpstat reads: a dmp `stat` file, a `name` file,
 * /proc/diskstats, /sys/block/dm-N/stat, and the INTERVAL and COUNT
 * arguments. No I/O and no allocation here, so fuzz/ can run them on
 * anything. Strict: a number is decimal digits only and fits in 64 bits;
 * anything else is an error with a reason, never a guess.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"

const char *const counter_names[NCOUNTERS] = {
	"reads", "read_bytes", "writes", "write_bytes", "discards",
	"discard_bytes", "write_zeroes", "flushes", "errors",
};

/* Decimal digits at *p (before end) into *v; *p moves past them. */
int parse_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;
	uint64_t x = 0;

	if (s >= end || *s < '0' || *s > '9')
		return -1;
	for (; s < end && *s >= '0' && *s <= '9'; s++) {
		unsigned int d = (unsigned int)(*s - '0');

		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
	}
	*p = s;
	*v = x;
	return 0;
}

/* Space-separated numbers into v[0..max-1]; how many were there (more than
 * max are checked and counted, not stored), or -1 if one is not a number.
 * Stops at the end of the line (a newline or end). */
static int parse_fields(const char **p, const char *end, uint64_t *v,
			int max, const char **why)
{
	const char *s = *p;
	int n = 0;

	for (;;) {
		uint64_t x;

		while (s < end && (*s == ' ' || *s == '\t'))
			s++;
		if (s >= end || *s == '\n')
			break;
		if (parse_u64(&s, end, &x)) {
			*why = "not a number";
			return -1;
		}
		if (s < end && *s != ' ' && *s != '\t' && *s != '\n') {
			*why = "not a number";
			return -1;
		}
		if (n < max)
			v[n] = x;
		n++;
	}
	*p = s;
	return n;
}

/*
 * "<reads> <read_bytes> ... <errors>\n": nine numbers separated by single
 * spaces. More numbers after the nine are allowed (a later module may add
 * counters at the end) and ignored.
 */
int parse_dmp_stat(const char *buf, size_t len, uint64_t c[NCOUNTERS],
		   const char **why)
{
	const char *p = buf, *end = buf + len;
	int i;

	if (len == 0) {
		*why = "empty";
		return -1;
	}
	for (i = 0; i < NCOUNTERS; i++) {
		if (i > 0) {
			if (p >= end || *p == '\n') {
				*why = "fewer than 9 numbers";
				return -1;
			}
			if (*p != ' ') {
				*why = "not a number";
				return -1;
			}
			p++;
		}
		if (parse_u64(&p, end, &c[i])) {
			*why = p >= end || *p == '\n' ? "fewer than 9 numbers"
						     : "not a number";
			return -1;
		}
	}
	/* optional further numbers, then the end of the line */
	while (p < end && *p == ' ') {
		uint64_t x;

		p++;
		if (parse_u64(&p, end, &x)) {
			*why = "not a number";
			return -1;
		}
	}
	if (p < end && *p == '\n')
		p++;
	if (p != end) {
		*why = "not a number";
		return -1;
	}
	return 0;
}

/* "<name>\n": one line, not empty, no NUL, shorter than DM_NAME_MAX. */
int parse_name(const char *buf, size_t len, char *out, size_t outsz,
	       const char **why)
{
	if (len > 0 && buf[len - 1] == '\n')
		len--;
	if (len == 0) {
		*why = "empty";
		return -1;
	}
	if (memchr(buf, '\n', len) || memchr(buf, '\0', len)) {
		*why = "more than one line";
		return -1;
	}
	if (len >= outsz) {
		*why = "name too long";
		return -1;
	}
	memcpy(out, buf, len);
	out[len] = '\0';
	return 0;
}

/* "dm-<N>" (no leading zeros, N < 2^31) into *minor. */
int parse_kname(const char *s, long *minor)
{
	const char *p = s + 3, *end;
	uint64_t v;

	if (strncmp(s, "dm-", 3))
		return -1;
	end = p + strlen(p);
	if (parse_u64(&p, end, &v) || p != end || v > 0x7fffffff ||
	    (s[3] == '0' && s[4] != '\0'))
		return -1;
	*minor = (long)v;
	return 0;
}

static void fields_to_disk(const uint64_t *f, struct disk_stats *d)
{
	d->rd_ios = f[0];
	d->rd_ticks = f[3];
	d->wr_ios = f[4];
	d->wr_ticks = f[7];
	d->io_ticks = f[9];
	d->time_in_queue = f[10];
}

/* /sys/block/dm-N/stat: 11 to 17 numbers (stat.rst), one line. */
int parse_block_stat(const char *buf, size_t len, struct disk_stats *d,
		     const char **why)
{
	const char *p = buf, *end = buf + len;
	uint64_t f[11];
	int n = parse_fields(&p, end, f, 11, why);

	if (n < 0)
		return -1;
	if (n < 11) {
		*why = n ? "fewer than 11 numbers" : "empty";
		return -1;
	}
	if (p < end && *p == '\n')
		p++;
	if (p != end) {
		*why = "more than one line";
		return -1;
	}
	fields_to_disk(f, d);
	return 0;
}

/*
 * /proc/diskstats: "<major> <minor> <name> <11 to 17 numbers>" per line, the
 * numbers right-aligned. Lines of other devices are skipped after a look at
 * their name; a dm-N line must be complete.
 */
int parse_diskstats(const char *buf, size_t len, diskstats_fn fn, void *arg,
		    const char **why)
{
	const char *p = buf, *end = buf + len;

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *name, *q;
		uint64_t head[2], f[11];
		char kname[KNAME_MAX];
		struct disk_stats d;
		long minor;
		size_t nl;
		int n;

		if (!eol)
			eol = end;
		q = p;
		/* major, minor */
		for (n = 0; n < 2; n++) {
			while (q < eol && *q == ' ')
				q++;
			if (parse_u64(&q, eol, &head[n])) {
				*why = "malformed line";
				return -1;
			}
		}
		while (q < eol && *q == ' ')
			q++;
		name = q;
		while (q < eol && *q != ' ' && *q != '\t')
			q++;
		nl = (size_t)(q - name);
		if (nl == 0) {
			*why = "malformed line";
			return -1;
		}
		if (nl < 4 || nl >= sizeof(kname) || strncmp(name, "dm-", 3)) {
			p = eol == end ? end : eol + 1;
			continue;
		}
		memcpy(kname, name, nl);
		kname[nl] = '\0';
		if (parse_kname(kname, &minor)) {
			p = eol == end ? end : eol + 1;
			continue;
		}
		n = parse_fields(&q, eol, f, 11, why);
		if (n < 0)
			return -1;
		if (n < 11) {
			*why = "fewer than 11 numbers on a dm line";
			return -1;
		}
		fields_to_disk(f, &d);
		fn(arg, minor, &d);
		p = eol == end ? end : eol + 1;
	}
	return 0;
}

/* INTERVAL: seconds, a positive decimal number ("1", "0.5", ".25"),
 * at most a day, at least a millisecond. */
int parse_interval(const char *s, double *secs)
{
	const char *p;
	char *end;
	double v;
	int digits = 0, dots = 0;

	for (p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digits++;
		else if (*p == '.' && !dots)
			dots++;
		else
			return -1;
	}
	if (!digits)
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < 0.001 || v > 86400)
		return -1;
	*secs = v;
	return 0;
}

/* COUNT: a positive integer. */
int parse_count(const char *s, unsigned long *count)
{
	const char *p = s, *end = s + strlen(s);
	uint64_t v;

	if (parse_u64(&p, end, &v) || p != end || v == 0 || v > 1000000000)
		return -1;
	*count = (unsigned long)v;
	return 0;
}
