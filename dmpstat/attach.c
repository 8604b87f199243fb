// SPDX-License-Identifier: GPL-2.0
/*
 * dmpstat --attach / --detach DEVICE...: swap the `linear` targets of a live
 * device-mapper device to `dmp` (same arguments) and back, the way dmsetup
 * and LVM change a table: load the new table into the inactive slot, check
 * it, suspend (flushing, with the filesystem frozen), resume (which swaps in
 * the new table).
 *
 * Through the device-mapper ioctl interface (dm.c), so dmpstat stays
 * libc-only. Safe by construction:
 *   - nothing is suspended until the new table is loaded and read back equal
 *     to what was meant; a failed load is cleared (the inactive slot is left
 *     empty, as it was: a device that already has an inactive table is refused);
 *   - after the suspend, any failure restores the table the device had and
 *     resumes it (recover()), then checks that it did.
 * No udev cookie is passed (event_nr 0): see README.md, "Live attach".
 *
 * Test hooks (DMPSTAT_FAULT): "load" adds a bogus argument to the new dmp or
 * linear lines, so that the kernel rejects the load; "suspend" fails right
 * after the suspend, "resume" right after the resume, to exercise recover().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "dmpstat.h"
#include "dm.h"

static const char *fault;

/* Run MODPROBE dmp quietly (DMPSTAT_MODPROBE, default /sbin/modprobe). */
static void modprobe_dmp(void)
{
	const char *mp = getenv("DMPSTAT_MODPROBE");
	pid_t pid;
	int st;

	if (!mp || !*mp)
		mp = "/sbin/modprobe";
	pid = fork();
	if (pid < 0)
		return;
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(mp, mp, "dmp", (char *)NULL);
		_exit(127);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/*
 * After a failure once the device may have been suspended: drop any inactive
 * table, bring back the table `old` if the live one is not it, resume, and
 * check. true if the device is as it was.
 */
static bool recover(const char *name, const struct table *old, bool ro)
{
	struct table live = { 0 };
	struct dm_ioctl st;
	bool ok;
	int e;

	dm_simple(DM_TABLE_CLEAR, name, 0, NULL);
	e = get_table(name, false, &live);
	if (e) {
		fprintf(stderr, "dmpstat: %s: cannot read the live table: %s\n",
			name, strerror(e));
	} else if (!table_eq(&live, old)) {
		e = load_table(name, old, ro);
		if (e)
			fprintf(stderr, "dmpstat: %s: cannot reload the old "
				"table: %s\n", name, strerror(e));
		else if (!dm_simple(DM_DEV_STATUS, name, 0, &st) &&
			 !(st.flags & DM_SUSPEND_FLAG))
			dm_simple(DM_DEV_SUSPEND, name, DM_SUSPEND_FLAG, NULL);
	}
	table_free(&live);
	if (!dm_simple(DM_DEV_STATUS, name, 0, &st) &&
	    (st.flags & DM_SUSPEND_FLAG)) {
		e = dm_simple(DM_DEV_SUSPEND, name, 0, NULL);	/* resume */
		if (e)
			fprintf(stderr, "dmpstat: %s: cannot resume: %s\n",
				name, strerror(e));
	}
	ok = !get_table(name, false, &live) && table_eq(&live, old) &&
	     !dm_simple(DM_DEV_STATUS, name, 0, &st) &&
	     !(st.flags & (DM_SUSPEND_FLAG | DM_INACTIVE_PRESENT_FLAG));
	table_free(&live);
	return ok;
}

/* Attach (or detach) one device. 0 done or nothing to do, 1 error. */
static int swap_one(const char *arg, bool attach)
{
	const char *from = attach ? "linear" : "dmp";
	const char *to = attach ? "dmp" : "linear";
	struct table old = { 0 }, want = { 0 }, got = { 0 };
	char name[DM_NAME_LEN];
	struct dm_ioctl st;
	size_t nswap = 0, nto = 0;
	double t0, t1, t2;
	bool ro;
	int e, rc = 1;

	e = dm_resolve(arg, name);
	if (e == ENXIO) {
		fprintf(stderr, "dmpstat: unknown device '%s': no device-mapper "
			"device has that name or number\n", arg);
		return 1;
	}
	if (e) {
		fprintf(stderr, "dmpstat: %s: %s\n", arg, strerror(e));
		return 1;
	}
	if ((e = dm_simple(DM_DEV_STATUS, name, 0, &st))) {
		fprintf(stderr, "dmpstat: %s: %s\n", name, strerror(e));
		return 1;
	}
	ro = st.flags & DM_READONLY_FLAG;
	if (!(st.flags & DM_ACTIVE_PRESENT_FLAG)) {
		fprintf(stderr, "dmpstat: %s: has no live table: not touched\n",
			name);
		return 1;
	}
	if (st.flags & DM_SUSPEND_FLAG) {
		fprintf(stderr, "dmpstat: %s: is suspended (by someone else): "
			"not touched\n", name);
		return 1;
	}
	if (st.flags & DM_INACTIVE_PRESENT_FLAG) {
		fprintf(stderr, "dmpstat: %s: already has an inactive table "
			"loaded (another tool at work?): not touched\n", name);
		return 1;
	}
	if ((e = get_table(name, false, &old))) {
		fprintf(stderr, "dmpstat: %s: cannot read its table: %s\n",
			name, strerror(e));
		return 1;
	}
	want.n = old.n;
	want.t = xcalloc(old.n, sizeof(*want.t));
	for (size_t i = 0; i < old.n; i++) {
		want.t[i] = old.t[i];
		want.t[i].params = xstrdup(old.t[i].params);
		if (!strcmp(old.t[i].type, from)) {
			snprintf(want.t[i].type, DM_MAX_TYPE_NAME, "%s", to);
			nswap++;
		} else if (!strcmp(old.t[i].type, to)) {
			nto++;
		}
	}
	if (nswap && fault && !strcmp(fault, "load"))
		for (size_t i = 0; i < want.n; i++)
			if (!strcmp(want.t[i].type, to) && strcmp(old.t[i].type, to)) {
				char *p = xrealloc(NULL, strlen(want.t[i].params) + 8, 1);

				sprintf(p, "%s bogus", want.t[i].params);
				free(want.t[i].params);
				want.t[i].params = p;
			}
	if (!nswap) {
		if (nto)
			printf("%s: already %s (%zu %s target%s): nothing to do\n",
			       name, attach ? "attached" : "detached", nto, to,
			       nto == 1 ? "" : "s");
		else
			printf("%s: no %s target (table: %s%s): nothing to do\n",
			       name, from, old.n ? old.t[0].type : "empty",
			       old.n > 1 ? ", ..." : "");
		flush_stdout();
		rc = 0;
		goto out;
	}
	if (attach && !target_registered("dmp")) {
		modprobe_dmp();
		if (!target_registered("dmp")) {
			fprintf(stderr, "dmpstat: %s: not attached: the dmp target "
				"is not available and 'modprobe dmp' did not load "
				"it (is the dmp module installed for this kernel?); "
				"the device is unchanged\n", name);
			goto out;
		}
	}

	/* 1. load the new table inactive, and check it */
	e = load_table(name, &want, ro);
	if (!e)
		e = get_table(name, true, &got);
	if (!e && !table_eq(&got, &want))
		e = EILSEQ;
	if (e) {
		dm_simple(DM_TABLE_CLEAR, name, 0, NULL);
		fprintf(stderr, "dmpstat: %s: not %s: loading the new table "
			"failed: %s%s; the device is unchanged\n", name,
			attach ? "attached" : "detached",
			e == EILSEQ ? "the kernel read it back different" :
			strerror(e),
			e == EINVAL ? " (the kernel log says why: dmesg | grep "
			"device-mapper)" : "");
		goto out;
	}

	/* 2. suspend (flush, freeze the filesystem), 3. resume: the swap */
	t0 = now_mono();
	e = dm_simple(DM_DEV_SUSPEND, name, DM_SUSPEND_FLAG, NULL);
	if (!e && fault && !strcmp(fault, "suspend"))
		e = EIO;
	if (e) {
		fprintf(stderr, "dmpstat: %s: not %s: suspend failed: %s\n", name,
			attach ? "attached" : "detached", strerror(e));
		goto restore;
	}
	t1 = now_mono();
	e = dm_simple(DM_DEV_SUSPEND, name, 0, &st);
	t2 = now_mono();
	if (!e && fault && !strcmp(fault, "resume"))
		e = EIO;
	if (e) {
		fprintf(stderr, "dmpstat: %s: not %s: resume failed: %s\n", name,
			attach ? "attached" : "detached", strerror(e));
		goto restore;
	}
	table_free(&got);
	e = get_table(name, false, &got);
	if (e || !table_eq(&got, &want) || (st.flags & DM_SUSPEND_FLAG)) {
		fprintf(stderr, "dmpstat: %s: not %s: the live table is not the "
			"new one after the resume\n", name,
			attach ? "attached" : "detached");
		goto restore;
	}
	printf("%s: %s: %zu %s target%s now %s (I/O paused %.1f ms: "
	       "suspend %.1f ms, resume %.1f ms)\n", name,
	       attach ? "attached" : "detached", nswap, from,
	       nswap == 1 ? "" : "s", to, (t2 - t0) * 1e3, (t1 - t0) * 1e3,
	       (t2 - t1) * 1e3);
	flush_stdout();
	rc = 0;
	goto out;

restore:
	if (recover(name, &old, ro))
		fprintf(stderr, "dmpstat: %s: restored: the old table is live "
			"and the device resumed\n", name);
	else
		fprintf(stderr, "dmpstat: %s: COULD NOT RESTORE the device: "
			"check 'dmsetup info %s' and 'dmsetup table %s'\n",
			name, name, name);
out:
	table_free(&old);
	table_free(&want);
	table_free(&got);
	return rc;
}

int attach_main(bool attach, int n, char *const *devs)
{
	int rc = 0;

	fault = getenv("DMPSTAT_FAULT");
	dm_open(attach ? "attach" : "detach");
	for (int i = 0; i < n; i++)
		if (swap_one(devs[i], attach))
			rc = 1;
	dm_close();
	return rc;
}
