// SPDX-License-Identifier: MIT
/*
 * jws.c: JSON Web Signatures in the compact serialization (RFC 7515 §7.1), ES256 only
 * (RFC 7518 §3.4), and the unpadded base64url they are written in (RFC 4648 §5).
 *
 * A compact JWS is BASE64URL(header) "." BASE64URL(payload) "." BASE64URL(signature); the
 * signature covers the first two parts as ASCII, exactly as they appear. ES256 is ECDSA on
 * P-256 over SHA-256 with the signature written as the two 32-byte big-endian integers r and
 * s, not the DER structure OpenSSL produces and consumes, so both directions convert through
 * ECDSA_SIG. vigil writes the header {"alg":"ES256","typ":"<typ>"} and nothing else.
 *
 * What is verified, in order: at most VIGIL_JWS_MAX bytes with exactly two dots; the header
 * is base64url of one strict JSON object (lib/json.c: no duplicate members); its "alg" is the
 * string "ES256" and it has no "crit" member (vigil understands no extension, so it may not
 * ignore one); the payload and signature are non-empty base64url; the signature is 64 bytes
 * with 0 < r, s < n; it verifies under at least one trusted key. Only P-256 keys can match;
 * any other key is skipped, never an error, so one trust list can serve DSSE and JWS alike.
 *
 * Invariants: base64url is strict (no padding, no other alphabet, zero unused bits), so one
 * byte string has one spelling; every decoder is bounded; a signature that does not verify is
 * a verdict, never an errno; out-parameters are written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "compliance.h"

#define HEADER_MAX 4096 /* decoded bytes of a protected header: vigil's is 30 */
#define TYP_MAX 64
#define SIG_SIZE 64 /* r || s */
#define SCALAR_SIZE 32
#define DER_MAX 80 /* a DER ECDSA-P256 signature is at most 72 bytes */

static const char b64url_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* The 6-bit value of a base64url character, or -1. */
static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

/* Characters that encode @len bytes without padding. */
static size_t b64url_size(size_t len)
{
	return len / 3 * 4 + (len % 3 ? len % 3 + 1 : 0);
}

/**
 * vigil_base64url_encode() - encode bytes as unpadded base64url (RFC 4648 §5)
 * @in: the bytes
 * @len: their number
 * @ret: on success, the NUL-terminated text; free() it
 *
 * Return: 0, -EOVERFLOW for an absurd @len, or -ENOMEM.
 */
int vigil_base64url_encode(const uint8_t *in, size_t len, char **ret)
{
	size_t o = 0;
	char *out;

	if (len > SIZE_MAX / 4 * 3 - 3)
		return -EOVERFLOW;
	out = malloc(b64url_size(len) + 1);
	if (!out)
		return -ENOMEM;
	for (size_t i = 0; i < len; i += 3) {
		size_t n = len - i < 3 ? len - i : 3;
		uint32_t v = (uint32_t)in[i] << 16;

		if (n > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (n > 2)
			v |= in[i + 2];
		for (size_t k = 0; k <= n; k++)
			out[o++] = b64url_alphabet[v >> (18 - 6 * k) & 63];
	}
	out[o] = '\0';
	*ret = out;
	return 0;
}

/*
 * Decode @len characters (len % 4 != 1 checked by the caller) into @out. The last group's
 * bits beyond the bytes it carries must be zero: otherwise two texts would decode alike.
 */
static int b64url_run(const char *s, size_t len, uint8_t *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t o = 0;

	for (size_t i = 0; i < len; i += 4) {
		size_t n = len - i < 4 ? len - i : 4;
		uint32_t v = 0;

		for (size_t k = 0; k < n; k++) {
			int d = b64url_value(u[i + k]);

			if (d < 0)
				return -EINVAL;
			v |= (uint32_t)d << (18 - 6 * k);
		}
		if ((n == 2 && (v & 0xffff)) || (n == 3 && (v & 0xff)))
			return -EINVAL;
		out[o++] = (uint8_t)(v >> 16);
		if (n > 2)
			out[o++] = (uint8_t)(v >> 8);
		if (n > 3)
			out[o++] = (uint8_t)v;
	}
	return 0;
}

/**
 * vigil_base64url_decode() - decode strict, unpadded base64url
 * @s: the text; need not be NUL-terminated
 * @len: number of characters in @s
 * @max: largest decoded size accepted
 * @ret: on success, the bytes followed by a NUL (not counted); free() it
 * @ret_len: on success, number of bytes
 *
 * Return: 0; -EINVAL for a character outside [A-Za-z0-9_-] ('=' included), a length that
 * leaves one character over, or unused bits that are not zero; -EFBIG for more than @max
 * bytes or more than VIGIL_JWS_MAX characters; -ENOMEM.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): text, its length, then the bound */
int vigil_base64url_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len)
{
	size_t n = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	uint8_t *out;

	if (len > VIGIL_JWS_MAX)
		return -EFBIG;
	if (len % 4 == 1)
		return -EINVAL;
	if (n > max)
		return -EFBIG;
	out = malloc(n + 1);
	if (!out)
		return -ENOMEM;
	if (b64url_run(s, len, out) < 0) {
		free(out);
		return -EINVAL;
	}
	out[n] = '\0';
	*ret = out;
	*ret_len = n;
	return 0;
}

