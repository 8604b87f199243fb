// SPDX-License-Identifier: GPL-2.0
/*
 * Text and JSON reports. Text: one header line and one aligned line per
 * device (columns as wide as their widest cell), an optional timestamp line
 * before, an empty line after; no terminal escapes ever; with --hist, bar
 * histograms after it in the layout of bcc's biolatency (print_log2_hist in
 * bcc's table.py). JSON: one document per report on one line (schema in
 * dmpstat.8).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"
#include "dmp_version.h"

#define JSON_SCHEMA 1
#define MAXCOLS 24

/* ---- a table of strings, printed aligned ---- */

struct table {
	char *buf;		/* every cell, NUL-terminated, one after another */
	size_t len, cap;
	size_t *off;		/* offset of each cell in buf */
	size_t ncells, offcap;
	int ncols;
	int left;		/* columns 0..left-1 are left-aligned */
};

static void cell(struct table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void cell(struct table *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (t->ncells == t->offcap) {
		t->offcap = t->offcap ? t->offcap * 2 : 256;
		t->off = xrealloc(t->off, t->offcap, sizeof(*t->off));
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap ? t->cap * 2 : 8192;
		t->buf = xrealloc(t->buf, t->cap, 1);
	}
	t->off[t->ncells++] = t->len;
	t->len += (size_t)n + 1;
}

static void table_print(struct table *t)
{
	size_t w[MAXCOLS] = { 0 }, i;
	int c;

	for (i = 0; i < t->ncells; i++) {
		size_t l = strlen(t->buf + t->off[i]);

		c = (int)(i % (size_t)t->ncols);
		if (l > w[c])
			w[c] = l;
	}
	for (i = 0; i < t->ncells; i++) {
		const char *s = t->buf + t->off[i];
		int last;

		c = (int)(i % (size_t)t->ncols);
		last = c == t->ncols - 1;
		if (c < t->left && last)
			fputs(s, stdout);
		else if (c < t->left)
			printf("%-*s", (int)w[c], s);
		else
			printf("%*s", (int)w[c], s);
		fputs(last ? "\n" : "  ", stdout);
	}
	putchar('\n');
	t->len = 0;
	t->ncells = 0;
}

/* A device-mapper name for a text column: control characters become '?'. */
static void name_cell(struct table *t, const char *name)
{
	char buf[DM_NAME_MAX];
	size_t i;

	if (!*name) {
		cell(t, "-");
		return;
	}
	for (i = 0; name[i] && i < sizeof(buf) - 1; i++)
		buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ?
			 '?' : name[i];
	buf[i] = '\0';
	cell(t, "%s", buf);
}

/* Bytes, or bytes/s, with a binary unit: 512B, 4.0k, 1.5M, 2.0G ... */
static void human_cell(struct table *t, double v)
{
	static const char units[] = "BkMGTPE";
	int u = 0;

	while (v >= 1024 && units[u + 1]) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		cell(t, "%.0fB", v);
	else
		cell(t, "%.1f%c", v, units[u]);
}

static void timestamp_line(const struct out_opts *o, const struct sample *s)
{
	struct tm tm;
	char buf[64];

	if (!o->timestamp)
		return;
	localtime_r(&s->wall.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S%z", &tm);
	printf("%s\n", buf);
}

/* ---- JSON ---- */

void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static void json_head(const struct sample *s, const char *report, double secs)
{
	struct tm tm;
	char buf[64];

	gmtime_r(&s->wall.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	printf("{\"schema\":%d,\"program\":\"dmpstat\",\"version\":\"%s\","
	       "\"timestamp\":\"%s.%03ldZ\",\"report\":\"%s\",\"interval\":",
	       JSON_SCHEMA, DMP_VERSION, buf, s->wall.tv_nsec / 1000000, report);
	if (secs < 0)
		printf("null");
	else
		printf("%.6f", secs);
	printf(",\"devices\":[");
}

static void json_dev_head(const struct dev *d)
{
	printf("{\"device\":");
	json_string(d->kname);
	printf(",\"name\":");
	if (d->minor == ALL_DEVS_MINOR)
		printf("null");
	else
		json_string(d->name);
}

static void json_counters(const char *key, const uint64_t *c)
{
	int i;

	printf(",\"%s\":{", key);
	for (i = 0; i < NCOUNTERS; i++)
		printf("%s\"%s\":%llu", i ? "," : "", counter_names[i],
		       (unsigned long long)c[i]);
	putchar('}');
}

/* ---- histograms ---- */

/* Histogram k of a device: since load or reset (dd NULL), or over dd's
 * interval; false when the device has none. */
static bool dev_histo(const struct dev *d, const struct dev_delta *dd, int k,
		      uint64_t *buf, struct histo *out)
{
	if (dd)
		return delta_histo(dd, k, buf, out);
	if (!d->hist)
		return false;
	*out = d->hist->h[k];
	return true;
}

static const double quantiles[] = { 0.5, 0.9, 0.99 };
#define NQ 3
static const char *const latency_head[] = {
	"r_p50", "r_p90", "r_p99", "r_max", "w_p50", "w_p90", "w_p99", "w_max",
};
#define NLAT 8

/* --latency: p50, p90, p99 and the top of the highest bucket with a
 * request, for reads then writes, in milliseconds. */
static void latency_cells(struct table *t, const struct dev *d,
			  const struct dev_delta *dd)
{
	uint64_t buf[HIST_MAX_BOUNDS + 1];
	struct histo h;
	int k, q, top;

	for (k = H_READ_LAT; k <= H_WRITE_LAT; k++) {
		if (!dev_histo(d, dd, k, buf, &h)) {
			for (q = 0; q <= NQ; q++)
				cell(t, "-");
			continue;
		}
		for (q = 0; q < NQ; q++)
			cell(t, "%.3f", histo_quantile(&h, quantiles[q]) / 1e3);
		top = histo_max(&h);
		if (top < 0)
			cell(t, "0.000");
		else if ((unsigned int)top == h.n)	/* above the last bound */
			cell(t, ">%.3f", (double)h.bound[h.n - 1] / 1e3);
		else
			cell(t, "%.3f", (double)h.bound[top] / 1e3);
	}
}

static void json_u64s(const char *key, const uint64_t *v, unsigned int n)
{
	printf("\"%s\":[", key);
	for (unsigned int i = 0; i < n; i++)
		printf("%s%llu", i ? "," : "", (unsigned long long)v[i]);
	putchar(']');
}

/* "read_latency":{"counts":[...],"count":N,"sum_ns":N} */
static void json_histo(int k, const struct histo *h)
{
	printf(",\"%s\":{", hist_names[k]);
	json_u64s("counts", h->count, h->n + 1);
	printf(",\"count\":%llu,\"%s\":%llu}", (unsigned long long)h->total,
	       HIST_IS_SIZE(k) ? "sum_bytes" : "sum_ns",
	       (unsigned long long)h->sum);
}

/* "histograms": the bounds and the histograms since load or reset */
static void json_hists(const struct dev *d)
{
	const struct hists *hs = d->hist;

	if (!hs) {
		printf(",\"histograms\":null");
		return;
	}
	printf(",\"histograms\":{");
	json_u64s("latency_bounds_us", hs->h[H_READ_LAT].bound,
		  hs->h[H_READ_LAT].n);
	putchar(',');
	json_u64s("size_bounds_bytes", hs->h[H_READ_SIZE].bound,
		  hs->h[H_READ_SIZE].n);
	for (int k = 0; k < NHIST; k++)
		json_histo(k, &hs->h[k]);
	putchar('}');
}

/* "histograms_delta": what they counted in the interval */
static void json_hists_delta(const struct dev_delta *dd)
{
	uint64_t buf[HIST_MAX_BOUNDS + 1];
	struct histo h;

	if (!dd->cur->hist) {
		printf(",\"histograms_delta\":null");
		return;
	}
	printf(",\"histograms_delta\":{\"restarted\":%s",
	       dd->hist_prev ? "false" : "true");
	for (int k = 0; k < NHIST; k++) {
		delta_histo(dd, k, buf, &h);
		json_histo(k, &h);
	}
	putchar('}');
}

/* --latency: "latency_ms":{"read":{"p50":..,"p90":..,"p99":..,"max":..},..} */
static void json_latency(const struct dev *d, const struct dev_delta *dd)
{
	uint64_t buf[HIST_MAX_BOUNDS + 1];
	struct histo h;
	int k, q, top;

	if (!d->hist) {
		printf(",\"latency_ms\":null");
		return;
	}
	printf(",\"latency_ms\":{");
	for (k = H_READ_LAT; k <= H_WRITE_LAT; k++) {
		dev_histo(d, dd, k, buf, &h);
		printf("%s\"%s\":{", k == H_READ_LAT ? "" : ",",
		       k == H_READ_LAT ? "read" : "write");
		for (q = 0; q < NQ; q++)
			printf("\"p%.0f\":%.3f,", quantiles[q] * 100,
			       histo_quantile(&h, quantiles[q]) / 1e3);
		top = histo_max(&h);
		if (top < 0)
			printf("\"max\":0}");
		else if ((unsigned int)top == h.n)
			printf("\"max\":null}");
		else
			printf("\"max\":%.3f}", (double)h.bound[top] / 1e3);
	}
	putchar('}');
}

/* A device as the title of its histograms: dm-0 (dmp1), all_devs */
static void dev_label(const struct dev *d)
{
	fputs(d->kname, stdout);
	if (!*d->name)
		return;
	fputs(" (", stdout);
	for (const char *p = d->name; *p; p++)
		putchar((unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p);
	putchar(')');
}

/* One histogram as bcc's biolatency draws it: a row per bucket up to the
 * last with a request, "a -> b" for a < v <= b. */
static void draw_histo(const struct dev *d, int k, const struct histo *h)
{
	static const char *const title[NHIST] = {
		"read latency", "write latency", "read size", "write size",
	};
	static const char stars[] = "****************************************";
	int last = histo_max(h), i;
	uint64_t vmax = 0;
	bool size = HIST_IS_SIZE(k);

	dev_label(d);
	printf(" %s: ", title[k]);
	if (last < 0) {
		printf("no requests\n\n");
		return;
	}
	if (size)
		printf("%llu request%s, average %llu bytes\n",
		       (unsigned long long)h->total, h->total == 1 ? "" : "s",
		       (unsigned long long)(h->sum / h->total));
	else
		printf("%llu request%s, average %.1f usecs\n",
		       (unsigned long long)h->total, h->total == 1 ? "" : "s",
		       (double)h->sum / (double)h->total / 1e3);
	for (i = 0; i <= last; i++)
		if (h->count[i] > vmax)
			vmax = h->count[i];
	printf("     %-19s : count     distribution\n", size ? "bytes" : "usecs");
	for (i = 0; i <= last; i++) {
		char lo[24], hi[24];
		int n = (int)((double)h->count[i] * 40 / (double)vmax);

		snprintf(lo, sizeof(lo), "%llu",
			 i ? (unsigned long long)h->bound[i - 1] : 0ULL);
		if ((unsigned int)i < h->n)
			snprintf(hi, sizeof(hi), "%llu",
				 (unsigned long long)h->bound[i]);
		else
			snprintf(hi, sizeof(hi), "inf");
		printf("%10s -> %-10s : %-8llu |%-40.*s|\n", lo, hi,
		       (unsigned long long)h->count[i], n > 40 ? 40 : n, stars);
	}
	putchar('\n');
}

/* --hist: the four histograms of each device after a text report */
static void draw_hists(const struct sample *s, const struct dev *d,
		       const struct dev_delta *dd)
{
	uint64_t buf[HIST_MAX_BOUNDS + 1];
	struct histo h;

	if (!d->hist) {
		dev_label(d);
		if (!s->hist_files)
			printf(": no histograms (the dmp module is older than "
			       "this dmpstat)\n\n");
		else if (d->minor == ALL_DEVS_MINOR)
			printf(": histograms off (on no device)\n\n");
		else
			printf(": histograms off\n\n");
		return;
	}
	for (int k = 0; k < NHIST; k++) {
		dev_histo(d, dd, k, buf, &h);
		draw_histo(d, k, &h);
	}
}

/* ---- reports since load or reset ---- */

static void text_totals(const struct out_opts *o, const struct sample *s,
			const struct dev *const *devs, size_t n)
{
	static struct table t = { .left = 2 };
	static const char *const head[] = {
		"Device", "Name", "reads", "rbytes", "ravg", "writes", "wbytes",
		"wavg", "discards", "dbytes", "wzeroes", "flushes", "errors",
	};
	size_t i;
	int k;

	t.ncols = 13 + (o->latency ? NLAT : 0);
	for (k = 0; k < 13; k++)
		cell(&t, "%s", head[k]);
	for (k = 0; o->latency && k < NLAT; k++)
		cell(&t, "%s", latency_head[k]);
	for (i = 0; i < n; i++) {
		const uint64_t *c = devs[i]->c;
		uint64_t ravg = c[C_READS] ? c[C_READ_BYTES] / c[C_READS] : 0;
		uint64_t wavg = c[C_WRITES] ? c[C_WRITE_BYTES] / c[C_WRITES] : 0;
		uint64_t v[11] = {
			c[C_READS], c[C_READ_BYTES], ravg, c[C_WRITES],
			c[C_WRITE_BYTES], wavg, c[C_DISCARDS], c[C_DISCARD_BYTES],
			c[C_WRITE_ZEROES], c[C_FLUSHES], c[C_ERRORS],
		};
		/* which of v are bytes (shown with units by -h) */
		static const bool bytes[11] = { 0, 1, 1, 0, 1, 1, 0, 1, 0, 0, 0 };

		cell(&t, "%s", devs[i]->kname);
		name_cell(&t, devs[i]->name);
		for (k = 0; k < 11; k++) {
			if (o->human && bytes[k])
				human_cell(&t, (double)v[k]);
			else
				cell(&t, "%llu", (unsigned long long)v[k]);
		}
		if (o->latency)
			latency_cells(&t, devs[i], NULL);
	}
	timestamp_line(o, s);
	table_print(&t);
	for (i = 0; o->hist && i < n; i++)
		draw_hists(s, devs[i], NULL);
}

void out_totals(const struct out_opts *o, const struct sample *s,
		const struct dev *const *devs, size_t n)
{
	size_t i;

	if (!o->json) {
		text_totals(o, s, devs, n);
		flush_stdout();
		return;
	}
	json_head(s, "totals", -1);
	for (i = 0; i < n; i++) {
		if (i)
			putchar(',');
		json_dev_head(devs[i]);
		json_counters("counters", devs[i]->c);
		json_hists(devs[i]);
		if (o->latency)
			json_latency(devs[i], NULL);
		putchar('}');
	}
	printf("]}\n");
	flush_stdout();
}

/* ---- reports of an interval ---- */

static void text_interval(const struct out_opts *o, const struct sample *s,
			  double secs, const struct dev_delta *d, size_t n)
{
	static struct table t = { .left = 2 };
	static const char *const head[] = {
		"Device", "Name", "r/s", "w/s", "rkB/s", "wkB/s", "rareq-sz",
		"wareq-sz", "d/s", "f/s", "err/s", "r_await", "w_await",
		"aqu-sz", "%util",
	};
	size_t i;
	int k;

	t.ncols = 15 + (o->latency ? NLAT : 0);
	for (k = 0; k < 15; k++)
		cell(&t, "%s", head[k]);
	for (k = 0; o->latency && k < NLAT; k++)
		cell(&t, "%s", latency_head[k]);
	for (i = 0; i < n; i++) {
		struct rates r;

		rates_compute(&d[i], secs, &r);
		cell(&t, "%s", d[i].cur->kname);
		name_cell(&t, d[i].cur->name);
		cell(&t, "%.2f", r.r_s);
		cell(&t, "%.2f", r.w_s);
		if (o->human) {
			human_cell(&t, r.rkb_s * 1024);
			human_cell(&t, r.wkb_s * 1024);
			human_cell(&t, r.rareq_sz * 1024);
			human_cell(&t, r.wareq_sz * 1024);
		} else {
			cell(&t, "%.2f", r.rkb_s);
			cell(&t, "%.2f", r.wkb_s);
			cell(&t, "%.2f", r.rareq_sz);
			cell(&t, "%.2f", r.wareq_sz);
		}
		cell(&t, "%.2f", r.d_s);
		cell(&t, "%.2f", r.f_s);
		cell(&t, "%.2f", r.err_s);
		if (r.has_disk) {
			cell(&t, "%.2f", r.r_await);
			cell(&t, "%.2f", r.w_await);
			cell(&t, "%.2f", r.aqu_sz);
			cell(&t, "%.2f", r.util);
		} else {
			for (k = 0; k < 4; k++)
				cell(&t, "-");
		}
		if (o->latency)
			latency_cells(&t, d[i].cur, &d[i]);
	}
	timestamp_line(o, s);
	table_print(&t);
	for (i = 0; o->hist && i < n; i++)
		draw_hists(s, d[i].cur, &d[i]);
}

static void json_rates(const struct rates *r)
{
	printf(",\"rates\":{\"r/s\":%.2f,\"w/s\":%.2f,\"rkB/s\":%.2f,"
	       "\"wkB/s\":%.2f,\"rareq-sz\":%.2f,\"wareq-sz\":%.2f,"
	       "\"d/s\":%.2f,\"f/s\":%.2f,\"err/s\":%.2f,",
	       r->r_s, r->w_s, r->rkb_s, r->wkb_s, r->rareq_sz, r->wareq_sz,
	       r->d_s, r->f_s, r->err_s);
	if (r->has_disk)
		printf("\"r_await\":%.2f,\"w_await\":%.2f,\"aqu-sz\":%.2f,"
		       "\"%%util\":%.2f}", r->r_await, r->w_await, r->aqu_sz,
		       r->util);
	else
		printf("\"r_await\":null,\"w_await\":null,\"aqu-sz\":null,"
		       "\"%%util\":null}");
}

static void json_disk(const struct dev_delta *d)
{
	const struct disk_stats *k = &d->disk;

	if (!d->has_disk) {
		printf(",\"disk_delta\":null");
		return;
	}
	printf(",\"disk_delta\":{\"rd_ios\":%llu,\"rd_ticks\":%llu,"
	       "\"wr_ios\":%llu,\"wr_ticks\":%llu,\"io_ticks\":%llu,"
	       "\"time_in_queue\":%llu}",
	       (unsigned long long)k->rd_ios, (unsigned long long)k->rd_ticks,
	       (unsigned long long)k->wr_ios, (unsigned long long)k->wr_ticks,
	       (unsigned long long)k->io_ticks,
	       (unsigned long long)k->time_in_queue);
}

void out_interval(const struct out_opts *o, const struct sample *s,
		  double secs, const struct dev_delta *d, size_t n)
{
	size_t i;

	if (!o->json) {
		text_interval(o, s, secs, d, n);
		flush_stdout();
		return;
	}
	json_head(s, "interval", secs);
	for (i = 0; i < n; i++) {
		struct rates r;

		rates_compute(&d[i], secs, &r);
		if (i)
			putchar(',');
		json_dev_head(d[i].cur);
		printf(",\"restarted\":%s", d[i].restarted ? "true" : "false");
		json_counters("counters", d[i].cur->c);
		json_counters("delta", d[i].c);
		json_disk(&d[i]);
		json_rates(&r);
		json_hists(d[i].cur);
		json_hists_delta(&d[i]);
		if (o->latency)
			json_latency(d[i].cur, &d[i]);
		putchar('}');
	}
	printf("]}\n");
	flush_stdout();
}
