/*
 * sync.c - drugscan ledger sync: POST the events the receiver has not
 * acknowledged, in batches, each carrying its uuid as the idempotency key
 * (docs/sync-protocol.md). An event is marked acknowledged only when a 2xx
 * answer lists its uuid, so a dropped connection or a crash at any point
 * means a resend, never a loss; the receiver stores by uuid, so a resend is
 * never a double. Failures back off exponentially with jitter.
 */
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "internal.h"


static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	ds_buf *b = ctx;
	size_t len = size * n;

	if (b->len + len > 4 * 1024 * 1024)
		return 0;
	return ds_buf_put(b, data, len) == DS_OK ? len : 0;
}

static void iso_time(long long ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + strlen(out), 32 - strlen(out), ".%03dZ", (int)(ms % 1000));
}

typedef struct batch {
	json_t *events;
	char (*uuids)[40];
	long long *seqs;
	size_t n, max;
	long long bad_seq;   /* an event that cannot be encoded */
	long long max_sent;  /* the newest event sent by this run, to count each event once */
} batch;

static int add_event(void *ctx, const ds_event *ev)
{
	batch *b = ctx;
	char when[32];
	json_t *o;

	if (b->n >= b->max)
		return 1;
	iso_time(ev->time_ms, when);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:i, s:s, s:s, s:s, s:I, s:s, s:s, s:s, s:s, s:i, s:b}",
	              "uuid", ev->uuid, "code", ev->code, "product_key", ev->product_key, "serial", ev->serial,
	              "nhsa_code", ev->nhsa_code, "batch", ev->batch, "expiry", ev->expiry, "action", ev->action, "split",
	              ev->split, "qty", ev->qty, "station", ev->station, "operator", ev->operator_, "time", when,
	              "time_ms", (json_int_t)ev->time_ms, "note", ev->note, "state_before", ev->state_before, "state_after",
	              ev->state_after, "undoes", ev->undoes, "outcome", ev->outcome, "refused", ev->refused);
	if (!o || json_array_append_new(b->events, o) != 0) {
		/* a text that is not UTF-8 cannot be sent, and must not be skipped */
		b->bad_seq = ev->seq;
		return -1;
	}
	snprintf(b->uuids[b->n], 40, "%s", ev->uuid);
	b->seqs[b->n] = ev->seq;
	b->n++;
	return 0;
}

/* The next batch of unacknowledged events, oldest first. */
static int next_batch(ds_ledger *l, batch *b, ds_error *err)
{
	sqlite3_stmt *st;
	int rc, row = 0;

	b->n = 0;
	rc = led_prepare(l,
	                 "SELECT " EVENT_COLS " FROM outbox o JOIN events e ON e.seq = o.seq"
	                 " WHERE o.acked_ms IS NULL ORDER BY o.seq LIMIT ?1",
	                 &st, err);
	if (rc < 0)
		return rc;
	rc = led_bound(l, sqlite3_bind_int64(st, 1, (sqlite3_int64)b->max), err);
	while (rc == DS_OK && (row = led_step(l, st, err)) == 1) {
		ds_event ev;
		led_read_event(st, &ev);
		if (add_event(b, &ev) < 0)
			rc = ds_error_set(err, DS_EINVAL,
			                  "event %lld (%s) cannot be sent: one of its texts is not UTF-8 (a damaged ledger?)",
			                  ev.seq, ev.uuid);
	}
	sqlite3_finalize(st);
	return rc < 0 ? rc : row < 0 ? row : DS_OK;
}

/* POST the batch; on a 2xx, mark the uuids the answer lists. Returns the acked
 * count, -1 when the exchange failed, -2 when the ledger did (no retry helps). */
