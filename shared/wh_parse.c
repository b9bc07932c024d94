/* shared/wh_parse.c: see wh_parse.h. The rules mirror the general SQL path
 * (schema 002's wa_wh_change, wa_wh_value, wa_wh_messages, wa_msg_norm);
 * where a body strays from the plain shape in any way, the answer is
 * WH_GENERAL, never a guess: the general path then does exactly what it
 * always did. */
#include "wh_parse.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "util.h"

#define WH_ID_MAX	512	/* longer ids go where a failure is logged */
#define WH_FROM_MAX	128

static const int json_out = JSON_C_TO_STRING_PLAIN |
    JSON_C_TO_STRING_NOSLASHESCAPE;

/* Message types wa_msg_norm knows; any other is stored as "unknown". */
static const char *const known_types[] = {
	"text", "image", "video", "audio", "document", "sticker", "location",
	"contacts", "interactive", "button", "order", "system", "unsupported",
	"request_welcome",
};
/* Types that change other rows or emit more events: the general path. */
static const char *const general_types[] = {
	"reaction", "edit", "revoke", "button", "interactive",
};
static const char *const media_types[] = {
	"image", "video", "audio", "document", "sticker",
};
/* The keys a value may have here; statuses, errors or anything new go the
 * general way, which knows them (or logs them). */
static const char *const value_keys[] = {
	"messaging_product", "metadata", "contacts", "messages",
};

static int
in_list(const char *s, const char *const *list, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (strcmp(s, list[i]) == 0)
			return 1;
	return 0;
}
#define IN(s, list)	in_list((s), (list), nitems(list))

/* Reads \uXXXX at p (p[0] == '\\', p[1] == 'u'); -1 when not hex. */
static long
escape_unit(const char *p, const char *end)
{
	long	v = 0;
	int	i;

	if (end - p < 6)
		return -1;
	for (i = 2; i < 6; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		v = v * 16 + hex_digit(p[i]);
	}
	return v;
}

/* The length of the UTF-8 sequence at p as PostgreSQL takes it (RFC
 * 3629: no overlong form, no UTF-16 surrogate, nothing past U+10FFFF);
 * 0 when it is not one. json-c's own check lets all three through. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	unsigned char	lo = 0x80, hi = 0xbf;
	size_t		n, i;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		n = 2;
	else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;	/* overlong */
		else if (p[0] == 0xed)
			hi = 0x9f;	/* surrogates */
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		if (p[0] == 0xf0)
			lo = 0x90;	/* overlong */
		else if (p[0] == 0xf4)
			hi = 0x8f;	/* past U+10FFFF */
	} else
		return 0;
	if ((size_t)(end - p) < n || p[1] < lo || p[1] > hi)
		return 0;
	for (i = 2; i < n; i++)
		if (p[i] < 0x80 || p[i] > 0xbf)
			return 0;
	return n;
}

/* The number of digits at p. */
static size_t
digits(const char *p, const char *end)
{
	const char	*q = p;

	while (q < end && isdigit((unsigned char)*q))
		q++;
	return (size_t)(q - p);
}

/* The length of the JSON number at p, 0 when json-c could read it
 * otherwise than PostgreSQL does. json-c takes leading zeros ("00",
 * "-01"), a bare point ("1.", "1.e5") and any exponent, and keeps
 * integers in 64 bits; PostgreSQL refuses the first two, its numeric
 * ends near 1e-16383 (so at most 4 digits of exponent here) and is exact
 * (so no run of 19 digits). */
static size_t
number_len(const char *s, const char *end)
{
	const char	*p = s;
	size_t		 n;

	if (p < end && *p == '-')
		p++;
	n = digits(p, end);
	if (n == 0 || n >= 19 || (n > 1 && *p == '0'))
		return 0;
	p += n;
	if (p < end && *p == '.') {
		n = digits(++p, end);
		if (n == 0 || n >= 19)
			return 0;
		p += n;
	}
	if (p < end && (*p == 'e' || *p == 'E')) {
		if (++p < end && (*p == '+' || *p == '-'))
			p++;
		while (p < end && *p == '0' && p + 1 < end &&
		    isdigit((unsigned char)p[1]))
			p++;	/* leading zeros of the exponent */
		n = digits(p, end);
		if (n == 0 || n > 4)
			return 0;
		p += n;
	}
	if (p < end && (isalnum((unsigned char)*p) || *p == '.' ||
	    *p == '-' || *p == '+'))
		return 0;	/* "01", "1.2.3": not one number */
	return (size_t)(p - s);
}

