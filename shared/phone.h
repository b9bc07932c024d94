/* shared/phone.h: phone numbers as WhatsApp ids (E.164 digits, no '+'). */
#ifndef WA_PHONE_H
#define WA_PHONE_H

#include <stddef.h>

#define PHONE_MIN	8
#define PHONE_MAX	15	/* E.164 */

/* "+91 98765-43210", "(91) 98765 43210" -> "919876543210". 0 or -1 when
 * anything but digits and separators is left, or the length is wrong. */
int	phone_normalize(const char *in, char *out, size_t n);

#endif /* WA_PHONE_H */
