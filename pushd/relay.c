/* pushd/relay.c: POSTs frames to nginx's publisher location over one
 * kept-alive HTTP/1.1 connection. The publisher is nginx on this machine,
 * over plain HTTP, and every request is the same shape, so this is a small
 * client of its own rather than libcurl, whose dozen system calls and
 * bookkeeping per request made wa-pushd the slow end of the relay.
 *
 * Neither push-stream nor nchan takes more than one message per request
 * (push-stream's publisher reads one body; several channel ids get the
 * same message), so a batch is pipelined instead: up to RELAY_PIPELINE
 * requests in one sendmsg(), then their answers, which nginx sends in
 * order. A round trip per frame, and the wait while nginx writes each
 * frame to its subscribers, are paid once per batch.
 *
 * nginx closes a kept-alive connection after keepalive_requests or
 * keepalive_timeout: requests that find the connection closed before any
 * answer are sent again once on a new one. Anything else that fails is
 * left to the caller, which retries with backoff. */
#include "relay.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <unistd.h>

#include "log.h"
#include "relay_reply.h"
#include "util.h"

#define RELAY_TIMEOUT_MS	5000	/* per read or write */
#define RELAY_CONNECT_MS	1000
#define RELAY_HEAD_MAX		2048	/* our request line and headers */
#define RELAY_RESP_MAX		16384	/* nginx's answers, headers and body */

struct relay {
	char	*host;		/* as in the URL, for Host: */
	char	*port;
	char	*path;		/* "/pub" or "/pub?x=y" */
	char	 sep;		/* '?' or '&' before id= */
	char	*key;		/* X-WA-Publish-Key: the publisher's secret */
	int	 fd;		/* -1: not connected */
	char	 heads[RELAY_PIPELINE * RELAY_HEAD_MAX];
	struct iovec iov[2 * RELAY_PIPELINE];
	char	 resp[RELAY_RESP_MAX];
	size_t	 rlen;		/* bytes in resp: answers not yet taken */
	char	 err[256];
};

/* http://host[:port][/path]: 0, or -1 (the URL is not one we can use). */
static int
parse_url(struct relay *rl, const char *url)
{
	const char	*h, *p, *slash;
	size_t		 hl;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	h = url + 7;
	slash = h + strcspn(h, "/?");
	if ((p = memchr(h, ':', (size_t)(slash - h))) == NULL)
		p = slash;
	hl = (size_t)(p - h);
	if (hl == 0 || (p < slash && slash - p < 2))
		return -1;
	rl->host = xstrndup(h, hl);
	rl->port = p < slash ? xstrndup(p + 1, (size_t)(slash - p - 1)) :
	    xstrdup("80");
	rl->path = *slash == '/' ? xstrdup(slash) : xstrdup("/");
	rl->sep = strchr(rl->path, '?') != NULL ? '&' : '?';
	return 0;
}

struct relay *
relay_open(const char *url)
{
	struct relay	*rl = xcalloc(1, sizeof(*rl));

	rl->fd = -1;
	rl->key = xstrdup("");
	if (parse_url(rl, url) != 0)
		fatal("WA_PUBLISH_URL %s: want http://host[:port]/path (nginx "
		    "on this machine, plain HTTP)", url);
	return rl;
}

static void
disconnect(struct relay *rl)
{
	if (rl->fd >= 0)
		close(rl->fd);
	rl->fd = -1;
	rl->rlen = 0;
}

void
relay_close(struct relay *rl)
{
	if (rl == NULL)
		return;
	disconnect(rl);
	free(rl->host);
	free(rl->port);
	free(rl->path);
	free(rl->key);
	free(rl);
}

const char *
relay_error(const struct relay *rl)
{
	return rl->err;
}

static int
fail(struct relay *rl, const char *what, int e)
{
	snprintf(rl->err, sizeof(rl->err), "%s: %s", what,
	    e != 0 ? strerror(e) : "closed by nginx");
	disconnect(rl);
	return -1;
}

/* A non-blocking connect bounded by RELAY_CONNECT_MS, then a blocking
 * socket whose reads and writes time out after RELAY_TIMEOUT_MS. */
