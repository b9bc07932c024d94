/* tests/unit/test_relay.c: wa-pushd's HTTP/1.1 publisher against a
 * scripted server on loopback: the request it writes, the answers it
 * understands (Content-Length, chunked, until close), connection reuse,
 * a kept-alive connection nginx closed meanwhile, and pipelined batches
 * (every answer read in order; a refusal or a close ends the batch). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"
#include "relay_reply.h"

/* What the server does with one request. */
struct turn {
	const char	*answer;	/* NULL: close without answering */
	int		 close_after;	/* close once answered */
};

struct server {
	int			 lfd, port;
	const struct turn	*turns;
	int			 nturns;
	int			 accepts;
	int			 most_waiting;	/* requests read in one go */
	char			 last[4096];	/* the last request, whole */
	char			 in[65536];	/* read, not yet taken */
	size_t			 nin;
	pthread_t		 tid;
};

/* The length of the first whole request in s->in, or 0. */
static size_t
whole_request(const struct server *s)
{
	const char	*end, *cl;
	size_t		 n;

	if ((end = strstr(s->in, "\r\n\r\n")) == NULL ||
	    (cl = strstr(s->in, "Content-Length: ")) == NULL || cl > end)
		return 0;
	n = (size_t)(end + 4 - s->in) + strtoul(cl + 16, NULL, 10);
	return s->nin >= n ? n : 0;
}

/* Takes one request (head and Content-Length body) into s->last; what
 * follows it (pipelined requests) stays in s->in. */
static int
read_request(int fd, struct server *s)
{
	size_t		 n, left;
	ssize_t		 r;
	int		 waiting;
	const char	*p;

	while ((n = whole_request(s)) == 0) {
		if ((r = read(fd, s->in + s->nin, sizeof(s->in) - 1 -
		    s->nin)) <= 0)
			return -1;
		s->nin += (size_t)r;
		s->in[s->nin] = '\0';
	}
	for (waiting = 0, p = s->in; (p = strstr(p, " HTTP/1.1\r\n")) !=
	    NULL; p++)
		waiting++;
	if (waiting > s->most_waiting)
		s->most_waiting = waiting;
	snprintf(s->last, sizeof(s->last), "%.*s", (int)n, s->in);
	left = s->nin - n;
	memmove(s->in, s->in + n, left + 1);
	s->nin = left;
	return 0;
}

/* Closes as nginx does (a lingering close): the answers sent reach the
 * client even when it had pipelined more requests, which a plain close()
 * with unread input would reset. */
static void
hang_up(int fd)
{
	char	junk[4096];

	shutdown(fd, SHUT_WR);
	while (read(fd, junk, sizeof(junk)) > 0)
		;
	close(fd);
}

static void *
serve(void *arg)
{
	struct server	*s = arg;
	int		 fd = -1, i;

	for (i = 0; i < s->nturns; i++) {
		if (fd < 0) {
			if ((fd = accept(s->lfd, NULL, NULL)) < 0)
				return NULL;
			s->accepts++;
			s->nin = 0;	/* a new connection's bytes only */
			s->in[0] = '\0';
		}
		if (read_request(fd, s) != 0) {
			close(fd);
			fd = -1;
			i--;		/* the client gave up: same turn again */
			continue;
		}
		if (s->turns[i].answer != NULL)
			(void)!write(fd, s->turns[i].answer,
			    strlen(s->turns[i].answer));
		if (s->turns[i].answer == NULL || s->turns[i].close_after) {
			hang_up(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

static void
server_start(struct server *s, const struct turn *turns, int n)
{
	struct sockaddr_in	sa = { .sin_family = AF_INET };
	socklen_t		sl = sizeof(sa);

	memset(s, 0, sizeof(*s));
	s->turns = turns;
	s->nturns = n;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_true((s->lfd = socket(AF_INET, SOCK_STREAM, 0)) >= 0);
	assert_int_equal(bind(s->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->lfd, 8), 0);
	assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->tid, NULL, serve, s), 0);
}

static void
server_stop(struct server *s)
{
	pthread_join(s->tid, NULL);
	close(s->lfd);
}

static struct relay *
relay_to(const struct server *s, const char *path)
{
	char	url[128];

	snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s->port, path);
	return relay_open(url);
}

#define OK201	"HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\n" \
		"Content-Length: 11\r\n\r\nqueued: 1\r\n"

static void
relay_writes_the_request_and_keeps_the_connection(void **state)
{
	static const struct turn turns[] = { { OK201, 0 }, { OK201, 0 } };
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 2);
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish(rl, "chan-1", "7", "{\"id\":7}", 8),
	    RELAY_OK);
	assert_int_equal(relay_publish(rl, "chan-1", "8", "{\"id\":8}", 8),
	    RELAY_OK);
	server_stop(&s);
	assert_int_equal(s.accepts, 1);
	assert_non_null(strstr(s.last, "POST /pub?id=chan-1 HTTP/1.1\r\n"));
	assert_non_null(strstr(s.last, "\r\nEvent-Id: 8\r\n"));
	assert_non_null(strstr(s.last,
	    "\r\nContent-Type: application/json\r\n"));
	assert_non_null(strstr(s.last, "\r\n\r\n{\"id\":8}"));
	relay_close(rl);
}

