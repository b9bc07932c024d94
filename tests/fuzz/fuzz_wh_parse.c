/* tests/fuzz/fuzz_wh_parse.c: libFuzzer target for shared/wh_parse.c, the
 * batched ingest's reader of webhook bodies. The input is the body,
 * NUL-terminated at its length as wh_parse() asks. Besides not crashing
 * or leaking: a WH_GENERAL or WH_UNSURE leaves nothing behind, and a
 * WH_BATCH holds 1..WH_BODY_MAX_MSGS rows of one number, each with what the batch
 * statement needs (pnid, wamid, from, type, raw), raw a JSON object,
 * content (when set) one too, a type the general path would give, and
 * columns only where wa_msg_norm has them. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "wh_parse.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const types[] = {
	"text", "image", "video", "audio", "voice", "document", "sticker",
	"location", "contacts", "order", "system", "unsupported",
	"request_welcome", "unknown",
};

static int
type_ok(const char *t)
{
	size_t	i;

	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(t, types[i]) == 0)
			return 1;
	return 0;
}

/* Whether s is JSON (strictly, all of it) whose top is an object. */
static int
json_object_text(const char *s)
{
	struct json_tokener	*tok = json_tokener_new();
	struct json_object	*o;
	size_t			 n = strlen(s);
	int			 ok;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT |
	    JSON_TOKENER_VALIDATE_UTF8);
	o = json_tokener_parse_ex(tok, s, (int)n);
	ok = o != NULL && json_object_is_type(o, json_type_object) &&
	    json_tokener_get_error(tok) == json_tokener_success &&
	    json_tokener_get_parse_end(tok) == n;
	json_object_put(o);
	json_tokener_free(tok);
	return ok;
}

static int
is_media(const char *t)
{
	return strcmp(t, "image") == 0 || strcmp(t, "video") == 0 ||
	    strcmp(t, "audio") == 0 || strcmp(t, "voice") == 0 ||
	    strcmp(t, "document") == 0 || strcmp(t, "sticker") == 0;
}

static int
has_text(const char *t)
{
	return strcmp(t, "text") == 0 || strcmp(t, "image") == 0 ||
	    strcmp(t, "video") == 0 || strcmp(t, "document") == 0 ||
	    strcmp(t, "order") == 0 || strcmp(t, "system") == 0;
}

/* Whether ts is "" or 1 to 11 digits (wa_ts()). */
static int
ts_ok(const char *ts)
{
	size_t	n = strlen(ts);

	return n <= 11 && strspn(ts, "0123456789") == n;
}

static void
check_msg(const struct wh_msg *m, const char *pnid)
{
	if (m->pnid == NULL || m->wamid == NULL || m->from == NULL ||
	    m->type == NULL || m->raw == NULL || strcmp(m->pnid, pnid) != 0 ||
	    strlen(m->wamid) > 512 || !type_ok(m->type) ||
	    !json_object_text(m->raw) ||
	    (m->content != NULL && !json_object_text(m->content)) ||
	    !ts_ok(m->ts) || (m->forwarded != 0 && m->forwarded != 1) ||
	    (m->freq_forwarded != 0 && m->freq_forwarded != 1))
		abort();
	if (!is_media(m->type) && (m->media_id != NULL ||
	    m->media_mime != NULL || m->media_sha256 != NULL ||
	    m->media_filename != NULL))
		abort();
	if (!has_text(m->type) && m->text != NULL)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wh_body	 b;
	char		*body = malloc(size + 1);
	size_t		 i;

	memcpy(body, data, size);
	body[size] = '\0';
	if (wh_parse(body, size, &b) == WH_BATCH) {
		if (b.n == 0 || b.n > WH_BODY_MAX_MSGS || b.root == NULL ||
		    b.msgs == NULL || b.msgs[0].pnid == NULL)
			abort();
		for (i = 0; i < b.n; i++)
			check_msg(&b.msgs[i], b.msgs[0].pnid);
	} else if (b.root != NULL || b.msgs != NULL || b.n != 0)
		abort();
	wh_body_free(&b);
	free(body);
	return 0;
}
