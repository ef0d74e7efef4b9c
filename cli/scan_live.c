/*
 * scan_live.c - drugscan scan --camera / --frames: the live loop.
 *
 * Frames come from a V4L2 camera through ZBar's video API, from a recorded
 * .y4m file, or from a folder of images (at --fps). Each frame is decoded;
 * a code is reported when it appears, and again only after it has been out
 * of view for the suppression window (default 2 s), so one box held in front
 * of the camera is reported once. A new code rings the terminal bell.
 *
 * Deliberate re-scans of a code already sold are the ledger's business, not
 * this loop's: here only frame repeats are suppressed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zbar.h>

#include "audit.h"
#include "cli.h"
#include "render.h"
#include "scan_live.h"
#include "signals.h"

typedef struct seen {
	char *payload; /* owned */
	double last;   /* seconds, frame clock */
} seen;

typedef struct live {
	ds_cli *cli;
	ds_format fmt;
	ds_scanner *scanner;
	ds_code code;
	ds_catalog *cat;
	ds_trace_opts trace;
	ds_lookup_opts lookup;
	ds_verdict verdict;
	double window;
	int quiet;
	seen *seen;
	size_t nseen, capseen;
	unsigned long frames, reported;
	int alert, lookup_failed;
	double t0;          /* camera: the clock when the loop started */
} live;

typedef struct source {
	int kind; /* 0 camera, 1 y4m, 2 folder */
	zbar_video_t *video;
	FILE *y4m;
	int w, h;
	size_t frame_bytes; /* y4m: bytes of one frame after its header line */
	double fps;
	char **files;
	size_t nfiles, next;
	uint8_t *buf;
} source;

static double mono_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ---- sources ---- */

static int open_camera(source *src, const char *dev, ds_cli *cli)
{
	struct stat st;
	int fd;

	if (stat(dev, &st) != 0) {
		fprintf(cli->err, _("%s: no camera at '%s' (is a webcam plugged in? try --frames to replay a recording)\n"),
		        cli->prog, dev);
		return -1;
	}
	fd = open(dev, O_RDWR | O_NONBLOCK);
	if (fd < 0) {
		fprintf(cli->err, _("%s: cannot open camera '%s': %s\n"), cli->prog, dev,
		        errno == EBUSY ? _("it is busy (in use by another program)") : strerror(errno));
		return -1;
	}
	close(fd);
	src->video = zbar_video_create();
	if (!src->video || zbar_video_open(src->video, dev) != 0 ||
	    zbar_video_init(src->video, zbar_fourcc('Y', '8', '0', '0')) != 0 || zbar_video_enable(src->video, 1) != 0) {
		const char *why = src->video ? zbar_video_error_string(src->video, 0) : _("out of memory");
		/* ZBar's message spans lines: keep its last non-empty one, the reason */
		char reason[256];
		snprintf(reason, sizeof(reason), "%s", _("unknown error"));
		if (why) {
			const char *end = why + strlen(why), *line;
			while (end > why && (end[-1] == '\n' || end[-1] == ' '))
				end--;
			line = end;
			while (line > why && line[-1] != '\n')
				line--;
			while (*line == ' ' || *line == '\t')
				line++;
			snprintf(reason, sizeof(reason), "%.*s", (int)(end - line), line);
		}
		fprintf(cli->err, _("%s: cannot start camera '%s': %s\n"), cli->prog, dev,
		        strstr(reason, "busy") || strstr(reason, "Busy") ? _("it is busy (in use by another program)") : reason);
		return -1;
	}
	return 0;
}

/* The number of a header tag ("640" of "W640"), or 0 when it is not a positive int. */
static long tag_number(const char *s)
{
	long v = 0;

	return ds_opt_long(&v, s, 1, INT_MAX) < 0 ? 0 : v;
}

