/* fcgi/outbox_msg.c: one outgoing message, in two database round trips:
 * the checks, the idempotency claim and the pending row
 * (wa_send_begin_checked), and after Meta answered, the update with its
 * event (wa_send_finish). Media and catalog messages take a third, before
 * those (the same function, checks only): their payload needs the
 * database's answer before it is stored. */
#include "outbox_msg.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "json.h"
#include "req.h"
#include "sig.h"
#include "util.h"
#include "wa_msg.h"
#include "worker.h"

#define IDEM_KEY_MAX	255

/* Checks only, and checks then store: the same columns (enum below); media
 * ($4) is a valid uuid or NULL. The tenant's number and token come only
 * from r->tenant_id. In PL/pgSQL, as plain SQL sent from here was planned
 * anew on every call while the function's plans are cached per session. */
static const struct db_stmt send_check = { "outbox_send_check",
	"SELECT * FROM wa_send_begin_checked($1, $2, $3, $4, $5, $6, false,"
	" NULL, NULL, NULL, NULL, NULL, NULL)" };

static const struct db_stmt send_begin = { "outbox_send_begin_checked",
	"SELECT * FROM wa_send_begin_checked($1, $2, $3, $4, $5, $6, true,"
	" $7, $8, $9, $10, $11, $12)" };

/* The same, and the message's "send" job written by the same statement
 * (so in the same transaction) when it was stored. */
static const struct db_stmt send_queue = { "outbox_send_queue",
	"SELECT b.*, wa_job_send_add(b.msg_id, $1, b.phone_number_id, $2, $11)"
	" FROM wa_send_begin_checked($1, $2, $3, $4, $5, $6, true,"
	" $7, $8, $9, $10, $11, $12) b" };

enum { C_TENANT, C_TOKEN, C_PNID, C_CATALOG, C_WINDOW_OK, C_MEDIA_FOUND,
	C_WA_MEDIA, C_KIND, C_MIME, C_FILENAME, C_REPLY_OK, C_REACT_OK,
	C_MSG_ID, C_IDEM, C_IDEM_STATUS, C_IDEM_BODY, C_JOB };

static const struct db_stmt send_finish = { "outbox_send_finish",
	"SELECT wa_send_finish($1, $2, $3, $4, $5, $6, $7)" };