static int
connect_one(const struct addrinfo *ai)
{
	struct timeval	tv = { RELAY_TIMEOUT_MS / 1000,
			    (RELAY_TIMEOUT_MS % 1000) * 1000 };
	struct pollfd	pfd;
	socklen_t	sl = sizeof(int);
	int		fd, e = 0, one = 1;

	if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
	    SOCK_CLOEXEC, ai->ai_protocol)) < 0)
		return -1;
	if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
		pfd.fd = fd;
		pfd.events = POLLOUT;
		if (errno != EINPROGRESS ||
		    poll(&pfd, 1, RELAY_CONNECT_MS) != 1 ||
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &sl) != 0 ||
		    e != 0) {
			close(fd);
			errno = e != 0 ? e : ETIMEDOUT;
			return -1;
		}
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;
}

static int
reconnect(struct relay *rl)
{
	struct addrinfo	 hints, *res, *ai;
	int		 rc, e = ECONNREFUSED;

	disconnect(rl);
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(rl->host, rl->port, &hints, &res)) != 0) {
		snprintf(rl->err, sizeof(rl->err), "%s: %s", rl->host,
		    gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL && rl->fd < 0; ai = ai->ai_next)
		if ((rl->fd = connect_one(ai)) < 0)
			e = errno;
	freeaddrinfo(res);
	return rl->fd >= 0 ? 0 : fail(rl, "connect", e);
}