static long post(ds_ledger *l, const ds_sync_opts *o, batch *b, ds_error *err)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hdrs = NULL;
	json_t *body = json_object(), *reply = NULL, *acked;
	ds_buf resp = DS_BUF_INIT;
	char *payload, errbuf[CURL_ERROR_SIZE] = "";
	long status = 0, n = 0;
	CURLcode cc;
	size_t i, k;

	json_object_set_new(body, "protocol", json_integer(1));
	json_object_set(body, "events", b->events);
	payload = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!c || !payload) {
		curl_easy_cleanup(c);
		free(payload);
		return ds_error_set(err, DS_ENOMEM, "out of memory"), -1;
	}
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	curl_easy_setopt(c, CURLOPT_URL, o->url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, o->timeout_s > 0 ? o->timeout_s : 30L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	cc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(payload);
	if (cc != CURLE_OK) {
		ds_error_set(err, DS_EIO, "%s: %s", o->url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
		ds_buf_free(&resp);
		return -1;
	}
	if (status < 200 || status >= 300) {
		ds_error_set(err, DS_EIO, "%s: HTTP %ld", o->url, status);
		ds_buf_free(&resp);
		return -1;
	}
	reply = json_loadb(resp.ptr ? resp.ptr : "", resp.len, 0, NULL);
	ds_buf_free(&resp);
	acked = json_object_get(reply, "acked");
	if (!json_is_array(acked)) {
		json_decref(reply);
		ds_error_set(err, DS_EIO, "%s: the answer does not list acknowledged events", o->url);
		return -1;
	}
	if (led_exec(l, "BEGIN IMMEDIATE", err) < 0) {
		json_decref(reply);
		return -2;
	}
	for (k = 0; k < json_array_size(acked); k++) {
		const char *u = json_string_value(json_array_get(acked, k));
		for (i = 0; u && i < b->n; i++) {
			if (!strcmp(u, b->uuids[i])) {
				char sql[128];
				snprintf(sql, sizeof(sql), "UPDATE outbox SET acked_ms = %lld WHERE seq = %lld AND acked_ms IS NULL",
				         (long long)time(NULL) * 1000, b->seqs[i]);
				if (led_exec(l, sql, err) < 0) {
					sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
					json_decref(reply);
					return -2;
				}
				n++;
				break;
			}
		}
	}
	json_decref(reply);
	if (led_exec(l, "COMMIT", err) < 0) {
		if (sqlite3_get_autocommit(l->db) == 0)
			sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
		return -2;
	}
	return n;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Tell the note about a failure and the wait before the next try. */
static void tell_retry(const ds_sync_opts *o, const ds_error *err, int attempt, int max_attempts, long wait_ms)
{
	char msg[DS_ERROR_MAX + 64];

	if (!o->note)
		return;
	snprintf(msg, sizeof(msg), "sync: %s; retry %d of %d in %.1f s", err ? err->message : "failed", attempt,
	         max_attempts - 1, (double)wait_ms / 1000.0);
	o->note(o->note_ctx, msg);
}

/* the wait before the next try: exponential backoff with jitter, 0.5 to 1.5 times the step */
static long backoff_wait(long *step, long max_step)
{
	unsigned r = 0;
	long wait;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		r = (unsigned)time(NULL);
	wait = *step / 2 + (long)(r % (unsigned long)(*step + 1));
	*step = *step * 2 > max_step ? max_step : *step * 2;
	return wait;
}

int ds_ledger_sync(ds_ledger *l, const ds_sync_opts *o, ds_sync_result *res, ds_error *err)
{
	batch b;
	int attempt = 0, rc;
	long step = 250, max_backoff;
	int max_attempts;
	long long oldest;
	size_t i;

	if (l->pg)
		return pg_sync(l, res, err); /* the chain ledger: push the events recorded offline */
	max_backoff = o->max_backoff_ms > 0 ? o->max_backoff_ms : 30000;
	max_attempts = o->max_attempts > 0 ? o->max_attempts : 8;
	memset(res, 0, sizeof(*res));
	if ((rc = ds_url_policy_check(o->url, err)) < 0 || (rc = ds_ledger_writable(l, err)) < 0) {
		if (ds_ledger_outbox(l, &res->remaining, &oldest, NULL) < 0)
			res->remaining = -1;
		return rc;
	}
	curl_global_init(CURL_GLOBAL_DEFAULT);
	memset(&b, 0, sizeof(b));
	b.max = o->batch > 0 ? (size_t)o->batch : 100;
	b.uuids = calloc(b.max, 40);
	b.seqs = calloc(b.max, sizeof(long long));
	if (!b.uuids || !b.seqs) {
		free(b.uuids);
		free(b.seqs);
		return ds_error_set(err, DS_ENOMEM, "out of memory");
	}
	for (;;) {
		long n;
		b.events = json_array();
		rc = b.events ? next_batch(l, &b, err) : ds_error_set(err, DS_ENOMEM, "out of memory");
		if (rc < 0 || b.n == 0) {
			json_decref(b.events);
			break;
		}
		/* the batch is oldest first: what is newer than the last batch was not sent before */
		for (i = 0; i < b.n; i++)
			if (b.seqs[i] > b.max_sent) {
				res->sent++;
				b.max_sent = b.seqs[i];
			}
		res->attempts++;
		n = post(l, o, &b, err);
		json_decref(b.events);
		if (n > 0) {
			res->acked += n;
			attempt = 0;
			step = 250;
			continue;
		}
		if (n == 0)
			ds_error_set(err, DS_EIO, "%s: the receiver acknowledged none of %zu events", o->url, b.n);
		else if (n == -2) {
			rc = DS_EIO;
			led_reopen(l, NULL); /* count the queue as the next reader will see it */
			break;
		}
		if (++attempt >= max_attempts) {
			rc = DS_EIO;
			break;
		}
		{
			long wait = backoff_wait(&step, max_backoff);
			tell_retry(o, err, attempt, max_attempts, wait);
			sleep_ms(wait);
		}
	}
	free(b.uuids);
	free(b.seqs);
	if (ds_ledger_outbox(l, &res->remaining, &oldest, rc < 0 ? NULL : err) < 0) {
		res->remaining = -1;
		if (rc == DS_OK)
			rc = DS_ERR;
	}
	return rc;
}
