/* tests/unit/test_multipart.c: the streaming multipart/form-data parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "multipart.h"

/* What the parser reported, as text: "[name|filename|ctype]data;" per
 * part, with data offsets checked to be contiguous. */
struct seen {
	struct buf	 out;
	const char	*input;		/* to check offsets point at the data */
	uint64_t	 next_off;
	int		 in_part;
	int		 stop_at_part;	/* -1: never */
};

static int
on_begin(void *arg, const struct multipart_part *p)
{
	struct seen	*s = arg;

	if (p->index == s->stop_at_part)
		return -1;
	buf_appendf(&s->out, "[%s|%s%s|%s]", p->name,
	    p->has_filename ? "F:" : "", p->filename, p->content_type);
	s->in_part = 1;
	s->next_off = UINT64_MAX;
	return 0;
}

static int
on_data(void *arg, const char *d, size_t n, uint64_t off)
{
	struct seen	*s = arg;

	assert_true(s->in_part);
	assert_true(n > 0);
	if (s->next_off != UINT64_MAX)
		assert_int_equal(off, s->next_off);
	assert_memory_equal(s->input + off, d, n);
	s->next_off = off + n;
	buf_append(&s->out, d, n);
	return 0;
}

static int
on_end(void *arg, const struct multipart_part *p)
{
	struct seen	*s = arg;

	(void)p;
	s->in_part = 0;
	buf_appends(&s->out, ";");
	return 0;
}

static const struct multipart_cb cb = { on_begin, on_data, on_end };

/* Parses body in chunks of `step` bytes (0: all at once). Returns 0 when
 * fully valid; *out gets what was reported (caller frees). */
static int
parse(const char *boundary, const char *body, size_t len, size_t step,
    char **out)
{
	struct multipart	 mp;
	struct seen		 s = { BUF_INIT, body, 0, 0, -1 };
	size_t			 i, n;
	int			 rc = 0;

	multipart_init(&mp, boundary, &cb, &s);
	if (step == 0)
		step = len ? len : 1;
	for (i = 0; i < len && rc == 0; i += n) {
		n = len - i < step ? len - i : step;
		rc = multipart_feed(&mp, body + i, n);
	}
	if (rc == 0)
		rc = multipart_finish(&mp);
	*out = buf_detach(&s.out);
	if (*out == NULL)
		*out = calloc(1, 1);
	return rc;
}

/* Same result whatever the chunk size: 1, 2, 3, 7, 64 bytes, all. */
static void
check(const char *boundary, const char *body, int want_rc,
    const char *want)
{
	static const size_t steps[] = { 0, 1, 2, 3, 7, 64 };
	size_t	 i, len = strlen(body);
	char	*got;
	int	 rc;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
		rc = parse(boundary, body, len, steps[i], &got);
		if (rc != want_rc)
			fail_msg("step %zu: rc %d, want %d (%s)", steps[i], rc,
			    want_rc, got);
		if (want != NULL)
			assert_string_equal(got, want);
		free(got);
	}
}

static void
multipart_reports_fields_and_a_file(void **state)
{
	(void)state;
	check("XyZ",
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"type\"\r\n\r\n"
	    "image/png\r\n"
	    "--XyZ\r\n"
	    "Content-Disposition: form-data; name=\"file\"; filename=\"a.png\""
	    "\r\nContent-Type: image/png\r\n\r\n"
	    "\x89PNG\r\n\x1a\n\r\n--XyZ--\r\n", 0,
	    "[type||]image/png;[file|F:a.png|image/png]\x89PNG\r\n\x1a\n;");
}

static void
multipart_ignores_preamble_and_epilogue(void **state)
{
	(void)state;
	check("b",
	    "this is a preamble\r\n-- b, -b, --c\r\n"
	    "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n1\r\n"
	    "--b--\r\nepilogue --b\r\n--b\r\n", 0, "[x||]1;");
	/* The body may open with the delimiter and no preamble at all. */
	check("b", "--b\r\nContent-Disposition: form-data; name=x\r\n\r\n"
	    "\r\n--b--", 0, "[x||];");
}

