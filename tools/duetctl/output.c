/*
 * output.c - how duetctl prints a reply: lines for people (one item per
 * line, values quoted when they would be ambiguous) or one JSON document
 * for programs. Errors go to stderr for people, into the document for
 * programs; either way the exit code is 1.
 */
#include "duetctl.h"

#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------------------
 * Text
 * ------------------------------------------------------------------------- */

/* Unquoted unless empty or holding blanks, quotes or backslashes, so that
 * "path value" splits at the first space and every value reads back. */
static void put_value(FILE *f, const char *v)
{
	if (*v && !strpbrk(v, " \t\n\r\"\\")) {
		fputs(v, f);
		return;
	}
	fputc('"', f);
	for (; *v; v++) {
		switch (*v) {
		case '"': fputs("\\\"", f); break;
		case '\\': fputs("\\\\", f); break;
		case '\n': fputs("\\n", f); break;
		case '\r': fputs("\\r", f); break;
		case '\t': fputs("\\t", f); break;
		default: fputc(*v, f);
		}
	}
	fputc('"', f);
}

static const char *field(const core_admin_fields *l, size_t i)
{
	return i < l->n ? l->v[i] : "";
}

static bool is_tag(const core_admin_fields *l, const char *tag)
{
	return l->n && !strcmp(l->v[0], tag);
}

/* A seq time txn origin who op path old new secret: one change per line,
 * "TIME ORIGIN[/WHO] OP PATH [OLD -> NEW] txn=N". */
static void text_audit(const core_admin_fields *l)
{
	printf("%s %s", field(l, 2), field(l, 4));
	if (*field(l, 5))
		printf("/%s", field(l, 5));
	printf(" %s %s", field(l, 6), field(l, 7));
	if (!strcmp(field(l, 10), "1")) {
		fputs(" (secret)", stdout);
	} else if (!strcmp(field(l, 6), "set")) {
		putchar(' ');
		put_value(stdout, field(l, 8));
		fputs(" -> ", stdout);
		put_value(stdout, field(l, 9));
	}
	printf(" txn=%s\n", field(l, 3));
}

static void text_line(const core_admin_fields *l)
{
	const char *tag = field(l, 0);

	if (!strcmp(tag, "T")) {
		printf("ok (txn %s)\n", field(l, 1));
	} else if (!strcmp(tag, "R")) {
		printf("request %s started\n", field(l, 1));
	} else if (!strcmp(tag, "I")) {
		printf("%s\n", field(l, 1));
	} else if (!strcmp(tag, "A")) {
		text_audit(l);
	} else if (!strcmp(tag, "X")) {
		printf("%s %s", field(l, 1), field(l, 2));
		if (*field(l, 3))
			printf(" since %s", field(l, 3));
		putchar('\n');
	} else if (!strcmp(tag, "P") || !strcmp(tag, "O") || !strcmp(tag, "K") || !strcmp(tag, "W")) {
		printf("%s ", field(l, 1));
		put_value(stdout, field(l, 2));
		putchar('\n');
	} else {
		for (size_t i = 1; i < l->n; i++)
			printf("%s%s", i > 1 ? " " : "", l->v[i]);
		putchar('\n');
	}
}

/* Verbs whose silence means "done" say so; listings may be empty. */
static bool quiet_when_empty(const ctl_opts *o)
{
	const char *verb = o->verb;

	return !strcmp(verb, "get") || !strcmp(verb, "instances") || !strcmp(verb, "schema") ||
	       !strcmp(verb, "audit") || (!strcmp(verb, "owner") && o->nargs == 0);
}

static void print_text(const ctl_opts *o, const ctl_reply *r)
{
	if (!strcmp(o->verb, "schema-stats")) {
		for (size_t i = 0; i < r->n; i++)
			printf("%s%s=%s", i ? " " : "", field(&r->lines[i], 1), field(&r->lines[i], 2));
		putchar('\n');
		return;
	}
	for (size_t i = 0; i < r->n; i++)
		text_line(&r->lines[i]);
	if (!r->n && !quiet_when_empty(o))
		puts("ok");
}

