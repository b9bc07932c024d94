/* shared/json.c: typed access to json-c objects. */
#include "json.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#define JSON_DEPTH	64

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
json_str(struct json_object *o, const char *key)
{
	struct json_object	*v = get(o, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
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