/* The length of the \uXXXX escape (or surrogate pair) at p, 0 when
 * json-c would read it otherwise than PostgreSQL does: json-c turns an
 * unpaired surrogate into U+FFFD, where PostgreSQL refuses it, and keeps
 * U+0000, which jsonb cannot hold. */
static size_t
escape_len(const char *p, const char *end)
{
	long	u, lo;

	if ((u = escape_unit(p, end)) <= 0)
		return 0;
	if (u >= 0xdc00 && u <= 0xdfff)
		return 0;	/* a low half alone */
	if (u < 0xd800 || u > 0xdbff)
		return 6;
	if (end - p < 12 || p[6] != '\\' || p[7] != 'u' ||
	    (lo = escape_unit(p + 6, end)) < 0xdc00 || lo > 0xdfff)
		return 0;
	return 12;
}

/* The length of the string at s (quotes included), 0 when json-c could
 * read it otherwise than PostgreSQL does: besides the escapes above,
 * json-c takes control characters unescaped and UTF-8 that PostgreSQL
 * refuses. 0 too when it is not closed: json-c refuses that anyway. */
static size_t
string_len(const char *s, const char *end)
{
	const char	*p = s + 1;
	size_t		 n;

	while (p < end && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return 0;
		if ((unsigned char)*p >= 0x80)
			n = utf8_len((const unsigned char *)p,
			    (const unsigned char *)end);
		else if (*p != '\\')
			n = 1;
		else if (p + 1 == end)
			return 0;
		else
			n = p[1] == 'u' ? escape_len(p, end) : 2;
		if (n == 0)
			return 0;
		p += n;
	}
	return p < end ? (size_t)(p + 1 - s) : 0;
}

/* Whether json-c and PostgreSQL read this text the same way: its strings
 * and numbers as above, and no NaN or Infinity (json-c takes them,
 * PostgreSQL does not). Any doubt: the general path decides. Whether it
 * is JSON at all is json-c's to say. */
static int
json_sure(const char *s, size_t n)
{
	const char	*p = s, *end = s + n;
	size_t		 k;

	while (p < end) {
		if (*p == '"')
			k = string_len(p, end);
		else if (*p == '-' || isdigit((unsigned char)*p))
			k = number_len(p, end);
		else if (*p == 'N' || *p == 'I')
			return 0;
		else
			k = 1;
		if (k == 0)
			return 0;
		p += k;
	}
	return 1;
}

static struct json_object *
parse_strict(const char *s, size_t n)
{
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o;

	if (tok == NULL)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)n);
	if (o != NULL && (json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != n)) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* o[key] as ->> reads a string: 0 with *out NULL when absent or null, 0
 * with the string, -1 for any other type (->> would give its JSON text;
 * not worth the trouble: the general path takes it). */
static int
str_field(struct json_object *o, const char *key, const char **out)
{
	struct json_object	*v;

	*out = NULL;
	if (o == NULL || !json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string) ||
	    strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return -1;
	*out = json_object_get_string(v);
	return 0;
}

/* o[key] when it is an object, else NULL (->'key' of jsonb_typeof
 * object). */
static struct json_object *
obj_field(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_object))
		return NULL;
	return v;
}

/* Whether o[key] is JSON true (jsonb's `= 'true'`). */
static int
is_true(struct json_object *o, const char *key)
{
	struct json_object	*v;

	return o != NULL && json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_boolean) &&
	    json_object_get_boolean(v);
}

/* A deep copy without the object fields whose value is null, at every
 * level (jsonb_strip_nulls); NULL for null itself. */
static struct json_object *
strip_nulls(struct json_object *v)
{
	struct json_object	*out;
	size_t			 i, n;

	if (v == NULL)
		return NULL;
	if (json_object_is_type(v, json_type_object)) {
		out = json_object_new_object();
		json_object_object_foreach(v, k, e)
			if (e != NULL)
				json_object_object_add(out, k,
				    strip_nulls(e));
		return out;
	}
	if (json_object_is_type(v, json_type_array)) {
		out = json_object_new_array();
		n = json_object_array_length(v);
		for (i = 0; i < n; i++)
			json_object_array_add(out, strip_nulls(
			    json_object_array_get_idx(v, i)));
		return out;
	}
	return json_object_get(v);
}

