/* tests/unit/test_wa_msg.c: send requests -> Meta's JSON, and the rules
 * that refuse a request before the network, naming the field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "json.h"
#include "wa_msg.h"

/* Builds kind from a JSON text; returns the payload as compact JSON (or
 * the error) in out. */
static int
build(enum wa_msg_kind kind, const char *req, struct wa_msg *m, char *out,
    size_t n)
{
	struct json_object	*j = json_tokener_parse(req);
	int			 rc;

	assert_non_null(j);
	rc = wa_msg_build(kind, j, m);
	if (rc == 0)
		snprintf(out, n, "%s", json_object_to_json_string_ext(
		    m->payload, JSON_C_TO_STRING_PLAIN |
		    JSON_C_TO_STRING_NOSLASHESCAPE));
	else
		snprintf(out, n, "%s", m->err);
	wa_msg_free(m);
	json_object_put(j);
	return rc;
}

static void
expect_ok(enum wa_msg_kind kind, const char *req, const char *want)
{
	struct wa_msg	m;
	char		out[4096];

	assert_int_equal(build(kind, req, &m, out, sizeof(out)), 0);
	assert_string_equal(out, want);
}

static void
expect_err(enum wa_msg_kind kind, const char *req, const char *prefix)
{
	struct wa_msg	m;
	char		out[4096];

	assert_int_equal(build(kind, req, &m, out, sizeof(out)), -1);
	if (strncmp(out, prefix, strlen(prefix)) != 0)
		fail_msg("got \"%s\", want \"%s...\"", out, prefix);
}

#define ENV "{\"messaging_product\":\"whatsapp\",\"recipient_type\":" \
	"\"individual\",\"to\":\"919876543210\","

static void
text_normalizes_to_and_keeps_preview_url(void **state)
{
	(void)state;
	expect_ok(WA_MSG_TEXT, "{\"to\":\"+91 98765-43210\",\"text\":\"Hi\","
	    "\"preview_url\":true}", ENV "\"type\":\"text\",\"text\":"
	    "{\"preview_url\":true,\"body\":\"Hi\"}}");
}

static void
text_with_reply_buttons_becomes_interactive_button(void **state)
{
	(void)state;
	expect_ok(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"Pick\","
	    "\"footer\":\"F\",\"buttons\":[{\"title\":\"Yes\","
	    "\"callback_data\":\"Y\"}],\"reply_to_message_id\":\"wamid.A\"}",
	    ENV "\"type\":\"interactive\",\"context\":{\"message_id\":"
	    "\"wamid.A\"},\"interactive\":{\"type\":\"button\",\"body\":"
	    "{\"text\":\"Pick\"},\"footer\":{\"text\":\"F\"},\"action\":"
	    "{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":\"Y\","
	    "\"title\":\"Yes\"}}]}}}");
}

static void
text_with_one_url_button_becomes_cta_url(void **state)
{
	(void)state;
	expect_ok(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"Go\","
	    "\"header\":\"H\",\"buttons\":[{\"title\":\"Visit\",\"url\":"
	    "\"https://example.com\"}]}", ENV "\"type\":\"interactive\","
	    "\"interactive\":{\"type\":\"cta_url\",\"header\":{\"type\":"
	    "\"text\",\"text\":\"H\"},\"body\":{\"text\":\"Go\"},\"action\":"
	    "{\"name\":\"cta_url\",\"parameters\":{\"display_text\":\"Visit\","
	    "\"url\":\"https://example.com\"}}}}");
}

static void
buttons_rules_name_the_field(void **state)
{
	(void)state;
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"x\","
	    "\"buttons\":[{\"title\":\"A\",\"callback_data\":\"a\"},"
	    "{\"title\":\"ABCDEFGHIJKLMNOPQRSTU\",\"callback_data\":\"b\"}]}",
	    "buttons[1].title: at most 20 characters");
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"x\","
	    "\"buttons\":[{\"title\":\"A\",\"url\":\"https://a.example\"},"
	    "{\"title\":\"B\",\"callback_data\":\"b\"}]}",
	    "buttons[1]: reply buttons");
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"x\","
	    "\"buttons\":[{\"title\":\"A\",\"callback_data\":\"a\"},"
	    "{\"title\":\"B\",\"callback_data\":\"a\"}]}",
	    "buttons[1].callback_data: same as buttons[0]");
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"x\","
	    "\"buttons\":[{\"title\":\"A\",\"callback_data\":\"a\"},"
	    "{\"title\":\"B\",\"callback_data\":\"b\"},{\"title\":\"C\","
	    "\"callback_data\":\"c\"},{\"title\":\"D\",\"callback_data\":"
	    "\"d\"}]}", "buttons: at most 3 buttons");
}

