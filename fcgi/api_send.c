/* fcgi/api_send.c: POST /api/v1/send/<type>. Each handler validates and
 * builds Meta's payload (shared/wa_msg.c), then outbox_msg.c checks what
 * the database knows and sends. */
#include "handlers.h"

#include <json-c/json.h>

#include "json.h"
#include "outbox_msg.h"
#include "req.h"
#include "wa_msg.h"

static int
send_kind(struct req *r, enum wa_msg_kind kind)
{
	struct wa_msg	m;
	int		st, queue = 0;

	/* json-c passes invalid UTF-8 through; PostgreSQL would refuse it. */
	if (!wa_msg_utf8_valid(buf_str(&r->body), r->body.len))
		return reply_error(r, 400, "invalid_json",
		    "the body is not valid UTF-8");
	/* "queue": true hands the send to the job queue (202), which paces
	 * it and retries what Meta asks us to retry; without it Meta's
	 * answer, a 429 included, is the reply. */
	if (json_has(r->json, "queue") && json_flag(r->json, "queue",
	    &queue) != 0)
		return reply_error(r, 422, "invalid_field",
		    "queue: must be true or false");
	if (wa_msg_build(kind, r->json, &m) != 0)
		return reply_error(r, 422, "invalid_field", "%s", m.err);
	st = outbox_msg_send(r, &m, queue ? OUTBOX_QUEUE : OUTBOX_REPLY_JSON);
	wa_msg_free(&m);
	return st;
}

int
api_send_text(struct req *r)
{
	return send_kind(r, WA_MSG_TEXT);
}

int
api_send_media(struct req *r)
{
	return send_kind(r, WA_MSG_MEDIA);
}

int
api_send_voice(struct req *r)
{
	return send_kind(r, WA_MSG_VOICE);
}

int
api_send_location(struct req *r)
{
	return send_kind(r, WA_MSG_LOCATION);
}

int
api_send_request_location(struct req *r)
{
	return send_kind(r, WA_MSG_REQUEST_LOCATION);
}

int
api_send_sticker(struct req *r)
{
	return send_kind(r, WA_MSG_STICKER);
}

int
api_send_contact(struct req *r)
{
	return send_kind(r, WA_MSG_CONTACT);
}

int
api_send_catalog(struct req *r)
{
	return send_kind(r, WA_MSG_CATALOG);
}

int
api_send_product(struct req *r)
{
	return send_kind(r, WA_MSG_PRODUCT);
}

int
api_send_products(struct req *r)
{
	return send_kind(r, WA_MSG_PRODUCTS);
}

int
api_send_reaction(struct req *r)
{
	return send_kind(r, WA_MSG_REACTION);
}

int
api_send_template(struct req *r)
{
	return send_kind(r, WA_MSG_TEMPLATE);
}
