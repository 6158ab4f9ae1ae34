// SPDX-License-Identifier: MIT
/*
 * dsse.c: DSSE v1 envelopes (secure-systems-lab/dsse): parse, sign, format and verify.
 *
 * An envelope is {"payload": b64, "payloadType": "...", "signatures": [{"keyid": "...",
 * "sig": b64}, ...]}; each signature is over PAE(payloadType, payload) = "DSSEv1" SP LEN(type)
 * SP type SP LEN(body) SP body, lengths in ASCII decimal without leading zeros, body being the
 * decoded payload bytes. Signatures are ECDSA P-256 over SHA-256 (DER) or pure Ed25519.
 *
 * The payload of a signed policy can be 30 MiB of base64, and a verifier loads it under a
 * time budget, so the envelope is read by a scanner written for it rather than a general JSON
 * parser (which would copy the big string several times): the payload's base64 is decoded
 * straight out of the text, 32 characters per step with AVX2 where the CPU has it, four per
 * step from tables otherwise, and the decoder's first non-base64 character is where the
 * string ends, so the text is read once. Only a string with an escape (legal JSON, never
 * written by DSSE tools) takes a slower path that unescapes it first. For ECDSA the PAE is
 * hashed once (header, then the payload in place) and every (signature, key) pair is checked
 * against that digest; Ed25519 signs the message itself, so for it the PAE is assembled once.
 *
 * Invariants: the parser accepts exactly one JSON object with the three members, each once,
 * and signatures with "sig" and an optional "keyid", nothing else; no trailing bytes;
 * 1..VIGIL_DSSE_SIGS_MAX signatures; payloadType 1..VIGIL_DSSE_TYPE_MAX and keyid
 * 0..VIGIL_DSSE_KEYID_MAX bytes of printable ASCII; base64 in the standard or URL-safe
 * alphabet, padded or not, with zero unused bits (DSSE requires accepting both alphabets).
 * A keyid is a hint: it only orders the attempts, it never decides. Out-parameters are
 * written only on success.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "policy.h"

#define SIG_MAX 512 /* decoded bytes of one signature: DER ECDSA is at most 72 */
#define PAE_HEADER_MAX (VIGIL_DSSE_TYPE_MAX + 64)
#define B64_SLACK 32 /* room the vector decoder's stores need past the decoded bytes */

/* ---- base64, both alphabets ---- */

/*
 * Decoding tables: for each character, its 6 bits already shifted to where they land in the
 * group's 3 output bytes (byte 0 in the low bits) for the character's position in the group,
 * plus that position's bit in the unused top byte; anything outside both alphabets is 0. One
 * OR of four lookups is a group, valid exactly when its top byte is 0x0f.
 */
#define B64_VALID 0x0f000000u
#define B64_TABLE(F)                                                                                \
	{                                                                                           \
		['A'] = F(0), ['B'] = F(1), ['C'] = F(2), ['D'] = F(3), ['E'] = F(4), ['F'] = F(5), \
		['G'] = F(6), ['H'] = F(7), ['I'] = F(8), ['J'] = F(9), ['K'] = F(10),              \
		['L'] = F(11), ['M'] = F(12), ['N'] = F(13), ['O'] = F(14), ['P'] = F(15),          \
		['Q'] = F(16), ['R'] = F(17), ['S'] = F(18), ['T'] = F(19), ['U'] = F(20),          \
		['V'] = F(21), ['W'] = F(22), ['X'] = F(23), ['Y'] = F(24), ['Z'] = F(25),          \
		['a'] = F(26), ['b'] = F(27), ['c'] = F(28), ['d'] = F(29), ['e'] = F(30),          \
		['f'] = F(31), ['g'] = F(32), ['h'] = F(33), ['i'] = F(34), ['j'] = F(35),          \
		['k'] = F(36), ['l'] = F(37), ['m'] = F(38), ['n'] = F(39), ['o'] = F(40),          \
		['p'] = F(41), ['q'] = F(42), ['r'] = F(43), ['s'] = F(44), ['t'] = F(45),          \
		['u'] = F(46), ['v'] = F(47), ['w'] = F(48), ['x'] = F(49), ['y'] = F(50),          \
		['z'] = F(51), ['0'] = F(52), ['1'] = F(53), ['2'] = F(54), ['3'] = F(55),          \
		['4'] = F(56), ['5'] = F(57), ['6'] = F(58), ['7'] = F(59), ['8'] = F(60),          \
		['9'] = F(61), ['+'] = F(62), ['/'] = F(63), ['-'] = F(62), ['_'] = F(63),          \
	}
#define B64_AT0(v) ((uint32_t)(v) << 2 | 0x01000000u)
#define B64_AT1(v) ((uint32_t)(v) >> 4 | ((uint32_t)(v)&0xf) << 12 | 0x02000000u)
#define B64_AT2(v) ((uint32_t)(v) >> 2 << 8 | ((uint32_t)(v)&3) << 22 | 0x04000000u)
#define B64_AT3(v) ((uint32_t)(v) << 16 | 0x08000000u)
#define B64_SIX(v) ((uint32_t)(v) | 0x40u) /* the plain value, for partial groups */

