/* fcgi/webhook.c: /webhook: Meta's verification handshake (GET) and its
 * update notifications (POST): the signature over the raw bytes first,
 * then the body is stored, one of two ways. Plain chat messages (what Meta
 * sends most) are read in C (shared/wh_parse.c) and stored in batches with
 * the bodies other threads of this process hold (ingest_batch.c);
 * everything else goes whole to wa_webhook_ingest(), the general path in
 * SQL. Either way we answer 200 only once the body has committed; Meta
 * retries anything else for days, and ingestion is exactly once, so a
 * retry is always safe. */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcgiapp.h>
#include <json-c/json.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "handlers.h"
#include "ingest_batch.h"
#include "json.h"
#include "log.h"
#include "metrics.h"
#include "req.h"
#include "sig.h"
#include "test_hooks.h"
#include "util.h"
#include "wh_parse.h"
#include "worker.h"

#define WEBHOOK_BODY_MAX	(3u << 20)	/* Meta's maximum (nginx's) */
#define WEBHOOK_QUERY_MAX	512
/* Largest body whose escaped-unicode rendering we also try (far above
 * what one notification from Meta weighs). */
#define WEBHOOK_ESCAPED_MAX	(256u << 10)

/* The summary wa_webhook_ingest() returns, in the column order below
 * (enum metrics_webhook follows it). */
static const char *const counts[] = {
	"messages", "statuses", "reactions", "edits", "duplicates", "events",
	"logged", "unplaced",
};
enum { COUNT_UNPLACED = 7 };

static const struct db_stmt ingest = { "webhook_ingest",
	"SELECT j->>'messages', j->>'statuses', j->>'reactions',"
	" j->>'edits', j->>'duplicates', j->>'events', j->>'logged',"
	" j->>'unplaced'"
	" FROM wa_webhook_ingest($1::jsonb) AS s(j)" };

static const struct db_stmt keep_raw = { "webhook_keep_raw",
	"INSERT INTO webhook_log (reason, raw, detail)"
	" VALUES ('invalid_json', $1, $2)" };

/* Rejected signatures since this process started, for the log. */
static atomic_ulong	rejected;
/* Escaped renderings hashed (webhook_sig_ok's fallback), for tests. */
static atomic_ulong	escaped_tries;

/* Meta's challenge is echoed as the whole body: printable ASCII only. */
static int
printable(const char *s)
{
	if (*s == '\0')
		return 0;
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return 0;
	return 1;
}

int
webhook_verify(struct req *r)
{
	char	mode[32], token[WEBHOOK_QUERY_MAX], ch[WEBHOOK_QUERY_MAX];
	int	ok;

	ok = req_query(r, "hub.mode", mode, sizeof(mode)) == 0 &&
	    strcmp(mode, "subscribe") == 0 &&
	    req_query(r, "hub.verify_token", token, sizeof(token)) == 0 &&
	    str_eq_ct(token, conf.verify_token) &&
	    req_query(r, "hub.challenge", ch, sizeof(ch)) == 0 &&
	    printable(ch);
	explicit_bzero(token, sizeof(token));
	if (!ok) {
		rlog(r, LOG_WARN, "webhook: verification refused");
		return reply_error(r, 403, "forbidden",
		    "webhook verification failed");
	}
	return reply_text(r, 200, "text/plain", ch, strlen(ch));
}

/* Appends \uXXXX (lowercase hex) for the UTF-16 code unit u. */
static void
append_unit(struct buf *b, uint32_t u)
{
	static const char	hex[] = "0123456789abcdef";
	char			e[6] = { '\\', 'u', hex[u >> 12 & 0xf],
	    hex[u >> 8 & 0xf], hex[u >> 4 & 0xf], hex[u & 0xf] };

	buf_append(b, e, sizeof(e));
}

/* Appends code point cp as JSON escapes (a surrogate pair above U+FFFF). */
static void
append_escape(struct buf *b, uint32_t cp)
{
	if (cp >= 0x10000) {
		cp -= 0x10000;
		append_unit(b, 0xd800 + (cp >> 10));
		append_unit(b, 0xdc00 + (cp & 0x3ff));
	} else
		append_unit(b, cp);
}

/* The body with every non-ASCII character as a lowercase \uXXXX escape,
 * the rendering Meta says it signs; -1 when the body is not UTF-8. */
static int
escape_unicode(const unsigned char *p, size_t n, struct buf *out)
{
	size_t		i = 0, k, len;
	uint32_t	cp;

	while (i < n) {
		if (p[i] < 0x80) {
			for (k = i; k < n && p[k] < 0x80; k++)
				;
			buf_append(out, p + i, k - i);
			i = k;
			continue;
		}
		if ((p[i] & 0xe0) == 0xc0) {
			len = 2;
			cp = p[i] & 0x1f;
		} else if ((p[i] & 0xf0) == 0xe0) {
			len = 3;
			cp = p[i] & 0x0f;
		} else if ((p[i] & 0xf8) == 0xf0) {
			len = 4;
			cp = p[i] & 0x07;
		} else
			return -1;
		if (i + len > n)
			return -1;
		for (k = 1; k < len; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return -1;
			cp = cp << 6 | (p[i + k] & 0x3f);
		}
		if (cp > 0x10ffff)
			return -1;
		append_escape(out, cp);
		i += len;
	}
	return 0;
}