/* YUV4MPEG2 header: "YUV4MPEG2 W640 H480 F30:1 C420jpeg ...". Only the Y plane is used. */
static int open_y4m(source *src, const char *path, ds_cli *cli)
{
	char line[512];
	char *tok, *save = NULL;
	long num = 25, den = 1;
	const char *cs = "420";

	src->y4m = fopen(path, "rb");
	if (!src->y4m) {
		fprintf(cli->err, _("%s: cannot open '%s': %s\n"), cli->prog, path, strerror(errno));
		return -1;
	}
	if (!fgets(line, sizeof(line), src->y4m) || strncmp(line, "YUV4MPEG2 ", 10)) {
		fprintf(cli->err, _("%s: '%s': not a YUV4MPEG2 (.y4m) file\n"), cli->prog, path);
		return -1;
	}
	for (tok = strtok_r(line + 10, " \n", &save); tok; tok = strtok_r(NULL, " \n", &save)) {
		char *colon = strchr(tok, ':');
		if (tok[0] == 'W')
			src->w = (int)tag_number(tok + 1);
		else if (tok[0] == 'H')
			src->h = (int)tag_number(tok + 1);
		else if (tok[0] == 'F') {
			if (colon)
				*colon = '\0';
			num = tag_number(tok + 1);
			den = colon ? tag_number(colon + 1) : 1;
		} else if (tok[0] == 'C')
			cs = !strncmp(tok + 1, "mono", 4) ? "mono" : !strncmp(tok + 1, "444", 3) ? "444"
			     : !strncmp(tok + 1, "422", 3)  ? "422" : "420";
	}
	if (src->w <= 0 || src->h <= 0 || src->w > 16384 || src->h > 16384 || num <= 0 || den <= 0) {
		fprintf(cli->err, _("%s: '%s': bad YUV4MPEG2 header\n"), cli->prog, path);
		return -1;
	}
	src->fps = (double)num / (double)den;
	src->frame_bytes = (size_t)src->w * (size_t)src->h;
	if (!strcmp(cs, "420"))
		src->frame_bytes += 2 * ((size_t)(src->w + 1) / 2) * ((size_t)(src->h + 1) / 2);
	else if (!strcmp(cs, "422"))
		src->frame_bytes += 2 * ((size_t)(src->w + 1) / 2) * (size_t)src->h;
	else if (!strcmp(cs, "444"))
		src->frame_bytes *= 3;
	src->buf = malloc(src->frame_bytes);
	return src->buf ? 0 : -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int open_folder(source *src, const char *dir, double fps, ds_cli *cli)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	if (!d) {
		fprintf(cli->err, _("%s: cannot open '%s': %s\n"), cli->prog, dir, strerror(errno));
		return -1;
	}
	while ((e = readdir(d))) {
		char path[4096];
		if (e->d_name[0] == '.')
			continue;
		if (src->nfiles == cap) {
			char **v;
			cap = cap ? cap * 2 : 64;
			v = realloc(src->files, cap * sizeof(*v));
			if (!v)
				break;
			src->files = v;
		}
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		src->files[src->nfiles++] = strdup(path);
	}
	closedir(d);
	qsort(src->files, src->nfiles, sizeof(char *), cmp_str);
	src->fps = fps;
	return 0;
}

/* Next frame as a greyscale image. 1 with a frame, 0 at the end, -1 on error. */
static int next_frame(source *src, ds_image *img, double *t, ds_error *err)
{
	char line[256];

	if (src->kind == 0) {
		zbar_image_t *raw = zbar_video_next_image(src->video);
		zbar_image_t *gray;
		int rc;
		if (!raw)
			return ds_error_set(err, DS_EIO, _("camera stopped delivering frames")), -1;
		gray = zbar_image_convert(raw, zbar_fourcc('Y', '8', '0', '0'));
		zbar_image_destroy(raw);
		if (!gray)
			return ds_error_set(err, DS_EIO, _("cannot convert the camera frame")), -1;
		rc = ds_image_from_gray(img, zbar_image_get_data(gray), (int)zbar_image_get_width(gray),
		                        (int)zbar_image_get_height(gray), err);
		zbar_image_destroy(gray);
		*t = mono_s();
		return rc < 0 ? -1 : 1;
	}
	if (src->kind == 1) {
		if (!fgets(line, sizeof(line), src->y4m))
			return 0;
		if (strncmp(line, "FRAME", 5))
			return ds_error_set(err, DS_EINVAL, _("corrupt .y4m: expected FRAME")), -1;
		if (fread(src->buf, 1, src->frame_bytes, src->y4m) != src->frame_bytes)
			return 0; /* a cut-off last frame ends the recording */
		*t = src->next++ / src->fps;
		return ds_image_from_gray(img, src->buf, src->w, src->h, err) < 0 ? -1 : 1;
	}
	while (src->next < src->nfiles) {
		ds_load_opts lo = {0, 0};
		size_t i = src->next++;
		*t = i / src->fps;
		if (ds_image_load(img, src->files[i], &lo, err) == 0)
			return 1;
		/* not an image: skip it, as a camera would skip a bad frame */
	}
	return 0;
}