static const uint32_t b64_at0[256] = B64_TABLE(B64_AT0);
static const uint32_t b64_at1[256] = B64_TABLE(B64_AT1);
static const uint32_t b64_at2[256] = B64_TABLE(B64_AT2);
static const uint32_t b64_at3[256] = B64_TABLE(B64_AT3);
static const uint8_t b64_six[256] = B64_TABLE(B64_SIX);

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define B64_AVX2 1

/*
 * 32 standard-alphabet characters to 24 bytes per step (Muła and Lemire, "Faster Base64
 * Encoding and Decoding Using AVX2 Instructions", 2018): a character's high and low nibbles
 * index two small tables whose AND is non-zero exactly outside the alphabet; a third table,
 * indexed by the high nibble, gives what to add to get the 6-bit value ('/' shares its nibble
 * with '0'..'9' and is told apart by a compare); two multiply-adds pack four values into 24
 * bits and two shuffles squeeze out the gaps. A store writes 32 bytes of which 24 count.
 *
 * Return: the characters decoded, a multiple of 32, stopping before the first block that has
 * a character outside the standard alphabet (the string's end, a '-' or '_', or an error).
 */
__attribute__((target("avx2"))) static size_t b64_avx2(const char *s, size_t len, uint8_t *out)
{
	const __m256i lut_lo = _mm256_setr_epi8(0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
						0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a,
						0x15, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x11,
						0x11, 0x11, 0x13, 0x1a, 0x1b, 0x1b, 0x1b, 0x1a);
	const __m256i lut_hi = _mm256_setr_epi8(0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
						0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10,
						0x10, 0x10, 0x01, 0x02, 0x04, 0x08, 0x04, 0x08,
						0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x10);
	const __m256i lut_roll = _mm256_setr_epi8(0, 16, 19, 4, -65, -65, -71, -71, 0, 0, 0, 0, 0,
						  0, 0, 0, 0, 16, 19, 4, -65, -65, -71, -71, 0, 0,
						  0, 0, 0, 0, 0, 0);
	const __m256i pack = _mm256_setr_epi8(2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1, -1,
					      -1, 2, 1, 0, 6, 5, 4, 10, 9, 8, 14, 13, 12, -1, -1,
					      -1, -1);
	const __m256i squeeze = _mm256_setr_epi32(0, 1, 2, 4, 5, 6, -1, -1);
	const __m256i mask_2f = _mm256_set1_epi8(0x2f);
	size_t i;

	for (i = 0; i + 32 <= len; i += 32, out += 24) {
		__m256i v = _mm256_loadu_si256((const __m256i *)(const void *)(s + i));
		__m256i hi_nib = _mm256_and_si256(_mm256_srli_epi32(v, 4), mask_2f);
		__m256i lo = _mm256_shuffle_epi8(lut_lo, _mm256_and_si256(v, mask_2f));
		__m256i hi = _mm256_shuffle_epi8(lut_hi, hi_nib);
		__m256i roll;

		if (!_mm256_testz_si256(lo, hi))
			break;
		roll = _mm256_add_epi8(_mm256_cmpeq_epi8(v, mask_2f), hi_nib);
		v = _mm256_add_epi8(v, _mm256_shuffle_epi8(lut_roll, roll));
		v = _mm256_maddubs_epi16(v, _mm256_set1_epi32(0x01400140));
		v = _mm256_madd_epi16(v, _mm256_set1_epi32(0x00011000));
		v = _mm256_permutevar8x32_epi32(_mm256_shuffle_epi8(v, pack), squeeze);
		_mm256_storeu_si256((__m256i *)(void *)out, v);
	}
	return i;
}
#endif

/*
 * Decode whole groups from @s (at most @len characters) into @out (room for @len / 4 * 3
 * bytes plus B64_SLACK) until a group holds a character outside both alphabets.
 * Return the characters decoded, a multiple of 4.
 */
static size_t b64_groups(const char *s, size_t len, uint8_t *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;

#ifdef B64_AVX2
	if (len >= 64 && __builtin_cpu_supports("avx2"))
		i = b64_avx2(s, len, out);
	out += i / 4 * 3;
#endif
	for (; i + 4 <= len; i += 4, out += 3) {
		uint32_t v = b64_at0[u[i]] | b64_at1[u[i + 1]] | b64_at2[u[i + 2]] |
			     b64_at3[u[i + 3]];

		if ((v & B64_VALID) != B64_VALID)
			break;
		out[0] = (uint8_t)v;
		out[1] = (uint8_t)(v >> 8);
		out[2] = (uint8_t)(v >> 16);
	}
	return i;
}

