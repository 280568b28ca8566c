/*
 * pb_text.c - are the strings of a decoded protobuf message text?
 *
 * Protobuf requires string fields to hold UTF-8, but protobuf-c decodes
 * whatever bytes arrive. A Record or Msg that breaks the rule is malformed
 * input: answering it would echo the bytes (a from_id as the answer's
 * to_id, a msg_id, a requested path) into a message that no conforming
 * decoder accepts. The walk follows the descriptors, so every message
 * type, nested message, repeated field, oneof member and map entry is
 * covered without a list of fields to keep up to date.
 */
#include "usp_int.h"

#include <protobuf-c/protobuf-c.h>

/* Nesting in USP messages is a handful of levels; deeper means hostile. */
#define MAX_DEPTH 32

static bool message_ok(const ProtobufCMessage *m, unsigned depth);

static bool value_ok(const ProtobufCFieldDescriptor *f, const void *slot, unsigned depth)
{
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)slot;
		return !s || dm_utf8_valid(s);
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
		const ProtobufCMessage *sub = *(ProtobufCMessage *const *)slot;
		return !sub || message_ok(sub, depth + 1);
	}
	return true;
}

/* Is the field present? Oneof members only when their case names them. */
static bool field_set(const ProtobufCMessage *m, const ProtobufCFieldDescriptor *f)
{
	if (!(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
		return true;
	return *(const uint32_t *)((const char *)m + f->quantifier_offset) == f->id;
}

static bool message_ok(const ProtobufCMessage *m, unsigned depth)
{
	if (depth > MAX_DEPTH)
		return false;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		const char *slot = (const char *)m + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)m + f->quantifier_offset);
			const char *items = *(char *const *)slot;
			for (size_t k = 0; k < n; k++)
				if (!value_ok(f, items + k * sizeof(void *), depth))
					return false;
		} else if (field_set(m, f) && !value_ok(f, slot, depth)) {
			return false;
		}
	}
	return true;
}

bool usp_pb_text_valid(const ProtobufCMessage *m)
{
	return !m || message_ok(m, 0);
}
