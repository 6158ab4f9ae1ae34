// SPDX-License-Identifier: MIT
/*
 * codec.c: hex and base64 for the evidence format, the command line and the verdict.
 *
 * Decoders are strict because their input is untrusted evidence or a user's nonce: hex must have
 * an even length and only [0-9a-fA-F]; base64 is RFC 4648 §4 with canonical padding, no line
 * breaks, no whitespace and zero unused bits in the last group, so every byte string has exactly
 * one accepted encoding and two different texts never decode to the same evidence. Evidence
 * carries a measurement log of up to VIGIL_EVIDENCE_LOG_MAX bytes in base64, so the decoder
 * is table-driven rather than a character search.
 *
 * Invariants: a decoder writes its output only on success and never reads beyond @len; encoders
 * always NUL-terminate and never truncate (they fail with -ENOSPC or allocate).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "cleanup.h"

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/**
 * vigil_hex_decode() - decode a hex string into bytes
 * @hex: the digits; need not be NUL-terminated
 * @len: number of characters in @hex
 * @out: where the bytes go
 * @size: room in @out
 * @ret_len: on success, number of bytes written (@len / 2)
 *
 * Return: 0; -EINVAL for an odd length or a non-hex character; -ENOSPC if @out is too small.
 */
int vigil_hex_decode(const char *hex, size_t len, uint8_t *out, size_t size, size_t *ret_len)
{
	if (len % 2)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if (hex_value(hex[i]) < 0)
			return -EINVAL;
	if (len / 2 > size)
		return -ENOSPC;
	for (size_t i = 0; i < len / 2; i++)
		out[i] = (uint8_t)((unsigned int)hex_value(hex[2 * i]) << 4 |
				   (unsigned int)hex_value(hex[2 * i + 1]));
	*ret_len = len / 2;
	return 0;
}

/**
 * vigil_hex_encode() - encode bytes as lowercase hex
 * @in: the bytes
 * @len: number of bytes
 * @out: receives 2 * @len digits and a NUL
 * @size: room in @out
 *
 * Return: 0, or -ENOSPC if @out is smaller than 2 * @len + 1.
 */
int vigil_hex_encode(const uint8_t *in, size_t len, char *out, size_t size)
{
	static const char digits[] = "0123456789abcdef";

	if (len > (SIZE_MAX - 1) / 2 || size < 2 * len + 1)
		return -ENOSPC;
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * len] = '\0';
	return 0;
}

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/*
 * Decoding tables: for each character, its 6 bits already shifted to where they land in the
 * group's 3 output bytes (byte 0 in the low bits) for the character's position in the group,
 * plus that position's bit in the unused top byte; anything outside the alphabet is 0. One OR
 * of four lookups is a group, and an AND over all groups keeps the four top bits only if every
 * character was valid: four characters to three bytes per step, no branch (lib/dsse.c has the
 * same tables with the URL-safe alphabet added, for signed policies).
 */
#define B64_VALID 0x0f000000u
#define B64_TABLE(F)                                                                       \
	{                                                                                  \
		['A'] = F(0), ['B'] = F(1), ['C'] = F(2), ['D'] = F(3), ['E'] = F(4),      \
		['F'] = F(5), ['G'] = F(6), ['H'] = F(7), ['I'] = F(8), ['J'] = F(9),      \
		['K'] = F(10), ['L'] = F(11), ['M'] = F(12), ['N'] = F(13), ['O'] = F(14), \
		['P'] = F(15), ['Q'] = F(16), ['R'] = F(17), ['S'] = F(18), ['T'] = F(19), \
		['U'] = F(20), ['V'] = F(21), ['W'] = F(22), ['X'] = F(23), ['Y'] = F(24), \
		['Z'] = F(25), ['a'] = F(26), ['b'] = F(27), ['c'] = F(28), ['d'] = F(29), \
		['e'] = F(30), ['f'] = F(31), ['g'] = F(32), ['h'] = F(33), ['i'] = F(34), \
		['j'] = F(35), ['k'] = F(36), ['l'] = F(37), ['m'] = F(38), ['n'] = F(39), \
		['o'] = F(40), ['p'] = F(41), ['q'] = F(42), ['r'] = F(43), ['s'] = F(44), \
		['t'] = F(45), ['u'] = F(46), ['v'] = F(47), ['w'] = F(48), ['x'] = F(49), \
		['y'] = F(50), ['z'] = F(51), ['0'] = F(52), ['1'] = F(53), ['2'] = F(54), \
		['3'] = F(55), ['4'] = F(56), ['5'] = F(57), ['6'] = F(58), ['7'] = F(59), \
		['8'] = F(60), ['9'] = F(61), ['+'] = F(62), ['/'] = F(63),                \
	}
