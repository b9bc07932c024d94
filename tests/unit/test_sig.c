/* tests/unit/test_sig.c: Meta's webhook signature (X-Hub-Signature-256),
 * checked over the raw body bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "handlers.h"
#include "sig.h"

#define SECRET	"test-app-secret"
static const char body[] = "{\"object\":\"whatsapp_business_account\","
    "\"entry\":[]}";

/* "sha256=" + HMAC of data under SECRET. */
static void
header_for(const char *data, size_t n, char *out, size_t on)
{
	char	hex[SIG_HEX_LEN + 1];

	sig_hmac_hex(SECRET, data, n, hex);
	snprintf(out, on, "sha256=%s", hex);
}

static void
sig_hmac_matches_a_known_vector(void **state)
{
	char	hex[SIG_HEX_LEN + 1];

	(void)state;
	/* RFC 4231 test case 2. */
	sig_hmac_hex("Jefe", "what do ya want for nothing?", 28, hex);
	assert_string_equal(hex, "5bdcc146bf60754e6a042426089575c7"
	    "5a003f089d2739839dec58b964ec3843");
}

static void
sig_accepts_the_right_signature(void **state)
{
	char	h[80];

	(void)state;
	header_for(body, strlen(body), h, sizeof(h));
	assert_true(sig_valid(SECRET, body, strlen(body), h));
}

static void
sig_rejects_a_wrong_secret_or_a_changed_body(void **state)
{
	char	h[80];
	char	other[] = "{\"object\":\"whatsapp_business_account\","
	    "\"entry\":[ ]}";

	(void)state;
	header_for(body, strlen(body), h, sizeof(h));
	assert_false(sig_valid("another-secret", body, strlen(body), h));
	assert_false(sig_valid(SECRET, other, strlen(other), h));
	/* One flipped hex digit. */
	h[20] = h[20] == 'a' ? 'b' : 'a';
	assert_false(sig_valid(SECRET, body, strlen(body), h));
}

static void
sig_rejects_a_missing_or_wrong_prefix(void **state)
{
	char	h[80];

	(void)state;
	header_for(body, strlen(body), h, sizeof(h));
	assert_false(sig_valid(SECRET, body, strlen(body), h + 7));
	assert_false(sig_valid(SECRET, body, strlen(body), NULL));
	assert_false(sig_valid(SECRET, body, strlen(body), ""));
	memcpy(h, "sha1=", 5);
	assert_false(sig_valid(SECRET, body, strlen(body), h));
}

static void
sig_accepts_uppercase_hex(void **state)
{
	char	h[80];
	size_t	i;

	(void)state;
	header_for(body, strlen(body), h, sizeof(h));
	for (i = 7; h[i] != '\0'; i++)
		if (h[i] >= 'a' && h[i] <= 'f')
			h[i] = (char)(h[i] - 32);
	assert_true(sig_valid(SECRET, body, strlen(body), h));
}

static void
sig_rejects_truncated_and_overlong_signatures(void **state)
{
	char	h[90];
	size_t	n;

	(void)state;
	header_for(body, strlen(body), h, sizeof(h));
	n = strlen(h);
	h[n - 1] = '\0';
	assert_false(sig_valid(SECRET, body, strlen(body), h));
	h[32] = '\0';
	assert_false(sig_valid(SECRET, body, strlen(body), h));
	header_for(body, strlen(body), h, sizeof(h));
	strcat(h, "00");
	assert_false(sig_valid(SECRET, body, strlen(body), h));
}

static void
sig_covers_every_byte_of_the_body(void **state)
{
	char	h[80];

	(void)state;
	/* Signed over a prefix: the whole body does not match. */
	header_for(body, strlen(body) - 1, h, sizeof(h));
	assert_false(sig_valid(SECRET, body, strlen(body), h));
	assert_true(sig_valid(SECRET, body, strlen(body) - 1, h));
}

