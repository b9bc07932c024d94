/* shared/wa_msg_lists.c: the list-shaped message types of wa_msg.c: contact
 * cards, catalog and product lists, templates (reference §2.3.9, 2.3.14-17). */
#include "wa_msg_int.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <json-c/json.h>

#include "json.h"
#include "util.h"
#include "wa_msg.h"

#define BODY_MAX	1024
#define HEADER_MAX	60
#define SKU_MAX		100
#define SECTION_TITLE_MAX 24
#define SECTIONS_MAX	10
#define ITEMS_MAX	30
#define CONTACTS_MAX	257

/* An object whose keys are all in allowed and whose values are strings. */
static int
strings_obj(struct wa_msg *m, struct json_object *o, const char *path,
    const char *const *allowed)
{
	char	p[96];

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return wa_msg_fail(m, "%s: must be an object", path);
	json_object_object_foreach(o, k, v) {
		if (v != NULL && !json_object_is_type(v, json_type_string))
			return wa_msg_fail(m,
			    "%s.%s: must be a string", path, k);
	}
	snprintf(p, sizeof(p), "%s.", path);
	return wa_msg_keys(m, o, p, allowed);
}

static int
check_card(struct wa_msg *m, struct json_object *c, size_t i)
{
	static const char *const card[] = { "name", "birthday", "phones",
	    "emails", "urls", "addresses", "org", NULL };
	static const char *const name[] = { "formatted_name", "first_name",
	    "last_name", "middle_name", "suffix", "prefix", NULL };
	static const char *const phones[] = { "phone", "type", "wa_id", NULL };
	static const char *const emails[] = { "email", "type", NULL };
	static const char *const urls[] = { "url", "type", NULL };
	static const char *const addrs[] = { "street", "city", "state", "zip",
	    "country", "country_code", "type", NULL };
	static const char *const org[] = { "company", "department", "title",
	    NULL };
	static const struct { const char *key; const char *const *keys; }
	    lists[] = { { "phones", phones }, { "emails", emails },
	    { "urls", urls }, { "addresses", addrs } };
	struct json_object	*l;
	const char		*s;
	char			 p[64];
	size_t			 k, j;

	snprintf(p, sizeof(p), "contacts[%zu].", i);
	if (c == NULL || !json_object_is_type(c, json_type_object))
		return wa_msg_fail(m, "contacts[%zu]: must be an object", i);
	if (wa_msg_keys(m, c, p, card) != 0)
		return -1;
	snprintf(p, sizeof(p), "contacts[%zu].name", i);
	if (strings_obj(m, wa_msg_field(c, "name"), p, name) != 0)
		return -1;
	s = json_str(json_obj(c, "name"), "formatted_name");
	if (s == NULL || *s == '\0')
		return wa_msg_fail(m,
		    "contacts[%zu].name.formatted_name: required", i);
	s = json_str(c, "birthday");
	if (wa_msg_field(c, "birthday") != NULL && (s == NULL ||
	    strlen(s) != 10 ||
	    s[4] != '-' || s[7] != '-'))
		return wa_msg_fail(m,
		    "contacts[%zu].birthday: must be YYYY-MM-DD", i);
	for (k = 0; k < nitems(lists); k++) {
		if ((l = wa_msg_field(c, lists[k].key)) == NULL)
			continue;
		if (!json_object_is_type(l, json_type_array))
			return wa_msg_fail(m,
			    "contacts[%zu].%s: must be an array", i,
			    lists[k].key);
		for (j = 0; j < json_object_array_length(l); j++) {
			snprintf(p, sizeof(p), "contacts[%zu].%s[%zu]", i,
			    lists[k].key, j);
			if (strings_obj(m, json_object_array_get_idx(l, j), p,
			    lists[k].keys) != 0)
				return -1;
		}
	}
	snprintf(p, sizeof(p), "contacts[%zu].org", i);
	if (wa_msg_field(c, "org") != NULL &&
	    strings_obj(m, wa_msg_field(c, "org"), p,
	    org) != 0)
		return -1;
	return 0;
}

int
wa_msg_lists_contact(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*cards;
	size_t			 i;

	if (wa_msg_arr(m, req, "contacts", 1, CONTACTS_MAX, &cards) != 0)
		return -1;
	for (i = 0; i < json_object_array_length(cards); i++)
		if (check_card(m, json_object_array_get_idx(cards, i), i) != 0)
			return -1;
	m->text = json_str(json_obj(json_object_array_get_idx(cards, 0),
	    "name"), "formatted_name");
	wa_msg_envelope(m, "contacts");
	/* Meta's card schema as is: replace the placeholder object. */
	json_object_object_add(m->payload, "contacts", json_object_get(cards));
	return 0;
}

