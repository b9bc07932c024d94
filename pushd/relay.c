/* pushd/relay.c: POSTs each frame to nginx's publisher location over one
 * kept-alive HTTP/1.1 connection. The publisher is nginx on this machine,
 * over plain HTTP, and every request is the same shape, so this is a small
 * client of its own rather than libcurl: one sendmsg() and a read or two
 * per frame, against libcurl's dozen system calls and its bookkeeping,
 * which made wa-pushd the slow end of the relay.
 *
 * nginx closes a kept-alive connection after keepalive_requests or
 * keepalive_timeout: a request that finds the connection closed before
 * any answer is sent again once on a new one. Anything else that fails is
 * RELAY_RETRY, which the caller retries with backoff. */
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
#define RELAY_RESP_MAX		16384	/* nginx's answer, headers and body */

struct relay {
	char	*host;		/* as in the URL, for Host: */
	char	*port;
	char	*path;		/* "/pub" or "/pub?x=y" */
	char	 sep;		/* '?' or '&' before id= */
	char	*key;		/* X-WA-Publish-Key: the publisher's secret */
	int	 fd;		/* -1: not connected */
	char	 head[RELAY_HEAD_MAX];
	char	 resp[RELAY_RESP_MAX];
	size_t	 rlen;		/* bytes in resp */
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

/* Reads one whole answer: its status, or -1. *keep is 0 when nginx will
 * close the connection after it. */
static int
read_answer(struct relay *rl, int *keep, int *got_any)
{
	struct relay_reply	rep;
	ssize_t			r;
	int			done;

	rl->rlen = 0;
	rl->resp[0] = '\0';
	*got_any = 0;
	do {
		if ((r = read_more(rl)) < 0)
			return fail(rl, "read", errno);
		*got_any |= r > 0;
		if ((done = relay_reply_parse(rl->resp, rl->rlen, r == 0,
		    &rep)) < 0) {
			snprintf(rl->err, sizeof(rl->err), "%s", rep.err);
			disconnect(rl);
			return -1;
		}
		if (done == 0 && r == 0)
			return fail(rl, "read", 0);
	} while (done == 0);
	*keep = rep.keep;
	return rep.status;
}

/* The head of one request: its length, or -1. A DELETE has no body, no
 * Event-Id and no Content-Type. */
static int
request_head(struct relay *rl, const char *method, const char *channel,
    const char *seq, size_t len)
{
	int	n;

	n = snprintf(rl->head, sizeof(rl->head),
	    "%s %s%cid=%s HTTP/1.1\r\nHost: %s:%s\r\n"
	    "X-WA-Publish-Key: %s\r\n"
	    /* JSON, never octet-stream: nchan sends binary frames for it. */
	    "%s%s%s"
	    "Content-Length: %zu\r\n\r\n",
	    method, rl->path, rl->sep, channel, rl->host, rl->port, rl->key,
	    seq != NULL ? "Content-Type: application/json\r\nEvent-Id: " : "",
	    seq != NULL ? seq : "", seq != NULL ? "\r\n" : "", len);
	return n < 0 || (size_t)n >= sizeof(rl->head) ? -1 : n;
}

/* One request and its answer on the current connection: the status, or
 * -1. *unanswered is set when nothing at all came back (a kept-alive
 * connection nginx had closed: safe to send again). */
static int
exchange(struct relay *rl, const char *method, const char *channel,
    const char *seq, const char *frame, size_t len, int *unanswered)
{
	struct iovec	iov[2];
	int		n, status, keep = 1, got_any = 0;

	*unanswered = 1;
	if ((n = request_head(rl, method, channel, seq, len)) < 0) {
		snprintf(rl->err, sizeof(rl->err), "request head too long");
		*unanswered = 0;
		return -1;
	}
	iov[0].iov_base = rl->head;
	iov[0].iov_len = (size_t)n;
	iov[1].iov_base = (void *)frame;
	iov[1].iov_len = len;
	if (write_all(rl->fd, iov, len > 0 ? 2 : 1) != 0)
		return fail(rl, "write", errno);
	status = read_answer(rl, &keep, &got_any);
	*unanswered = status < 0 && !got_any;
	if (status >= 0 && !keep)
		disconnect(rl);
	return status;
}

/* One request, once more on a new connection when a kept-alive one that
 * nginx has just closed fails without an answer: the status, or -1. */
static int
request(struct relay *rl, const char *method, const char *channel,
    const char *seq, const char *frame, size_t len)
{
	int	status = -1, unanswered = 0, fresh;

	rl->err[0] = '\0';
	do {
		fresh = rl->fd < 0;
		if (fresh && reconnect(rl) != 0)
			return -1;
		status = exchange(rl, method, channel, seq, frame, len,
		    &unanswered);
	} while (status < 0 && unanswered && !fresh);
	if (status >= 0 && (status < 200 || status > 299))
		snprintf(rl->err, sizeof(rl->err), "HTTP %d", status);
	return status;
}

enum relay_rc
relay_publish(struct relay *rl, const char *channel, const char *seq,
    const char *frame, size_t len)
{
	int	status = request(rl, "POST", channel, seq, frame, len);

	if (status >= 200 && status <= 299)
		return RELAY_OK;
	if (status == 413)
		return RELAY_TOO_LARGE;
	return RELAY_RETRY;
}

enum relay_rc
relay_delete(struct relay *rl, const char *channel)
{
	int	status = request(rl, "DELETE", channel, NULL, "", 0);

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
