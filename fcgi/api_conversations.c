/* fcgi/api_conversations.c: /api/v1/conversations: the inbox (one row per
 * contact, most recent activity first), a contact's history, and deleting
 * that history. The JSON shapes are built in SQL (006_conversations.sql)
 * from the same functions the webhook and send paths use, so a message
 * looks the same in every answer and event. Reading never marks anything
 * read: only POST /api/v1/messages/:id/read moves contacts.read_upto_id. */
#include <stdint.h>
#include <string.h>

#include <json-c/json.h>
#include <sodium.h>

#include "db.h"
#include "handlers.h"
#include "json.h"
#include "phone.h"
#include "req.h"
#include "util.h"
#include "worker.h"

#define CONV_LIMIT_DEFAULT	50
#define CONV_LIMIT_MAX		200
#define CONV_Q_MAX		100	/* characters a search may have */
#define CURSOR_MAX		128	/* encoded; ours are under 64 */
/* Times in a cursor stay within what PostgreSQL can add to the epoch
 * (year 5138 either way): a forged one is a 422, not a 500. */
#define CURSOR_US_MAX		100000000000000000LL

/* What a conversation row (wa_conv_json(c, lm.m, u.n)) needs beside the
 * contact c: its last message (reactions are not chat bubbles) and its
 * unread count. */
#define CONV_ROW_JOINS \
	" LEFT JOIN LATERAL (SELECT m FROM messages m" \
	"  WHERE m.contact_id = c.id AND m.type <> 'reaction'" \
	"  ORDER BY m.id DESC LIMIT 1) lm ON true" \
	" CROSS JOIN LATERAL (SELECT count(*) AS n FROM messages i" \
	"  WHERE i.contact_id = c.id AND i.direction = 'in'" \
	"  AND i.type <> 'reaction' AND i.id > c.read_upto_id) u"

/*
 * The list, one page: keyset pagination on (last_activity_at, id), the
 * order of the contacts_activity index, so a page costs an index range
 * scan plus, per row shown, one probe for the last message and one for
 * the unread count. $2/$3 is the cursor (NULL: from the top); time
 * travels as microseconds since the epoch so the cursor is exact.
 */
static const struct db_stmt conv_list = { "conv_list",
	"SELECT wa_conv_json(c, lm.m, u.n)::text,"
	" (extract(epoch FROM c.last_activity_at) * 1000000)::bigint, c.id"
	" FROM contacts c"
	CONV_ROW_JOINS
	" WHERE c.tenant_id = $1"
	" AND (c.last_activity_at, c.id) < (coalesce('epoch'::timestamptz +"
	"  $2::bigint * interval '1 microsecond', 'infinity'),"
	"  coalesce($3::bigint, 9223372036854775807))"
	" AND ($4::text IS NULL OR strpos(lower(c.name), lower($4)) > 0"
	"  OR strpos(c.wa_id, $5::text) > 0)"
	" ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $6" };

/* The contact's row (as in the list), one page of its history, newest
 * first, and whether older messages remain. */
static const struct db_stmt conv_get = { "conv_get",
	"SELECT wa_conv_json(c, lm.m, u.n)::text, p.msgs::text, p.oldest,"
	" EXISTS (SELECT 1 FROM messages o WHERE o.contact_id = c.id"
	"  AND o.type <> 'reaction' AND o.id < p.oldest)"
	" FROM contacts c"
	CONV_ROW_JOINS
	" CROSS JOIN LATERAL (SELECT coalesce(jsonb_agg("
	"  wa_conv_message_json(pm) ORDER BY pm.id DESC), '[]') AS msgs,"
	"  min(pm.id) AS oldest"
	"  FROM (SELECT m.* FROM messages m WHERE m.contact_id = c.id"
	"   AND m.type <> 'reaction'"
	"   AND m.id < coalesce($3::bigint, 9223372036854775807)"
	"   ORDER BY m.id DESC LIMIT $4) pm) p"
	" WHERE c.tenant_id = $1 AND c.wa_id = $2" };

/* NULL when the tenant has no such contact. */
static const struct db_stmt conv_delete = { "conv_delete",
	"SELECT wa_conversation_delete($1, $2)" };

/* Whether name appears in the raw query string, with or without a value. */
static int
query_present(const char *q, const char *name)
{
	size_t	nl = strlen(name), pl;

	while (q != NULL && *q != '\0') {
		pl = strcspn(q, "&");
		if (pl >= nl && strncmp(q, name, nl) == 0 &&
		    (pl == nl || q[nl] == '='))
			return 1;
		q += pl;
		if (*q == '&')
			q++;
	}
	return 0;
}

/* 1 with the decoded value, 0 when absent, -1 when present but not
 * decodable into n bytes (a value we must refuse, not ignore). */
static int
query_opt(const struct req *r, const char *name, char *out, size_t n)
{
	if (req_query(r, name, out, n) == 0)
		return 1;
	return query_present(r->query, name) ? -1 : 0;
}

static int
all_digits(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return 0;
	return 1;
}

