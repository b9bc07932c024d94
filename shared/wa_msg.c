/* shared/wa_msg.c: send requests -> Meta's message JSON (reference §2.3),
 * refusing before the network what Meta would refuse after it: the shared
 * helpers, text and its buttons, media, location, reactions and the table
 * of kinds (contacts, catalog/products and templates: wa_msg_lists.c). */
#include "wa_msg.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "json.h"
#include "phone.h"
#include "util.h"
#include "wa_msg_int.h"

#define TEXT_MAX	4096	/* plain text body */
#define BODY_MAX	1024	/* interactive body, caption */
#define HEADER_MAX	60	/* interactive header and footer */
#define BUTTON_TITLE_MAX 20
#define BUTTON_ID_MAX	256
#define URL_MAX		2000
#define WAMID_MAX	128

int
wa_msg_fail(struct wa_msg *m, const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return -1;
}

size_t
wa_msg_chars(const char *s)
{
	size_t	n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			n++;
	return n;
}

int
wa_msg_utf8_valid(const char *s, size_t n)
{
	const unsigned char	*p = (const unsigned char *)s, *end = p + n;
	unsigned		 c, need, min;

	while (p < end) {
		c = *p++;
		if (c < 0x80)
			continue;
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
			min = 0x80;
			c &= 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			min = 0x800;
			c &= 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			min = 0x10000;
			c &= 0x07;
		} else
			return 0;
		if ((size_t)(end - p) < need)
			return 0;
		for (; need > 0; need--, p++) {
			if ((*p & 0xC0) != 0x80)
				return 0;
			c = (c << 6) | (*p & 0x3F);
		}
		if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
			return 0;
	}
	return 1;
}

/* The value of key; JSON null counts as absent. */
struct json_object *
wa_msg_field(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL ||
	    json_object_is_type(v, json_type_null))
		return NULL;
	return v;
}

/* Refuses any key of o not in allowed (NULL-terminated). */
int
wa_msg_keys(struct wa_msg *m, struct json_object *o, const char *path,
    const char *const *allowed)
{
	const char	*k;

	if ((k = json_unknown_key(o, allowed)) != NULL)
		return wa_msg_fail(m, "%s%s: unknown field", path, k);
	return 0;
}

/* A string field of at most max characters. An absent or empty optional
 * field leaves *out NULL. */
int
wa_msg_str(struct wa_msg *m, struct json_object *o, const char *path,
    const char *key, int required, size_t max, const char **out)
{
	struct json_object	*v = wa_msg_field(o, key);
	const char		*s;

	*out = NULL;
	if (v == NULL)
		return required ? wa_msg_fail(m,
		    "%s%s: required", path, key) : 0;
	if (!json_object_is_type(v, json_type_string))
		return wa_msg_fail(m, "%s%s: must be a string", path, key);
	s = json_object_get_string(v);
	if (*s == '\0')
		return required ? wa_msg_fail(m,
		    "%s%s: must not be empty", path,
		    key) : 0;
	if (wa_msg_chars(s) > max)
		return wa_msg_fail(m,
		    "%s%s: at most %zu characters", path, key, max);
	*out = s;
	return 0;
}

int
wa_msg_arr(struct wa_msg *m, struct json_object *o, const char *key,
    size_t lo, size_t hi, struct json_object **out)
{
	struct json_object	*v = wa_msg_field(o, key);
	size_t			 n;

	*out = NULL;
	if (v == NULL)
		return lo > 0 ? wa_msg_fail(m, "%s: required", key) : 0;
	if (!json_object_is_type(v, json_type_array))
		return wa_msg_fail(m, "%s: must be an array", key);
	n = json_object_array_length(v);
	if (n < lo || n > hi)
		return wa_msg_fail(m,
		    "%s: %zu to %zu items, not %zu", key, lo, hi, n);
	*out = v;
	return 0;
}

static int
is_url(const char *s)
{
	if (strncmp(s, "https://", 8) != 0 && strncmp(s, "http://", 7) != 0)
		return 0;
	for (; *s != '\0'; s++)
		if (isspace((unsigned char)*s))
			return 0;
	return 1;
}

