/*
 * writer.c - POST /v1/counter/ACTION and the ledger writer.
 *
 * A pool thread parses and judges the code (its own catalog connection),
 * then suspends the connection and queues the request. The writer thread
 * takes everything queued at that moment and records it in one transaction
 * (ds_counter_apply: one fsync for the group, in arrival order, so two sells
 * of one box see each other), then resumes the connections; only then is an
 * answer sent. This is the CLI counter's rule, commit before the answer,
 * with the fsync shared by the requests that arrived together.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define GROUP_MAX 256
#define REST_MS 100 /* an idle writer looks for idle catalog connections this often (ctx_rest) */

static void *writer_run(void *arg)
{
	writer *w = arg;
	sreq *batch[GROUP_MAX];
	ds_counter_answer *answers[GROUP_MAX];
	size_t n, i;

	for (;;) {
		struct timespec until;
		ds_error err;
		int rc, timed_out = 0;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += REST_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->stop && !timed_out)
			timed_out = pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT;
		if (!w->head) {
			pthread_mutex_unlock(&w->mu);
			if (w->stop)
				break;
			ctx_rest(w->srv); /* meanwhile, the idle catalog connections let other processes write */
			continue;
		}
		for (n = 0; w->head && n < GROUP_MAX; n++) {
			batch[n] = w->head;
			answers[n] = batch[n]->answer;
			w->head = w->head->next;
		}
		if (!w->head)
			w->tail = NULL;
		pthread_mutex_unlock(&w->mu);
		ds_error_clear(&err);
		rc = ds_counter_apply(w->ledger, answers, n, &err);
		for (i = 0; i < n; i++) {
			struct MHD_Connection *conn = batch[i]->conn;
			ds_counter_answer *a = answers[i];
			batch[i]->err = err;
			/* the group was not recorded, not because of a lock: each on its own, so that one
			 * request cannot fail the others (never after an unconfirmed commit) */
			if (rc < 0 && n > 1 && a->ledger.recorded == 0 && a->ledger.fault != DS_LEDGER_BUSY) {
				ds_error_clear(&batch[i]->err);
				ds_counter_apply(w->ledger, &answers[i], 1, &batch[i]->err);
			}
			if (a->ledger.recorded == 1)
				w->applied++;
			if (a->ledger.recorded != 1 || a->ledger.fault != DS_LEDGER_OK)
				srv_log(w->srv, "ledger: %s (%s)", batch[i]->err.message,
				        a->ledger.recorded == 1 ? "at commit; the event is in the ledger all the same"
				        : a->ledger.recorded == 0 ? "not recorded" : "not confirmed");
			batch[i]->state = RQ_DONE;
			MHD_resume_connection(conn); /* batch[i] may be gone from here on */
		}
		if (++w->groups % 64 == 0)
			ctx_rest(w->srv); /* a writer never idle still lets catalog.db be written */
	}
	return NULL;
}

static void ledger_note(void *ctx, const char *message)
{
	srv_log(ctx, "ledger: %s", message);
}

int writer_start(writer *w, ds_server *s, const char *ledger_path, ds_error *err)
{
	ds_ledger_open_opts lo = {0, ledger_note, s, s->o.store, s->o.ledger_timeout_ms, NULL};

	memset(w, 0, sizeof(*w));
	w->srv = s;
	if (ds_ledger_open_at(&w->ledger, ledger_path, s->data_dir, &lo, err) < 0)
		return err ? err->code : DS_ERR;
	if (ds_ledger_writable(w->ledger, err) < 0) {
		/* a counter that cannot record anything is refused at the start, not at the first sale */
		ds_ledger_close(w->ledger);
		w->ledger = NULL;
		return err ? err->code : DS_EIO;
	}
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	w->inited = 1;
	if (pthread_create(&w->thread, NULL, writer_run, w) != 0) {
		ds_ledger_close(w->ledger);
		w->ledger = NULL;
		return ds_error_set(err, DS_ERR, "cannot start the ledger writer");
	}
	w->started = 1;
	return DS_OK;
}

int writer_submit(writer *w, sreq *r)
{
	pthread_mutex_lock(&w->mu);
	if (!w->started || w->stop) {
		pthread_mutex_unlock(&w->mu);
		return DS_ERR;
	}
	r->state = RQ_QUEUED;
	r->next = NULL;
	MHD_suspend_connection(r->conn);
	if (w->tail)
		w->tail->next = r;
	else
		w->head = r;
	w->tail = r;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	return DS_OK;
}

