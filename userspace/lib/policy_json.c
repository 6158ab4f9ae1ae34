// SPDX-License-Identifier: MIT
/*
 * policy_json.c: the strict parser of the policy document (format: policy.h).
 *
 * A single pass over the text, specialised for this one schema: a general JSON library would
 * build a tree of hundreds of thousands of objects only for us to copy them into the index, and
 * json-c silently keeps the last of two equal member names. Digests are decoded from their hex
 * straight into the index's arena, paths are copied once and hashed while they are in the
 * cache, and the path table is built in one go at the end, sized exactly. Strings, whitespace
 * and hex are scanned 16 bytes at a time with SSE2 (baseline on x86-64; plain loops elsewhere).
 *
 * The only thing that needs a second look is member order: "digests", "any_path", "deny",
 * "boot_aggregate" and "packages" hold digests whose size depends on "hash_alg", which may come
 * later. Such a value is skipped (its extent found) and parsed when the object is done; the
 * canonical order (vigil_policy_format()) puts hash_alg first, so it never happens there.
 *
 * Invariants: nothing is read beyond @len; every rejection sets exactly one error (the first)
 * with the offset where the offending token starts, and returns -EBADMSG, -ENOTUNIQ, -EFBIG
 * or -ENOMEM; strings are decoded (escapes, surrogate pairs) before they are compared, so two
 * spellings of one member name or path are duplicates.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "cleanup.h"
#include "policy_internal.h"

#define KEY_MAX 64 /* longest member name, bank or PCR index worth decoding */
#define HEX_TEXT_MAX 1024 /* longest digest text decoded for an error message */
#define LABEL_MAX 96 /* bytes of a path quoted in an error message */

enum member {
	M_VIGIL_POLICY,
	M_NAME,
	M_VERSION,
	M_VALID_UNTIL,
	M_HASH_ALG,
	M_VIOLATIONS,
	M_DIGESTS,
	M_ANY_PATH,
	M_EXCLUDES,
	M_EXCLUDES_REGEX,
	M_DENY,
	M_BOOT_AGGREGATE,
	M_PCRS,
	M_PACKAGES,
	M_CREATED,
	M_GENERATOR,
	M_COUNT,
};

struct str {
	const char *p;
	size_t len;
};

/* Where a value is, for messages: member[.key][[index]]. */
struct where {
	const char *member;
	const char *key;
	size_t key_len;
	long index;
};

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	struct vigil_policy *p;
	struct vigil_policy_error *err;
	bool failed;
	uint16_t bank; /* parsing this PCR bank's values (their size is the bank's), or 0 */
	uint32_t seen; /* members, 1 << enum member */
	size_t deferred[M_COUNT]; /* offset + 1 of a value parsed once hash_alg is known */
	size_t deferred_end[M_COUNT];
	struct vigil_policy_pending *recs; /* the records of "digests", in arena order */
	size_t nrecs, recs_cap;
	char kbuf[VIGIL_POLICY_PATH_MAX + 8]; /* decoded keys */
	char vbuf[VIGIL_POLICY_PATH_MAX + 8]; /* decoded values */
};

/* hex digit value + 1; 0 for anything else */
static const uint8_t hexv[256] = {
	['0'] = 1,  ['1'] = 2,	['2'] = 3,  ['3'] = 4,	['4'] = 5,  ['5'] = 6,
	['6'] = 7,  ['7'] = 8,	['8'] = 9,  ['9'] = 10, ['a'] = 11, ['b'] = 12,
	['c'] = 13, ['d'] = 14, ['e'] = 15, ['f'] = 16, ['A'] = 11, ['B'] = 12,
	['C'] = 13, ['D'] = 14, ['E'] = 15, ['F'] = 16,
};

/* ---- 16 bytes at a time (SSE2 is part of x86-64; elsewhere the scalar loops do it all) ---- */

#ifdef __SSE2__
/* Bit i set: byte i of the 16 at @s is '"', '\\', a control or a non-ASCII byte. */
static inline unsigned int special16(const unsigned char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i q = _mm_cmpeq_epi8(v, _mm_set1_epi8('"'));
	__m128i b = _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'));
	__m128i c = _mm_cmpeq_epi8(_mm_min_epu8(v, _mm_set1_epi8(0x1f)), v);

	return (unsigned int)_mm_movemask_epi8(_mm_or_si128(_mm_or_si128(q, b), c)) |
	       (unsigned int)_mm_movemask_epi8(v);
}

/* How many of the 16 bytes at @s are JSON whitespace before the first other byte. */
static inline unsigned int space16(const unsigned char *s)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i sp = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
				  _mm_cmpeq_epi8(v, _mm_set1_epi8('\n')));
	__m128i tr = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('\t')),
				  _mm_cmpeq_epi8(v, _mm_set1_epi8('\r')));
	unsigned int m = ~(unsigned int)_mm_movemask_epi8(_mm_or_si128(sp, tr)) & 0xffff;

	return m ? (unsigned int)__builtin_ctz(m) : 16;
}

