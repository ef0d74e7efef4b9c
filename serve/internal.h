/* internal.h - shared between the serve/ source files; not a public API. */
#ifndef DS_SERVE_INTERNAL_H
#define DS_SERVE_INTERNAL_H

#include <jansson.h>
#include <microhttpd.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/types.h>
#include <time.h>

#include "audit.h"
#include "catalog.h"
#include "ledger.h"
#include "serve.h"

/* ---- what one request answers ---- */

typedef struct reply {
	unsigned status;
	char *body;           /* owned, from malloc(); NULL with a static page */
	const void *page;     /* static bytes of an embedded file, or NULL */
	size_t len;
	const char *ctype;    /* static string */
	const char *allow;    /* 405 and OPTIONS: the Allow header (static string) */
	int challenge;        /* 401: a WWW-Authenticate header */
	int page_headers;     /* the page's Content-Security-Policy and friends */
} reply;

/* The JSON object o (stolen) as the reply; 0, or DS_ENOMEM with a 500 reply. */
int rep_json(reply *r, unsigned status, json_t *o);
/* JSON text already written (its memory is taken, json left empty). Returns 0. */
int rep_buf(reply *r, unsigned status, ds_buf *json);
/* {"error":{"id":ID,"message":...}} with status. Returns 0. */
int rep_error(reply *r, unsigned status, const char *id, const char *fmt, ...) DS_PRINTF(4, 5);
/* The error object, for answers that carry more than the error. */
json_t *error_json(const char *id, const char *message);

/* ---- one thread's connections, lent from the pool ---- */

typedef struct srv_ctx {
	ds_catalog *cat;
	ds_ledger *reader;          /* for history and stock; opened on first use */
	ds_image_worker *img[3];    /* per effort; made on first use */
	ds_code code;
	ds_trace_opts trace;
	ds_verdict verdict;
	ds_json_cache *json;        /* the JSON of drugs already answered; NULL when out of memory */
	unsigned gen;               /* the catalog.db generation cat was opened on */
	struct timespec idle_since; /* back in the pool (monotonic clock) */
	int resting;                /* its catalog read transaction was ended since (ctx_rest) */
	struct srv_ctx *next;       /* the pool's free list */
	struct srv_ctx *all;        /* every context, for freeing */
} srv_ctx;

/* ---- one request ---- */

struct route;

enum { RQ_NEW = 0, RQ_BODY, RQ_QUEUED, RQ_DONE };

typedef struct sreq {
	const struct route *rt;
	struct MHD_Connection *conn;
	int state;
	ds_buf body;                /* the request body, up to the route's limit */
	size_t body_seen;           /* all of it, also past the limit */
	size_t limit;
	int too_large;
	time_t started;             /* the headers arrived */
	int answered;               /* a reply was queued before the body was read */
	/* a counter request while the writer has it */
	json_t *json;               /* the parsed body; the answer's strings point into it */
	ds_counter_answer *answer;  /* owned: answer_get(), answer_put() */
	ds_error err;               /* the ledger's, when answer->ledger.recorded != 1 or a fault is set */
	ds_lang lang;
	struct sreq *next;          /* the writer's queue */
} sreq;

/* ---- the ledger writer: group commit (writer.c) ---- */

typedef struct writer {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	int inited, started, stop;  /* the lock and condition exist; the thread runs; it was told to stop */
	sreq *head, *tail;
	ds_ledger *ledger;          /* the one write connection */
	ds_server *srv;
	long groups, applied;       /* for the log at shutdown */
} writer;

int writer_start(writer *w, ds_server *s, const char *ledger_path, ds_error *err);
/* Queue r (already judged) and return; the writer resumes r->conn when it is on disk.
 * DS_ERR when the writer has stopped (the server is going down). */
int writer_submit(writer *w, sreq *r);
/* Record what is queued, then end the thread and close the ledger. */
void writer_stop(writer *w);
/* After the HTTP threads are gone: the lock and the condition. */
void writer_destroy(writer *w);