/* Adds o[key] under key, nulls stripped, unless it is absent or null. */
static void
add_stripped(struct json_object *to, const char *key, struct json_object *o)
{
	struct json_object	*v;

	if (o != NULL && json_object_object_get_ex(o, key, &v) && v != NULL)
		json_object_object_add(to, key, strip_nulls(v));
}

/* o[key] (absent: null) under key. */
static void
add_as_is(struct json_object *to, const char *key, struct json_object *o)
{
	struct json_object	*v = NULL;

	json_object_object_get_ex(o, key, &v);
	json_object_object_add(to, key, json_object_get(v));
}

/* wa_msg_norm's content: the type's own part, then errors, referral,
 * referred product and group id; NULL when that is {}. t is Meta's type,
 * p its payload object (or NULL). */
static char *
content_json(struct json_object *m, const char *t, struct json_object *p)
{
	struct json_object	*c = json_object_new_object();
	char			*s = NULL;

	if (strcmp(t, "audio") == 0)
		json_object_object_add(c, "voice",
		    json_object_new_boolean(is_true(p, "voice")));
	else if (strcmp(t, "sticker") == 0)
		json_object_object_add(c, "animated",
		    json_object_new_boolean(is_true(p, "animated")));
	else if (strcmp(t, "location") == 0 || strcmp(t, "order") == 0 ||
	    strcmp(t, "system") == 0) {
		if (p != NULL) {
			json_object_object_foreach(p, k, e)
				json_object_object_add(c, k,
				    json_object_get(e));
		}
	} else if (strcmp(t, "contacts") == 0 || strcmp(t, "unsupported") == 0)
		add_as_is(c, t, m);
	else if (!IN(t, known_types))
		json_object_object_add(c, "meta_type",
		    json_object_new_string(t));
	add_stripped(c, "errors", m);
	add_stripped(c, "referral", m);
	add_stripped(c, "referred_product", obj_field(m, "context"));
	add_stripped(c, "group_id", m);
	if (json_object_object_length(c) > 0)
		s = xstrdup(json_object_to_json_string_ext(c, json_out));
	json_object_put(c);
	return s;
}

/* wa_ts(): Unix seconds of at most 11 digits, given as a string or an
 * integer; anything else gives no time. -1: a number we would not read as
 * PostgreSQL does (a fraction or exponent). */
static int
take_ts(struct json_object *m, char ts[12])
{
	struct json_object	*v;
	const char		*s;
	size_t			 n;

	ts[0] = '\0';
	if (!json_object_object_get_ex(m, "timestamp", &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_double))
		return -1;
	if (!json_object_is_type(v, json_type_string) &&
	    !json_object_is_type(v, json_type_int))
		return 0;	/* ->> gives no digits: NULL */
	s = json_object_get_string(v);
	n = strlen(s);
	if (n < 1 || n > 11 || strspn(s, "0123456789") != n)
		return 0;
	memcpy(ts, s, n + 1);
	return 0;
}

/* The type-specific columns; -1 when a field has a shape ->> would render
 * as JSON text. */
static int
take_columns(const char *t, struct json_object *p, struct wh_msg *w)
{
	const char	*caption_of = NULL;

	if (strcmp(t, "text") == 0 || strcmp(t, "system") == 0)
		caption_of = "body";
	else if (strcmp(t, "image") == 0 || strcmp(t, "video") == 0 ||
	    strcmp(t, "document") == 0)
		caption_of = "caption";
	else if (strcmp(t, "order") == 0)
		caption_of = "text";
	if (caption_of != NULL && str_field(p, caption_of, &w->text) != 0)
		return -1;
	if (IN(t, media_types) && (str_field(p, "id", &w->media_id) != 0 ||
	    str_field(p, "mime_type", &w->media_mime) != 0 ||
	    str_field(p, "sha256", &w->media_sha256) != 0 ||
	    str_field(p, "filename", &w->media_filename) != 0 ||
	    (w->media_id != NULL && strlen(w->media_id) > WH_ID_MAX)))
		return -1;
	return 0;
}

