/* tests/unit/test_wh_parse.c: the batched ingest's reader of webhook
 * bodies (shared/wh_parse.c). Every message type gives the columns the
 * general path's wa_msg_norm (schema/002_webhook.sql) gives it, contacts
 * give the names wa_wh_messages would; every shape the general path
 * treats in its own way is WH_GENERAL, and every JSON text that json-c
 * and PostgreSQL read differently WH_UNSURE (stored alone). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "buf.h"
#include "util.h"
#include "wh_parse.h"

/* Bodies as Meta sends them, built from literals. */
#define WABA(changes)	"{\"object\":\"whatsapp_business_account\"," \
	"\"entry\":[{\"id\":\"102290129340398\",\"changes\":[" changes "]}]}"
#define CHANGE(value)	"{\"field\":\"messages\",\"value\":" value "}"
#define PNID		"106540352242922"
#define VALUE_OF(pnid, rest) "{\"messaging_product\":\"whatsapp\"," \
	"\"metadata\":{\"display_phone_number\":\"15550783881\"," \
	"\"phone_number_id\":\"" pnid "\"}," rest "}"
#define VALUE(rest)	VALUE_OF(PNID, rest)
#define ANN_WA		"16315551181"
#define ANN		"{\"profile\":{\"name\":\"Ann\"},\"wa_id\":\"" \
	ANN_WA "\"}"
#define BOB_WA		"16315551182"
#define BOB		"{\"profile\":{\"name\":\"Bob\"},\"wa_id\":\"" \
	BOB_WA "\"}"
#define TS		"1700000000"
#define WAMID		"wamid.HBgLMTYzMTU1NTExODEVAgASGBQzQUE="
/* A messages[] item from Ann; rest starts with a comma. */
#define ITEM_FROM(from, id, rest) "{\"from\":\"" from "\",\"id\":\"" id \
	"\",\"timestamp\":\"" TS "\"" rest "}"
#define ITEM(rest)	ITEM_FROM(ANN_WA, WAMID, rest)
#define TEXT_FROM(from, id) ITEM_FROM(from, id, \
	",\"type\":\"text\",\"text\":{\"body\":\"hi\"}")
#define TEXT_ITEM	ITEM(",\"type\":\"text\",\"text\":{\"body\":\"hi\"}")
/* A body of one change: these contacts, these messages. */
#define BODY_CTS(cts, items) WABA(CHANGE(VALUE("\"contacts\":[" cts "]," \
	"\"messages\":[" items "]")))
#define BODY(items)	BODY_CTS(ANN, items)

/* What a message's row must hold: every column wh_parse gives. */
struct want {
	const char	*type, *text;
	const char	*media_id, *media_mime, *media_sha256, *media_filename;
	const char	*context;
	const char	*content;	/* JSON, compared as parsed */
	const char	*ts;		/* "" for none */
	const char	*name;
	int		 forwarded, freq_forwarded;
};

static void
str_eq(const char *what, const char *got, const char *want)
{
	if (got == NULL && want == NULL)
		return;
	if (got == NULL || want == NULL || strcmp(got, want) != 0)
		fail_msg("%s: got %s%s%s, want %s%s%s", what,
		    got ? "\"" : "", got ? got : "NULL", got ? "\"" : "",
		    want ? "\"" : "", want ? want : "NULL", want ? "\"" : "");
}

/* JSON texts equal as values (key order and spacing aside); NULL is SQL
 * NULL. */
static void
json_eq(const char *what, const char *got, const char *want)
{
	struct json_object	*g, *w;

	if (got == NULL || want == NULL) {
		str_eq(what, got, want);
		return;
	}
	g = json_tokener_parse(got);
	w = json_tokener_parse(want);
	assert_non_null(w);
	if (g == NULL || !json_object_equal(g, w))
		fail_msg("%s: got %s, want %s", what, got, want);
	json_object_put(g);
	json_object_put(w);
}

static enum wh_verdict
parse(const char *body, struct wh_body *b)
{
	return wh_parse(body, strlen(body), b);
}

/* messages[i] of the body's change c as json-c reads it, as text. */
static char *
item_of(const char *body, size_t c, size_t i)
{
	struct json_object	*root = json_tokener_parse(body), *o;
	char			*s;

	assert_non_null(root);
	o = json_object_object_get(root, "entry");
	o = json_object_array_get_idx(o, 0);
	o = json_object_array_get_idx(json_object_object_get(o, "changes"),
	    c);
	o = json_object_object_get(json_object_object_get(o, "value"),
	    "messages");
	s = strdup(json_object_to_json_string(json_object_array_get_idx(o,
	    i)));
	json_object_put(root);
	return s;
}

static void
check_msg(const struct wh_msg *m, const struct want *w)
{
	str_eq("type", m->type, w->type);
	str_eq("text", m->text, w->text);
	str_eq("media_id", m->media_id, w->media_id);
	str_eq("media_mime", m->media_mime, w->media_mime);
	str_eq("media_sha256", m->media_sha256, w->media_sha256);
	str_eq("media_filename", m->media_filename, w->media_filename);
	str_eq("context", m->context, w->context);
	json_eq("content", m->content, w->content);
	str_eq("ts", m->ts, w->ts);
	str_eq("name", m->name, w->name);
	assert_int_equal(m->forwarded, w->forwarded);
	assert_int_equal(m->freq_forwarded, w->freq_forwarded);
}

/* The body is one message from Ann to PNID, stored as w says; raw is the
 * item whole. */
static void
expect_msg(const char *body, const struct want *w)
{
	struct wh_body	 b;
	char		*item;

	if (parse(body, &b) != WH_BATCH)
		fail_msg("WH_GENERAL for %s", body);
	assert_int_equal(b.n, 1);
	str_eq("pnid", b.msgs[0].pnid, PNID);
	str_eq("from", b.msgs[0].from, ANN_WA);
	str_eq("wamid", b.msgs[0].wamid, WAMID);
	check_msg(&b.msgs[0], w);
	item = item_of(body, 0, 0);
	json_eq("raw", b.msgs[0].raw, item);
	free(item);
	wh_body_free(&b);
	assert_null(b.msgs);
	assert_null(b.root);
}

/* Not batched: WH_GENERAL, or WH_UNSURE for JSON the reader is not sure
 * of (both go to the general path). */
