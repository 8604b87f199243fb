// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition format (version 0.0.4): every counter of every
 * device as dmp_<counter>_total{device="dm-N",name="<dm name>"}, all_devs as
 * its own families dmp_all_<counter>_total without labels, and the gauge
 * dmp_module_loaded. Counters are in base units (requests, bytes).
 *
 * The histograms of the devices that have them on are classic Prometheus
 * histograms in base units: dmp_read_latency_seconds, dmp_write_latency_seconds,
 * dmp_read_size_bytes, dmp_write_size_bytes (and dmp_all_... for all_devs),
 * each with its cumulative _bucket{le} series (+Inf last), _sum and _count.
 * A latency bound of n microseconds is printed as the exact decimal n / 10^6
 * ("0.000064"), a sum of nanoseconds as the exact decimal of seconds: the le
 * labels are the same strings on every run, as histogram_quantile() needs.
 */
#include <stdio.h>
#include <string.h>

#include "dmpstat.h"

static const char *const help[NCOUNTERS] = {
	"Read requests (bios) mapped by dmp",
	"Bytes read through dmp",
	"Write requests (bios carrying data) mapped by dmp",
	"Bytes written through dmp",
	"Discard and secure-erase requests mapped by dmp",
	"Bytes discarded through dmp",
	"Write-zeroes requests mapped by dmp",
	"Empty flush requests mapped by dmp",
	"Requests that completed with an error (not counting \"not supported\" and \"try again\")",
};

static const uint64_t le_inf;	/* its address stands for le="+Inf" */

/* A label value: backslash, double quote and newline escaped. */
static void label_value(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", stdout);
		else if (*s == '"')
			fputs("\\\"", stdout);
		else if (*s == '\n')
			fputs("\\n", stdout);
		else
			putchar(*s);
	}
	putchar('"');
}

static const char *const hist_family[NHIST] = {
	"read_latency_seconds", "write_latency_seconds",
	"read_size_bytes", "write_size_bytes",
};

static const char *const hist_help[NHIST] = {
	"Latency of read requests through dmp, from their mapping to their completion",
	"Latency of write requests through dmp, from their mapping to their completion",
	"Size of the read requests mapped by dmp",
	"Size of the write requests mapped by dmp",
};

/* v / 10^digits as an exact decimal, without trailing zeros: 64 us -> 0.000064 */
static void decimal(uint64_t v, unsigned int digits)
{
	uint64_t div = 1;
	char frac[24];
	size_t l;

	for (unsigned int i = 0; i < digits; i++)
		div *= 10;
	printf("%llu", (unsigned long long)(v / div));
	if (!(v % div))
		return;
	snprintf(frac, sizeof(frac), "%0*llu", (int)digits,
		 (unsigned long long)(v % div));
	for (l = strlen(frac); frac[l - 1] == '0'; l--)
		;
	printf(".%.*s", (int)l, frac);
}

/* The labels of a device's series: {device="dm-0",name="x"} or those of
 * all_devs (none); le appended when not NULL. */
static void labels(const struct dev *d, int k, const uint64_t *le)
{
	bool dev = d->minor != ALL_DEVS_MINOR;

	if (!dev && !le)
		return;
	putchar('{');
	if (dev) {
		fputs("device=", stdout);
		label_value(d->kname);
		fputs(",name=", stdout);
		label_value(d->name);
	}
	if (le) {
		fputs(dev ? ",le=\"" : "le=\"", stdout);
		if (le == &le_inf)
			fputs("+Inf", stdout);
		else if (HIST_IS_SIZE(k))
			printf("%llu", (unsigned long long)*le);
		else
			decimal(*le, 6);
		putchar('"');
	}
	putchar('}');
}

/* Histogram k of device d: its buckets, sum and count. */
static void histo_series(const char *family, const struct dev *d, int k)
{
	const struct histo *h = &d->hist->h[k];
	uint64_t cum = 0;

	for (unsigned int i = 0; i <= h->n; i++) {
		cum += h->count[i];
		printf("%s_bucket", family);
		labels(d, k, i < h->n ? &h->bound[i] : &le_inf);
		printf(" %llu\n", (unsigned long long)cum);
	}
	printf("%s_sum", family);
	labels(d, k, NULL);
	putchar(' ');
	if (HIST_IS_SIZE(k))
		printf("%llu", (unsigned long long)h->sum);
	else
		decimal(h->sum, 9);
	printf("\n%s_count", family);
	labels(d, k, NULL);
	printf(" %llu\n", (unsigned long long)cum);
}

/* The families of the histograms: of the devices that have them on (none if
 * no device does), then all_devs' when it has them. */
static void prom_hists(const struct dev *const *devs, size_t n,
		       const struct dev *all)
{
	char family[64];
	size_t i;
	int k;

	for (k = 0; k < NHIST; k++) {
		bool head = false;

		snprintf(family, sizeof(family), "dmp_%s", hist_family[k]);
		for (i = 0; i < n; i++) {
			if (devs[i]->minor == ALL_DEVS_MINOR || !devs[i]->hist)
				continue;
			if (!head)
				printf("# HELP %s %s, per device with histograms on, since they were switched on or reset.\n"
				       "# TYPE %s histogram\n", family,
				       hist_help[k], family);
			head = true;
			histo_series(family, devs[i], k);
		}
	}
	if (!all || !all->hist)
		return;
	for (k = 0; k < NHIST; k++) {
		snprintf(family, sizeof(family), "dmp_all_%s", hist_family[k]);
		printf("# HELP %s %s, all devices with histograms on, since the module was loaded or all_devs reset.\n"
		       "# TYPE %s histogram\n", family, hist_help[k], family);
		histo_series(family, all, k);
	}
}

void out_prometheus(const struct sample *s, const struct dev *const *devs,
		    size_t n)
{
	const struct dev *all = NULL;
	size_t i;
	int k;

	printf("# HELP dmp_module_loaded Whether the dmp module is loaded (1) or not (0).\n"
	       "# TYPE dmp_module_loaded gauge\n"
	       "dmp_module_loaded %d\n", s->loaded ? 1 : 0);
	if (!s->loaded) {
		flush_stdout();
		return;
	}
	for (i = 0; i < n; i++)
		if (devs[i]->minor == ALL_DEVS_MINOR)
			all = devs[i];
	for (k = 0; k < NCOUNTERS; k++) {
		printf("# HELP dmp_%s_total %s, per device, since its creation or reset.\n"
		       "# TYPE dmp_%s_total counter\n",
		       counter_names[k], help[k], counter_names[k]);
		for (i = 0; i < n; i++) {
			if (devs[i]->minor == ALL_DEVS_MINOR)
				continue;
			printf("dmp_%s_total{device=", counter_names[k]);
			label_value(devs[i]->kname);
			fputs(",name=", stdout);
			label_value(devs[i]->name);
			printf("} %llu\n", (unsigned long long)devs[i]->c[k]);
		}
	}
	if (all) {
		for (k = 0; k < NCOUNTERS; k++)
			printf("# HELP dmp_all_%s_total %s, all devices, since the module was loaded or all_devs reset.\n"
			       "# TYPE dmp_all_%s_total counter\n"
			       "dmp_all_%s_total %llu\n",
			       counter_names[k], help[k], counter_names[k],
			       counter_names[k], (unsigned long long)all->c[k]);
	}
	prom_hists(devs, n, all);
	flush_stdout();
}