struct json_object *
wa_msg_add_obj(struct json_object *parent, const char *key)
{
	struct json_object	*o = json_object_new_object();

	json_object_object_add(parent, key, o);
	return o;
}

void
wa_msg_add_text(struct json_object *parent, const char *key, const char *text)
{
	if (text != NULL)
		json_add_str(wa_msg_add_obj(parent, key), "text", text);
}

/* The common envelope; returns the object named after the type. */
struct json_object *
wa_msg_envelope(struct wa_msg *m, const char *type)
{
	struct json_object	*p = json_object_new_object();

	json_add_str(p, "messaging_product", "whatsapp");
	json_add_str(p, "recipient_type", "individual");
	json_add_str(p, "to", m->to);
	json_add_str(p, "type", type);
	if (m->reply_to != NULL)
		json_add_str(wa_msg_add_obj(p, "context"), "message_id",
		    m->reply_to);
	m->payload = p;
	m->type = type;
	m->stored_type = type;
	return wa_msg_add_obj(p, type);
}

struct json_object *
wa_msg_interactive(struct wa_msg *m, const char *itype)
{
	struct json_object	*it = wa_msg_envelope(m, "interactive");

	json_add_str(it, "type", itype);
	return it;
}

/* --- text and its interactive forms ------------------------------------ */

static int
check_button(struct wa_msg *m, struct json_object *buttons, size_t i,
    int *urls, int *replies)
{
	static const char *const keys[] = { "title", "callback_data", "url",
	    NULL };
	struct json_object	*b = json_object_array_get_idx(buttons, i), *o;
	const char		*title, *cb, *url, *t2, *c2;
	char			 p[32];
	size_t			 j, n;

	snprintf(p, sizeof(p), "buttons[%zu].", i);
	if (b == NULL || !json_object_is_type(b, json_type_object))
		return wa_msg_fail(m, "buttons[%zu]: must be an object", i);
	if (wa_msg_keys(m, b, p, keys) != 0 ||
	    wa_msg_str(m, b, p, "title", 1, BUTTON_TITLE_MAX, &title) != 0 ||
	    wa_msg_str(m, b, p, "callback_data", 0, BUTTON_ID_MAX, &cb) != 0 ||
	    wa_msg_str(m, b, p, "url", 0, URL_MAX, &url) != 0)
		return -1;
	if ((cb == NULL) == (url == NULL))
		return wa_msg_fail(m,
		    "buttons[%zu]: exactly one of callback_data or "
		    "url is required", i);
	if (cb != NULL && (isspace((unsigned char)cb[0]) ||
	    isspace((unsigned char)cb[strlen(cb) - 1])))
		return wa_msg_fail(m,
		    "buttons[%zu].callback_data: no leading or "
		    "trailing spaces", i);
	if (url != NULL && !is_url(url))
		return wa_msg_fail(m, "buttons[%zu].url: must be an http:// or "
		    "https:// URL", i);
	*(url != NULL ? urls : replies) += 1;
	if (*urls > 0 && *replies > 0)
		return wa_msg_fail(m,
		    "buttons[%zu]: reply buttons (callback_data) and "
		    "a URL button cannot be mixed", i);
	if (*urls > 1)
		return wa_msg_fail(m,
		    "buttons[%zu]: only one URL button is allowed", i);
	n = i;
	for (j = 0; j < n; j++) {
		o = json_object_array_get_idx(buttons, j);
		t2 = json_str(o, "title");
		c2 = json_str(o, "callback_data");
		if (t2 != NULL && strcmp(t2, title) == 0)
			return wa_msg_fail(m, "buttons[%zu].title: same as "
			    "buttons[%zu].title", i, j);
		if (cb != NULL && c2 != NULL && strcmp(c2, cb) == 0)
			return wa_msg_fail(m,
			    "buttons[%zu].callback_data: same as "
			    "buttons[%zu].callback_data", i, j);
	}
	return 0;
}