/* ---------------------------------------------------------------------------
 * JSON
 * ------------------------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at s, 0 if invalid. */
static size_t utf8_len(const unsigned char *s)
{
	size_t n = s[0] < 0x80 ? 1 : (s[0] & 0xe0) == 0xc0 ? 2 : (s[0] & 0xf0) == 0xe0 ? 3
		 : (s[0] & 0xf8) == 0xf0 ? 4 : 0;

	if (n == 2 && s[0] < 0xc2)
		return 0; /* overlong */
	for (size_t i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong or a UTF-16 surrogate */
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || s[0] > 0xf4 || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

/* Values are bytes; JSON is Unicode: invalid UTF-8 becomes U+FFFD. */
static void json_str(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	putchar('"');
	while (*p) {
		size_t n = utf8_len(p);
		if (!n) {
			fputs("\\ufffd", stdout);
			p++;
		} else if (*p == '"' || *p == '\\') {
			printf("\\%c", *p++);
		} else if (*p < 0x20) {
			const char *named = *p == '\n' ? "\\n" : *p == '\t' ? "\\t" : *p == '\r' ? "\\r" : NULL;
			if (named)
				fputs(named, stdout);
			else
				printf("\\u%04x", *p);
			p++;
		} else {
			fwrite(p, 1, n, stdout);
			p += n;
		}
	}
	putchar('"');
}

static bool all_digits(const char *s)
{
	if (!*s || (s[0] == '0' && s[1]))
		return false;
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Counters and ids print as numbers, anything else as a string. */
static void json_scalar(const char *s)
{
	if (all_digits(s))
		fputs(s, stdout);
	else
		json_str(s);
}

static void json_member(bool *first, const char *key)
{
	printf("%s\n  ", *first ? "" : ",");
	*first = false;
	json_str(key);
	fputs(": ", stdout);
}

/* {"key": value, ...} from the tag's lines: key field 1, value field 2;
 * inside {"wrap": ...} when wrap is not NULL. */
static void json_map(const ctl_reply *r, const char *tag, bool numbers, const char *wrap)
{
	bool first = true;

	if (wrap)
		printf("{\"%s\": ", wrap);
	putchar('{');
	for (size_t i = 0; i < r->n; i++) {
		if (!is_tag(&r->lines[i], tag))
			continue;
		json_member(&first, field(&r->lines[i], 1));
		if (numbers)
			json_scalar(field(&r->lines[i], 2));
		else
			json_str(field(&r->lines[i], 2));
	}
	fputs(first ? "}" : "\n}", stdout);
	fputs(wrap ? "}\n" : "\n", stdout);
}

static const core_admin_fields *find_tag(const ctl_reply *r, const char *tag)
{
	for (size_t i = 0; i < r->n; i++)
		if (is_tag(&r->lines[i], tag))
			return &r->lines[i];
	return NULL;
}

static void json_instances(const ctl_reply *r)
{
	bool first = true;

	fputs("{\"instances\": [", stdout);
	for (size_t i = 0; i < r->n; i++) {
		if (!is_tag(&r->lines[i], "I"))
			continue;
		fputs(first ? "\n  " : ",\n  ", stdout);
		first = false;
		json_str(field(&r->lines[i], 1));
	}
	fputs(first ? "]}\n" : "\n]}\n", stdout);
}

static void json_schema(const ctl_reply *r)
{
	static const char *const keys[] = { "path", "kind", "type", "access" };
	bool first = true;

	fputs("{\"nodes\": [", stdout);
	for (size_t i = 0; i < r->n; i++) {
		if (!is_tag(&r->lines[i], "S"))
			continue;
		fputs(first ? "\n  {" : ",\n  {", stdout);
		first = false;
		for (size_t k = 0; k < 4; k++) {
			printf("%s\"%s\": ", k ? ", " : "", keys[k]);
			json_str(field(&r->lines[i], k + 1));
		}
		putchar('}');
	}
	fputs(first ? "]}\n" : "\n]}\n", stdout);
}

static void json_audit(const ctl_reply *r)
{
	static const char *const keys[] = { "seq", "time", "txn", "origin", "who", "op", "path", "old", "new" };
	bool first = true;

	fputs("{\"entries\": [", stdout);
	for (size_t i = 0; i < r->n; i++) {
		const core_admin_fields *l = &r->lines[i];
		if (!is_tag(l, "A"))
			continue;
		fputs(first ? "\n  {" : ",\n  {", stdout);
		first = false;
		for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
			printf("%s\"%s\": ", k ? ", " : "", keys[k]);
			if (k == 0 || k == 2)
				json_scalar(field(l, k + 1));
			else
				json_str(field(l, k + 1));
		}
		printf(", \"secret\": %s}", !strcmp(field(l, 10), "1") ? "true" : "false");
	}
	fputs(first ? "]}\n" : "\n]}\n", stdout);
}

static void json_stacks(const ctl_reply *r)
{
	bool first = true;

	fputs("{\"stacks\": {", stdout);
	for (size_t i = 0; i < r->n; i++) {
		const core_admin_fields *l = &r->lines[i];
		if (!is_tag(l, "X"))
			continue;
		json_member(&first, field(l, 1));
		printf("{\"active\": %s, \"since\": ", !strcmp(field(l, 2), "active") ? "true" : "false");
		if (*field(l, 3))
			json_str(field(l, 3));
		else
			fputs("null", stdout);
		putchar('}');
	}
	fputs(first ? "}}\n" : "\n}}\n", stdout);
}

static void json_one(const char *key, const core_admin_fields *l, bool number)
{
	printf("{\"%s\": ", key);
	if (number)
		json_scalar(field(l, 1));
	else
		json_str(field(l, 1));
	fputs("}\n", stdout);
}

static void print_json(const ctl_opts *o, const ctl_reply *r)
{
	const char *v = o->verb;
	const core_admin_fields *l;

	if (!strcmp(v, "get"))
		json_map(r, "P", false, NULL);
	else if (!strcmp(v, "stats") || !strcmp(v, "schema-stats"))
		json_map(r, "K", true, NULL);
	else if (!strcmp(v, "set") && (l = find_tag(r, "T")))
		json_one("txn", l, true);
	else if (!strcmp(v, "add") && (l = find_tag(r, "I")))
		json_one("path", l, false);
	else if (!strcmp(v, "operate") && (l = find_tag(r, "R")))
		json_one("request", l, true);
	else if (!strcmp(v, "operate"))
		json_map(r, "O", false, "outputs");
	else if (!strcmp(v, "instances"))
		json_instances(r);
	else if (!strcmp(v, "schema"))
		json_schema(r);
	else if (!strcmp(v, "audit"))
		json_audit(r);
	else if (!strcmp(v, "owner") && o->nargs == 0)
		json_map(r, "W", false, "rules");
	else if (!strcmp(v, "stacks"))
		json_stacks(r);
	else
		puts("{\"ok\": true}");
}

/* ---------------------------------------------------------------------------
 * Entry
 * ------------------------------------------------------------------------- */

int ctl_print(const ctl_opts *o, const ctl_reply *r)
{
	if (r->code) {
		if (o->json) {
			printf("{\"error\": {\"code\": %d, \"message\": ", r->code);
			json_str(r->msg);
			puts("}}");
		} else {
			fprintf(stderr, "duetctl: error %d: %s\n", r->code, r->msg);
		}
		return 1;
	}
	if (o->json)
		print_json(o, r);
	else
		print_text(o, r);
	return fflush(stdout) == 0 ? 0 : 1;
}
