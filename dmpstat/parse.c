// SPDX-License-Identifier: GPL-2.0
/*
 * Parsers of what dmpstat reads: a dmp `stat` file, a `name` file, a
 * `histograms` file, /proc/diskstats, /sys/block/dm-N/stat, and the INTERVAL
 * and COUNT arguments. No I/O and no allocation here, so fuzz/ can run them on
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

/*
 * A `histograms` file (README.md, "Histograms"): one item per line, a name
 * then numbers separated by spaces:
 *
 *   state on|off
 *   latency_bounds_us <bounds>          size_bounds_bytes <bounds>
 *   read_latency <counts>               read_latency_sum_ns <n>
 *   write_latency <counts>              write_latency_sum_ns <n>
 *   read_size <counts>                  read_size_sum_bytes <n>
 *   write_size <counts>                 write_size_sum_bytes <n>
 *
 * in any order. Lines of other names are skipped (a later module may add
 * some); a known line must be well formed and come once. `state` is always
 * there; with `state off` nothing else is needed (or looked at). With `state
 * on`, every line above: bounds strictly increasing (1 to HIST_MAX_BOUNDS of
 * them), and a histogram of latency or size has one count per bound of its
 * kind and one more (the requests above the last bound).
 */
const char *const hist_names[NHIST] = {
	"read_latency", "write_latency", "read_size", "write_size",
};

enum {	/* the lines of a histograms file */
	L_STATE, L_LAT_BOUNDS, L_SIZE_BOUNDS,
	L_HIST,			/* L_HIST + k: histogram k */
	L_SUM = L_HIST + NHIST,	/* L_SUM + k: its sum */
	NLINES = L_SUM + NHIST
};

static const struct {
	const char *name, *missing, *ncounts;
} hist_lines[NLINES] = {
	{ "state", "no state line", NULL },
	{ "latency_bounds_us", "no latency_bounds_us line", NULL },
	{ "size_bounds_bytes", "no size_bounds_bytes line", NULL },
	{ "read_latency", "no read_latency line",
	  "read_latency: not one count per latency bound and one more" },
	{ "write_latency", "no write_latency line",
	  "write_latency: not one count per latency bound and one more" },
	{ "read_size", "no read_size line",
	  "read_size: not one count per size bound and one more" },
	{ "write_size", "no write_size line",
	  "write_size: not one count per size bound and one more" },
	{ "read_latency_sum_ns", "no read_latency_sum_ns line", NULL },
	{ "write_latency_sum_ns", "no write_latency_sum_ns line", NULL },
	{ "read_size_sum_bytes", "no read_size_sum_bytes line", NULL },
	{ "write_size_sum_bytes", "no write_size_sum_bytes line", NULL },
};

/* The value of a known line (after its name) at *p, up to eol. */
static int hist_line(int l, const char *p, const char *eol,
		     struct hist_file *h, int *ncounts, const char **why)
{
	uint64_t *v, one;
	int n, max;

	if (l == L_STATE) {
		if (eol - p == 3 && !memcmp(p, " on", 3))
			h->on = true;
		else if (eol - p == 4 && !memcmp(p, " off", 4))
			h->on = false;
		else {
			*why = "state is neither on nor off";
			return -1;
		}
		return 0;
	}
	if (l == L_LAT_BOUNDS || l == L_SIZE_BOUNDS) {
		v = h->bound[l - L_LAT_BOUNDS];
		max = HIST_MAX_BOUNDS;
	} else if (l < L_SUM) {
		v = h->count[l - L_HIST];
		max = HIST_MAX_BOUNDS + 1;
	} else {
		v = &one;
		max = 1;
	}
	n = parse_fields(&p, eol, v, max, why);
	if (n < 0)
		return -1;
	if (p != eol) {
		*why = "not a number";
		return -1;
	}
	if (l >= L_SUM) {
		if (n != 1) {
			*why = "a sum is not one number";
			return -1;
		}
		h->sum[l - L_SUM] = one;
		return 0;
	}
	if (l >= L_HIST) {
		*ncounts = n;
		return 0;
	}
	if (n < 1 || n > HIST_MAX_BOUNDS) {
		*why = n ? "too many bounds" : "no bounds";
		return -1;
	}
	for (int i = 1; i < n; i++)
		if (v[i] <= v[i - 1]) {
			*why = "bounds not increasing";
			return -1;
		}
	h->nbounds[l - L_LAT_BOUNDS] = (unsigned int)n;
	return 0;
}

int parse_histograms(const char *buf, size_t len, struct hist_file *h,
		     const char **why)
{
	const char *p = buf, *end = buf + len;
	bool seen[NLINES] = { false };
	int ncounts[NHIST] = { 0 };
	int l, k;

	if (len == 0) {
		*why = "empty";
		return -1;
	}
	if (memchr(buf, '\0', len)) {
		*why = "a NUL byte";
		return -1;
	}
	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		size_t nl;

		if (!eol)
			eol = end;
		for (nl = 0; p + nl < eol && p[nl] != ' '; nl++)
			;
		for (l = 0; l < NLINES; l++)
			if (strlen(hist_lines[l].name) == nl &&
			    !memcmp(p, hist_lines[l].name, nl))
				break;
		if (l < NLINES) {	/* else: a line of a later module */
			if (seen[l]) {
				*why = "a line twice";
				return -1;
			}
			seen[l] = true;
			if (hist_line(l, p + nl, eol, h,
				      l >= L_HIST && l < L_SUM ?
				      &ncounts[l - L_HIST] : NULL, why))
				return -1;
		}
		p = eol == end ? end : eol + 1;
	}
	if (!seen[L_STATE]) {
		*why = hist_lines[L_STATE].missing;
		return -1;
	}
	if (!h->on)
		return 0;
	for (l = 0; l < NLINES; l++)
		if (!seen[l]) {
			*why = hist_lines[l].missing;
			return -1;
		}
	for (k = 0; k < NHIST; k++) {
		uint64_t total = 0;

		if ((unsigned int)ncounts[k] != HIST_NBOUNDS(h, k) + 1) {
			*why = hist_lines[L_HIST + k].ncounts;
			return -1;
		}
		for (int i = 0; i < ncounts[k]; i++) {
			if (total > UINT64_MAX - h->count[k][i]) {
				*why = "counts add up past 2^64";
				return -1;
			}
			total += h->count[k][i];
		}
	}
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
