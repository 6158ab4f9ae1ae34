// SPDX-License-Identifier: MIT
/*
 * json.c: bounded, strict JSON parsing for untrusted documents (evidence, verifier state), and
 * the two small helpers every JSON writer in vigil shares.
 *
 * json-c does the parsing (strict mode, UTF-8 validated, nesting bounded), but it silently keeps
 * the last of two members with the same name, and two parsers that disagree about which one
 * counts are a classic way to smuggle a value past a verifier. So before json-c sees the text, a
 * small scanner walks it and rejects any object with a repeated member name. Member names in
 * vigil's formats are plain ASCII, so the scanner also rejects names with escapes, which makes a
 * byte comparison exact.
 *
 * Invariants: nothing is returned unless the whole text is one JSON value with no trailing bytes,
 * at most VIGIL_JSON_DEPTH deep, with at most VIGIL_JSON_MEMBERS_MAX members per object and no
 * duplicate or escaped member names.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attest.h"

/* One open object or array while scanning: the names seen so far if it is an object. */
struct level {
	bool object;
	bool expect_name; /* in an object: the next string is a member name */
	size_t names;
	const char *name[VIGIL_JSON_MEMBERS_MAX];
	size_t name_len[VIGIL_JSON_MEMBERS_MAX];
};

struct scan {
	struct level stack[VIGIL_JSON_DEPTH];
	size_t depth;
};

/* @s points after the opening quote; returns the index of the closing quote, or -EBADMSG. */
static long string_end(const char *s, size_t len, bool *has_escape)
{
	*has_escape = false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '\\') {
			*has_escape = true;
			i++;
		} else if (s[i] == '"') {
			return (long)i;
		}
	}
	return -EBADMSG;
}

static int add_name(struct level *lv, const char *name, size_t len, bool escaped)
{
	if (escaped)
		return -EBADMSG;
	for (size_t i = 0; i < lv->names; i++)
		if (lv->name_len[i] == len && !memcmp(lv->name[i], name, len))
			return -ENOTUNIQ;
	if (lv->names == VIGIL_JSON_MEMBERS_MAX)
		return -E2BIG;
	lv->name[lv->names] = name;
	lv->name_len[lv->names] = len;
	lv->names++;
	lv->expect_name = false;
	return 0;
}

static int open_level(struct scan *sc, bool object)
{
	if (sc->depth == VIGIL_JSON_DEPTH)
		return -ELOOP;
	sc->stack[sc->depth] = (struct level){ .object = object, .expect_name = object };
	sc->depth++;
	return 0;
}

/* Structural characters outside strings; json-c checks the grammar itself afterwards. */
static int scan_char(struct scan *sc, char c)
{
	struct level *top = sc->depth ? &sc->stack[sc->depth - 1] : NULL;

	switch (c) {
	case '{':
	case '[':
		return open_level(sc, c == '{');
	case '}':
	case ']':
		if (!top)
			return -EBADMSG;
		sc->depth--;
		return 0;
	case ',':
		if (top && top->object)
			top->expect_name = true;
		return 0;
	default:
		return 0;
	}
}

static int scan_names(const char *text, size_t len, struct scan *sc)
{
	for (size_t i = 0; i < len; i++) {
		struct level *top = sc->depth ? &sc->stack[sc->depth - 1] : NULL;
		bool escaped;
		long end;
		int r;

		if (text[i] != '"') {
			r = scan_char(sc, text[i]);
			if (r < 0)
				return r;
			continue;
		}
		end = string_end(text + i + 1, len - i - 1, &escaped);
		if (end < 0)
			return (int)end;
		if (top && top->object && top->expect_name) {
			r = add_name(top, text + i + 1, (size_t)end, escaped);
			if (r < 0)
				return r;
		}
		i += (size_t)end + 1;
	}
	return 0;
}

static int check_names(const char *text, size_t len)
{
	struct scan sc; /* 17 KiB, on the stack: each parse would otherwise zero a heap copy */

	sc.depth = 0; /* a level is initialised when it is opened */
	return scan_names(text, len, &sc);
}