static void
add_buttons(struct json_object *action, struct json_object *buttons)
{
	struct json_object	*arr = json_object_new_array(), *b, *reply;
	size_t			 i;

	for (i = 0; i < json_object_array_length(buttons); i++) {
		b = json_object_array_get_idx(buttons, i);
		reply = json_object_new_object();
		json_add_str(reply, "type", "reply");
		json_add_str(wa_msg_add_obj(reply, "reply"), "id",
		    json_str(b, "callback_data"));
		json_add_str(json_obj(reply, "reply"), "title",
		    json_str(b, "title"));
		json_object_array_add(arr, reply);
	}
	json_object_object_add(action, "buttons", arr);
}

static int
build_buttons(struct wa_msg *m, const char *text, const char *header,
    const char *footer, struct json_object *buttons)
{
	struct json_object	*it, *action, *prm, *b;
	size_t			 i, n = json_object_array_length(buttons);
	int			 urls = 0, replies = 0;

	if (n > 3)
		return wa_msg_fail(m, "buttons: at most 3 buttons, not %zu", n);
	for (i = 0; i < n; i++)
		if (check_button(m, buttons, i, &urls, &replies) != 0)
			return -1;
	it = wa_msg_interactive(m, urls > 0 ? "cta_url" : "button");
	if (header != NULL) {
		b = wa_msg_add_obj(it, "header");
		json_add_str(b, "type", "text");
		json_add_str(b, "text", header);
	}
	wa_msg_add_text(it, "body", text);
	wa_msg_add_text(it, "footer", footer);
	action = wa_msg_add_obj(it, "action");
	if (urls == 0) {
		add_buttons(action, buttons);
		return 0;
	}
	b = json_object_array_get_idx(buttons, 0);
	json_add_str(action, "name", "cta_url");
	prm = wa_msg_add_obj(action, "parameters");
	json_add_str(prm, "display_text", json_str(b, "title"));
	json_add_str(prm, "url", json_str(b, "url"));
	return 0;
}

static int
build_text(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*buttons = wa_msg_field(req, "buttons");
	struct json_object	*pv, *o;
	const char		*text, *header, *footer;
	int			 inter;

	if (buttons != NULL && !json_object_is_type(buttons, json_type_array))
		return wa_msg_fail(m, "buttons: must be an array");
	if (buttons != NULL && json_object_array_length(buttons) == 0)
		buttons = NULL;		/* [] = no buttons */
	if (wa_msg_str(m, req, "", "header", 0, HEADER_MAX, &header) != 0 ||
	    wa_msg_str(m, req, "", "footer", 0, HEADER_MAX, &footer) != 0)
		return -1;
	inter = buttons != NULL || header != NULL || footer != NULL;
	if (wa_msg_str(m, req, "", "text", 1, inter ? BODY_MAX : TEXT_MAX,
	    &text) != 0)
		return -1;
	pv = wa_msg_field(req, "preview_url");
	if (pv != NULL && !json_object_is_type(pv, json_type_boolean))
		return wa_msg_fail(m, "preview_url: must be true or false");
	m->text = text;
	if (inter && buttons == NULL)
		return wa_msg_fail(m,
		    "buttons: required when header or footer is "
		    "set (Meta's interactive messages need a button)");
	if (inter)	/* Meta has no link preview on interactive messages */
		return build_buttons(m, text, header, footer, buttons);
	o = wa_msg_envelope(m, "text");
	if (pv != NULL)
		json_add_bool(o, "preview_url", json_object_get_boolean(pv));
	json_add_str(o, "body", text);
	return 0;
}

static int
build_request_location(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*it;
	const char		*text;

	if (wa_msg_str(m, req, "", "text", 1, BODY_MAX, &text) != 0)
		return -1;
	m->text = text;
	it = wa_msg_interactive(m, "location_request_message");
	wa_msg_add_text(it, "body", text);
	json_add_str(wa_msg_add_obj(it, "action"), "name", "send_location");
	return 0;
}

/* --- media ----------------------------------------------------------- */