#define B64_AT0(v) ((uint32_t)(v) << 2 | 0x01000000u)
#define B64_AT1(v) ((uint32_t)(v) >> 4 | ((uint32_t)(v)&0xf) << 12 | 0x02000000u)
#define B64_AT2(v) ((uint32_t)(v) >> 2 << 8 | ((uint32_t)(v)&3) << 22 | 0x04000000u)
#define B64_AT3(v) ((uint32_t)(v) << 16 | 0x08000000u)

static const uint32_t b64_at0[256] = B64_TABLE(B64_AT0);
static const uint32_t b64_at1[256] = B64_TABLE(B64_AT1);
static const uint32_t b64_at2[256] = B64_TABLE(B64_AT2);
static const uint32_t b64_at3[256] = B64_TABLE(B64_AT3);

static int b64_value(char c)
{
	const char *p = c ? strchr(b64_alphabet, c) : NULL;

	return p ? (int)(p - b64_alphabet) : -1;
}

/**
 * vigil_base64_encode() - encode bytes as base64 (RFC 4648 §4, padded, one line)
 * @in: the bytes
 * @len: number of bytes
 * @ret: on success, a NUL-terminated string; free() it
 *
 * Return: 0, -EOVERFLOW if @len is absurd, or -ENOMEM.
 */
int vigil_base64_encode(const uint8_t *in, size_t len, char **ret)
{
	size_t full = len / 3 * 3, i;
	char *out, *p;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return -EOVERFLOW;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	p = out;
	for (i = 0; i < full; i += 3, p += 4) {
		uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];

		p[0] = b64_alphabet[v >> 18];
		p[1] = b64_alphabet[v >> 12 & 63];
		p[2] = b64_alphabet[v >> 6 & 63];
		p[3] = b64_alphabet[v & 63];
	}
	if (i < len) { /* one or two bytes left: a padded group */
		uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < len ? (uint32_t)in[i + 1] << 8 : 0);

		p[0] = b64_alphabet[v >> 18];
		p[1] = b64_alphabet[v >> 12 & 63];
		p[2] = '=';
		p[3] = '=';
		if (i + 1 < len)
			p[2] = b64_alphabet[v >> 6 & 63];
		p += 4;
	}
	*p = '\0';
	*ret = out;
	return 0;
}

/* Decode one group of four characters; @pad is the number of '=' it ends with (0..2). */
static int b64_group(const char *s, size_t pad, uint8_t *out)
{
	uint32_t v = 0;

	for (size_t i = 0; i < 4 - pad; i++) {
		int d = b64_value(s[i]);

		if (d < 0)
			return -EINVAL;
		v |= (uint32_t)d << (18 - 6 * i);
	}
	/* canonical form: the bits a padded group does not use are zero */
	if ((pad == 1 && (v & 0xff)) || (pad == 2 && (v & 0xffff)))
		return -EINVAL;
	out[0] = (uint8_t)(v >> 16);
	out[1] = (uint8_t)(v >> 8);
	out[2] = (uint8_t)v;
	return 0;
}