/**
 * vigil_json_parse() - parse one untrusted JSON document strictly
 * @text: the document; need not be NUL-terminated, must not contain NUL bytes
 * @len: its length in bytes
 * @max: largest accepted @len
 * @ret: on success, the parsed value; release with json_object_put()
 *
 * Return: 0; -EFBIG (@len > @max); -ENODATA (empty); -ENOTUNIQ (a member name repeated in one
 * object); -E2BIG (an object with more than VIGIL_JSON_MEMBERS_MAX members); -ELOOP (nested
 * deeper than VIGIL_JSON_DEPTH); -EBADMSG (anything else that is not exactly one strict JSON
 * value in valid UTF-8); -ENOMEM.
 */
int vigil_json_parse(const char *text, size_t len, size_t max, struct json_object **ret)
{
	struct json_tokener *tok;
	struct json_object *obj;
	size_t done;
	int r;

	if (len > max)
		return -EFBIG;
	if (len == 0)
		return -ENODATA;
	if (memchr(text, '\0', len) || len > INT32_MAX)
		return -EBADMSG;
	r = check_names(text, len);
	if (r < 0)
		return r;
	tok = json_tokener_new_ex(VIGIL_JSON_DEPTH);
	if (!tok)
		return -ENOMEM;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	done = json_tokener_get_parse_end(tok);
	r = json_tokener_get_error(tok) == json_tokener_success && done == len ? 0 : -EBADMSG;
	json_tokener_free(tok);
	if (r < 0) {
		json_object_put(obj);
		return r;
	}
	*ret = obj;
	return 0;
}

/**
 * vigil_json_text() - a JSON string of bytes that may not be UTF-8 (file names from a log)
 * @s: the bytes, NUL-terminated
 *
 * File names are bytes, JSON strings Unicode: each byte that does not begin a valid UTF-8
 * sequence becomes U+FFFD, so every writer emits valid JSON and every strict reader
 * (vigil_json_parse()) takes it back.
 *
 * Return: the new string object, or NULL when out of memory.
 */
struct json_object *vigil_json_text(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len = 0;
	struct json_object *o = NULL;
	char *out = n < INT32_MAX / 3 ? malloc(3 * n + 1) : NULL;

	for (size_t i = 0; out && i < n;) {
		size_t seq = p[i] < 0x80 ? 1 : vigil_utf8_seq(p + i, n - i);

		if (!seq) {
			out[len++] = (char)0xef; /* U+FFFD REPLACEMENT CHARACTER */
			out[len++] = (char)0xbf;
			out[len++] = (char)0xbd;
			i++;
			continue;
		}
		for (size_t k = 0; k < seq; k++)
			out[len++] = (char)p[i++];
	}
	if (out)
		o = json_object_new_string_len(out, (int)len);
	free(out);
	return o;
}

/**
 * vigil_json_add() - add a member to an object, taking ownership of the value
 * @obj: the object
 * @key: the member name
 * @val: the value, or NULL when building it failed (then -ENOMEM, so calls can be chained)
 *
 * Return: 0 or -ENOMEM; @val is released on failure.
 */
int vigil_json_add(struct json_object *obj, const char *key, struct json_object *val)
{
	if (!val)
		return -ENOMEM;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		return -ENOMEM;
	}
	return 0;
}

static int format(struct json_object *obj, int flags, char **ret)
{
	const char *text;
	size_t len;
	char *out;

	text = json_object_to_json_string_length(obj, flags, &len);
	out = text ? malloc(len + 2) : NULL;
	if (!out)
		return -ENOMEM;
	memcpy(out, text, len);
	out[len] = '\n';
	out[len + 1] = '\0';
	*ret = out;
	return 0;
}

/**
 * vigil_json_format() - serialise a value as a document: pretty-printed, with a final newline
 * @obj: the value
 * @ret: on success, the text; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_json_format(struct json_object *obj, char **ret)
{
	return format(obj,
		      JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			      JSON_C_TO_STRING_NOSLASHESCAPE,
		      ret);
}

/**
 * vigil_json_format_compact() - vigil_json_format() without the whitespace: for machines
 *	(protocol messages, verdicts stored by the thousand)
 * @obj: the value
 * @ret: on success, the text with a final newline; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_json_format_compact(struct json_object *obj, char **ret)
{
	return format(obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, ret);
}