static int
media_ref(struct wa_msg *m, struct json_object *req, const char *mtype)
{
	if (wa_msg_str(m, req, "", "media_id", 1, 64, &m->media_id) != 0)
		return -1;
	m->media_type = mtype;
	return 0;
}

static int
build_media(struct json_object *req, struct wa_msg *m)
{
	static const char *const kinds[] = { "image", "video", "audio",
	    "document" };
	struct json_object	*o;
	const char		*mt, *caption, *filename;
	size_t			 i;

	if (wa_msg_str(m, req, "", "media_type", 1, 16, &mt) != 0)
		return -1;
	for (i = 0; i < nitems(kinds); i++)
		if (strcmp(kinds[i], mt) == 0)
			break;
	if (i == nitems(kinds))
		return wa_msg_fail(m,
		    "media_type: must be image, video, audio or "
		    "document");
	if (media_ref(m, req, kinds[i]) != 0 ||
	    wa_msg_str(m, req, "", "caption", 0, BODY_MAX, &caption) != 0 ||
	    wa_msg_str(m, req, "", "filename", 0, 240, &filename) != 0)
		return -1;
	if (caption != NULL && strcmp(mt, "audio") == 0)
		return wa_msg_fail(m,
		    "caption: audio messages cannot have a caption");
	if (filename != NULL && strcmp(mt, "document") != 0)
		return wa_msg_fail(m,
		    "filename: only documents have a filename");
	m->text = caption;
	o = wa_msg_envelope(m, kinds[i]);
	json_add_str(o, "id", m->media_id);
	if (caption != NULL)
		json_add_str(o, "caption", caption);
	if (filename != NULL)
		json_add_str(o, "filename", filename);
	return 0;
}

static int
build_voice(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*o;

	if (media_ref(m, req, "voice") != 0)
		return -1;
	o = wa_msg_envelope(m, "audio");
	m->stored_type = "voice";
	json_add_str(o, "id", m->media_id);
	json_add_bool(o, "voice", 1);
	return 0;
}

static int
build_sticker(struct json_object *req, struct wa_msg *m)
{
	if (media_ref(m, req, "sticker") != 0)
		return -1;
	json_add_str(wa_msg_envelope(m, "sticker"), "id", m->media_id);
	return 0;
}

/* --- location and contacts -------------------------------------------- */

static int
coord(struct wa_msg *m, struct json_object *req, const char *key,
    double limit, struct json_object **out)
{
	struct json_object	*v = wa_msg_field(req, key);
	double			 d;

	if (v == NULL)
		return wa_msg_fail(m, "%s: required", key);
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return wa_msg_fail(m, "%s: must be a number", key);
	d = json_object_get_double(v);
	if (!(d >= -limit && d <= limit))
		return wa_msg_fail(m,
		    "%s: must be between -%g and %g", key, limit,
		    limit);
	*out = v;
	return 0;
}

static int
build_location(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*lat, *lon, *o;
	const char		*name, *addr;

	if (coord(m, req, "latitude", 90, &lat) != 0 ||
	    coord(m, req, "longitude", 180, &lon) != 0 ||
	    wa_msg_str(m, req, "", "name", 0, 1000, &name) != 0 ||
	    wa_msg_str(m, req, "", "address", 0, 1000, &addr) != 0)
		return -1;
	m->text = name;
	o = wa_msg_envelope(m, "location");
	json_object_object_add(o, "latitude", json_object_get(lat));
	json_object_object_add(o, "longitude", json_object_get(lon));
	if (name != NULL)
		json_add_str(o, "name", name);
	if (addr != NULL)
		json_add_str(o, "address", addr);
	return 0;
}

/* --- reactions -------------------------------------------------------- */

/* One emoji, roughly: no ASCII except a keycap's digit, few code points. */
static int
one_emoji(const char *s)
{
	size_t	n = wa_msg_chars(s);

	if (n == 0 || n > 16)
		return 0;
	if (strchr("0123456789#*", s[0]) != NULL && s[0] != '\0')
		return strstr(s, "\xe2\x83\xa3") != NULL && n <= 3;
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x80)
			return 0;
	return 1;
}