/*
 * The end of a base64 text: 0, 2 or 3 more characters (a partial group, whose unused bits
 * must be zero), then optionally the '=' that complete it. Return the characters used, or
 * -EINVAL; *@ret_n is the number of bytes written to @out (0..2).
 */
static int b64_tail(const char *s, size_t len, uint8_t *out, size_t *ret_n)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t v = 0;
	size_t n = 0, pad = 0;

	while (n < 3 && n < len && b64_six[u[n]]) {
		v |= (b64_six[u[n]] & 63u) << (18 - 6 * n);
		n++;
	}
	if (n == 1 || (n == 2 && (v & 0xffff)) || (n == 3 && (v & 0xff)))
		return -EINVAL;
	if (n == 2 && len >= 4 && s[2] == '=' && s[3] == '=')
		pad = 2;
	else if (n == 3 && len >= 4 && s[3] == '=')
		pad = 1;
	else if (n >= 2 && n < len && s[n] == '=')
		return -EINVAL; /* padding that does not complete the group */
	if (n > 1)
		out[0] = (uint8_t)(v >> 16);
	if (n > 2)
		out[1] = (uint8_t)(v >> 8);
	*ret_n = n ? n - 1 : 0;
	return (int)(n + pad);
}

/*
 * Decode the base64 text at the start of @s (at most @len characters readable) into @out,
 * which has room for @max + 3 bytes plus B64_SLACK. Decoding stops at the first character
 * that cannot continue the text; *@ret_used says how many were consumed, *@ret_len how many
 * bytes were written. Return 0, -EINVAL (a malformed end) or -EFBIG (more than @max bytes).
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): text, bound, output, its bound */
static int b64_run(const char *s, size_t len, uint8_t *out, size_t max, size_t *ret_used,
		   size_t *ret_len)
{
	size_t limit = (max + 3) / 3 * 4; /* whole groups that decode to more than @max */
	size_t i, n = 0;
	int r;

	if (limit > len)
		limit = len;
	i = b64_groups(s, limit, out);
	if (i == (max + 3) / 3 * 4)
		return -EFBIG;
	r = b64_tail(s + i, len - i, out + i / 4 * 3, &n);
	if (r < 0)
		return r;
	if (i / 4 * 3 + n > max)
		return -EFBIG;
	*ret_used = i + (size_t)r;
	*ret_len = i / 4 * 3 + n;
	return 0;
}

/* The output buffer for @chars characters of base64 decoding to at most @max bytes. */
static uint8_t *b64_alloc(size_t chars, size_t *max)
{
	uint8_t *buf;

	if (*max > chars / 4 * 3 + 2)
		*max = chars / 4 * 3 + 2; /* no more can come out of @chars characters */
	buf = malloc(*max + 3 + B64_SLACK);
	if (buf)
		vigil_huge_pages(buf, *max + 3 + B64_SLACK);
	return buf;
}

/* ---- the envelope scanner ---- */

struct scanner {
	const char *p;
	const char *end;
};

static void skip_ws(struct scanner *sc)
{
	while (sc->p < sc->end &&
	       (*sc->p == ' ' || *sc->p == '\t' || *sc->p == '\n' || *sc->p == '\r'))
		sc->p++;
}

/* Skip whitespace and take @c. */
static int take(struct scanner *sc, char c)
{
	skip_ws(sc);
	if (sc->p == sc->end || *sc->p != c)
		return -EBADMSG;
	sc->p++;
	return 0;
}

/* After a member or an element: ',' (more follow: 1) or @close (done: 0). */
static int next_or_close(struct scanner *sc, char close)
{
	skip_ws(sc);
	if (sc->p < sc->end && *sc->p == ',') {
		sc->p++;
		return 1;
	}
	if (sc->p < sc->end && *sc->p == close) {
		sc->p++;
		return 0;
	}
	return -EBADMSG;
}

/*
 * A member name from @names, then ':'. Names are plain ASCII, so a name with an escape is
 * refused (as json.c does) and the comparison is exact. @seen is a bit per name: a second
 * one with the same name is refused, as is any name not in @names.
 */
static int take_name(struct scanner *sc, const char *const *names, size_t count, unsigned int *seen,
		     size_t *ret)
{
	const char *name, *q;

	if (take(sc, '"') < 0)
		return -EBADMSG;
	name = sc->p;
	q = memchr(name, '"', (size_t)(sc->end - name));
	if (!q || memchr(name, '\\', (size_t)(q - name)))
		return -EBADMSG;
	sc->p = q + 1;
	for (size_t i = 0; i < count; i++)
		if (strlen(names[i]) == (size_t)(q - name) &&
		    !memcmp(names[i], name, (size_t)(q - name))) {
			if (*seen & 1u << i)
				return -EBADMSG;
			*seen |= 1u << i;
			*ret = i;
			return take(sc, ':');
		}
	return -EBADMSG;
}