static void
expect_general(const char *body)
{
	struct wh_body	b;

	if (parse(body, &b) == WH_BATCH)
		fail_msg("WH_BATCH for %s", body);
	assert_null(b.msgs);
	assert_null(b.root);
	assert_int_equal(b.n, 0);
	wh_body_free(&b);
}

/* The BSUID wh_parse gives the body's first message (NULL: none). */
static void
expect_uid(const char *body, const char *uid)
{
	struct wh_body	b;

	if (parse(body, &b) != WH_BATCH)
		fail_msg("WH_GENERAL for %s", body);
	if (uid == NULL)
		assert_null(b.msgs[0].user_id);
	else
		str_eq("user_id", b.msgs[0].user_id, uid);
	wh_body_free(&b);
}

static void
expect_batch(const char *body, size_t n)
{
	struct wh_body	b;

	if (parse(body, &b) != WH_BATCH)
		fail_msg("WH_GENERAL for %s", body);
	assert_int_equal(b.n, n);
	wh_body_free(&b);
}

/* --- every message type, as wa_msg_norm stores it ------------------------ */

static void
text_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":"
	    "\"Hi there \\\"you\\\"\",\"preview_url\":true}")),
	    &(struct want){ .type = "text", .text = "Hi there \"you\"",
	    .ts = TS, .name = "Ann" });
	/* A payload of the wrong shape: NULL columns, raw keeps it. */
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":\"plain\"")),
	    &(struct want){ .type = "text", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":null}")),
	    &(struct want){ .type = "text", .ts = TS, .name = "Ann" });
	/* jsonb keeps the last of twice the same key; json-c too. */
	expect_msg(BODY(ITEM(",\"type\":\"image\",\"type\":\"text\","
	    "\"text\":{\"body\":\"a\",\"body\":\"b\"}")),
	    &(struct want){ .type = "text", .text = "b", .ts = TS,
	    .name = "Ann" });
}

/* context: the message replied to, forwarded flags (only JSON true
 * counts), referred_product stripped of nulls into content; errors,
 * referral and group_id likewise, nested nulls included, array nulls
 * kept. */
static void
text_reply_with_extras(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":\"re\"},"
	    "\"context\":{\"from\":\"15550783881\",\"id\":\"wamid.Q\","
	    "\"forwarded\":true,\"frequently_forwarded\":true,"
	    "\"referred_product\":{\"catalog_id\":\"C1\","
	    "\"product_retailer_id\":\"P1\",\"x\":null}},"
	    "\"referral\":{\"source_url\":\"https://fb.me/x\",\"headline\":"
	    "null,\"welcome_message\":{\"text\":null,\"y\":[null,{\"z\":"
	    "null}]}},\"errors\":[{\"code\":131051,\"title\":null}],"
	    "\"group_id\":null")),
	    &(struct want){ .type = "text", .text = "re",
	    .context = "wamid.Q", .forwarded = 1, .freq_forwarded = 1,
	    .content = "{\"referred_product\":{\"catalog_id\":\"C1\","
	    "\"product_retailer_id\":\"P1\"},\"referral\":{\"source_url\":"
	    "\"https://fb.me/x\",\"welcome_message\":{\"y\":[null,{}]}},"
	    "\"errors\":[{\"code\":131051}]}", .ts = TS, .name = "Ann" });
	/* "true" as a string is not true; a context without id: no
	 * context, yet its referred product counts. */
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":\"x\"},"
	    "\"context\":{\"forwarded\":\"true\",\"frequently_forwarded\":"
	    "false,\"referred_product\":{\"catalog_id\":\"C1\"}},"
	    "\"group_id\":\"G1\"")),
	    &(struct want){ .type = "text", .text = "x", .content =
	    "{\"referred_product\":{\"catalog_id\":\"C1\"},\"group_id\":"
	    "\"G1\"}", .ts = TS, .name = "Ann" });
	/* null context and extras: nothing; {} extras are kept. */
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":\"x\"},"
	    "\"context\":null,\"referral\":null,\"errors\":[]")),
	    &(struct want){ .type = "text", .text = "x", .content =
	    "{\"errors\":[]}", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":\"x\"},"
	    "\"referral\":{\"a\":null}")),
	    &(struct want){ .type = "text", .text = "x", .content =
	    "{\"referral\":{}}", .ts = TS, .name = "Ann" });
}

static void
image_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"image\",\"image\":{\"caption\":"
	    "\"Look\",\"mime_type\":\"image/jpeg\",\"sha256\":\"c2hh\","
	    "\"id\":\"1479537139650973\"}")),
	    &(struct want){ .type = "image", .text = "Look",
	    .media_id = "1479537139650973", .media_mime = "image/jpeg",
	    .media_sha256 = "c2hh", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"image\",\"image\":\"x\"")),
	    &(struct want){ .type = "image", .ts = TS, .name = "Ann" });
}

/* Any media type's filename is kept, not only a document's. */
static void
video_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"video\",\"video\":{\"caption\":"
	    "\"Clip\",\"filename\":\"v.mp4\",\"mime_type\":\"video/mp4\","
	    "\"sha256\":\"dg==\",\"id\":\"V1\"}")),
	    &(struct want){ .type = "video", .text = "Clip",
	    .media_id = "V1", .media_mime = "video/mp4",
	    .media_sha256 = "dg==", .media_filename = "v.mp4", .ts = TS,
	    .name = "Ann" });
}

/* audio has no text even with a caption; content says whether voice. */
static void
audio_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"audio\",\"audio\":{\"caption\":"
	    "\"no\",\"mime_type\":\"audio/mpeg\",\"sha256\":\"YQ==\","
	    "\"id\":\"A1\",\"voice\":false}")),
	    &(struct want){ .type = "audio", .media_id = "A1",
	    .media_mime = "audio/mpeg", .media_sha256 = "YQ==",
	    .content = "{\"voice\":false}", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"audio\",\"audio\":{\"id\":\"A2\","
	    "\"voice\":\"true\"}")),
	    &(struct want){ .type = "audio", .media_id = "A2",
	    .content = "{\"voice\":false}", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"audio\"")),
	    &(struct want){ .type = "audio", .content = "{\"voice\":false}",
	    .ts = TS, .name = "Ann" });
}

