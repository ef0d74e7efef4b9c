/*
 * server.c - start and stop: the listen socket (our own, so the address is
 * parsed and checked before anything is served), libmicrohttpd's thread
 * pool, the pool of per-thread catalog connections and the ledger writer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void srv_log(ds_server *s, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	if (!s->o.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	s->o.log(s->o.log_ctx, line);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	ds_server *s = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '.'))
		line[--n] = '\0';
	srv_log(s, "http: %s", line);
}

/* %XX in the path and the query, except %00: a NUL would cut the path short ("/app.js%00.html"). */
static size_t unescape(void *cls, struct MHD_Connection *c, char *s)
{
	static const char hex[] = "0123456789abcdef";
	char *w = s;
	const char *r = s;

	(void)cls;
	(void)c;
	while (*r) {
		const char *h1 = r[0] == '%' && r[1] ? strchr(hex, r[1] | 0x20) : NULL;
		const char *h2 = h1 && r[2] ? strchr(hex, r[2] | 0x20) : NULL;
		int v = h1 && h2 ? (int)((h1 - hex) * 16 + (h2 - hex)) : 0;
		if (v) {
			*w++ = (char)v;
			r += 3;
		} else {
			*w++ = *r++;
		}
	}
	*w = '\0';
	return (size_t)(w - s);
}

/* ---- the context pool ---- */

/* Has catalog.db been replaced (catalog update, import --replace renames a new file in)?
 * Looked at once a second at most, under pool_mu; a new file starts a new generation. */
static void catalog_moved(ds_server *s)
{
	struct stat st;
	time_t now = time(NULL);

	if (now == s->cat_checked)
		return;
	s->cat_checked = now;
	if (stat(s->cat_path, &st) == 0 && (st.st_ino != s->cat_ino || st.st_dev != s->cat_dev)) {
		if (s->cat_ino || s->cat_dev)
			s->cat_gen++;
		s->cat_ino = st.st_ino;
		s->cat_dev = st.st_dev;
	}
}

/* A context of an older generation opens the new catalog (its image workers too). */
static int refresh(ds_server *s, srv_ctx *c, unsigned gen, ds_error *err)
{
	ds_catalog *cat = NULL;
	int i;

	if (c->cat && c->gen == gen)
		return DS_OK;
	if (ds_catalog_open_default(&cat, s->data_dir, err) < 0)
		return err ? err->code : DS_ERR;
	if (c->cat)
		srv_log(s, "catalog.db was replaced: answering from the new one");
	ds_catalog_close(c->cat);
	c->cat = cat;
	for (i = 0; i < 3; i++) {
		ds_image_worker_free(c->img[i]);
		c->img[i] = NULL;
	}
	c->gen = gen;
	return DS_OK;
}

srv_ctx *ctx_get(ds_server *s, ds_error *err)
{
	srv_ctx *c;
	unsigned gen;

	pthread_mutex_lock(&s->pool_mu);
	catalog_moved(s);
	gen = s->cat_gen;
	c = s->free_ctx;
	if (c)
		s->free_ctx = c->next;
	pthread_mutex_unlock(&s->pool_mu);
	if (!c) {
		c = calloc(1, sizeof(*c));
		if (!c) {
			ds_error_set(err, DS_ENOMEM, "out of memory");
			return NULL;
		}
		ds_code_init(&c->code);
		ds_trace_opts_default(&c->trace);
		c->json = ds_json_cache_new();
		pthread_mutex_lock(&s->pool_mu);
		c->all = s->all_ctx;
		s->all_ctx = c;
		pthread_mutex_unlock(&s->pool_mu);
	}
	if (refresh(s, c, gen, err) < 0) {
		ctx_put(s, c);
		return NULL;
	}
	return c;
}

void ctx_put(ds_server *s, srv_ctx *c)
{
	if (!c)
		return;
	clock_gettime(CLOCK_MONOTONIC, &c->idle_since);
	c->resting = 0;
	pthread_mutex_lock(&s->pool_mu);
	c->next = s->free_ctx;
	s->free_ctx = c;
	pthread_mutex_unlock(&s->pool_mu);
}

