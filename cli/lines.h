/*
 * lines.h - stdin lines as a USB handheld scanner types them, each answered before
 * the next read blocks (lineread.c).
 * Private to cli/.
 */
#ifndef DS_CLI_LINES_H
#define DS_CLI_LINES_H

#include <stddef.h>
#include <stdio.h>

typedef struct ds_line {
	const char *data;  /* not NUL-terminated when too_long */
	size_t len;        /* bytes kept in data (<= DS_TRACE_MAX_INPUT) */
	size_t full_len;   /* bytes the line really had */
	unsigned long no;  /* 1-based line number */
	int terminated;    /* ended by LF, CR LF or CR; 0 for a last line that only EOF ended */
} ds_line;

typedef struct ds_lines ds_lines;

ds_lines *ds_lines_open(FILE *in, FILE *flush_before_block);
/* 1 with a line, 0 at end of input, -1 on a read error (errno set; EINTR
 * included, and a line begun before it is dropped). A last line without its
 * end comes back at EOF with terminated 0: only EOF completes it. */
int ds_lines_next(ds_lines *r, ds_line *out);
void ds_lines_free(ds_lines *r);

#endif