/* --- catalog and products -------------------------------------------- */

int
wa_msg_lists_catalog(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*it, *action;
	const char		*body, *footer, *sku;

	if (wa_msg_str(m, req, "", "body", 1, BODY_MAX, &body) != 0 ||
	    wa_msg_str(m, req, "", "footer", 0, HEADER_MAX, &footer) != 0 ||
	    wa_msg_str(m, req, "", "thumbnail_product_sku", 0, SKU_MAX,
	    &sku) != 0)
		return -1;
	m->text = body;
	it = wa_msg_interactive(m, "catalog_message");
	wa_msg_add_text(it, "body", body);
	wa_msg_add_text(it, "footer", footer);
	action = wa_msg_add_obj(it, "action");
	json_add_str(action, "name", "catalog_message");
	if (sku != NULL)
		json_add_str(wa_msg_add_obj(action, "parameters"),
		    "thumbnail_product_retailer_id", sku);
	return 0;
}

static int
catalog_ref(struct wa_msg *m, struct json_object *req, struct json_object *a)
{
	const char	*cat;

	if (wa_msg_str(m, req, "", "catalog_id", 0, 64, &cat) != 0)
		return -1;
	if (cat != NULL)
		json_add_str(a, "catalog_id", cat);
	m->needs_catalog = cat == NULL;
	return 0;
}

int
wa_msg_lists_product(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*it, *action;
	const char		*body, *footer, *sku;

	if (wa_msg_str(m, req, "", "sku", 1, SKU_MAX, &sku) != 0 ||
	    wa_msg_str(m, req, "", "body", 0, BODY_MAX, &body) != 0 ||
	    wa_msg_str(m, req, "", "footer", 0, HEADER_MAX, &footer) != 0)
		return -1;
	m->text = body;
	it = wa_msg_interactive(m, "product");
	wa_msg_add_text(it, "body", body);
	wa_msg_add_text(it, "footer", footer);
	action = wa_msg_add_obj(it, "action");
	if (catalog_ref(m, req, action) != 0)
		return -1;
	json_add_str(action, "product_retailer_id", sku);
	return 0;
}

/* One section: {title, skus[]} -> {title, product_items[]}. */
static int
product_section(struct wa_msg *m, struct json_object *s, size_t i,
    size_t *items, struct json_object *out)
{
	static const char *const keys[] = { "title", "skus", NULL };
	struct json_object	*skus, *arr, *sku, *item, *o;
	const char		*title;
	char			 p[32];
	size_t			 j, n;

	snprintf(p, sizeof(p), "product_sections[%zu].", i);
	if (s == NULL || !json_object_is_type(s, json_type_object))
		return wa_msg_fail(m,
		    "product_sections[%zu]: must be an object", i);
	if (wa_msg_keys(m, s, p, keys) != 0 || wa_msg_str(m, s, p, "title", 1,
	    SECTION_TITLE_MAX, &title) != 0)
		return -1;
	skus = wa_msg_field(s, "skus");
	if (skus == NULL || !json_object_is_type(skus, json_type_array) ||
	    (n = json_object_array_length(skus)) == 0)
		return wa_msg_fail(m,
		    "%sskus: a non-empty array is required", p);
	if ((*items += n) > ITEMS_MAX)
		return wa_msg_fail(m,
		    "%sskus: at most %d products in all sections",
		    p, ITEMS_MAX);
	o = json_object_new_object();
	json_object_array_add(out, o);
	json_add_str(o, "title", title);
	arr = json_object_new_array();
	json_object_object_add(o, "product_items", arr);
	for (j = 0; j < n; j++) {
		sku = json_object_array_get_idx(skus, j);
		if (sku == NULL ||
		    !json_object_is_type(sku, json_type_string) ||
		    json_object_get_string_len(sku) == 0 ||
		    wa_msg_chars(json_object_get_string(sku)) > SKU_MAX)
			return wa_msg_fail(m, "%sskus[%zu]: a SKU of 1 to %d "
			    "characters", p, j, SKU_MAX);
		item = json_object_new_object();
		json_add_str(item, "product_retailer_id",
		    json_object_get_string(sku));
		json_object_array_add(arr, item);
	}
	return 0;
}

