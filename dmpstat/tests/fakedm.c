// SPDX-License-Identifier: GPL-2.0
/*
 * A device-mapper that is not there, for the host tests of dmpstat's dm
 * ioctls (tests/run.py, LD_PRELOAD=build/fakedm.so): opening
 * /dev/mapper/control opens /dev/null, and the DM_* ioctls on any fd answer
 * from the environment:
 *
 *   FAKEDM_TABLES       NAME=START LEN TYPE PARAMS[,START LEN ...][;NAME=...]
 *                       the devices and their live tables
 *   FAKEDM_LOG          a file that gets a line "NAME SECTOR MESSAGE" for
 *                       each DM_TARGET_MSG
 *   FAKEDM_MSG_ERRNO    DM_TARGET_MSG fails with this errno (after the log)
 *   FAKEDM_OPEN_ERRNO   opening the control device fails with this errno
 *   FAKEDM_VERSION_ERRNO  DM_VERSION fails with this errno
 *
 * Only what dmpstat --histograms asks is answered: DM_VERSION,
 * DM_DEV_STATUS and DM_TABLE_STATUS by name, DM_TARGET_MSG; anything else
 * is ENOTTY.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dm-ioctl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#define CONTROL "/dev/mapper/control"

static int env_errno(const char *var)
{
	const char *v = getenv(var);

	return v && *v ? atoi(v) : 0;
}

/* open(2) by the libc's symbol sym, but the control device is /dev/null */
static int fake_open(const char *sym, const char *path, int flags, int mode)
{
	int (*real)(const char *, int, ...) =
		(int (*)(const char *, int, ...))dlsym(RTLD_NEXT, sym);
	int e = env_errno("FAKEDM_OPEN_ERRNO");

	if (strcmp(path, CONTROL))
		return real(path, flags, mode);
	if (e) {
		errno = e;
		return -1;
	}
	return real("/dev/null", flags, mode);
}

/* the mode argument of open(), there or not */
#define MODE_ARG(flags, mode) do {		\
	va_list ap;				\
	va_start(ap, flags);			\
	mode = (flags) & (O_CREAT | O_TMPFILE) ? va_arg(ap, int) : 0; \
	va_end(ap);				\
} while (0)

int open(const char *path, int flags, ...);
int open(const char *path, int flags, ...)
{
	int mode;

	MODE_ARG(flags, mode);
	return fake_open("open", path, flags, mode);
}

int open64(const char *path, int flags, ...);
int open64(const char *path, int flags, ...)
{
	int mode;

	MODE_ARG(flags, mode);
	return fake_open("open64", path, flags, mode);
}

/* The table of name in FAKEDM_TABLES (a copy, "START LEN TYPE PARAMS,..."),
 * or NULL. */
static char *table_of(const char *name)
{
	const char *t = getenv("FAKEDM_TABLES"), *p;
	size_t nl = strlen(name);

	for (p = t; p && *p; p = strchr(p, ';') ? strchr(p, ';') + 1 : NULL)
		if (!strncmp(p, name, nl) && p[nl] == '=')
			return strndup(p + nl + 1, strcspn(p + nl + 1, ";"));
	return NULL;
}

static int fail(int e)
{
	errno = e;
	return -1;
}

static int table_status(struct dm_ioctl *io, char *table)
{
	char *data = (char *)io + io->data_start, *end = (char *)io + io->data_size;
	char *save = NULL, *tgt;
	uint32_t off = 0, n = 0;

	for (tgt = strtok_r(table, ",", &save); tgt; tgt = strtok_r(NULL, ",", &save)) {
		struct dm_target_spec *sp = (void *)(data + off);
		unsigned long long start, len;
		char type[DM_MAX_TYPE_NAME];
		int used;
		size_t need;

		if (sscanf(tgt, "%llu %llu %15s %n", &start, &len, type, &used) < 3)
			return fail(EINVAL);
		need = (sizeof(*sp) + strlen(tgt + used) + 1 + 7) & ~(size_t)7;
		if (data + off + need > end) {
			io->flags |= DM_BUFFER_FULL_FLAG;
			return 0;
		}
		memset(sp, 0, sizeof(*sp));
		sp->sector_start = start;
		sp->length = len;
		snprintf(sp->target_type, sizeof(sp->target_type), "%s", type);
		strcpy((char *)(sp + 1), tgt + used);
		off += (uint32_t)need;
		sp->next = off;
		n++;
	}
	io->target_count = n;
	return 0;
}

int ioctl(int fd, unsigned long req, ...);
int ioctl(int fd, unsigned long req, ...)
{
	int (*real)(int, unsigned long, ...) =
		(int (*)(int, unsigned long, ...))dlsym(RTLD_NEXT, "ioctl");
	struct dm_ioctl *io;
	char *table;
	va_list ap;
	void *arg;
	int e, r = 0;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (_IOC_TYPE(req) != DM_IOCTL)
		return real(fd, req, arg);
	io = arg;
	if (req == DM_VERSION)
		return (e = env_errno("FAKEDM_VERSION_ERRNO")) ? fail(e) : 0;
	if (req != DM_DEV_STATUS && req != DM_TABLE_STATUS && req != DM_TARGET_MSG)
		return fail(ENOTTY);
	table = table_of(io->name);
	if (!table)
		return fail(ENXIO);
	io->flags |= DM_ACTIVE_PRESENT_FLAG;
	if (req == DM_TABLE_STATUS) {
		r = table_status(io, table);
	} else if (req == DM_TARGET_MSG) {
		struct dm_target_msg *m = (void *)((char *)io + io->data_start);
		const char *log = getenv("FAKEDM_LOG");
		FILE *f = log ? fopen(log, "a") : NULL;

		if (f) {
			fprintf(f, "%s %llu %s\n", io->name,
				(unsigned long long)m->sector, m->message);
			fclose(f);
		}
		if ((e = env_errno("FAKEDM_MSG_ERRNO")))
			r = fail(e);
	}
	free(table);
	return r;
}