/* Decode 16 hex digits at @s into 8 bytes at @out; false (and @out undefined) if one is not. */
static inline bool hex16(const unsigned char *s, uint8_t *out)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(const void *)s);
	__m128i d = _mm_sub_epi8(v, _mm_set1_epi8('0'));
	__m128i dm = _mm_cmpeq_epi8(_mm_min_epu8(d, _mm_set1_epi8(9)), d);
	/* | 0x20 folds 'A'-'F' onto 'a'-'f' and maps nothing else there */
	__m128i l = _mm_sub_epi8(_mm_or_si128(v, _mm_set1_epi8(0x20)), _mm_set1_epi8('a'));
	__m128i lm = _mm_cmpeq_epi8(_mm_min_epu8(l, _mm_set1_epi8(5)), l);
	__m128i val, pairs;

	if (_mm_movemask_epi8(_mm_or_si128(dm, lm)) != 0xffff)
		return false;
	val = _mm_or_si128(_mm_and_si128(dm, d),
			   _mm_and_si128(lm, _mm_add_epi8(l, _mm_set1_epi8(10))));
	/* little-endian 16-bit lanes hold (first digit, second digit) */
	pairs = _mm_or_si128(_mm_slli_epi16(_mm_and_si128(val, _mm_set1_epi16(0xff)), 4),
			     _mm_srli_epi16(val, 8));
	_mm_storel_epi64((__m128i *)(void *)out, _mm_packus_epi16(pairs, pairs));
	return true;
}
#endif

/* The position of the first '"', '\\', control or non-ASCII byte at or after @i, or @len. */
static inline size_t plain_run(const unsigned char *s, size_t i, size_t len)
{
#ifdef __SSE2__
	for (; len - i >= 32; i += 32) {
		unsigned int m = special16(s + i) | special16(s + i + 16) << 16;

		if (m)
			return i + (unsigned int)__builtin_ctz(m);
	}
	if (len - i >= 16) {
		unsigned int m = special16(s + i);

		if (m)
			return i + (unsigned int)__builtin_ctz(m);
		i += 16;
	}
#endif
	while (i < len && s[i] >= 0x20 && s[i] < 0x80 && s[i] != '"' && s[i] != '\\')
		i++;
	return i;
}

/* ---- errors ---- */

/* Quote a key for a message: bounded, control characters as '?', cut at a UTF-8 boundary. */
static void label(char *out, size_t size, const char *s, size_t len)
{
	size_t n = 0, i = 0;

	while (i < len && n + 8 < size) {
		unsigned char c = (unsigned char)s[i];
		size_t k = c >= 0x80 ? vigil_utf8_seq((const unsigned char *)s + i, len - i) : 1;

		if (!k || n + k + 4 >= size || n >= LABEL_MAX)
			break;
		if (k == 1)
			out[n++] = (char)(c < 0x20 || c == 0x7f ? '?' : c);
		else
			memcpy(out + n, s + i, k), n += k;
		i += k;
	}
	if (i < len)
		memcpy(out + n, "...", 3), n += 3;
	out[n] = '\0';
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): offset, then errno */
static int fail(struct parser *ps, size_t at, int code, const struct where *w, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): offset, then errno */
static int fail(struct parser *ps, size_t at, int code, const struct where *w, const char *fmt, ...)
{
	char head[LABEL_MAX + 64] = "", key[LABEL_MAX + 8] = "", msg[200];
	struct vigil_policy_error *e = ps->err;
	va_list ap;

	if (ps->failed || !e)
		return code;
	ps->failed = true;
	if (w && w->key)
		label(key, sizeof(key), w->key, w->key_len);
	if (w && w->index >= 0)
		snprintf(head, sizeof(head), "%s%s%s[%ld]: ", w->member, w->key ? "." : "", key,
			 w->index);
	else if (w)
		snprintf(head, sizeof(head), "%s%s%s: ", w->member, w->key ? "." : "", key);
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e->offset = at;
	e->line = 1;
	for (const char *q = ps->s; (q = memchr(q, '\n', (size_t)(ps->s + at - q))); q++)
		e->line++;
	snprintf(e->what, sizeof(e->what), "%s%s", head, msg);
	return code;
}

/* ---- tokens ---- */

static inline int peek(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->s;
	size_t i = ps->pos;

	if (i < ps->len && s[i] > ' ')
		return s[i];
	if (ps->len - i >= 2 && s[i] == ' ' && s[i + 1] > ' ') { /* ": [", ", " */
		ps->pos = i + 1;
		return s[i + 1];
	}
#ifdef __SSE2__
	/* the canonical text indents: a newline and spaces before every path */
	for (; ps->len - i >= 16; i += 16) {
		unsigned int k = space16(s + i);

		if (k < 16) {
			ps->pos = i + k;
			return s[i + k];
		}
	}
#endif
	for (; i < ps->len; i++)
		if (s[i] > ' ' || (s[i] != ' ' && s[i] != '\n' && s[i] != '\t' && s[i] != '\r')) {
			ps->pos = i;
			return s[i];
		}
	ps->pos = i;
	return -1;
}

static const char *kind(int c)
{
	if (c == '{')
		return "an object";
	if (c == '[')
		return "an array";
	if (c == '"')
		return "a string";
	if (c == '-' || (c >= '0' && c <= '9'))
		return "a number";
	if (c == 't' || c == 'f')
		return "a boolean";
	if (c == 'n')
		return "null";
	return c < 0 ? "the end of the document" : "an unexpected character";
}

/* Where the next token starts. */
static size_t token_at(struct parser *ps)
{
	(void)peek(ps);
	return ps->pos;
}

static int __attribute__((noinline, cold))
expect_fail(struct parser *ps, int got, const struct where *w, const char *expected)
{
	return fail(ps, ps->pos, -EBADMSG, w, "expected %s, found %s", expected, kind(got));
}

/* Consume @c (after whitespace) or fail saying what was expected instead. */
static inline int expect(struct parser *ps, char c, const struct where *w, const char *expected)
{
	int got = peek(ps);

	if (got != (unsigned char)c)
		return expect_fail(ps, got, w, expected);
	ps->pos++;
	return 0;
}