/* One messages[] item; -1 when it is not for this path. */
static int
take_msg(struct json_object *m, const char *pnid, struct wh_msg *w)
{
	struct json_object	*p, *ctx, *v;
	const char		*t;

	memset(w, 0, sizeof(*w));
	w->pnid = pnid;
	if (!json_object_is_type(m, json_type_object) ||
	    str_field(m, "from_user_id", &w->user_id) != 0 ||
	    (w->user_id != NULL && strlen(w->user_id) > WH_FROM_MAX) ||
	    str_field(m, "id", &w->wamid) != 0 || w->wamid == NULL ||
	    strlen(w->wamid) > WH_ID_MAX ||
	    str_field(m, "from", &w->from) != 0 || w->from == NULL ||
	    strlen(w->from) > WH_FROM_MAX ||
	    str_field(m, "type", &t) != 0 || t == NULL ||
	    IN(t, general_types))
		return -1;
	/* ->'context'->>'id' of a non-object is NULL, but keep it plain. */
	if (json_object_object_get_ex(m, "context", &v) && v != NULL &&
	    !json_object_is_type(v, json_type_object))
		return -1;
	ctx = obj_field(m, "context");
	p = obj_field(m, t);
	if (str_field(ctx, "id", &w->context) != 0 ||
	    take_columns(t, p, w) != 0 || take_ts(m, w->ts) != 0)
		return -1;
	w->forwarded = is_true(ctx, "forwarded");
	w->freq_forwarded = is_true(ctx, "frequently_forwarded");
	if (strcmp(t, "audio") == 0 && is_true(p, "voice"))
		w->type = "voice";
	else
		w->type = IN(t, known_types) ? t : "unknown";
	w->content = content_json(m, t, p);
	w->raw = xstrdup(json_object_to_json_string_ext(m, json_out));
	return 0;
}

/* value.contacts[]: absent, null, or entries each naming a sender of this
 * change by wa_id (and BSUID, when it has one), once. Sets each message's
 * name, and its BSUID when the message has none of its own. An entry whose
 * BSUID is another sender's, or not the message's own, is the general
 * path's: it matches senders by either. */
static int
take_contacts(struct json_object *value, struct wh_msg *w, size_t n)
{
	struct json_object	*cts, *ct, *prof;
	const char		*wa, *uid, *name, *seen[WH_BODY_MAX_MSGS];
	size_t			 i, j, k, len;
	int			 found;

	if (!json_object_object_get_ex(value, "contacts", &cts) ||
	    cts == NULL)
		return 0;
	if (!json_object_is_type(cts, json_type_array) ||
	    (len = json_object_array_length(cts)) > n)
		return -1;
	for (i = 0; i < len; i++) {
		ct = json_object_array_get_idx(cts, i);
		if (!json_object_is_type(ct, json_type_object) ||
		    str_field(ct, "user_id", &uid) != 0 ||
		    str_field(ct, "wa_id", &wa) != 0 || wa == NULL ||
		    (uid != NULL && strlen(uid) > WH_FROM_MAX))
			return -1;
		prof = NULL;
		if (json_object_object_get_ex(ct, "profile", &prof) &&
		    prof != NULL && !json_object_is_type(prof,
		    json_type_object))
			return -1;
		if (str_field(prof, "name", &name) != 0)
			return -1;
		for (k = 0; k < i; k++)
			if (strcmp(seen[k], wa) == 0)
				return -1;	/* named twice */
		seen[i] = wa;
		for (j = 0, found = 0; j < n; j++) {
			if ((strcmp(w[j].from, wa) == 0) != (uid != NULL &&
			    w[j].user_id != NULL &&
			    strcmp(w[j].user_id, uid) == 0) &&
			    uid != NULL && w[j].user_id != NULL)
				return -1;	/* wa_id and BSUID disagree */
			if (strcmp(w[j].from, wa) != 0)
				continue;
			w[j].name = name;
			if (w[j].user_id == NULL)
				w[j].user_id = uid;
			found = 1;
		}
		if (!found)
			return -1;	/* about someone else: general */
	}
	return 0;
}