static void
relay_deletes_channels_with_the_publisher_key(void **state)
{
	static const struct turn turns[] = {
		{ "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", 0 },
		{ "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0 },
		{ "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n", 0 },
	};
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 3);
	rl = relay_to(&s, "/pub");
	relay_set_key(rl, "k3y");
	assert_int_equal(relay_delete(rl, "session.abc"), RELAY_OK);
	/* No such channel: nothing left to close. */
	assert_int_equal(relay_delete(rl, "session.abc"), RELAY_OK);
	/* A refused key is never taken for done. */
	assert_int_equal(relay_delete(rl, "session.abc"), RELAY_RETRY);
	server_stop(&s);
	assert_non_null(strstr(s.last,
	    "DELETE /pub?id=session.abc HTTP/1.1\r\n"));
	assert_non_null(strstr(s.last, "\r\nX-WA-Publish-Key: k3y\r\n"));
	assert_non_null(strstr(s.last, "\r\nContent-Length: 0\r\n"));
	assert_null(strstr(s.last, "Event-Id"));
	relay_close(rl);
}

static void
relay_reads_chunked_and_until_close_answers(void **state)
{
	static const struct turn turns[] = {
		{ "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		  "4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n", 0 },
		{ "HTTP/1.0 202 Accepted\r\n\r\nno length", 1 },
		{ OK201, 0 },
	};
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 3);
	rl = relay_to(&s, "/pub?x=1");
	assert_int_equal(relay_publish(rl, "c", "1", "{}", 2), RELAY_OK);
	assert_int_equal(relay_publish(rl, "c", "2", "{}", 2), RELAY_OK);
	assert_int_equal(relay_publish(rl, "c", "3", "{}", 2), RELAY_OK);
	server_stop(&s);
	/* The body-until-close answer ended that connection. */
	assert_int_equal(s.accepts, 2);
	assert_non_null(strstr(s.last, "POST /pub?x=1&id=c HTTP/1.1\r\n"));
	relay_close(rl);
}

static void
relay_sends_again_when_a_kept_connection_was_closed(void **state)
{
	/* The second request finds the connection closed unanswered (as
	 * after nginx's keepalive_requests): it goes again on a new one. */
	static const struct turn turns[] = {
		{ OK201, 0 }, { NULL, 0 }, { OK201, 0 },
	};
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 3);
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish(rl, "c", "1", "{}", 2), RELAY_OK);
	assert_int_equal(relay_publish(rl, "c", "2", "{}", 2), RELAY_OK);
	server_stop(&s);
	assert_int_equal(s.accepts, 2);
	assert_non_null(strstr(s.last, "Event-Id: 2\r\n"));
	relay_close(rl);
}

