/* shared/http.c: libcurl with the options every call needs: timeouts, no
 * signals (threads), a User-Agent (Meta's media CDN wants one), replies
 * capped in size. */
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "log.h"

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	struct buf	*b = arg;

	if (b->len + sz * n > HTTP_RESP_MAX || buf_append(b, p, sz * n) != 0)
		return 0;	/* aborts the transfer: CURLE_WRITE_ERROR */
	return sz * n;
}

/* Retry-After, when it is a number of seconds (the HTTP-date form is
 * left alone: Meta sends seconds, if anything). */
static size_t
on_header(char *p, size_t sz, size_t n, void *arg)
{
	struct http_resp	*resp = arg;
	static const char	 name[] = "Retry-After:";
	size_t			 len = sz * n;
	char			 v[32], *end;
	long			 secs;

	if (len > sizeof(name) - 1 && len - (sizeof(name) - 1) < sizeof(v) &&
	    strncasecmp(p, name, sizeof(name) - 1) == 0) {
		memcpy(v, p + sizeof(name) - 1, len - (sizeof(name) - 1));
		v[len - (sizeof(name) - 1)] = '\0';
		secs = strtol(v, &end, 10);
		if (end != v && secs > 0 && secs < 86400)
			resp->retry_after = secs;
	}
	return len;
}

static enum http_err
classify(CURLcode cc)
{
	switch (cc) {
	case CURLE_OK:
		return HTTP_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return HTTP_ETIMEOUT;
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
		return HTTP_ECONNECT;
	case CURLE_WRITE_ERROR:
		return HTTP_ETOOBIG;
	default:
		return HTTP_EOTHER;
	}
}

int
http_do(void *handle, const struct http_req *req, struct http_resp *resp)
{
	CURL			*curl = handle;
	struct curl_slist	*h = NULL;
	char			 line[2048];
	const char		*ct = NULL;
	CURLcode		 cc;

	memset(resp, 0, sizeof(*resp));
	curl_easy_reset(curl);	/* clears options, keeps connections */
	if (req->bearer != NULL) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s",
		    req->bearer);
		h = curl_slist_append(h, line);
	}
	if (req->content_type != NULL) {
		snprintf(line, sizeof(line), "Content-Type: %s",
		    req->content_type);
		h = curl_slist_append(h, line);
	}
	h = curl_slist_append(h, "Expect:");	/* no 100-continue round trip */
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, req->method);
	if (strcmp(req->method, "GET") == 0)
		curl_easy_setopt(curl, CURLOPT_HTTPGET, 1L);
	if (req->body != NULL) {
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, req->body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)req->body_len);
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, HTTP_USER_AGENT);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    req->connect_timeout_ms);
	curl_easy_setopt(curl, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp->body);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, resp);
	cc = curl_easy_perform(curl);
	curl_slist_free_all(h);
	resp->err = classify(cc);
	if (cc != CURLE_OK) {
		/* The URL is logged without its query: it may carry secrets. */
		log_warn("http: %s %.*s: %s", req->method,
		    (int)strcspn(req->url, "?"), req->url,
		    curl_easy_strerror(cc));
		return -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp->status);
	curl_easy_getinfo(curl, CURLINFO_TOTAL_TIME, &resp->total_ms);
	resp->total_ms *= 1000.0;
	if (curl_easy_getinfo(curl, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
	    ct != NULL)
		snprintf(resp->content_type, sizeof(resp->content_type), "%s",
		    ct);
	return 0;
}

void
http_resp_free(struct http_resp *resp)
{
	buf_free(&resp->body);
}
