/*
 * update.c - drugscan catalog update: fetch a manifest and its files over
 * HTTPS with libcurl, verify every sha256, import into a new database, copy
 * the pharmacy's own tables (local 对照 and policies) from the old one, and
 * rename it over the old one. Any failure leaves the old catalog as it was.
 *
 * Transport rules: https only (plain http only to a loopback address), TLS
 * verification always on, http/https as the only protocols, redirects
 * followed by hand (at most 5, each checked by the same rules, so a redirect
 * to file:// or to a plain-http host is refused), a size cap per file, a
 * connect timeout, a total timeout and a stall timeout.
 */
#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"


#define MAX_REDIRECTS 5
#define MAX_FILES 32

typedef struct fetch {
	ds_buf body;
	long long cap;
	int too_big;
	char etag[256];
	char last_modified[128];
	const char *label; /* for progress */
	int progress;
} fetch;


static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	fetch *f = ctx;
	size_t len = size * n;

	if ((long long)(f->body.len + len) > f->cap) {
		f->too_big = 1;
		return 0; /* makes curl stop with CURLE_WRITE_ERROR */
	}
	return ds_buf_put(&f->body, data, len) == DS_OK ? len : 0;
}

static void header_value(const char *line, size_t len, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	if (len > n && !strncasecmp(line, name, n)) {
		const char *v = line + n;
		size_t vl = len - n;
		while (vl && (*v == ' ' || *v == '\t'))
			v++, vl--;
		while (vl && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' '))
			vl--;
		snprintf(out, size, "%.*s", (int)vl, v);
	}
}

static size_t on_header(char *data, size_t size, size_t n, void *ctx)
{
	fetch *f = ctx;
	size_t len = size * n;

	header_value(data, len, "etag:", f->etag, sizeof(f->etag));
	header_value(data, len, "last-modified:", f->last_modified, sizeof(f->last_modified));
	return len;
}

static int on_progress(void *ctx, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	fetch *f = ctx;

	(void)ultotal;
	(void)ulnow;
	if (f->progress && dltotal > 0)
		fprintf(stderr, "\rdrugscan: downloading %s %3d%%", f->label, (int)(dlnow * 100 / dltotal));
	return 0;
}

/* The transfer options of one request: limits, TLS always verified, no automatic redirects. */
static void set_options(CURL *c, const char *url, const ds_update_opts *o, fetch *f, char *errbuf)
{
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file)
		curl_easy_setopt(c, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, o->connect_timeout_s > 0 ? o->connect_timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 60L);
	/* a server that stops sending: under 1 byte/s for 10 s ends the transfer */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, o->timeout_s > 0 && o->timeout_s < 10 ? o->timeout_s : 10L);
	curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)f->cap);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, f);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, f);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "drugscan/catalog-update");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (f->progress) {
		curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
		curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
		curl_easy_setopt(c, CURLOPT_XFERINFODATA, f);
	}
}

/*
 * GET url into f->body, following redirects by hand. With etag/modified set,
 * a conditional GET; returns 304 in *status when nothing changed.
 */
