/* fcgi/metrics_scrape.c: GET /_internal/metrics: every responder's slot
 * summed per pool, the relay's lag and the push module's subscribers, in
 * Prometheus's text format. Only nginx's loopback metrics server reaches
 * it, and says so with a parameter no client can set (nginx.conf.in). */
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "buf.h"
#include "db.h"
#include "handlers.h"
#include "http.h"
#include "metrics.h"
#include "req.h"
#include "route.h"
#include "util.h"
#include "worker.h"

#define SCRAPE_CTYPE	"text/plain; version=0.0.4; charset=utf-8"
#define PUSH_STATS_TIMEOUT_MS	2000

/* Events not yet acknowledged by nginx: past each tenant's published
 * cursor, up to its counter. */
static const struct db_stmt relay_lag = { "metrics_relay_lag",
	"SELECT coalesce(sum(n.last_seq - coalesce(c.published, 0)), 0)"
	" FROM event_counters n LEFT JOIN event_cursors c"
	"  ON c.tenant_id = n.tenant_id" };

static const char *const pools[METRICS_POOLS] = { "webhook", "api" };
static const char *const methods[] = {
	"any", "GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "other"
};
static const char *const outcomes[GRAPH_OUTCOMES] = {
	"ok", "client_error", "server_error", "timeout", "unreachable"
};
/* enum metrics_webhook; NULL: a metric of its own */
static const char *const items[METRICS_WH_KINDS] = {
	"messages", "statuses", "reactions", "edits", NULL, "events", "logged",
	NULL
};
static const char *const db_kinds[METRICS_DB_KINDS] = {
	NULL, "unavailable", "unique", "foreign_key", "check", "retry", "other"
};
static const char *const le[METRICS_BUCKETS] = {
	"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5",
	"5", "10", "+Inf"
};

/* Everything after pid and pool is a counter. */
#define COUNTERS_AT	offsetof(struct metrics_slot, requests)
#define NCOUNTERS	((sizeof(struct metrics_slot) - COUNTERS_AT) / \
	sizeof(uint64_t))
_Static_assert((sizeof(struct metrics_slot) - COUNTERS_AT) %
    sizeof(uint64_t) == 0, "a slot's counters are all uint64_t");

struct totals {
	struct metrics_slot	pool[METRICS_POOLS];
	int			procs[METRICS_POOLS];
};

static uint64_t
get(const _Atomic uint64_t *c)
{
	return atomic_load_explicit(c, memory_order_relaxed);
}

static void
sum_slots(struct totals *t)
{
	struct metrics_slot	*s;
	_Atomic uint64_t	*src, *dst;
	size_t			 n, i, k;
	pid_t			 pid;
	int			 p;

	s = metrics_slots(&n);
	for (i = 0; s != NULL && i < n; i++) {
		if ((pid = atomic_load(&s[i].pid)) == 0)
			continue;
		p = atomic_load(&s[i].pool);
		if (p < 0 || p >= METRICS_POOLS)
			continue;
		t->procs[p] += metrics_pid_alive(pid);
		src = (_Atomic uint64_t *)((char *)&s[i] + COUNTERS_AT);
		dst = (_Atomic uint64_t *)((char *)&t->pool[p] + COUNTERS_AT);
		for (k = 0; k < NCOUNTERS; k++)
			dst[k] += get(&src[k]);
	}
}

