// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness of parse.c and hist.c (make fuzz FUZZ_SECONDS=30). The
 * first byte of the input picks the parser, the rest is the file content or
 * argument. Besides crashes and sanitizer reports, it checks what a parser
 * accepted: the numbers of a `stat` line are those strtoull reads, a name is
 * one line, the bounds of a `histograms` file increase and each histogram
 * has one count more than its bounds; and what hist.c makes of them:
 * quantiles in order within the bounds, a histogram minus itself empty.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"

static void count_disk(void *arg, long minor, const struct disk_stats *d)
{
	(void)d;
	if (minor < 0)
		abort();
	++*(size_t *)arg;
}

/* An accepted histograms file, and hist.c on it. */
static void check_hists(const struct hist_file *f)
{
	uint64_t buf[HIST_MAX_BOUNDS + 1];
	struct hists *hs;
	struct histo d;
	int k;

	if (!f->on)
		return;
	for (k = 0; k < 2; k++) {
		if (f->nbounds[k] < 1 || f->nbounds[k] > HIST_MAX_BOUNDS)
			abort();
		for (unsigned int i = 1; i < f->nbounds[k]; i++)
			if (f->bound[k][i] <= f->bound[k][i - 1])
				abort();
	}
	hs = hists_new(f);
	if (!hists_follow(hs, hs))
		abort();
	for (k = 0; k < NHIST; k++) {
		const struct histo *h = &hs->h[k];
		double last = (double)h->bound[h->n - 1], p = 0;
		int top = histo_max(h);

		for (int q = 0; q < 3; q++) {
			double v = histo_quantile(h, (double[]){ 0.5, 0.9, 0.99 }[q]);

			if (!(v >= p && v <= last))
				abort();
			p = v;
		}
		if (top < -1 || top > (int)h->n || (top < 0) != !h->total)
			abort();
		histo_sub(h, h, buf, &d);
		if (d.total || d.sum || d.n != h->n)
			abort();
	}
	free(hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1, *why = NULL;
	size_t len = size ? size - 1 : 0;
	uint64_t c[NCOUNTERS];
	struct disk_stats d;
	static struct hist_file hf;
	char name[DM_NAME_MAX], *str;
	unsigned long count;
	double secs;
	size_t n = 0;
	long minor;

	if (!size)
		return 0;
	switch (data[0] % 6) {
	case 0:
		if (!parse_dmp_stat(buf, len, c, &why)) {
			/* accepted: the first 9 space-separated fields have
			 * these values (strtoull agrees) */
			char *copy = malloc(len + 1), *p, *end;
			int k;

			if (!copy)
				return 0;
			memcpy(copy, buf, len);
			copy[len] = '\0';
			for (k = 0, p = copy; k < NCOUNTERS; k++, p = end + 1)
				if (strtoull(p, &end, 10) != c[k] || end == p ||
				    (*end != ' ' && *end != '\n' && *end))
					abort();
			free(copy);
		} else if (!why) {
			abort();
		}
		break;
	case 1:
		if (!parse_name(buf, len, name, sizeof(name), &why) &&
		    (strchr(name, '\n') || !name[0]))
			abort();
		break;
	case 2:
		if (parse_diskstats(buf, len, count_disk, &n, &why) && !why)
			abort();
		break;
	case 3:
		if (parse_block_stat(buf, len, &d, &why) && !why)
			abort();
		break;
	case 4:
		str = malloc(len + 1);
		if (!str)
			return 0;
		memcpy(str, buf, len);
		str[len] = '\0';
		if (!parse_interval(str, &secs) && !(secs >= 0.001 && secs <= 86400))
			abort();
		if (!parse_count(str, &count) && count == 0)
			abort();
		if (!parse_kname(str, &minor) && minor < 0)
			abort();
		free(str);
		break;
	case 5:
		if (!parse_histograms(buf, len, &hf, &why))
			check_hists(&hf);
		else if (!why)
			abort();
		break;
	}
	return 0;
}