/**
 * vigil_jws_verdict_name() - the stable name of a JWS verdict
 * @v: the verdict
 *
 * Return: "verified", "bad_format", "bad_alg" or "untrusted"; "unknown" outside the enum.
 */
const char *vigil_jws_verdict_name(enum vigil_jws_verdict v)
{
	static const char *const names[] = {
		[VIGIL_JWS_VERIFIED] = "verified",
		[VIGIL_JWS_BAD_FORMAT] = "bad_format",
		[VIGIL_JWS_BAD_ALG] = "bad_alg",
		[VIGIL_JWS_UNTRUSTED] = "untrusted",
	};

	return (unsigned int)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

/* ES256 needs an EC key on P-256; everything else is not a key for this algorithm. */
static bool is_p256(EVP_PKEY *key)
{
	char group[32] = "";
	size_t len = 0;

	return EVP_PKEY_is_a(key, "EC") &&
	       EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					      &len) &&
	       !strcmp(group, "prime256v1");
}

static int sha256(const char *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	if (EVP_Digest(data, len, out, &n, EVP_sha256(), NULL) != 1 || n != 32)
		return -EIO;
	return 0;
}

/* ---- signing ---- */

/* "typ" goes into the header verbatim, so it must need no escaping. */
static bool typ_valid(const char *typ)
{
	size_t len = strlen(typ);

	if (!len || len > TYP_MAX)
		return false;
	for (size_t i = 0; i < len; i++)
		if (typ[i] < 0x20 || typ[i] > 0x7e || typ[i] == '"' || typ[i] == '\\')
			return false;
	return true;
}

/* DER from OpenSSL to the fixed-size r || s of RFC 7518 §3.4. */
static int der_to_raw(const uint8_t *der, size_t len, uint8_t raw[SIG_SIZE])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r = NULL, *s = NULL;
	int ok;

	if (!sig)
		return -EIO;
	ECDSA_SIG_get0(sig, &r, &s);
	ok = BN_bn2binpad(r, raw, SCALAR_SIZE) == SCALAR_SIZE &&
	     BN_bn2binpad(s, raw + SCALAR_SIZE, SCALAR_SIZE) == SCALAR_SIZE;
	ECDSA_SIG_free(sig);
	return ok ? 0 : -EIO;
}

/* The signature over @input, as r || s in base64url. */
static int sign_input(const char *input, size_t len, EVP_PKEY *key, char **ret)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t der[DER_MAX], raw[SIG_SIZE];
	size_t der_len = sizeof(der);
	int r;

	if (!ctx)
		return -ENOMEM;
	if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
	    EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)input, len) != 1)
		return -EIO;
	r = der_to_raw(der, der_len, raw);
	if (r == 0)
		r = vigil_base64url_encode(raw, sizeof(raw), ret);
	return r;
}

/**
 * vigil_jws_sign() - sign a payload as a compact JWS with ES256
 * @typ: the header's "typ" ("JWT"): 1..64 printable ASCII characters, no '"' or '\\'
 * @payload: the bytes to sign
 * @len: their number
 * @key: an ECDSA P-256 private key
 * @ret: on success, "b64url(header).b64url(payload).b64url(r||s)", NUL-terminated; free() it
 *
 * The header is exactly {"alg":"ES256","typ":"@typ"}.
 *
 * Return: 0; -EKEYREJECTED for a key that is not P-256; -EINVAL for a bad @typ; -EFBIG if
 * the JWS would be longer than VIGIL_JWS_MAX (a verifier would refuse it); -EIO if OpenSSL
 * failed (its error queue says why, e.g. a public key given); -ENOMEM.
 */