static void
family(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_appendf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{labels,le=...}: cumulative buckets, then _sum and _count. */
static void
histogram(struct buf *b, const char *name, const char *labels,
    const struct metrics_hist *h)
{
	uint64_t	cum = 0;
	int		i;

	for (i = 0; i < METRICS_BUCKETS; i++) {
		cum += get(&h->bucket[i]);
		buf_appendf(b, "%s_bucket{%s%sle=\"%s\"} %llu\n", name, labels,
		    *labels != '\0' ? "," : "", le[i], (unsigned long long)cum);
	}
	buf_appendf(b, "%s_sum%s%s%s %.6f\n%s_count%s%s%s %llu\n", name,
	    *labels != '\0' ? "{" : "", labels, *labels != '\0' ? "}" : "",
	    (double)get(&h->sum_us) / 1e6, name, *labels != '\0' ? "{" : "",
	    labels, *labels != '\0' ? "}" : "", (unsigned long long)cum);
}

/* pool, method and route of a row; route patterns are our constants,
 * with nothing a label value must escape. */
static void
route_labels(char *out, size_t n, int pool, int row)
{
	const struct route	*rt = row > 0 ? route_at((size_t)row - 1) : NULL;
	int			 m = rt != NULL ? rt->method : 0;

	if (m < 0 || (size_t)m >= nitems(methods))
		m = (int)nitems(methods) - 1;
	snprintf(out, n, "pool=\"%s\",method=\"%s\",route=\"%s\"", pools[pool],
	    methods[m], rt != NULL ? rt->pattern : "none");
}

static void
render_requests(struct buf *b, const struct totals *t)
{
	char	labels[256];
	int	p, row, st, code;

	family(b, "wa_http_requests_total", "counter", "Requests the "
	    "responders answered, by pool, route and status.");
	for (p = 0; p < METRICS_POOLS; p++)
		for (row = 0; row < METRICS_ROUTES; row++)
			for (st = 0; st < METRICS_STATUSES; st++) {
				uint64_t v = get(&t->pool[p].requests[row][st]);

				if (v == 0)
					continue;
				route_labels(labels, sizeof(labels), p, row);
				code = metrics_status_codes[st];
				buf_appendf(b, "wa_http_requests_total{%s,"
				    "status=\"%d\"} %llu\n", labels, code,
				    (unsigned long long)v);
			}
	family(b, "wa_http_request_duration_seconds", "histogram",
	    "Time from a request's start in the responder to its log line.");
	for (p = 0; p < METRICS_POOLS; p++)
		for (row = 0; row < METRICS_ROUTES; row++) {
			const struct metrics_hist *h = &t->pool[p].latency[row];
			uint64_t n = 0;
			int i;

			for (i = 0; i < METRICS_BUCKETS; i++)
				n += get(&h->bucket[i]);
			if (n == 0)
				continue;
			route_labels(labels, sizeof(labels), p, row);
			histogram(b, "wa_http_request_duration_seconds",
			    labels, h);
		}
}

static uint64_t
both(const struct totals *t, size_t off)
{
	return get((const _Atomic uint64_t *)((const char *)&t->pool[0] +
	    off)) + get((const _Atomic uint64_t *)((const char *)&t->pool[1] +
	    off));
}

#define BOTH(t, field)	both(t, offsetof(struct metrics_slot, field))

static void
render_webhooks(struct buf *b, const struct totals *t)
{
	size_t	k;

	family(b, "wa_webhooks_stored_total", "counter",
	    "Webhook deliveries stored (committed, then acknowledged).");
	buf_appendf(b, "wa_webhooks_stored_total %llu\n",
	    (unsigned long long)BOTH(t, webhooks_stored));
	family(b, "wa_webhooks_batched_total", "counter", "Webhook deliveries "
	    "stored by the batched path (plain chat messages, read in C).");
	buf_appendf(b, "wa_webhooks_batched_total %llu\n",
	    (unsigned long long)BOTH(t, webhooks_batched));
	family(b, "wa_webhook_batches_total", "counter", "Transactions of the "
	    "batched path: deliveries per batch = batched / batches.");
	buf_appendf(b, "wa_webhook_batches_total %llu\n",
	    (unsigned long long)BOTH(t, webhook_batches));
	family(b, "wa_webhook_batches_refused_total", "counter", "Batches the "
	    "database refused for their data: each delivery then went alone "
	    "through the general path.");
	buf_appendf(b, "wa_webhook_batches_refused_total %llu\n",
	    (unsigned long long)BOTH(t, webhook_batches_refused));
	family(b, "wa_webhooks_general_batched_total", "counter", "Webhook "
	    "deliveries of the general path stored together with others "
	    "(wa_webhook_ingest_many).");
	buf_appendf(b, "wa_webhooks_general_batched_total %llu\n",
	    (unsigned long long)BOTH(t, webhooks_general_batched));
	family(b, "wa_webhook_general_batches_total", "counter", "Transactions "
	    "of the general path's batches.");
	buf_appendf(b, "wa_webhook_general_batches_total %llu\n",
	    (unsigned long long)BOTH(t, webhook_general_batches));
	family(b, "wa_webhook_duplicates_total", "counter",
	    "Webhook items already stored: Meta's retries.");
	buf_appendf(b, "wa_webhook_duplicates_total %llu\n",
	    (unsigned long long)BOTH(t, webhook[METRICS_WH_DUPLICATES]));
	family(b, "wa_webhook_unplaced_total", "counter", "Webhook items kept "
	    "in webhook_log only: no tenant or contact to place them.");
	buf_appendf(b, "wa_webhook_unplaced_total %llu\n",
	    (unsigned long long)BOTH(t, webhook[METRICS_WH_UNPLACED]));
	family(b, "wa_webhook_items_total", "counter",
	    "What stored webhook deliveries carried, by kind.");
	for (k = 0; k < METRICS_WH_KINDS; k++)
		if (items[k] != NULL)
			buf_appendf(b, "wa_webhook_items_total{kind=\"%s\"} "
			    "%llu\n", items[k], (unsigned long long)both(t,
			    offsetof(struct metrics_slot, webhook) +
			    k * sizeof(uint64_t)));
}

static void
render_graph_db(struct buf *b, const struct totals *t)
{
	struct metrics_hist	h;
	int			i, p;

	family(b, "wa_graph_calls_total", "counter",
	    "Graph API calls (each attempt), by outcome.");
	for (i = 0; i < GRAPH_OUTCOMES; i++)
		buf_appendf(b, "wa_graph_calls_total{outcome=\"%s\"} %llu\n",
		    outcomes[i], (unsigned long long)both(t,
		    offsetof(struct metrics_slot, graph) +
		    (size_t)i * sizeof(uint64_t)));
	memset(&h, 0, sizeof(h));
	for (p = 0; p < METRICS_POOLS; p++) {
		for (i = 0; i < METRICS_BUCKETS; i++)
			h.bucket[i] += get(&t->pool[p].graph_latency.bucket[i]);
		h.sum_us += get(&t->pool[p].graph_latency.sum_us);
	}
	family(b, "wa_graph_call_duration_seconds", "histogram",
	    "Graph API calls' duration, answer or not.");
	histogram(b, "wa_graph_call_duration_seconds", "", &h);
	family(b, "wa_db_errors_total", "counter",
	    "Failed database calls, by pool and kind.");
	for (p = 0; p < METRICS_POOLS; p++)
		for (i = 1; i < METRICS_DB_KINDS; i++)
			buf_appendf(b, "wa_db_errors_total{pool=\"%s\","
			    "kind=\"%s\"} %llu\n", pools[p], db_kinds[i],
			    (unsigned long long)get(&t->pool[p].db_errors[i]));
	family(b, "wa_responder_processes", "gauge",
	    "Responder processes running, by pool.");
	for (p = 0; p < METRICS_POOLS; p++)
		buf_appendf(b, "wa_responder_processes{pool=\"%s\"} %d\n",
		    pools[p], t->procs[p]);
}

static void
render_relay(struct req *r, struct buf *b)
{
	struct db_res	*res;
	const char	*v;

	if ((res = db_query(r->w->db, &relay_lag, 0, NULL)) == NULL)
		return;		/* counted in wa_db_errors_total */
	if ((v = db_val(res, 0, 0)) != NULL) {
		family(b, "wa_relay_lag_events", "gauge", "Events stored but "
		    "not yet acknowledged by nginx's push module.");
		buf_appendf(b, "wa_relay_lag_events %s\n", v);
	}
	db_res_free(res);
}

/* push-stream's channels-stats answers JSON; nchan_stub_status lines of
 * "name: value". -1 when the value is not there. */
static long long
push_stat(const char *module, const char *body, const char *name)
{
	struct json_object	*o, *v;
	const char		*p;
	char			 key[64];
	long long		 n = -1;

	if (strcmp(module, "pushstream") == 0) {
		if ((o = json_tokener_parse(body)) == NULL)
			return -1;
		if (json_object_object_get_ex(o, name, &v))
			n = json_object_get_int64(v);
		json_object_put(o);
		return n;
	}
	snprintf(key, sizeof(key), "\n%s: ", name);
	if (strncmp(body, key + 1, strlen(key + 1)) == 0)
		p = body + strlen(key + 1);
	else if ((p = strstr(body, key)) != NULL)
		p += strlen(key);
	return p != NULL ? strtoll(p, NULL, 10) : -1;
}

static void
render_push(struct req *r, struct buf *b)
{
	const char	*url = req_env(r, "WA_PUSH_STATS_URL");
	const char	*module = req_env(r, "WA_PUSH_MODULE");
	struct http_req	 q = { "GET", url, NULL, NULL, NULL, 0,
	    PUSH_STATS_TIMEOUT_MS, PUSH_STATS_TIMEOUT_MS };
	struct http_resp resp;
	long long	 subs = -1, chans = -1;
	int		 up;

	if (url == NULL || module == NULL)
		return;
	if ((up = http_do(r->w->curl, &q, &resp) == 0 &&
	    resp.status == 200)) {
		subs = push_stat(module, buf_str(&resp.body), "subscribers");
		chans = push_stat(module, buf_str(&resp.body), "channels");
	}
	http_resp_free(&resp);
	family(b, "wa_push_stats_up", "gauge",
	    "1 when nginx's push module answered its statistics.");
	buf_appendf(b, "wa_push_stats_up{module=\"%s\"} %d\n", module,
	    up && subs >= 0);
	if (subs < 0)
		return;
	family(b, "wa_push_subscribers", "gauge",
	    "WebSocket subscribers nginx's push module holds.");
	buf_appendf(b, "wa_push_subscribers{module=\"%s\"} %lld\n", module,
	    subs);
	if (chans < 0)
		return;
	family(b, "wa_push_channels", "gauge", "Channels nginx's push module "
	    "holds (tenants' and WebSocket sessions').");
	buf_appendf(b, "wa_push_channels{module=\"%s\"} %lld\n", module,
	    chans);
}

int
metrics_get(struct req *r)
{
	struct totals	*t;
	struct buf	 b = BUF_INIT;
	const char	*on = req_env(r, "WA_METRICS_SCRAPE");
	int		 st;

	if (on == NULL || strcmp(on, "1") != 0)
		return reply_error(r, 404, "not_found", "no route for %s",
		    r->path);
	t = xcalloc(1, sizeof(*t));
	sum_slots(t);
	render_requests(&b, t);
	render_webhooks(&b, t);
	render_graph_db(&b, t);
	free(t);
	render_relay(r, &b);
	render_push(r, &b);
	st = reply_text(r, 200, SCRAPE_CTYPE, buf_str(&b), b.len);
	buf_free(&b);
	return st;
}
