/* pushd/relay.c: POSTs each frame to nginx's publisher location over one
 * kept-alive libcurl handle. nginx closes a kept-alive connection after
 * keepalive_requests or keepalive_timeout; libcurl notices and opens a new
 * one on the next request, and a request lost that way is retried by the
 * caller like any other failure. */
#include "relay.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "log.h"
#include "util.h"

#define RELAY_TIMEOUT_MS	5000
#define RELAY_CONNECT_MS	1000
#define RELAY_URL_MAX		1024

struct relay {
	CURL	*curl;
	char	*base;		/* WA_PUBLISH_URL */
	char	 sep;		/* '?' or '&' before id= */
	char	 url[RELAY_URL_MAX];
	char	 err[CURL_ERROR_SIZE + 64];
	char	 curl_err[CURL_ERROR_SIZE];
};

/* nchan answers with channel statistics: nobody reads them. */
static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

struct relay *
relay_open(const char *url)
{
	struct relay	*rl = xcalloc(1, sizeof(*rl));

	if ((rl->curl = curl_easy_init()) == NULL)
		fatal("relay: curl_easy_init failed");
	rl->base = xstrdup(url);
	rl->sep = strchr(url, '?') != NULL ? '&' : '?';
	/* Set once: the handle keeps them, and its connection, across
	 * requests. */
	curl_easy_setopt(rl->curl, CURLOPT_POST, 1L);
	curl_easy_setopt(rl->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(rl->curl, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(rl->curl, CURLOPT_TIMEOUT_MS, (long)RELAY_TIMEOUT_MS);
	curl_easy_setopt(rl->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)RELAY_CONNECT_MS);
	curl_easy_setopt(rl->curl, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(rl->curl, CURLOPT_ERRORBUFFER, rl->curl_err);
	curl_easy_setopt(rl->curl, CURLOPT_PROTOCOLS_STR, "http,https");
	/* Straight to nginx: an http_proxy in the environment must not
	 * reroute (or leak) the publisher's traffic. */
	curl_easy_setopt(rl->curl, CURLOPT_PROXY, "");
	return rl;
}

void
relay_close(struct relay *rl)
{
	if (rl == NULL)
		return;
	curl_easy_cleanup(rl->curl);
	free(rl->base);
	free(rl);
}

const char *
relay_error(const struct relay *rl)
{
	return rl->err;
}

/* Appends to *h; on failure *h is left as it was, still to be freed. */
static int
header(struct curl_slist **h, const char *line)
{
	struct curl_slist	*t;

	if ((t = curl_slist_append(*h, line)) == NULL)
		return -1;
	*h = t;
	return 0;
}

enum relay_rc
relay_publish(struct relay *rl, const char *channel, const char *seq,
    const char *frame, size_t len)
{
	struct curl_slist	*h = NULL;
	char			 eid[48];
	long			 status = 0;
	CURLcode		 cc;
	enum relay_rc		 rc = RELAY_RETRY;

	rl->err[0] = rl->curl_err[0] = '\0';
	if ((size_t)snprintf(rl->url, sizeof(rl->url), "%s%cid=%s", rl->base,
	    rl->sep, channel) >= sizeof(rl->url)) {
		snprintf(rl->err, sizeof(rl->err), "publish URL too long");
		return RELAY_RETRY;
	}
	snprintf(eid, sizeof(eid), "Event-Id: %s", seq);
	/* JSON, never octet-stream: nchan sends binary frames for that.
	 * "Expect:" keeps libcurl from waiting for a 100 Continue. */
	if (header(&h, "Content-Type: application/json") != 0 ||
	    header(&h, eid) != 0 || header(&h, "Expect:") != 0) {
		snprintf(rl->err, sizeof(rl->err), "out of memory");
		goto out;
	}
	curl_easy_setopt(rl->curl, CURLOPT_URL, rl->url);
	curl_easy_setopt(rl->curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(rl->curl, CURLOPT_POSTFIELDS, frame);
	curl_easy_setopt(rl->curl, CURLOPT_POSTFIELDSIZE, (long)len);
	if ((cc = curl_easy_perform(rl->curl)) != CURLE_OK) {
		snprintf(rl->err, sizeof(rl->err), "%s", rl->curl_err[0] != '\0' ?
		    rl->curl_err : curl_easy_strerror(cc));
		goto out;
	}
	curl_easy_getinfo(rl->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status >= 200 && status <= 299)
		rc = RELAY_OK;
	else if (status == 413)
		rc = RELAY_TOO_LARGE;
	else
		snprintf(rl->err, sizeof(rl->err), "HTTP %ld", status);
out:
	/* The handle must not keep a pointer to the freed list. */
	curl_easy_setopt(rl->curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(h);
	return rc;
}