/* ---- the server ---- */

struct ds_server {
	ds_serve_opts o;            /* strings point into the copies below */
	char *data_dir, *ledger_path, *allow_origin, *station, *version;
	unsigned char token_sha[32];
	int has_token;
	char url[160];
	char host_port[16];         /* ":8765", for Host and Origin checks */
	int loopback;
	int listen_fd;
	struct MHD_Daemon *mhd;
	pthread_mutex_t pool_mu;
	srv_ctx *free_ctx, *all_ctx;
	struct answer_slot *free_answers; /* counter answers to reuse (writer.c), under pool_mu */
	writer w;
	atomic_int inflight;        /* requests begun and not completed */
	atomic_int stopping;
	int stopped;
	char *cat_path;             /* DATA_DIR/catalog.db */
	dev_t cat_dev;              /* the file the pool's catalogs read, under pool_mu: */
	ino_t cat_ino;              /* another one (catalog update renames a new file in) */
	unsigned cat_gen;           /* starts a new generation */
	time_t cat_checked;
};

void srv_log(ds_server *s, const char *fmt, ...) DS_PRINTF(2, 3);
srv_ctx *ctx_get(ds_server *s, ds_error *err);
void ctx_put(ds_server *s, srv_ctx *c);
void ctx_free_all(ds_server *s);
/* End the catalog read transactions of the contexts idle for 100 ms, so another
 * process can write catalog.db (`drugscan catalog map` while the server runs). */
void ctx_rest(ds_server *s);

/* ---- the routes (api.c, writer.c) ---- */

enum { BODY_NONE = 0, BODY_JSON, BODY_IMAGE };

typedef struct route {
	const char *path;
	const char *method;         /* "GET" (HEAD too) or "POST" */
	int body;                   /* BODY_* */
	int api;                    /* under /v1/: the token and the Origin rules apply */
	int (*fn)(ds_server *s, sreq *r, reply *out); /* 0: answered; 1: suspended (the writer has it) */
	int arg;                    /* a counter action, or the page's file */
} route;

const route *route_find(const char *path); /* NULL: no such resource */
/* The language a request asks for: "lang" in the JSON body or the query, else the server's. */
ds_lang req_lang(ds_server *s, struct MHD_Connection *c, json_t *body);
/* The body as a JSON object; 0, or 400 in out. */
int req_json(sreq *r, json_t **obj, reply *out);

/* Field checks for a JSON body: unknown fields and wrong types are a 400. */
typedef struct field {
	const char *name;
	int type;                   /* JSON_STRING, JSON_INTEGER, JSON_TRUE (a boolean), JSON_ARRAY */
	long min, max;              /* integers; strings: max bytes (0 = no limit) */
	int nullable;
} field;
int fields_check(json_t *o, const field *spec, reply *out);
/* The value of an optional field, or NULL/deflt. */
const char *field_str(json_t *o, const char *name);
long field_int(json_t *o, const char *name, long deflt);

int api_counter(ds_server *s, sreq *r, reply *out);
/* A counter answer, reused (ds_counter_answer_init once); NULL when out of memory. */
ds_counter_answer *answer_get(ds_server *s);
void answer_put(ds_server *s, ds_counter_answer *a); /* NULL-safe */
void answers_free(ds_server *s);                      /* after the threads are gone */

/* The embedded page (page_data.c, made by serve/embed.cmake). */
typedef struct page_file {
	const char *name;
	const unsigned char *data;
	size_t len;
} page_file;
extern const page_file ds_page_files[];
extern const size_t ds_page_nfiles;

/* The access handler and the completion callback (http.c). */
enum MHD_Result http_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                             const char *version, const char *upload, size_t *upload_size, void **con_cls);
void http_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why);
/* Queue a reply on c with the common headers; frees the reply's body. */
enum MHD_Result http_send(ds_server *s, struct MHD_Connection *c, reply *r);

#endif