static void
webhook_sig_accepts_the_escaped_unicode_rendering(void **state)
{
	/* "hé 😮" raw, signed over "h\u00e9 \ud83d\ude2e". */
	const char	raw[] = "{\"t\":\"h\xc3\xa9 \xf0\x9f\x98\xae\"}";
	const char	esc[] = "{\"t\":\"h\\u00e9 \\ud83d\\ude2e\"}";
	char		h[80];

	(void)state;
	header_for(esc, strlen(esc), h, sizeof(h));
	assert_false(sig_valid(SECRET, raw, strlen(raw), h));
	assert_true(webhook_sig_ok(SECRET, raw, strlen(raw), h));
	/* The raw rendering still works, and a wrong one still fails. */
	header_for(raw, strlen(raw), h, sizeof(h));
	assert_true(webhook_sig_ok(SECRET, raw, strlen(raw), h));
	assert_false(webhook_sig_ok("other", raw, strlen(raw), h));
	assert_false(webhook_sig_ok(SECRET, raw, strlen(raw), NULL));
}

static void
webhook_sig_rejects_invalid_utf8_without_a_match(void **state)
{
	const char	bad[] = "{\"t\":\"\xc3\"}";
	char		h[80];

	(void)state;
	header_for("{\"t\":\"\\u00c3\"}", 14, h, sizeof(h));
	assert_false(webhook_sig_ok(SECRET, bad, strlen(bad), h));
}

/* A body of n bytes, all "é" inside a JSON string: the fallback's worst
 * case. */
static char *
non_ascii_body(size_t n)
{
	char	*b = test_malloc(n + 1);
	size_t	 i;

	memcpy(b, "{\"t\":\"", 6);
	for (i = 6; i + 2 <= n - 2; i += 2)
		memcpy(b + i, "\xc3\xa9", 2);
	memcpy(b + i, "\"}", 2);
	b[i + 2] = '\0';
	return b;
}

static void
webhook_sig_skips_the_escaped_rendering_for_a_malformed_header(void **state)
{
	const char	*bad[] = { NULL, "", "sha256=", "garbage",
	    "sha256=zz0000000000000000000000000000000000000000000000000000000000"
	    "00", "sha1=0000000000000000000000000000000000000000" };
	char		*b = non_ascii_body(4096);
	unsigned long	 before = webhook_sig_escaped_tries();
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(webhook_sig_ok(SECRET, b, strlen(b), bad[i]));
	assert_int_equal(webhook_sig_escaped_tries(), before);
	test_free(b);
}

static void
webhook_sig_tries_the_escaped_rendering_only_up_to_its_bound(void **state)
{
	char		 h[80], *small = non_ascii_body(4096);
	char		*big = non_ascii_body(3u << 20);
	unsigned long	 before = webhook_sig_escaped_tries();

	(void)state;
	/* Well-formed, wrong: a small body gets the fallback... */
	header_for("x", 1, h, sizeof(h));
	assert_false(webhook_sig_ok(SECRET, small, strlen(small), h));
	assert_int_equal(webhook_sig_escaped_tries(), before + 1);
	/* ...3 MB of unsigned non-ASCII costs one raw HMAC, no more. */
	assert_false(webhook_sig_ok(SECRET, big, strlen(big), h));
	assert_int_equal(webhook_sig_escaped_tries(), before + 1);
	/* Signed over the raw bytes, the big body still passes. */
	header_for(big, strlen(big), h, sizeof(h));
	assert_true(webhook_sig_ok(SECRET, big, strlen(big), h));
	test_free(small);
	test_free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sig_hmac_matches_a_known_vector),
		cmocka_unit_test(sig_accepts_the_right_signature),
		cmocka_unit_test(sig_rejects_a_wrong_secret_or_a_changed_body),
		cmocka_unit_test(sig_rejects_a_missing_or_wrong_prefix),
		cmocka_unit_test(sig_accepts_uppercase_hex),
		cmocka_unit_test(sig_rejects_truncated_and_overlong_signatures),
		cmocka_unit_test(sig_covers_every_byte_of_the_body),
		cmocka_unit_test(
		    webhook_sig_accepts_the_escaped_unicode_rendering),
		cmocka_unit_test(
		    webhook_sig_rejects_invalid_utf8_without_a_match),
		cmocka_unit_test(
		    webhook_sig_skips_the_escaped_rendering_for_a_malformed_header),
		cmocka_unit_test(
		    webhook_sig_tries_the_escaped_rendering_only_up_to_its_bound),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