static void
titles_count_characters_not_bytes(void **state)
{
	(void)state;
	/* 20 two-byte characters fit in a 20-character title. */
	expect_ok(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"x\","
	    "\"buttons\":[{\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\","
	    "\"callback_data\":\"a\"}]}", ENV "\"type\":\"interactive\","
	    "\"interactive\":{\"type\":\"button\",\"body\":{\"text\":\"x\"},"
	    "\"action\":{\"buttons\":[{\"type\":\"reply\",\"reply\":{\"id\":"
	    "\"a\",\"title\":\"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\"}}]}}}");
	assert_int_equal(wa_msg_chars("\xf0\x9f\x91\x8d" "ab"), 3);
}

static void
unknown_top_level_field_is_refused(void **state)
{
	(void)state;
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"x\","
	    "\"colour\":1}", "colour: unknown field");
	expect_err(WA_MSG_REACTION, "{\"to\":\"919876543210\",\"emoji\":"
	    "\"\xf0\x9f\x91\x8d\",\"message_id\":\"wamid.A\","
	    "\"reply_to_message_id\":\"wamid.B\"}", "reply_to_message_id:");
}

static void
to_must_be_a_phone_number(void **state)
{
	(void)state;
	expect_err(WA_MSG_TEXT, "{\"to\":\"hello\",\"text\":\"x\"}", "to: ");
	expect_err(WA_MSG_TEXT, "{\"text\":\"x\"}", "to: required");
}

static void
media_carries_our_id_until_resolved(void **state)
{
	struct json_object	*j;
	struct wa_msg		 m;

	(void)state;
	j = json_tokener_parse("{\"to\":\"919876543210\",\"media_id\":"
	    "\"0b6f9a1e-2c1d-4e5f-8a9b-0c1d2e3f4a5b\",\"media_type\":"
	    "\"document\"}");
	assert_int_equal(wa_msg_build(WA_MSG_MEDIA, j, &m), 0);
	assert_string_equal(m.media_id, "0b6f9a1e-2c1d-4e5f-8a9b-0c1d2e3f4a5b");
	assert_int_equal(wa_msg_media_ok(&m, "document", "application/pdf"), 0);
	assert_int_equal(wa_msg_media_ok(&m, "image", "image/jpeg"), -1);
	assert_string_equal(m.err, "media_type: the media is image "
	    "(image/jpeg), not document");
	wa_msg_set_media(&m, "1234", "a.pdf");
	assert_string_equal(json_object_to_json_string_ext(m.payload,
	    JSON_C_TO_STRING_PLAIN), ENV "\"type\":\"document\",\"document\":"
	    "{\"id\":\"1234\",\"filename\":\"a.pdf\"}}");
	wa_msg_free(&m);
	json_object_put(j);
}

static void
voice_needs_ogg_opus_and_sticker_webp(void **state)
{
	struct json_object	*j;
	struct wa_msg		 m;

	(void)state;
	j = json_tokener_parse("{\"to\":\"919876543210\",\"media_id\":\"x\"}");
	assert_int_equal(wa_msg_build(WA_MSG_VOICE, j, &m), 0);
	assert_int_equal(wa_msg_media_ok(&m, "audio", "audio/ogg; codecs=opus"),
	    0);
	assert_int_equal(wa_msg_media_ok(&m, "audio", "audio/ogg"), 0);
	assert_int_equal(wa_msg_media_ok(&m, "audio", "audio/mpeg"), -1);
	assert_int_equal(wa_msg_media_ok(&m, "audio", "audio/oggx"), -1);
	wa_msg_free(&m);
	assert_int_equal(wa_msg_build(WA_MSG_STICKER, j, &m), 0);
	assert_int_equal(wa_msg_media_ok(&m, NULL, "image/webp"), 0);
	assert_int_equal(wa_msg_media_ok(&m, NULL, "image/png"), -1);
	wa_msg_free(&m);
	json_object_put(j);
}