void writer_stop(writer *w)
{
	if (!w->started || w->stop)
		return;
	pthread_mutex_lock(&w->mu);
	w->stop = 1;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->thread, NULL);
	ds_ledger_close(w->ledger);
	w->ledger = NULL;
	pthread_mutex_lock(&w->mu);
	w->started = 0; /* the lock stays until writer_destroy: a late request is refused under it */
	pthread_mutex_unlock(&w->mu);
}

void writer_destroy(writer *w)
{
	writer_stop(w);
	if (!w->inited)
		return;
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	w->inited = 0;
}

/* ---- the answers, reused: one is 100 KiB (its verdict), too much to allocate and clear per request ---- */

typedef struct answer_slot {
	ds_counter_answer a; /* first: the slot is the answer's address */
	struct answer_slot *next;
} answer_slot;

ds_counter_answer *answer_get(ds_server *s)
{
	answer_slot *slot;

	pthread_mutex_lock(&s->pool_mu);
	slot = s->free_answers;
	if (slot)
		s->free_answers = slot->next;
	pthread_mutex_unlock(&s->pool_mu);
	if (!slot && (slot = malloc(sizeof(*slot))) != NULL)
		ds_counter_answer_init(&slot->a); /* once: ds_counter_judge sets what an answer says */
	return slot ? &slot->a : NULL;
}

void answer_put(ds_server *s, ds_counter_answer *a)
{
	answer_slot *slot = (answer_slot *)(void *)a;

	if (!a)
		return;
	pthread_mutex_lock(&s->pool_mu);
	slot->next = s->free_answers;
	s->free_answers = slot;
	pthread_mutex_unlock(&s->pool_mu);
}

void answers_free(ds_server *s)
{
	answer_slot *slot, *next;

	for (slot = s->free_answers; slot; slot = next) {
		next = slot->next;
		ds_counter_answer_free(&slot->a);
		free(slot);
	}
	s->free_answers = NULL;
}

/* ---- POST /v1/counter/ACTION ---- */

static const field counter_fields[] = {
	{"code", JSON_STRING, 0, 0, 0},
	{"station", JSON_STRING, 0, 64, 1},
	{"operator", JSON_STRING, 0, 64, 1},
	{"note", JSON_STRING, 0, 512, 1},
	{"split", JSON_TRUE, 0, 0, 1},
	{"qty", JSON_INTEGER, 1, 100000, 1},
	{"units", JSON_INTEGER, 1, 100000, 1},
	{"strict", JSON_TRUE, 0, 0, 1},
	{"symbology", JSON_STRING, 0, 23, 1},
	{"insurance", JSON_STRING, 0, 16, 1},
	{"lang", JSON_STRING, 0, 8, 1},
	{NULL, 0, 0, 0, 0},
};

/* The counter's answer (audit/jsonout.c, with the JSON cache of a pool context) as the
 * reply; with an error object {"id", "message"} when id is given. */
static int reply_answer(ds_server *s, sreq *r, reply *out, unsigned status, const char *id, const char *msg)
{
	json_t *code = json_object_get(r->json, "code");
	srv_ctx *ctx = ctx_get(s, NULL);
	ds_buf b = DS_BUF_INIT;
	int rc = ds_buf_putc(&b, '{');

	if (rc == DS_OK)
		rc = ds_counter_json_put(&b, r->answer, json_string_value(code), json_string_length(code), r->lang, &r->err,
		                         ctx ? ctx->json : NULL);
	ctx_put(s, ctx);
	if (rc == DS_OK && id && (rc = ds_buf_printf(&b, ",\"error\":{\"id\":\"%s\",\"message\":", id)) == DS_OK)
		rc = ds_json_put_string(&b, msg, ds_utf8_check((const unsigned char *)msg, strlen(msg))); /* UTF-8 as far as it is */
	if (rc == DS_OK && id)
		rc = ds_buf_putc(&b, '}');
	if (rc == DS_OK)
		rc = ds_buf_putc(&b, '}');
	if (rc < 0) {
		ds_buf_free(&b);
		return rep_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "server.out_of_memory", "out of memory");
	}
	return rep_buf(out, status, &b);
}