static void
voice_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"audio\",\"audio\":{\"mime_type\":"
	    "\"audio/ogg; codecs=opus\",\"sha256\":\"dg==\",\"id\":\"A3\","
	    "\"voice\":true}")),
	    &(struct want){ .type = "voice", .media_id = "A3",
	    .media_mime = "audio/ogg; codecs=opus", .media_sha256 = "dg==",
	    .content = "{\"voice\":true}", .ts = TS, .name = "Ann" });
	/* Meta's own "voice" type is one we do not know. */
	expect_msg(BODY(ITEM(",\"type\":\"voice\",\"voice\":{\"id\":\"A4\"}")),
	    &(struct want){ .type = "unknown", .content =
	    "{\"meta_type\":\"voice\"}", .ts = TS, .name = "Ann" });
}

static void
document_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"document\",\"document\":{"
	    "\"caption\":\"Invoice\",\"filename\":\"inv.pdf\",\"mime_type\":"
	    "\"application/pdf\",\"sha256\":\"ZA==\",\"id\":\"D1\"}")),
	    &(struct want){ .type = "document", .text = "Invoice",
	    .media_id = "D1", .media_mime = "application/pdf",
	    .media_sha256 = "ZA==", .media_filename = "inv.pdf", .ts = TS,
	    .name = "Ann" });
}

static void
sticker_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"sticker\",\"sticker\":{"
	    "\"mime_type\":\"image/webp\",\"sha256\":\"cw==\",\"id\":\"S1\","
	    "\"animated\":true,\"caption\":\"no\"}")),
	    &(struct want){ .type = "sticker", .media_id = "S1",
	    .media_mime = "image/webp", .media_sha256 = "cw==",
	    .content = "{\"animated\":true}", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"sticker\",\"sticker\":{\"id\":"
	    "\"S2\"}")),
	    &(struct want){ .type = "sticker", .media_id = "S2",
	    .content = "{\"animated\":false}", .ts = TS, .name = "Ann" });
}

/* The payload as is (its nulls kept), then the extras over it (jsonb's
 * ||: the right side wins a key both have). */
static void
location_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"location\",\"location\":{"
	    "\"latitude\":52.520008,\"longitude\":-13.404954,\"name\":"
	    "\"Mitte\",\"address\":null,\"group_id\":\"mine\",\"errors\":1},"
	    "\"group_id\":\"G\",\"errors\":null")),
	    &(struct want){ .type = "location", .content = "{\"latitude\":"
	    "52.520008,\"longitude\":-13.404954,\"name\":\"Mitte\","
	    "\"address\":null,\"group_id\":\"G\",\"errors\":1}", .ts = TS,
	    .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"location\",\"location\":[1,2]")),
	    &(struct want){ .type = "location", .ts = TS, .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"location\",\"location\":{}")),
	    &(struct want){ .type = "location", .ts = TS, .name = "Ann" });
}

/* {"contacts": m->'contacts'}, whatever it is, null included. */
static void
contacts_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"contacts\",\"contacts\":[{"
	    "\"name\":{\"formatted_name\":\"Bob B\",\"first_name\":\"Bob\"},"
	    "\"phones\":[{\"phone\":\"+1 (631) 555-1182\",\"wa_id\":"
	    "\"16315551182\",\"type\":\"CELL\"}],\"org\":null}]")),
	    &(struct want){ .type = "contacts", .content = "{\"contacts\":[{"
	    "\"name\":{\"formatted_name\":\"Bob B\",\"first_name\":\"Bob\"},"
	    "\"phones\":[{\"phone\":\"+1 (631) 555-1182\",\"wa_id\":"
	    "\"16315551182\",\"type\":\"CELL\"}],\"org\":null}]}", .ts = TS,
	    .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"contacts\"")),
	    &(struct want){ .type = "contacts", .content =
	    "{\"contacts\":null}", .ts = TS, .name = "Ann" });
}

static void
order_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"order\",\"order\":{\"catalog_id\":"
	    "\"CAT\",\"text\":\"Please\",\"product_items\":[{"
	    "\"product_retailer_id\":\"P\",\"quantity\":2,\"item_price\":"
	    "9.99,\"currency\":\"USD\"}]}")),
	    &(struct want){ .type = "order", .text = "Please", .content =
	    "{\"catalog_id\":\"CAT\",\"text\":\"Please\",\"product_items\":[{"
	    "\"product_retailer_id\":\"P\",\"quantity\":2,\"item_price\":"
	    "9.99,\"currency\":\"USD\"}]}", .ts = TS, .name = "Ann" });
}

static void
system_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"system\",\"system\":{\"body\":"
	    "\"Ann changed from 1 to 2\",\"wa_id\":\"2\",\"type\":"
	    "\"user_changed_number\"}")),
	    &(struct want){ .type = "system", .text =
	    "Ann changed from 1 to 2", .content = "{\"body\":"
	    "\"Ann changed from 1 to 2\",\"wa_id\":\"2\",\"type\":"
	    "\"user_changed_number\"}", .ts = TS, .name = "Ann" });
}

static void
unsupported_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"unsupported\",\"errors\":[{"
	    "\"code\":131051,\"title\":\"Message type unknown\",\"message\":"
	    "\"Message type unknown\",\"error_data\":{\"details\":"
	    "\"Message type is currently not supported.\",\"x\":null}}]")),
	    &(struct want){ .type = "unsupported", .content =
	    "{\"unsupported\":null,\"errors\":[{\"code\":131051,\"title\":"
	    "\"Message type unknown\",\"message\":\"Message type unknown\","
	    "\"error_data\":{\"details\":"
	    "\"Message type is currently not supported.\"}}]}", .ts = TS,
	    .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"unsupported\",\"unsupported\":{"
	    "\"type\":\"poll\"}")),
	    &(struct want){ .type = "unsupported", .content =
	    "{\"unsupported\":{\"type\":\"poll\"}}", .ts = TS,
	    .name = "Ann" });
}

static void
request_welcome_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"request_welcome\"")),
	    &(struct want){ .type = "request_welcome", .ts = TS,
	    .name = "Ann" });
}

/* Unknown: no text, no media (whatever the payload holds), Meta's name in
 * content. */
