/* shared/phone.c: the forms people type, reduced to WhatsApp's wa_id. */
#include "phone.h"

#include <string.h>

int
phone_normalize(const char *in, char *out, size_t n)
{
	size_t	len = 0;
	int	seen_digit = 0;

	if (in == NULL || n < PHONE_MAX + 1)
		return -1;
	for (; *in != '\0'; in++) {
		if (*in >= '0' && *in <= '9') {
			if (len == PHONE_MAX)
				return -1;
			out[len++] = *in;
			seen_digit = 1;
		} else if (*in == '+' && !seen_digit && len == 0) {
			continue;	/* one leading plus */
		} else if (strchr(" -().", *in) == NULL)
			return -1;
	}
	out[len] = '\0';
	return len >= PHONE_MIN ? 0 : -1;
}