/* After the writer: the answer (200), or 503 when it is not in the ledger. */
static int answer(ds_server *s, sreq *r, reply *out)
{
	const ds_counter_answer *a = r->answer;
	const char *id = a->ledger.recorded < 0                ? "ledger.unconfirmed"
	                 : a->ledger.fault == DS_LEDGER_BUSY    ? "ledger.busy"
	                                                        : "ledger.unavailable";
	char msg[DS_ERROR_MAX + 96];

	if (a->ledger.recorded == 1)
		return reply_answer(s, r, out, MHD_HTTP_OK, NULL, NULL);
	snprintf(msg, sizeof(msg), "%s (%s)", r->err.message[0] ? r->err.message : "the ledger failed",
	         a->ledger.recorded < 0 ? "not confirmed: check GET /v1/ledger/history before sending it again"
	                                : "nothing recorded: send it again");
	return reply_answer(s, r, out, MHD_HTTP_SERVICE_UNAVAILABLE, id, msg);
}

/* The request's options; 0, or 400 in out. The strings point into the body, kept until the end. */
static int counter_opts(ds_server *s, sreq *r, json_t *o, ds_counter_opts *k, reply *out)
{
	const char *ins = field_str(o, "insurance");

	memset(k, 0, sizeof(*k));
	k->action = (ds_action)r->rt->arg;
	k->split = json_is_true(json_object_get(o, "split"));
	k->strict = json_is_true(json_object_get(o, "strict"));
	k->qty = (int)field_int(o, "qty", 0);
	k->units = (int)field_int(o, "units", 0);
	k->station = field_str(o, "station") && *field_str(o, "station") ? field_str(o, "station") : s->station;
	k->operator_ = field_str(o, "operator");
	k->note = field_str(o, "note");
	k->symbology = field_str(o, "symbology");
	k->now_ms = s->o.now_ms;
	k->lookup.lang = r->lang;
	if (ds_insurance_parse(&k->lookup.insurance, ins) < 0)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid",
		                 "'insurance' must be \"employee\", \"resident\" or null") + 1;
	if (k->split && k->action != DS_ACT_SELL && k->action != DS_ACT_RETURN)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'split' is for sell and return only") + 1;
	return 0;
}

/* Parse, judge and queue: 1 when the writer has it, 0 with an answer in out. */
static int take(ds_server *s, sreq *r, reply *out)
{
	ds_counter_opts k;
	ds_error err;
	srv_ctx *ctx;
	const char *code;
	int rc;

	if (req_json(r, &r->json, out) || fields_check(r->json, counter_fields, out))
		return 0;
	code = field_str(r->json, "code");
	if (!code)
		return rep_error(out, MHD_HTTP_BAD_REQUEST, "request.invalid", "'code' is missing: the scanned code, as a string");
	r->lang = req_lang(s, r->conn, r->json);
	if (counter_opts(s, r, r->json, &k, out))
		return 0;
	ctx = ctx_get(s, &err);
	if (!ctx)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "catalog.unavailable", "%s", err.message);
	r->answer = answer_get(s);
	if (!r->answer) {
		ctx_put(s, ctx);
		return rep_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "server.out_of_memory", "out of memory");
	}
	k.lookup.trace = NULL; /* the defaults, with today's date */
	rc = ds_counter_judge(ctx->cat, &k, code, json_string_length(json_object_get(r->json, "code")), r->answer, &err);
	ctx_put(s, ctx);
	if (rc < 0)
		return rep_error(out, MHD_HTTP_INTERNAL_SERVER_ERROR, "server.out_of_memory", "%s", err.message);
	if (r->answer->lookup_failed)
		srv_log(s, "catalog: %s", r->answer->lookup_error.message);
	if (r->answer->refusal_id) /* not the code of one box: the code object says what it is, nothing is recorded */
		return reply_answer(s, r, out, MHD_HTTP_UNPROCESSABLE_CONTENT, r->answer->refusal_id, r->answer->refusal);
	if (writer_submit(&s->w, r) < 0)
		return rep_error(out, MHD_HTTP_SERVICE_UNAVAILABLE, "serve.stopping",
		                 "the server is stopping: nothing recorded, send it again");
	return 1;
}

int api_counter(ds_server *s, sreq *r, reply *out)
{
	if (r->state == RQ_DONE)
		return answer(s, r, out);
	return take(s, r, out);
}
