/*
 * cmd_scan.c - drugscan scan: decode trace codes from image files and
 * folders on N threads, one result per image in input order.
 *
 * Workers (audit/batch.c) take the next image, decode it with their own
 * ds_scanner, parse and render every code; the main thread writes the
 * results strictly in input order, so memory stays bounded however many
 * images there are.
 */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "audit.h"
#include "cli.h"
#include "render.h"
#include "scan_live.h"
#include "scanner.h"

static const ds_optspec scan_opts[] = {
	{"format", 'f', "FMT", "text|json|jsonl|csv", N_("output format (default text; json is one object per image and line)")},
	{"jobs", 'j', "N", NULL, N_("decode N images at once (default: number of cores)")},
	{"effort", 'e', "LEVEL", "fast|normal|thorough", N_("how hard to look (default normal: stop at the first trace code)")},
	{"max-pixels", 0, "N", NULL, N_("refuse images larger than N pixels (default 100000000)")},
	{"files-from", 0, "FILE", NULL, N_("also read image paths from FILE, one per line ('-' for stdin)")},
	{"lang", 0, "LANG", "zh|en", N_("language of messages (default from $LANG)")},
	{"insurance", 0, "TYPE", "employee|resident", N_("show the reimbursement policy for this insurance type")},
	{"data-dir", 0, "DIR", NULL, N_("where catalog.db lives (default $DRUGSCAN_HOME or $XDG_DATA_HOME/drugscan)")},
	{"camera", 0, NULL, NULL, N_("decode live from a V4L2 camera (the device may follow, default /dev/video0)")},
	{"frames", 0, "PATH", NULL, N_("run the live loop over recorded frames: a .y4m file or a folder of images")},
	{"window", 0, "SECONDS", NULL, N_("live: report a code again only after it was out of view this long (default 2)")},
	{"fps", 0, "N", NULL, N_("--frames from a folder: frames per second (default 10)")},
	{"quiet", 'q', NULL, NULL, N_("live: no terminal bell")},
	{"help", 'h', NULL, NULL, N_("show this help")},
	{NULL, 0, NULL, NULL, NULL},
};

static const ds_cmdspec scan_spec = {
	N_("scan [OPTIONS] IMAGE|DIR...  |  scan --camera [DEVICE]  |  scan --frames PATH"),
	N_("Decode drug trace codes from photos: PNG, JPEG (EXIF orientation respected),\n"
	"WebP and PNM. Folders are walked recursively in name order. Every code goes\n"
	"through the trace parser, so each has its kind, fields and issues. Code128,\n"
	"GS1-128, EAN/UPC, DataBar and QR are read with ZBar, DataMatrix with libdmtx."),
	scan_opts,
	N_("exit status: 0 every image had a code, 1 an image could not be read,\n"
	"2 usage error, 3 an alert (e.g. an expired box), 4 some image had no code.\n\n"
	"examples:\n"
	"  drugscan scan box.jpg\n"
	"  drugscan scan --format jsonl --jobs 2 photos/ > results.jsonl\n"
	"  drugscan scan --camera /dev/video0\n"),
};

typedef struct scan_job {
	ds_cli *cli;
	ds_format fmt;
	ds_scan_opts sopts;
	const char *data_dir, *insurance;
	int no_catalog;
	char **files;
	int all;         /* DS_IMG_* of every image so far */
	int write_error;
} scan_job;

/* ---- one image ---- */