int vigil_jws_sign(const char *typ, const uint8_t *payload, size_t len, EVP_PKEY *key, char **ret)
{
	char header[TYP_MAX + 32];
	char *head = NULL, *body = NULL, *input = NULL, *sig = NULL, *out = NULL;
	int r;

	if (!is_p256(key))
		return -EKEYREJECTED;
	if (!typ_valid(typ))
		return -EINVAL;
	if (len > VIGIL_JWS_MAX || b64url_size(len) + (size_t)2 * TYP_MAX + 128 > VIGIL_JWS_MAX)
		return -EFBIG;
	snprintf(header, sizeof(header), "{\"alg\":\"ES256\",\"typ\":\"%s\"}", typ);
	r = vigil_base64url_encode((const uint8_t *)header, strlen(header), &head);
	if (r == 0)
		r = vigil_base64url_encode(payload, len, &body);
	if (r == 0 && asprintf(&input, "%s.%s", head, body) < 0)
		r = -ENOMEM;
	if (r == 0)
		r = sign_input(input, strlen(input), key, &sig);
	if (r == 0 && asprintf(&out, "%s.%s", input, sig) < 0)
		r = -ENOMEM;
	free(head); /* explicit frees: clang's analyzer (14) does not model cleanup attributes */
	free(body);
	free(input);
	free(sig);
	if (r < 0)
		return r;
	*ret = out;
	return 0;
}

/* ---- verification ---- */

/* The three parts of a compact JWS, as text. */
struct parts {
	const char *header, *payload, *sig;
	size_t header_len, payload_len, sig_len;
};

/* Exactly two dots; the header is non-empty (the other parts are checked after "alg"). */
static int split(const char *jws, size_t len, struct parts *p)
{
	const char *d1 = memchr(jws, '.', len), *d2;

	if (!d1)
		return VIGIL_JWS_BAD_FORMAT;
	d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - jws));
	if (!d2 || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - jws)) || d1 == jws)
		return VIGIL_JWS_BAD_FORMAT;
	p->header = jws;
	p->header_len = (size_t)(d1 - jws);
	p->payload = d1 + 1;
	p->payload_len = (size_t)(d2 - p->payload);
	p->sig = d2 + 1;
	p->sig_len = len - (size_t)(p->sig - jws);
	return VIGIL_JWS_VERIFIED;
}

/* Whether member @name of @obj is the string @want, exactly (no NUL tricks). */
static bool string_is(struct json_object *obj, const char *name, const char *want)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(obj, name, &v) &&
	       json_object_is_type(v, json_type_string) &&
	       (size_t)json_object_get_string_len(v) == strlen(want) &&
	       !memcmp(json_object_get_string(v), want, strlen(want));
}

/* The protected header: one strict JSON object, "alg" "ES256", no "crit". */
static int check_header(const struct parts *p)
{
	_cleanup_(json_object_putp) struct json_object *obj = NULL;
	uint8_t *text = NULL;
	size_t len = 0;
	int r = vigil_base64url_decode(p->header, p->header_len, HEADER_MAX, &text, &len);

	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return VIGIL_JWS_BAD_FORMAT;
	r = vigil_json_parse((const char *)text, len, HEADER_MAX, &obj);
	free(text);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || !json_object_is_type(obj, json_type_object))
		return VIGIL_JWS_BAD_FORMAT;
	if (!string_is(obj, "alg", "ES256") || json_object_object_get_ex(obj, "crit", NULL))
		return VIGIL_JWS_BAD_ALG;
	return VIGIL_JWS_VERIFIED;
}

/* The order n of P-256's base point: r and s must lie in 1..n-1. */
static const uint8_t p256_order[SCALAR_SIZE] = {
	0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17,
	0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
};

static bool scalar_in_range(const uint8_t *x)
{
	static const uint8_t zero[SCALAR_SIZE];

	return memcmp(x, zero, SCALAR_SIZE) != 0 && memcmp(x, p256_order, SCALAR_SIZE) < 0;
}

/*
 * The signature part: base64url of exactly 64 bytes, r and s in range, as the DER that
 * OpenSSL verifies. VIGIL_JWS_VERIFIED with @der filled, VIGIL_JWS_BAD_FORMAT, or -errno.
 */