static int get(const char *url, const ds_update_opts *o, const char *etag, const char *modified, fetch *f,
               long *status, char **final_url, ds_error *err)
{
	char *current = strdup(url);
	int hops, rc = DS_OK;

	if (!current)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	for (hops = 0;; hops++) {
		CURL *c;
		struct curl_slist *hdrs = NULL;
		char errbuf[CURL_ERROR_SIZE] = "", hdr[512];
		CURLcode cc;
		char *location = NULL;

		if ((rc = ds_url_policy_check(current, err)) < 0)
			break;
		c = curl_easy_init();
		if (!c) {
			rc = ds_error_set(err, DS_ENOMEM, "out of memory");
			break;
		}
		ds_buf_clear(&f->body);
		f->too_big = 0;
		f->etag[0] = f->last_modified[0] = '\0';
		set_options(c, current, o, f, errbuf);
		if (etag && *etag) {
			snprintf(hdr, sizeof(hdr), "If-None-Match: %s", etag);
			hdrs = curl_slist_append(hdrs, hdr);
		}
		if (modified && *modified) {
			snprintf(hdr, sizeof(hdr), "If-Modified-Since: %s", modified);
			hdrs = curl_slist_append(hdrs, hdr);
		}
		if (hdrs)
			curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
		cc = curl_easy_perform(c);
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
		if (cc == CURLE_OK && *status >= 300 && *status < 400 && *status != 304) {
			char *loc = NULL;
			curl_easy_getinfo(c, CURLINFO_REDIRECT_URL, &loc);
			if (loc)
				location = strdup(loc);
		}
		if (f->progress)
			fputc('\n', stderr);
		if (f->too_big || cc == CURLE_FILESIZE_EXCEEDED)
			rc = ds_error_set(err, DS_ELIMIT, "'%s' is larger than the %lld-byte limit", current, f->cap);
		else if (cc == CURLE_OPERATION_TIMEDOUT)
			rc = ds_error_set(err, DS_EIO, "'%s' timed out (%s)", current, errbuf[0] ? errbuf : "no data");
		else if (cc != CURLE_OK)
			rc = ds_error_set(err, DS_EIO, "cannot fetch '%s': %s", current, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		else if (*status >= 300 && *status < 400 && *status != 304 && !location)
			rc = ds_error_set(err, DS_EIO, "'%s': HTTP %ld redirect without a Location", current, *status);
		else if (*status >= 400 || (*status >= 100 && *status < 200))
			rc = ds_error_set(err, DS_EIO, "'%s': HTTP %ld", current, *status);
		curl_slist_free_all(hdrs);
		curl_easy_cleanup(c);
		if (rc < 0 || !location) {
			free(location);
			if (rc == DS_OK && final_url) {
				*final_url = current; /* relative names resolve against where we ended up */
				current = NULL;
			}
			break;
		}
		if (hops >= MAX_REDIRECTS) {
			free(location);
			rc = ds_error_set(err, DS_EIO, "'%s': more than %d redirects", url, MAX_REDIRECTS);
			break;
		}
		free(current);
		current = location;
	}
	free(current);
	return rc;
}

static int sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;
	static const char hex[] = "0123456789abcdef";

	if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) || n != 32)
		return -1;
	for (i = 0; i < 32; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
	return 0;
}

static int resolve(const char *base, const char *rel, char **out)
{
	CURLU *u = curl_url();
	int ok = u && curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	         curl_url_set(u, CURLUPART_URL, rel, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_URL, out, 0) == CURLUE_OK;

	curl_url_cleanup(u);
	return ok ? 0 : -1;
}

typedef struct manifest_file {
	char name[128];
	long long size;
	char sha256[65];
	ds_buf data;
} manifest_file;

static int parse_manifest(const ds_buf *body, char *version, size_t vsize, manifest_file *files, size_t *n,
                          ds_error *err)
{
	json_error_t je;
	json_t *root = json_loadb(body->ptr ? body->ptr : "", body->len, 0, &je), *arr, *item;
	size_t i;

	if (!root)
		return ds_error_set(err, DS_EINVAL, "manifest is not JSON: %s (line %d)", je.text, je.line);
	snprintf(version, vsize, "%s", json_string_value(json_object_get(root, "version")) ?
	                                   json_string_value(json_object_get(root, "version")) : "");
	arr = json_object_get(root, "files");
	if (!version[0] || !json_is_array(arr) || json_array_size(arr) == 0 || json_array_size(arr) > MAX_FILES) {
		json_decref(root);
		return ds_error_set(err, DS_EINVAL, "manifest needs a version and 1-%d files", MAX_FILES);
	}
	*n = 0;
	json_array_foreach(arr, i, item) {
		const char *name = json_string_value(json_object_get(item, "name"));
		const char *sha = json_string_value(json_object_get(item, "sha256"));
		json_t *size = json_object_get(item, "size");
		manifest_file *f = &files[(*n)++];
		size_t k;
		memset(f, 0, sizeof(*f));
		if (!name || !*name || strchr(name, '/') || strchr(name, '\\') || name[0] == '.' || strlen(name) >= sizeof(f->name) ||
		    !sha || strlen(sha) != 64 || !json_is_integer(size) || json_integer_value(size) < 0) {
			json_decref(root);
			return ds_error_set(err, DS_EINVAL, "manifest file %zu needs a plain name, a size and a sha256", i + 1);
		}
		snprintf(f->name, sizeof(f->name), "%s", name);
		for (k = 0; k < 64; k++)
			f->sha256[k] = (char)(sha[k] >= 'A' && sha[k] <= 'F' ? sha[k] - 'A' + 'a' : sha[k]);
		f->sha256[64] = '\0';
		f->size = json_integer_value(size);
	}
	json_decref(root);
	return DS_OK;
}