/* The CSV row of one decoded code. */
static void csv_code_row(FILE *mem, const char *file, const ds_symbol *sym, const ds_code *code,
                         const ds_verdict *verdict, double elapsed_ms)
{
	const ds_label *labels = verdict->labels;
	size_t nl = verdict->nlabels, j, k;
	char q[16];
	ds_buf cell = DS_BUF_INIT;

	ds_csv_cell(mem, file, strlen(file), 0);
	ds_csv_cell(mem, "decoded", 7, 0);
	ds_csv_cell(mem, "", 0, 0);
	for (j = 0; j < code->text_len; j++)
		if ((unsigned char)code->text[j] == 0x1D)
			ds_buf_puts(&cell, "<GS>");
		else
			ds_buf_putc(&cell, code->text[j]);
	ds_csv_cell(mem, cell.ptr ? cell.ptr : "", cell.len, 0);
	ds_csv_cell(mem, ds_kind_name(code->kind), strlen(ds_kind_name(code->kind)), 0);
	ds_csv_cell(mem, code->valid ? "true" : "false", code->valid ? 4 : 5, 0);
	ds_csv_cell(mem, sym->symbology, strlen(sym->symbology), 0);
	ds_buf_clear(&cell);
	for (k = 0; k < nl; k++)
		ds_buf_printf(&cell, "%s%s", k ? ";" : "", labels[k].id);
	ds_csv_cell(mem, cell.ptr ? cell.ptr : "", cell.len, 0);
	ds_buf_clear(&cell);
	for (k = 0; k < 4; k++)
		ds_buf_printf(&cell, "%s%.0f %.0f", k ? ";" : "", sym->pos[k][0], sym->pos[k][1]);
	ds_csv_cell(mem, cell.ptr, cell.len, 0);
	ds_csv_cell(mem, verdict->drug ? verdict->drug->nhsa_code : "", verdict->drug ? strlen(verdict->drug->nhsa_code) : 0, 0);
	ds_csv_cell(mem, verdict->drug ? verdict->drug->generic_name : "",
	            verdict->drug ? strlen(verdict->drug->generic_name) : 0, 0);
	snprintf(q, sizeof(q), "%.1f", elapsed_ms);
	ds_csv_cell(mem, q, strlen(q), 1);
	ds_buf_free(&cell);
}

static int render_image(scan_job *job, ds_buf *out, const char *file, const ds_scan_result *res,
                        const char *error, ds_image_worker *w)
{
	ds_verdict *v = &w->verdict;
	ds_code *code = &w->code;
	ds_lang lang = job->cli->lang;
	json_t *line;
	FILE *mem = NULL;
	char *membuf = NULL;
	size_t memlen = 0, i;
	int flags = error ? DS_IMG_ERROR : res->count == 0 ? DS_IMG_NO_CODE : DS_IMG_FOUND;

	if (job->fmt == DS_FMT_JSON) {
		char *s;
		line = ds_scan_json(file, res, error, w, lang, &flags);
		s = line ? json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
		json_decref(line);
		if (!s)
			return -1;
		ds_buf_puts(out, s);
		ds_buf_putc(out, '\n');
		free(s);
		return flags;
	} else {
		mem = open_memstream(&membuf, &memlen);
		if (!mem)
			return -1;
		if (job->fmt == DS_FMT_TEXT) {
			if (error && strstr(error, file))
				fprintf(mem, "%s\n", error); /* the message already names the file */
			else if (error)
				fprintf(mem, "%s: %s\n", file, error);
			else if (!res->count)
				fprintf(mem, "%s: %s\n", file, _("no code found"));
			else
				fprintf(mem, "== %s\n", file);
		} else if (error || !res->count) {
			char ms[32];
			int k;
			snprintf(ms, sizeof(ms), "%.1f", res->elapsed_ms);
			ds_csv_cell(mem, file, strlen(file), 0);
			ds_csv_cell(mem, error ? "error" : "no_code", error ? 5 : 7, 0);
			ds_csv_cell(mem, error ? error : "", error ? strlen(error) : 0, 0);
			for (k = 0; k < 8; k++) /* text .. generic_name: empty, the row keeps every column */
				ds_csv_cell(mem, "", 0, 0);
			ds_csv_cell(mem, ms, strlen(ms), 1);
		}
	}
	for (i = 0; !error && i < res->count; i++) {
		const ds_symbol *sym = &res->symbols[i];
		ds_trace_parse(code, sym->data, sym->len, sym->symbology, sym->aim, &w->trace);
		if (ds_catalog_judge(w->cat, code, &w->lookup, v, NULL) < 0)
			flags |= DS_IMG_LOOKUP_FAILED; /* the code carries catalog.error */
		if (ds_verdict_has_alert(v))
			flags |= DS_IMG_ALERT;
		if (job->fmt == DS_FMT_TEXT && res->has_trace && code->kind == DS_KIND_PRODUCT_BARCODE) {
			/* the trace code is in the photo too: the product barcode is only a side note */
			fprintf(mem, _("  · also a product barcode %.*s (not a trace code)\n"), (int)code->text_len, code->text);
		} else if (job->fmt == DS_FMT_TEXT) {
			ds_buf tmp = DS_BUF_INIT;
			ds_render_text(mem, lang, &tmp, sym->data, sym->len, v);
			ds_buf_free(&tmp);
		} else {
			csv_code_row(mem, file, sym, code, v, res->elapsed_ms);
		}
	}
	fclose(mem);
	ds_buf_put(out, membuf, memlen);
	free(membuf);
	return flags;
}