static void close_source(source *src)
{
	size_t i;

	if (src->video) {
		zbar_video_enable(src->video, 0);
		zbar_video_destroy(src->video);
	}
	if (src->y4m)
		fclose(src->y4m);
	for (i = 0; i < src->nfiles; i++)
		free(src->files[i]);
	free(src->files);
	free(src->buf);
}

/* ---- repeat suppression ---- */

/* 1 when the payload should be reported now. Every sighting refreshes it. */
static int fresh_sighting(live *l, const char *payload, double t)
{
	size_t i;

	for (i = 0; i < l->nseen; i++) {
		if (!strcmp(l->seen[i].payload, payload)) {
			int report = t - l->seen[i].last > l->window;
			l->seen[i].last = t;
			return report;
		}
	}
	if (l->nseen == l->capseen) {
		size_t cap = l->capseen ? l->capseen * 2 : 32;
		seen *v = realloc(l->seen, cap * sizeof(*v));
		if (!v)
			return 1;
		l->seen = v;
		l->capseen = cap;
	}
	l->seen[l->nseen].payload = strdup(payload);
	l->seen[l->nseen].last = t;
	if (l->seen[l->nseen].payload)
		l->nseen++;
	return 1;
}

static void report(live *l, const ds_symbol *sym, double t)
{
	ds_error err;

	ds_trace_parse(&l->code, sym->data, sym->len, sym->symbology, sym->aim, &l->trace);
	if (ds_catalog_judge(l->cat, &l->code, &l->lookup, &l->verdict, &err) < 0) {
		fprintf(l->cli->err, "%s: %s\n", l->cli->prog, err.message); /* and catalog.error in the answer */
		l->lookup_failed = 1;
	}
	l->alert |= ds_verdict_has_alert(&l->verdict);
	if (l->fmt == DS_FMT_JSON) {
		json_t *o = json_object(), *code = ds_code_json(&l->verdict, l->cli->lang);
		json_object_set_new(o, "format_version", json_integer(1));
		json_object_set_new(o, "frame", json_integer((json_int_t)l->frames));
		json_object_set_new(o, "time_s", json_real((double)(long)(t * 1000 + 0.5) / 1000));
		json_object_update(o, code);
		json_decref(code);
		json_dumpf(o, l->cli->out, JSON_COMPACT | JSON_REAL_PRECISION(9));
		fputc('\n', l->cli->out);
		json_decref(o);
	} else {
		ds_buf tmp = DS_BUF_INIT;
		ds_render_text(l->cli->out, l->cli->lang, &tmp, sym->data, sym->len, &l->verdict);
		ds_buf_free(&tmp);
	}
	if (fflush(l->cli->out) != 0 && !l->cli->out_failed) { /* nobody sees the answers: the loop stops */
		fprintf(l->cli->err, _("%s: cannot write output: %s\n"), l->cli->prog, strerror(errno));
		l->cli->out_failed = 1;
	}
	l->reported++;
	if (!l->quiet) {
		fputc('\a', l->cli->err);
		fflush(l->cli->err);
	}
}