static void
audio_has_no_caption(void **state)
{
	(void)state;
	expect_err(WA_MSG_MEDIA, "{\"to\":\"919876543210\",\"media_id\":\"x\","
	    "\"media_type\":\"audio\",\"caption\":\"c\"}", "caption:");
}

static void
products_derive_the_required_header(void **state)
{
	(void)state;
	expect_ok(WA_MSG_PRODUCTS, "{\"to\":\"919876543210\",\"catalog_id\":"
	    "\"7\",\"body\":\"B\",\"product_sections\":[{\"title\":\"S\","
	    "\"skus\":[\"1\"]}]}", ENV "\"type\":\"interactive\","
	    "\"interactive\":{\"type\":\"product_list\",\"header\":{\"type\":"
	    "\"text\",\"text\":\"S\"},\"body\":{\"text\":\"B\"},\"action\":"
	    "{\"catalog_id\":\"7\",\"sections\":[{\"title\":\"S\","
	    "\"product_items\":[{\"product_retailer_id\":\"1\"}]}]}}}");
}

static void
products_limit_sections_and_items(void **state)
{
	char	req[4096];
	size_t	n;
	int	i;

	(void)state;
	n = (size_t)snprintf(req, sizeof(req), "{\"to\":\"919876543210\","
	    "\"body\":\"B\",\"product_sections\":[{\"title\":\"A\",\"skus\":[");
	for (i = 0; i < 31; i++)
		n += (size_t)snprintf(req + n, sizeof(req) - n, "%s\"s%d\"",
		    i ? "," : "", i);
	snprintf(req + n, sizeof(req) - n, "]}]}");
	expect_err(WA_MSG_PRODUCTS, req, "product_sections[0].skus: at most 30");
}

static void
product_without_catalog_asks_for_the_tenants(void **state)
{
	struct json_object	*j;
	struct wa_msg		 m;

	(void)state;
	j = json_tokener_parse("{\"to\":\"919876543210\",\"sku\":\"S\"}");
	assert_int_equal(wa_msg_build(WA_MSG_PRODUCT, j, &m), 0);
	assert_true(m.needs_catalog);
	wa_msg_set_catalog(&m, "99");
	assert_string_equal(json_object_to_json_string_ext(m.payload,
	    JSON_C_TO_STRING_PLAIN), ENV "\"type\":\"interactive\","
	    "\"interactive\":{\"type\":\"product\",\"action\":"
	    "{\"product_retailer_id\":\"S\",\"catalog_id\":\"99\"}}}");
	wa_msg_free(&m);
	json_object_put(j);
}

static void
reaction_needs_one_emoji_and_removal_sends_empty(void **state)
{
	struct wa_msg	m;

	(void)state;
	expect_err(WA_MSG_REACTION, "{\"to\":\"919876543210\",\"emoji\":"
	    "\"ok\",\"message_id\":\"wamid.A\"}", "emoji:");
	assert_int_equal(wa_msg_reaction("919876543210", "wamid.A", "", &m), 0);
	assert_string_equal(json_object_to_json_string_ext(m.payload,
	    JSON_C_TO_STRING_PLAIN), ENV "\"type\":\"reaction\",\"reaction\":"
	    "{\"message_id\":\"wamid.A\",\"emoji\":\"\"}}");
	assert_true(m.free_form);
	wa_msg_free(&m);
}

static void
template_is_not_free_form_and_checks_structure(void **state)
{
	struct json_object	*j;
	struct wa_msg		 m;

	(void)state;
	j = json_tokener_parse("{\"to\":\"919876543210\",\"name\":\"hi\","
	    "\"language\":\"en_US\"}");
	assert_int_equal(wa_msg_build(WA_MSG_TEMPLATE, j, &m), 0);
	assert_false(m.free_form);
	wa_msg_free(&m);
	json_object_put(j);
	expect_err(WA_MSG_TEMPLATE, "{\"to\":\"919876543210\",\"name\":\"hi\","
	    "\"language\":\"en-us\"}", "language:");
	expect_err(WA_MSG_TEMPLATE, "{\"to\":\"919876543210\",\"name\":\"hi\","
	    "\"language\":\"en\",\"components\":[{\"type\":\"button\","
	    "\"sub_type\":\"url\",\"index\":\"12\"}]}", "components[0].index:");
}

