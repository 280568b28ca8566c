/*
 * defaults.c - the factory-defaults file: parsing its lines and applying
 * them in one transaction, creating the instances the paths name.
 *
 * Format: one "Path value" per line; the value runs to the end of the line,
 * or is written "..." (with \" and \\) when it has spaces or is empty. Blank
 * lines and lines starting with '#' are ignored. "Path." alone creates an
 * instance. The rule for bad lines is documented at dm_open in dm.h.
 */
#include "engine.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct defaults_line {
	char *path;
	char *value; /* NULL for an instance-only line */
} defaults_line;

static char *skip_space(char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

static void rtrim(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = 0;
}

/* Unquote "..." in place; returns NULL with *why set on a syntax error. */
static char *parse_quoted(char *p, const char **why)
{
	char *out = p, *start = p;
	p++;
	while (*p && *p != '"') {
		if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
			p++;
		else if (*p == '\\') {
			*why = "unknown escape (only \\\" and \\\\)";
			return NULL;
		}
		*out++ = *p++;
	}
	if (*p != '"') {
		*why = "unterminated quoted value";
		return NULL;
	}
	if (*skip_space(p + 1)) {
		*why = "text after the closing quote";
		return NULL;
	}
	*out = 0;
	return start;
}

/* Split a line; returns 1 for a line to apply, 0 to skip, -1 on syntax error. */
static int parse_line(char *line, defaults_line *out, const char **why)
{
	rtrim(line);
	char *p = skip_space(line);
	if (!*p || *p == '#')
		return 0;
	out->path = p;
	while (*p && *p != ' ' && *p != '\t')
		p++;
	bool has_value = *p != 0;
	if (*p)
		*p++ = 0;
	p = skip_space(p);
	size_t pl = strlen(out->path);
	if (!has_value || !*p) {
		if (pl && out->path[pl - 1] == '.') {
			out->value = NULL;
			return 1;
		}
		*why = "no value (write \"\" for an empty one)";
		return -1;
	}
	if (*p == '"') {
		out->value = parse_quoted(p, why);
		return out->value ? 1 : -1;
	}
	out->value = p;
	return 1;
}

/* Create every instance the path names that does not exist yet. */
static int ensure_instances(dm_txn *t, const char *path, dm_errinfo *err)
{
	char prefix[DM_PATH_MAX];
	size_t n = strlen(path);
	if (n >= sizeof prefix)
		return dm_err_set(err, DM_ERR_SYNTAX, 0, path, "path too long");
	for (size_t i = 0; i < n; i++) {
		if (!(i > 0 && path[i - 1] == '.' && path[i] >= '1' && path[i] <= '9'))
			continue;
		size_t j = i;
		while (j < n && path[j] >= '0' && path[j] <= '9')
			j++;
		if (j >= n || path[j] != '.')
			continue;
		memcpy(prefix, path, j + 1);
		prefix[j + 1] = 0;
		if (store_exists(t, prefix, j + 1))
			continue;
		prefix[i] = 0;
		int rc = dm_add_numbered(t, prefix, (uint32_t)strtoul(path + i, NULL, 10), err);
		if (rc)
			return rc;
	}
	return DM_OK;
}

static int apply_line(dm *d, dm_txn *t, const char *file, unsigned lineno, const defaults_line *l)
{
	dm_errinfo e = {0};
	int rc = ensure_instances(t, l->path, &e);
	if (!rc && l->value)
		rc = dm_set(t, l->path, l->value, &e);
	if (!rc)
		return DM_OK;
	if (t->failed)
		return rc; /* the store failed: nothing more can apply */
	dm_warn(d, "%s:%u: %s skipped: %s", file, lineno, l->path, e.msg);
	return DM_OK;
}

int defaults_apply(dm *d, dm_txn *t, const char *file, dm_errinfo *err)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return dm_err_set(err, DM_ERR_DEFAULTS_FILE, 0, NULL, "%s: %s", file, strerror(errno));
	char *line = NULL;
	size_t cap = 0;
	unsigned lineno = 0;
	int rc = DM_OK;
	while (getline(&line, &cap, f) >= 0) {
		lineno++;
		defaults_line l;
		const char *why = NULL;
		int kind = parse_line(line, &l, &why);
		if (kind < 0) {
			rc = dm_err_set(err, DM_ERR_DEFAULTS_FILE, 0, NULL, "%s:%u: %s", file, lineno, why);
			break;
		}
		if (kind == 0)
			continue;
		if ((rc = apply_line(d, t, file, lineno, &l))) {
			dm_err_set(err, rc, 0, NULL, "%s:%u: store failure", file, lineno);
			break;
		}
	}
	free(line);
	fclose(f);
	return rc;
}
