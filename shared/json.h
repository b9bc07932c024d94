/* shared/json.h: json-c helpers that read typed fields or say they can't. */
#ifndef WA_JSON_H
#define WA_JSON_H

#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Parses exactly one JSON value (nesting <= 64, no trailing bytes, no
 * \u0000 in a key, which json-c would silently cut). NULL on error, with a
 * short reason in err. */
struct json_object *json_parse(const char *, size_t, char *err, size_t);

/* Typed getters: NULL / -1 when the key is absent or of another type. A
 * string holding a NUL byte ("a\u0000b") reads as NULL too: a C reader
 * would silently take "a". */
const char	*json_str(struct json_object *, const char *key);
const char	*json_text(struct json_object *string);
struct json_object *json_obj(struct json_object *, const char *key);
struct json_object *json_arr(struct json_object *, const char *key);
int		 json_int(struct json_object *, const char *key, int64_t *);
int		 json_flag(struct json_object *, const char *key, int *);
int		 json_has(struct json_object *, const char *key);
/* The first key of object o not in allowed (NULL-terminated), or NULL. */
const char	*json_unknown_key(struct json_object *o,
		    const char *const *allowed);
/* 1 when a string value under o holds a NUL byte, its path ("text",
 * "buttons[1].title", cut to fit n) in path; else 0. */
int		 json_nul_find(struct json_object *, char *path, size_t n);

/* Builders; a NULL string adds JSON null. */
void	 json_add_str(struct json_object *, const char *key, const char *);
void	 json_add_int(struct json_object *, const char *key, int64_t);
void	 json_add_bool(struct json_object *, const char *key, int);
/* Adds a JSON text (from the database) parsed; null when NULL or invalid. */
void	 json_add_raw(struct json_object *, const char *key, const char *);

#endif /* WA_JSON_H */
