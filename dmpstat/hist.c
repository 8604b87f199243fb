// SPDX-License-Identifier: GPL-2.0
/*
 * Arithmetic on histograms (struct histo, dmpstat.h): a device's four kept in
 * one allocation, the change between two samples, quantiles.
 *
 * Quantiles are estimated as Prometheus' histogram_quantile() estimates them
 * (promql/quantile.go, bucketQuantile), so that dmpstat --latency and a
 * Grafana panel over the same requests say the same: rank = q * requests;
 * the bucket where the running count first reaches rank holds the quantile,
 * placed by linear interpolation between the bucket's lower bound (the bound
 * below, 0 for the first bucket) and its upper bound, as if its requests were
 * spread evenly. A quantile that falls above the last bound is the last
 * bound. No request: 0 (as iostat's r_await).
 */
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"

struct hists *hists_new(const struct hist_file *f)
{
	size_t words = f->nbounds[0] + f->nbounds[1];
	struct hists *hs;
	uint64_t *p, *b[2];
	int k;

	for (k = 0; k < NHIST; k++)
		words += HIST_NBOUNDS(f, k) + 1;
	hs = xrealloc(NULL, sizeof(*hs) + words * sizeof(uint64_t), 1);
	p = hs->data;
	for (k = 0; k < 2; k++) {
		b[k] = p;
		memcpy(p, f->bound[k], f->nbounds[k] * sizeof(*p));
		p += f->nbounds[k];
	}
	for (k = 0; k < NHIST; k++) {
		struct histo *h = &hs->h[k];

		h->n = HIST_NBOUNDS(f, k);
		h->bound = b[HIST_IS_SIZE(k)];
		memcpy(p, f->count[k], (h->n + 1) * sizeof(*p));
		h->count = p;
		p += h->n + 1;
		h->sum = f->sum[k];
		h->total = 0;
		for (unsigned int i = 0; i <= h->n; i++)
			h->total += h->count[i];	/* fits: parse_histograms() */
	}
	return hs;
}

/* Can cur be told as prev plus what happened since? Same bounds, and no
 * count nor sum went down (a reset, or switched off and on again). */
bool hists_follow(const struct hists *prev, const struct hists *cur)
{
	for (int k = 0; k < NHIST; k++) {
		const struct histo *p = &prev->h[k], *c = &cur->h[k];

		if (p->n != c->n || c->sum < p->sum ||
		    memcmp(p->bound, c->bound, p->n * sizeof(*p->bound)))
			return false;
		for (unsigned int i = 0; i <= c->n; i++)
			if (c->count[i] < p->count[i])
				return false;
	}
	return true;
}

void histo_sub(const struct histo *cur, const struct histo *prev,
	       uint64_t *buf, struct histo *out)
{
	*out = *cur;
	out->count = buf;
	out->total = 0;
	for (unsigned int i = 0; i <= cur->n; i++) {
		buf[i] = cur->count[i] - (prev ? prev->count[i] : 0);
		out->total += buf[i];
	}
	if (prev)
		out->sum = cur->sum - prev->sum;
}

double histo_quantile(const struct histo *h, double q)
{
	double rank, start = 0;
	uint64_t below = 0;
	unsigned int b;

	if (!h->total)
		return 0;
	rank = q * (double)h->total;
	for (b = 0; b < h->n; b++) {
		if ((double)(below + h->count[b]) >= rank)
			break;
		below += h->count[b];
	}
	if (b == h->n)		/* above the last bound */
		return (double)h->bound[h->n - 1];
	if (b > 0)
		start = (double)h->bound[b - 1];
	return start + ((double)h->bound[b] - start) *
		       ((rank - (double)below) / (double)h->count[b]);
}

int histo_max(const struct histo *h)
{
	for (int i = (int)h->n; i >= 0; i--)
		if (h->count[i])
			return i;
	return -1;
}