int
wa_msg_reaction(const char *to, const char *target, const char *emoji,
    struct wa_msg *m)
{
	struct json_object	*o;

	memset(m, 0, sizeof(*m));
	m->kind = WA_MSG_REACTION;
	m->free_form = 1;
	if (phone_normalize(to, m->to, sizeof(m->to)) != 0)
		return wa_msg_fail(m,
		    "to: must be a phone number with country code "
		    "(8 to 15 digits)");
	if (*emoji != '\0' && !one_emoji(emoji))
		return wa_msg_fail(m, "emoji: must be a single emoji");
	m->react_to = target;
	m->emoji = emoji;
	o = wa_msg_envelope(m, "reaction");
	json_add_str(o, "message_id", target);
	json_add_str(o, "emoji", emoji);
	return 0;
}

static int
build_reaction(struct json_object *req, struct wa_msg *m)
{
	const char	*target, *emoji;
	char		 to[PHONE_MAX + 1];

	if (wa_msg_str(m, req, "", "message_id", 1, WAMID_MAX, &target) != 0 ||
	    wa_msg_str(m, req, "", "emoji", 1, 16, &emoji) != 0)
		return -1;
	if (!one_emoji(emoji))
		return wa_msg_fail(m,
		    "emoji: must be a single emoji (remove a reaction "
		    "with DELETE /api/v1/messages/{id}/reaction)");
	memcpy(to, m->to, sizeof(to));
	return wa_msg_reaction(to, target, emoji, m);
}

/* --- the table ------------------------------------------------------- */

/* "queue": read by fcgi/api_send.c (queued delivery), not part of the
 * message. */
#define COMMON	"to", "reply_to_message_id", "queue"

static const char *const text_keys[] = { COMMON, "text", "header", "footer",
    "buttons", "preview_url", NULL };
static const char *const media_keys[] = { COMMON, "media_id", "media_type",
    "caption", "filename", NULL };
static const char *const voice_keys[] = { COMMON, "media_id", NULL };
static const char *const location_keys[] = { COMMON, "latitude",
    "longitude", "name", "address", NULL };
static const char *const reqloc_keys[] = { COMMON, "text", NULL };
static const char *const contact_keys[] = { COMMON, "contacts", NULL };
static const char *const catalog_keys[] = { COMMON, "body", "footer",
    "thumbnail_product_sku", NULL };
static const char *const product_keys[] = { COMMON, "catalog_id", "sku",
    "body", "footer", NULL };
static const char *const products_keys[] = { COMMON, "catalog_id", "header",
    "body", "footer", "product_sections", NULL };
static const char *const reaction_keys[] = { "to", "message_id", "emoji",
    "queue", NULL };
static const char *const template_keys[] = { COMMON, "name", "language",
    "components", NULL };

static const struct {
	const char *const	*keys;
	int			(*build)(struct json_object *, struct wa_msg *);
} kinds[] = {
	[WA_MSG_TEXT] = { text_keys, build_text },
	[WA_MSG_MEDIA] = { media_keys, build_media },
	[WA_MSG_VOICE] = { voice_keys, build_voice },
	[WA_MSG_LOCATION] = { location_keys, build_location },
	[WA_MSG_REQUEST_LOCATION] = { reqloc_keys, build_request_location },
	[WA_MSG_STICKER] = { voice_keys, build_sticker },
	[WA_MSG_CONTACT] = { contact_keys, wa_msg_lists_contact },
	[WA_MSG_CATALOG] = { catalog_keys, wa_msg_lists_catalog },
	[WA_MSG_PRODUCT] = { product_keys, wa_msg_lists_product },
	[WA_MSG_PRODUCTS] = { products_keys, wa_msg_lists_products },
	[WA_MSG_REACTION] = { reaction_keys, build_reaction },
	[WA_MSG_TEMPLATE] = { template_keys, wa_msg_lists_template },
};

