/*
 * http.c - one request from its headers to its answer: the route, the
 * Host and Origin rules, the token, the body and its limit, then the
 * route's handler; the headers every answer carries; CORS.
 */
#include <openssl/crypto.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "internal.h"

/* ---- replies ---- */

json_t *error_json(const char *id, const char *message)
{
	return json_pack("{s:s, s:s}", "id", id, "message", message);
}

int rep_json(reply *r, unsigned status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL; /* as the CLI prints ratios */

	json_decref(o);
	free(r->body);
	memset(r, 0, sizeof(*r));
	if (!s) {
		static const char oom[] = "{\"error\":{\"id\":\"server.out_of_memory\",\"message\":\"out of memory\"}}";
		r->status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		r->page = oom;
		r->len = sizeof(oom) - 1;
		r->ctype = "application/json";
		return DS_ENOMEM;
	}
	r->status = status;
	r->body = s;
	r->len = strlen(s);
	r->ctype = "application/json";
	return DS_OK;
}

int rep_buf(reply *r, unsigned status, ds_buf *json)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
	r->status = status;
	r->body = json->ptr;
	r->len = json->len;
	r->ctype = "application/json";
	memset(json, 0, sizeof(*json));
	return DS_OK;
}

int rep_error(reply *r, unsigned status, const char *id, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* a message may quote what the client sent: keep it valid UTF-8 */
	msg[ds_utf8_check((const unsigned char *)msg, strlen(msg))] = '\0';
	rep_json(r, status, json_pack("{s:o}", "error", error_json(id, msg)));
	return 0;
}

/* What a client sent, quoted in a message: at most 80 bytes of printable ASCII. */
static void quote(char *out, size_t size, const char *s)
{
	size_t i, n = 0;

	for (i = 0; s && s[i] && n + 4 < size && i < 80; i++)
		out[n++] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '\'') ? s[i] : '?';
	if (s && s[i] && n + 4 < size) {
		memcpy(out + n, "...", 3);
		n += 3;
	}
	out[n] = '\0';
}

/* ---- the rules every request passes ---- */