int ds_scan_live(ds_cli *cli, const ds_cmdspec *spec, const ds_optvals *v, ds_format fmt,
                 const ds_scan_opts *sopts)
{
	const char *frames = ds_opts_get(v, spec, "frames");
	const char *win = ds_opts_get(v, spec, "window"), *fps = ds_opts_get(v, spec, "fps");
	ds_scan_opts so = *sopts;
	source src;
	live l;
	ds_error err;
	ds_sigcatch sig;
	int rc = DS_EXIT_OK, got;
	size_t i;

	memset(&src, 0, sizeof(src));
	memset(&l, 0, sizeof(l));
	l.cli = cli;
	l.fmt = fmt == DS_FMT_CSV ? DS_FMT_JSON : fmt;
	l.window = 2.0;
	l.quiet = ds_opts_has(v, spec, "quiet");
	if (ds_opt_double(&l.window, win, 0, 3600) < 0)
		return ds_cli_usage_error(cli, "scan", _("--window needs seconds from 0 to 3600"));
	if (v->nrest > 1 || (frames && v->nrest > 0))
		return ds_cli_usage_error(cli, "scan", _("live mode takes one camera device, or --frames PATH"));
	if (frames) {
		struct stat st;
		double f = 10.0;
		if (ds_opt_double(&f, fps, 0, 1000) < 0 || f <= 0)
			return ds_cli_usage_error(cli, "scan", _("--fps needs a number from 0 to 1000"));
		if (stat(frames, &st) != 0) {
			fprintf(cli->err, _("%s: cannot open '%s': %s\n"), cli->prog, frames, strerror(errno));
			return DS_EXIT_ERROR;
		}
		src.kind = S_ISDIR(st.st_mode) ? 2 : 1;
		got = src.kind == 2 ? open_folder(&src, frames, f, cli) : open_y4m(&src, frames, cli);
	} else {
		src.kind = 0;
		got = open_camera(&src, v->nrest ? v->rest[0] : "/dev/video0", cli);
	}
	if (got < 0) {
		close_source(&src);
		return DS_EXIT_ERROR;
	}
	if (!ds_opts_get(v, spec, "effort"))
		so.effort = DS_EFFORT_FAST; /* a live frame must keep up with the next one */
	l.scanner = ds_scanner_new(&so);
	ds_code_init(&l.code);
	ds_trace_opts_default(&l.trace);
	l.trace.exact = 1;
	l.lookup.lang = cli->lang;
	l.lookup.trace = &l.trace;
	ds_insurance_parse(&l.lookup.insurance, ds_opts_get(v, spec, "insurance"));
	if ((l.lookup_failed = ds_catalog_open_default(&l.cat, ds_opts_get(v, spec, "data-dir"), &err) < 0))
		fprintf(cli->err, _("%s: %s; codes are decoded without the catalog\n"), cli->prog, err.message);
	ds_sig_catch(&sig, 0); /* Ctrl-C: stop between frames, print the summary */
	while (l.scanner && !ds_sig_pending() && !cli->out_failed) {
		ds_image img;
		ds_scan_result res;
		double t;
		got = next_frame(&src, &img, &t, &err);
		if (got <= 0) {
			if (got < 0) {
				fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
				rc = DS_EXIT_ERROR;
			}
			break;
		}
		if (src.kind == 0) {
			if (!l.t0)
				l.t0 = t;
			t -= l.t0; /* seconds since the loop started, like a recording */
		}
		if (ds_scanner_decode(l.scanner, &img, &res, &err) == 0) {
			for (i = 0; i < res.count; i++)
				if (fresh_sighting(&l, (const char *)res.symbols[i].data, t))
					report(&l, &res.symbols[i], t);
			ds_scan_result_free(&res);
		}
		ds_image_free(&img);
		l.frames++;
	}
	ds_sig_restore(&sig);
	fprintf(cli->err, ngettext("%s: %lu frame, ", "%s: %lu frames, ", l.frames), cli->prog, l.frames);
	fprintf(cli->err, ngettext("%lu code reported\n", "%lu codes reported\n", l.reported), l.reported);
	for (i = 0; i < l.nseen; i++)
		free(l.seen[i].payload);
	free(l.seen);
	ds_code_free(&l.code);
	ds_catalog_close(l.cat);
	ds_scanner_free(l.scanner);
	close_source(&src);
	if (!l.scanner)
		return DS_EXIT_ERROR;
	if (rc == DS_EXIT_OK && (l.lookup_failed || cli->out_failed))
		rc = DS_EXIT_ERROR;
	return rc != DS_EXIT_OK ? rc : l.alert ? DS_EXIT_ALERT : l.reported ? DS_EXIT_OK : DS_EXIT_NO_CODE;
}