static int read_sig(const struct parts *p, uint8_t der[DER_MAX], size_t *der_len)
{
	uint8_t raw[SIG_SIZE], *buf = NULL;
	size_t len = 0;
	unsigned char *out = der;
	ECDSA_SIG *sig;
	BIGNUM *r, *s;
	int n = vigil_base64url_decode(p->sig, p->sig_len, SIG_SIZE, &buf, &len);

	if (n == -ENOMEM)
		return n;
	if (n == 0 && len == SIG_SIZE)
		memcpy(raw, buf, SIG_SIZE);
	free(buf);
	if (n < 0 || len != SIG_SIZE || !scalar_in_range(raw) ||
	    !scalar_in_range(raw + SCALAR_SIZE))
		return VIGIL_JWS_BAD_FORMAT;
	sig = ECDSA_SIG_new();
	r = BN_bin2bn(raw, SCALAR_SIZE, NULL);
	s = BN_bin2bn(raw + SCALAR_SIZE, SCALAR_SIZE, NULL);
	if (!sig || !r || !s || ECDSA_SIG_set0(sig, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(sig);
		return -ENOMEM;
	}
	n = i2d_ECDSA_SIG(sig, &out);
	ECDSA_SIG_free(sig);
	if (n <= 0 || n > DER_MAX)
		return -EIO;
	*der_len = (size_t)n;
	return VIGIL_JWS_VERIFIED;
}

/* 1 if @der verifies over @digest under @key, 0 otherwise (a failure is not a match). */
static int verify_one(EVP_PKEY *key, const uint8_t *der, size_t der_len, const uint8_t *digest)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = NULL;
	int r;

	if (!is_p256(key))
		return 0;
	ctx = EVP_PKEY_CTX_new(key, NULL);
	if (!ctx)
		return -ENOMEM;
	r = EVP_PKEY_verify_init(ctx) == 1 &&
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) == 1 &&
	    EVP_PKEY_verify(ctx, der, der_len, digest, 32) == 1;
	ERR_clear_error(); /* a signature that does not verify is an outcome, not an error */
	return r;
}

/* Check the signature against every trusted key; VIGIL_JWS_VERIFIED with @ret_key, or not. */
static int find_key(const struct parts *p, EVP_PKEY *const *trusted, size_t ntrusted,
		    size_t *ret_key)
{
	uint8_t der[DER_MAX], digest[32];
	size_t der_len = 0;
	int r = read_sig(p, der, &der_len);

	if (r != VIGIL_JWS_VERIFIED)
		return r;
	r = sha256(p->header, p->header_len + 1 + p->payload_len, digest);
	if (r < 0)
		return r;
	for (size_t k = 0; k < ntrusted; k++) {
		r = verify_one(trusted[k], der, der_len, digest);
		if (r < 0)
			return r;
		if (r) {
			*ret_key = k;
			return VIGIL_JWS_VERIFIED;
		}
	}
	return VIGIL_JWS_UNTRUSTED;
}

/**
 * vigil_jws_verify() - check a compact JWS (ES256) against trusted P-256 public keys
 * @jws: the text; need not be NUL-terminated, no surrounding whitespace
 * @len: its length
 * @trusted: the trusted public keys; keys that are not P-256 never match
 * @ntrusted: their number
 * @ret_payload: on VIGIL_JWS_VERIFIED, the decoded payload, NUL-terminated; free() it
 * @ret_len: on VIGIL_JWS_VERIFIED, the payload's length
 * @ret_key: on VIGIL_JWS_VERIFIED, the index in @trusted of the key that verified; may be NULL
 *
 * The checks run in the order of the head of this file; the first failure decides. A header
 * whose "alg" is not ES256 ("none" included) is VIGIL_JWS_BAD_ALG even when the parts after
 * it are empty, as an unsecured JWS has them.
 *
 * Return: VIGIL_JWS_VERIFIED, VIGIL_JWS_BAD_FORMAT, VIGIL_JWS_BAD_ALG or VIGIL_JWS_UNTRUSTED;
 * -EIO if OpenSSL failed; -ENOMEM.
 */
int vigil_jws_verify(const char *jws, size_t len, EVP_PKEY *const *trusted, size_t ntrusted,
		     /* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): compliance.h's */
		     uint8_t **ret_payload, size_t *ret_len, size_t *ret_key)
{
	uint8_t *payload = NULL;
	struct parts p = { 0 };
	size_t plen = 0, key = 0;
	int r;

	if (len > VIGIL_JWS_MAX)
		return VIGIL_JWS_BAD_FORMAT;
	r = split(jws, len, &p);
	if (r == VIGIL_JWS_VERIFIED)
		r = check_header(&p);
	if (r != VIGIL_JWS_VERIFIED)
		return r;
	if (!p.payload_len || !p.sig_len)
		return VIGIL_JWS_BAD_FORMAT;
	r = vigil_base64url_decode(p.payload, p.payload_len, VIGIL_JWS_MAX, &payload, &plen);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return VIGIL_JWS_BAD_FORMAT;
	r = find_key(&p, trusted, ntrusted, &key);
	if (r != VIGIL_JWS_VERIFIED) {
		free(payload);
		return r;
	}
	*ret_payload = payload;
	*ret_len = plen;
	if (ret_key)
		*ret_key = key;
	return VIGIL_JWS_VERIFIED;
}
