/* fcgi/api_messages.c: DELETE /api/v1/messages/{id}/reaction, POST
 * /api/v1/messages/{id}/read, POST /api/v1/conversations/{phone}/typing.
 * {id} is the wamid; it must be a message of the caller's tenant. */
#include "handlers.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "db.h"
#include "graph.h"
#include "json.h"
#include "outbox_msg.h"
#include "phone.h"
#include "req.h"
#include "util.h"
#include "wa_msg.h"
#include "worker.h"

#define WAMID_MAX	128
#define TYPING_BODY_MAX	4096

static const struct db_stmt msg_contact = { "messages_contact",
	"SELECT c.wa_id FROM messages m JOIN contacts c ON c.id = m.contact_id"
	" WHERE m.tenant_id = $1 AND m.wamid = $2" };

/* An incoming message to mark read: the given one (of the given contact,
 * for typing), or the contact's latest. Two statements, so each keeps an
 * index plan. Columns: token, number, message id, contact id, wamid. */
#define READ_COLS \
	"SELECT t.access_token, t.phone_number_id, m.id, m.contact_id, m.wamid" \
	" FROM tenants t JOIN messages m ON m.tenant_id = t.id" \
	"  AND m.direction = 'in'" \
	" JOIN contacts c ON c.id = m.contact_id"

static const struct db_stmt read_by_wamid = { "messages_read_by_wamid",
	READ_COLS " WHERE t.id = $1 AND m.wamid = $2"
	"  AND ($3::text IS NULL OR c.wa_id = $3)" };

static const struct db_stmt read_latest = { "messages_read_latest",
	READ_COLS " WHERE t.id = $1 AND c.tenant_id = $1 AND c.wa_id = $2"
	" ORDER BY m.id DESC LIMIT 1" };

/* Meta marks everything up to the message read: so do we, reset the
 * conversation's unread count and tell the other agents' screens. */
static const struct db_stmt mark_read = { "messages_mark_read",
	"WITH c AS (UPDATE contacts SET read_upto_id = greatest(read_upto_id,"
	"  $2::bigint) WHERE id = $1 RETURNING tenant_id, wa_id, read_upto_id),"
	" m AS (UPDATE messages SET status = 'read' WHERE contact_id = $1"
	"  AND direction = 'in' AND id <= $2::bigint AND status <> 'read')"
	" SELECT wa_emit(c.tenant_id, 'conversation_read', jsonb_build_object("
	"  'phone', '+' || c.wa_id, 'message_id', $3::text,"
	"  'read_upto_id', c.read_upto_id)) FROM c" };

int
api_messages_unreact(struct req *r)
{
	const char	*wamid = req_param(r, "id");
	const char	*v[] = { r->tenant_id, wamid };
	struct db_res	*res;
	struct wa_msg	 m;
	int		 st;

	memset(&m, 0, sizeof(m));
	if (strlen(wamid) > WAMID_MAX ||
	    !wa_msg_utf8_valid(wamid, strlen(wamid)))
		return reply_error(r, 404, "message_not_found",
		    "no such message in this tenant");
	if ((res = db_query(r->w->db, &msg_contact, 2, v)) == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1 || db_val(res, 0, 0) == NULL)
		st = reply_error(r, 404, "message_not_found",
		    "no such message in this tenant");
	else if (wa_msg_reaction(db_val(res, 0, 0), wamid, "", &m) != 0)
		st = reply_error(r, 422, "invalid_field", "%s", m.err);
	else
		st = outbox_msg_send(r, &m, OUTBOX_REPLY_EMPTY);
	wa_msg_free(&m);
	db_res_free(res);
	return st;
}

/* Forwards the read receipt (with a typing indicator when asked), then
 * records it. Replies 204 or the error. */