static void
relay_maps_statuses_and_unreachable_nginx(void **state)
{
	static const struct turn turns[] = {
		{ "HTTP/1.1 413 Request Entity Too Large\r\n"
		  "Content-Length: 0\r\n\r\n", 0 },
		{ "HTTP/1.1 500 Internal Server Error\r\n"
		  "Content-Length: 0\r\nConnection: close\r\n\r\n", 1 },
	};
	struct server	 s;
	struct relay	*rl;
	int		 port;

	(void)state;
	server_start(&s, turns, 2);
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish(rl, "c", "1", "{}", 2),
	    RELAY_TOO_LARGE);
	assert_int_equal(relay_publish(rl, "c", "2", "{}", 2), RELAY_RETRY);
	assert_string_equal(relay_error(rl), "HTTP 500");
	server_stop(&s);
	port = s.port;
	relay_close(rl);
	/* Nobody listens there any more. */
	s.port = port;
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish(rl, "c", "3", "{}", 2), RELAY_RETRY);
	assert_non_null(strstr(relay_error(rl), "connect"));
	relay_close(rl);
}

static void
relay_refuses_a_malformed_chunked_answer(void **state)
{
	/* A size line that starts with CRLF and has none after it (the
	 * parser once read past the end of that and crashed), signs and
	 * 0x prefixes strtoul() would take, a chunk not closed by CRLF. */
	static const char *const bodies[] = {
		"\r\n5", "\r\n5\r\nhello\r\n0\r\n\r\n",
		"-1\r\nx\r\n0\r\n\r\n", "0x2\r\nab\r\n0\r\n\r\n",
		" 2\r\nab\r\n0\r\n\r\n", "2\r\nabXY0\r\n\r\n",
		"fffffffffffffffff\r\n",
	};
	struct turn	 turns[7];
	char		 answers[7][160];
	struct server	 s;
	struct relay	*rl;
	size_t		 i;

	(void)state;
	for (i = 0; i < 7; i++) {
		snprintf(answers[i], sizeof(answers[i]), "HTTP/1.1 200 OK\r\n"
		    "Transfer-Encoding: chunked\r\n\r\n%s", bodies[i]);
		turns[i].answer = answers[i];
		turns[i].close_after = 1;
	}
	server_start(&s, turns, 7);
	rl = relay_to(&s, "/pub");
	for (i = 0; i < 7; i++) {
		assert_int_equal(relay_publish(rl, "c", "1", "{}", 2),
		    RELAY_RETRY);
		assert_string_equal(relay_error(rl), "bad chunked body");
	}
	server_stop(&s);
	relay_close(rl);
}

static struct relay_msg	five[] = {
	{ "c", "1", "{\"id\":1}", 8 }, { "c", "2", "{\"id\":2}", 8 },
	{ "c", "3", "{\"id\":3}", 8 }, { "c", "4", "{\"id\":4}", 8 },
	{ "c", "5", "{\"id\":5}", 8 },
};

#define OK200	"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" \
		"2\r\n{}\r\n0\r\n\r\n"

static void
relay_pipelines_a_batch_and_reads_every_answer(void **state)
{
	static const struct turn turns[] = {
		{ OK201, 0 }, { OK200, 0 }, { OK201, 0 }, { OK200, 0 },
		{ OK201, 0 },
	};
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 5);
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish_many(rl, five, 5), 5);
	server_stop(&s);
	/* All five were written before the first answer came. */
	assert_int_equal(s.accepts, 1);
	assert_int_equal(s.most_waiting, 5);
	assert_non_null(strstr(s.last, "\r\nEvent-Id: 5\r\n"));
	assert_non_null(strstr(s.last, "\r\n\r\n{\"id\":5}"));
	relay_close(rl);
}

static void
relay_pipeline_stops_at_the_first_refusal(void **state)
{
	/* The third is refused: the first two count, the rest go again
	 * from the third, on a new connection. */
	static const struct turn turns[] = {
		{ OK201, 0 }, { OK201, 0 },
		{ "HTTP/1.1 500 Internal Server Error\r\n"
		  "Content-Length: 0\r\n\r\n", 1 },
		{ OK201, 0 }, { OK201, 0 }, { OK201, 0 },
	};
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 6);
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish_many(rl, five, 5), 2);
	assert_string_equal(relay_error(rl), "HTTP 500");
	assert_int_equal(relay_publish_many(rl, five + 2, 3), 3);
	server_stop(&s);
	assert_int_equal(s.accepts, 2);
	assert_non_null(strstr(s.last, "\r\nEvent-Id: 5\r\n"));
	relay_close(rl);
}

