/* wactl/simulate.c: wactl simulate incoming: plays the customer's side.
 * Builds the webhook Meta would post for a message to a tenant's number,
 * signs it with WA_APP_SECRET and posts it to the local stack's /webhook.
 * Media files are first uploaded through the Graph API (the simulator in
 * a dev stack) with the tenant's token, so the media id is downloadable;
 * when that fails the message carries metadata only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "buf.h"
#include "conf.h"
#include "db.h"
#include "graph.h"
#include "json.h"
#include "phone.h"
#include "sig.h"
#include "util.h"
#include "wactl.h"

#define SIM_FILE_MAX	(16u << 20)

static const struct db_stmt tenant_number = { "wactl_sim_tenant",
	"SELECT phone_number_id, waba_id,"
	" coalesce(display_phone_number, phone_number_id), access_token"
	" FROM tenants WHERE id::text = $1" };

static const struct {
	const char	*ext, *mime;
} mimes[] = {
	{ ".jpg", "image/jpeg" }, { ".jpeg", "image/jpeg" },
	{ ".png", "image/png" }, { ".pdf", "application/pdf" },
	{ ".txt", "text/plain" }, { ".mp4", "video/mp4" },
	{ ".ogg", "audio/ogg; codecs=opus" }, { ".webp", "image/webp" },
	{ ".mp3", "audio/mpeg" },
};

/* The media options: option, Meta's type, the MIME type when the file
 * name says nothing, voice note. */
static const struct {
	const char	*opt, *type, *mime;
	int		 voice;
} media_opts[] = {
	{ "--image", "image", "image/jpeg", 0 },
	{ "--video", "video", "video/mp4", 0 },
	{ "--audio", "audio", "audio/mpeg", 0 },
	{ "--voice", "audio", "audio/ogg; codecs=opus", 1 },
	{ "--document", "document", "application/pdf", 0 },
	{ "--sticker", "sticker", "image/webp", 0 },
};

static const char *
mime_of(const char *path, const char *fallback)
{
	const char	*dot = strrchr(path, '.');
	size_t		 i;

	for (i = 0; dot != NULL && i < nitems(mimes); i++)
		if (strcasecmp(dot, mimes[i].ext) == 0)
			return mimes[i].mime;
	return fallback;
}

static size_t
on_body(char *p, size_t sz, size_t n, void *arg)
{
	return buf_append(arg, p, sz * n) == 0 ? sz * n : 0;
}