/*
 * The end of the JSON string starting at sc->p (after its opening quote), escapes honoured.
 * Return the index of the closing quote, or -EBADMSG; *@ret_escaped says whether any '\\'.
 */
static long string_end(const struct scanner *sc, bool *ret_escaped)
{
	size_t len = (size_t)(sc->end - sc->p);

	*ret_escaped = false;
	for (size_t i = 0; i < len; i++) {
		if (sc->p[i] == '\\') {
			*ret_escaped = true;
			i++;
		} else if (sc->p[i] == '"') {
			return i <= LONG_MAX ? (long)i : -EBADMSG;
		}
	}
	return -EBADMSG;
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Undo JSON escapes of @len characters at @s into @out (room for @len). Every string vigil
 * reads here is ASCII (base64, printable media types and key ids), so a \u escape must name
 * an ASCII character; anything else is refused rather than converted.
 */
static int unescape(const char *s, size_t len, char *out, size_t *ret_len)
{
	static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		const char *e;
		int v = 0;

		if (s[i] != '\\') {
			out[o++] = s[i];
			continue;
		}
		if (++i == len)
			return -EBADMSG;
		e = s[i] ? strchr(from, s[i]) : NULL;
		if (e) {
			out[o++] = to[e - from];
			continue;
		}
		if (s[i] != 'u' || len - i < 5)
			return -EBADMSG;
		for (size_t k = 1; k <= 4; k++) {
			int d = hex_digit(s[i + k]);

			if (d < 0)
				return -EBADMSG;
			v = v << 4 | d;
		}
		if (v > 0x7f)
			return -EBADMSG;
		out[o++] = (char)v;
		i += 4;
	}
	*ret_len = o;
	return 0;
}

/* A string's contents, unescaped into a malloc()ed, NUL-terminated buffer. */
static int take_string(struct scanner *sc, char **ret, size_t *ret_len)
{
	bool escaped;
	long end;
	size_t n = 0;
	char *buf;

	if (take(sc, '"') < 0)
		return -EBADMSG;
	end = string_end(sc, &escaped);
	if (end < 0)
		return -EBADMSG;
	buf = malloc((size_t)end + 1);
	if (!buf)
		return -ENOMEM;
	if (unescape(sc->p, (size_t)end, buf, &n) < 0) {
		free(buf);
		return -EBADMSG;
	}
	buf[n] = '\0';
	sc->p += end + 1;
	*ret = buf;
	*ret_len = n;
	return 0;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return true;
}

/* payloadType and keyid: printable ASCII of @min..@max bytes. */
static int take_text(struct scanner *sc, size_t min, size_t max, char **ret)
{
	char *s = NULL;
	size_t len = 0;
	int r = take_string(sc, &s, &len);

	if (r < 0)
		return r;
	if (len < min || len > max || !printable(s, len)) {
		free(s);
		return -EBADMSG;
	}
	*ret = s;
	return 0;
}

/* A base64 string with an escape in it: unescape, then decode all of it. */
static int take_base64_escaped(struct scanner *sc, size_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ char *text = NULL;
	_cleanup_free_ uint8_t *out = NULL;
	size_t len = 0, used = 0, n = 0;
	int r = take_string(sc, &text, &len);

	if (r < 0)
		return r;
	out = b64_alloc(len, &max);
	if (!out)
		return -ENOMEM;
	r = b64_run(text, len, out, max, &used, &n);
	if (r < 0 || used != len)
		return r == -EFBIG ? -EFBIG : -EBADMSG;
	*ret = TAKE_PTR(out);
	*ret_len = n;
	return 0;
}

/*
 * A base64 string of at most @max decoded bytes, decoded straight from the text: the decoder
 * stops at the first character that is not base64, which must be the closing quote. If it
 * is not, the string may hold an escape; then it is read again, unescaped.
 */
static int take_base64(struct scanner *sc, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t avail, used = 0, n = 0;
	bool escaped;
	uint8_t *out;
	int r;

	if (take(sc, '"') < 0)
		return -EBADMSG;
	avail = (size_t)(sc->end - sc->p);
	out = b64_alloc(avail, &max);
	if (!out)
		return -ENOMEM;
	r = b64_run(sc->p, avail, out, max, &used, &n);
	if (r == 0 && used < avail && sc->p[used] == '"') {
		sc->p += used + 1;
		*ret = out;
		*ret_len = n;
		return 0;
	}
	free(out);
	if (string_end(sc, &escaped) < 0 || !escaped)
		return r == -EFBIG ? -EFBIG : -EBADMSG;
	sc->p--; /* back to the opening quote */
	return take_base64_escaped(sc, max, ret, ret_len);
}