static void *scan_worker_new(void *ctx)
{
	scan_job *job = ctx;

	return ds_image_worker_new(&job->sopts, job->data_dir, job->insurance, job->cli->lang, job->no_catalog);
}

static void scan_worker_free(void *ctx, void *state)
{
	(void)ctx;
	ds_image_worker_free(state);
}

static int scan_work(void *ctx, void *state, size_t i, ds_buf *out)
{
	scan_job *job = ctx;
	ds_image_worker *w = state;
	ds_scan_result res;
	ds_error err;
	int rc, flags;

	memset(&res, 0, sizeof(res));
	ds_error_clear(&err);
	if (!w)
		return -1;
	rc = ds_scanner_scan_file(w->scanner, job->files[i], &res, &err);
	flags = render_image(job, out, job->files[i], &res, rc < 0 ? err.message : NULL, w);
	ds_scan_result_free(&res);
	return flags;
}

static int scan_emit(void *ctx, size_t i, const ds_buf *b, int flags)
{
	scan_job *job = ctx;

	(void)i;
	job->all |= flags < 0 ? DS_IMG_ERROR : flags;
	if (flags < 0) {
		fprintf(job->cli->err, _("%s: out of memory\n"), job->cli->prog);
		return DS_ENOMEM;
	}
	if (b->len && fwrite(b->ptr, 1, b->len, job->cli->out) != b->len)
		job->write_error = 1;
	if (job->fmt == DS_FMT_JSON)
		fflush(job->cli->out);
	return DS_OK;
}

static int csv_header(FILE *f)
{
	static const char *cols[] = {"file", "status", "error", "text", "kind", "valid", "symbology", "labels",
	                             "position", "nhsa_code", "generic_name", "elapsed_ms"};
	size_t i;

	for (i = 0; i < sizeof(cols) / sizeof(cols[0]); i++)
		if (ds_csv_cell(f, cols[i], strlen(cols[i]), i + 1 == sizeof(cols) / sizeof(cols[0])) < 0)
			return -1;
	return 0;
}

static int run_batch(scan_job *job, size_t nfiles, int jobs)
{
	static const ds_batch_ops ops = {scan_worker_new, scan_worker_free, scan_work, scan_emit};

	if (job->fmt == DS_FMT_CSV)
		csv_header(job->cli->out);
	if (ds_batch_run(nfiles, jobs, &ops, job) != DS_OK)
		job->all |= DS_IMG_ERROR;
	if (job->fmt == DS_FMT_TEXT && (job->all & DS_IMG_FOUND))	/* the note is about codes: none, no note */
		fprintf(job->cli->out, "\n%s\n", ds_note_text(job->cli->lang));
	if (fflush(job->cli->out) != 0 || ferror(job->cli->out) || job->write_error) {
		fprintf(job->cli->err, _("%s: cannot write output: %s\n"), job->cli->prog, strerror(errno));
		job->cli->out_failed = 1;
		job->all |= DS_IMG_ERROR;
	}
	return job->all;
}

