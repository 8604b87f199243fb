// SPDX-License-Identifier: GPL-2.0
/*
 * What every part of dmpstat leans on: ending with a message (fatal), writing
 * stdout out (flush_stdout: a closed pipe ends dmpstat quietly, any other
 * write error is one), memory that cannot fail (xrealloc, xcalloc, xstrdup) and the
 * monotonic clock. Called by the other files; calls none of them.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dmpstat.h"

void flush_stdout(void)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return;
	if (errno == EPIPE)
		_exit(0);	/* the reader went away: not an error */
	fprintf(stderr, "dmpstat: write error: %s\n", strerror(errno));
	_exit(1);
}

void fatal(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fputs("dmpstat: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

void *xrealloc(void *p, size_t n, size_t size)
{
	size_t bytes = n * size;

	if (size && n > SIZE_MAX / size)
		fatal("out of memory");
	p = realloc(p, bytes ? bytes : 1);
	if (!p)
		fatal("out of memory");
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p)
		fatal("out of memory");
	return p;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p)
		fatal("out of memory");
	return p;
}

double now_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