unsigned long
webhook_sig_escaped_tries(void)
{
	return atomic_load(&escaped_tries);
}

int
webhook_sig_ok(const char *secret, const char *body, size_t n,
    const char *header)
{
	struct buf	esc = BUF_INIT;
	size_t		i;
	int		ok;

	if (!sig_header_valid(header))
		return 0;
	if (sig_valid(secret, body, n, header))
		return 1;
	/* Meta documents its signature over an escaped-unicode rendering,
	 * yet sends bodies already escaped; if one ever arrives raw, try the
	 * documented rendering before refusing it. Only up to a bound: the
	 * rendering is up to six times the body, all of it hashed, and
	 * anyone can send 3 MB of unsigned non-ASCII. */
	if (n > WEBHOOK_ESCAPED_MAX)
		return 0;
	for (i = 0; i < n && (unsigned char)body[i] < 0x80; i++)
		;
	if (i == n)
		return 0;
	atomic_fetch_add(&escaped_tries, 1);
	ok = escape_unicode((const unsigned char *)body, n, &esc) == 0 &&
	    sig_valid(secret, buf_str(&esc), esc.len, header);
	buf_free(&esc);
	return ok;
}

/* Counts and logs a refused signature, then answers 401 (none) or 403. */
static int
reject_signature(struct req *r, int status, const char *reason)
{
	unsigned long	n = atomic_fetch_add(&rejected, 1) + 1;

	rlog(r, LOG_WARN, "webhook: signature rejected reason=%s "
	    "rejected_total=%lu", reason, n);
	return status == 401 ? reply_error(r, 401, "unauthorized",
	    "missing X-Hub-Signature-256") : reply_error(r, 403, "forbidden",
	    "signature mismatch");
}

/* PostgreSQL's jsonb cannot hold U+0000, so a \u0000 escape (one preceded
 * by an even run of backslashes) becomes \ufffd, same length, in place:
 * the rest of the body is kept as Meta sent it. */
static void
scrub_nul_escapes(struct buf *b)
{
	const char	*hit;
	size_t		 at = 0, k;

	while (at < b->len && (hit = memmem(b->data + at, b->len - at,
	    "\\u0000", 6)) != NULL) {
		at = (size_t)(hit - b->data);
		for (k = at; k > 0 && b->data[k - 1] == '\\'; k--)
			;
		if ((at - k) % 2 == 0)	/* the backslash is not escaped */
			memcpy(b->data + at + 2, "fffd", 4);
		at += 6;
	}
}

/* Whether JSON text nests deeper than max (brackets inside strings do not
 * count). Only asked after PostgreSQL failed on a body: its parser gives
 * up on very deep nesting with a stack-depth error, not a syntax error. */
static int
too_deep(const char *s, size_t n, int max)
{
	size_t	i;
	int	depth = 0, in_str = 0;

	for (i = 0; i < n; i++) {
		if (in_str) {
			if (s[i] == '\\')
				i++;
			else if (s[i] == '"')
				in_str = 0;
		} else if (s[i] == '"')
			in_str = 1;
		else if (s[i] == '[' || s[i] == '{') {
			if (++depth > max)
				return 1;
		} else if (s[i] == ']' || s[i] == '}')
			depth--;
	}
	return 0;
}

/* A signed body that is not JSON: keep its bytes for audit, then 400. */
static int
reject_invalid(struct req *r)
{
	const char	*v[] = { buf_str(&r->body), db_errmsg(r->w->db) };

	if (memchr(v[0], '\0', r->body.len) != NULL ||
	    db_exec(r->w->db, &keep_raw, 2, v) != 0)
		rlog(r, LOG_WARN, "webhook: invalid JSON not kept: %s",
		    db_errmsg(r->w->db));
	else
		rlog(r, LOG_WARN, "webhook: invalid JSON kept in webhook_log");
	return reply_error(r, 400, "invalid_json", "the body is not JSON");
}

/* Answers 200 with the summary (and says where operators look when
 * something went to webhook_log). Written out directly, not built with
 * json-c: numbers under fixed names need no escaping, and every webhook
 * is answered this way. */
static int
reply_counts(struct req *r, const int64_t v[nitems(counts)])
{
	char		 out[64 + nitems(counts) * 40];
	struct buf	 line = BUF_INIT;
	size_t		 i, n;

	n = (size_t)snprintf(out, sizeof(out), "{\"ok\":true");
	for (i = 0; i < nitems(counts); i++)
		n += (size_t)snprintf(out + n, sizeof(out) - n, ",\"%s\":%lld",
		    counts[i], (long long)v[i]);
	n += (size_t)snprintf(out + n, sizeof(out) - n, "}");
	metrics_webhook(v, nitems(counts));
	if (v[COUNT_UNPLACED] > 0 || log_enabled(LOG_DEBUG)) {
		for (i = 0; i < nitems(counts); i++)
			buf_appendf(&line, " %s=%lld", counts[i],
			    (long long)v[i]);
		rlog(r, v[COUNT_UNPLACED] > 0 ? LOG_WARN : LOG_DEBUG,
		    "webhook:%s", buf_str(&line));
		buf_free(&line);
	}
	return reply_text(r, 200, "application/json", out, n);
}

