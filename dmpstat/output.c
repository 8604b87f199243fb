// SPDX-License-Identifier: GPL-2.0
/*
 * Text and JSON reports. Text: one header line and one aligned line per
 * device (columns as wide as their widest cell), an optional timestamp line
 * before, an empty line after; no terminal escapes ever. JSON: one document
 * per report on one line (schema in dmpstat.8).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"
#include "dmp_version.h"

#define JSON_SCHEMA 1
#define MAXCOLS 16

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
		t->off = realloc(t->off, t->offcap * sizeof(*t->off));
		if (!t->off)
			fatal("out of memory");
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n >= 0 && (size_t)n < t->cap - t->len)
			break;
		t->cap = t->cap ? t->cap * 2 : 8192;
		t->buf = realloc(t->buf, t->cap);
		if (!t->buf)
			fatal("out of memory");
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

/* ---- reports since load or reset ---- */

static void text_totals(const struct out_opts *o, const struct sample *s,
			const struct dev *const *devs, size_t n)
{
	static struct table t = { .ncols = 13, .left = 2 };
	static const char *const head[] = {
		"Device", "Name", "reads", "rbytes", "ravg", "writes", "wbytes",
		"wavg", "discards", "dbytes", "wzeroes", "flushes", "errors",
	};
	size_t i;
	int k;

	for (k = 0; k < t.ncols; k++)
		cell(&t, "%s", head[k]);
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
	}
	timestamp_line(o, s);
	table_print(&t);
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
		putchar('}');
	}
	printf("]}\n");
	flush_stdout();
}

/* ---- reports of an interval ---- */

static void text_interval(const struct out_opts *o, const struct sample *s,
			  double secs, const struct dev_delta *d, size_t n)
{
	static struct table t = { .ncols = 15, .left = 2 };
	static const char *const head[] = {
		"Device", "Name", "r/s", "w/s", "rkB/s", "wkB/s", "rareq-sz",
		"wareq-sz", "d/s", "f/s", "err/s", "r_await", "w_await",
		"aqu-sz", "%util",
	};
	size_t i;
	int k;

	for (k = 0; k < t.ncols; k++)
		cell(&t, "%s", head[k]);
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
	}
	timestamp_line(o, s);
	table_print(&t);
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
		putchar('}');
	}
	printf("]}\n");
	flush_stdout();
}