void ctx_rest(ds_server *s)
{
	struct timespec now;
	srv_ctx *c;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&s->pool_mu);
	for (c = s->free_ctx; c; c = c->next) {
		long long ms = (now.tv_sec - c->idle_since.tv_sec) * 1000LL + (now.tv_nsec - c->idle_since.tv_nsec) / 1000000;
		if (!c->resting && ms >= 100) {
			ds_catalog_rest(c->cat);
			c->resting = 1;
		}
	}
	pthread_mutex_unlock(&s->pool_mu);
}

void ctx_free_all(ds_server *s)
{
	srv_ctx *c = s->all_ctx, *next;
	int i;

	for (; c; c = next) {
		next = c->all;
		ds_catalog_close(c->cat);
		ds_ledger_close(c->reader);
		for (i = 0; i < 3; i++)
			ds_image_worker_free(c->img[i]);
		ds_code_free(&c->code);
		ds_json_cache_free(c->json);
		free(c);
	}
	s->all_ctx = s->free_ctx = NULL;
}

/* ---- the listen address ---- */

/* "ADDR:PORT", "[ADDR]:PORT" or "PORT" into host and port (both NUL-terminated). */
static int split_listen(const char *given, char *host, size_t hsize, char *port, size_t psize, ds_error *err)
{
	const char *spec = given, *colon, *p;
	size_t hl;
	char *end;
	long v;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');
		if (!close || close[1] != ':')
			return ds_error_set(err, DS_EINVAL, "invalid listen address '%s' (expected [ADDR]:PORT)", given);
		spec++;
		hl = (size_t)(close - spec);
		p = close + 2;
	} else if ((colon = strrchr(spec, ':')) != NULL) {
		if (strchr(spec, ':') != colon)
			return ds_error_set(err, DS_EINVAL, "invalid listen address '%s' (write an IPv6 address as [ADDR]:PORT)",
			                    given);
		hl = (size_t)(colon - spec);
		p = colon + 1;
	} else {
		hl = 0; /* a port alone: loopback */
		p = spec;
	}
	errno = 0;
	v = strtol(p, &end, 10);
	if (!*p || *end || errno || v < 0 || v > 65535 || *p == '-' || *p == '+' || *p == ' ')
		return ds_error_set(err, DS_EINVAL, "invalid port in listen address '%s' (0 to 65535)", given);
	if (hl == 0) {
		snprintf(host, hsize, "127.0.0.1");
	} else {
		if (hl >= hsize)
			return ds_error_set(err, DS_EINVAL, "invalid listen address: host too long");
		memcpy(host, spec, hl);
		host[hl] = '\0';
	}
	snprintf(port, psize, "%ld", v);
	return DS_OK;
}

static int is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
		const unsigned char *b = in6->sin6_addr.s6_addr;
		static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr) || (!memcmp(b, mapped, 12) && b[12] == 127);
	}
	return 0;
}

/* Resolve the address, refuse a non-loopback one without a token, bind and listen. */
static int open_socket(ds_server *s, const char *spec, ds_error *err)
{
	char host[256], port[8], shown[INET6_ADDRSTRLEN];
	struct addrinfo hints, *ai = NULL;
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	int fd, one = 1, rc;

	if (split_listen(spec, host, sizeof(host), port, sizeof(port), err) < 0)
		return DS_EINVAL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | AI_PASSIVE;
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc != 0)
		return ds_error_set(err, DS_EINVAL, "invalid listen address '%s': %s", spec, gai_strerror(rc));
	s->loopback = is_loopback(ai->ai_addr);
	if (!s->loopback && !s->has_token) {
		freeaddrinfo(ai);
		return ds_error_set(err, DS_EINVAL,
		                    "refusing to listen on '%s' without a token: an address other than loopback needs "
		                    "--token-file",
		                    spec);
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, SOMAXCONN) < 0 ||
	    getsockname(fd, (struct sockaddr *)&bound, &blen) < 0) {
		ds_error_set(err, DS_EIO, "cannot listen on '%s': %s", spec, strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return DS_EIO;
	}
	freeaddrinfo(ai);
	if (bound.ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)&bound;
		inet_ntop(AF_INET6, &in6->sin6_addr, shown, sizeof(shown));
		snprintf(s->url, sizeof(s->url), "http://[%s]:%u/", shown, ntohs(in6->sin6_port));
		snprintf(s->host_port, sizeof(s->host_port), ":%u", ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)&bound;
		inet_ntop(AF_INET, &in->sin_addr, shown, sizeof(shown));
		snprintf(s->url, sizeof(s->url), "http://%s:%u/", shown, ntohs(in->sin_port));
		snprintf(s->host_port, sizeof(s->host_port), ":%u", ntohs(in->sin_port));
	}
	s->listen_fd = fd;
	return DS_OK;
}