static int parse_signature(struct scanner *sc, struct vigil_dsse_sig *sig)
{
	static const char *const names[] = { "keyid", "sig" };
	unsigned int seen = 0;
	size_t which = 0;
	int r;

	if (take(sc, '{') < 0)
		return -EBADMSG;
	do {
		r = take_name(sc, names, 2, &seen, &which);
		if (r == 0 && which == 0)
			r = take_text(sc, 0, VIGIL_DSSE_KEYID_MAX, &sig->keyid);
		if (r == 0 && which == 1)
			r = take_base64(sc, SIG_MAX, &sig->sig, &sig->sig_len);
		if (r == 0)
			r = next_or_close(sc, '}');
	} while (r == 1);
	if (r < 0 || !(seen & 2) || !sig->sig_len)
		return r == -ENOMEM ? r : -EBADMSG;
	if (!sig->keyid)
		sig->keyid = strdup("");
	return sig->keyid ? 0 : -ENOMEM;
}

static int parse_signatures(struct scanner *sc, struct vigil_dsse *env)
{
	int r;

	if (take(sc, '[') < 0)
		return -EBADMSG;
	do {
		if (env->count == VIGIL_DSSE_SIGS_MAX)
			return -EBADMSG;
		r = parse_signature(sc, &env->sigs[env->count++]);
		if (r == 0)
			r = next_or_close(sc, ']');
	} while (r == 1);
	return r;
}

static int parse_envelope(struct scanner *sc, size_t max_payload, struct vigil_dsse *env)
{
	static const char *const names[] = { "payload", "payloadType", "signatures" };
	unsigned int seen = 0;
	size_t which = 0;
	int r;

	if (take(sc, '{') < 0)
		return -EBADMSG;
	do {
		r = take_name(sc, names, 3, &seen, &which);
		if (r == 0 && which == 0)
			r = take_base64(sc, max_payload, &env->payload, &env->payload_len);
		if (r == 0 && which == 1)
			r = take_text(sc, 1, VIGIL_DSSE_TYPE_MAX, &env->payload_type);
		if (r == 0 && which == 2)
			r = parse_signatures(sc, env);
		if (r == 0)
			r = next_or_close(sc, '}');
	} while (r == 1);
	if (r < 0)
		return r;
	skip_ws(sc);
	return seen == 7 && sc->p == sc->end ? 0 : -EBADMSG;
}

/**
 * vigil_dsse_parse() - parse a DSSE envelope strictly
 * @text: the JSON text; need not be NUL-terminated
 * @len: its length
 * @max_payload: largest decoded payload accepted
 * @ret: on success, the envelope; release with vigil_dsse_free()
 *
 * Return: 0; -EBADMSG if @text is not exactly one well-formed envelope (see the head of this
 * file); -EFBIG if the payload decodes to more than @max_payload bytes; -ENOMEM.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): text, its length, then the bound */
int vigil_dsse_parse(const char *text, size_t len, size_t max_payload, struct vigil_dsse **ret)
{
	struct vigil_dsse *env = calloc(1, sizeof(*env));
	struct scanner sc = { .p = text, .end = text + len };
	int r;

	if (!env)
		return -ENOMEM;
	r = parse_envelope(&sc, max_payload, env);
	if (r < 0) {
		vigil_dsse_free(env);
		return r;
	}
	*ret = env;
	return 0;
}

/* ---- building, signing and writing ---- */

/**
 * vigil_dsse_new() - a new envelope for a payload, without signatures yet
 * @payload_type: the payloadType: 1..VIGIL_DSSE_TYPE_MAX bytes of printable ASCII
 * @payload: the payload bytes (copied)
 * @len: their number
 * @ret: on success, the envelope; release with vigil_dsse_free()
 *
 * Return: 0, -EINVAL for a bad @payload_type, or -ENOMEM.
 */
int vigil_dsse_new(const char *payload_type, const uint8_t *payload, size_t len,
		   struct vigil_dsse **ret)
{
	size_t tlen = strlen(payload_type);
	struct vigil_dsse *env;

	if (!tlen || tlen > VIGIL_DSSE_TYPE_MAX || !printable(payload_type, tlen))
		return -EINVAL;
	env = calloc(1, sizeof(*env));
	if (!env)
		return -ENOMEM;
	env->payload_type = strdup(payload_type);
	env->payload = malloc(len ? len : 1);
	if (!env->payload_type || !env->payload) {
		vigil_dsse_free(env);
		return -ENOMEM;
	}
	if (len)
		memcpy(env->payload, payload, len);
	env->payload_len = len;
	*ret = env;
	return 0;
}

/* "DSSEv1 <len(type)> <type> <len(body)> ", what comes before the payload in the PAE. */
static int pae_header(const char *type, size_t len, char *buf, size_t size)
{
	int n = snprintf(buf, size, "DSSEv1 %zu %s %zu ", strlen(type), type, len);

	return n > 0 && (size_t)n < size ? n : -EINVAL;
}