/* The general path: wa_webhook_ingest() walks the whole body in SQL, in
 * its statement's own transaction, and logs what it cannot place. */
static int
ingest_general(struct req *r)
{
	struct db	*db = r->w->db;
	struct db_res	*res;
	const char	*v[1] = { buf_str(&r->body) }, *s;
	int64_t		 n[nitems(counts)];
	size_t		 i;
	int		 st;

	/* Ingestion is idempotent: once more is safe even if the first
	 * attempt did commit. */
	res = db_query_retry(db, &ingest, 1, v);
	if (res == NULL) {
		if (db_error(db) == DB_ECHECK || (db_error(db) == DB_EOTHER &&
		    too_deep(v[0], r->body.len, 1000)))
			return reject_invalid(r);
		rlog(r, LOG_ERR, "webhook: not stored, Meta will retry: %s",
		    db_errmsg(db));
		return reply_db_error(r);
	}
	for (i = 0; i < nitems(counts); i++)
		if ((s = db_val(res, 0, (int)i)) == NULL ||
		    str_to_i64(s, &n[i]) != 0)
			n[i] = 0;
	st = reply_counts(r, n);
	db_res_free(res);
	return st;
}

/* The batched paths (ingest_batch.c): bodies of plain chat messages as
 * parsed rows, anything else whole to the general path's SQL with the
 * other such bodies of the batch; -1 when the body is to be stored alone
 * after all. */
static int
ingest_batched(struct req *r, struct ingest_arrival *a, int *status)
{
	struct wh_body		b;
	struct ingest_result	res;

	switch (wh_parse(buf_str(&r->body), r->body.len, &b)) {
	case WH_UNSURE:
		wh_body_free(&b);
		return -1;
	case WH_GENERAL:
		/* The test hook spoils the batch's copy only: the body
		 * itself is then stored alone. */
		if (test_hooks_poison(((FCGX_Request *)r->fcgi)->envp))
			ingest_batch_store_general("poison", 6, a, &res);
		else
			ingest_batch_store_general(buf_str(&r->body),
			    r->body.len, a, &res);
		break;
	case WH_BATCH:
		if (test_hooks_poison(((FCGX_Request *)r->fcgi)->envp))
			snprintf(b.msgs[0].ts, sizeof(b.msgs[0].ts),
			    "poison");
		ingest_batch_store(&b, a, &res);
		break;
	}
	wh_body_free(&b);
	switch (res.outcome) {
	case INGEST_GENERAL:
		return -1;
	case INGEST_RETRY:
		rlog(r, LOG_ERR, "webhook: not stored, Meta will retry: %s",
		    res.errmsg);
		*status = reply_db_failure(r, res.err);
		return 0;
	case INGEST_STORED:
		break;
	}
	*status = reply_counts(r, res.counts);
	return 0;
}

/* The body, once its signature is known good, stored one way or the
 * other. */
static int
receive(struct req *r, struct ingest_arrival *a)
{
	const char	*sig = req_header(r, "X-Hub-Signature-256");
	int		 st;

	if ((st = req_read_body(r, WEBHOOK_BODY_MAX)) != 0)
		return st == 413 ? reply_error(r, 413, "payload_too_large",
		    "body over %u bytes", WEBHOOK_BODY_MAX) :
		    reply_error(r, 400, "bad_request", "unreadable body");
	if (!webhook_sig_ok(conf.app_secret, buf_str(&r->body), r->body.len,
	    sig))
		return reject_signature(r, 403, "mismatch");
	if (memchr(buf_str(&r->body), '\0', r->body.len) != NULL)
		return reply_error(r, 400, "invalid_json",
		    "the body is not JSON");
	scrub_nul_escapes(&r->body);
	if (ingest_batched(r, a, &st) == 0)
		return st;
	ingest_batch_gone(a);
	return ingest_general(r);
}

int
webhook_receive(struct req *r)
{
	struct ingest_arrival	 a;
	const char		*sig = req_header(r, "X-Hub-Signature-256");
	int			 st;

	/* Before reading the body: a request that cannot be Meta's costs
	 * nothing more. */
	if (sig == NULL || *sig == '\0')
		return reject_signature(r, 401, "missing");
	if (!sig_header_valid(sig))
		return reject_signature(r, 403, "malformed");
	ingest_batch_announce(&a);
	a.hold_ms = test_hooks_hold_ms(((FCGX_Request *)r->fcgi)->envp);
	st = receive(r, &a);
	ingest_batch_gone(&a);
	return st;
}