static void
multipart_keeps_near_boundaries_as_data(void **state)
{
	(void)state;
	/* CR, CRLF, "--", and every prefix of the delimiter inside data,
	 * also where the boundary repeats itself (KMP fallbacks). */
	check("aab",
	    "--aab\r\nContent-Disposition: form-data; name=f; "
	    "filename=x\r\n\r\n"
	    "\r\r\n\r\n-\r\n--\r\n--a\r\n--aa\r\n--aaa\r\n--aa-b\r"
	    "\r\n--aab\r\nContent-Disposition: form-data; name=g\r\n\r\n"
	    "\r\n\r\n--aab--", 0,
	    "[f|F:x|]\r\r\n\r\n-\r\n--\r\n--a\r\n--aa\r\n--aaa\r\n--aa-b\r;"
	    "[g||]\r\n;");
}

static void
multipart_accepts_odd_boundaries(void **state)
{
	char	b[MULTIPART_BOUNDARY_MAX + 1], body[1024];

	(void)state;
	check("'()+_,-./:=? x", "--'()+_,-./:=? x\r\n"
	    "Content-Disposition: form-data; name=a\r\n\r\nv\r\n"
	    "--'()+_,-./:=? x--", 0, "[a||]v;");
	check("-", "---\r\nContent-Disposition: form-data; name=a\r\n\r\n"
	    "v-\r\n--\r\n---\t \r\n"
	    "Content-Disposition: form-data; name=b\r\n\r\n\r\n-----", 0,
	    "[a||]v-\r\n--;[b||];");
	memset(b, 'z', sizeof(b) - 1);
	b[sizeof(b) - 1] = '\0';
	snprintf(body, sizeof(body), "--%s\r\nContent-Disposition: form-data;"
	    " name=a\r\n\r\nv\r\n--%s--", b, b);
	check(b, body, 0, "[a||]v;");
}

static void
multipart_decodes_quoted_and_extended_filenames(void **state)
{
	(void)state;
	check("b", "--b\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"my \\\"best\\\" file; v2.pdf\"\r\n\r\nx\r\n--b--", 0,
	    "[file|F:my \"best\" file; v2.pdf|]x;");
	check("b", "--b\r\nContent-Disposition: form-data; name=\"file\"; "
	    "filename=\"say %22hi%22 100%.txt\"\r\n\r\nx\r\n--b--", 0,
	    "[file|F:say \"hi\" 100%.txt|]x;");
	check("b", "--b\r\ncontent-disposition: FORM-DATA ; name = file ;"
	    " filename=\"fallback.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt"
	    "\r\n\r\nx\r\n--b--", 0, "[file|F:\xe2\x82\xac rates.txt|]x;");
	check("b", "--b\r\nContent-Disposition: form-data; name=file; "
	    "filename*=iso-8859-1'en'%A3.txt\r\n\r\nx\r\n--b--", 0,
	    "[file|F:\xc2\xa3.txt|]x;");
	/* A broken filename* falls back to filename. */
	check("b", "--b\r\nContent-Disposition: form-data; name=file; "
	    "filename=ok.txt; filename*=UTF-8''%zz\r\n\r\nx\r\n--b--", 0,
	    "[file|F:ok.txt|]x;");
	/* A good filename* then a broken one (found by the fuzzer): the
	 * good one stands, nothing half-decoded leaks into it. */
	check("b", "--b\r\nContent-Disposition: form-data; name=file; "
	    "filename*=UTF-8''good.txt; filename*=UTF-8''ab%zz\r\n\r\nx\r\n"
	    "--b--", 0, "[file|F:good.txt|]x;");
	/* Folded header lines. */
	check("b", "--b\r\nContent-Disposition: form-data;\r\n name=file;"
	    "\r\n\tfilename=f.txt\r\nContent-Type: text/plain;\r\n "
	    "charset=utf-8\r\n\r\nx\r\n--b--", 0,
	    "[file|F:f.txt|text/plain;   charset=utf-8]x;");
}

#define CD	"--b\r\nContent-Disposition: "