/**
 * vigil_dsse_pae() - the pre-authentication encoding a DSSE signature covers
 * @payload_type: the payloadType
 * @payload: the payload bytes
 * @len: their number
 * @ret: on success, "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body; free() it
 * @ret_len: on success, its length
 *
 * Return: 0, -EINVAL if @payload_type is longer than VIGIL_DSSE_TYPE_MAX, -EOVERFLOW, -ENOMEM.
 */
int vigil_dsse_pae(const char *payload_type, const uint8_t *payload, size_t len, uint8_t **ret,
		   size_t *ret_len)
{
	char header[PAE_HEADER_MAX];
	int n = strlen(payload_type) > VIGIL_DSSE_TYPE_MAX ?
			-EINVAL :
			pae_header(payload_type, len, header, sizeof(header));
	uint8_t *pae;

	if (n < 0)
		return n;
	if (len > SIZE_MAX - (size_t)n)
		return -EOVERFLOW;
	pae = malloc((size_t)n + len + 1);
	if (!pae)
		return -ENOMEM;
	memcpy(pae, header, (size_t)n);
	if (len)
		memcpy(pae + n, payload, len);
	*ret = pae;
	*ret_len = (size_t)n + len;
	return 0;
}

enum key_kind {
	KEY_ECDSA_P256,
	KEY_ED25519,
};

/* Which of the two signing algorithms @key is for; -EKEYREJECTED if neither. */
static int key_kind(EVP_PKEY *key)
{
	char group[32] = "";
	size_t len = 0;

	if (EVP_PKEY_is_a(key, "ED25519"))
		return KEY_ED25519;
	if (EVP_PKEY_is_a(key, "EC") &&
	    EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					   &len) &&
	    !strcmp(group, "prime256v1"))
		return KEY_ECDSA_P256;
	return -EKEYREJECTED;
}

/* Sign the PAE: ECDSA streams header and payload through SHA-256; Ed25519 needs it whole. */
static int sign_pae(const struct vigil_dsse *env, EVP_PKEY *key, uint8_t *sig, size_t *sig_len)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	_cleanup_free_ uint8_t *pae = NULL;
	char header[PAE_HEADER_MAX];
	size_t pae_len = 0;
	int n = pae_header(env->payload_type, env->payload_len, header, sizeof(header));

	if (!ctx)
		return -ENOMEM;
	if (n < 0)
		return n;
	if (key_kind(key) == KEY_ED25519) {
		if (vigil_dsse_pae(env->payload_type, env->payload, env->payload_len, &pae,
				   &pae_len) < 0)
			return -ENOMEM;
		if (EVP_DigestSignInit(ctx, NULL, NULL, NULL, key) != 1 ||
		    EVP_DigestSign(ctx, sig, sig_len, pae, pae_len) != 1)
			return -EIO;
		return 0;
	}
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSignUpdate(ctx, header, (size_t)n) != 1 ||
	    EVP_DigestSignUpdate(ctx, env->payload, env->payload_len) != 1 ||
	    EVP_DigestSignFinal(ctx, sig, sig_len) != 1)
		return -EIO;
	return 0;
}

/**
 * vigil_dsse_sign() - add a signature to an envelope
 * @env: the envelope
 * @key: the private key: ECDSA P-256 (signs SHA-256, DER) or Ed25519 (pure)
 *
 * The signature's keyid is the key's id (vigil_sigkey_id()) in lowercase hex.
 *
 * Return: 0; -EKEYREJECTED for another kind of key; -E2BIG if @env already has
 * VIGIL_DSSE_SIGS_MAX signatures; -EIO if OpenSSL failed (its error queue says why); -ENOMEM.
 */
int vigil_dsse_sign(struct vigil_dsse *env, EVP_PKEY *key)
{
	uint8_t id[VIGIL_SIGKEY_ID_SIZE], sig[SIG_MAX];
	size_t sig_len = sizeof(sig);
	struct vigil_dsse_sig *s;
	int r;

	if (key_kind(key) < 0)
		return -EKEYREJECTED;
	if (env->count >= VIGIL_DSSE_SIGS_MAX)
		return -E2BIG;
	r = vigil_sigkey_id(key, id);
	if (r == 0)
		r = sign_pae(env, key, sig, &sig_len);
	if (r < 0)
		return r;
	s = &env->sigs[env->count];
	s->keyid = malloc(2 * sizeof(id) + 1);
	s->sig = malloc(sig_len);
	if (!s->keyid || !s->sig) {
		free(s->keyid);
		free(s->sig);
		*s = (struct vigil_dsse_sig){ 0 };
		return -ENOMEM;
	}
	vigil_hex_encode(id, sizeof(id), s->keyid, 2 * sizeof(id) + 1);
	memcpy(s->sig, sig, sig_len);
	s->sig_len = sig_len;
	env->count++;
	return 0;
}

/* Append @s (printable ASCII) to @out as the inside of a JSON string. */
static char *put_text(char *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			*out++ = '\\';
		*out++ = *s;
	}
	return out;
}

static char *put(char *out, const char *s, size_t len)
{
	memcpy(out, s, len);
	return out + len;
}