static const char *header(struct MHD_Connection *c, const char *name)
{
	return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* On loopback, only a Host naming this machine: a web page that rebinds its own
 * name to 127.0.0.1 sends its own name. */
static int host_ok(ds_server *s, const char *host)
{
	size_t n;
	const char *colon;

	if (!s->loopback || !host)
		return 1;
	if (host[0] == '[') {
		colon = strchr(host, ']');
		if (!colon)
			return 0;
		n = (size_t)(colon - host) + 1;
		return n == 5 && !strncmp(host, "[::1]", 5) && (!colon[1] || colon[1] == ':');
	}
	colon = strchr(host, ':');
	n = colon ? (size_t)(colon - host) : strlen(host);
	if (n == 9 && !strncasecmp(host, "localhost", 9))
		return 1;
	if (n >= 7 && n <= 15 && !strncmp(host, "127.", 4)) {
		size_t i;
		for (i = 0; i < n; i++)
			if (!((host[i] >= '0' && host[i] <= '9') || host[i] == '.'))
				return 0;
		return 1;
	}
	return 0;
}

/* An Origin is fine when absent, the page's own (http://HOST) or the one --allow-origin names. */
static int origin_ok(ds_server *s, const char *origin, const char *host)
{
	if (!origin)
		return 1;
	if (s->allow_origin && !strcmp(origin, s->allow_origin))
		return 1;
	return host && !strncmp(origin, "http://", 7) && !strcasecmp(origin + 7, host);
}

/* "Bearer TOKEN", compared as SHA-256 digests with CRYPTO_memcmp: the time does not depend on the token. */
static int token_ok(ds_server *s, const char *auth)
{
	unsigned char got[SHA256_DIGEST_LENGTH];
	const char *t;

	if (!auth || strncasecmp(auth, "Bearer ", 7))
		return 0;
	for (t = auth + 7; *t == ' '; t++)
		;
	SHA256((const unsigned char *)t, strlen(t), got);
	return CRYPTO_memcmp(got, s->token_sha, sizeof(got)) == 0;
}

static int ctype_is(const char *ct, const char *want)
{
	size_t n = strlen(want);

	return ct && !strncasecmp(ct, want, n) && (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

static int ctype_ok(const route *rt, const char *ct)
{
	if (rt->body == BODY_JSON)
		return ctype_is(ct, "application/json");
	if (rt->body == BODY_IMAGE)
		return ctype_is(ct, "image/jpeg") || ctype_is(ct, "image/png") || ctype_is(ct, "image/webp") ||
		       ctype_is(ct, "application/octet-stream");
	return 1;
}

/* The route's Allow header. */
static const char *allow_of(const route *rt)
{
	return !strcmp(rt->method, "POST") ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
}

/* Host, token, route, method, Origin, Content-Type, Content-Length: 1 with an error in out, or 0. */
static int admit(ds_server *s, sreq *r, struct MHD_Connection *c, const char *url, const char *method, reply *out)
{
	const char *host = header(c, MHD_HTTP_HEADER_HOST), *len;
	int api = !strncmp(url, "/v1/", 4) || !strcmp(url, "/v1");
	char q[96];

	if (!host_ok(s, host)) {
		quote(q, sizeof(q), host);
		return rep_error(out, MHD_HTTP_FORBIDDEN, "http.bad_host",
		                 "host '%s' refused: this server listens on loopback and answers only to this machine's names",
		                 q) + 1;
	}
	/* a CORS preflight carries no token (the browser asks before it sends one) and reaches no data */
	if (api && s->has_token && strcmp(method, "OPTIONS") && !token_ok(s, header(c, MHD_HTTP_HEADER_AUTHORIZATION))) {
		int none = !header(c, MHD_HTTP_HEADER_AUTHORIZATION);
		rep_error(out, MHD_HTTP_UNAUTHORIZED, none ? "auth.missing_token" : "auth.bad_token",
		          none ? "this server needs a token: send 'Authorization: Bearer TOKEN'"
		               : "the token is not this server's");
		out->challenge = 1;
		return 1;
	}
	r->rt = route_find(url);
	if (!r->rt) {
		quote(q, sizeof(q), url);
		return rep_error(out, MHD_HTTP_NOT_FOUND, "http.not_found", "no such resource: '%s'", q) + 1;
	}
	if (api && !origin_ok(s, header(c, MHD_HTTP_HEADER_ORIGIN), host)) {
		quote(q, sizeof(q), header(c, MHD_HTTP_HEADER_ORIGIN));
		return rep_error(out, MHD_HTTP_FORBIDDEN, "http.cross_origin",
		                 "requests from origin '%s' are refused (see --allow-origin)", q) + 1;
	}
	if (!strcmp(method, "OPTIONS")) { /* a CORS preflight, or a client asking what is allowed */
		out->status = MHD_HTTP_NO_CONTENT;
		out->page = "";
		out->allow = allow_of(r->rt);
		return 1;
	}
	if (strcmp(method, r->rt->method) && !(!strcmp(method, "HEAD") && !strcmp(r->rt->method, "GET"))) {
		quote(q, sizeof(q), method);
		rep_error(out, MHD_HTTP_METHOD_NOT_ALLOWED, "http.method_not_allowed", "method %s is not allowed here", q);
		out->allow = allow_of(r->rt);
		return 1;
	}
	if (r->rt->body != BODY_NONE && !ctype_ok(r->rt, header(c, MHD_HTTP_HEADER_CONTENT_TYPE))) {
		quote(q, sizeof(q), header(c, MHD_HTTP_HEADER_CONTENT_TYPE));
		return rep_error(out, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, "http.unsupported_media_type",
		                 r->rt->body == BODY_JSON ? "send the body as Content-Type: application/json (not '%s')"
		                                          : "send the image as Content-Type: image/jpeg, image/png or image/webp "
		                                            "(not '%s')",
		                 q) + 1;
	}
	r->limit = r->rt->body == BODY_IMAGE ? s->o.max_image : s->o.max_body;
	len = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
	if (r->rt->body != BODY_NONE && len) {
		char *end;
		unsigned long long n = strtoull(len, &end, 10);
		if (n > r->limit) {
			r->too_large = 1;
			/* a client that waits for 100-continue, or a body too big to read and drop, gets the answer now */
			if (header(c, MHD_HTTP_HEADER_EXPECT) || n > 4 * (unsigned long long)r->limit)
				return rep_error(out, MHD_HTTP_CONTENT_TOO_LARGE, "http.too_large",
				                 "the body is %llu bytes; at most %zu are accepted here", n, r->limit) + 1;
		}
	}
	return 0;
}

/* ---- sending ---- */

enum MHD_Result http_send(ds_server *s, struct MHD_Connection *c, reply *r)
{
	struct MHD_Response *resp;
	const char *origin = header(c, MHD_HTTP_HEADER_ORIGIN);
	enum MHD_Result ok;

	if (r->body)
		resp = MHD_create_response_from_buffer(r->len, r->body, MHD_RESPMEM_MUST_FREE);
	else
		resp = MHD_create_response_from_buffer(r->len, (void *)(uintptr_t)r->page, MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(r->body);
		r->body = NULL;
		return MHD_NO;
	}
	r->body = NULL; /* the response owns it */
	if (r->len || r->status != MHD_HTTP_NO_CONTENT)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, r->ctype ? r->ctype : "application/json");
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
	if (r->allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
	if (r->challenge)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"drugscan\"");
	if (r->page_headers) {
		MHD_add_response_header(resp, "Content-Security-Policy",
		                        "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob: mediastream:; "
		                        "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'");
		MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
		MHD_add_response_header(resp, "X-Frame-Options", "DENY");
	}
	if (s->allow_origin && origin && !strcmp(origin, s->allow_origin)) {
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ACCESS_CONTROL_ALLOW_ORIGIN, s->allow_origin);
		MHD_add_response_header(resp, MHD_HTTP_HEADER_VARY, "Origin");
		if (r->allow) {
			MHD_add_response_header(resp, "Access-Control-Allow-Methods", r->allow);
			MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type");
			MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
		}
	}
	if (atomic_load(&s->stopping))
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
	ok = MHD_queue_response(c, r->status, resp);
	MHD_destroy_response(resp);
	if (r->status >= 500)
		srv_log(s, "answered %u", r->status);
	return ok;
}

/* ---- the access handler ---- */

void http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why)
{
	ds_server *s = cls;
	sreq *r = *con_cls;

	(void)c;
	(void)why;
	if (!r)
		return;
	ds_buf_free(&r->body);
	answer_put(s, r->answer);
	json_decref(r->json);
	free(r);
	*con_cls = NULL;
	atomic_fetch_sub(&s->inflight, 1);
}

