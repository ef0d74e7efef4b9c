/*
 * serve.h - drugscan's HTTP interface: the JSON API v1 (docs/api.md) and the
 * counter page, served by libmicrohttpd's thread pool.
 *
 * Every JSON object is the CLI's (format_version 1). A counter action is
 * committed to ledger.db before its answer is sent: one writer thread
 * records the requests waiting at that moment in one transaction (one fsync
 * for the group), while the connections wait suspended. Each pool thread
 * judges codes with its own catalog connection, taken from a small pool.
 *
 * Security: a listen address other than loopback needs a token (every /v1/
 * request then carries "Authorization: Bearer TOKEN", compared in constant
 * time); request bodies, image pixels, connections and idle time are
 * limited; nothing is served but the API and the embedded page; CORS only
 * for allow_origin; on loopback, a Host that is not this machine and a
 * cross-origin Origin are refused (DNS rebinding, cross-site requests).
 */
#ifndef DS_SERVE_H
#define DS_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "ds_common.h"
#include "trace.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DS_SERVE_DEFAULT_LISTEN "127.0.0.1:8765"
#define DS_SERVE_MAX_BODY (1024 * 1024)          /* a JSON request body */
#define DS_SERVE_MAX_IMAGE (16 * 1024 * 1024)    /* a POST /v1/scan body */
#define DS_SERVE_MAX_PIXELS 40000000ULL          /* an uploaded image's pixels */
#define DS_SERVE_MAX_CODES 1000                  /* codes in one POST /v1/check */
#define DS_SERVE_MAX_REQUEST_S 120               /* to receive one request body, however it trickles */

/* A line for the operator (startup, a failed request, shutdown); lowercase, no final full stop. */
typedef void (*ds_serve_log_fn)(void *ctx, const char *message);

#define DS_SERVE_LEDGER_TIMEOUT_S 1.5 /* the chain ledger's default timeout */

typedef struct ds_serve_opts {
	const char *listen;        /* "ADDR:PORT", "[V6ADDR]:PORT" or "PORT"; NULL = DS_SERVE_DEFAULT_LISTEN;
	                              port 0 picks a free one (ds_serve_url says which) */
	const char *token;         /* the bearer token; NULL: none, which only a loopback address allows */
	const char *data_dir;      /* catalog.db (and ledger.db); NULL = the default (ds_data_dir) */
	const char *ledger_path;   /* a file or a chain ledger's postgresql:// URL; NULL = $DRUGSCAN_LEDGER, else
	                              DATA_DIR/ledger.db */
	const char *store;         /* the chain ledger: this store's id; NULL = the host name */
	long ledger_timeout_ms;    /* the chain ledger: offline after this long without an answer; 0 = 1500 */
	const char *allow_origin;  /* "https://pos.example": CORS for this origin; NULL = CORS off */
	const char *station;       /* the counter's station when a request names none; NULL = "serve" */
	const char *version;       /* for GET /v1/version */
	ds_lang lang;              /* of answers when a request does not ask */
	int threads;               /* libmicrohttpd's pool; 0 = the CPUs (at least 2) */
	unsigned max_connections;  /* 0 = 256 */
	unsigned timeout_s;        /* an idle connection is closed; 0 = 15 */
	size_t max_body;           /* 0 = DS_SERVE_MAX_BODY */
	size_t max_image;          /* 0 = DS_SERVE_MAX_IMAGE */
	uint64_t max_pixels;       /* 0 = DS_SERVE_MAX_PIXELS */
	long long now_ms;          /* the counter's clock ($DRUGSCAN_NOW_MS in tests); 0 = the clock */
	ds_serve_log_fn log;       /* may be NULL; called from any thread */
	void *log_ctx;
} ds_serve_opts;

typedef struct ds_server ds_server;

/*
 * Open the catalog (building the demo one on a first run) and the ledger,
 * bind the address and start serving. DS_EINVAL: a bad listen address, or a
 * non-loopback one without a token (a usage error); DS_EIO and others: the
 * catalog, the ledger or the socket failed. The message says which.
 */
int ds_serve_start(ds_server **out, const ds_serve_opts *o, ds_error *err);
/* "http://127.0.0.1:8765/": where the page is, with the port actually bound. */
const char *ds_serve_url(const ds_server *s);
/*
 * Stop: accept no new connection, let the requests in flight finish (at
 * most wait_ms; suspended counter requests are always committed and
 * answered), then close everything. Returns the number of requests that
 * were still running when wait_ms ran out (0 normally).
 */
int ds_serve_stop(ds_server *s, long wait_ms);
void ds_serve_free(ds_server *s); /* NULL-safe; stops first when still running */

#ifdef __cplusplus
}
#endif

#endif