static void
unknown_type_message(void **state)
{
	(void)state;
	expect_msg(BODY(ITEM(",\"type\":\"ephemeral\",\"ephemeral\":{"
	    "\"id\":\"M1\",\"caption\":\"c\",\"body\":\"b\"},\"referral\":{"
	    "\"source_id\":\"1\"}")),
	    &(struct want){ .type = "unknown", .content = "{\"meta_type\":"
	    "\"ephemeral\",\"referral\":{\"source_id\":\"1\"}}", .ts = TS,
	    .name = "Ann" });
	expect_msg(BODY(ITEM(",\"type\":\"\"")),
	    &(struct want){ .type = "unknown", .content =
	    "{\"meta_type\":\"\"}", .ts = TS, .name = "Ann" });
}

/* wa_ts(m->>'timestamp'): 1 to 11 ASCII digits, string or integer. */
static void
timestamps(void **state)
{
	static const struct {
		const char	*json, *ts;
	} cases[] = {
		{ "\"1700000000\"", "1700000000" },
		{ "1700000000", "1700000000" },
		{ "\"0017\"", "0017" },
		{ "\"99999999999\"", "99999999999" },
		{ "\"123456789012\"", "" },
		{ "123456789012", "" },
		{ "\"\"", "" },
		{ "\"17e8\"", "" },
		{ "\"-5\"", "" },
		{ "-5", "" },
		{ "-0", "0" },
		{ "0", "0" },
		{ "\" 17\"", "" },
		{ "\"17\\n\"", "" },
		{ "null", "" },
		{ "true", "" },
		{ "{\"s\":1}", "" },
		{ "[1]", "" },
	};
	struct buf	body = BUF_INIT;
	size_t		i;

	(void)state;
	for (i = 0; i < nitems(cases); i++) {
		buf_reset(&body);
		buf_appendf(&body, BODY("{\"from\":\"" ANN_WA "\",\"id\":\""
		    WAMID "\",\"timestamp\":%s,\"type\":\"request_welcome\"}"),
		    cases[i].json);
		expect_msg(buf_str(&body), &(struct want){ .type =
		    "request_welcome", .ts = cases[i].ts, .name = "Ann" });
	}
	expect_msg(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID "\","
	    "\"type\":\"request_welcome\"}"), &(struct want){ .type =
	    "request_welcome", .ts = "", .name = "Ann" });
	buf_free(&body);
}

/* --- contacts and names (wa_wh_contacts_refresh, wa_wh_messages) --------- */

static void
names_from_contacts(void **state)
{
	struct wh_body	b;

	(void)state;
	/* No contacts, null, [], no profile, a null name: no name. */
	expect_msg(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM "]"))),
	    &(struct want){ .type = "text", .text = "hi", .ts = TS });
	expect_msg(WABA(CHANGE(VALUE("\"contacts\":null,\"messages\":["
	    TEXT_ITEM "]"))),
	    &(struct want){ .type = "text", .text = "hi", .ts = TS });
	expect_msg(BODY_CTS("", TEXT_ITEM),
	    &(struct want){ .type = "text", .text = "hi", .ts = TS });
	expect_msg(BODY_CTS("{\"wa_id\":\"" ANN_WA "\"}", TEXT_ITEM),
	    &(struct want){ .type = "text", .text = "hi", .ts = TS });
	expect_msg(BODY_CTS("{\"profile\":null,\"wa_id\":\"" ANN_WA "\"}",
	    TEXT_ITEM),
	    &(struct want){ .type = "text", .text = "hi", .ts = TS });
	expect_msg(BODY_CTS("{\"profile\":{\"name\":null},\"wa_id\":\""
	    ANN_WA "\"}", TEXT_ITEM),
	    &(struct want){ .type = "text", .text = "hi", .ts = TS });
	/* Two senders, each named; one sender twice in a change. */
	assert_int_equal(parse(BODY_CTS(BOB "," ANN, TEXT_FROM(ANN_WA, "w1")
	    "," TEXT_FROM(BOB_WA, "w2") "," TEXT_FROM(ANN_WA, "w3")), &b),
	    WH_BATCH);
	assert_int_equal(b.n, 3);
	str_eq("name", b.msgs[0].name, "Ann");
	str_eq("name", b.msgs[1].name, "Bob");
	str_eq("name", b.msgs[2].name, "Ann");
	str_eq("from", b.msgs[1].from, BOB_WA);
	str_eq("wamid", b.msgs[2].wamid, "w3");
	wh_body_free(&b);
}

/* A sender's BSUID, from the message or its contacts[] entry (Meta sends
 * both since April 2026): taken, with its phone. */
static void
bsuids_batched(void **state)
{
	(void)state;
	expect_uid(BODY_CTS("{\"profile\":{\"name\":\"Ann\"},\"wa_id\":\""
	    ANN_WA "\",\"user_id\":\"US.1\"}", TEXT_ITEM), "US.1");
	expect_uid(BODY_CTS("{\"profile\":{\"name\":\"Ann\"},\"wa_id\":\""
	    ANN_WA "\",\"user_id\":null}", TEXT_ITEM), NULL);
	expect_uid(BODY("{\"from\":\"" ANN_WA "\",\"from_user_id\":"
	    "\"US.1\",\"id\":\"" WAMID "\",\"type\":\"text\",\"text\":{"
	    "\"body\":\"hi\"}}"), "US.1");
	expect_uid(BODY("{\"from\":\"" ANN_WA "\",\"from_user_id\":null,"
	    "\"id\":\"" WAMID "\",\"type\":\"text\"}"), NULL);
	/* The same BSUID on both sides. */
	expect_uid(BODY_CTS("{\"profile\":{\"name\":\"Ann\"},\"wa_id\":\""
	    ANN_WA "\",\"user_id\":\"US.1\"}", "{\"from\":\"" ANN_WA
	    "\",\"from_user_id\":\"US.1\",\"id\":\"" WAMID "\","
	    "\"type\":\"text\"}"), "US.1");
}

/* BSUIDs that disagree, contacts about someone else or named twice,
 * entries the general path counts as bad or reads as JSON text: the
 * general path. */
