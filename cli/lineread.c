/*
 * lineread.c - one payload per line from stdin, as a USB handheld scanner
 * (a keyboard wedge) types them.
 *
 * Lines end with LF, CR LF or a lone CR (scanners are often set to send CR).
 * A line longer than DS_TRACE_MAX_INPUT is consumed to its end without being
 * stored, so a 1 GB line costs no memory; the caller sees its true length.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "lines.h"

#define CHUNK 65536

struct ds_lines {
	FILE *in;
	FILE *flush;        /* flushed before a read that may block */
	char buf[CHUNK];
	size_t pos, end;
	int eof, pending_cr;
	unsigned long no;
	char line[DS_TRACE_MAX_INPUT + 1];
};

ds_lines *ds_lines_open(FILE *in, FILE *flush_before_block)
{
	ds_lines *r = calloc(1, sizeof(*r));

	if (r) {
		r->in = in;
		r->flush = flush_before_block;
	}
	return r;
}

void ds_lines_free(ds_lines *r)
{
	free(r);
}

/*
 * read(2), not fread: fread keeps reading until its whole buffer is full,
 * so a scanner's line would wait for 64 KB more before it is answered. A
 * stream without a descriptor (fmemopen in the tests) falls back to fread.
 */
static int fill(ds_lines *r)
{
	ssize_t n;
	int fd = fileno(r->in);

	if (r->eof)
		return 0;
	if (r->flush)
		fflush(r->flush);
	if (fd < 0) {
		n = (ssize_t)fread(r->buf, 1, CHUNK, r->in);
		if (n == 0 && ferror(r->in))
			return -1;
	} else {
		n = read(fd, r->buf, CHUNK);
		if (n < 0)
			return -1; /* EINTR included: Ctrl-C at the counter ends the session */
	}
	if (n == 0) {
		r->eof = 1;
		return 0;
	}
	r->pos = 0;
	r->end = (size_t)n;
	return 1;
}

int ds_lines_next(ds_lines *r, ds_line *out)
{
	size_t kept = 0, total = 0;
	int got = 0;

	for (;;) {
		const char *p, *nl, *cr;
		size_t avail, take;

		if (r->pos == r->end) {
			int rc = fill(r);
			if (rc < 0)
				return -1;
			if (rc == 0)
				break;
		}
		p = r->buf + r->pos;
		avail = r->end - r->pos;
		if (r->pending_cr) {
			r->pending_cr = 0;
			if (*p == '\n') {
				r->pos++;
				continue;
			}
		}
		got = 1;
		nl = memchr(p, '\n', avail);
		cr = memchr(p, '\r', nl ? (size_t)(nl - p) : avail);
		if (cr)
			nl = cr;
		take = nl ? (size_t)(nl - p) : avail;
		if (kept < DS_TRACE_MAX_INPUT) {
			size_t room = DS_TRACE_MAX_INPUT - kept;
			size_t k = take < room ? take : room;
			memcpy(r->line + kept, p, k);
			kept += k;
		}
		total += take;
		r->pos += take;
		if (nl) {
			r->pos++;
			if (*nl == '\r')
				r->pending_cr = 1;
			out->terminated = 1;
			goto done;
		}
	}
	if (!got)
		return 0;
	out->terminated = 0;
done:
	r->line[kept] = '\0';
	out->data = r->line;
	out->len = total > DS_TRACE_MAX_INPUT ? DS_TRACE_MAX_INPUT : kept;
	out->full_len = total;
	out->no = ++r->no;
	return 1;
}