/* Writes all of iov: 0, or -1 with errno set. */
static int
write_all(int fd, struct iovec *iov, int n)
{
	struct msghdr	m;
	ssize_t		w;

	while (n > 0) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		if ((w = sendmsg(fd, &m, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Reads more of the answer: bytes read, 0 at EOF, -1 on error. */
static ssize_t
read_more(struct relay *rl)
{
	ssize_t	r;

	if (rl->rlen >= sizeof(rl->resp) - 1) {
		errno = EMSGSIZE;
		return -1;
	}
	do
		r = read(rl->fd, rl->resp + rl->rlen,
		    sizeof(rl->resp) - 1 - rl->rlen);
	while (r < 0 && errno == EINTR);
	if (r > 0) {
		rl->rlen += (size_t)r;
		rl->resp[rl->rlen] = '\0';
	}
	return r;
}

/* Reads the next whole answer: its status, or -1. *keep is 0 when nginx
 * will close the connection after it. Bytes after it are the next
 * pipelined answer's: they stay in resp. */
static int
read_answer(struct relay *rl, int *keep, int *got_any)
{
	struct relay_reply	rep;
	ssize_t			r = 1;
	int			done;

	*got_any = rl->rlen > 0;
	while ((done = relay_reply_parse(rl->resp, rl->rlen, r == 0, &rep))
	    == 0) {
		if (r == 0)
			return fail(rl, "read", 0);
		if ((r = read_more(rl)) < 0)
			return fail(rl, "read", errno);
		*got_any |= r > 0;
	}
	if (done < 0) {
		snprintf(rl->err, sizeof(rl->err), "%s", rep.err);
		disconnect(rl);
		return -1;
	}
	rl->rlen -= rep.len;
	memmove(rl->resp, rl->resp + rep.len, rl->rlen);
	rl->resp[rl->rlen] = '\0';
	*keep = rep.keep;
	return rep.status;
}

/* The head of one request, at dst (cap bytes): its length, or -1. A
 * DELETE has no body, no Event-Id and no Content-Type. */
static int
request_head(struct relay *rl, char *dst, size_t cap, const char *method,
    const char *channel, const char *seq, size_t len)
{
	int	n;

	n = snprintf(dst, cap,
	    "%s %s%cid=%s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "X-WA-Publish-Key: %s\r\n"
	    /* JSON, never octet-stream: nchan sends binary frames for it. */
	    "%s%s%s"
	    "Content-Length: %zu\r\n\r\n",
	    method, rl->path, rl->sep, channel, rl->host, rl->port, rl->key,
	    seq != NULL ? "Content-Type: application/json\r\nEvent-Id: " : "",
	    seq != NULL ? seq : "", seq != NULL ? "\r\n" : "", len);
	return n < 0 || (size_t)n >= cap ? -1 : n;
}

/* Writes the n requests at once, then reads their answers in order: how
 * many leading ones nginx accepted (2xx). *status is the first other
 * answer's status, -1 when it did not come, or 0 when nginx closed the
 * connection after an accepted one (the rest were never read: send them
 * again at once). *unanswered: nothing at all came back (a kept-alive
 * connection nginx had closed: safe to send again). After a refusal the
 * connection is dropped with the answers after it: nginx may have taken
 * some of those, and they go again, later, in order. */
static int
pipeline(struct relay *rl, const char *method, const struct relay_msg *m,
    int n, int *status, int *unanswered)
{
	size_t	off = 0;
	int	i, hl, st, keep = 1, got_any = 0;

	*unanswered = 1;
	*status = -1;
	for (i = 0; i < n; i++) {
		if ((hl = request_head(rl, rl->heads + off, sizeof(rl->heads) -
		    off, method, m[i].channel, m[i].seq, m[i].len)) < 0) {
			snprintf(rl->err, sizeof(rl->err),
			    "request head too long");
			*unanswered = 0;
			return 0;
		}
		rl->iov[2 * i].iov_base = rl->heads + off;
		rl->iov[2 * i].iov_len = (size_t)hl;
		rl->iov[2 * i + 1].iov_base = (void *)m[i].frame;
		rl->iov[2 * i + 1].iov_len = m[i].len;
		off += (size_t)hl;
	}
	if (write_all(rl->fd, rl->iov, 2 * n) != 0) {
		fail(rl, "write", errno);
		return 0;
	}
	for (i = 0; i < n; i++) {
		st = read_answer(rl, &keep, &got_any);
		if (i == 0)
			*unanswered = st < 0 && !got_any;
		if (st < 200 || st > 299) {
			*status = st;
			disconnect(rl);
			return i;
		}
		if (!keep) {
			disconnect(rl);
			*status = 0;
			return i + 1;
		}
	}
	return n;
}

/* pipeline() on the kept connection, or a new one; once more on a new one
 * when a kept-alive one nginx has just closed fails without an answer. */
static int
send_all(struct relay *rl, const char *method, const struct relay_msg *m,
    int n, int *status)
{
	int	done, unanswered, fresh;

	rl->err[0] = '\0';
	do {
		fresh = rl->fd < 0;
		if (fresh && reconnect(rl) != 0) {
			*status = -1;
			return 0;
		}
		done = pipeline(rl, method, m, n, status, &unanswered);
	} while (done == 0 && *status < 0 && unanswered && !fresh);
	if (done < n && *status > 0)
		snprintf(rl->err, sizeof(rl->err), "HTTP %d", *status);
	return done;
}

int
relay_publish_many(struct relay *rl, const struct relay_msg *m, int n)
{
	int	status;

	if (n > RELAY_PIPELINE)
		n = RELAY_PIPELINE;
	return send_all(rl, "POST", m, n, &status);
}

/* One request: its status, or -1. */
static int
request(struct relay *rl, const char *method, const struct relay_msg *m)
{
	int	status;

	return send_all(rl, method, m, 1, &status) == 1 ? 200 : status;
}

enum relay_rc
relay_publish(struct relay *rl, const char *channel, const char *seq,
    const char *frame, size_t len)
{
	struct relay_msg	m = { channel, seq, frame, len };
	int			status = request(rl, "POST", &m);

	if (status >= 200 && status <= 299)
		return RELAY_OK;
	if (status == 413)
		return RELAY_TOO_LARGE;
	return RELAY_RETRY;
}

enum relay_rc
relay_delete(struct relay *rl, const char *channel)
{
	struct relay_msg	m = { channel, NULL, "", 0 };
	int			status = request(rl, "DELETE", &m);

	/* 404: no such channel, so no subscriber to close. */
	if ((status >= 200 && status <= 299) || status == 404)
		return RELAY_OK;
	return RELAY_RETRY;
}

void
relay_set_key(struct relay *rl, const char *key)
{
	free(rl->key);
	rl->key = xstrdup(key);
}
