/*
 * pattern.h - the <pattern> facet: XSD regular expressions evaluated with
 * POSIX extended regular expressions. Internal to datamodel/.
 */
#ifndef DUET_DM_PATTERN_H
#define DUET_DM_PATTERN_H

#include "schema.h"

/*
 * Translate an XSD regular expression into a POSIX ERE with the same
 * meaning, not anchored. *ere is malloc'd on success.
 * Returns DM_OK, DM_ERR_NOT_SUPPORTED (malformed or beyond the translator:
 * the pattern must then be ignored) or DM_ERR_NOMEM.
 */
int dm_pattern_translate(const char *xsd, char **ere);

/*
 * Does the whole value match the pattern? The pattern is compiled on first
 * use. A pattern that cannot be translated or compiled is marked unusable and
 * then matches every value: the schema's intent is unknown, and refusing a
 * valid value would be worse than accepting an invalid one.
 */
bool dm_pattern_matches(dm_pattern *p, const char *value);

/* Release what compilation took (for the schema's free path). */
void dm_pattern_release(dm_pattern *p);

#endif /* DUET_DM_PATTERN_H */
