// SPDX-License-Identifier: GPL-2.0
/*
 * Prometheus text exposition format (version 0.0.4): every counter of every
 * device as dmp_<counter>_total{device="dm-N",name="<dm name>"}, all_devs as
 * its own families dmp_all_<counter>_total without labels, and the gauge
 * dmp_module_loaded. Counters are in base units (requests, bytes).
 */
#include <stdio.h>

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
	"Requests that completed with an error",
};

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
	flush_stdout();
}
