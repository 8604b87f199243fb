// SPDX-License-Identifier: GPL-2.0
/*
 * dmpstat --histograms on|off DEVICE...: switch the latency and size
 * histograms of dmp devices, as "dmsetup message DEVICE SECTOR histograms
 * on|off" does, through the device-mapper ioctl DM_TARGET_MSG (dm.c). The
 * state belongs to the device, so the message goes to its first dmp target,
 * wherever that starts in a table shared with other targets.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "dmpstat.h"
#include "dm.h"

/* 0 done, 1 error (said on stderr) */
static int switch_one(const char *arg, bool on)
{
	const char *msg = on ? "histograms on" : "histograms off";
	struct table tb = { 0 };
	char name[DM_NAME_LEN];
	size_t i;
	int e;

	e = dm_resolve(arg, name);
	if (e == ENXIO) {
		fprintf(stderr, "dmpstat: unknown device '%s': no device-mapper "
			"device has that name or number\n", arg);
		return 1;
	}
	if (!e)
		e = get_table(name, false, &tb);
	if (e) {
		fprintf(stderr, "dmpstat: %s: %s\n", arg, strerror(e));
		return 1;
	}
	for (i = 0; i < tb.n && strcmp(tb.t[i].type, "dmp"); i++)
		;
	if (i == tb.n) {
		fprintf(stderr, "dmpstat: %s: not a dmp device (no dmp target "
			"in its table: %s%s)\n", name,
			tb.n ? tb.t[0].type : "empty", tb.n > 1 ? ", ..." : "");
		table_free(&tb);
		return 1;
	}
	e = dm_message(name, tb.t[i].start, msg);
	table_free(&tb);
	if (e == EACCES || e == EPERM)
		fatal("--histograms needs root (CAP_SYS_ADMIN): %s", strerror(e));
	if (e == EINVAL) {
		fprintf(stderr, "dmpstat: %s: the dmp module refused '%s' "
			"(is it older than this dmpstat? see modinfo dmp)\n",
			name, msg);
		return 1;
	}
	if (e) {
		fprintf(stderr, "dmpstat: %s: cannot switch its histograms %s: "
			"%s\n", name, on ? "on" : "off", strerror(e));
		return 1;
	}
	return 0;
}

int histctl_main(bool on, int n, char *const *devs)
{
	int rc = 0;

	dm_open("histograms");
	for (int i = 0; i < n; i++)
		if (switch_one(devs[i], on))
			rc = 1;
	dm_close();
	flush_stdout();
	return rc;
}