/* The signatures, base64-encoded, and the room the whole envelope needs. */
static int encode_sigs(const struct vigil_dsse *env, char **b64, size_t *ret_size)
{
	size_t size = 2 * strlen(env->payload_type) + 128;

	for (size_t i = 0; i < env->count; i++) {
		const struct vigil_dsse_sig *s = &env->sigs[i];
		int r = vigil_base64_encode(s->sig, s->sig_len, &b64[i]);

		if (r < 0)
			return r;
		size += 2 * strlen(s->keyid) + strlen(b64[i]) + 32;
	}
	*ret_size = size;
	return 0;
}

static void free_strings(char **s, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(s[i]);
}

/* What the parser would refuse is not written either. */
static bool writable(const struct vigil_dsse *env)
{
	size_t tlen = strlen(env->payload_type);

	if (!env->count || env->count > VIGIL_DSSE_SIGS_MAX || !tlen ||
	    tlen > VIGIL_DSSE_TYPE_MAX || !printable(env->payload_type, tlen))
		return false;
	for (size_t i = 0; i < env->count; i++) {
		size_t klen = strlen(env->sigs[i].keyid);

		if (klen > VIGIL_DSSE_KEYID_MAX || !printable(env->sigs[i].keyid, klen) ||
		    !env->sigs[i].sig_len || env->sigs[i].sig_len > SIG_MAX)
			return false;
	}
	return true;
}

/**
 * vigil_dsse_format() - write an envelope as JSON
 * @env: the envelope, with at least one signature
 * @ret: on success, the NUL-terminated text, one line ending in a newline; free() it
 *
 * Base64 is written in the standard alphabet with padding; members in the order of the DSSE
 * specification. What vigil_dsse_parse() accepts, this writes back to an equal envelope.
 *
 * Return: 0, -EINVAL for an envelope the parser would refuse (no signatures, a bad
 * payloadType or keyid), -EOVERFLOW or -ENOMEM.
 */
int vigil_dsse_format(const struct vigil_dsse *env, char **ret)
{
	_cleanup_free_ char *payload = NULL;
	char *sigs[VIGIL_DSSE_SIGS_MAX] = { NULL };
	size_t size = 0;
	char *out, *p;
	int r;

	if (!writable(env))
		return -EINVAL;
	r = vigil_base64_encode(env->payload, env->payload_len, &payload);
	if (r == 0)
		r = encode_sigs(env, sigs, &size);
	out = r == 0 ? malloc(size + strlen(payload)) : NULL;
	if (!out) {
		free_strings(sigs, env->count);
		return r < 0 ? r : -ENOMEM;
	}
	p = put(out, "{\"payload\":\"", 12);
	p = put(p, payload, strlen(payload));
	p = put(p, "\",\"payloadType\":\"", 17);
	p = put_text(p, env->payload_type);
	p = put(p, "\",\"signatures\":[", 16);
	for (size_t i = 0; i < env->count; i++) {
		p = put(p, i ? ",{\"keyid\":\"" : "{\"keyid\":\"", i ? 11 : 10);
		p = put_text(p, env->sigs[i].keyid);
		p = put(p, "\",\"sig\":\"", 9);
		p = put(p, sigs[i], strlen(sigs[i]));
		p = put(p, "\"}", 2);
	}
	memcpy(p, "]}\n", 4); /* with the NUL */
	free_strings(sigs, env->count);
	*ret = out;
	return 0;
}

/* ---- verification ---- */

/* What every attempt shares: the PAE's SHA-256 for ECDSA, the PAE itself for Ed25519. */
struct attempt {
	const struct vigil_dsse *env;
	uint8_t digest[32];
	bool have_digest;
	uint8_t *pae;
	size_t pae_len;
};

/* Hash the PAE in two pieces: the header, then the payload where it lies (no copy). */
static int pae_digest(struct attempt *a)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	char header[PAE_HEADER_MAX];
	unsigned int n = 0;
	int len = pae_header(a->env->payload_type, a->env->payload_len, header, sizeof(header));

	if (!ctx)
		return -ENOMEM;
	if (len < 0)
		return len;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(ctx, header, (size_t)len) != 1 ||
	    EVP_DigestUpdate(ctx, a->env->payload, a->env->payload_len) != 1 ||
	    EVP_DigestFinal_ex(ctx, a->digest, &n) != 1 || n != sizeof(a->digest))
		return -EIO;
	a->have_digest = true;
	return 0;
}

/* ECDSA over SHA-256: the DER signature against the digest. 1 verified, 0 not, -errno. */
static int verify_ecdsa(struct attempt *a, const struct vigil_dsse_sig *sig, EVP_PKEY *key)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	int r = a->have_digest ? 0 : pae_digest(a);

	if (r < 0)
		return r;
	ctx = EVP_PKEY_CTX_new(key, NULL);
	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_verify_init(ctx) != 1 || EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1)
		return -EIO;
	return EVP_PKEY_verify(ctx, sig->sig, sig->sig_len, a->digest, sizeof(a->digest)) == 1;
}