int
wa_msg_lists_products(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*secs, *it, *action, *out, *h;
	const char		*header, *body, *footer;
	size_t			 i, items = 0;

	if (wa_msg_str(m, req, "", "header", 0, HEADER_MAX, &header) != 0 ||
	    wa_msg_str(m, req, "", "body", 1, BODY_MAX, &body) != 0 ||
	    wa_msg_str(m, req, "", "footer", 0, HEADER_MAX, &footer) != 0 ||
	    wa_msg_arr(m, req, "product_sections", 1, SECTIONS_MAX, &secs) != 0)
		return -1;
	m->text = body;
	it = wa_msg_interactive(m, "product_list");
	h = wa_msg_add_obj(it, "header");
	wa_msg_add_text(it, "body", body);
	wa_msg_add_text(it, "footer", footer);
	action = wa_msg_add_obj(it, "action");
	if (catalog_ref(m, req, action) != 0)
		return -1;
	out = json_object_new_array();
	json_object_object_add(action, "sections", out);
	for (i = 0; i < json_object_array_length(secs); i++)
		if (product_section(m, json_object_array_get_idx(secs, i), i,
		    &items, out) != 0)
			return -1;
	/* Meta requires a text header here: default to the first title. */
	json_add_str(h, "type", "text");
	json_add_str(h, "text", header != NULL ? header :
	    json_str(json_object_array_get_idx(out, 0), "title"));
	return 0;
}

/* --- templates -------------------------------------------------------- */

static int
in_list(const char *s, const char *const *list)
{
	for (; *list != NULL; list++)
		if (strcasecmp(s, *list) == 0)
			return 1;
	return 0;
}

static int
template_param(struct wa_msg *m, struct json_object *prm, const char *p,
    size_t text_max)
{
	static const char *const types[] = { "text", "currency", "date_time",
	    "image", "video", "document", "location", "payload", "action",
	    "coupon_code", "limited_time_offer", "order_status", "product",
	    NULL };
	const char	*type, *s;

	if (prm == NULL || !json_object_is_type(prm, json_type_object))
		return wa_msg_fail(m, "%s: must be an object", p);
	if ((type = json_str(prm, "type")) == NULL || !in_list(type, types))
		return wa_msg_fail(m, "%s.type: must be one of text, currency, "
		    "date_time, image, video, document, location, payload, "
		    "action, coupon_code, ...", p);
	if (wa_msg_field(prm, type) == NULL)
		return wa_msg_fail(m,
		    "%s.%s: required for a %s parameter", p, type,
		    type);
	if (strcmp(type, "text") == 0 && ((s = json_str(prm, "text")) ==
	    NULL || wa_msg_chars(s) > text_max))
		return wa_msg_fail(m,
		    "%s.text: a string of at most %zu characters",
		    p, text_max);
	/* Our media uuid (from /upload/media) is resolved to Meta's id like
	 * a media send's: the first one; links and Meta's ids go as given. */
	if ((strcmp(type, "image") == 0 || strcmp(type, "video") == 0 ||
	    strcmp(type, "document") == 0) && m->media_id == NULL &&
	    (s = json_str(json_obj(prm, type), "id")) != NULL &&
	    uuid_valid(s)) {
		m->media_id = s;
		m->media_type = type;
		m->media_slot = json_obj(prm, type);
	}
	return 0;
}

