/*
 * chars.h - character classes shared by the engine's parsers (path grammar,
 * value types, key order), locale-independent unlike <ctype.h>.
 */
#ifndef DUET_DM_CHARS_H
#define DUET_DM_CHARS_H

#include <stdbool.h>

static inline bool dm_is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Value of a hex digit, or -1. */
static inline int dm_hex_value(int c)
{
	if (dm_is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

#endif /* DUET_DM_CHARS_H */
