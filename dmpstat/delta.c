// SPDX-License-Identifier: GPL-2.0
/*
 * What each device did between two samples, and its rates.
 *
 * Devices are matched by kernel name with a merge of the two sorted samples.
 * A device counts "since then" (its current counters are the delta) when it
 * is new, when one of its counters went down (a reset), or when its
 * device-mapper name changed and the block layer's counters of its dm-N went
 * down (the kernel name was reused by a new device). A name change with no
 * counter going down is a rename (dmsetup rename): the counts go on. (A new
 * device that, under a reused kernel name, already did more I/O of every
 * kind than the removed one had is taken for a rename: its delta is then too
 * small, never negative.) The block layer's counters are judged on their
 * own (a reset of dmp's counters does not touch them), so a rate is never
 * negative nor made of a difference of unrelated counters. Histograms count
 * since the previous sample when the device did not restart, had them then
 * with the same bounds and none of their counts went down (hists_follow());
 * else since they were switched on (or reset): their current counts.
 *
 * The formulas of r_await, w_await, aqu-sz and %util are those of sysstat's
 * iostat -x (write_ext_stat() and compute_ext_disk_stats()): with the
 * interval itv in seconds and the block layer's times in milliseconds,
 *   r_await = d(rd_ticks) / d(rd_ios)       (0 when no read completed)
 *   w_await = d(wr_ticks) / d(wr_ios)
 *   aqu-sz  = d(time_in_queue) / itv / 1000
 *   %util   = d(io_ticks) / itv / 10
 */
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"

static bool any_down(const uint64_t *prev, const uint64_t *cur, int n)
{
	int i;

	for (i = 0; i < n; i++)
		if (cur[i] < prev[i])
			return true;
	return false;
}

static void disk_fields(const struct disk_stats *d, uint64_t f[6])
{
	f[0] = d->rd_ios;
	f[1] = d->rd_ticks;
	f[2] = d->wr_ios;
	f[3] = d->wr_ticks;
	f[4] = d->io_ticks;
	f[5] = d->time_in_queue;
}

static void one_delta(const struct dev *p, const struct dev *c,
		      struct dev_delta *o)
{
	uint64_t pf[6], cf[6];
	bool disk_down = false;
	int i;

	if (p && p->has_disk && c->has_disk) {
		disk_fields(&p->disk, pf);
		disk_fields(&c->disk, cf);
		disk_down = any_down(pf, cf, 6);
	}
	o->cur = c;
	o->restarted = !p || any_down(p->c, c->c, NCOUNTERS) ||
		       (strcmp(p->name, c->name) && disk_down);
	for (i = 0; i < NCOUNTERS; i++)
		o->c[i] = o->restarted ? c->c[i] : c->c[i] - p->c[i];
	o->hist_prev = NULL;
	if (!o->restarted && c->hist && p->hist && hists_follow(p->hist, c->hist))
		o->hist_prev = p->hist;

	o->has_disk = c->has_disk && (!p || p->has_disk);
	if (!o->has_disk)
		return;		/* none, or missed last time: no interval */
	if (!p || disk_down) {
		o->disk = c->disk;	/* a new block device: since it appeared */
		return;
	}
	o->disk.rd_ios = cf[0] - pf[0];
	o->disk.rd_ticks = cf[1] - pf[1];
	o->disk.wr_ios = cf[2] - pf[2];
	o->disk.wr_ticks = cf[3] - pf[3];
	o->disk.io_ticks = cf[4] - pf[4];
	o->disk.time_in_queue = cf[5] - pf[5];
}

size_t delta_compute(const struct sample *prev, const struct sample *cur,
		     keep_fn keep, void *arg, struct dev_delta **out)
{
	static struct dev_delta *buf;
	static size_t cap;
	size_t i, j = 0, n = 0;

	if (cur->n > cap) {
		buf = xrealloc(buf, cur->n, sizeof(*buf));
		cap = cur->n;
	}
	for (i = 0; i < cur->n; i++) {
		const struct dev *c = &cur->dev[i], *p = NULL;

		while (j < prev->n && dev_cmp(&prev->dev[j], c) < 0)
			j++;
		if (j < prev->n && dev_cmp(&prev->dev[j], c) == 0)
			p = &prev->dev[j];
		if (keep && !keep(arg, c))
			continue;
		one_delta(p, c, &buf[n++]);
	}
	*out = buf;
	return n;
}

bool delta_histo(const struct dev_delta *d, int k, uint64_t *buf,
		 struct histo *out)
{
	if (!d->cur->hist)
		return false;
	histo_sub(&d->cur->hist->h[k], d->hist_prev ? &d->hist_prev->h[k] : NULL,
		  buf, out);
	return true;
}

void rates_compute(const struct dev_delta *d, double secs, struct rates *r)
{
	const uint64_t *c = d->c;

	memset(r, 0, sizeof(*r));
	if (secs > 0) {
		r->r_s = (double)c[C_READS] / secs;
		r->w_s = (double)c[C_WRITES] / secs;
		r->rkb_s = (double)c[C_READ_BYTES] / 1024.0 / secs;
		r->wkb_s = (double)c[C_WRITE_BYTES] / 1024.0 / secs;
		r->d_s = (double)c[C_DISCARDS] / secs;
		r->f_s = (double)c[C_FLUSHES] / secs;
		r->err_s = (double)c[C_ERRORS] / secs;
	}
	if (c[C_READS])
		r->rareq_sz = (double)c[C_READ_BYTES] / 1024.0 / (double)c[C_READS];
	if (c[C_WRITES])
		r->wareq_sz = (double)c[C_WRITE_BYTES] / 1024.0 / (double)c[C_WRITES];

	r->has_disk = d->has_disk;
	if (!d->has_disk)
		return;
	if (d->disk.rd_ios)
		r->r_await = (double)d->disk.rd_ticks / (double)d->disk.rd_ios;
	if (d->disk.wr_ios)
		r->w_await = (double)d->disk.wr_ticks / (double)d->disk.wr_ios;
	if (secs > 0) {
		r->aqu_sz = (double)d->disk.time_in_queue / secs / 1000.0;
		r->util = (double)d->disk.io_ticks / secs / 10.0;
	}
}