/* After a member or element: 1 if another follows (',' consumed), 0 at @close (consumed). */
static int __attribute__((noinline, cold))
next_fail(struct parser *ps, int c, char close, const struct where *w)
{
	return fail(ps, ps->pos, -EBADMSG, w, "expected ',' or '%c', found %s", close, kind(c));
}

static inline int next(struct parser *ps, char close, const struct where *w)
{
	int c = peek(ps);

	if (c == ',' || c == close) {
		ps->pos++;
		return c == ',';
	}
	return next_fail(ps, c, close, w);
}

static int hex4(const char *s, unsigned int *ret)
{
	unsigned int v = 0;

	for (int i = 0; i < 4; i++) {
		uint8_t d = hexv[(unsigned char)s[i]];

		if (!d)
			return -1;
		v = v << 4 | (unsigned int)(d - 1);
	}
	*ret = v;
	return 0;
}

static size_t put_utf8(char *out, unsigned int cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* One decoded character of a string: bytes of text read, bytes of UTF-8 written. */
struct char_out {
	size_t used;
	size_t len;
	char c[4];
};

/* \uXXXX at @i (the backslash), with a following low surrogate if it is a high one. */
static int unicode_escape(struct parser *ps, size_t i, const struct where *w, struct char_out *out)
{
	unsigned int cp, lo;

	if (ps->len - i < 6 || hex4(ps->s + i + 2, &cp) < 0)
		return fail(ps, i, -EBADMSG, w, "bad \\u escape");
	out->used = 6;
	if (cp >= 0xd800 && cp <= 0xdbff) {
		if (ps->len - i < 12 || ps->s[i + 6] != '\\' || ps->s[i + 7] != 'u' ||
		    hex4(ps->s + i + 8, &lo) < 0 || lo < 0xdc00 || lo > 0xdfff)
			return fail(ps, i, -EBADMSG, w, "lone UTF-16 surrogate in \\u escape");
		cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
		out->used = 12;
	} else if (cp >= 0xdc00 && cp <= 0xdfff) {
		return fail(ps, i, -EBADMSG, w, "lone UTF-16 surrogate in \\u escape");
	} else if (cp == 0) {
		return fail(ps, i, -EBADMSG, w, "NUL (\\u0000) in a string");
	}
	out->len = put_utf8(out->c, cp);
	return 0;
}

/* One character of a string at @i: an escape, a UTF-8 sequence or an ASCII byte. */
static int string_char(struct parser *ps, size_t i, const struct where *w, struct char_out *out)
{
	static const char esc_in[] = "\"\\/bfnrt", esc_out[] = "\"\\/\b\f\n\r\t";
	unsigned char c = (unsigned char)ps->s[i];
	const char *e;

	out->used = out->len = 1;
	if (c < 0x20)
		return fail(ps, i, -EBADMSG, w, "control character in a string");
	if (c >= 0x80) {
		out->used = out->len =
			vigil_utf8_seq((const unsigned char *)ps->s + i, ps->len - i);
		if (!out->used)
			return fail(ps, i, -EBADMSG, w, "invalid UTF-8");
		memcpy(out->c, ps->s + i, out->len);
		return 0;
	}
	if (c != '\\') {
		out->c[0] = (char)c;
		return 0;
	}
	if (i + 1 < ps->len && ps->s[i + 1] == 'u')
		return unicode_escape(ps, i, w, out);
	e = i + 1 < ps->len && ps->s[i + 1] ? strchr(esc_in, ps->s[i + 1]) : NULL;
	if (!e)
		return fail(ps, i, -EBADMSG, w, "bad escape in a string");
	out->c[0] = esc_out[e - esc_in];
	out->used = 2;
	return 0;
}

/* The slow path of lex_string(): decode into @buf from the first escape at @i on. */
static int lex_escaped(struct parser *ps, size_t i, char *buf, size_t max, const struct where *w,
		       struct str *out)
{
	size_t start = ps->pos + 1, n = i - start;

	if (n > max)
		return fail(ps, ps->pos, -EBADMSG, w, "longer than %zu bytes", max);
	memcpy(buf, ps->s + start, n);
	for (;;) {
		struct char_out ch;
		int r;

		if (i >= ps->len)
			return fail(ps, ps->pos, -EBADMSG, w, "unterminated string");
		if (ps->s[i] == '"')
			break;
		r = string_char(ps, i, w, &ch);
		if (r < 0)
			return r;
		if (n + ch.len > max)
			return fail(ps, ps->pos, -EBADMSG, w, "longer than %zu bytes", max);
		memcpy(buf + n, ch.c, ch.len);
		n += ch.len;
		i += ch.used;
	}
	out->p = buf;
	out->len = n;
	ps->pos = i + 1;
	return 0;
}

/*
 * A string value (after whitespace), at most @max bytes once decoded. Without escapes (almost
 * always) the result points into the text; otherwise it is decoded into @buf (room: @max + 4).
 */
static int lex_string(struct parser *ps, char *buf, size_t max, const struct where *w,
		      struct str *out)
{
	const unsigned char *s = (const unsigned char *)ps->s;
	int c = peek(ps);
	size_t i;

	if (c != '"')
		return fail(ps, ps->pos, -EBADMSG, w, "expected a string, found %s", kind(c));
	for (i = ps->pos + 1;;) {
		unsigned char ch;
		size_t k;

		i = plain_run(s, i, ps->len);
		if (i >= ps->len)
			break;
		ch = s[i];
		if (ch == '"')
			break;
		if (ch == '\\')
			return lex_escaped(ps, i, buf, max, w, out);
		if (ch < 0x20)
			return fail(ps, i, -EBADMSG, w, "control character in a string");
		k = vigil_utf8_seq(s + i, ps->len - i);
		if (!k)
			return fail(ps, i, -EBADMSG, w, "invalid UTF-8");
		i += k;
	}
	if (i >= ps->len)
		return fail(ps, ps->pos, -EBADMSG, w, "unterminated string");
	if (i - ps->pos - 1 > max)
		return fail(ps, ps->pos, -EBADMSG, w, "longer than %zu bytes", max);
	out->p = ps->s + ps->pos + 1;
	out->len = i - ps->pos - 1;
	ps->pos = i + 1;
	return 0;
}

/* A non-negative integer without fraction, exponent or leading zero, at most @max. */
static int lex_uint(struct parser *ps, uint64_t max, const struct where *w, uint64_t *ret)
{
	int c = peek(ps);
	size_t i = ps->pos;
	uint64_t v = 0;

	if (c == '-')
		return fail(ps, i, -EBADMSG, w, "out of range 0..%llu", (unsigned long long)max);
	if (c < '0' || c > '9')
		return fail(ps, i, -EBADMSG, w, "expected a number, found %s", kind(c));
	if (c == '0' && i + 1 < ps->len && ps->s[i + 1] >= '0' && ps->s[i + 1] <= '9')
		return fail(ps, i, -EBADMSG, w, "leading zero");
	for (; i < ps->len && ps->s[i] >= '0' && ps->s[i] <= '9'; i++) {
		unsigned int d = (unsigned int)(ps->s[i] - '0');

		if (v > (max - d) / 10)
			return fail(ps, ps->pos, -EBADMSG, w, "out of range 0..%llu",
				    (unsigned long long)max);
		v = v * 10 + d;
	}
	if (i < ps->len && (ps->s[i] == '.' || ps->s[i] == 'e' || ps->s[i] == 'E'))
		return fail(ps, ps->pos, -EBADMSG, w, "not an integer");
	ps->pos = i;
	*ret = v;
	return 0;
}

/* The slow path of lex_hex(): any string, decoded, then judged. */
static int lex_hex_slow(struct parser *ps, const struct where *w, uint8_t *out)
{
	uint16_t alg = ps->bank ? ps->bank : ps->p->info.hash_alg;
	size_t at = token_at(ps), n, ds = vigil_hash_size(alg);
	struct str t = { "", 0 };
	int r = lex_string(ps, ps->vbuf, HEX_TEXT_MAX, w, &t);

	if (r < 0)
		return r;
	for (size_t i = 0; i < t.len; i++)
		if (!hexv[(unsigned char)t.p[i]])
			return fail(ps, at, -EBADMSG, w, "not a hex digest");
	if (t.len % 2)
		return fail(ps, at, -EBADMSG, w, "odd number of hex digits");
	if (t.len / 2 != ds)
		return fail(ps, at, -EBADMSG, w, "%zu bytes, %s needs %zu", t.len / 2,
			    vigil_hash_name(alg), ds);
	r = vigil_hex_decode(t.p, t.len, out, ds, &n);
	return r < 0 ? fail(ps, at, -EBADMSG, w, "not a hex digest") : 0;
}

/* A digest of hash_alg's size in hex (upper or lower case), decoded into @out. */
static int lex_hex(struct parser *ps, const struct where *w, uint8_t *out)
{
	size_t ds = ps->bank ? vigil_hash_size(ps->bank) : ps->p->ds, i = 0;
	const unsigned char *s;
	unsigned int bad = 0;

	if (peek(ps) != '"' || ps->len - ps->pos < 2 * ds + 2)
		return lex_hex_slow(ps, w, out);
	s = (const unsigned char *)ps->s + ps->pos + 1;
	if (s[2 * ds] != '"')
		return lex_hex_slow(ps, w, out);
#ifdef __SSE2__
	for (; i + 8 <= ds; i += 8)
		if (!hex16(s + 2 * i, out + i))
			return lex_hex_slow(ps, w, out);
#endif
	for (; i < ds; i++) {
		unsigned int a = hexv[s[2 * i]], b = hexv[s[2 * i + 1]];

		bad |= !a | !b;
		out[i] = (uint8_t)(((a - 1) << 4 | ((b - 1) & 0xf)) & 0xff);
	}
	if (bad)
		return lex_hex_slow(ps, w, out);
	ps->pos += 2 * ds + 2;
	return 0;
}

/* Skip any JSON value, only finding its end (strings and nesting); parsed strictly later. */
static int skip_value(struct parser *ps, const struct where *w)
{
	size_t depth = 0, start = ps->pos;

	for (; ps->pos < ps->len; ps->pos++) {
		char c = ps->s[ps->pos];

		if (c == '"') {
			size_t i = ps->pos + 1;

			while (i < ps->len && ps->s[i] != '"')
				i += ps->s[i] == '\\' ? 2 : 1;
			if (i >= ps->len)
				break;
			ps->pos = i;
			if (depth == 0) {
				ps->pos++;
				return 0;
			}
		} else if (c == '{' || c == '[') {
			depth++;
		} else if (c == '}' || c == ']' || (c == ',' && depth == 0)) {
			if (depth == 0)
				return 0;
			if (--depth == 0) {
				ps->pos++;
				return 0;
			}
		}
	}
	return fail(ps, start, -EBADMSG, w, "unterminated value");
}

/* ---- the members ---- */

static int parse_format(struct parser *ps, const struct where *w)
{
	size_t at = token_at(ps);
	uint64_t v;
	int r = lex_uint(ps, VIGIL_POLICY_VERSION_MAX, w, &v);

	if (r == 0 && v != VIGIL_POLICY_FORMAT)
		return fail(ps, at, -EBADMSG, w, "unsupported format %llu (this is %d)",
			    (unsigned long long)v, VIGIL_POLICY_FORMAT);
	return r;
}

static int parse_name(struct parser *ps, const struct where *w)
{
	struct str t = { "", 0 };
	size_t at = token_at(ps);
	int r = lex_string(ps, ps->vbuf, VIGIL_POLICY_NAME_MAX, w, &t);

	if (r < 0)
		return r;
	if (!vigil_policy_name_valid(t.p, t.len))
		return fail(ps, at, -EBADMSG, w, t.len ? "only [A-Za-z0-9._-] allowed" : "empty");
	memcpy(ps->p->info.name, t.p, t.len);
	ps->p->info.name[t.len] = '\0';
	return 0;
}

static int parse_version(struct parser *ps, const struct where *w)
{
	return lex_uint(ps, VIGIL_POLICY_VERSION_MAX, w, &ps->p->info.version);
}

static int parse_time(struct parser *ps, const struct where *w, int64_t *ret)
{
	struct str t = { "", 0 };
	size_t at = token_at(ps);
	int r = lex_string(ps, ps->vbuf, KEY_MAX, w, &t);

	if (r < 0)
		return r;
	if (vigil_policy_time_parse(t.p, t.len, ret) < 0)
		return fail(ps, at, -EBADMSG, w, "not a UTC time YYYY-MM-DDTHH:MM:SSZ");
	return 0;
}

static int parse_valid_until(struct parser *ps, const struct where *w)
{
	return parse_time(ps, w, &ps->p->info.valid_until);
}

static int parse_created(struct parser *ps, const struct where *w)
{
	return parse_time(ps, w, &ps->p->info.created);
}

static int parse_hash_alg(struct parser *ps, const struct where *w)
{
	char name[KEY_MAX + 1];
	size_t at = token_at(ps);
	uint16_t alg;
	struct str t = { "", 0 };
	int r = lex_string(ps, ps->vbuf, KEY_MAX, w, &t);

	if (r < 0)
		return r;
	memcpy(name, t.p, t.len);
	name[t.len] = '\0';
	if (vigil_hash_from_name(name, &alg) < 0)
		return fail(ps, at, -EBADMSG, w, "unsupported (sha1, sha256, sha384, sha512)");
	ps->p->info.hash_alg = alg;
	ps->p->ds = vigil_hash_size(alg);
	ps->p->info.digest_size = (uint8_t)ps->p->ds;
	return 0;
}

static int parse_violations(struct parser *ps, const struct where *w)
{
	size_t at = token_at(ps);
	struct str t = { "", 0 };
	int r = lex_string(ps, ps->vbuf, KEY_MAX, w, &t);

	if (r < 0)
		return r;
	for (int v = VIGIL_POLICY_VIOLATIONS_FAIL; v <= VIGIL_POLICY_VIOLATIONS_IGNORE; v++) {
		const char *name = vigil_policy_violations_name((enum vigil_policy_violations)v);

		if (strlen(name) == t.len && !memcmp(name, t.p, t.len)) {
			ps->p->info.violations = (enum vigil_policy_violations)v;
			return 0;
		}
	}
	return fail(ps, at, -EBADMSG, w, "must be fail, warn or ignore");
}

static int parse_generator(struct parser *ps, const struct where *w)
{
	struct str t = { "", 0 };
	int r = lex_string(ps, ps->vbuf, VIGIL_POLICY_GENERATOR_MAX, w, &t);

	if (r < 0)
		return r;
	memcpy(ps->p->info.generator, t.p, t.len);
	ps->p->info.generator[t.len] = '\0';
	return 0;
}

static int parse_boot_aggregate(struct parser *ps, const struct where *w)
{
	int r = lex_hex(ps, w, ps->p->info.boot_aggregate);

	if (r == 0)
		ps->p->info.has_boot_aggregate = true;
	return r;
}

static int nomem(struct parser *ps, int r, const struct where *w)
{
	if (r == -EFBIG)
		return fail(ps, ps->pos, -EFBIG, w, "the index would exceed %zu bytes",
			    VIGIL_POLICY_INDEX_MAX);
	return fail(ps, ps->pos, r, w, "out of memory");
}

/* The directory id of @path (up to its last '/'): usually the one before. */
static int path_dir(struct vigil_policy *p, const char *path, size_t len, uint32_t *ret)
{
	const char *slash = memrchr(path, '/', len);
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	const struct vigil_policy_dir *d = p->ndirs ? &p->dirs[p->last_dir] : NULL;

	if (d && d->len == dl && !memcmp(p->dchars + d->off, path, dl)) {
		*ret = p->last_dir;
		return 0;
	}
	return vigil_policy_dir_intern(p, path, dl, ret);
}

/* The digests of one path, decoded straight into the arena after its record's header. */
static int path_digests(struct parser *ps, uint32_t off, struct where *w, size_t count_at)
{
	struct vigil_policy *p = ps->p;
	size_t count = 1;
	int r;

	for (w->index = 0;; w->index++) {
		r = p->rec_cap - p->rec_len < p->ds ? vigil_policy_rec_reserve(p, p->ds) : 0;
		if (r < 0)
			return nomem(ps, r, w);
		r = lex_hex(ps, w, p->rec + p->rec_len);
		if (r < 0)
			return r;
		p->rec_len += p->ds;
		r = next(ps, ']', w);
		if (r <= 0)
			break;
	}
	if (r == 0 && w->index == 0)
		p->rec[count_at] = 1 << 1; /* one digest: sorted, and its count takes one byte */
	else if (r == 0)
		r = vigil_policy_rec_end(p, off, &count);
	if (r < 0)
		return ps->failed ? r : nomem(ps, r, w);
	p->info.paths++;
	p->info.digests += count;
	return 0;
}

/* One "path": ["<hex>", ...] member of "digests". */
static int parse_path(struct parser *ps, const struct where *w0)
{
	struct vigil_policy *p = ps->p;
	struct where w = *w0;
	struct str path = { "", 0 };
	size_t at, count_at;
	uint32_t dir = 0, off;
	int r;

	at = token_at(ps);
	r = lex_string(ps, ps->kbuf, VIGIL_POLICY_PATH_MAX, w0, &path);
	if (r < 0)
		return r;
	w.key = path.p;
	w.key_len = path.len;
	if (path.len == 0)
		return fail(ps, at, -EBADMSG, w0, "empty path");
	if (path.p[0] != '/' && memchr(path.p, '/', path.len))
		return fail(ps, at, -EBADMSG, &w, "not absolute (a record name has no '/')");
	r = expect(ps, ':', &w, "':'");
	if (r == 0)
		r = expect(ps, '[', &w, "an array of digests");
	if (r < 0)
		return r;
	if (peek(ps) == ']')
		return fail(ps, ps->pos, -EBADMSG, &w, "no digests");
	r = ps->nrecs == ps->recs_cap ?
		    vigil_policy_grow(&ps->recs, &ps->recs_cap, ps->nrecs + 1, sizeof(*ps->recs)) :
		    0;
	if (r == 0)
		r = path_dir(p, path.p, path.len, &dir);
	if (r == 0 && p->rec_cap - p->rec_len < VIGIL_POLICY_REC_HEADER_MAX + path.len)
		r = vigil_policy_rec_reserve(p, VIGIL_POLICY_REC_HEADER_MAX + path.len);
	if (r < 0)
		return nomem(ps, r, &w);
	off = vigil_policy_rec_head(p, dir, path.p + p->dirs[dir].len, path.len - p->dirs[dir].len,
				    &count_at);
	/* hashed now, while the path is in the cache, for vigil_policy_index_build() */
	ps->recs[ps->nrecs++] = (struct vigil_policy_pending){
		.hash = vigil_policy_hash(p->seed, path.p, path.len),
		.off = off,
		.at = (uint32_t)at,
	};
	return path_digests(ps, off, &w, count_at);
}

static int parse_digests(struct parser *ps, const struct where *w)
{
	int r = expect(ps, '{', w, "an object");

	/* The arena needs fewer bytes than the text it comes from, and a path at least
	 * 2 * digest size + 8 bytes of it: reserve that much now (pages never written are never
	 * faulted in) and give back the rest at the end, instead of growing step by step. */
	if (r == 0)
		r = vigil_policy_rec_reserve(ps->p, ps->len - ps->pos);
	if (r == 0)
		r = vigil_policy_grow(&ps->recs, &ps->recs_cap,
				      (ps->len - ps->pos) / (2 * ps->p->ds + 8) + 1,
				      sizeof(*ps->recs));
	if (r == 0)
		vigil_huge_pages(ps->recs, ps->recs_cap * sizeof(*ps->recs));
	if (r < 0)
		return ps->failed ? r : nomem(ps, r, w);
	if (peek(ps) == '}') {
		ps->pos++;
		return 0;
	}
	do
		r = parse_path(ps, w);
	while (r == 0 && (r = next(ps, '}', w)) > 0);
	return r;
}

static int parse_set(struct parser *ps, const struct where *w0, struct vigil_policy_dset *s,
		     size_t *count)
{
	struct where w = *w0;
	uint8_t d[VIGIL_POLICY_DIGEST_MAX];
	int r = expect(ps, '[', w0, "an array");

	if (r < 0)
		return r;
	if (peek(ps) == ']') {
		ps->pos++;
		return 0;
	}
	for (w.index = 0;; w.index++) {
		r = lex_hex(ps, &w, d);
		if (r < 0)
			return r;
		r = vigil_policy_dset_add(s, ps->p->seed, ps->p->ds, d, NULL);
		if (r < 0)
			return nomem(ps, r, &w);
		*count = s->n;
		r = next(ps, ']', &w);
		if (r <= 0)
			return r;
	}
}

static int parse_any_path(struct parser *ps, const struct where *w)
{
	return parse_set(ps, w, &ps->p->any, &ps->p->info.any_path);
}

static int parse_deny(struct parser *ps, const struct where *w)
{
	return parse_set(ps, w, &ps->p->deny, &ps->p->info.deny);
}

static int parse_patterns(struct parser *ps, const struct where *w0, bool regex)
{
	struct where w = *w0;
	char why[128];
	int r = expect(ps, '[', w0, "an array");

	if (r < 0)
		return r;
	if (peek(ps) == ']') {
		ps->pos++;
		return 0;
	}
	for (w.index = 0;; w.index++) {
		size_t at = token_at(ps);
		struct str t = { "", 0 };

		r = lex_string(ps, ps->vbuf, VIGIL_POLICY_PATH_MAX, &w, &t);
		if (r < 0)
			return r;
		r = vigil_policy_add_pattern(ps->p, t.p, t.len, regex, why, sizeof(why));
		if (r == -ENOMEM)
			return nomem(ps, r, &w);
		if (r < 0)
			return fail(ps, at, -EBADMSG, &w, "%s%s", regex ? "invalid regex: " : "",
				    why);
		r = next(ps, ']', &w);
		if (r <= 0)
			return r;
	}
}

static int parse_excludes(struct parser *ps, const struct where *w)
{
	return parse_patterns(ps, w, false);
}

static int parse_excludes_regex(struct parser *ps, const struct where *w)
{
	return parse_patterns(ps, w, true);
}

/* "0".."23", no leading zero. */
static int pcr_index(const struct str *t)
{
	if (t->len == 1 && t->p[0] >= '0' && t->p[0] <= '9')
		return t->p[0] - '0';
	if (t->len == 2 && t->p[0] >= '1' && t->p[0] <= '2' && t->p[1] >= '0' && t->p[1] <= '9' &&
	    (t->p[0] - '0') * 10 + (t->p[1] - '0') < VIGIL_POLICY_PCR_COUNT)
		return (t->p[0] - '0') * 10 + (t->p[1] - '0');
	return -1;
}

/* One bank of "pcrs": { "<index>": "<hex>", ... }. */
static int parse_bank(struct parser *ps, const struct where *w, uint16_t alg)
{
	uint32_t seen = 0;
	int r = expect(ps, '{', w, "an object");

	if (r < 0 || peek(ps) == '}')
		return r < 0 ? r : (ps->pos++, 0);
	ps->bank = alg;
	do {
		uint8_t d[VIGIL_POLICY_DIGEST_MAX];
		size_t at = token_at(ps);
		struct str t = { "", 0 };
		int pcr;

		r = lex_string(ps, ps->kbuf, KEY_MAX, w, &t);
		if (r < 0)
			break;
		pcr = pcr_index(&t);
		if (pcr < 0) {
			r = fail(ps, at, -EBADMSG, w, "PCR index must be 0..23");
			break;
		}
		if (seen & 1u << pcr) {
			r = fail(ps, at, -ENOTUNIQ, w, "PCR %d listed twice", pcr);
			break;
		}
		seen |= 1u << pcr;
		r = expect(ps, ':', w, "':'");
		if (r == 0)
			r = lex_hex(ps, w, d);
		if (r == 0)
			r = vigil_policy_add_pcr(ps->p, alg, (uint32_t)pcr, d,
						 vigil_hash_size(alg));
		if (r == 0)
			r = next(ps, '}', w);
	} while (r > 0);
	ps->bank = 0;
	return r < 0 && !ps->failed ? nomem(ps, r, w) : r;
}

static int parse_pcrs(struct parser *ps, const struct where *w0)
{
	uint32_t banks = 0;
	int r = expect(ps, '{', w0, "an object");

	if (r < 0 || peek(ps) == '}')
		return r < 0 ? r : (ps->pos++, 0);
	do {
		char name[KEY_MAX + 1];
		size_t at = token_at(ps);
		struct where w = *w0;
		struct str t = { "", 0 };
		uint16_t alg;

		r = lex_string(ps, ps->kbuf, KEY_MAX, w0, &t);
		if (r < 0)
			return r;
		memcpy(name, t.p, t.len);
		name[t.len] = '\0';
		w.key = name;
		w.key_len = t.len;
		if (vigil_hash_from_name(name, &alg) < 0)
			return fail(ps, at, -EBADMSG, &w, "unsupported bank");
		if (banks & 1u << (alg & 31))
			return fail(ps, at, -ENOTUNIQ, &w, "bank listed twice");
		banks |= 1u << (alg & 31);
		r = expect(ps, ':', &w, "':'");
		if (r == 0)
			r = parse_bank(ps, &w, alg);
		if (r == 0)
			r = next(ps, '}', w0);
	} while (r > 0);
	return r;
}

static int parse_packages(struct parser *ps, const struct where *w0)
{
	int r = expect(ps, '{', w0, "an object");

	if (r < 0 || peek(ps) == '}')
		return r < 0 ? r : (ps->pos++, 0);
	do {
		uint8_t d[VIGIL_POLICY_DIGEST_MAX];
		size_t at = token_at(ps);
		struct where w = *w0;
		struct str t = { "", 0 };

		r = lex_hex(ps, w0, d);
		if (r < 0)
			return r;
		w.key = ps->s + at + 1;
		w.key_len = 2 * ps->p->ds;
		if (vigil_policy_dset_find(&ps->p->pkg, ps->p->seed, ps->p->ds, d) >= 0)
			return fail(ps, at, -ENOTUNIQ, &w, "digest listed twice");
		r = expect(ps, ':', &w, "':'");
		at = token_at(ps);
		if (r == 0)
			r = lex_string(ps, ps->vbuf, VIGIL_POLICY_PACKAGE_MAX, &w, &t);
		if (r < 0)
			return r;
		if (t.len == 0)
			return fail(ps, at, -EBADMSG, &w, "empty package");
		if (t.p != ps->vbuf)
			memcpy(ps->vbuf, t.p, t.len);
		ps->vbuf[t.len] = '\0';
		r = vigil_policy_add_package(ps->p, d, ps->vbuf);
		if (r < 0)
			return nomem(ps, r, &w);
		r = next(ps, '}', w0);
	} while (r > 0);
	return r;
}

static const struct {
	const char *name;
	bool required;
	bool digests; /* holds digests: parsed once hash_alg is known */
	int (*parse)(struct parser *ps, const struct where *w);
} members[M_COUNT] = {
	[M_VIGIL_POLICY] = { "vigil_policy", true, false, parse_format },
	[M_NAME] = { "name", true, false, parse_name },
	[M_VERSION] = { "version", true, false, parse_version },
	[M_VALID_UNTIL] = { "valid_until", true, false, parse_valid_until },
	[M_HASH_ALG] = { "hash_alg", true, false, parse_hash_alg },
	[M_VIOLATIONS] = { "violations", false, false, parse_violations },
	[M_DIGESTS] = { "digests", false, true, parse_digests },
	[M_ANY_PATH] = { "any_path", false, true, parse_any_path },
	[M_EXCLUDES] = { "excludes", false, false, parse_excludes },
	[M_EXCLUDES_REGEX] = { "excludes_regex", false, false, parse_excludes_regex },
	[M_DENY] = { "deny", false, true, parse_deny },
	[M_BOOT_AGGREGATE] = { "boot_aggregate", false, true, parse_boot_aggregate },
	[M_PCRS] = { "pcrs", false, false, parse_pcrs },
	[M_PACKAGES] = { "packages", false, true, parse_packages },
	[M_CREATED] = { "created", false, false, parse_created },
	[M_GENERATOR] = { "generator", false, false, parse_generator },
};

/* ---- the document ---- */

static int member(struct parser *ps)
{
	struct where w = { .member = "document", .index = -1 };
	struct str t = { "", 0 };
	size_t at;
	int m, r;

	(void)peek(ps);
	at = ps->pos;
	r = lex_string(ps, ps->kbuf, VIGIL_POLICY_PATH_MAX, &w, &t);
	if (r < 0)
		return r;
	for (m = 0; m < M_COUNT; m++)
		if (strlen(members[m].name) == t.len && !memcmp(members[m].name, t.p, t.len))
			break;
	if (m == M_COUNT) {
		w.key = t.p;
		w.key_len = t.len;
		return fail(ps, at, -EBADMSG, &w, "unknown member");
	}
	w.member = members[m].name;
	if (ps->seen & 1u << m)
		return fail(ps, at, -ENOTUNIQ, &w, "member listed twice");
	ps->seen |= 1u << m;
	r = expect(ps, ':', &w, "':'");
	if (r < 0)
		return r;
	if (members[m].digests && !(ps->seen & 1u << M_HASH_ALG)) {
		(void)peek(ps);
		ps->deferred[m] = ps->pos + 1;
		r = skip_value(ps, &w);
		ps->deferred_end[m] = ps->pos;
		return r;
	}
	return members[m].parse(ps, &w);
}

static int deferred(struct parser *ps)
{
	for (int m = 0; m < M_COUNT; m++) {
		struct where w = { .member = members[m].name, .index = -1 };
		int r;

		if (!ps->deferred[m])
			continue;
		ps->pos = ps->deferred[m] - 1;
		r = members[m].parse(ps, &w);
		if (r < 0)
			return r;
		if (ps->pos != ps->deferred_end[m])
			return fail(ps, ps->pos, -EBADMSG, &w, "malformed value");
	}
	return 0;
}

static int document(struct parser *ps)
{
	struct where doc = { .member = "document", .index = -1 };
	int r = expect(ps, '{', &doc, "an object");

	if (r < 0)
		return r;
	if (peek(ps) == '}')
		ps->pos++;
	else
		do
			r = member(ps);
		while (r == 0 && (r = next(ps, '}', &doc)) > 0);
	if (r < 0)
		return r;
	if (peek(ps) >= 0)
		return fail(ps, ps->pos, -EBADMSG, &doc, "trailing bytes after the document");
	for (int m = 0; m < M_COUNT; m++)
		if (members[m].required && !(ps->seen & 1u << m))
			return fail(ps, ps->len, -EBADMSG, &doc, "missing member \"%s\"",
				    members[m].name);
	return deferred(ps);
}

static int finish(struct parser *ps)
{
	struct where w = { .member = "digests", .index = -1 };
	char path[VIGIL_POLICY_PATH_MAX + 1];
	size_t dup = 0;
	int r = vigil_policy_index_build(ps->p, ps->recs, ps->nrecs, &dup);

	if (r == -ENOTUNIQ) {
		struct vigil_policy_rec rec;

		vigil_policy_rec_decode(ps->p, ps->recs[dup].off, &rec);
		w.key = path;
		w.key_len = vigil_policy_rec_path(ps->p, &rec, path);
		return fail(ps, ps->recs[dup].at, r, &w, "path listed twice");
	}
	if (r < 0)
		return nomem(ps, r, &w);
	vigil_policy_rec_shrink(ps->p);
	return 0;
}

/**
 * vigil_policy_parse() - parse and index a policy document
 * @text: the JSON text (need not be NUL-terminated)
 * @len: its length; more than VIGIL_POLICY_MAX is refused without reading @text
 * @ret: on success, the policy; release with vigil_policy_free()
 * @err: on -EBADMSG, -ENOTUNIQ or -EFBIG, where and why (may be NULL)
 *
 * Return: 0; -EBADMSG (not a valid policy document: see @err); -ENOTUNIQ (a member name, path,
 * bank, PCR or package digest listed twice); -EFBIG (@len > VIGIL_POLICY_MAX); -EINVAL (NULL
 * argument); -ENOMEM.
 */
int vigil_policy_parse(const char *text, size_t len, struct vigil_policy **ret,
		       struct vigil_policy_error *err)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct parser *ps;
	int r;

	if (!ret || (!text && len))
		return -EINVAL;
	if (len > VIGIL_POLICY_MAX) {
		/* said without reading a byte: the length alone is enough */
		if (err) {
			*err = (struct vigil_policy_error){ .offset = 0, .line = 1 };
			snprintf(err->what, sizeof(err->what), "document: %zu bytes, more than %zu",
				 len, VIGIL_POLICY_MAX);
		}
		return -EFBIG;
	}
	r = vigil_policy_alloc(&p);
	if (r < 0)
		return r;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return -ENOMEM;
	*ps = (struct parser){ .s = text ? text : "", .len = len, .p = p, .err = err };
	r = document(ps);
	if (r == 0)
		r = finish(ps);
	free(ps->recs);
	free(ps);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(p);
	return 0;
}