static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object	*v = NULL;

	if (o == NULL || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static int
is_true(const char *v)
{
	return v != NULL && v[0] == 't';
}

/* 0 when the message may go, else the status replied. Pure: runs on
 * either statement's row, so a check that failed only in
 * wa_send_begin_checked (a race) is answered the same way. */
static int
check_refs(struct req *r, struct wa_msg *m, struct db_res *res)
{
	if (!is_true(db_val(res, 0, C_TENANT)))
		return reply_error(r, 404, "tenant_not_found", "no such tenant");
	if (m->media_id != NULL) {
		if (!is_true(db_val(res, 0, C_MEDIA_FOUND)))
			return reply_error(r, 404, "media_not_found",
			    "media_id: no such media in this tenant");
		if (wa_msg_media_ok(m, db_val(res, 0, C_KIND),
		    db_val(res, 0, C_MIME)) != 0)
			return reply_error(r, 422, "invalid_field", "%s",
			    m->err);
	}
	if (!is_true(db_val(res, 0, C_REPLY_OK)))
		return reply_error(r, 404, "message_not_found",
		    "reply_to_message_id: no such message in this tenant");
	if (!is_true(db_val(res, 0, C_REACT_OK)))
		return reply_error(r, 404, "message_not_found",
		    "message_id: no such message in this tenant");
	if (m->needs_catalog && db_val(res, 0, C_CATALOG) == NULL)
		return reply_error(r, 422, "invalid_field", "catalog_id: "
		    "required: this tenant has no catalog configured");
	if (!is_true(db_val(res, 0, C_WINDOW_OK)))
		return reply_error(r, 409, "outside_window", "the customer has "
		    "not written in the last 24 hours, so WhatsApp only "
		    "delivers a template now: use POST /api/v1/send/template");
	return 0;
}

/* Media and catalog messages: their payload takes the database's media
 * id and catalog, so these are read (and checked) before it is stored.
 * 0, or the status replied. */
static int
resolve_refs(struct req *r, struct wa_msg *m, const char *media)
{
	const char	*v[] = { r->tenant_id, m->to, m->free_form ? "t" : "f",
	    media, m->reply_to, m->react_to };
	struct db_res	*res;
	int		 st;

	if ((res = db_query(r->w->db, &send_check, nitems(v), v)) == NULL)
		return reply_db_error(r);
	if ((st = check_refs(r, m, res)) == 0) {
		if (m->media_id != NULL) {
			wa_msg_set_media(m, db_val(res, 0, C_WA_MEDIA),
			    db_val(res, 0, C_FILENAME));
			m->media_id = media;	/* the string it was is gone */
		}
		if (m->needs_catalog)
			wa_msg_set_catalog(m, db_val(res, 0, C_CATALOG));
	}
	db_res_free(res);
	return st;
}

/* The Idempotency-Key header and the request's fingerprint; 0, or the
 * status replied for a bad key. */
static int
idem_key(struct req *r, const char **key, char hash[SIG_HEX_LEN + 1])
{
	*key = req_header(r, "Idempotency-Key");
	hash[0] = '\0';
	if (*key == NULL || **key == '\0') {
		*key = NULL;
		return 0;
	}
	if (strlen(*key) > IDEM_KEY_MAX ||
	    !wa_msg_utf8_valid(*key, strlen(*key)))
		return reply_error(r, 422, "invalid_field", "Idempotency-Key: "
		    "at most %d characters of UTF-8", IDEM_KEY_MAX);
	/* Same key, other endpoint or body: a client bug, refused. */
	sig_hmac_hex(r->path, buf_str(&r->body), r->body.len, hash);
	return 0;
}

/* messages.content: the type's object, shaped as webhook ingestion stores
 * an incoming one (contacts: {"contacts": [...]}). Caller puts it. */
static struct json_object *
stored_content(const struct wa_msg *m)
{
	struct json_object	*c = member(m->payload, m->type), *wrap;

	if (strcmp(m->type, "contacts") != 0)
		return json_object_get(c);
	wrap = json_object_new_object();
	json_object_object_add(wrap, "contacts", json_object_get(c));
	return wrap;
}

/* Checks, claims the key and stores the pending message. 0 with *resp
 * (the row, with the tenant's token and number) and msg_id set, or the
 * status replied (refused, a replay, or a duplicate still in flight). */
static int
begin(struct req *r, struct wa_msg *m, const char *media, const char *key,
    const char *hash, int queue, struct db_res **resp, char msg_id[24])
{
	struct json_object	*content = stored_content(m);
	const char		*v[] = { r->tenant_id, m->to,
	    m->free_form ? "t" : "f", media, m->reply_to, m->react_to,
	    m->stored_type, m->text, json_object_to_json_string_ext(content,
	    JSON_C_TO_STRING_PLAIN), json_object_to_json_string_ext(
	    m->payload, JSON_C_TO_STRING_PLAIN), key,
	    key != NULL ? hash : NULL };
	struct db_res		*res;
	const char		*idem, *body;
	int			 st;

	*resp = NULL;
	res = db_query(r->w->db, queue ? &send_queue : &send_begin, nitems(v),
	    v);
	json_object_put(content);
	if (res == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1)
		st = reply_error(r, 404, "tenant_not_found", "no such tenant");
	else if ((idem = db_val(res, 0, C_IDEM)) == NULL) {
		/* Refused: a reference vanished since resolve_refs. */
		if ((st = check_refs(r, m, res)) == 0)
			st = reply_error(r, 404, "media_not_found",
			    "media_id: no such media in this tenant");
	} else if (strcmp(idem, "new") == 0) {
		snprintf(msg_id, 24, "%s", db_val(res, 0, C_MSG_ID));
		*resp = res;
		return 0;
	} else if (strcmp(idem, "done") == 0) {
		reply_header(r, "Idempotent-Replayed: true");
		st = atoi(db_val(res, 0, C_IDEM_STATUS));
		body = db_val(res, 0, C_IDEM_BODY);
		st = body == NULL || *body == '\0' ? reply_empty(r, st) :
		    reply_text(r, st, "application/json", body, strlen(body));
	} else if (strcmp(idem, "mismatch") == 0)
		st = reply_error(r, 422, "idempotency_key_reused",
		    "Idempotency-Key: already used for a different request");
	else
		st = reply_error(r, 409, "idempotency_in_progress", "a request "
		    "with this Idempotency-Key is still being sent; retry "
		    "later for its result");
	db_res_free(res);
	return st;
}

static struct json_object *
success_body(const struct wa_msg *m, const char *wamid)
{
	struct json_object	*o = json_object_new_object();
	char			 ts[40];

	json_add_bool(o, "ok", 1);
	json_add_str(o, "message_id", wamid);
	if (m->kind == WA_MSG_TEXT) {	/* as the seed spec shows */
		iso_time(now_us(), ts, sizeof(ts));
		json_add_str(o, "phone", m->to);
		json_add_str(o, "text", m->text);
		json_add_str(o, "timestamp", ts);
	}
	return o;
}

/* Records the outcome; a failure here is logged, not answered: Meta has
 * (or has not) sent the message either way, so the client must not
 * resend because of our bookkeeping. */
static void
finish(struct req *r, const char *msg_id, const char *wamid,
    struct json_object *body, const char *key, int st, const char *text)
{
	char		 status[8];
	const char	*err = NULL, *release;
	struct json_object *e = NULL;

	if (wamid == NULL) {
		e = member(member(body, "error"), "graph");
		err = json_object_to_json_string_ext(e, JSON_C_TO_STRING_PLAIN);
	}
	snprintf(status, sizeof(status), "%d", st);
	/* Worth a real retry with the same key: nothing reached anyone. */
	release = st == 429 || st == 502 || st == 503 ? "t" : "f";
	{
		const char *v[] = { msg_id, wamid, err, key, status, text,
		    release };

		if (db_exec(r->w->db, &send_finish, nitems(v), v) != 0)
			rlog(r, LOG_ERR, "send: message %s: could not record "
			    "the outcome (wamid %s)", msg_id,
			    wamid != NULL ? wamid : "none");
	}
}

static int
deliver(struct req *r, struct wa_msg *m, struct db_res *ctx,
    const char *msg_id, const char *key, int reply)
{
	struct json_object	*out = NULL, *body;
	struct graph_err	 err;
	const char		*wamid, *text;
	int			 st = 200;

	wamid = graph_send_message(r->w->curl, db_val(ctx, 0, C_TOKEN),
	    db_val(ctx, 0, C_PNID), m->payload, &out, &err);
	if (wamid != NULL) {
		body = success_body(m, wamid);
		if (reply == OUTBOX_REPLY_EMPTY)
			st = 204;
	} else
		body = reply_graph_error_body(r, &err, &st);
	text = st == 204 ? "" : json_object_to_json_string_ext(body,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	finish(r, msg_id, wamid, body, key, st, text);
	st = st == 204 ? reply_empty(r, st) :
	    reply_text(r, st, "application/json", text, strlen(text));
	json_object_put(body);
	json_object_put(out);
	return st;
}

/* Stored with its job: 202 with the job's id (the body the job's
 * Idempotency-Key replays, wa_job_queued_body). */
static int
queued(struct req *r, struct db_res *ctx)
{
	const char	*job = db_val(ctx, 0, C_JOB);
	char		 body[96];

	if (job == NULL)
		return reply_db_error(r);
	snprintf(body, sizeof(body), "{\"ok\":true,\"queued\":true,"
	    "\"job_id\":%s}", job);
	return reply_text(r, 202, "application/json", body, strlen(body));
}

int
outbox_msg_send(struct req *r, struct wa_msg *m, int reply)
{
	const char	*key, *media = NULL;
	char		 hash[SIG_HEX_LEN + 1], msg_id[24], uuid[40];
	struct db_res	*ctx;
	int		 st;

	/* A copy: wa_msg_set_media may replace the string m->media_id is
	 * (a template header's "id"). */
	if (m->media_id != NULL) {
		if (!uuid_valid(m->media_id))
			return reply_error(r, 404, "media_not_found",
			    "media_id: no such media in this tenant");
		snprintf(uuid, sizeof(uuid), "%s", m->media_id);
		media = uuid;
	}
	if ((st = idem_key(r, &key, hash)) != 0)
		return st;
	if ((m->media_id != NULL || m->needs_catalog) &&
	    (st = resolve_refs(r, m, media)) != 0)
		return st;
	if ((st = begin(r, m, media, key, hash, reply == OUTBOX_QUEUE, &ctx,
	    msg_id)) != 0)
		return st;
	st = reply == OUTBOX_QUEUE ? queued(r, ctx) :
	    deliver(r, m, ctx, msg_id, key, reply);
	db_res_free(ctx);
	return st;
}