static void
contacts_general(void **state)
{
	(void)state;
	expect_general(BODY_CTS("{\"profile\":{\"name\":\"Ann\"},\"wa_id\":\""
	    ANN_WA "\",\"user_id\":\"US.2\"}", "{\"from\":\"" ANN_WA
	    "\",\"from_user_id\":\"US.1\",\"id\":\"" WAMID "\","
	    "\"type\":\"text\"}"));
	expect_general(BODY_CTS("{\"profile\":{\"name\":\"Ann\"},\"wa_id\":\""
	    ANN_WA "\",\"user_id\":7}", TEXT_ITEM));
	expect_general(BODY_CTS(BOB, TEXT_ITEM));
	expect_general(BODY_CTS(ANN "," BOB, TEXT_ITEM));
	expect_general(BODY_CTS(ANN "," ANN, TEXT_ITEM));
	expect_general(BODY_CTS(ANN "," "{\"profile\":{\"name\":\"A2\"},"
	    "\"wa_id\":\"" ANN_WA "\"}", TEXT_FROM(ANN_WA, "w1") ","
	    TEXT_FROM(ANN_WA, "w2")));
	expect_general(BODY_CTS("{\"profile\":{\"name\":\"Ann\"}}",
	    TEXT_ITEM));
	expect_general(BODY_CTS("{\"wa_id\":16315551181}", TEXT_ITEM));
	expect_general(BODY_CTS("{\"wa_id\":null}", TEXT_ITEM));
	expect_general(BODY_CTS("\"" ANN_WA "\"", TEXT_ITEM));
	expect_general(BODY_CTS("null", TEXT_ITEM));
	expect_general(BODY_CTS("{\"profile\":{\"name\":7},\"wa_id\":\""
	    ANN_WA "\"}", TEXT_ITEM));
	expect_general(BODY_CTS("{\"profile\":\"Ann\",\"wa_id\":\"" ANN_WA
	    "\"}", TEXT_ITEM));
	expect_general(WABA(CHANGE(VALUE("\"contacts\":{\"wa_id\":\"" ANN_WA
	    "\"},\"messages\":[" TEXT_ITEM "]"))));
}

/* The general path stores changes in turn; a sender in two changes would
 * see its contact as it was in between. Two changes of other senders, or
 * two entries, are one batch. */
static void
changes_and_entries(void **state)
{
	struct wh_body	b;

	(void)state;
	expect_general(WABA(CHANGE(VALUE("\"contacts\":[" ANN "],"
	    "\"messages\":[" TEXT_FROM(ANN_WA, "w1") "]")) ","
	    CHANGE(VALUE("\"contacts\":[" ANN "],\"messages\":["
	    TEXT_FROM(ANN_WA, "w2") "]"))));
	assert_int_equal(parse(WABA(CHANGE(VALUE("\"contacts\":[" ANN "],"
	    "\"messages\":[" TEXT_FROM(ANN_WA, "w1") "]")) ","
	    CHANGE(VALUE("\"contacts\":[" BOB "],\"messages\":["
	    TEXT_FROM(BOB_WA, "w2") "]"))), &b), WH_BATCH);
	assert_int_equal(b.n, 2);
	str_eq("name", b.msgs[0].name, "Ann");
	str_eq("name", b.msgs[1].name, "Bob");
	str_eq("pnid", b.msgs[1].pnid, PNID);
	wh_body_free(&b);
	/* Contacts apply to their own change only. */
	expect_general(WABA(CHANGE(VALUE("\"contacts\":[" ANN "," BOB "],"
	    "\"messages\":[" TEXT_FROM(ANN_WA, "w1") "]")) ","
	    CHANGE(VALUE("\"messages\":[" TEXT_FROM(BOB_WA, "w2") "]"))));
	expect_batch("{\"object\":\"whatsapp_business_account\",\"entry\":["
	    "{\"id\":\"1\",\"changes\":[" CHANGE(VALUE("\"messages\":["
	    TEXT_FROM(ANN_WA, "w1") "]")) "]},{\"id\":\"1\",\"changes\":["
	    CHANGE(VALUE("\"messages\":[" TEXT_FROM(BOB_WA, "w2") "]"))
	    "]}]}", 2);
	expect_general("{\"object\":\"whatsapp_business_account\",\"entry\":["
	    "{\"id\":\"1\",\"changes\":[" CHANGE(VALUE("\"messages\":["
	    TEXT_FROM(ANN_WA, "w1") "]")) "]},{\"id\":\"1\",\"changes\":["
	    CHANGE(VALUE("\"messages\":[" TEXT_FROM(ANN_WA, "w2") "]"))
	    "]}]}");
	/* Two numbers: the general path places each. */
	expect_general(WABA(CHANGE(VALUE("\"messages\":["
	    TEXT_FROM(ANN_WA, "w1") "]")) "," CHANGE(VALUE_OF("2",
	    "\"messages\":[" TEXT_FROM(BOB_WA, "w2") "]"))));
}

/* --- the body's shape ---------------------------------------------------- */

static void
value_general(void **state)
{
	(void)state;
	expect_general(WABA(CHANGE(VALUE("\"contacts\":[" ANN "],"
	    "\"messages\":[" TEXT_ITEM "],\"statuses\":[]"))));
	expect_general(WABA(CHANGE(VALUE("\"statuses\":[{\"id\":\"wamid.S\","
	    "\"status\":\"read\",\"timestamp\":\"1700000000\","
	    "\"recipient_id\":\"" ANN_WA "\"}]"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM "],"
	    "\"errors\":[{\"code\":1}]"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM "],"
	    "\"errors\":null"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM "],"
	    "\"new_thing\":1"))));
	/* Empty, absent or odd messages. */
	expect_general(WABA(CHANGE(VALUE("\"contacts\":[],\"messages\":[]"))));
	expect_general(WABA(CHANGE(VALUE("\"contacts\":[" ANN "]"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":null"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":{}"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM
	    ",null]"))));
	expect_general(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM ",[]]"))));
	/* metadata. */
	expect_general(WABA(CHANGE("{\"messages\":[" TEXT_ITEM "]}")));
	expect_general(WABA(CHANGE("{\"metadata\":{},\"messages\":["
	    TEXT_ITEM "]}")));
	expect_general(WABA(CHANGE("{\"metadata\":{\"phone_number_id\":1},"
	    "\"messages\":[" TEXT_ITEM "]}")));
	expect_general(WABA(CHANGE("{\"metadata\":\"x\",\"messages\":["
	    TEXT_ITEM "]}")));
}

