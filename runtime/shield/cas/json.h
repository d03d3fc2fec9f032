/*
 * A small JSON reader (RFC 8259) for the CAS's answers: a tree of values in
 * enclave memory, strings unescaped to UTF-8. Refuses what is not JSON;
 * depth and size are bounded by the caller's text (at most 8 MiB).
 */
#ifndef SCONE_CAS_JSON_H
#define SCONE_CAS_JSON_H

#include <stddef.h>

enum scone_json_type { SJ_NULL, SJ_BOOL, SJ_NUM, SJ_STR, SJ_ARR, SJ_OBJ };

struct scone_json {
	enum scone_json_type type;
	char *key;                  /* member name inside an object */
	char *str;                  /* SJ_STR: NUL-terminated (may hold NULs: len) */
	size_t len;
	long long num;              /* SJ_NUM (integers only), SJ_BOOL */
	struct scone_json *child;   /* SJ_ARR, SJ_OBJ: first element */
	struct scone_json *next;    /* next sibling */
};

/* Parse text[0..len); NULL if it is not one JSON value. */
struct scone_json *__scone_json_parse(const char *text, size_t len)
	__attribute__((visibility("hidden")));
/* Free a tree, wiping its strings first (they may be secrets). */
void __scone_json_free(struct scone_json *v) __attribute__((visibility("hidden")));
/* The member key of an object, or NULL. */
const struct scone_json *__scone_json_get(const struct scone_json *obj, const char *key)
	__attribute__((visibility("hidden")));
/* The string member key, or NULL if absent or not a string. */
const char *__scone_json_str(const struct scone_json *obj, const char *key)
	__attribute__((visibility("hidden")));

#endif