static int
send_read(struct req *r, struct db_res *ctx, int typing)
{
	struct json_object	*body = json_object_new_object(), *out = NULL;
	struct json_object	*ti;
	struct graph_err	 err;
	const char		*v[] = { db_val(ctx, 0, 3), db_val(ctx, 0, 2),
	    db_val(ctx, 0, 4) };
	char			 path[96];
	int			 st;

	json_add_str(body, "messaging_product", "whatsapp");
	json_add_str(body, "status", "read");
	json_add_str(body, "message_id", db_val(ctx, 0, 4));
	if (typing) {
		ti = json_object_new_object();
		json_add_str(ti, "type", "text");
		json_object_object_add(body, "typing_indicator", ti);
	}
	snprintf(path, sizeof(path), "%s/messages", db_val(ctx, 0, 1));
	if (graph_call(r->w->curl, db_val(ctx, 0, 0), "POST", path, body,
	    &out, &err) != 0)
		st = reply_graph_error(r, &err);
	else if (db_exec(r->w->db, &mark_read, 3, v) != 0)
		st = reply_db_error(r);
	else
		st = reply_empty(r, 204);
	json_object_put(out);
	json_object_put(body);
	return st;
}

int
api_messages_read(struct req *r)
{
	const char	*wamid = req_param(r, "id");
	const char	*v[] = { r->tenant_id, wamid, NULL };
	struct db_res	*res;
	int		 st;

	if (strlen(wamid) > WAMID_MAX ||
	    !wa_msg_utf8_valid(wamid, strlen(wamid)))
		return reply_error(r, 404, "message_not_found",
		    "no incoming message with this id in this tenant");
	if ((res = db_query(r->w->db, &read_by_wamid, 3, v)) == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1)
		st = reply_error(r, 404, "message_not_found",
		    "no incoming message with this id in this tenant");
	else
		st = send_read(r, res, 0);
	db_res_free(res);
	return st;
}

/* The optional {"message_id": "wamid..."} body; 0, or the status replied. */
static int
typing_target(struct req *r, const char **wamid)
{
	static const char	*bad = "the body must be a JSON object with an "
	    "optional message_id";
	char			 err[128];
	int			 st;

	*wamid = NULL;
	if ((st = req_read_body(r, TYPING_BODY_MAX)) != 0)
		return reply_error(r, st, st == 413 ? "payload_too_large" :
		    "bad_request", "%s", bad);
	if (r->body.len == 0)
		return 0;
	if (!wa_msg_utf8_valid(r->body.data, r->body.len))
		return reply_error(r, 400, "invalid_json", "%s", bad);
	if ((r->json = json_parse(r->body.data, r->body.len, err,
	    sizeof(err))) == NULL ||
	    !json_object_is_type(r->json, json_type_object))
		return reply_error(r, 400, "invalid_json", "%s", bad);
	json_object_object_foreach(r->json, k, val) {
		if (strcmp(k, "message_id") != 0)
			return reply_error(r, 422, "invalid_field",
			    "%s: unknown field", k);
		/* json_text(): NULL for a non-string or one holding NUL. */
		if (val != NULL && (json_text(val) == NULL ||
		    json_object_get_string_len(val) > WAMID_MAX))
			return reply_error(r, 422, "invalid_field",
			    "message_id: a wamid string");
		*wamid = json_text(val);
	}
	return 0;
}

int
api_messages_typing(struct req *r)
{
	char		 phone[PHONE_MAX + 1];
	const char	*wamid, *v[] = { r->tenant_id, NULL, phone };
	struct db_res	*res;
	int		 st;

	if (phone_normalize(req_param(r, "phone"), phone, sizeof(phone)) != 0)
		return reply_error(r, 422, "invalid_field", "phone: must be a "
		    "phone number with country code (8 to 15 digits)");
	if ((st = typing_target(r, &wamid)) != 0)
		return st;
	v[1] = wamid;
	res = wamid != NULL ? db_query(r->w->db, &read_by_wamid, 3, v) :
	    db_query(r->w->db, &read_latest, 2, (const char *[]){ r->tenant_id,
	    phone });
	if (res == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1)
		st = reply_error(r, 404, "message_not_found", "no incoming "
		    "message from this contact in this tenant to answer");
	else
		st = send_read(r, res, 1);
	db_res_free(res);
	return st;
}