/* ---- start and stop ---- */

static char *dup_or_null(const char *v)
{
	return v ? strdup(v) : NULL;
}

/* Copy the options, fill the defaults, open the data directory and hash the token. */
static int setup(ds_server *s, const ds_serve_opts *o, ds_error *err)
{
	ds_buf dir = DS_BUF_INIT;
	long cpus;

	s->o = *o;
	if (ds_data_dir(&dir, o->data_dir, 1, err) < 0)
		return err ? err->code : DS_ERR;
	s->data_dir = dir.ptr; /* the buffer's memory, from malloc() */
	if (o->ledger_path || (getenv("DRUGSCAN_LEDGER") && *getenv("DRUGSCAN_LEDGER")))
		s->ledger_path = strdup(o->ledger_path ? o->ledger_path : getenv("DRUGSCAN_LEDGER"));
	else if (dir.ptr) {
		ds_buf p = DS_BUF_INIT;
		ds_buf_printf(&p, "%s/ledger.db", dir.ptr);
		s->ledger_path = p.ptr;
	}
	s->allow_origin = dup_or_null(o->allow_origin);
	s->station = strdup(o->station && *o->station ? o->station : "serve");
	s->version = strdup(o->version ? o->version : "0.0.0");
	if (!s->data_dir || !s->ledger_path || !s->station || !s->version || (o->allow_origin && !s->allow_origin))
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	s->o.data_dir = s->data_dir;
	s->o.ledger_path = s->ledger_path;
	s->o.allow_origin = s->allow_origin;
	s->o.station = s->station;
	s->o.version = s->version;
	s->o.token = NULL; /* only its hash is kept */
	if (o->token) {
		if (!*o->token)
			return ds_error_set(err, DS_EINVAL, "the token is empty");
		SHA256((const unsigned char *)o->token, strlen(o->token), s->token_sha);
		s->has_token = 1;
	}
	cpus = sysconf(_SC_NPROCESSORS_ONLN);
	if (s->o.threads <= 0)
		s->o.threads = cpus < 2 ? 2 : cpus > 16 ? 16 : (int)cpus;
	if (!s->o.max_connections)
		s->o.max_connections = 256;
	if (!s->o.timeout_s)
		s->o.timeout_s = 15;
	if (!s->o.max_body)
		s->o.max_body = DS_SERVE_MAX_BODY;
	if (!s->o.max_image)
		s->o.max_image = DS_SERVE_MAX_IMAGE;
	if (!s->o.max_pixels)
		s->o.max_pixels = DS_SERVE_MAX_PIXELS;
	return DS_OK;
}

/* The catalog once, before the threads: its first run builds it. */
static int probe_catalog(ds_server *s, ds_error *err)
{
	ds_buf path = DS_BUF_INIT;
	srv_ctx *c;

	if (ds_buf_printf(&path, "%s/catalog.db", s->data_dir) < 0)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	s->cat_path = path.ptr;
	c = ctx_get(s, err);
	if (!c)
		return err ? err->code : DS_ERR;
	ctx_put(s, c);
	pthread_mutex_lock(&s->pool_mu);
	s->cat_checked = 0;
	catalog_moved(s); /* the file just opened is generation 0 */
	pthread_mutex_unlock(&s->pool_mu);
	return DS_OK;
}

