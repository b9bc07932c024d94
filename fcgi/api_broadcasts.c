/* fcgi/api_broadcasts.c: /api/v1/broadcasts: one template to up to 100,000
 * recipients, each with its own components if it likes, from an optional
 * start time. Every recipient is checked here as a template send would be
 * (shared/wa_msg.c); the list and one job per recipient are then written
 * in one transaction (schema/functions/broadcasts.sql), and wa-jobd sends
 * them at the number's pace. Reading and cancelling are one statement
 * each. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "db.h"
#include "handlers.h"
#include "json.h"
#include "pg_array.h"
#include "req.h"
#include "route.h"
#include "util.h"
#include "wa_msg.h"
#include "worker.h"

/* 100,000 recipients with a few parameters each. nginx's limit for this
 * location is the same (nginx.conf.in). */
#define BROADCAST_BODY_MAX	(16u << 20)
#define BROADCAST_MAX		100000
#define START_AT_MAX		40

static const struct db_stmt create = { "broadcasts_create",
	"SELECT wa_broadcast_create($1, $2::jsonb, $3::jsonb,"
	" $4::timestamptz, $5::text[], $6::jsonb[])" };

static const struct db_stmt get = { "broadcasts_get",
	"SELECT wa_broadcast_json(b.id) FROM broadcasts b"
	" WHERE b.id = $1 AND b.tenant_id = $2" };

static const struct db_stmt cancel = { "broadcasts_cancel",
	"SELECT broadcast, over FROM wa_broadcast_cancel($2, $1)" };

static const char *const keys[] = { "name", "language", "components",
	"recipients", "start_at", NULL };
static const char *const recipient_keys[] = { "to", "components", NULL };

/* o's member key, or NULL when absent or JSON null. */
static struct json_object *
member(struct json_object *o, const char *key)
{
	struct json_object	*v = NULL;

	json_object_object_get_ex(o, key, &v);
	return v;
}

/* What the request asks for, checked. */
struct bc {
	struct json_object	*tmpl;		/* Meta's template, no components */
	struct json_object	*components;	/* the default ones, or NULL */
	const char		*start_at;	/* ISO 8601, or NULL */
	struct buf		 to, params;	/* array literals */
	char			 err[WA_MSG_ERR_MAX + 32];
};

/* One template message for `to` with these components (NULL: none), built
 * and checked as POST /send/template would: 0 with m set, or -1 with
 * m->err. */
static int
build(struct json_object *req, struct json_object *to,
    struct json_object *components, struct wa_msg *m)
{
	struct json_object	*o = json_object_new_object();
	struct json_object	*v;
	int			 rc;

	json_object_object_add(o, "to", json_object_get(to));
	if (json_object_object_get_ex(req, "name", &v))
		json_object_object_add(o, "name", json_object_get(v));
	if (json_object_object_get_ex(req, "language", &v))
		json_object_object_add(o, "language", json_object_get(v));
	if (components != NULL)
		json_object_object_add(o, "components",
		    json_object_get(components));
	rc = wa_msg_build(WA_MSG_TEMPLATE, o, m);
	if (rc == 0 && m->media_id != NULL) {
		snprintf(m->err, sizeof(m->err), "components: media by our "
		    "media id is not supported in broadcasts: use a link");
		rc = -1;
	}
	/* m->to and m->payload are m's own; the rest is not used. */
	json_object_put(o);
	return rc;
}

static struct json_object *
template_of(const struct wa_msg *m)
{
	return member(m->payload, "template");
}

/* The recipients, each checked: their numbers and own components into
 * the array literals. 0, or -1 with b->err. */
static int
recipients(struct json_object *req, struct json_object *list,
    struct bc *b)
{
	struct json_object	*rc, *to, *comps, *tc;
	struct wa_msg		 m;
	const char		*k;
	size_t			 i, n = json_object_array_length(list);

	pg_array_begin(&b->to);
	pg_array_begin(&b->params);
	for (i = 0; i < n; i++) {
		rc = json_object_array_get_idx(list, i);
		if (!json_object_is_type(rc, json_type_object)) {
			snprintf(b->err, sizeof(b->err), "recipients[%zu]: "
			    "must be an object", i);
			return -1;
		}
		if ((k = json_unknown_key(rc, recipient_keys)) != NULL) {
			snprintf(b->err, sizeof(b->err), "recipients[%zu].%.64s: "
			    "unknown field", i, k);
			return -1;
		}
		if ((to = member(rc, "to")) == NULL) {
			snprintf(b->err, sizeof(b->err), "recipients[%zu].to: "
			    "required", i);
			return -1;
		}
		comps = member(rc, "components");
		memset(&m, 0, sizeof(m));
		if (build(req, to, comps != NULL ? comps : b->components,
		    &m) != 0) {
			snprintf(b->err, sizeof(b->err), "recipients[%zu].%s",
			    i, m.err);
			wa_msg_free(&m);
			return -1;
		}
		pg_array_add(&b->to, m.to);
		tc = comps != NULL ? member(template_of(&m), "components") :
		    NULL;
		pg_array_add(&b->params, tc != NULL ?
		    json_object_to_json_string_ext(tc,
		    JSON_C_TO_STRING_PLAIN) : NULL);
		wa_msg_free(&m);
	}
	pg_array_end(&b->to);
	pg_array_end(&b->params);
	return 0;
}

/* The request: the template (checked with the first recipient), the start
 * time, the list. 0, or -1 with b->err. */