static void
multipart_rejects_malformed_bodies(void **state)
{
	static const char *bad[] = {
		"",					/* empty */
		"no boundary here at all",
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv",
		"--b\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--b",
		"--bX\r\n",				/* junk after */
		"--b\nContent-Disposition: form-data; name=a\n\nv\n--b--",
		"--b\r\n\r\nv\r\n--b--",		/* no headers */
		"--b\r\nContent-Type: text/plain\r\n\r\nv\r\n--b--",
		CD "attachment; name=a\r\n\r\n\r\n--b--",
		CD "form-data\r\n\r\n\r\n--b--",	/* no name */
		CD "form-data; name=\"a\r\n\r\n\r\n--b--",
		"--b\r\nContent-Disposition form-data; name=a\r\n\r\n--b--",
		CD "form-data; name=a\rx\r\n\r\n\r\n--b--",	/* bare CR */
		/* A continuation line with nothing above to fold into. */
		"--b\r\n Content-Disposition: form-data; name=a"
		    "\r\n\r\n\r\n--b--",
		CD "form-data; name=a\r\n\r\n\r\n--b-x",
	};
	size_t	i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		check("b", bad[i], -1, NULL);
}

static void
multipart_rejects_oversized_headers(void **state)
{
	char	*body = malloc(MULTIPART_HEADER_MAX + 200), *got;
	size_t	 n;

	(void)state;
	n = (size_t)sprintf(body, "--b\r\nContent-Disposition: form-data; "
	    "name=a\r\nX-Pad: ");
	memset(body + n, 'p', MULTIPART_HEADER_MAX);
	n += MULTIPART_HEADER_MAX;
	n += (size_t)sprintf(body + n, "\r\n\r\nv\r\n--b--");
	assert_int_equal(parse("b", body, n, 4096, &got), -1);
	free(got);
	free(body);
}

static void
multipart_stops_when_a_callback_says_so(void **state)
{
	const char		*body = "--b\r\nContent-Disposition: form-data;"
	    " name=a\r\n\r\nv\r\n--b--";
	struct multipart	 mp;
	struct seen		 s = { BUF_INIT, body, 0, 0, 0 };

	(void)state;
	multipart_init(&mp, "b", &cb, &s);
	assert_int_equal(multipart_feed(&mp, body, strlen(body)), -1);
	assert_string_equal(multipart_error(&mp), "stopped");
	assert_int_equal(multipart_feed(&mp, "x", 1), -1);
	assert_int_equal(multipart_finish(&mp), -1);
	buf_free(&s.out);
}

static void
multipart_boundary_reads_token_and_quoted_forms(void **state)
{
	char	b[MULTIPART_BOUNDARY_MAX + 1];

	(void)state;
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=----WebKitFormBoundaryx7", b, sizeof(b)), 0);
	assert_string_equal(b, "----WebKitFormBoundaryx7");
	assert_int_equal(multipart_boundary("Multipart/Form-Data;charset=utf-8;"
	    " BOUNDARY=\"a b:c=d\"", b, sizeof(b)), 0);
	assert_string_equal(b, "a b:c=d");
	assert_int_equal(multipart_boundary("multipart/form-data", b,
	    sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; boundary=",
	    b, sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=\"\"", b, sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/mixed; boundary=x", b,
	    sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-datax; "
	    "boundary=x", b, sizeof(b)), -1);
	assert_int_equal(multipart_boundary("multipart/form-data; "
	    "boundary=\"x", b, sizeof(b)), -1);
	assert_int_equal(multipart_boundary(NULL, b, sizeof(b)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(multipart_reports_fields_and_a_file),
		cmocka_unit_test(multipart_ignores_preamble_and_epilogue),
		cmocka_unit_test(multipart_keeps_near_boundaries_as_data),
		cmocka_unit_test(multipart_accepts_odd_boundaries),
		cmocka_unit_test(
		    multipart_decodes_quoted_and_extended_filenames),
		cmocka_unit_test(multipart_rejects_malformed_bodies),
		cmocka_unit_test(multipart_rejects_oversized_headers),
		cmocka_unit_test(multipart_stops_when_a_callback_says_so),
		cmocka_unit_test(
		    multipart_boundary_reads_token_and_quoted_forms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
