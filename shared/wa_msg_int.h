/* shared/wa_msg_int.h: helpers shared by wa_msg.c and wa_msg_lists.c only;
 * everyone else uses wa_msg.h. Each returns 0, or -1 with m->err set. */
#ifndef WA_WA_MSG_INT_H
#define WA_WA_MSG_INT_H

#include <stddef.h>

struct json_object;
struct wa_msg;

int	wa_msg_fail(struct wa_msg *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* The value of key; JSON null counts as absent. */
struct json_object *wa_msg_field(struct json_object *, const char *key);
/* Refuses any key of o not in allowed (NULL-terminated), naming it after
 * path ("buttons[1]."). */
int	wa_msg_keys(struct wa_msg *, struct json_object *o, const char *path,
	    const char *const *allowed);
/* A string of at most max characters; an absent or empty optional one
 * leaves *out NULL. */
int	wa_msg_str(struct wa_msg *, struct json_object *o, const char *path,
	    const char *key, int required, size_t max, const char **out);
/* An array of lo..hi items (lo 0: optional, *out NULL when absent). */
int	wa_msg_arr(struct wa_msg *, struct json_object *o, const char *key,
	    size_t lo, size_t hi, struct json_object **out);

struct json_object *wa_msg_add_obj(struct json_object *, const char *key);
/* Adds key: {"text": text} unless text is NULL. */
void	wa_msg_add_text(struct json_object *, const char *key,
	    const char *text);
/* Starts m->payload (to, type, context); returns the object named after
 * the type. */
struct json_object *wa_msg_envelope(struct wa_msg *, const char *type);
/* The same for type "interactive", with interactive.type set. */
struct json_object *wa_msg_interactive(struct wa_msg *, const char *itype);

/* wa_msg_lists.c: builders of the list-shaped types. */
int	wa_msg_lists_contact(struct json_object *, struct wa_msg *);
int	wa_msg_lists_catalog(struct json_object *, struct wa_msg *);
int	wa_msg_lists_product(struct json_object *, struct wa_msg *);
int	wa_msg_lists_products(struct json_object *, struct wa_msg *);
int	wa_msg_lists_template(struct json_object *, struct wa_msg *);

#endif /* WA_WA_MSG_INT_H */