static int start_daemon(ds_server *s, ds_error *err)
{
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

	s->mhd = MHD_start_daemon(flags, 0, NULL, NULL, http_request, s,
	                          MHD_OPTION_EXTERNAL_LOGGER, mhd_log, s, /* first, so every message comes here */
	                          MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
	                          MHD_OPTION_THREAD_POOL_SIZE, (unsigned)s->o.threads,
	                          MHD_OPTION_CONNECTION_LIMIT, s->o.max_connections,
	                          MHD_OPTION_CONNECTION_TIMEOUT, s->o.timeout_s,
	                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(16 * 1024), /* zeroed per request */
	                          MHD_OPTION_NOTIFY_COMPLETED, http_completed, s,
	                          MHD_OPTION_STRICT_FOR_CLIENT, 1,
	                          MHD_OPTION_UNESCAPE_CALLBACK, unescape, s,
	                          MHD_OPTION_END);
	if (!s->mhd)
		return ds_error_set(err, DS_EIO, "cannot start the HTTP server on %s", s->url);
	return DS_OK;
}

int ds_serve_start(ds_server **out, const ds_serve_opts *o, ds_error *err)
{
	ds_server *s = calloc(1, sizeof(*s));
	int rc;

	*out = NULL;
	if (!s)
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	s->listen_fd = -1;
	pthread_mutex_init(&s->pool_mu, NULL);
	atomic_init(&s->inflight, 0);
	atomic_init(&s->stopping, 0);
	rc = setup(s, o, err);
	if (rc == DS_OK)
		rc = open_socket(s, o->listen ? o->listen : DS_SERVE_DEFAULT_LISTEN, err);
	if (rc == DS_OK)
		rc = probe_catalog(s, err);
	if (rc == DS_OK)
		rc = writer_start(&s->w, s, s->ledger_path, err);
	if (rc == DS_EINVAL && s->listen_fd >= 0) /* a bad catalog or ledger file is not a usage error */
		rc = err ? (err->code = DS_EIO) : DS_EIO;
	if (rc == DS_OK)
		rc = start_daemon(s, err);
	if (rc < 0) {
		s->stopped = 1;
		ds_serve_free(s);
		return rc;
	}
	srv_log(s, "listening on %s (%d threads%s%s%s)", s->url, s->o.threads,
	        s->has_token ? ", a token is required" : "", s->allow_origin ? ", CORS for " : "",
	        s->allow_origin ? s->allow_origin : "");
	*out = s;
	return DS_OK;
}

const char *ds_serve_url(const ds_server *s)
{
	return s->url;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

int ds_serve_stop(ds_server *s, long wait_ms)
{
	long waited = 0;
	int left;

	if (!s || s->stopped)
		return 0;
	s->stopped = 1;
	atomic_store(&s->stopping, 1); /* from now on every answer closes its connection */
	if (s->mhd) {
		MHD_socket fd = MHD_quiesce_daemon(s->mhd);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
		s->listen_fd = -1;
	}
	while (atomic_load(&s->inflight) > 0 && waited < wait_ms) {
		sleep_ms(10);
		waited += 10;
	}
	left = atomic_load(&s->inflight);
	writer_stop(&s->w); /* what is queued is committed and resumed */
	while (atomic_load(&s->inflight) > 0 && waited < wait_ms + 2000) {
		sleep_ms(10);
		waited += 10;
	}
	if (s->mhd)
		MHD_stop_daemon(s->mhd);
	s->mhd = NULL;
	srv_log(s, "stopped: %ld counter answers recorded in %ld commits%s", s->w.applied, s->w.groups,
	        left ? "; some requests were cut off" : "");
	return left;
}

void ds_serve_free(ds_server *s)
{
	if (!s)
		return;
	ds_serve_stop(s, 0);
	writer_destroy(&s->w); /* libmicrohttpd's threads are gone */
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	ctx_free_all(s);
	answers_free(s);
	pthread_mutex_destroy(&s->pool_mu);
	free(s->data_dir);
	free(s->cat_path);
	free(s->ledger_path);
	free(s->allow_origin);
	free(s->station);
	free(s->version);
	free(s);
}