static void
body_general(void **state)
{
	(void)state;
	expect_general("{\"field\":\"account_update\",\"value\":{}}");
	expect_general(WABA("{\"field\":\"account_update\",\"value\":"
	    VALUE("\"messages\":[" TEXT_ITEM "]") "}"));
	expect_general(WABA("{\"value\":" VALUE("\"messages\":[" TEXT_ITEM
	    "]") "}"));
	expect_general(WABA("{\"field\":null,\"value\":" VALUE("\"messages\":["
	    TEXT_ITEM "]") "}"));
	expect_general(WABA("{\"field\":[\"messages\"],\"value\":"
	    VALUE("\"messages\":[" TEXT_ITEM "]") "}"));
	expect_general(WABA("{\"field\":\"messages\",\"value\":[]}"));
	expect_general(WABA("{\"field\":\"messages\"}"));
	expect_general(WABA(""));
	expect_general(WABA("[]"));
	expect_general(WABA(CHANGE(VALUE("\"messages\":[" TEXT_ITEM "]"))
	    ",{\"field\":\"history\",\"value\":{}}"));
	expect_general("{\"object\":\"page\",\"entry\":[{\"changes\":["
	    CHANGE(VALUE("\"messages\":[" TEXT_ITEM "]")) "]}]}");
	expect_general("{\"entry\":[{\"changes\":["
	    CHANGE(VALUE("\"messages\":[" TEXT_ITEM "]")) "]}]}");
	expect_general("{\"object\":\"whatsapp_business_account\","
	    "\"entry\":[]}");
	expect_general("{\"object\":\"whatsapp_business_account\","
	    "\"entry\":{}}");
	expect_general("{\"object\":\"whatsapp_business_account\","
	    "\"entry\":[{\"id\":\"1\"}]}");
	expect_general("{\"object\":\"whatsapp_business_account\","
	    "\"entry\":[null]}");
	expect_general("[" BODY(TEXT_ITEM) "]");
	expect_general("");
	expect_general("null");
	expect_general(BODY(TEXT_ITEM) "x");
	expect_general(BODY(TEXT_ITEM) "{}");
	expect_general(BODY(TEXT_ITEM) ",");
	/* Cut short. */
	expect_general("{\"object\":\"whatsapp_business_account\","
	    "\"entry\":[");
	/* Whitespace around is JSON (and the trailing newline is common). */
	expect_batch(" \n" BODY(TEXT_ITEM) "\r\n\t ", 1);
}

/* Types that change other rows or answer a button go the general way, as
 * does any message not sent by a phone number. */
static void
message_general(void **state)
{
	(void)state;
	expect_general(BODY(ITEM(",\"type\":\"reaction\",\"reaction\":{"
	    "\"message_id\":\"wamid.X\",\"emoji\":\"\\u2764\"}")));
	expect_general(BODY(ITEM(",\"type\":\"edit\",\"edit\":{"
	    "\"original_message_id\":\"wamid.X\",\"message\":{\"type\":"
	    "\"text\",\"text\":{\"body\":\"e\"}}}")));
	expect_general(BODY(ITEM(",\"type\":\"revoke\",\"revoke\":{"
	    "\"original_message_id\":\"wamid.X\"}")));
	expect_general(BODY(ITEM(",\"type\":\"button\",\"button\":{"
	    "\"payload\":\"P\",\"text\":\"Yes\"}")));
	expect_general(BODY(ITEM(",\"type\":\"interactive\",\"interactive\":{"
	    "\"type\":\"button_reply\",\"button_reply\":{\"id\":\"Y\","
	    "\"title\":\"Yes\"}}")));
	/* A reaction beside a text: the whole body. */
	expect_general(BODY(TEXT_ITEM "," ITEM_FROM(ANN_WA, "w2",
	    ",\"type\":\"reaction\",\"reaction\":{\"message_id\":\""
	    WAMID "\",\"emoji\":\"x\"}")));
	/* A sender known by BSUID alone (a username user). */
	expect_general(BODY("{\"from_user_id\":\"US.1\",\"id\":\"" WAMID
	    "\",\"type\":\"text\",\"text\":{\"body\":\"hi\"}}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"from_user_id\":5,"
	    "\"id\":\"" WAMID "\",\"type\":\"text\"}"));
	/* What identifies it: missing, null or not a string. */
	expect_general(BODY("{\"id\":\"" WAMID "\",\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":null,\"id\":\"" WAMID "\","
	    "\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":16315551181,\"id\":\"" WAMID "\","
	    "\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":7,"
	    "\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID
	    "\"}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID
	    "\",\"type\":null}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID
	    "\",\"type\":[\"text\"]}"));
	expect_general(BODY("\"" WAMID "\""));
	/* context must be an object (or null) with a string id. */
	expect_general(BODY(ITEM(",\"type\":\"text\",\"context\":\"wamid.Q\""
	    )));
	expect_general(BODY(ITEM(",\"type\":\"text\",\"context\":[]")));
	expect_general(BODY(ITEM(",\"type\":\"text\",\"context\":{\"id\":1}"
	    )));
}

/* Where ->> would give a number's or an object's JSON text. */
static void
non_string_fields(void **state)
{
	(void)state;
	expect_general(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":12}"
	    )));
	expect_general(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":"
	    "true}")));
	expect_general(BODY(ITEM(",\"type\":\"image\",\"image\":{"
	    "\"caption\":{\"a\":1}}")));
	expect_general(BODY(ITEM(",\"type\":\"image\",\"image\":{\"id\":"
	    "1479537139650973}")));
	expect_general(BODY(ITEM(",\"type\":\"video\",\"video\":{"
	    "\"mime_type\":[\"video/mp4\"]}")));
	expect_general(BODY(ITEM(",\"type\":\"audio\",\"audio\":{"
	    "\"sha256\":false}")));
	expect_general(BODY(ITEM(",\"type\":\"document\",\"document\":{"
	    "\"filename\":1}")));
	expect_general(BODY(ITEM(",\"type\":\"order\",\"order\":{\"text\":"
	    "1}")));
	expect_general(BODY(ITEM(",\"type\":\"system\",\"system\":{\"body\":"
	    "{}}")));
	/* A number where no column reads it is fine. */
	expect_msg(BODY(ITEM(",\"type\":\"sticker\",\"sticker\":{\"id\":"
	    "\"S\",\"width\":512}")), &(struct want){ .type = "sticker",
	    .media_id = "S", .content = "{\"animated\":false}", .ts = TS,
	    .name = "Ann" });
}