/* Pure Ed25519 over the whole PAE. 1 verified, 0 not, -errno. */
static int verify_ed25519(struct attempt *a, const struct vigil_dsse_sig *sig, EVP_PKEY *key)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = NULL;
	int r = 0;

	if (sig->sig_len != 64)
		return 0;
	if (!a->pae)
		r = vigil_dsse_pae(a->env->payload_type, a->env->payload, a->env->payload_len,
				   &a->pae, &a->pae_len);
	if (r < 0)
		return r;
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, key) != 1)
		return -EIO;
	return EVP_DigestVerify(ctx, sig->sig, sig->sig_len, a->pae, a->pae_len) == 1;
}

static int try_pair(struct attempt *a, const struct vigil_dsse_sig *sig, EVP_PKEY *key)
{
	int kind = key_kind(key);
	int r;

	if (kind < 0)
		return -EINVAL;
	r = kind == KEY_ED25519 ? verify_ed25519(a, sig, key) : verify_ecdsa(a, sig, key);
	if (r >= 0)
		ERR_clear_error(); /* a signature that does not verify is an outcome, not an error */
	return r;
}

/* Whether the signature's keyid hint names @key (its id in hex, either case). */
static bool hint_matches(const struct vigil_dsse_sig *sig, EVP_PKEY *key)
{
	uint8_t id[VIGIL_SIGKEY_ID_SIZE];
	char hex[2 * VIGIL_SIGKEY_ID_SIZE + 1];

	return strlen(sig->keyid) == 2 * sizeof(id) && vigil_sigkey_id(key, id) == 0 &&
	       vigil_hex_encode(id, sizeof(id), hex, sizeof(hex)) == 0 &&
	       !strcasecmp(sig->keyid, hex);
}

/*
 * Try every (signature, trusted key) pair; pass 0 only those whose keyid hint names the key,
 * pass 1 the rest. The hint only saves work in the usual case: a pair is tried either way.
 */
static int find_pair(struct attempt *a, EVP_PKEY *const *trusted, size_t ntrusted, size_t *ret_key)
{
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < a->env->count; i++)
			for (size_t k = 0; k < ntrusted; k++) {
				const struct vigil_dsse_sig *sig = &a->env->sigs[i];
				int r;

				if (hint_matches(sig, trusted[k]) != (pass == 0))
					continue;
				r = try_pair(a, sig, trusted[k]);
				if (r < 0)
					return r;
				if (r) {
					*ret_key = k;
					return VIGIL_DSSE_VERIFIED;
				}
			}
	return VIGIL_DSSE_UNTRUSTED;
}

/**
 * vigil_dsse_verify() - check an envelope's type and signatures against trusted keys
 * @env: the parsed envelope
 * @payload_type: the payloadType the caller expects
 * @trusted: the trusted public keys (ECDSA P-256 or Ed25519)
 * @ntrusted: their number
 * @ret_key: on VIGIL_DSSE_VERIFIED, the index in @trusted of a key whose signature verified
 *
 * The type is checked first; then the envelope is verified if any one of its signatures
 * verifies, over the PAE of the exact payload bytes, under any one trusted key. Keyids only
 * order the attempts.
 *
 * Return: VIGIL_DSSE_VERIFIED, VIGIL_DSSE_WRONG_TYPE or VIGIL_DSSE_UNTRUSTED; -EINVAL if a
 * trusted key is of another kind; -EIO if OpenSSL failed; -ENOMEM.
 */
int vigil_dsse_verify(const struct vigil_dsse *env, const char *payload_type,
		      EVP_PKEY *const *trusted, size_t ntrusted, size_t *ret_key)
{
	struct attempt a = { .env = env };
	size_t key = 0;
	int r;

	if (strcmp(env->payload_type, payload_type) != 0)
		return VIGIL_DSSE_WRONG_TYPE;
	r = find_pair(&a, trusted, ntrusted, &key);
	free(a.pae);
	if (r == VIGIL_DSSE_VERIFIED)
		*ret_key = key;
	return r;
}

/**
 * vigil_dsse_free() - release an envelope
 * @env: the envelope, or NULL
 */
void vigil_dsse_free(struct vigil_dsse *env)
{
	if (!env)
		return;
	for (size_t i = 0; i < VIGIL_DSSE_SIGS_MAX; i++) {
		free(env->sigs[i].keyid);
		free(env->sigs[i].sig);
	}
	free(env->payload_type);
	free(env->payload);
	free(env);
}

/**
 * vigil_dsse_freep() - vigil_dsse_free() for _cleanup_()
 * @env: where the envelope pointer is
 */
void vigil_dsse_freep(struct vigil_dsse **env)
{
	vigil_dsse_free(*env);
}