/* ?limit=: 0 with *out set, else the 422 already sent. */
static int
parse_limit(struct req *r, int64_t *out)
{
	char	v[16];
	int	st;

	*out = CONV_LIMIT_DEFAULT;
	if ((st = query_opt(r, "limit", v, sizeof(v))) == 0)
		return 0;
	if (st < 0 || !all_digits(v) || str_to_i64(v, out) != 0 ||
	    *out < 1 || *out > CONV_LIMIT_MAX)
		return reply_error(r, 422, "invalid_field",
		    "limit: an integer from 1 to %d", CONV_LIMIT_MAX);
	return 0;
}

/*
 * Cursors are opaque to clients: base64url of "<kind>:<n>[:<n>]", kind 'c'
 * for a list position (last_activity_at in microseconds, contact id) and
 * 'm' for a history position (message id). The kind keeps one from being
 * accepted where the other is expected.
 */
static void
cursor_encode(char kind, const char *a, const char *b, char *out, size_t n)
{
	char	raw[64];
	int	len;

	len = b != NULL ? snprintf(raw, sizeof(raw), "%c:%s:%s", kind, a, b) :
	    snprintf(raw, sizeof(raw), "%c:%s", kind, a);
	if (len < 0 || (size_t)len >= sizeof(raw) ||
	    n < sodium_base64_ENCODED_LEN((size_t)len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING)) {
		*out = '\0';	/* cannot happen with database integers */
		return;
	}
	sodium_bin2base64(out, n, (const unsigned char *)raw, (size_t)len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

/* Fills want numbers (1 or 2; decimal, the second > 0) into out[] as text;
 * 0, or -1 when the cursor is not one of ours of that kind. */
static int
cursor_decode(const char *in, char kind, int want, char out[2][24])
{
	char		 raw[64], *p, *sep;
	const char	*end;
	size_t		 len;
	int		 i;
	int64_t		 v;

	if (sodium_base642bin((unsigned char *)raw, sizeof(raw) - 1, in,
	    strlen(in), NULL, &len, &end,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 || *end != '\0')
		return -1;
	raw[len] = '\0';
	if (len < 3 || raw[0] != kind || raw[1] != ':' ||
	    strlen(raw) != len)
		return -1;
	p = raw + 2;
	for (i = 0; i < want; i++) {
		if ((sep = strchr(p, ':')) != NULL) {
			if (i == want - 1)
				return -1;
			*sep = '\0';
		} else if (i != want - 1)
			return -1;
		/* A leading '-' only on the time: ids are positive. */
		if (!all_digits(p + (*p == '-' && i == 0 && want == 2)) ||
		    strlen(p) >= 24 || str_to_i64(p, &v) != 0 ||
		    (i == want - 1 && v <= 0) ||
		    (i == 0 && want == 2 && (v > CURSOR_US_MAX ||
		    v < -CURSOR_US_MAX)))
			return -1;
		memcpy(out[i], p, strlen(p) + 1);
		if (sep != NULL)
			p = sep + 1;
	}
	return 0;
}

/* ?name= holding one of our cursors: 1 decoded, 0 absent (or empty, as
 * clients send on the first page), else the 422 already sent. */
static int
parse_cursor(struct req *r, const char *name, char kind, int want,
    char out[2][24])
{
	char	v[CURSOR_MAX];
	int	st;

	if ((st = query_opt(r, name, v, sizeof(v))) == 0 ||
	    (st == 1 && *v == '\0'))
		return 0;
	if (st < 0 || cursor_decode(v, kind, want, out) != 0)
		return reply_error(r, 422, "invalid_field",
		    "%s: not a cursor this endpoint returned", name);
	return 1;
}

/* ?q=: 0, or the 422 already sent. *has: q holds a search, matched as
 * typed against names; *phone_like: it looks like (part of) a phone number
 * ("+91 98765", "98765-43") and digits holds its digits. */
static int
parse_search(struct req *r, char *q, size_t qn, char *digits, int *has,
    int *phone_like)
{
	const char	*s;
	size_t		 k = 0, chars = 0;
	int		 st;

	*has = *phone_like = 0;
	if ((st = query_opt(r, "q", q, qn)) == 0)
		return 0;
	for (s = q; st == 1 && *s != '\0'; s++)	/* UTF-8 characters */
		chars += ((unsigned char)*s & 0xC0) != 0x80;
	if (st < 0 || chars > CONV_Q_MAX)
		return reply_error(r, 422, "invalid_field",
		    "q: up to %d characters", CONV_Q_MAX);
	if (*q == '\0')
		return 0;
	*has = 1;
	*phone_like = 1;
	for (s = q; *s != '\0' && *phone_like; s++) {
		if (*s >= '0' && *s <= '9') {
			if (k == PHONE_MAX)	/* longer than any number */
				*phone_like = 0;
			else
				digits[k++] = *s;
		} else if (strchr(" +-().", *s) == NULL)
			*phone_like = 0;
	}
	digits[k] = '\0';
	if (k == 0)
		*phone_like = 0;
	return 0;
}

/* A jsonb the database built; NULL (JSON null) if it cannot be parsed,
 * which only a nesting deeper than json_parse allows could cause. */
static struct json_object *
parse_db_json(const char *text)
{
	char	err[64];

	return text != NULL ? json_parse(text, strlen(text), err,
	    sizeof(err)) : NULL;
}

int
api_conversations_list(struct req *r)
{
	char			 q[CONV_Q_MAX * 4 + 1];	/* UTF-8 */
	char			 digits[PHONE_MAX + 1], cur[2][24], lim[24];
	char			 next[CURSOR_MAX];
	const char		*v[6];
	struct db_res		*res;
	struct json_object	*out, *arr;
	int64_t			 limit;
	int			 st, has_cursor, has_q, phone_like, i, rows;

	if ((st = parse_limit(r, &limit)) != 0)
		return st;
	if ((has_cursor = parse_cursor(r, "cursor", 'c', 2, cur)) > 1)
		return has_cursor;
	if ((st = parse_search(r, q, sizeof(q), digits, &has_q,
	    &phone_like)) != 0)
		return st;
	snprintf(lim, sizeof(lim), "%lld", (long long)limit + 1);
	v[0] = r->tenant_id;
	v[1] = has_cursor ? cur[0] : NULL;
	v[2] = has_cursor ? cur[1] : NULL;
	v[3] = has_q ? q : NULL;
	v[4] = phone_like ? digits : NULL;
	v[5] = lim;
	if ((res = db_query(r->w->db, &conv_list, 6, v)) == NULL)
		return reply_db_error(r);
	/* One row more than asked says whether another page exists. */
	rows = db_rows(res) > limit ? (int)limit : db_rows(res);
	arr = json_object_new_array_ext(rows);
	for (i = 0; i < rows; i++)
		json_object_array_add(arr, parse_db_json(db_val(res, i, 0)));
	out = json_object_new_object();
	json_object_object_add(out, "conversations", arr);
	if (db_rows(res) > limit && rows > 0) {
		cursor_encode('c', db_val(res, rows - 1, 1),
		    db_val(res, rows - 1, 2), next, sizeof(next));
		json_add_str(out, "next_cursor", next);
	} else
		json_add_str(out, "next_cursor", NULL);
	db_res_free(res);
	return reply_ok(r, out);
}

/* The {phone} segment in any form people type, as a wa_id; 0, or the 422
 * already sent. nginx has decoded it ("%2B91%2098765-43210"). */
static int
path_phone(struct req *r, char *wa_id, size_t n)
{
	if (phone_normalize(req_param(r, "phone"), wa_id, n) != 0)
		return reply_error(r, 422, "invalid_field",
		    "phone: %d-%d digits, optionally with '+', spaces, dashes",
		    PHONE_MIN, PHONE_MAX);
	return 0;
}

int
api_conversations_get(struct req *r)
{
	char			 wa_id[PHONE_MAX + 1], cur[2][24], lim[24];
	char			 next[CURSOR_MAX];
	const char		*v[4];
	struct db_res		*res;
	struct json_object	*out;
	int64_t			 limit;
	int			 st, has_before;

	if ((st = path_phone(r, wa_id, sizeof(wa_id))) != 0)
		return st;
	if ((st = parse_limit(r, &limit)) != 0)
		return st;
	if ((has_before = parse_cursor(r, "before", 'm', 1, cur)) > 1)
		return has_before;
	snprintf(lim, sizeof(lim), "%lld", (long long)limit);
	v[0] = r->tenant_id;
	v[1] = wa_id;
	v[2] = has_before ? cur[0] : NULL;
	v[3] = lim;
	if ((res = db_query(r->w->db, &conv_get, 4, v)) == NULL)
		return reply_db_error(r);
	if (db_rows(res) != 1) {
		db_res_free(res);
		return reply_error(r, 404, "not_found", "no such conversation");
	}
	out = json_object_new_object();
	json_object_object_add(out, "conversation",
	    parse_db_json(db_val(res, 0, 0)));
	json_object_object_add(out, "messages",
	    parse_db_json(db_val(res, 0, 1)));
	/* The oldest message shown bounds the next page, if older remain. */
	next[0] = '\0';
	if (db_val(res, 0, 2) != NULL && db_val(res, 0, 3) != NULL &&
	    *db_val(res, 0, 3) == 't')
		cursor_encode('m', db_val(res, 0, 2), NULL, next, sizeof(next));
	json_add_str(out, "next_before", *next != '\0' ? next : NULL);
	db_res_free(res);
	return reply_ok(r, out);
}

int
api_conversations_delete(struct req *r)
{
	char		 wa_id[PHONE_MAX + 1];
	const char	*v[2];
	struct db_res	*res;
	int		 found, st;

	if ((st = path_phone(r, wa_id, sizeof(wa_id))) != 0)
		return st;
	v[0] = r->tenant_id;
	v[1] = wa_id;
	/* One statement, so one transaction: the deletes and the event. */
	if ((res = db_query(r->w->db, &conv_delete, 2, v)) == NULL)
		return reply_db_error(r);
	found = db_rows(res) == 1 && db_val(res, 0, 0) != NULL;
	db_res_free(res);
	if (!found)
		return reply_error(r, 404, "not_found", "no such conversation");
	return reply_empty(r, 204);
}