/* An id of n characters. */
static void
long_id(struct buf *b, size_t n)
{
	buf_reset(b);
	while (n-- > 0)
		buf_append(b, "x", 1);
}

static void
long_ids(void **state)
{
	struct buf	id = BUF_INIT, body = BUF_INIT;

	(void)state;
	long_id(&id, 512);
	buf_appendf(&body, BODY_CTS("", TEXT_FROM(ANN_WA, "%s")),
	    buf_str(&id));
	expect_batch(buf_str(&body), 1);
	long_id(&id, 513);
	buf_reset(&body);
	buf_appendf(&body, BODY_CTS("", TEXT_FROM(ANN_WA, "%s")),
	    buf_str(&id));
	expect_general(buf_str(&body));
	long_id(&id, 512);
	buf_reset(&body);
	buf_appendf(&body, BODY(ITEM(",\"type\":\"image\",\"image\":{"
	    "\"id\":\"%s\"}")), buf_str(&id));
	expect_batch(buf_str(&body), 1);
	long_id(&id, 513);
	buf_reset(&body);
	buf_appendf(&body, BODY(ITEM(",\"type\":\"image\",\"image\":{"
	    "\"id\":\"%s\"}")), buf_str(&id));
	expect_general(buf_str(&body));
	long_id(&id, 128);
	buf_reset(&body);
	buf_appendf(&body, BODY_CTS("", TEXT_FROM("%s", "w1")),
	    buf_str(&id));
	expect_batch(buf_str(&body), 1);
	long_id(&id, 129);
	buf_reset(&body);
	buf_appendf(&body, BODY_CTS("", TEXT_FROM("%s", "w1")),
	    buf_str(&id));
	expect_general(buf_str(&body));
	buf_free(&id);
	buf_free(&body);
}

/* --- JSON text json-c and PostgreSQL read differently -------------------- */

/* A location whose latitude is this JSON text. */
static void
expect_latitude(const char *num, int batch)
{
	struct buf	body = BUF_INIT;

	buf_appendf(&body, BODY(ITEM(",\"type\":\"location\",\"location\":{"
	    "\"latitude\":%s}")), num);
	if (batch)
		expect_batch(buf_str(&body), 1);
	else
		expect_general(buf_str(&body));
	buf_free(&body);
}

static void
numbers(void **state)
{
	static const char *const same[] = {
		"52.520008", "-13.404954", "0", "-0", "0.5", "-0.0", "1e5",
		"1E+5", "2.5e-3", "1e9999", "1e-9999", "1e0009999",
		"123456789012345678", "-123456789012345678",
		"0.123456789012345678",
	};
	/* json-c takes these, PostgreSQL refuses them. */
	static const char *const refused[] = {
		"NaN", "Infinity", "-Infinity", "00", "-01", "007", "1.",
		"-1.", "1.e5", "1e200000", "1e-20000",
	};
	/* json-c clamps these to 64 bits, PostgreSQL keeps them exact. */
	static const char *const clamped[] = {
		"-9223372036854775809", "18446744073709551616",
		"99999999999999999999",
	};
	/* Read alike, but not worth telling from the above: 19 digits,
	 * exponents of 5. */
	static const char *const unsure[] = {
		"1234567890123456789", "0.1234567890123456789", "1e10000",
		"1e-10000",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < nitems(same); i++)
		expect_latitude(same[i], 1);
	for (i = 0; i < nitems(refused); i++)
		expect_latitude(refused[i], 0);
	for (i = 0; i < nitems(clamped); i++)
		expect_latitude(clamped[i], 0);
	for (i = 0; i < nitems(unsure); i++)
		expect_latitude(unsure[i], 0);
	/* Fractional or exponent timestamps (wa_ts() gives them no time):
	 * json-c's reading of a number with a point is not worth checking
	 * against PostgreSQL's text for it. */
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID "\","
	    "\"timestamp\":1700000000.5,\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID "\","
	    "\"timestamp\":1700000000.0,\"type\":\"text\"}"));
	expect_general(BODY("{\"from\":\"" ANN_WA "\",\"id\":\"" WAMID "\","
	    "\"timestamp\":1.7e9,\"type\":\"text\"}"));
	/* NaN and friends inside strings are only text. */
	expect_msg(BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":"
	    "\"NaN Infinity 12345678901234567890 -01 1.\"}")),
	    &(struct want){ .type = "text", .text =
	    "NaN Infinity 12345678901234567890 -01 1.", .ts = TS,
	    .name = "Ann" });
}

/* A text message whose body is this JSON string's inside. */
static void
expect_text_body(const char *inside, const char *want)
{
	struct buf	body = BUF_INIT;

	buf_appendf(&body, BODY(ITEM(",\"type\":\"text\",\"text\":{\"body\":"
	    "\"%s\"}")), inside);
	if (want != NULL)
		expect_msg(buf_str(&body), &(struct want){ .type = "text",
		    .text = want, .ts = TS, .name = "Ann" });
	else
		expect_general(buf_str(&body));
	buf_free(&body);
}

