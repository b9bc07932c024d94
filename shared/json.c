/* shared/json.c: typed access to json-c objects. */
#include "json.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define JSON_DEPTH	64

/* Whether the JSON text holds the escape \u0000 (a NUL byte once decoded).
 * A backslash outside a string is a syntax error, so a plain scan that
 * skips each escaped character is enough. */
static int
has_nul_escape(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i + 1 < n; i++) {
		if (s[i] != '\\')
			continue;
		if (n - i >= 6 && memcmp(s + i + 1, "u0000", 5) == 0)
			return 1;
		i++;
	}
	return 0;
}

/* json-c cuts an object key at a NUL without a trace ("te\u0000xt" becomes
 * "te"), so a NUL the text has but no string value does was in a key. */
static int
key_has_nul(const char *s, size_t n, struct json_object *obj)
{
	char	path[8];

	return has_nul_escape(s, n) && !json_nul_find(obj, path, sizeof(path));
}

struct json_object *
json_parse(const char *s, size_t n, char *err, size_t errn)
{
	struct json_tokener	*tok;
	struct json_object	*obj;
	enum json_tokener_error	 e;

	if (n == 0) {
		snprintf(err, errn, "empty body");
		return NULL;
	}
	tok = json_tokener_new_ex(JSON_DEPTH);
	obj = json_tokener_parse_ex(tok, s, (int)n);
	e = json_tokener_get_error(tok);
	if (obj == NULL || e != json_tokener_success) {
		snprintf(err, errn, "%s", e == json_tokener_continue ?
		    "unexpected end of input" : json_tokener_error_desc(e));
		json_object_put(obj);
		obj = NULL;
	} else if ((size_t)json_tokener_get_parse_end(tok) != n) {
		/* Only whitespace may follow the value. */
		size_t	i;

		for (i = json_tokener_get_parse_end(tok); i < n; i++)
			if (strchr(" \t\r\n", s[i]) == NULL)
				break;
		if (i != n) {
			snprintf(err, errn, "trailing characters after JSON");
			json_object_put(obj);
			obj = NULL;
		}
	}
	json_tokener_free(tok);
	if (obj != NULL && key_has_nul(s, n, obj)) {
		snprintf(err, errn, "a field name contains \\u0000");
		json_object_put(obj);
		obj = NULL;
	}
	return obj;
}

static struct json_object *
get(struct json_object *o, const char *key, json_type t)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, t))
		return NULL;
	return v;
}

const char *
json_text(struct json_object *v)
{
	const char	*s;

	if (v == NULL || !json_object_is_type(v, json_type_string))
		return NULL;
	s = json_object_get_string(v);
	return strlen(s) == (size_t)json_object_get_string_len(v) ? s : NULL;
}

const char *
json_str(struct json_object *o, const char *key)
{
	return json_text(get(o, key, json_type_string));
}

/* Depth-first; path[0, len) is the path of o so far. */
static int
nul_find(struct json_object *o, char *path, size_t len, size_t n)
{
	size_t	i;

	if (json_object_is_type(o, json_type_string))
		return json_text(o) == NULL;
	if (json_object_is_type(o, json_type_object)) {
		json_object_object_foreach(o, key, v) {
			snprintf(path + len, n - len, "%s%s",
			    len > 0 ? "." : "", key);
			if (v != NULL && nul_find(v, path, strlen(path), n))
				return 1;
		}
	} else if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++) {
			snprintf(path + len, n - len, "[%zu]", i);
			if (nul_find(json_object_array_get_idx(o, i), path,
			    strlen(path), n))
				return 1;
		}
	}
	path[len] = '\0';
	return 0;
}

int
json_nul_find(struct json_object *o, char *path, size_t n)
{
	if (n == 0)
		return 0;
	path[0] = '\0';
	return o != NULL && nul_find(o, path, 0, n);
}

struct json_object *
json_obj(struct json_object *o, const char *key)
{
	return get(o, key, json_type_object);
}

struct json_object *
json_arr(struct json_object *o, const char *key)
{
	return get(o, key, json_type_array);
}

int
json_int(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object	*v = get(o, key, json_type_int);

	if (v == NULL)
		return -1;
	*out = json_object_get_int64(v);
	return 0;
}

int
json_flag(struct json_object *o, const char *key, int *out)
{
	struct json_object	*v = get(o, key, json_type_boolean);

	if (v == NULL)
		return -1;
	*out = json_object_get_boolean(v);
	return 0;
}

int
json_has(struct json_object *o, const char *key)
{
	return o != NULL && json_object_is_type(o, json_type_object) &&
	    json_object_object_get_ex(o, key, NULL);
}

const char *
json_unknown_key(struct json_object *o, const char *const *allowed)
{
	size_t	i;

	json_object_object_foreach(o, k, v) {
		(void)v;
		for (i = 0; allowed[i] != NULL; i++)
			if (strcmp(allowed[i], k) == 0)
				break;
		if (allowed[i] == NULL)
			return k;
	}
	return NULL;
}

void
json_add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, v != NULL ?
	    json_object_new_string(v) : NULL);
}

void
json_add_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

void
json_add_bool(struct json_object *o, const char *key, int v)
{
	json_object_object_add(o, key, json_object_new_boolean(v));
}

void
json_add_raw(struct json_object *o, const char *key, const char *text)
{
	json_object_object_add(o, key, text != NULL ?
	    json_tokener_parse(text) : NULL);
}
