/* bench/bench.c: wa-bench, the load generator and helpers `make bench`
 * drives (bench/run.sh). One binary, three commands:
 *
 *   wa-bench load   HTTP/1.1 keep-alive load over epoll: closed loop (-c
 *                   connections as fast as answers come) or open loop (-r
 *                   requests/s); a fixed request, or signed unique webhooks
 *                   (-W). Prints one JSON object: counts, rate, latency.
 *   wa-bench ws     -S WebSocket subscribers on one channel, then webhooks at
 *                   a fixed rate (-r), or closed loop without -r: POST->frame
 *                   latency, frames lost and duplicated, per subscriber and
 *                   unique id, and gaps in the frames' own ids.
 *   wa-bench graph  a canned Graph API that answers every request after -D
 *                   milliseconds (Meta's latency), one thread per connection.
 *
 * The generator must never be the bottleneck it measures, so it reports its
 * own CPU time beside every figure. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "sig.h"

#define BODY_MAX	8192
#define REQ_MAX		(BODY_MAX + 4096)
#define RBUF_MAX	(256 * 1024)
#define HDR_MAX		16
#define THREADS_MAX	16
#define DRAIN_MAX_S	60	/* ws: the longest wait for late frames */
#define PER_S_MAX	3600	/* answers counted per second of the run */
#define CLOSED_MAX_RPS	100000	/* ws closed loop: ids allowed per second */

struct opts {
	int		 port;
	const char	*method;
	const char	*path;
	const char	*headers[HDR_MAX];
	int		 nheaders;
	char		*body;
	size_t		 body_len;
	int		 conns;
	int		 threads;
	double		 duration;
	double		 rate;		/* 0: closed loop */
	long		 max_req;
	/* -W secret:pnid:display:waba:prefix: signed unique webhooks */
	char		*wh_secret, *wh_pnid, *wh_display, *wh_waba, *wh_prefix;
	int		 contacts;
	int		 statuses;	/* -s: status webhooks, not messages */
	const char	*acked_file;
	const char	*seen_file;	/* -F: ids every subscriber got */
	/* ws */
	int		 subs;
	const char	*ws_path;
	const char	*ws_session;	/* -K: the session cookie's JWT */
	const char	*ws_event;	/* count only frames naming this event */
	int		 ws_port;
	double		 drain;
};

static struct opts	o = {
	.port = 80, .method = "GET", .path = "/", .conns = 32, .threads = 1,
	.duration = 10, .max_req = 0, .contacts = 1000, .drain = 5,
};

static atomic_long	next_idx;
static atomic_int	stopping;
static int64_t		t_start, t_end;
static _Atomic int64_t	*sent_at;	/* per index, ns; ws correlation */
static long		 idx_cap;
/* Answers per second since the start: a run that starts slow (plans made
 * on an empty table, cold caches) shows in its first seconds. */
static atomic_long	 done_per_s[PER_S_MAX];

static int64_t
now_ns(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
die(const char *fmt, const char *arg)
{
	fprintf(stderr, "wa-bench: ");
	fprintf(stderr, fmt, arg);
	fprintf(stderr, "\n");
	exit(2);
}

static void *
xmalloc(size_t n)
{
	void	*p = calloc(1, n ? n : 1);

	if (p == NULL)
		die("out of memory%s", "");
	return p;
}

/* A growable array of uint32. */
struct vec {
	uint32_t	*v;
	size_t		 n, cap;
};

static void
vec_push(struct vec *a, uint32_t x)
{
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 65536;
		if ((a->v = realloc(a->v, a->cap * sizeof(*a->v))) == NULL)
			die("out of memory%s", "");
	}
	a->v[a->n++] = x;
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t	x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return x < y ? -1 : x > y;
}

static double
pct(const struct vec *a, double p)
{
	size_t	i;

	if (a->n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(a->n - 1) + 0.5);
	return a->v[i];
}

static double
cpu_seconds(void)
{
	struct rusage	ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
	    ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static int
tcp_connect(int port, int nonblock)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	int			fd, one = 1;

	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	return fd;
}

/* --- requests ---------------------------------------------------------- */

/* A text-message webhook whose wamid ends in idx; several contacts, so the
 * contact upserts do not all queue on one row lock. The contact carries a
 * business-scoped user id beside its wa_id, as Meta's current webhooks do
 * (and as pywa, which the seed stack parses with, requires). */