static void
strings(void **state)
{
	(void)state;
	expect_text_body("\\ud83d\\ude00", "\xf0\x9f\x98\x80");
	expect_text_body("\\uD83D\\uDE00!", "\xf0\x9f\x98\x80!");
	expect_text_body("\\u00e9\\u2764\\\\u0000\\/", "\xc3\xa9\xe2\x9d\xa4"
	    "\\u0000/");
	expect_text_body("\xc3\xa9\xe2\x9d\xa4\xf0\x9f\x98\x80\xf4\x8f\xbf"
	    "\xbf", "\xc3\xa9\xe2\x9d\xa4\xf0\x9f\x98\x80\xf4\x8f\xbf\xbf");
	/* Unpaired surrogate escapes: json-c makes U+FFFD, PostgreSQL
	 * refuses. */
	expect_text_body("\\ud800", NULL);
	expect_text_body("a\\ud800b", NULL);
	expect_text_body("\\udc00", NULL);
	expect_text_body("\\ude00\\ud83d", NULL);
	expect_text_body("\\ud83d\\u0041", NULL);
	expect_text_body("\\ud83d\\ud83d", NULL);
	expect_text_body("\\ud83d\\", NULL);
	/* PostgreSQL's jsonb cannot hold U+0000 (webhook.c scrubs it before,
	 * but not here). */
	expect_text_body("a\\u0000b", NULL);
	/* Control characters must be escaped in JSON; json-c takes them. */
	expect_text_body("a\tb", NULL);
	expect_text_body("a\nb", NULL);
	expect_text_body("a\x01", NULL);
	expect_text_body("a\x7f", "a\x7f");
	/* Not UTF-8, or not as PostgreSQL reads it: a lone continuation,
	 * a cut sequence, overlong forms, a UTF-16 surrogate, beyond
	 * U+10FFFF, bytes never used. */
	expect_text_body("\x80", NULL);
	expect_text_body("\xc3", NULL);
	expect_text_body("\xe2\x9d", NULL);
	expect_text_body("\xc0\x80", NULL);
	expect_text_body("\xc1\xbf", NULL);
	expect_text_body("\xe0\x80\x80", NULL);
	expect_text_body("\xe0\x9f\xbf", NULL);
	expect_text_body("\xf0\x8f\xbf\xbf", NULL);
	expect_text_body("\xed\xa0\x80", NULL);
	expect_text_body("\xed\xbf\xbf", NULL);
	expect_text_body("\xf4\x90\x80\x80", NULL);
	expect_text_body("\xf5\x80\x80\x80", NULL);
	expect_text_body("\xf8\x88\x80\x80\x80", NULL);
	expect_text_body("\xff", NULL);
	/* In a key, or in a field no column reads. */
	expect_general(BODY(ITEM(",\"type\":\"text\",\"\xff\":1")));
	expect_general(BODY(ITEM(",\"type\":\"text\",\"x\":\"\\udc00\"")));
	expect_general(BODY(ITEM(",\"type\":\"text\",\"x\\u0000\":1")));
	expect_general(BODY(ITEM(",\"type\":\"text\",\"x\":\"\xed\xa0\x80\""
	    )));
}

/* json-c stops at 32 levels; PostgreSQL goes further: the general path. */
static void
nesting(void **state)
{
	struct buf	body = BUF_INIT, deep = BUF_INIT;
	int		i;

	(void)state;
	for (i = 0; i < 20; i++)
		buf_append(&deep, "[", 1);
	for (i = 0; i < 20; i++)
		buf_append(&deep, "]", 1);
	buf_appendf(&body, BODY(ITEM(",\"type\":\"text\",\"x\":%s")),
	    buf_str(&deep));
	expect_batch(buf_str(&body), 1);
	buf_reset(&deep);
	for (i = 0; i < 40; i++)
		buf_append(&deep, "{\"a\":", 5);
	buf_append(&deep, "1", 1);
	for (i = 0; i < 40; i++)
		buf_append(&deep, "}", 1);
	buf_reset(&body);
	buf_appendf(&body, BODY(ITEM(",\"type\":\"text\",\"x\":%s")),
	    buf_str(&deep));
	expect_general(buf_str(&body));
	buf_free(&deep);
	buf_free(&body);
}

/* A body of n text messages from distinct senders, split over two
 * changes (the second has the last n - n1). */
static void
many_messages(struct buf *b, int n, int n1)
{
	int	i;

	buf_reset(b);
	buf_appendf(b, "{\"object\":\"whatsapp_business_account\",\"entry\":"
	    "[{\"id\":\"1\",\"changes\":[");
	for (i = 0; i < n; i++) {
		if (i == 0 || i == n1)
			buf_appendf(b, "%s{\"field\":\"messages\",\"value\":"
			    "{\"metadata\":{\"phone_number_id\":\"" PNID "\"},"
			    "\"messages\":[", i == 0 ? "" : "]}},");
		buf_appendf(b, "%s{\"from\":\"1555000%04d\",\"id\":"
		    "\"wamid.%d\",\"type\":\"text\",\"text\":{\"body\":"
		    "\"m%d\"}}",
		    i == 0 || i == n1 ? "" : ",", i, i, i);
	}
	buf_appendf(b, "]}}]}]}");
}

static void
message_count(void **state)
{
	struct buf	body = BUF_INIT;
	struct wh_body	b;

	(void)state;
	many_messages(&body, WH_BODY_MAX_MSGS, WH_BODY_MAX_MSGS);
	assert_int_equal(parse(buf_str(&body), &b), WH_BATCH);
	assert_int_equal(b.n, WH_BODY_MAX_MSGS);
	str_eq("wamid", b.msgs[63].wamid, "wamid.63");
	str_eq("text", b.msgs[63].text, "m63");
	str_eq("from", b.msgs[63].from, "15550000063");
	str_eq("ts", b.msgs[63].ts, "");
	wh_body_free(&b);
	many_messages(&body, WH_BODY_MAX_MSGS + 1, WH_BODY_MAX_MSGS + 1);
	expect_general(buf_str(&body));
	many_messages(&body, WH_BODY_MAX_MSGS, 40);
	expect_batch(buf_str(&body), WH_BODY_MAX_MSGS);
	many_messages(&body, WH_BODY_MAX_MSGS + 1, 40);
	expect_general(buf_str(&body));
	buf_free(&body);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_message),
		cmocka_unit_test(text_reply_with_extras),
		cmocka_unit_test(image_message),
		cmocka_unit_test(video_message),
		cmocka_unit_test(audio_message),
		cmocka_unit_test(voice_message),
		cmocka_unit_test(document_message),
		cmocka_unit_test(sticker_message),
		cmocka_unit_test(location_message),
		cmocka_unit_test(contacts_message),
		cmocka_unit_test(order_message),
		cmocka_unit_test(system_message),
		cmocka_unit_test(unsupported_message),
		cmocka_unit_test(request_welcome_message),
		cmocka_unit_test(unknown_type_message),
		cmocka_unit_test(timestamps),
		cmocka_unit_test(names_from_contacts),
		cmocka_unit_test(bsuids_batched),
		cmocka_unit_test(contacts_general),
		cmocka_unit_test(changes_and_entries),
		cmocka_unit_test(value_general),
		cmocka_unit_test(body_general),
		cmocka_unit_test(message_general),
		cmocka_unit_test(non_string_fields),
		cmocka_unit_test(long_ids),
		cmocka_unit_test(numbers),
		cmocka_unit_test(strings),
		cmocka_unit_test(nesting),
		cmocka_unit_test(message_count),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