static int
template_component(struct wa_msg *m, struct json_object *c, size_t i,
    int body_only, unsigned *indexes)
{
	static const char *const types[] = { "header", "body", "button",
	    "carousel", "limited_time_offer", NULL };
	static const char *const subs[] = { "quick_reply", "url", "copy_code",
	    "flow", "catalog", "mpm", "voice_call", "order_details",
	    "reminder", NULL };
	static const char *const keys[] = { "type", "sub_type", "index",
	    "parameters", "cards", NULL };
	struct json_object	*prms, *idx;
	const char		*type, *sub, *is;
	char			 p[64], pp[96];
	int64_t			 index = -1;
	size_t			 j;

	snprintf(p, sizeof(p), "components[%zu]", i);
	if (c == NULL || !json_object_is_type(c, json_type_object))
		return wa_msg_fail(m, "%s: must be an object", p);
	snprintf(pp, sizeof(pp), "%s.", p);
	if (wa_msg_keys(m, c, pp, keys) != 0)
		return -1;
	if ((type = json_str(c, "type")) == NULL || !in_list(type, types))
		return wa_msg_fail(m, "%s.type: must be header, body, button, "
		    "carousel or limited_time_offer", p);
	if (strcasecmp(type, "button") == 0) {
		if ((sub = json_str(c, "sub_type")) == NULL ||
		    !in_list(sub, subs))
			return wa_msg_fail(m,
			    "%s.sub_type: must be quick_reply, url, "
			    "copy_code, flow, catalog, mpm, ...", p);
		idx = wa_msg_field(c, "index");
		if (idx != NULL && json_object_is_type(idx, json_type_int))
			index = json_object_get_int64(idx);
		else if (idx != NULL && (is = json_str(c, "index")) != NULL &&
		    strlen(is) == 1 && isdigit((unsigned char)is[0]))
			index = is[0] - '0';
		if (index < 0 || index > 9)
			return wa_msg_fail(m,
			    "%s.index: a number from 0 to 9", p);
		if (*indexes & (1u << index))
			return wa_msg_fail(m, "%s.index: %d is used twice", p,
			    (int)index);
		*indexes |= 1u << index;
	} else if (wa_msg_field(c, "sub_type") != NULL ||
	    wa_msg_field(c, "index") != NULL)
		return wa_msg_fail(m,
		    "%s: sub_type and index are only for buttons", p);
	if ((prms = wa_msg_field(c, "parameters")) == NULL)
		return 0;
	if (!json_object_is_type(prms, json_type_array))
		return wa_msg_fail(m, "%s.parameters: must be an array", p);
	for (j = 0; j < json_object_array_length(prms); j++) {
		snprintf(pp, sizeof(pp), "%s.parameters[%zu]", p, j);
		if (template_param(m, json_object_array_get_idx(prms, j), pp,
		    strcasecmp(type, "header") == 0 ? 60 : body_only ? 32768 :
		    1024) != 0)
			return -1;
	}
	return 0;
}

static int
template_language(struct wa_msg *m, struct json_object *req,
    struct json_object *t)
{
	static const char *const keys[] = { "code", "policy", NULL };
	struct json_object	*l = wa_msg_field(req, "language"), *out;
	const char		*code, *policy = NULL;
	size_t			 n;

	if (l != NULL && json_object_is_type(l, json_type_object)) {
		if (wa_msg_keys(m, l, "language.", keys) != 0 ||
		    wa_msg_str(m, l, "language.", "policy", 0, 16,
		    &policy) != 0)
			return -1;
		if (policy != NULL && strcmp(policy, "deterministic") != 0)
			return wa_msg_fail(m, "language.policy: must be "
			    "\"deterministic\"");
		code = json_str(l, "code");
	} else
		code = l != NULL ? json_str(req, "language") : NULL;
	if (code == NULL)
		return wa_msg_fail(m,
		    "language: required: a code such as \"en_US\" "
		    "or {\"code\": \"en_US\"}");
	n = strlen(code);
	if (!((n == 2 || n == 3 || n == 5 || n == 6) && islower((unsigned
	    char)code[0]) && islower((unsigned char)code[1]) &&
	    (n == 2 || (n == 3 && islower((unsigned char)code[2])) ||
	    (code[n - 3] == '_' && isupper((unsigned char)code[n - 2]) &&
	    isupper((unsigned char)code[n - 1])))))
		return wa_msg_fail(m,
		    "language: a code such as \"en\" or \"en_US\"");
	out = wa_msg_add_obj(t, "language");
	if (policy != NULL)
		json_add_str(out, "policy", policy);
	json_add_str(out, "code", code);
	return 0;
}

int
wa_msg_lists_template(struct json_object *req, struct wa_msg *m)
{
	struct json_object	*t, *comps, *c;
	const char		*name, *s;
	unsigned		 indexes = 0;
	size_t			 i, n;
	int			 body_only;

	if (wa_msg_str(m, req, "", "name", 1, 512, &name) != 0)
		return -1;
	for (s = name; *s != '\0'; s++)
		if (!islower((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) &&
		    *s != '_')
			return wa_msg_fail(m,
			    "name: lower-case letters, digits and _");
	if (wa_msg_arr(m, req, "components", 0, 20, &comps) != 0)
		return -1;
	n = comps != NULL ? json_object_array_length(comps) : 0;
	c = n == 1 ? json_object_array_get_idx(comps, 0) : NULL;
	body_only = c != NULL && json_str(c, "type") != NULL &&
	    strcasecmp(json_str(c, "type"), "body") == 0;
	for (i = 0; i < n; i++)
		if (template_component(m, json_object_array_get_idx(comps, i),
		    i, body_only, &indexes) != 0)
			return -1;
	m->free_form = 0;
	m->text = name;
	t = wa_msg_envelope(m, "template");
	json_add_str(t, "name", name);
	if (template_language(m, req, t) != 0)
		return -1;
	if (comps != NULL)
		json_object_object_add(t, "components", json_object_get(comps));
	return 0;
}

