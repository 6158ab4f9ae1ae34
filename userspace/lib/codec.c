// SPDX-License-Identifier: MIT
/*
 * codec.c: hex and base64 for the evidence format, the command line and the verdict.
 *
 * Decoders are strict because their input is untrusted evidence or a user's nonce: hex must have
 * an even length and only [0-9a-fA-F]; base64 is RFC 4648 §4 with canonical padding, no line
 * breaks, no whitespace and zero unused bits in the last group, so every byte string has exactly
 * one accepted encoding and two different texts never decode to the same evidence.
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
	const char pad = '=';
	char *out, *p;

	if (len > (SIZE_MAX / 4) * 3 - 3)
		return -EOVERFLOW;
	out = malloc((len + 2) / 3 * 4 + 1);
	if (!out)
		return -ENOMEM;
	p = out;
	for (size_t i = 0; i < len; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		size_t n = len - i < 3 ? len - i : 3;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		p[0] = b64_alphabet[v >> 18 & 63];
		p[1] = b64_alphabet[v >> 12 & 63];
		p[2] = pad;
		p[3] = pad;
		if (n > 1)
			p[2] = b64_alphabet[v >> 6 & 63];
		if (n > 2)
			p[3] = b64_alphabet[v & 63];
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
	for (size_t i = 0; i < len; i += 4) {
		size_t p = i + 4 == len ? pad : 0;
		int r = b64_group(s + i, p, out + i / 4 * 3);

		if (r < 0) {
			free(out);
			return r;
		}
	}
	*ret = out;
	*ret_len = n;
	return 0;
}