/* The last update's ETag and date, for a conditional GET; none when they cannot be read (the
 * whole manifest is fetched then, and the catalog is checked again when it is replaced). */
static void read_meta(const char *db_path, char *etag, size_t esize, char *modified, size_t msize, const char *url)
{
	ds_catalog *cat;
	sqlite3_stmt *st;

	etag[0] = modified[0] = '\0';
	if (access(db_path, F_OK) != 0 || ds_catalog_open(&cat, db_path, 0, NULL) < 0)
		return;
	if (sqlite3_prepare_v2(cat->db,
	                       "SELECT (SELECT value FROM meta WHERE key = 'update_etag'),"
	                       " (SELECT value FROM meta WHERE key = 'update_last_modified'),"
	                       " (SELECT value FROM meta WHERE key = 'update_url')",
	                       -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 2) &&
		    !strcmp((const char *)sqlite3_column_text(st, 2), url)) {
			if (sqlite3_column_text(st, 0))
				snprintf(etag, esize, "%s", (const char *)sqlite3_column_text(st, 0));
			if (sqlite3_column_text(st, 1))
				snprintf(modified, msize, "%s", (const char *)sqlite3_column_text(st, 1));
		}
		sqlite3_finalize(st);
	}
	ds_catalog_close(cat);
}

/* Import the verified files into a fresh database beside db_path, then swap it in. */
static int install(const char *db_path, const char *url, const char *version, const fetch *mf, manifest_file *files,
                   size_t n, ds_error *err)
{
	ds_buf tmp = DS_BUF_INIT;
	ds_catalog *cat = NULL;
	ds_import_report report;
	ds_import_opts io = {1, 0, 0, 0};
	const char *names[MAX_FILES];
	const unsigned char *data[MAX_FILES];
	size_t lens[MAX_FILES], i;
	int rc;

	memset(&report, 0, sizeof(report));
	ds_buf_printf(&tmp, "%s.update-%ld", db_path, (long)getpid());
	unlink(tmp.ptr);
	rc = ds_catalog_open(&cat, tmp.ptr, 1, err);
	for (i = 0; i < n; i++) {
		names[i] = files[i].name;
		data[i] = (const unsigned char *)(files[i].data.ptr ? files[i].data.ptr : "");
		lens[i] = files[i].data.len;
	}
	if (rc == DS_OK)
		rc = cat_import_memory(cat, names, data, lens, n, &io, &report, url, err);
	if (rc < 0 && report.errors.ptr) {
		char first[DS_ERROR_MAX];
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(report.errors.ptr, "\n"), report.errors.ptr);
		ds_error_set(err, DS_EINVAL, "update not applied: %s", first);
	}
	/* the pharmacy's own 对照 and policies come along */
	if (rc == DS_OK && access(db_path, F_OK) == 0)
		rc = cat_copy_local(cat->db, db_path, err);
	if (rc == DS_OK && (cat_set_meta(cat->db, "version", version, err) < 0 ||
	                    cat_set_meta(cat->db, "update_url", url, err) < 0 ||
	                    cat_set_meta(cat->db, "update_etag", mf->etag, err) < 0 ||
	                    cat_set_meta(cat->db, "update_last_modified", mf->last_modified, err) < 0))
		rc = DS_EIO;
	ds_catalog_close(cat);
	if (rc == DS_OK)
		rc = ds_atomic_rename(tmp.ptr, db_path, err);
	if (rc != DS_OK) { /* nothing of it stays: the file and its journal */
		unlink(tmp.ptr);
		ds_buf_puts(&tmp, "-journal");
		if (tmp.ptr)
			unlink(tmp.ptr);
	}
	ds_import_report_free(&report);
	ds_buf_free(&tmp);
	return rc;
}