/* Whether value has only the keys this path knows. */
static int
plain_value(struct json_object *value)
{
	json_object_object_foreach(value, k, v) {
		(void)v;
		if (!IN(k, value_keys))
			return 0;
	}
	return 1;
}

/* Whether the sender of message k already wrote in an earlier change of
 * the body (messages before first). The general path stores changes one
 * after the other, so the events of the first would show the contact as
 * it was then; a batch shows it as it ends. Rare enough to leave to the
 * general path. */
static int
sender_seen(const struct wh_body *b, size_t first, size_t k)
{
	size_t	i;

	for (i = 0; i < first; i++)
		if (strcmp(b->msgs[i].from, b->msgs[k].from) == 0)
			return 1;
	return 0;
}

/* One change: its messages appended to b. */
static int
take_change(struct json_object *change, const char **pnid,
    struct wh_body *b)
{
	struct json_object	*value, *md, *msgs;
	const char		*field, *pn;
	size_t			 i, n, first = b->n;

	if (!json_object_is_type(change, json_type_object) ||
	    str_field(change, "field", &field) != 0 || field == NULL ||
	    strcmp(field, "messages") != 0 ||
	    (value = obj_field(change, "value")) == NULL ||
	    !plain_value(value) || (md = obj_field(value, "metadata")) ==
	    NULL || str_field(md, "phone_number_id", &pn) != 0 || pn == NULL ||
	    (*pnid != NULL && strcmp(*pnid, pn) != 0) ||
	    !json_object_object_get_ex(value, "messages", &msgs) ||
	    !json_object_is_type(msgs, json_type_array) ||
	    (n = json_object_array_length(msgs)) == 0 ||
	    b->n + n > WH_BODY_MAX_MSGS)
		return -1;
	*pnid = pn;
	/* Grown to fit, zeroed: what wh_body_free() frees is all set. */
	b->msgs = xrealloc(b->msgs, (b->n + n) * sizeof(*b->msgs));
	memset(b->msgs + b->n, 0, n * sizeof(*b->msgs));
	b->cap = b->n + n;
	for (i = 0; i < n; i++, b->n++)
		if (take_msg(json_object_array_get_idx(msgs, i), pn,
		    &b->msgs[b->n]) != 0 || sender_seen(b, first, b->n))
			return -1;
	return take_contacts(value, b->msgs + first, n);
}

static int
take_body(struct json_object *root, struct wh_body *b)
{
	struct json_object	*entries, *entry, *changes;
	const char		*object, *pnid = NULL;
	size_t			 i, j, ne, nc;

	if (!json_object_is_type(root, json_type_object) ||
	    str_field(root, "object", &object) != 0 || object == NULL ||
	    strcmp(object, "whatsapp_business_account") != 0 ||
	    !json_object_object_get_ex(root, "entry", &entries) ||
	    !json_object_is_type(entries, json_type_array) ||
	    (ne = json_object_array_length(entries)) == 0)
		return -1;
	for (i = 0; i < ne; i++) {
		entry = json_object_array_get_idx(entries, i);
		if (!json_object_is_type(entry, json_type_object) ||
		    !json_object_object_get_ex(entry, "changes", &changes) ||
		    !json_object_is_type(changes, json_type_array) ||
		    (nc = json_object_array_length(changes)) == 0)
			return -1;
		for (j = 0; j < nc; j++)
			if (take_change(json_object_array_get_idx(changes, j),
			    &pnid, b) != 0)
				return -1;
	}
	return 0;
}

enum wh_verdict
wh_parse(const char *body, size_t len, struct wh_body *b)
{
	memset(b, 0, sizeof(*b));
	if (!json_sure(body, len) || (b->root = parse_strict(body, len)) ==
	    NULL)
		return WH_UNSURE;
	if (take_body(b->root, b) != 0) {
		wh_body_free(b);
		return WH_GENERAL;
	}
	return WH_BATCH;
}

void
wh_body_free(struct wh_body *b)
{
	size_t	i;

	if (b->msgs != NULL)
		for (i = 0; i < b->cap; i++) {
			free(b->msgs[i].content);
			free(b->msgs[i].raw);
		}
	free(b->msgs);
	if (b->root != NULL)
		json_object_put(b->root);
	memset(b, 0, sizeof(*b));
}