static size_t
webhook_body(char *out, size_t cap, long idx)
{
	long	c = idx % o.contacts;
	int	n;

	n = snprintf(out, cap,
	    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"%s\","
	    "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\","
	    "\"metadata\":{\"display_phone_number\":\"%s\",\"phone_number_id\":"
	    "\"%s\"},\"contacts\":[{\"profile\":{\"name\":\"Bench %ld\"},"
	    "\"wa_id\":\"1999%07ld\",\"user_id\":\"US.1349120865%09ld\"}],"
	    "\"messages\":[{\"from\":\"1999%07ld\","
	    "\"id\":\"wamid.%s%ld\",\"timestamp\":\"%ld\",\"text\":{\"body\":"
	    "\"benchmark message %ld\"},\"type\":\"text\"}]},\"field\":"
	    "\"messages\"}]}]}",
	    o.wh_waba, o.wh_display, o.wh_pnid, c, c, c, c, o.wh_prefix, idx,
	    (long)time(NULL), idx);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A status webhook (-s): "sent" for the outgoing message
 * wamid.<prefix>out<idx>, which the caller stored beforehand (bench/run.sh
 * makes them in SQL), so each one moves a message forward and emits a
 * message_status event, as Meta's receipts for a broadcast do. */
static size_t
status_body(char *out, size_t cap, long idx)
{
	long	c = idx % o.contacts;
	int	n;

	n = snprintf(out, cap,
	    "{\"object\":\"whatsapp_business_account\",\"entry\":[{\"id\":\"%s\","
	    "\"changes\":[{\"value\":{\"messaging_product\":\"whatsapp\","
	    "\"metadata\":{\"display_phone_number\":\"%s\",\"phone_number_id\":"
	    "\"%s\"},\"statuses\":[{\"id\":\"wamid.%sout%ld\",\"status\":"
	    "\"sent\",\"timestamp\":\"%ld\",\"recipient_id\":\"1999%07ld\"}]},"
	    "\"field\":\"messages\"}]}]}",
	    o.wh_waba, o.wh_display, o.wh_pnid, o.wh_prefix, idx,
	    (long)time(NULL), c);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* A fixed body with "{R}" in it: each request names one of o.contacts
 * recipients (the webhook bodies' senders), so sends do not all queue on
 * one contact's row lock. 0 when there is no "{R}". */
static size_t
recipient_body(char *out, size_t cap, long idx)
{
	const char	*r = strstr(o.body, "{R}");
	int		 n;

	if (r == NULL)
		return 0;
	n = snprintf(out, cap, "%.*s1999%07ld%s", (int)(r - o.body), o.body,
	    idx % o.contacts, r + 3);
	return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

static size_t
build_request(char *out, size_t cap, long idx)
{
	char		 body[BODY_MAX], sig[SIG_HEX_LEN + 1];
	const char	*b = o.body ? o.body : "";
	size_t		 blen, n;
	int		 i, k;

	if (o.wh_secret != NULL) {
		blen = o.statuses ? status_body(body, sizeof(body), idx) :
		    webhook_body(body, sizeof(body), idx);
		b = body;
		sig_hmac_hex(o.wh_secret, body, blen, sig);
	} else if (o.body != NULL && (blen = recipient_body(body,
	    sizeof(body), idx)) > 0)
		b = body;
	else
		blen = o.body_len;
	k = snprintf(out, cap, "%s %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n",
	    o.method, o.path, o.port);
	n = (size_t)k;
	for (i = 0; i < o.nheaders; i++)
		n += (size_t)snprintf(out + n, cap - n, "%s\r\n", o.headers[i]);
	if (o.wh_secret != NULL)
		n += (size_t)snprintf(out + n, cap - n, "Content-Type: "
		    "application/json\r\nX-Hub-Signature-256: sha256=%s\r\n", sig);
	if (blen > 0 || strcmp(o.method, "POST") == 0)
		n += (size_t)snprintf(out + n, cap - n,
		    "Content-Length: %zu\r\n", blen);
	n += (size_t)snprintf(out + n, cap - n, "\r\n");
	if (n + blen >= cap)
		die("request too large%s", "");
	memcpy(out + n, b, blen);
	return n + blen;
}

/* --- responses --------------------------------------------------------- */

/* 0 incomplete, -1 malformed, else the response's total length; *status and
 * *close_after are set. */
static long
response_complete(const char *p, size_t n, int *status, int *close_after)
{
	const char	*he, *h, *e;
	long		 cl = -1, hlen;
	int		 chunked = 0;

	if ((he = memmem(p, n, "\r\n\r\n", 4)) == NULL)
		return n > RBUF_MAX / 2 ? -1 : 0;
	hlen = he + 4 - p;
	if (n < 12 || memcmp(p, "HTTP/1.", 7) != 0)
		return -1;
	*status = atoi(p + 9);
	*close_after = 0;
	for (h = memchr(p, '\n', (size_t)hlen) + 1; h < he; h = e + 1) {
		e = memchr(h, '\n', (size_t)(he + 2 - h));
		if (e == NULL)
			break;
		if (strncasecmp(h, "content-length:", 15) == 0)
			cl = atol(h + 15);
		else if (strncasecmp(h, "transfer-encoding:", 18) == 0 &&
		    memmem(h, (size_t)(e - h), "chunked", 7) != NULL)
			chunked = 1;
		else if (strncasecmp(h, "connection:", 11) == 0 &&
		    memmem(h, (size_t)(e - h), "close", 5) != NULL)
			*close_after = 1;
	}
	if (*status == 204 || *status == 304 || *status / 100 == 1)
		return hlen;
	if (chunked) {
		size_t	at = (size_t)hlen;

		for (;;) {
			const char	*le;
			unsigned long	 sz;

			le = memmem(p + at, n - at, "\r\n", 2);
			if (le == NULL)
				return 0;
			sz = strtoul(p + at, NULL, 16);
			at = (size_t)(le - p) + 2;
			if (sz == 0) {
				/* no trailers from nginx */
				return n >= at + 2 ? (long)(at + 2) : 0;
			}
			if (n < at + sz + 2)
				return 0;
			at += sz + 2;
		}
	}
	if (cl < 0) {
		*close_after = 1;
		return -1;	/* read-until-close: not used by our servers */
	}
	return (size_t)(hlen + cl) <= n ? hlen + cl : 0;
}

/* --- the load loop ----------------------------------------------------- */

enum cstate { C_IDLE, C_CONNECTING, C_WRITING, C_READING };

struct conn {
	int		 fd;
	enum cstate	 st;
	long		 idx;
	int64_t		 t0;
	char		 wbuf[REQ_MAX];
	size_t		 wlen, woff;
	char		*rbuf;
	size_t		 rlen;
};

struct worker {
	int		 id;
	pthread_t	 tid;
	int		 ep;
	struct conn	*c;
	int		 nc, maxc;
	double		 rate;		/* this thread's share */
	struct vec	 lat;		/* us */
	struct vec	 acked;		/* indexes answered 2xx */
	long		 sent, ok, non2xx, errors, late, reconnects;
	long		 status_hist[6];
	int64_t		 last_done;
};

static void
conn_close(struct worker *w, struct conn *c)
{
	if (c->fd >= 0) {
		epoll_ctl(w->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	c->fd = -1;
	c->st = C_IDLE;
	c->idx = -1;
	c->rlen = 0;
}

static int
conn_open(struct worker *w, struct conn *c)
{
	struct epoll_event	ev = { .events = EPOLLOUT | EPOLLIN };

	if ((c->fd = tcp_connect(o.port, 1)) < 0)
		return -1;
	ev.data.ptr = c;
	epoll_ctl(w->ep, EPOLL_CTL_ADD, c->fd, &ev);
	c->st = C_CONNECTING;
	return 0;
}

static void
conn_write(struct worker *w, struct conn *c)
{
	ssize_t	k;

	while (c->woff < c->wlen) {
		k = write(c->fd, c->wbuf + c->woff, c->wlen - c->woff);
		if (k < 0) {
			if (errno == EAGAIN) {
				struct epoll_event	e = {
					.events = EPOLLIN | EPOLLOUT };

				e.data.ptr = c;
				epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
				c->st = C_WRITING;
				return;
			}
			w->errors++;
			conn_close(w, c);
			return;
		}
		c->woff += (size_t)k;
	}
	if (c->st == C_WRITING) {
		struct epoll_event	e = { .events = EPOLLIN };

		e.data.ptr = c;
		epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
	}
	c->st = C_READING;
}

/* Starts request idx on an open idle connection (or one being opened). */
static void
conn_send(struct worker *w, struct conn *c, long idx)
{
	c->idx = idx;
	c->wlen = build_request(c->wbuf, sizeof(c->wbuf), idx);
	c->woff = 0;
	c->rlen = 0;
	c->t0 = now_ns();
	if (sent_at != NULL && idx < idx_cap)
		sent_at[idx] = c->t0;
	w->sent++;
	if (c->fd < 0 && conn_open(w, c) < 0) {
		w->errors++;
		c->idx = -1;
		return;
	}
	if (c->st == C_CONNECTING)
		return;		/* written once connected */
	c->st = C_READING;	/* C_WRITING only while blocked */
	conn_write(w, c);
}

static long
take_idx(void)
{
	long	i;

	if (atomic_load(&stopping))
		return -1;
	i = atomic_fetch_add(&next_idx, 1);
	if (o.max_req > 0 && i >= o.max_req) {
		atomic_store(&stopping, 1);	/* drain, then finish */
		return -1;
	}
	return i;
}

static void
conn_done(struct worker *w, struct conn *c, int status)
{
	int64_t	t = now_ns();

	vec_push(&w->lat, (uint32_t)((t - c->t0) / 1000));
	w->last_done = t;
	if ((t - t_start) / 1000000000 < PER_S_MAX)
		atomic_fetch_add(&done_per_s[(t - t_start) / 1000000000], 1);
	if (status >= 100 && status < 600)
		w->status_hist[status / 100]++;
	if (status / 100 == 2) {
		w->ok++;
		vec_push(&w->acked, (uint32_t)c->idx);
	} else {
		w->non2xx++;
	}
	c->st = C_IDLE;
	c->idx = -1;
}

static void
conn_read(struct worker *w, struct conn *c)
{
	ssize_t	k;
	long	total;
	int	status = 0, close_after = 0;

	for (;;) {
		if (c->rlen == RBUF_MAX) {
			w->errors++;
			conn_close(w, c);
			return;
		}
		k = read(c->fd, c->rbuf + c->rlen, RBUF_MAX - c->rlen);
		if (k < 0 && errno == EAGAIN)
			return;
		if (k <= 0) {
			/* closed by the server between requests is normal */
			if (c->st == C_READING) {
				w->errors++;
				c->idx = -1;
			}
			conn_close(w, c);
			w->reconnects++;
			return;
		}
		c->rlen += (size_t)k;
		total = response_complete(c->rbuf, c->rlen, &status,
		    &close_after);
		if (total < 0) {
			w->errors++;
			conn_close(w, c);
			return;
		}
		if (total > 0)
			break;
	}
	conn_done(w, c, status);
	if (close_after)
		conn_close(w, c);
	if (o.rate <= 0) {
		long	i = take_idx();

		if (i >= 0)
			conn_send(w, c, i);
	}
}

static void
conn_event(struct worker *w, struct conn *c, uint32_t ev)
{
	if (c->st == C_CONNECTING && (ev & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
		int		err = 0;
		socklen_t	l = sizeof(err);

		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		if (err != 0) {
			w->errors++;
			conn_close(w, c);
			return;
		}
		{
			struct epoll_event	e = { .events = EPOLLIN };

			e.data.ptr = c;
			epoll_ctl(w->ep, EPOLL_CTL_MOD, c->fd, &e);
		}
		if (c->idx >= 0) {
			c->st = C_READING;
			conn_write(w, c);
		} else {
			c->st = C_IDLE;
		}
		return;
	}
	if (c->st == C_WRITING && (ev & EPOLLOUT))
		conn_write(w, c);
	if (ev & (EPOLLIN | EPOLLERR | EPOLLHUP))
		conn_read(w, c);
}

static struct conn *
idle_conn(struct worker *w)
{
	int	i;

	for (i = 0; i < w->nc; i++)
		if (w->c[i].st == C_IDLE && w->c[i].idx < 0)
			return &w->c[i];
	if (w->nc < w->maxc) {
		struct conn	*c = &w->c[w->nc++];

		c->fd = -1;
		c->idx = -1;
		return c;
	}
	return NULL;
}

static int
busy(struct worker *w)
{
	int	i, n = 0;

	for (i = 0; i < w->nc; i++)
		if (w->c[i].idx >= 0)
			n++;
	return n;
}

static void *
worker_main(void *arg)
{
	struct worker		*w = arg;
	struct epoll_event	 evs[256];
	int64_t			 next, interval = 0, end, hard_end;
	int			 i, n, timeout;

	w->ep = epoll_create1(0);
	w->c = xmalloc((size_t)w->maxc * sizeof(*w->c));
	for (i = 0; i < w->maxc; i++) {
		w->c[i].fd = -1;
		w->c[i].idx = -1;
		w->c[i].rbuf = xmalloc(RBUF_MAX);
	}
	end = t_start + (int64_t)(o.duration * 1e9);
	hard_end = end + (int64_t)(o.drain * 1e9);
	next = t_start;
	if (w->rate > 0) {
		interval = (int64_t)(1e9 / w->rate);
		/* stagger the threads' schedules */
		next += interval * w->id / (o.threads ? o.threads : 1);
	} else {
		/* closed loop: every connection starts one request */
		for (i = 0; i < w->maxc; i++) {
			long		 k = take_idx();
			struct conn	*c;

			if (k < 0)
				break;
			c = idle_conn(w);
			conn_send(w, c, k);
		}
	}
	for (;;) {
		int64_t	t = now_ns();

		if (t >= end)
			atomic_store(&stopping, 1);
		if (atomic_load(&stopping) && (busy(w) == 0 || t >= hard_end))
			break;
		if (w->rate > 0 && !atomic_load(&stopping)) {
			while (next <= t) {
				struct conn	*c = idle_conn(w);
				long		 k;

				if (c == NULL)
					break;	/* all busy: fall behind */
				if ((k = take_idx()) < 0)
					break;
				if (t - next > 1000000)
					w->late++;
				conn_send(w, c, k);
				next += interval;
			}
			timeout = next > t ? (int)((next - t) / 1000000) : 0;
			if (timeout > 100)
				timeout = 100;
		} else {
			timeout = 50;
		}
		n = epoll_wait(w->ep, evs, 256, timeout);
		for (i = 0; i < n; i++)
			conn_event(w, evs[i].data.ptr, evs[i].events);
	}
	for (i = 0; i < w->nc; i++) {
		if (w->c[i].idx >= 0)
			w->errors++;	/* unanswered at the hard end */
		conn_close(w, &w->c[i]);
	}
	return NULL;
}

struct result {
	long	sent, ok, non2xx, errors, late, reconnects;
	long	status_hist[6];
	double	elapsed, rps, p50, p90, p99, max, cpu;
	struct vec	acked;
};

static void
run_workers(struct result *r)
{
	struct worker	*ws;
	struct vec	 all = { 0 };
	double		 cpu0 = cpu_seconds();
	int		 i, j, per;

	ws = xmalloc((size_t)o.threads * sizeof(*ws));
	per = (o.conns + o.threads - 1) / o.threads;
	t_start = now_ns();
	for (i = 0; i < o.threads; i++) {
		ws[i].id = i;
		ws[i].maxc = per;
		ws[i].rate = o.rate / o.threads;
		pthread_create(&ws[i].tid, NULL, worker_main, &ws[i]);
	}
	memset(r, 0, sizeof(*r));
	t_end = t_start;
	for (i = 0; i < o.threads; i++) {
		pthread_join(ws[i].tid, NULL);
		r->sent += ws[i].sent;
		r->ok += ws[i].ok;
		r->non2xx += ws[i].non2xx;
		r->errors += ws[i].errors;
		r->late += ws[i].late;
		r->reconnects += ws[i].reconnects;
		for (j = 0; j < 6; j++)
			r->status_hist[j] += ws[i].status_hist[j];
		if (ws[i].last_done > t_end)
			t_end = ws[i].last_done;
		for (size_t k = 0; k < ws[i].lat.n; k++)
			vec_push(&all, ws[i].lat.v[k]);
		for (size_t k = 0; k < ws[i].acked.n; k++)
			vec_push(&r->acked, ws[i].acked.v[k]);
	}
	r->cpu = cpu_seconds() - cpu0;
	qsort(all.v, all.n, sizeof(*all.v), cmp_u32);
	/* From the first send to the last answer: the drain counts too. */
	r->elapsed = (double)(t_end - t_start) / 1e9;
	r->rps = r->elapsed > 0 ? (double)all.n / r->elapsed : 0;
	r->p50 = pct(&all, 50) / 1000.0;
	r->p90 = pct(&all, 90) / 1000.0;
	r->p99 = pct(&all, 99) / 1000.0;
	r->max = all.n ? all.v[all.n - 1] / 1000.0 : 0;
	free(all.v);
}

static void
print_per_s(const struct result *r, FILE *f)
{
	long	i, n = (long)r->elapsed + (r->elapsed > (long)r->elapsed);

	if (n > PER_S_MAX)
		n = PER_S_MAX;
	fprintf(f, ",\"per_s\":[");
	for (i = 0; i < n; i++)
		fprintf(f, "%s%ld", i ? "," : "", atomic_load(&done_per_s[i]));
	fprintf(f, "]");
}

static void
print_result(const struct result *r, FILE *f)
{
	fprintf(f, "\"sent\":%ld,\"ok\":%ld,\"non2xx\":%ld,\"errors\":%ld,"
	    "\"status\":{\"1xx\":%ld,\"2xx\":%ld,\"3xx\":%ld,\"4xx\":%ld,"
	    "\"5xx\":%ld},\"reconnects\":%ld,\"late_sends\":%ld,"
	    "\"elapsed_s\":%.3f,\"rps\":%.1f,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
	    "\"p99_ms\":%.3f,\"max_ms\":%.3f,\"client_cpu_s\":%.3f",
	    r->sent, r->ok, r->non2xx, r->errors, r->status_hist[1],
	    r->status_hist[2], r->status_hist[3], r->status_hist[4],
	    r->status_hist[5], r->reconnects, r->late, r->elapsed, r->rps,
	    r->p50, r->p90, r->p99, r->max, r->cpu);
	print_per_s(r, f);
}

static void
write_acked(const struct result *r)
{
	FILE	*f;
	size_t	 i;

	if (o.acked_file == NULL)
		return;
	if ((f = fopen(o.acked_file, "w")) == NULL)
		die("cannot write %s", o.acked_file);
	for (i = 0; i < r->acked.n; i++)
		fprintf(f, "wamid.%s%u\n", o.wh_prefix, r->acked.v[i]);
	fclose(f);
}

/* --- WebSocket subscribers ---------------------------------------------- */

struct sub {
	int		 fd;
	char		*buf;
	size_t		 len;
	long		 frames, other;
	long long	 last_id;	/* the last frame's "id" (per tenant) */
};

static struct sub	*subs;
static uint8_t		*seen;		/* subs x idx_cap: frames seen */
static struct vec	 ws_lat;	/* us, first copy of each frame */
/* The same for webhooks sent in the first and second half of the run: a
 * relay falling behind shows as a later half slower than the first. */
static struct vec	 ws_lat_half[2];
static long		 ws_frames, ws_dups, ws_unknown;
/* Frames whose "id" was not the previous frame's + 1, on any subscriber:
 * the per-tenant numbering seen from the browser's side. */
static long		 ws_id_gaps;
static int64_t		 ws_last_frame;

static int
ws_open(struct sub *s)
{
	char	req[2048], resp[4096];
	size_t	n = 0;
	ssize_t	k;
	char	*he;

	if ((s->fd = tcp_connect(o.ws_port, 0)) < 0)
		return -1;
	/* The session cookie, as the inbox sends it (with our Origin): a
	 * URL carries no credential but a single-use ticket. */
	if (o.ws_session != NULL)
		k = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
		    "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\nCookie: session=%s\r\n"
		    "Origin: http://127.0.0.1:%d\r\n\r\n", o.ws_path,
		    o.ws_port, o.ws_session, o.ws_port);
	else
		k = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
		    "Host: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n", o.ws_path,
		    o.ws_port);
	if (k < 0 || (size_t)k >= sizeof(req))
		return -1;
	if (write(s->fd, req, (size_t)k) != k)
		return -1;
	for (;;) {
		k = read(s->fd, resp + n, sizeof(resp) - 1 - n);
		if (k <= 0)
			return -1;
		n += (size_t)k;
		resp[n] = '\0';
		if ((he = strstr(resp, "\r\n\r\n")) != NULL)
			break;
		if (n == sizeof(resp) - 1)
			return -1;
	}
	if (strncmp(resp, "HTTP/1.1 101", 12) != 0) {
		fprintf(stderr, "wa-bench: ws handshake: %.*s\n",
		    (int)strcspn(resp, "\r"), resp);
		return -1;
	}
	s->buf = xmalloc(RBUF_MAX);
	he += 4;
	s->len = n - (size_t)(he - resp);
	memcpy(s->buf, he, s->len);
	fcntl(s->fd, F_SETFL, fcntl(s->fd, F_GETFL) | O_NONBLOCK);
	return 0;
}

/* Frames start {"id":N,...} (wa_event_frame): a jump in N is an event the
 * subscriber never got. Frames of other shapes are not counted. */
static void
ws_frame_id(struct sub *s, const char *p, size_t n)
{
	static const char	pfx[] = "{\"id\":";
	char			 num[24];
	long long		 id;
	size_t			 k = sizeof(pfx) - 1, i;

	if (n <= k || memcmp(p, pfx, k) != 0)
		return;
	for (i = 0; i < sizeof(num) - 1 && k + i < n &&
	    isdigit((unsigned char)p[k + i]); i++)
		num[i] = p[k + i];
	if (i == 0)
		return;
	num[i] = '\0';
	id = strtoll(num, NULL, 10);
	if (s->last_id > 0 && id != s->last_id + 1)
		ws_id_gaps++;
	s->last_id = id;
}

static void
ws_frame(int si, const char *p, size_t n, int64_t t)
{
	static const char	pfx[] = "wamid.";
	char			 marker[128];
	const char		*m;
	long			 idx;
	size_t			 ml;

	ws_frames++;
	ws_last_frame = t;
	subs[si].frames++;
	ws_frame_id(&subs[si], p, n);
	if (o.ws_event != NULL && memmem(p, n, o.ws_event,
	    strlen(o.ws_event)) == NULL) {
		subs[si].other++;
		return;
	}
	ml = (size_t)snprintf(marker, sizeof(marker), "%s%s", pfx,
	    o.wh_prefix);
	if ((m = memmem(p, n, marker, ml)) == NULL) {
		subs[si].other++;
		return;
	}
	idx = strtol(m + ml, NULL, 10);
	if (idx < 0 || idx >= idx_cap || sent_at[idx] == 0) {
		ws_unknown++;
		return;
	}
	if (seen[(size_t)si * idx_cap + idx]++ > 0) {
		ws_dups++;
		return;
	}
	vec_push(&ws_lat, (uint32_t)((t - sent_at[idx]) / 1000));
	vec_push(&ws_lat_half[sent_at[idx] - t_start >=
	    (int64_t)(o.duration * 5e8)], (uint32_t)((t - sent_at[idx]) / 1000));
}

/* Parses whole frames from s->buf; returns -1 when the server closed. */
static int
ws_parse(int si, int64_t t)
{
	struct sub	*s = &subs[si];
	size_t		 at = 0;

	for (;;) {
		const unsigned char	*h = (unsigned char *)s->buf + at;
		size_t			 avail = s->len - at, hl = 2;
		uint64_t		 plen;
		int			 op;

		if (avail < 2)
			break;
		op = h[0] & 0x0f;
		plen = h[1] & 0x7f;
		if (plen == 126) {
			if (avail < 4)
				break;
			plen = (uint64_t)h[2] << 8 | h[3];
			hl = 4;
		} else if (plen == 127) {
			if (avail < 10)
				break;
			plen = 0;
			for (int i = 0; i < 8; i++)
				plen = plen << 8 | h[2 + i];
			hl = 10;
		}
		if (h[1] & 0x80)
			hl += 4;	/* servers never mask; be lenient */
		if (hl + plen > RBUF_MAX)
			return -1;
		if (avail < hl + plen)
			break;
		if (op == 8)
			return -1;
		if (op == 1 || op == 2 || op == 0)
			ws_frame(si, (const char *)h + hl, (size_t)plen, t);
		at += hl + (size_t)plen;
	}
	memmove(s->buf, s->buf + at, s->len - at);
	s->len -= at;
	return 0;
}

static void *
ws_reader(void *arg)
{
	struct epoll_event	 evs[128];
	int			 ep = epoll_create1(0), i, n;

	(void)arg;
	for (i = 0; i < o.subs; i++) {
		struct epoll_event	e = { .events = EPOLLIN };

		e.data.u32 = (uint32_t)i;
		epoll_ctl(ep, EPOLL_CTL_ADD, subs[i].fd, &e);
		if (subs[i].len > 0)
			ws_parse(i, now_ns());
	}
	while (atomic_load(&stopping) < 2) {
		n = epoll_wait(ep, evs, 128, 50);
		for (i = 0; i < n; i++) {
			int		 si = (int)evs[i].data.u32;
			struct sub	*s = &subs[si];
			ssize_t		 k;

			for (;;) {
				k = read(s->fd, s->buf + s->len,
				    RBUF_MAX - s->len);
				if (k <= 0)
					break;
				s->len += (size_t)k;
				if (ws_parse(si, now_ns()) < 0) {
					epoll_ctl(ep, EPOLL_CTL_DEL, s->fd,
					    NULL);
					break;
				}
			}
			if (k == 0) {
				fprintf(stderr, "wa-bench: subscriber %d "
				    "closed\n", si);
				epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
			}
		}
	}
	close(ep);
	return NULL;
}

/* -F: the webhooks' wamids every subscriber received, one a line. */
static void
write_seen(void)
{
	FILE	*f;
	long	 idx;
	int	 si;

	if (o.seen_file == NULL)
		return;
	if ((f = fopen(o.seen_file, "w")) == NULL)
		die("cannot write %s", o.seen_file);
	for (idx = 0; idx < idx_cap; idx++) {
		for (si = 0; si < o.subs; si++)
			if (seen[(size_t)si * idx_cap + idx] == 0)
				break;
		if (si == o.subs)
			fprintf(f, "wamid.%s%ld\n", o.wh_prefix, idx);
	}
	fclose(f);
}

static int
cmd_ws(void)
{
	struct result	 r;
	pthread_t	 rt;
	long		 lost = 0, i;
	int		 si;
	double		 cpu0;
	int64_t		 t, t_new;
	size_t		 last_n;

	if (o.subs <= 0 || o.ws_path == NULL || o.wh_secret == NULL)
		die("ws needs -S, -P and -W%s", "");
	if (o.ws_port == 0)
		o.ws_port = o.port;
	/* Open loop: rate x duration webhooks. Closed loop: as many as
	 * answers come, up to a bound the id tables are sized for. */
	if (o.rate > 0)
		o.max_req = (long)(o.rate * o.duration);
	else if (o.max_req <= 0)
		o.max_req = (long)(CLOSED_MAX_RPS * o.duration);
	idx_cap = o.max_req + 1000;
	sent_at = xmalloc((size_t)idx_cap * sizeof(*sent_at));
	seen = xmalloc((size_t)o.subs * (size_t)idx_cap);
	subs = xmalloc((size_t)o.subs * sizeof(*subs));
	for (si = 0; si < o.subs; si++)
		if (ws_open(&subs[si]) < 0)
			die("subscriber could not connect to %s", o.ws_path);
	usleep(200000);		/* nchan registers subscribers asynchronously */
	cpu0 = cpu_seconds();
	pthread_create(&rt, NULL, ws_reader, NULL);
	run_workers(&r);
	/* Wait for the last frames: until every acked one arrived at every
	 * subscriber, or the drain time passed with nothing new (late is
	 * not lost: an overloaded box delivers seconds behind), or a bound
	 * on the whole wait. */
	t = t_new = now_ns();
	last_n = ws_lat.n;
	for (;;) {
		if ((long)ws_lat.n >= r.ok * o.subs ||
		    now_ns() - t > (int64_t)(DRAIN_MAX_S * 1e9))
			break;
		if (ws_lat.n != last_n) {
			last_n = ws_lat.n;
			t_new = now_ns();
		} else if (now_ns() - t_new > (int64_t)(o.drain * 1e9))
			break;
		usleep(20000);
	}
	atomic_store(&stopping, 2);
	pthread_join(rt, NULL);
	for (size_t k = 0; k < r.acked.n; k++) {
		long	idx = r.acked.v[k];

		for (si = 0; si < o.subs; si++)
			if (seen[(size_t)si * idx_cap + idx] == 0)
				lost++;
	}
	qsort(ws_lat.v, ws_lat.n, sizeof(*ws_lat.v), cmp_u32);
	for (i = 0; i < 2; i++)
		qsort(ws_lat_half[i].v, ws_lat_half[i].n, sizeof(uint32_t),
		    cmp_u32);
	printf("{\"subscribers\":%d,\"rate\":%.0f,\"post\":{", o.subs, o.rate);
	print_result(&r, stdout);
	printf("},\"frames\":%ld,\"frames_expected\":%ld,\"matched\":%zu,"
	    "\"lost\":%ld,\"duplicated\":%ld,\"unknown\":%ld,"
	    "\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"max_ms\":%.3f,"
	    "\"p99_first_half_ms\":%.3f,\"p99_second_half_ms\":%.3f,"
	    "\"id_gaps\":%ld,\"client_cpu_s\":%.3f}\n", ws_frames,
	    r.ok * (long)o.subs, ws_lat.n, lost, ws_dups, ws_unknown,
	    pct(&ws_lat, 50) / 1000.0,
	    pct(&ws_lat, 99) / 1000.0,
	    ws_lat.n ? ws_lat.v[ws_lat.n - 1] / 1000.0 : 0,
	    pct(&ws_lat_half[0], 99) / 1000.0,
	    pct(&ws_lat_half[1], 99) / 1000.0, ws_id_gaps,
	    cpu_seconds() - cpu0);
	for (i = 0; i < o.subs; i++)
		close(subs[i].fd);
	write_acked(&r);
	write_seen();
	return 0;
}

static int
cmd_load(void)
{
	struct result	r;

	run_workers(&r);
	printf("{");
	print_result(&r, stdout);
	printf("}\n");
	write_acked(&r);
	return r.ok > 0 ? 0 : 1;
}

/* --- the canned, delayed Graph API -------------------------------------- */

static int		graph_delay_ms;
static atomic_long	graph_seq;
static long		graph_run;

static void *
graph_conn(void *arg)
{
	int	 fd = (int)(intptr_t)arg;
	char	*buf = xmalloc(RBUF_MAX);
	size_t	 n = 0;

	for (;;) {
		char		*he, out[1024], body[512];
		long		 cl = 0, hlen;
		ssize_t		 k;
		int		 bl, ol;
		struct timespec	 d;

		while ((he = memmem(buf, n, "\r\n\r\n", 4)) == NULL) {
			if (n == RBUF_MAX ||
			    (k = read(fd, buf + n, RBUF_MAX - n)) <= 0)
				goto done;
			n += (size_t)k;
		}
		hlen = he + 4 - buf;
		*he = '\0';
		for (char *h = buf; (h = strchr(h, '\n')) != NULL; h++) {
			if (strncasecmp(h + 1, "content-length:", 15) == 0)
				cl = atol(h + 16);
			if (strncasecmp(h + 1, "expect: 100-continue", 20) == 0)
				(void)!write(fd, "HTTP/1.1 100 Continue\r\n\r\n",
				    25);
		}
		/* Bodies are discarded, however large (media uploads). */
		while ((long)n < hlen + cl) {
			size_t	want = (size_t)(hlen + cl) - n;

			if (n == RBUF_MAX) {
				n = (size_t)hlen;	/* drop the middle */
				cl -= RBUF_MAX - hlen;
				want = (size_t)cl;
			}
			if (want > RBUF_MAX - n)
				want = RBUF_MAX - n;
			if ((k = read(fd, buf + n, want)) <= 0)
				goto done;
			n += (size_t)k;
		}
		d.tv_sec = graph_delay_ms / 1000;
		d.tv_nsec = (long)(graph_delay_ms % 1000) * 1000000;
		nanosleep(&d, NULL);
		bl = snprintf(body, sizeof(body), "{\"messaging_product\":"
		    "\"whatsapp\",\"contacts\":[{\"input\":\"19990000001\","
		    "\"wa_id\":\"19990000001\"}],\"messages\":[{\"id\":"
		    "\"wamid.graph%ld.%ld\"}]}", graph_run,
		    atomic_fetch_add(&graph_seq, 1));
		ol = snprintf(out, sizeof(out), "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\nContent-Length: %d\r\n"
		    "\r\n%s", bl, body);
		if (write(fd, out, (size_t)ol) != ol)
			goto done;
		memmove(buf, buf + hlen + cl, n - (size_t)(hlen + cl));
		n -= (size_t)(hlen + cl);
	}
done:
	close(fd);
	free(buf);
	return NULL;
}

static int
cmd_graph(void)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	int			ls, fd, one = 1;
	pthread_attr_t		attr;
	pthread_t		t;

	graph_run = (long)time(NULL);
	sa.sin_port = htons((uint16_t)o.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ls = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(ls, 1024) < 0)
		die("graph: cannot listen: %s", strerror(errno));
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	for (;;) {
		if ((fd = accept(ls, NULL, NULL)) < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, &attr, graph_conn,
		    (void *)(intptr_t)fd) != 0)
			close(fd);
	}
	return 0;
}

/* --- options ------------------------------------------------------------ */

static char *
read_file(const char *path, size_t *len)
{
	FILE	*f = fopen(path, "rb");
	char	*p;
	long	 n;

	if (f == NULL)
		die("cannot read %s", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	p = xmalloc((size_t)n + 1);
	if (fread(p, 1, (size_t)n, f) != (size_t)n)
		die("cannot read %s", path);
	fclose(f);
	*len = (size_t)n;
	return p;
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: wa-bench load -p PORT [-m METHOD] [-u PATH] [-H HDR]...\n"
	    "           [-b BODYFILE | -B BODY] [-c CONNS] [-t THREADS]\n"
	    "           [-d SECS] [-r RATE] [-n MAX]\n"
	    "           [-W secret:pnid:display:waba:prefix [-C CONTACTS]"
	    " [-A ACKED] [-s]]\n"
	    "       wa-bench ws (load options, with -W) -S SUBS -P PATH"
	    " [-K SESSION_JWT] [-E EVENT] [-F SEEN]\n"
	    "       wa-bench graph -p PORT [-D DELAY_MS]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	const char	*cmd;
	int		 ch;

	if (argc < 2)
		usage();
	cmd = argv[1];
	argv++;
	argc--;
	signal(SIGPIPE, SIG_IGN);
	while ((ch = getopt(argc, argv, "p:m:u:H:b:B:c:t:d:r:n:W:C:A:S:P:K:E:D:s"
	    "X:F:")) != -1) {
		switch (ch) {
		case 'p': o.port = atoi(optarg); break;
		case 'm': o.method = optarg; break;
		case 'u': o.path = optarg; break;
		case 'H':
			if (o.nheaders == HDR_MAX)
				usage();
			o.headers[o.nheaders++] = optarg;
			break;
		case 'b': o.body = read_file(optarg, &o.body_len); break;
		case 'B': o.body = optarg; o.body_len = strlen(optarg); break;
		case 'c': o.conns = atoi(optarg); break;
		case 't': o.threads = atoi(optarg); break;
		case 'd': o.duration = atof(optarg); break;
		case 'r': o.rate = atof(optarg); break;
		case 'n': o.max_req = atol(optarg); break;
		case 'W':
			o.wh_secret = strdup(optarg);
			o.wh_pnid = strchr(o.wh_secret, ':');
			if (o.wh_pnid == NULL)
				usage();
			*o.wh_pnid++ = '\0';
			if ((o.wh_display = strchr(o.wh_pnid, ':')) == NULL)
				usage();
			*o.wh_display++ = '\0';
			if ((o.wh_waba = strchr(o.wh_display, ':')) == NULL)
				usage();
			*o.wh_waba++ = '\0';
			if ((o.wh_prefix = strchr(o.wh_waba, ':')) == NULL)
				usage();
			*o.wh_prefix++ = '\0';
			o.method = "POST";
			break;
		case 'C': o.contacts = atoi(optarg); break;
		case 's': o.statuses = 1; break;
		case 'A': o.acked_file = optarg; break;
		case 'S': o.subs = atoi(optarg); break;
		case 'P': o.ws_path = optarg; break;
		case 'K': o.ws_session = optarg; break;
		case 'E': o.ws_event = optarg; break;
		case 'D': graph_delay_ms = atoi(optarg); break;
		case 'X': o.drain = atof(optarg); break;
		case 'F': o.seen_file = optarg; break;
		default: usage();
		}
	}
	if (o.threads < 1 || o.threads > THREADS_MAX)
		o.threads = 1;
	if (o.conns < o.threads)
		o.conns = o.threads;
	if (o.contacts < 1)
		o.contacts = 1;
	if (strcmp(cmd, "load") == 0)
		return cmd_load();
	if (strcmp(cmd, "ws") == 0)
		return cmd_ws();
	if (strcmp(cmd, "graph") == 0)
		return cmd_graph();
	usage();
	return 2;
}