int ds_catalog_update(const char *db_path, const ds_update_opts *opts, ds_update_result *res, ds_error *err)
{
	fetch mf;
	manifest_file *files = calloc(MAX_FILES, sizeof(manifest_file));
	char etag[256], modified[128], version[64];
	char *base = NULL;
	size_t n = 0, i;
	long status = 0;
	int rc;

	memset(res, 0, sizeof(*res));
	memset(&mf, 0, sizeof(mf));
	if (!files)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	if (!opts || !opts->url || !*opts->url) {
		free(files);
		return ds_error_set(err, DS_EINVAL, "no update URL: pass --url");
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	mf.cap = 16 * 1024 * 1024;
	mf.label = "manifest";
	read_meta(db_path, etag, sizeof(etag), modified, sizeof(modified), opts->url);
	rc = get(opts->url, opts, etag, modified, &mf, &status, &base, err);
	if (rc == DS_OK && status == 304) {
		res->not_modified = 1;
		goto done;
	}
	if (rc == DS_OK)
		rc = parse_manifest(&mf.body, version, sizeof(version), files, &n, err);
	for (i = 0; rc == DS_OK && i < n; i++) {
		fetch ff;
		char *url = NULL, sha[65];
		memset(&ff, 0, sizeof(ff));
		ff.cap = opts->max_bytes > 0 ? opts->max_bytes : 512LL * 1024 * 1024;
		if (files[i].size > ff.cap) {
			rc = ds_error_set(err, DS_ELIMIT, "manifest: '%s' is %lld bytes, over the limit", files[i].name, files[i].size);
			break;
		}
		ff.cap = files[i].size; /* never accept more than the manifest announced */
		ff.label = files[i].name;
		ff.progress = opts->progress;
		if (resolve(base, files[i].name, &url) < 0) {
			rc = ds_error_set(err, DS_EINVAL, "manifest: cannot resolve '%s'", files[i].name);
			break;
		}
		rc = get(url, opts, NULL, NULL, &ff, &status, NULL, err);
		curl_free(url);
		if (rc == DS_OK && (long long)ff.body.len != files[i].size)
			rc = ds_error_set(err, DS_EIO, "'%s': got %zu bytes, the manifest says %lld (truncated?)", files[i].name,
			                  ff.body.len, files[i].size);
		if (rc == DS_OK && (sha256_hex(ff.body.ptr ? ff.body.ptr : "", ff.body.len, sha) < 0 ||
		                    strcmp(sha, files[i].sha256)))
			rc = ds_error_set(err, DS_EINVAL, "'%s': sha256 does not match the manifest", files[i].name);
		files[i].data = ff.body; /* ownership moves */
		res->bytes += (long long)ff.body.len;
		res->files++;
	}
	if (rc == DS_OK)
		rc = install(db_path, opts->url, version, &mf, files, n, err);
	if (rc == DS_OK)
		snprintf(res->version, sizeof(res->version), "%s", version);
done:
	for (i = 0; i < MAX_FILES; i++)
		ds_buf_free(&files[i].data);
	free(files);
	free(base);
	ds_buf_free(&mf.body);
	return rc;
}
