// SPDX-License-Identifier: GPL-2.0
/*
 * libFuzzer harness of parse.c (make fuzz FUZZ_SECONDS=30). The first byte
 * of the input picks the parser, the rest is the file content or argument.
 * Besides crashes and sanitizer reports, it checks what a parser accepted:
 * the numbers of a `stat` line are those strtoull reads, a name is one line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dmpstat.h"

/* parse.c calls nothing else of dmpstat's */
void fatal(const char *fmt, ...)
{
	(void)fmt;
	abort();
}

static void count_disk(void *arg, long minor, const struct disk_stats *d)
{
	(void)d;
	if (minor < 0)
		abort();
	++*(size_t *)arg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data + 1, *why = NULL;
	size_t len = size ? size - 1 : 0;
	uint64_t c[NCOUNTERS];
	struct disk_stats d;
	char name[DM_NAME_MAX], *str;
	unsigned long count;
	double secs;
	size_t n = 0;
	long minor;

	if (!size)
		return 0;
	switch (data[0] % 5) {
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
	}
	return 0;
}