static void
location_takes_numbers_in_range(void **state)
{
	(void)state;
	expect_ok(WA_MSG_LOCATION, "{\"to\":\"919876543210\",\"latitude\":"
	    "12.5,\"longitude\":-3}", ENV "\"type\":\"location\",\"location\":"
	    "{\"latitude\":12.5,\"longitude\":-3}}");
	expect_err(WA_MSG_LOCATION, "{\"to\":\"919876543210\",\"latitude\":"
	    "\"12.5\",\"longitude\":1}", "latitude: must be a number");
	expect_err(WA_MSG_LOCATION, "{\"to\":\"919876543210\",\"latitude\":"
	    "1,\"longitude\":181}", "longitude: must be between");
}

static void
utf8_check_refuses_what_postgresql_would(void **state)
{
	(void)state;
	assert_true(wa_msg_utf8_valid("plain", 5));
	assert_true(wa_msg_utf8_valid("\xc3\xa9\xf0\x9f\x91\x8d", 6));
	assert_false(wa_msg_utf8_valid("bad \xff", 5));
	assert_false(wa_msg_utf8_valid("\xc0\xaf", 2));		/* overlong */
	assert_false(wa_msg_utf8_valid("\xed\xa0\x80", 3));	/* surrogate */
	assert_false(wa_msg_utf8_valid("\xf0\x9f\x91", 3));	/* truncated */
}

static void
nul_in_any_string_is_refused_naming_the_field(void **state)
{
	static const char	 key[] = "{\"te\\u0000xt\":1}";
	static const char	 escaped[] = "{\"t\":\"\\\\u0000\"}";
	char			 err[64];
	struct json_object	*j;

	(void)state;
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\","
	    "\"text\":\"a\\u0000b\"}", "text: must not contain NUL");
	expect_err(WA_MSG_TEXT, "{\"to\":\"919876543210\",\"text\":\"t\","
	    "\"buttons\":[{\"title\":\"ok\",\"callback_data\":\"x\"},"
	    "{\"title\":\"n\\u0000o\",\"callback_data\":\"y\"}]}",
	    "buttons[1].title: must not contain NUL");
	/* json-c would cut the key to "te": refused at parsing. */
	j = json_parse(key, strlen(key), err, sizeof(err));
	assert_null(j);
	assert_string_equal(err, "a field name contains \\u0000");
	/* An escaped backslash before "u0000" is no NUL. */
	j = json_parse(escaped, strlen(escaped), err, sizeof(err));
	assert_non_null(j);
	assert_string_equal(json_str(j, "t"), "\\u0000");
	json_object_put(j);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(text_normalizes_to_and_keeps_preview_url),
		cmocka_unit_test(text_with_reply_buttons_becomes_interactive_button),
		cmocka_unit_test(text_with_one_url_button_becomes_cta_url),
		cmocka_unit_test(buttons_rules_name_the_field),
		cmocka_unit_test(titles_count_characters_not_bytes),
		cmocka_unit_test(unknown_top_level_field_is_refused),
		cmocka_unit_test(to_must_be_a_phone_number),
		cmocka_unit_test(media_carries_our_id_until_resolved),
		cmocka_unit_test(voice_needs_ogg_opus_and_sticker_webp),
		cmocka_unit_test(audio_has_no_caption),
		cmocka_unit_test(products_derive_the_required_header),
		cmocka_unit_test(products_limit_sections_and_items),
		cmocka_unit_test(product_without_catalog_asks_for_the_tenants),
		cmocka_unit_test(reaction_needs_one_emoji_and_removal_sends_empty),
		cmocka_unit_test(template_is_not_free_form_and_checks_structure),
		cmocka_unit_test(location_takes_numbers_in_range),
		cmocka_unit_test(utf8_check_refuses_what_postgresql_would),
		cmocka_unit_test(nul_in_any_string_is_refused_naming_the_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