/* Keep the body up to the limit; past it, count and drop (at most 4 times the limit). */
static enum MHD_Result take_body(ds_server *s, sreq *r, const char *data, size_t *size)
{
	size_t n = *size;

	*size = 0;
	if (time(NULL) - r->started > DS_SERVE_MAX_REQUEST_S) {
		srv_log(s, "a request body took over %d s: connection closed", DS_SERVE_MAX_REQUEST_S);
		return MHD_NO; /* a trickle that the idle timeout would never end */
	}
	r->body_seen += n;
	if (r->body_seen > r->limit) {
		r->too_large = 1;
		ds_buf_free(&r->body);
		return r->body_seen > 4 * r->limit ? MHD_NO : MHD_YES;
	}
	return ds_buf_put(&r->body, data, n) < 0 ? MHD_NO : MHD_YES;
}

enum MHD_Result http_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	ds_server *s = cls;
	sreq *r = *con_cls;
	reply out;

	(void)version;
	memset(&out, 0, sizeof(out));
	if (!r) {
		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->conn = c;
		r->started = time(NULL);
		*con_cls = r;
		atomic_fetch_add(&s->inflight, 1);
		if (admit(s, r, c, url, method, &out)) {
			r->answered = 1;
			return http_send(s, c, &out);
		}
		r->state = RQ_BODY;
		if (r->rt->body != BODY_NONE)
			return MHD_YES; /* the body comes in the next calls */
	}
	if (r->answered) { /* answered early (an error before the body): what still comes is dropped */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size)
		return take_body(s, r, upload, upload_size);
	if (r->state == RQ_QUEUED)
		return MHD_YES; /* resumed before the writer's answer: cannot happen, wait */
	if (r->too_large)
		rep_error(&out, MHD_HTTP_CONTENT_TOO_LARGE, "http.too_large", "the body is over %zu bytes: too large here",
		          r->limit);
	else if (r->rt->fn(s, r, &out) == 1)
		return MHD_YES; /* suspended: the writer resumes it, and the handler runs again */
	r->answered = 1;
	return http_send(s, c, &out);
}