static int
parse(struct json_object *req, struct bc *b)
{
	struct json_object	*list, *t, *placeholder;
	struct wa_msg		 m;
	const char		*k;
	int			 rc;

	if ((k = json_unknown_key(req, keys)) != NULL) {
		snprintf(b->err, sizeof(b->err), "%.64s: unknown field", k);
		return -1;
	}
	if ((list = json_arr(req, "recipients")) == NULL ||
	    json_object_array_length(list) < 1 ||
	    json_object_array_length(list) > BROADCAST_MAX) {
		snprintf(b->err, sizeof(b->err), "recipients: 1 to %d objects "
		    "{\"to\", \"components\"?}", BROADCAST_MAX);
		return -1;
	}
	if (json_has(req, "start_at") && ((b->start_at = json_str(req,
	    "start_at")) == NULL || strlen(b->start_at) > START_AT_MAX)) {
		snprintf(b->err, sizeof(b->err), "start_at: an ISO 8601 time");
		return -1;
	}
	b->components = member(req, "components");
	/* The shared parts, as Meta gets them (for a placeholder number:
	 * each recipient's is checked with its own). */
	placeholder = json_object_new_string("10000000");
	memset(&m, 0, sizeof(m));
	rc = build(req, placeholder, b->components, &m);
	json_object_put(placeholder);
	if (rc != 0) {
		snprintf(b->err, sizeof(b->err), "%s", m.err);
		wa_msg_free(&m);
		b->components = NULL;
		return -1;
	}
	t = template_of(&m);
	b->components = b->components != NULL ? json_object_get(
	    member(t, "components")) : NULL;
	b->tmpl = json_object_get(t);
	json_object_object_del(b->tmpl, "components");
	wa_msg_free(&m);
	return recipients(req, list, b);
}

static void
bc_free(struct bc *b)
{
	json_object_put(b->tmpl);
	json_object_put(b->components);
	buf_free(&b->to);
	buf_free(&b->params);
}

/* The body: a JSON object of up to BROADCAST_BODY_MAX (larger than other
 * routes'), in valid UTF-8, into r->json. 0, or the status replied. */
static int
read_body(struct req *r)
{
	int	st;

	if ((st = route_json_body(r, BROADCAST_BODY_MAX)) != 0)
		return st;
	if (!wa_msg_utf8_valid(buf_str(&r->body), r->body.len))
		return reply_error(r, 400, "invalid_json",
		    "the body is not valid UTF-8");
	return 0;
}

/* {"ok":true,"broadcast":<text from the database>} with status. */
static int
reply_broadcast(struct req *r, int status, const char *json)
{
	struct json_object	*out = json_object_new_object();

	json_add_bool(out, "ok", 1);
	json_add_raw(out, "broadcast", json);
	return reply_json(r, status, out);
}

int
api_broadcasts_create(struct req *r)
{
	struct bc	 b;
	struct db_res	*res;
	const char	*v[6];
	int		 st;

	if ((st = read_body(r)) != 0)
		return st;
	memset(&b, 0, sizeof(b));
	if (parse(r->json, &b) != 0) {
		st = reply_error(r, 422, "invalid_field", "%s", b.err);
		bc_free(&b);
		return st;
	}
	v[0] = r->tenant_id;
	v[1] = json_object_to_json_string_ext(b.tmpl, JSON_C_TO_STRING_PLAIN);
	v[2] = b.components != NULL ? json_object_to_json_string_ext(
	    b.components, JSON_C_TO_STRING_PLAIN) : NULL;
	v[3] = b.start_at;
	v[4] = buf_str(&b.to);
	v[5] = buf_str(&b.params);
	if ((res = db_query(r->w->db, &create, 6, v)) == NULL)
		st = db_error(r->w->db) == DB_ECHECK ? reply_error(r, 422,
		    "invalid_field", "start_at: not a valid ISO 8601 time") :
		    reply_db_error(r);
	else {
		st = reply_broadcast(r, 201, db_val(res, 0, 0));
		db_res_free(res);
	}
	bc_free(&b);
	return st;
}

/* The {id} of the path: digits only, else NULL. */
static const char *
broadcast_id(struct req *r)
{
	const char	*id = req_param(r, "id");

	if (id == NULL || *id == '\0' || strlen(id) > 18 ||
	    strspn(id, "0123456789") != strlen(id))
		return NULL;
	return id;
}

int
api_broadcasts_get(struct req *r)
{
	const char	*v[2] = { broadcast_id(r), r->tenant_id };
	struct db_res	*res;
	int		 st;

	if (v[0] == NULL)
		return reply_error(r, 404, "broadcast_not_found",
		    "no such broadcast in this tenant");
	if ((res = db_query(r->w->db, &get, 2, v)) == NULL)
		return reply_db_error(r);
	st = db_rows(res) != 1 ? reply_error(r, 404, "broadcast_not_found",
	    "no such broadcast in this tenant") :
	    reply_broadcast(r, 200, db_val(res, 0, 0));
	db_res_free(res);
	return st;
}

int
api_broadcasts_cancel(struct req *r)
{
	const char	*v[2] = { broadcast_id(r), r->tenant_id };
	const char	*over;
	struct db_res	*res;
	int		 st;

	if (v[0] == NULL)
		return reply_error(r, 404, "broadcast_not_found",
		    "no such broadcast in this tenant");
	if ((res = db_query(r->w->db, &cancel, 2, v)) == NULL)
		return reply_db_error(r);
	if (db_val(res, 0, 0) == NULL)
		st = reply_error(r, 404, "broadcast_not_found",
		    "no such broadcast in this tenant");
	else if ((over = db_val(res, 0, 1)) != NULL && *over == 't')
		st = reply_error(r, 409, "broadcast_over",
		    "the broadcast is already done or cancelled");
	else
		st = reply_broadcast(r, 200, db_val(res, 0, 0));
	db_res_free(res);
	return st;
}