/* POSTs to url; the HTTP status, or -1. The reply lands in out. */
static long
post(CURL *c, const char *url, struct curl_slist *h, const char *body,
    curl_mime *form, struct buf *out)
{
	long	status = -1;

	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (form != NULL)
		curl_easy_setopt(c, CURLOPT_MIMEPOST, form);
	else
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, conf.graph_timeout_ms);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* Uploads the file as the tenant's number: Meta's media id, or NULL. */
static char *
upload(CURL *c, const char *pnid, const char *token, const char *path,
    const char *mime)
{
	char			 url[GRAPH_URL_MAX], auth[1024], rel[96];
	struct curl_slist	*h;
	curl_mime		*form = curl_mime_init(c);
	curl_mimepart		*part;
	struct buf		 out = BUF_INIT;
	struct json_object	*j;
	char			*id = NULL;

	snprintf(rel, sizeof(rel), "%s/media", pnid);
	graph_url(url, sizeof(url), rel);
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
	h = curl_slist_append(NULL, auth);
	part = curl_mime_addpart(form);
	curl_mime_name(part, "messaging_product");
	curl_mime_data(part, "whatsapp", CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(form);
	curl_mime_name(part, "type");
	curl_mime_data(part, mime, CURL_ZERO_TERMINATED);
	part = curl_mime_addpart(form);
	curl_mime_name(part, "file");
	curl_mime_filedata(part, path);
	curl_mime_type(part, mime);
	if (post(c, url, h, NULL, form, &out) == 200 &&
	    (j = json_tokener_parse(buf_str(&out))) != NULL) {
		if (json_str(j, "id") != NULL)
			id = xstrdup(json_str(j, "id"));
		json_object_put(j);
	}
	explicit_bzero(auth, sizeof(auth));
	curl_slist_free_all(h);
	curl_mime_free(form);
	buf_free(&out);
	return id;
}

static int
read_file(const char *path, struct buf *b)
{
	FILE	*f = fopen(path, "rb");
	char	 chunk[8192];
	size_t	 n;

	if (f == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		if (buf_append(b, chunk, n) != 0 || b->len > SIM_FILE_MAX)
			break;
	fclose(f);
	return b->len > SIM_FILE_MAX ? -1 : 0;
}

/* {"id", "mime_type", "sha256" (base64, as webhooks carry it), ...}. */
static struct json_object *
media_obj(CURL *c, struct db_res *t, const char *path, const char *kind,
    const char *fallback)
{
	struct json_object	*o;
	struct buf		 b = BUF_INIT;
	unsigned char		 md[SHA256_DIGEST_LENGTH];
	char			 b64[64], uuid[UUID_LEN + 1], *id;
	const char		*mime, *slash;

	if (read_file(path, &b) != 0) {
		buf_free(&b);
		return NULL;
	}
	mime = mime_of(path, fallback);
	SHA256((const unsigned char *)buf_str(&b), b.len, md);
	EVP_EncodeBlock((unsigned char *)b64, md, sizeof(md));
	if ((id = upload(c, db_val(t, 0, 0), db_val(t, 0, 3), path,
	    mime)) == NULL) {
		fprintf(stderr, "wactl: simulate: could not upload %s to the "
		    "Graph API; sending metadata only\n", path);
		uuid_new(uuid);
		id = xstrdup(uuid);
	}
	o = json_object_new_object();
	json_add_str(o, "mime_type", mime);
	json_add_str(o, "sha256", b64);
	json_add_str(o, "id", id);
	if (strcmp(kind, "document") == 0)
		json_add_str(o, "filename", (slash = strrchr(path, '/')) !=
		    NULL ? slash + 1 : path);
	free(id);
	buf_free(&b);
	return o;
}

/* The media option given, if any (*path set): its message object, or NULL
 * when the file cannot be read. */
static struct json_object *
media_opt(CURL *c, struct db_res *t, int argc, char **argv,
    const char **type, const char **path)
{
	struct json_object	*o;
	const char		*caption = opt(argc, argv, "--caption");
	size_t			 i;

	for (i = 0; i < nitems(media_opts); i++)
		if ((*path = opt(argc, argv, media_opts[i].opt)) != NULL)
			break;
	if (*path == NULL)
		return NULL;
	*type = media_opts[i].type;
	if ((o = media_obj(c, t, *path, *type, media_opts[i].mime)) == NULL)
		return NULL;
	if (strcmp(*type, "audio") == 0)
		json_add_bool(o, "voice", media_opts[i].voice);
	else if (strcmp(*type, "sticker") == 0)
		json_add_bool(o, "animated", 0);
	else if (caption != NULL)
		json_add_str(o, "caption", caption);
	return o;
}

/* The message object for the one content option given; NULL on error. */
static struct json_object *
content(CURL *c, struct db_res *t, int argc, char **argv, const char **type)
{
	struct json_object	*o = NULL, *p;
	const char		*v, *colon;
	double			 lat, lon;

	if ((o = media_opt(c, t, argc, argv, type, &v)) != NULL || v != NULL)
		return o;	/* NULL: the file is unreadable */
	if ((v = opt(argc, argv, "--text")) != NULL) {
		o = json_object_new_object();
		*type = "text";
		json_add_str(o, "body", v);
	} else if ((v = opt(argc, argv, "--location")) != NULL &&
	    sscanf(v, "%lf,%lf", &lat, &lon) == 2) {
		*type = "location";
		o = json_object_new_object();
		json_object_object_add(o, "latitude", json_object_new_double(lat));
		json_object_object_add(o, "longitude",
		    json_object_new_double(lon));
	} else if ((v = opt(argc, argv, "--button-reply")) != NULL &&
	    (colon = strchr(v, ':')) != NULL && colon != v) {
		*type = "interactive";
		o = json_object_new_object();
		json_add_str(o, "type", "button_reply");
		p = json_object_new_object();
		json_object_object_add(p, "id",
		    json_object_new_string_len(v, (int)(colon - v)));
		json_add_str(p, "title", colon + 1);
		json_object_object_add(o, "button_reply", p);
	}
	return o;
}

static struct json_object *
envelope(struct db_res *t, const char *from, const char *name,
    struct json_object *msg)
{
	struct json_object	*root, *entry, *change, *value, *md, *ct, *pr;

	md = json_object_new_object();
	json_add_str(md, "display_phone_number", db_val(t, 0, 2));
	json_add_str(md, "phone_number_id", db_val(t, 0, 0));
	pr = json_object_new_object();
	json_add_str(pr, "name", name);
	ct = json_object_new_object();
	json_object_object_add(ct, "profile", pr);
	json_add_str(ct, "wa_id", from);
	value = json_object_new_object();
	json_add_str(value, "messaging_product", "whatsapp");
	json_object_object_add(value, "metadata", md);
	json_object_object_add(value, "contacts", json_object_new_array());
	json_object_array_add(json_object_object_get(value, "contacts"), ct);
	json_object_object_add(value, "messages", json_object_new_array());
	json_object_array_add(json_object_object_get(value, "messages"), msg);
	change = json_object_new_object();
	json_add_str(change, "field", "messages");
	json_object_object_add(change, "value", value);
	entry = json_object_new_object();
	json_add_str(entry, "id", db_val(t, 0, 1));
	json_object_object_add(entry, "changes", json_object_new_array());
	json_object_array_add(json_object_object_get(entry, "changes"), change);
	root = json_object_new_object();
	json_add_str(root, "object", "whatsapp_business_account");
	json_object_object_add(root, "entry", json_object_new_array());
	json_object_array_add(json_object_object_get(root, "entry"), entry);
	return root;
}

static struct json_object *
message(struct json_object *body, const char *from, const char *type,
    const char *reply_to, char wamid[64])
{
	struct json_object	*m = json_object_new_object(), *ctx;
	char			 uuid[UUID_LEN + 1], ts[24];

	uuid_new(uuid);
	snprintf(wamid, 64, "wamid.SIM%s", uuid);
	snprintf(ts, sizeof(ts), "%lld", (long long)time(NULL));
	if (reply_to != NULL) {
		ctx = json_object_new_object();
		json_add_str(ctx, "id", reply_to);
		json_object_object_add(m, "context", ctx);
	}
	json_add_str(m, "from", from);
	json_add_str(m, "id", wamid);
	json_add_str(m, "timestamp", ts);
	json_add_str(m, "type", type);
	json_object_object_add(m, type, body);
	return m;
}

/* Signs and posts the webhook; 0 when the stack answered 200. */
static int
deliver(CURL *c, struct json_object *root)
{
	const char		*body = json_object_to_json_string_ext(root,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char			 sig[SIG_HEX_LEN + 1], hdr[128], url[128];
	struct curl_slist	*h;
	struct buf		 out = BUF_INIT;
	long			 st;

	sig_hmac_hex(conf.app_secret, body, strlen(body), sig);
	snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: sha256=%s", sig);
	snprintf(url, sizeof(url), "http://127.0.0.1:%ld/webhook",
	    conf.http_port);
	h = curl_slist_append(NULL, "Content-Type: application/json");
	h = curl_slist_append(h, hdr);
	st = post(c, url, h, body, NULL, &out);
	curl_slist_free_all(h);
	buf_free(&out);
	if (st != 200)
		return fail("simulate: %s answered %ld", url, st);
	return 0;
}

int
cmd_simulate_incoming(struct db *db, int argc, char **argv)
{
	const char		*tenant = opt(argc, argv, "--tenant");
	const char		*name = opt(argc, argv, "--name"), *type = NULL;
	const char		*v[] = { tenant };
	char			 from[PHONE_MAX + 1], wamid[64];
	struct json_object	*body, *root;
	struct db_res		*t;
	CURL			*c;
	int			 rc;

	if (tenant == NULL || phone_normalize(opt(argc, argv, "--from") ?
	    opt(argc, argv, "--from") : "", from, sizeof(from)) != 0)
		return fail("simulate incoming: --tenant ID and --from PHONE "
		    "are required");
	if ((t = db_query(db, &tenant_number, 1, v)) == NULL ||
	    db_rows(t) != 1) {
		db_res_free(t);
		return fail("simulate incoming: no tenant %s", tenant);
	}
	c = curl_easy_init();
	if ((body = content(c, t, argc, argv, &type)) == NULL) {
		rc = fail("simulate incoming: give one of --text T, --image "
		    "FILE, --video FILE, --audio FILE, --voice FILE, "
		    "--document FILE, --sticker FILE, --location LAT,LON, "
		    "--button-reply ID:TITLE (files must be readable)");
		goto out;
	}
	root = envelope(t, from, name != NULL ? name : "Test Customer",
	    message(body, from, type, opt(argc, argv, "--reply-to"), wamid));
	if ((rc = deliver(c, root)) == 0)
		printf("%s\n", wamid);
	json_object_put(root);
out:
	curl_easy_cleanup(c);
	db_res_free(t);
	return rc;
}