int
wa_msg_build(enum wa_msg_kind kind, struct json_object *req, struct wa_msg *m)
{
	const char	*to;
	char		 path[WA_MSG_ERR_MAX / 2];

	memset(m, 0, sizeof(*m));
	m->kind = kind;
	m->free_form = 1;
	if ((unsigned)kind >= nitems(kinds) || req == NULL ||
	    !json_object_is_type(req, json_type_object))
		return wa_msg_fail(m, "body: must be a JSON object");
	/* Every field is read as a C string, which would end at the NUL:
	 * "a\u0000b" would go to Meta as "a". */
	if (json_nul_find(req, path, sizeof(path)))
		return wa_msg_fail(m, "%s: must not contain NUL characters "
		    "(\\u0000)", path);
	if (kind == WA_MSG_REACTION && wa_msg_field(req, "reply_to_message_id"))
		return wa_msg_fail(m,
		    "reply_to_message_id: a reaction cannot quote "
		    "a message");
	if (wa_msg_keys(m, req, "", kinds[kind].keys) != 0 ||
	    wa_msg_str(m, req, "", "to", 1, 32, &to) != 0)
		return -1;
	if (phone_normalize(to, m->to, sizeof(m->to)) != 0)
		return wa_msg_fail(m,
		    "to: must be a phone number with country code "
		    "(8 to 15 digits)");
	if (kind != WA_MSG_REACTION && wa_msg_str(m, req, "",
	    "reply_to_message_id", 0, WAMID_MAX, &m->reply_to) != 0)
		return -1;
	if (kinds[kind].build(req, m) != 0) {
		wa_msg_free(m);
		return -1;
	}
	return 0;
}

void
wa_msg_free(struct wa_msg *m)
{
	json_object_put(m->payload);
	m->payload = NULL;
}

/* What an upload is, by its MIME type, when the row did not say. */
static const char *
kind_of(const char *mime)
{
	if (strncasecmp(mime, "image/webp", 10) == 0)
		return "sticker";
	if (strncasecmp(mime, "image/", 6) == 0)
		return "image";
	if (strncasecmp(mime, "video/", 6) == 0)
		return "video";
	if (strncasecmp(mime, "audio/", 6) == 0)
		return "audio";
	return "document";
}

int
wa_msg_media_ok(struct wa_msg *m, const char *kind, const char *mime)
{
	if (mime == NULL)
		mime = "";
	if (kind == NULL || *kind == '\0')
		kind = kind_of(mime);
	if (strcmp(m->media_type, "voice") == 0) {
		/* Meta transcribes and shows a voice note only for OGG/Opus. */
		if (strncasecmp(mime, "audio/ogg", 9) != 0 ||
		    (mime[9] != '\0' && mime[9] != ';'))
			return wa_msg_fail(m,
			    "media_id: a voice message must be "
			    "OGG/Opus audio, this media is %s", mime);
		return 0;
	}
	if (strcmp(m->media_type, "sticker") == 0) {
		if (strncasecmp(mime, "image/webp", 10) != 0)
			return wa_msg_fail(m,
			    "media_id: a sticker must be image/webp, "
			    "this media is %s", mime);
		return 0;
	}
	if (strcmp(kind, m->media_type) != 0)
		return wa_msg_fail(m,
		    "media_type: the media is %s (%s), not %s", kind,
		    mime, m->media_type);
	return 0;
}

void
wa_msg_set_media(struct wa_msg *m, const char *wa_media_id,
    const char *filename)
{
	struct json_object	*o = m->media_slot != NULL ? m->media_slot :
	    json_obj(m->payload, m->type);

	if (o == NULL)
		return;
	json_add_str(o, "id", wa_media_id);
	if (strcmp(m->type, "document") == 0 && filename != NULL &&
	    *filename != '\0' && !json_has(o, "filename"))
		json_add_str(o, "filename", filename);
}

void
wa_msg_set_catalog(struct wa_msg *m, const char *catalog_id)
{
	struct json_object	*a;

	a = json_obj(json_obj(m->payload, "interactive"), "action");
	if (a != NULL && catalog_id != NULL)
		json_add_str(a, "catalog_id", catalog_id);
	m->needs_catalog = 0;
}