static void
relay_pipeline_ends_where_nginx_closes_the_connection(void **state)
{
	/* keepalive_requests reached after the second: nginx says so and
	 * reads no more; nothing failed, the rest go on a new connection. */
	static const struct turn turns[] = {
		{ OK201, 0 },
		{ "HTTP/1.1 201 Created\r\nConnection: close\r\n"
		  "Content-Length: 0\r\n\r\n", 1 },
		{ OK201, 0 }, { OK201, 0 }, { OK201, 0 },
	};
	struct server	 s;
	struct relay	*rl;

	(void)state;
	server_start(&s, turns, 5);
	rl = relay_to(&s, "/pub");
	assert_int_equal(relay_publish_many(rl, five, 5), 2);
	assert_string_equal(relay_error(rl), "");
	assert_int_equal(relay_publish_many(rl, five + 2, 3), 3);
	server_stop(&s);
	assert_int_equal(s.accepts, 2);
	relay_close(rl);
}

static void
relay_reply_takes_headers_from_the_header_block_only(void **state)
{
	/* Until close: the body's "Connection: close" line is no header. */
	static const char ans[] = "HTTP/1.1 200 OK\r\nContent-Length: 19"
	    "\r\n\r\nConnection: close\r\n";
	static const char bad_status[] = "HTTP/1.1 20x OK\r\n\r\n";
	static const char bad_length[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Length: -1\r\n\r\n";
	struct relay_reply	 r;
	size_t			 n = strlen(ans);

	(void)state;
	assert_int_equal(relay_reply_parse(ans, n - 1, 0, &r), 0);
	assert_int_equal(relay_reply_parse(ans, n, 0, &r), 1);
	assert_int_equal(r.status, 200);
	assert_true(r.keep);
	assert_int_equal(relay_reply_parse(bad_status, strlen(bad_status), 0,
	    &r), -1);
	assert_string_equal(r.err, "not an HTTP answer");
	assert_int_equal(relay_reply_parse(bad_length, strlen(bad_length), 0,
	    &r), -1);
	assert_string_equal(r.err, "bad Content-Length");
}

static void
relay_reply_says_where_each_answer_ends(void **state)
{
	/* Two pipelined answers in one read: the first ends where the
	 * second begins, whatever its framing. */
	static const char *const firsts[] = { OK201, OK200,
	    "HTTP/1.1 204 No Content\r\n\r\n" };
	struct relay_reply	 r;
	char			 two[512];
	size_t			 i, n;

	(void)state;
	for (i = 0; i < 3; i++) {
		n = strlen(firsts[i]);
		snprintf(two, sizeof(two), "%s%s", firsts[i], OK201);
		assert_int_equal(relay_reply_parse(two, strlen(two), 0, &r), 1);
		assert_int_equal(r.len, n);
		assert_int_equal(relay_reply_parse(two + n, strlen(two) - n, 0,
		    &r), 1);
		assert_int_equal(r.status, 201);
		assert_int_equal(r.len, strlen(OK201));
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(
		    relay_writes_the_request_and_keeps_the_connection),
		cmocka_unit_test(relay_reads_chunked_and_until_close_answers),
		cmocka_unit_test(
		    relay_deletes_channels_with_the_publisher_key),
		cmocka_unit_test(
		    relay_sends_again_when_a_kept_connection_was_closed),
		cmocka_unit_test(relay_maps_statuses_and_unreachable_nginx),
		cmocka_unit_test(relay_refuses_a_malformed_chunked_answer),
		cmocka_unit_test(
		    relay_reply_takes_headers_from_the_header_block_only),
		cmocka_unit_test(
		    relay_pipelines_a_batch_and_reads_every_answer),
		cmocka_unit_test(relay_pipeline_stops_at_the_first_refusal),
		cmocka_unit_test(
		    relay_pipeline_ends_where_nginx_closes_the_connection),
		cmocka_unit_test(relay_reply_says_where_each_answer_ends),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