int ds_cmd_scan(ds_cli *cli, int argc, char **argv)
{
	ds_optvals v;
	ds_error err;
	scan_job job;
	ds_files files = {0};
	long jobs = sysconf(_SC_NPROCESSORS_ONLN), maxpx = 0;
	int rc, i, flags;

	rc = ds_cli_begin(cli, &scan_spec, "scan", &v, argc, argv);
	if (rc >= 0)
		goto done;
	memset(&job, 0, sizeof(job));
	job.cli = cli;
	ds_format_parse(&job.fmt, ds_opts_get(&v, &scan_spec, "format"));
	ds_effort_parse(&job.sopts.effort, ds_opts_get(&v, &scan_spec, "effort"));
	if (jobs < 1)
		jobs = 1;
	if (ds_opt_long(&jobs, ds_opts_get(&v, &scan_spec, "jobs"), 1, 256) < 0) {
		rc = ds_cli_usage_error(cli, "scan", _("--jobs needs a number from 1 to 256"));
		goto done;
	}
	if (ds_opt_long(&maxpx, ds_opts_get(&v, &scan_spec, "max-pixels"), 1, 4000000000L) < 0) {
		rc = ds_cli_usage_error(cli, "scan", _("--max-pixels needs a positive number"));
		goto done;
	}
	job.sopts.max_pixels = (uint64_t)maxpx;
	job.sopts.trace_passes = getenv("DRUGSCAN_DEBUG") && strstr(getenv("DRUGSCAN_DEBUG"), "passes");
	job.data_dir = ds_opts_get(&v, &scan_spec, "data-dir");
	job.insurance = ds_opts_get(&v, &scan_spec, "insurance");
	if (ds_catalog_probe(job.data_dir, job.insurance, &err) < 0) {
		fprintf(cli->err, _("%s: %s; codes are decoded without the catalog\n"), cli->prog, err.message);
		job.no_catalog = 1;
	}
	if (ds_opts_has(&v, &scan_spec, "camera") || ds_opts_get(&v, &scan_spec, "frames")) {
		rc = ds_scan_live(cli, &scan_spec, &v, job.fmt, &job.sopts);
		goto done;
	}
	if (ds_opts_get(&v, &scan_spec, "files-from")) {
		const char *from = ds_opts_get(&v, &scan_spec, "files-from");
		FILE *f = strcmp(from, "-") ? fopen(from, "r") : cli->in;
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		if (!f) {
			fprintf(cli->err, _("%s: cannot open '%s': %s\n"), cli->prog, from, strerror(errno));
			rc = DS_EXIT_ERROR;
			goto done;
		}
		while ((n = getline(&line, &cap, f)) > 0) {
			while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (n > 0 && ds_files_add(&files, line, 0) < 0)
				break;
		}
		free(line);
		if (f != cli->in)
			fclose(f);
	}
	if (v.nrest == 0 && files.n == 0) {
		rc = ds_cli_usage_error(cli, "scan", _("no image given: pass IMAGE or DIR..."));
		goto done;
	}
	for (i = 0; i < v.nrest; i++) {
		int r = ds_files_add_arg(&files, v.rest[i], ds_cli_note, cli, &err);
		if (r < 0)
			fprintf(cli->err, "%s: %s\n", cli->prog, err.message);
		if (r == DS_ENOMEM)
			break;
	}
	job.files = files.v;
	if (files.n == 0) {
		fprintf(cli->err, _("%s: no images found\n"), cli->prog);
		rc = DS_EXIT_NO_CODE;
		goto done;
	}
	flags = run_batch(&job, files.n, (int)jobs) | (job.no_catalog ? DS_IMG_ERROR : 0);
	rc = flags & (DS_IMG_ERROR | DS_IMG_LOOKUP_FAILED) ? DS_EXIT_ERROR
	     : flags & DS_IMG_ALERT   ? DS_EXIT_ALERT
	     : flags & DS_IMG_NO_CODE ? DS_EXIT_NO_CODE
	                              : DS_EXIT_OK;
done:
	ds_files_free(&files);
	free(v.rest);
	return rc;
}