/* All groups but the last: four characters of the alphabet each, no padding. */
static int b64_groups(const char *s, size_t len, uint8_t *out)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t valid = B64_VALID;

	for (size_t i = 0; i < len; i += 4, out += 3) {
		uint32_t v = b64_at0[u[i]] | b64_at1[u[i + 1]] | b64_at2[u[i + 2]] |
			     b64_at3[u[i + 3]];

		valid &= v;
		out[0] = (uint8_t)v;
		out[1] = (uint8_t)(v >> 8);
		out[2] = (uint8_t)(v >> 16);
	}
	return (valid & B64_VALID) == B64_VALID ? 0 : -EINVAL;
}

static size_t b64_padding(const char *s, size_t len)
{
	if (len >= 2 && s[len - 1] == '=' && s[len - 2] == '=')
		return 2;
	if (len >= 1 && s[len - 1] == '=')
		return 1;
	return 0;
}

/**
 * vigil_base64_decode() - decode canonical, padded base64
 * @s: the text; need not be NUL-terminated
 * @len: number of characters in @s
 * @max: largest decoded size accepted
 * @ret: on success, the bytes (malloc()ed, at least one byte even for empty input); free() it
 * @ret_len: on success, number of bytes in @ret
 *
 * Return: 0; -EINVAL if @s is not canonical base64; -EFBIG if it decodes to more than @max
 * bytes; -ENOMEM.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): text, its length, then the bound */
int vigil_base64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len)
{
	uint8_t *out;
	size_t pad, n;

	if (len % 4)
		return -EINVAL;
	pad = b64_padding(s, len);
	n = len / 4 * 3 - pad;
	if (n > max)
		return -EFBIG;
	out = malloc(len / 4 * 3 + 1);
	if (!out)
		return -ENOMEM;
	if (len && (b64_groups(s, len - 4, out) < 0 ||
		    b64_group(s + len - 4, pad, out + (len - 4) / 4 * 3) < 0)) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	*ret_len = n;
	return 0;
}

/**
 * vigil_utf8_seq() - length of the UTF-8 sequence at @u
 * @u: a byte >= 0x80 and what follows it
 * @avail: bytes available at @u
 *
 * Rejects overlong forms, UTF-16 surrogates and code points above U+10FFFF.
 *
 * Return: 2..4, or 0 if @u does not start a valid sequence within @avail bytes.
 */
size_t vigil_utf8_seq(const unsigned char *u, size_t avail)
{
	unsigned int c = u[0], n, cp, min;

	if (c >= 0xc2 && c <= 0xdf)
		n = 1, cp = c & 0x1f, min = 0x80;
	else if (c >= 0xe0 && c <= 0xef)
		n = 2, cp = c & 0x0f, min = 0x800;
	else if (c >= 0xf0 && c <= 0xf4)
		n = 3, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (avail <= n)
		return 0;
	for (unsigned int k = 1; k <= n; k++) {
		if ((u[k] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (u[k] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n + 1;
}

/**
 * vigil_utf8_valid() - whether bytes are valid UTF-8 without NUL
 * @s: the bytes
 * @len: their number
 *
 * Return: true if valid (vigil_utf8_seq() for every sequence).
 */
bool vigil_utf8_valid(const char *s, size_t len)
{
	const unsigned char *u = (const unsigned char *)s;

	for (size_t i = 0; i < len;) {
		size_t n = 1;

		if (u[i] == 0)
			return false;
		if (u[i] >= 0x80) {
			n = vigil_utf8_seq(u + i, len - i);
			if (!n)
				return false;
		}
		i += n;
	}
	return true;
}

/**
 * vigil_grow() - make room for one more element in a growing array
 * @p: the address of the array pointer (NULL when empty)
 * @n: the elements in use
 * @cap: the elements allocated, doubled (from @first) when @n reaches it
 * @size: the size of one element
 * @first: the first allocation's number of elements
 *
 * Return: 0, or -ENOMEM with the array unchanged.
 */
int vigil_grow(void *p, size_t n, size_t *cap, size_t size, size_t first)
{
	void **arr = p;
	size_t want;
	void *bigger;

	if (n < *cap)
		return 0;
	want = *cap ? *cap * 2 : first;
	bigger = reallocarray(*arr, want, size);
	if (!bigger)
		return -ENOMEM;
	*arr = bigger;
	*cap = want;
	return 0;
}
