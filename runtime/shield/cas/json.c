/*
 * The JSON reader of json.h: recursive descent over the whole text, as the
 * CAS's answers are small and complete (Content-Length). Numbers keep
 * their integer part (the protocol's are counts, modes and versions).
 */
#include <stdlib.h>
#include <string.h>

#include "json.h"

#define MAX_DEPTH 64

struct in {
	const char *p, *end;
};

static void ws(struct in *s)
{
	while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
		s->p++;
}

static int hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	for (int i = 0; i < 4; i++) {
		char c = p[i];
		v <<= 4;
		if (c >= '0' && c <= '9') v |= (unsigned)(c - '0');
		else if (c >= 'a' && c <= 'f') v |= (unsigned)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F') v |= (unsigned)(c - 'A' + 10);
		else return -1;
	}
	*out = v;
	return 0;
}

static char *utf8(char *o, unsigned cp)
{
	if (cp < 0x80) {
		*o++ = (char)cp;
	} else if (cp < 0x800) {
		*o++ = (char)(0xC0 | cp >> 6);
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else if (cp < 0x10000) {
		*o++ = (char)(0xE0 | cp >> 12);
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	} else {
		*o++ = (char)(0xF0 | cp >> 18);
		*o++ = (char)(0x80 | ((cp >> 12) & 0x3F));
		*o++ = (char)(0x80 | ((cp >> 6) & 0x3F));
		*o++ = (char)(0x80 | (cp & 0x3F));
	}
	return o;
}

/* A string at s->p (the opening quote); *len its unescaped length. */
static char *string(struct in *s, size_t *len)
{
	const char *p = ++s->p;
	while (p < s->end && *p != '"')
		p += *p == '\\' ? 2 : 1;
	if (p >= s->end)
		return NULL;
	char *out = malloc((size_t)(p - s->p) + 1), *o = out;
	if (!out)
		return NULL;
	while (s->p < p) {
		unsigned char c = (unsigned char)*s->p++;
		if (c < 0x20)
			goto bad;
		if (c != '\\') {
			*o++ = (char)c;
			continue;
		}
		switch (*s->p++) {
		case '"': *o++ = '"'; break;
		case '\\': *o++ = '\\'; break;
		case '/': *o++ = '/'; break;
		case 'b': *o++ = '\b'; break;
		case 'f': *o++ = '\f'; break;
		case 'n': *o++ = '\n'; break;
		case 'r': *o++ = '\r'; break;
		case 't': *o++ = '\t'; break;
		case 'u': {
			unsigned cp, lo;
			if (p - s->p < 4 || hex4(s->p, &cp))
				goto bad;
			s->p += 4;
			if (cp >= 0xD800 && cp < 0xDC00) {
				if (p - s->p < 6 || s->p[0] != '\\' || s->p[1] != 'u' || hex4(s->p + 2, &lo) ||
				    lo < 0xDC00 || lo > 0xDFFF)
					goto bad;
				s->p += 6;
				cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
			} else if (cp >= 0xDC00 && cp < 0xE000) {
				goto bad;
			}
			o = utf8(o, cp);
			break;
		}
		default:
			goto bad;
		}
	}
	s->p = p + 1;
	*o = 0;
	*len = (size_t)(o - out);
	return out;
bad:
	free(out);
	return NULL;
}

static struct scone_json *value(struct in *s, int depth);

static int literal(struct in *s, const char *word)
{
	size_t n = strlen(word);
	if ((size_t)(s->end - s->p) < n || memcmp(s->p, word, n))
		return 0;
	s->p += n;
	return 1;
}

static struct scone_json *items(struct in *s, struct scone_json *v, int depth, char close)
{
	struct scone_json **tail = &v->child;
	s->p++;
	ws(s);
	if (s->p < s->end && *s->p == close) {
		s->p++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		size_t klen;
		ws(s);
		if (close == '}') {
			if (s->p >= s->end || *s->p != '"' || !(key = string(s, &klen)))
				return NULL;
			ws(s);
			if (s->p >= s->end || *s->p++ != ':') {
				free(key);
				return NULL;
			}
		}
		struct scone_json *item = value(s, depth + 1);
		if (!item) {
			free(key);
			return NULL;
		}
		item->key = key;
		*tail = item;
		tail = &item->next;
		ws(s);
		if (s->p >= s->end)
			return NULL;
		if (*s->p == ',') {
			s->p++;
			continue;
		}
		if (*s->p++ != close)
			return NULL;
		return v;
	}
}

static struct scone_json *value(struct in *s, int depth)
{
	ws(s);
	if (s->p >= s->end || depth > MAX_DEPTH)
		return NULL;
	struct scone_json *v = calloc(1, sizeof *v);
	if (!v)
		return NULL;
	char c = *s->p;
	if (c == '{' || c == '[') {
		v->type = c == '{' ? SJ_OBJ : SJ_ARR;
		if (!items(s, v, depth, c == '{' ? '}' : ']'))
			goto bad;
	} else if (c == '"') {
		v->type = SJ_STR;
		if (!(v->str = string(s, &v->len)))
			goto bad;
	} else if (literal(s, "null")) {
		v->type = SJ_NULL;
	} else if (literal(s, "true")) {
		v->type = SJ_BOOL;
		v->num = 1;
	} else if (literal(s, "false")) {
		v->type = SJ_BOOL;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		/* RFC 8259 §6; the integer part is kept (Python writes 120.0). */
		int neg = c == '-', digits = 0;
		v->type = SJ_NUM;
		s->p += neg;
		for (; s->p < s->end && *s->p >= '0' && *s->p <= '9'; s->p++, digits++)
			if (digits < 18)
				v->num = v->num * 10 + (*s->p - '0');
		if (!digits)
			goto bad;
		if (s->p < s->end && *s->p == '.') {
			const char *f = ++s->p;
			while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
				s->p++;
			if (s->p == f)
				goto bad;
		}
		if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
			s->p++;
			if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
				s->p++;
			const char *e = s->p;
			while (s->p < s->end && *s->p >= '0' && *s->p <= '9')
				s->p++;
			if (s->p == e)
				goto bad;
		}
		if (neg)
			v->num = -v->num;
	} else {
		goto bad;
	}
	return v;
bad:
	__scone_json_free(v);
	return NULL;
}

struct scone_json *__scone_json_parse(const char *text, size_t len)
{
	struct in s = { text, text + len };
	struct scone_json *v = value(&s, 0);
	ws(&s);
	if (v && s.p != s.end) {
		__scone_json_free(v);
		return NULL;
	}
	return v;
}

void __scone_json_free(struct scone_json *v)
{
	while (v) {
		struct scone_json *next = v->next;
		__scone_json_free(v->child);
		if (v->str) {
			memset(v->str, 0, v->len);
			free(v->str);
		}
		free(v->key);
		free(v);
		v = next;
	}
}

const struct scone_json *__scone_json_get(const struct scone_json *obj, const char *key)
{
	if (!obj || obj->type != SJ_OBJ)
		return NULL;
	for (const struct scone_json *c = obj->child; c; c = c->next)
		if (c->key && !strcmp(c->key, key))
			return c;
	return NULL;
}

const char *__scone_json_str(const struct scone_json *obj, const char *key)
{
	const struct scone_json *v = __scone_json_get(obj, key);
	return v && v->type == SJ_STR ? v->str : NULL;
}
