// SPDX-License-Identifier: MIT
/*
 * test_ear.c: unit tests of JWS (lib/jws.c), EAT Attestation Results (lib/ear.c) and
 * `vigil ear verify` (cmd/cmd_ear.c).
 *
 * Keys are generated once per run: a trusted P-256 key, an untrusted one, an Ed25519 key and
 * a P-384 key, written as PEM into a temporary directory where the built binary (VIGIL_BIN)
 * runs. JWTs with headers vigil never writes (alg none, HS256, crit) are made by this file's
 * own signer, which uses OpenSSL directly and its own base64url (from EVP_EncodeBlock), so it
 * shares no code with lib/jws.c; the interoperability tests go through the openssl command
 * both ways (`openssl dgst -sha256 -sign` made, vigil verifies; vigil made, `openssl dgst
 * -verify` checks). Verdicts for the mapping are built by hand, one per row of the table in
 * docs/ear-format.md. LC_ALL=C keeps strerror() texts in English.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "attest.h"
#include "cleanup.h"
#include "compliance.h"
#include "policy.h"
#include "spawn.h"
#include "uapi/vigil.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

#define IAT ((int64_t)1800000000) /* 2027-01-15T08:00:00Z */
#define POLICY_ID "urn:vigil:policy:plc:7#sha256=00"

static struct {
	EVP_PKEY *ec; /* trusted: dir/ec.pem, dir/ec.pub */
	EVP_PKEY *other; /* P-256, not trusted: dir/other.pub */
	EVP_PKEY *ed; /* Ed25519: dir/ed.pub */
	EVP_PKEY *p384;
	char dir[64];
} g;

static const uint8_t nonce[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

struct run {
	int code;
	char out[16384];
	char err[8192];
};

#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

static void run_argv(struct run *r, char *argv[])
{
	int out = -1, err = -1;

	assert_int_equal(spawn_capture(argv, g.dir, &r->code, &out, &err), 0);
	assert_true(r->code >= 0);
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

/* Run "vigil ARGS..." in g.dir. */
static void run_vigil(struct run *r, const char *const args[])
{
	char *argv[16] = { VIGIL_BIN };

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	run_argv(r, argv);
}

#define RUN(r, ...) run_vigil(r, (const char *const[]){ __VA_ARGS__, NULL })

/* Run a shell command in g.dir. */
static void run_sh(struct run *r, const char *script)
{
	char *argv[] = { "/bin/sh", "-c", (char *)script, NULL };

	run_argv(r, argv);
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", g.dir, name) < sizeof(path));
	unlink(path);
	assert_int_equal(vigil_file_write_new(path, data, len, 0600), 0);
}

static uint8_t *read_file(const char *name, size_t *len)
{
	char path[256];
	uint8_t *data = NULL;

	assert_true((size_t)snprintf(path, sizeof(path), "%s/%s", g.dir, name) < sizeof(path));
	assert_int_equal(vigil_file_read(path, 1 << 20, &data, len), 0);
	return data;
}

static void write_key(const char *name, EVP_PKEY *key, bool private)
{
	_cleanup_free_ char *pem = NULL;

	if (private)
		assert_int_equal(vigil_sigkey_private_pem(key, &pem), 0);
	else
		assert_int_equal(vigil_sigkey_public_pem(key, &pem), 0);
	write_file(name, pem, strlen(pem));
}

static int setup(void **state)
{
	(void)state;
	setenv("LC_ALL", "C", 1);
	strcpy(g.dir, "/tmp/vigil-test-ear.XXXXXX");
	if (!mkdtemp(g.dir) || vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &g.ec) < 0 ||
	    vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &g.other) < 0 ||
	    vigil_sigkey_generate(VIGIL_SIGKEY_ED25519, &g.ed) < 0 ||
	    !(g.p384 = EVP_EC_gen("P-384")))
		return -1;
	write_key("ec.pem", g.ec, true);
	write_key("ec.pub", g.ec, false);
	write_key("other.pub", g.other, false);
	write_key("ed.pub", g.ed, false);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	EVP_PKEY_free(g.ec);
	EVP_PKEY_free(g.other);
	EVP_PKEY_free(g.ed);
	EVP_PKEY_free(g.p384);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- this file's own JWS signer (independent of lib/jws.c) ---- */

/* base64url from OpenSSL's base64: '+' -> '-', '/' -> '_', padding dropped. */
static char *b64url(const void *data, size_t len)
{
	char *out = malloc(len / 3 * 4 + 8);
	int n;

	assert_non_null(out);
	n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	assert_true(n >= 0);
	while (n > 0 && out[n - 1] == '=')
		n--;
	out[n] = '\0';
	for (char *p = out; *p; p++)
		*p = *p == '+' ? '-' : *p == '/' ? '_' : *p;
	return out;
}

/* DER ECDSA to r || s, by hand through OpenSSL's ECDSA_SIG. */
static void der_to_raw(const uint8_t *der, size_t len, uint8_t raw[64])
{
	const unsigned char *p = der;
	ECDSA_SIG *sig = d2i_ECDSA_SIG(NULL, &p, (long)len);
	const BIGNUM *r = NULL, *s = NULL;

	assert_non_null(sig);
	ECDSA_SIG_get0(sig, &r, &s);
	assert_int_equal(BN_bn2binpad(r, raw, 32), 32);
	assert_int_equal(BN_bn2binpad(s, raw + 32, 32), 32);
	ECDSA_SIG_free(sig);
}

static size_t raw_to_der(const uint8_t raw[64], uint8_t *der)
{
	ECDSA_SIG *sig = ECDSA_SIG_new();
	unsigned char *p = der;
	int n;

	assert_non_null(sig);
	assert_int_equal(
		ECDSA_SIG_set0(sig, BN_bin2bn(raw, 32, NULL), BN_bin2bn(raw + 32, 32, NULL)), 1);
	n = i2d_ECDSA_SIG(sig, &p);
	ECDSA_SIG_free(sig);
	assert_true(n > 0);
	return (size_t)n;
}

/* "b64url(header).b64url(payload)", the signing input. */
static char *signing_input(const char *header, const char *payload)
{
	_cleanup_free_ char *h = b64url(header, strlen(header));
	_cleanup_free_ char *p = b64url(payload, strlen(payload));
	char *out = NULL;

	assert_true(asprintf(&out, "%s.%s", h, p) > 0);
	return out;
}

/* A compact JWS of @header and @payload signed with ES256 by @key (@der: DER, not r||s). */
static char *own_jws(const char *header, const char *payload, EVP_PKEY *key, bool der)
{
	_cleanup_free_ char *input = signing_input(header, payload), *sig = NULL;
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t buf[80], raw[64];
	size_t len = sizeof(buf);
	char *out = NULL;

	assert_int_equal(EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key), 1);
	assert_int_equal(EVP_DigestSign(ctx, buf, &len, (uint8_t *)input, strlen(input)), 1);
	der_to_raw(buf, len, raw);
	sig = der ? b64url(buf, len) : b64url(raw, sizeof(raw));
	assert_true(asprintf(&out, "%s.%s", input, sig) > 0);
	return out;
}

static int jws_verify(const char *jws, EVP_PKEY *const *keys, size_t n)
{
	uint8_t *payload = NULL;
	size_t len = 0, key = 99;
	int r = vigil_jws_verify(jws, strlen(jws), keys, n, &payload, &len, &key);

	if (r == VIGIL_JWS_VERIFIED) {
		assert_non_null(payload);
		assert_true(key < n);
	}
	free(payload);
	return r;
}

/* ---- base64url ---- */

static void test_base64url_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = { { "", "" },
		  { "f", "Zg" },
		  { "fo", "Zm8" },
		  { "foo", "Zm9v" },
		  { "foob", "Zm9vYg" },
		  { "fooba", "Zm9vYmE" },
		  { "foobar", "Zm9vYmFy" },
		  { "\xfb\xff", "-_8" } };

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		_cleanup_free_ char *enc = NULL;
		_cleanup_free_ uint8_t *dec = NULL;
		size_t len = 0;

		assert_int_equal(
			vigil_base64url_encode((const uint8_t *)v[i].in, strlen(v[i].in), &enc), 0);
		assert_string_equal(enc, v[i].out);
		assert_int_equal(vigil_base64url_decode(v[i].out, strlen(v[i].out), 64, &dec, &len),
				 0);
		assert_int_equal(len, strlen(v[i].in));
		assert_memory_equal(dec, v[i].in, len);
		assert_int_equal(dec[len], 0);
	}
}

static void test_base64url_strict(void **state)
{
	static const char *const bad[] = {
		"Zg==",	 "Zm8=",  "Zg=", /* padding */
		"Zh",	 "Zm9",	  "-_9", /* unused bits not zero */
		"Z",	 "Zm9vY", /* a character over */
		"Zm9v+", "Zm/v",  "Zm 9", "Zm9v\n", "Zm\0v", /* outside the alphabet */
	};
	static const size_t bad_len[] = { 4, 4, 3, 2, 3, 3, 1, 5, 5, 4, 4, 5, 4 };
	uint8_t *out = NULL;
	size_t len = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vigil_base64url_decode(bad[i], bad_len[i], 64, &out, &len),
				 -EINVAL);
	assert_int_equal(vigil_base64url_decode("Zm9vYmFy", 8, 5, &out, &len), -EFBIG);
	assert_int_equal(vigil_base64url_decode("Zm9vYmFy", 8, 6, &out, &len), 0);
	free(out);
	assert_int_equal(vigil_base64url_decode("AAAA", VIGIL_JWS_MAX + 1, SIZE_MAX, &out, &len),
			 -EFBIG);
}

/* Every byte value at every position of every length up to 12 round-trips. */
static void test_base64url_every_byte(void **state)
{
	uint8_t buf[12];

	(void)state;
	for (size_t n = 1; n <= sizeof(buf); n++)
		for (size_t pos = 0; pos < n; pos++)
			for (unsigned int b = 0; b < 256; b++) {
				_cleanup_free_ char *enc = NULL, *ref = NULL;
				_cleanup_free_ uint8_t *dec = NULL;
				size_t len = 0;

				memset(buf, 0xa5, sizeof(buf));
				buf[pos] = (uint8_t)b;
				assert_int_equal(vigil_base64url_encode(buf, n, &enc), 0);
				ref = b64url(buf, n);
				assert_string_equal(enc, ref);
				assert_int_equal(
					vigil_base64url_decode(enc, strlen(enc), n, &dec, &len), 0);
				assert_int_equal(len, n);
				assert_memory_equal(dec, buf, n);
			}
}

/* ---- JWS ---- */

static void test_jws_round_trip(void **state)
{
	static const char payload[] = "{\"hello\":\"world\"}";
	EVP_PKEY *keys[] = { g.other, g.ec };
	_cleanup_free_ char *jws = NULL;
	_cleanup_free_ uint8_t *out = NULL, *header = NULL;
	size_t len = 0, key = 0, hlen = 0;

	(void)state;
	assert_int_equal(
		vigil_jws_sign("JWT", (const uint8_t *)payload, strlen(payload), g.ec, &jws), 0);
	assert_int_equal(vigil_jws_verify(jws, strlen(jws), keys, 2, &out, &len, &key),
			 VIGIL_JWS_VERIFIED);
	assert_int_equal(key, 1);
	assert_int_equal(len, strlen(payload));
	assert_string_equal((char *)out, payload);
	assert_int_equal(vigil_base64url_decode(jws, (size_t)(strchr(jws, '.') - jws), 64, &header,
						&hlen),
			 0);
	assert_string_equal((char *)header, "{\"alg\":\"ES256\",\"typ\":\"JWT\"}");
	free(TAKE_PTR(out));
	assert_int_equal(vigil_jws_verify(jws, strlen(jws), keys, 2, &out, &len, NULL),
			 VIGIL_JWS_VERIFIED);
	assert_string_equal(vigil_jws_verdict_name(VIGIL_JWS_BAD_ALG), "bad_alg");
}

/* A changed character anywhere fails; in the payload or signature body it is untrusted. */
static void test_jws_changed_bytes(void **state)
{
	static const char payload[] = "{\"claims\":\"some payload to change\"}";
	_cleanup_free_ char *jws = NULL;
	size_t len, d1, d2;

	(void)state;
	assert_int_equal(
		vigil_jws_sign("JWT", (const uint8_t *)payload, strlen(payload), g.ec, &jws), 0);
	len = strlen(jws);
	d1 = (size_t)(strchr(jws, '.') - jws);
	d2 = (size_t)(strrchr(jws, '.') - jws);
	for (size_t i = 0; i < len; i++) {
		char saved = jws[i];
		int r;

		if (i == d1 || i == d2)
			continue;
		jws[i] = saved == 'B' ? 'C' : 'B';
		r = jws_verify(jws, &g.ec, 1);
		jws[i] = saved;
		assert_int_not_equal(r, VIGIL_JWS_VERIFIED);
		if (i > d1 + 1 && i + 2 < d2) /* whole groups of the payload: still base64url */
			assert_int_equal(r, VIGIL_JWS_UNTRUSTED);
		if (i < d1)
			assert_true(r == VIGIL_JWS_BAD_FORMAT || r == VIGIL_JWS_BAD_ALG ||
				    r == VIGIL_JWS_UNTRUSTED);
	}
	jws[d2 + 20] = jws[d2 + 20] == 'B' ? 'C' : 'B';
	assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_UNTRUSTED);
	jws[d1 + 5] = '*';
	assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
}

static void test_jws_header_changed(void **state)
{
	_cleanup_free_ char *jws = NULL, *h = NULL, *forged = NULL;
	static const char other[] = "{\"alg\":\"ES256\",\"typ\":\"JWX\"}";

	(void)state;
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", 2, g.ec, &jws), 0);
	h = b64url(other, strlen(other));
	assert_true(asprintf(&forged, "%s%s", h, strchr(jws, '.')) > 0);
	assert_int_equal(jws_verify(forged, &g.ec, 1), VIGIL_JWS_UNTRUSTED);
}

static void test_jws_bad_alg(void **state)
{
	static const char *const headers[] = {
		"{\"alg\":\"HS256\",\"typ\":\"JWT\"}",
		"{\"alg\":\"ES384\"}",
		"{\"alg\":\"es256\"}",
		"{\"alg\":1}",
		"{\"typ\":\"JWT\"}",
		"{\"alg\":\"ES256\",\"crit\":[\"exp\"],\"exp\":1}",
		"{\"alg\":\"ES256\",\"crit\":[]}",
		"{\"alg\":\"ES256\\u0000\"}",
	};
	_cleanup_free_ char *none_h = b64url("{\"alg\":\"none\"}", 14);
	_cleanup_free_ char *p = b64url("{}", 2), *unsecured = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		_cleanup_free_ char *jws = own_jws(headers[i], "{}", g.ec, false);

		assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_BAD_ALG);
	}
	assert_true(asprintf(&unsecured, "%s.%s.", none_h, p) > 0);
	assert_int_equal(jws_verify(unsecured, &g.ec, 1), VIGIL_JWS_BAD_ALG);
}

static void test_jws_bad_header(void **state)
{
	static const char *const headers[] = {
		"[\"ES256\"]",
		"\"ES256\"",
		"{\"alg\":\"ES256\"",
		"{\"alg\":\"ES256\",\"alg\":\"ES256\"}",
		"{\"alg\":\"ES256\",\"alg\":\"none\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(headers) / sizeof(headers[0]); i++) {
		_cleanup_free_ char *jws = own_jws(headers[i], "{}", g.ec, false);

		assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	}
}

static void test_jws_wrong_key(void **state)
{
	EVP_PKEY *ed_then_ec[] = { g.ed, g.p384, g.ec };
	_cleanup_free_ char *jws = NULL;

	(void)state;
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", 2, g.ec, &jws), 0);
	assert_int_equal(jws_verify(jws, &g.other, 1), VIGIL_JWS_UNTRUSTED);
	assert_int_equal(jws_verify(jws, NULL, 0), VIGIL_JWS_UNTRUSTED);
	assert_int_equal(jws_verify(jws, &g.ed, 1), VIGIL_JWS_UNTRUSTED);
	assert_int_equal(jws_verify(jws, &g.p384, 1), VIGIL_JWS_UNTRUSTED);
	assert_int_equal(jws_verify(jws, ed_then_ec, 3), VIGIL_JWS_VERIFIED);
}

static void test_jws_bad_format(void **state)
{
	_cleanup_free_ char *jws = NULL;
	char buf[1024];
	const char *d1, *d2;
	char *big;

	(void)state;
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", 2, g.ec, &jws), 0);
	d1 = strchr(jws, '.');
	d2 = strrchr(jws, '.');
	/* padding on each part, '+' and '/', whitespace, dots */
	snprintf(buf, sizeof(buf), "%.*s=%s", (int)(d1 - jws), jws, d1);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%.*s==%s", (int)(d2 - jws), jws, d2);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%s==", jws);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%s\n", jws);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), " %s", jws);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%s.", jws);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%.*s", (int)(d2 - jws), jws);
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%.*s..%s", (int)(d1 - jws), jws, d2 + 1); /* empty payload */
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%.*s.", (int)(d2 - jws), jws); /* empty signature */
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%s", d1); /* empty header */
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	snprintf(buf, sizeof(buf), "%s", jws);
	buf[d2 - jws + 3] = '+';
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	buf[d2 - jws + 3] = '/';
	assert_int_equal(jws_verify(buf, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	assert_int_equal(jws_verify("", &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	assert_int_equal(jws_verify("..", &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	big = malloc(VIGIL_JWS_MAX + 2);
	assert_non_null(big);
	memset(big, 'A', VIGIL_JWS_MAX + 1);
	memcpy(big, jws, strlen(jws));
	big[VIGIL_JWS_MAX + 1] = '\0';
	assert_int_equal(jws_verify(big, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	free(big);
}

/* The signature must be r || s, 64 bytes, with 0 < r, s < n. */
static void test_jws_signature_encoding(void **state)
{
	static const uint8_t n[32] = { 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00,
				       0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
				       0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84,
				       0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51 };
	_cleanup_free_ char *der = own_jws("{\"alg\":\"ES256\"}", "{}", g.ec, true);
	_cleanup_free_ char *good = own_jws("{\"alg\":\"ES256\"}", "{}", g.ec, false);
	_cleanup_free_ char *input = signing_input("{\"alg\":\"ES256\"}", "{}");
	uint8_t raw[64] = { 0 };

	(void)state;
	assert_int_equal(jws_verify(good, &g.ec, 1), VIGIL_JWS_VERIFIED);
	assert_int_equal(jws_verify(der, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	for (int k = 0; k < 4; k++) {
		_cleanup_free_ char *sig = NULL, *jws = NULL;

		memset(raw, 0x11, sizeof(raw));
		memcpy(raw + (k & 1) * 32, k < 2 ? n : (const uint8_t[32]){ 0 }, 32);
		sig = b64url(raw, sizeof(raw));
		assert_true(asprintf(&jws, "%s.%s", input, sig) > 0);
		assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	}
	{
		_cleanup_free_ char *sig = b64url(raw, 63), *jws = NULL;

		assert_true(asprintf(&jws, "%s.%s", input, sig) > 0);
		assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_BAD_FORMAT);
	}
}

static void test_jws_sign_errors(void **state)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pub = NULL;
	_cleanup_free_ char *pem = NULL;
	char *jws = NULL;

	(void)state;
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", 2, g.ed, &jws),
			 -EKEYREJECTED);
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", 2, g.p384, &jws),
			 -EKEYREJECTED);
	assert_int_equal(vigil_jws_sign("J\"WT", (const uint8_t *)"{}", 2, g.ec, &jws), -EINVAL);
	assert_int_equal(vigil_jws_sign("", (const uint8_t *)"{}", 2, g.ec, &jws), -EINVAL);
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", VIGIL_JWS_MAX, g.ec, &jws),
			 -EFBIG);
	assert_int_equal(vigil_sigkey_public_pem(g.ec, &pem), 0);
	assert_int_equal(vigil_sigkey_load_public((const uint8_t *)pem, strlen(pem), &pub), 0);
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{}", 2, pub, &jws), -EIO);
	assert_null(jws);
}

/* The openssl command signs; vigil verifies. */
static void test_jws_interop_openssl_signs(void **state)
{
	_cleanup_free_ char *input =
		signing_input("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", "{\"iss\":\"openssl\"}");
	_cleanup_free_ uint8_t *der = NULL;
	_cleanup_free_ char *sig = NULL, *jws = NULL;
	uint8_t raw[64];
	size_t len = 0;
	struct run r;

	(void)state;
	write_file("input", input, strlen(input));
	run_sh(&r, "openssl dgst -sha256 -sign ec.pem -out sig.der input");
	assert_int_equal(r.code, 0);
	der = read_file("sig.der", &len);
	der_to_raw(der, len, raw);
	sig = b64url(raw, sizeof(raw));
	assert_true(asprintf(&jws, "%s.%s", input, sig) > 0);
	assert_int_equal(jws_verify(jws, &g.ec, 1), VIGIL_JWS_VERIFIED);
	assert_int_equal(jws_verify(jws, &g.other, 1), VIGIL_JWS_UNTRUSTED);
}

/* vigil signs; the openssl command verifies (after r || s back to DER). */
static void test_jws_interop_openssl_verifies(void **state)
{
	_cleanup_free_ char *jws = NULL;
	_cleanup_free_ uint8_t *raw = NULL;
	uint8_t der[80];
	size_t len = 0;
	char *dot;
	struct run r;

	(void)state;
	assert_int_equal(vigil_jws_sign("JWT", (const uint8_t *)"{\"a\":1}", 7, g.ec, &jws), 0);
	dot = strrchr(jws, '.');
	assert_int_equal(vigil_base64url_decode(dot + 1, strlen(dot + 1), 64, &raw, &len), 0);
	assert_int_equal(len, 64);
	write_file("input", jws, (size_t)(dot - jws));
	len = raw_to_der(raw, der);
	write_file("sig.der", der, len);
	run_sh(&r, "openssl dgst -sha256 -verify ec.pub -signature sig.der input");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Verified OK");
	run_sh(&r, "openssl dgst -sha256 -verify other.pub -signature sig.der input");
	assert_int_not_equal(r.code, 0);
}

/* ---- EAR: the mapping from a verdict ---- */

/* A verdict whose quote and log checks passed, with a policy applied when @policy. */
static void verdict(struct vigil_verdict *v, bool policy)
{
	vigil_verdict_init(v);
	for (int c = VIGIL_CHECK_FORMAT; c <= VIGIL_CHECK_LOG; c++)
		vigil_verdict_pass(v, c);
	if (!policy) {
		vigil_verdict_skip(v, VIGIL_CHECK_POLICY);
		return;
	}
	v->policy_applied = true;
	strcpy(v->policy_name, "plc");
	v->policy_version = 7;
	vigil_verdict_pass(v, VIGIL_CHECK_POLICY);
}

static void add_failure(struct vigil_verdict *v, enum vigil_record_reason reason, int32_t hook,
			bool warning, const char *path)
{
	struct vigil_record_failure *f;

	v->failures = realloc(v->failures, (v->failure_count + 1) * sizeof(*v->failures));
	assert_non_null(v->failures);
	f = &v->failures[v->failure_count++];
	*f = (struct vigil_record_failure){ .index = v->failure_count + 10,
					    .reason = reason,
					    .warning = warning,
					    .hook = hook,
					    .path = strdup(path) };
	if (reason != VIGIL_RECORD_VIOLATION) {
		strcpy(f->alg, "sha256");
		f->digest_len = 32;
		memset(f->digest, 0xab, 32);
	}
	if (!warning)
		vigil_verdict_fail(v, VIGIL_CHECK_POLICY, VIGIL_REJECT_RECORDS_REJECTED, "records");
}

static void to_ear(struct vigil_verdict *v, struct vigil_ear *e)
{
	vigil_verdict_finish(v);
	assert_int_equal(vigil_ear_from_verdict(v, VIGIL_EAR_VERAISON, nonce, sizeof(nonce),
						POLICY_ID, IAT, e),
			 0);
}

/* Check one submodule: @status, then "name=value" pairs, exactly those claims present. */
static void expect(const struct vigil_ear *e, enum vigil_ear_submod s, enum vigil_ear_tier status,
		   const char *claims)
{
	const struct vigil_ear_appraisal *a = &e->submods[s];
	char got[256] = "";

	for (size_t c = 0; c < VIGIL_TV_COUNT; c++)
		if (a->has[c])
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s=%d",
				 got[0] ? " " : "", vigil_ear_claim_name(c), a->tv[c]);
	assert_string_equal(got, claims);
	assert_int_equal(a->status, status);
}

static void test_map_accepted(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, true);
	to_ear(&v, &e);
	assert_true(v.accepted);
	expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_AFFIRMING, "instance-identity=2");
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_AFFIRMING,
	       "configuration=2 executables=2 file-system=2");
	assert_string_equal(e.policy_id, POLICY_ID);
	assert_string_equal(e.developer, "https://github.com/vigil-attest/vigil");
	assert_string_equal(e.build, "vigil " VIGIL_VERSION);
	assert_int_equal(e.iat, IAT);
	assert_int_equal(e.nonce_len, sizeof(nonce));
	assert_memory_equal(e.nonce, nonce, sizeof(nonce));
}

static void test_map_no_policy(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, false);
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_AFFIRMING, "instance-identity=2");
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_NONE, "");
	assert_string_equal(e.policy_id, "");
}

static void test_map_policy_unusable(void **state)
{
	static const enum vigil_reject reasons[] = { VIGIL_REJECT_POLICY_UNTRUSTED,
						     VIGIL_REJECT_POLICY_EXPIRED,
						     VIGIL_REJECT_POLICY_ROLLBACK,
						     VIGIL_REJECT_POLICY_NO_LOG };

	(void)state;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		struct vigil_verdict v;
		struct vigil_ear e;

		verdict(&v, true);
		vigil_verdict_fail(&v, VIGIL_CHECK_POLICY, reasons[i], NULL);
		to_ear(&v, &e);
		expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_AFFIRMING, "instance-identity=2");
		expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_NONE, "");
		assert_string_equal(e.policy_id, "");
	}
}

static void test_map_evidence_rejected(void **state)
{
	static const struct {
		enum vigil_check check;
		enum vigil_reject reason;
	} rows[] = { { VIGIL_CHECK_SIGNATURE, VIGIL_REJECT_BAD_SIGNATURE },
		     { VIGIL_CHECK_NONCE, VIGIL_REJECT_NONCE_MISMATCH },
		     { VIGIL_CHECK_CLOCK, VIGIL_REJECT_CLOCK_ROLLBACK },
		     { VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_MISMATCH },
		     { VIGIL_CHECK_FORMAT, VIGIL_REJECT_BAD_FORMAT } };

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		struct vigil_verdict v;
		struct vigil_ear e;

		verdict(&v, true);
		vigil_verdict_fail(&v, rows[i].check, rows[i].reason, NULL);
		to_ear(&v, &e);
		assert_false(v.accepted);
		expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_CONTRAINDICATED,
		       "instance-identity=99 hardware=99");
		expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_CONTRAINDICATED,
		       "configuration=99 executables=99 file-system=99");
		assert_string_equal(e.policy_id, "");
	}
}

static void test_map_not_in_policy(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_NOT_IN_POLICY, VIGIL_HOOK_BPRM_CHECK, false, "/usr/bin/x");
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_WARNING,
	       "configuration=2 executables=33 file-system=2");
	expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_AFFIRMING, "instance-identity=2");
	vigil_verdict_release(&v);
	/* a record of IMA's ima-ng (hook unknown) is an executable too */
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_HASH_ALG_MISMATCH, -1, false, "/usr/lib/libx.so");
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_WARNING,
	       "configuration=2 executables=33 file-system=2");
	vigil_verdict_release(&v);
}

static void test_map_config_mismatch(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_DIGEST_MISMATCH, VIGIL_HOOK_FILE_CHECK, false,
		    "/etc/plc.conf");
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_WARNING,
	       "configuration=32 executables=2 file-system=2");
	vigil_verdict_release(&v);
}

static void test_map_denied(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_NOT_IN_POLICY, VIGIL_HOOK_MMAP_CHECK, false, "/a");
	add_failure(&v, VIGIL_RECORD_DENIED, VIGIL_HOOK_BPRM_CHECK, false, "/b");
	add_failure(&v, VIGIL_RECORD_NOT_IN_POLICY, VIGIL_HOOK_BPRM_CHECK, false, "/c");
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_CONTRAINDICATED,
	       "configuration=2 executables=96 file-system=2");
	vigil_verdict_release(&v);
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_DENIED, VIGIL_HOOK_FILE_CHECK, false, "/etc/x");
	add_failure(&v, VIGIL_RECORD_VIOLATION, VIGIL_HOOK_FILE_CHECK, false, "/etc/y");
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_CONTRAINDICATED,
	       "configuration=96 executables=2 file-system=32");
	vigil_verdict_release(&v);
}

static void test_map_warning_only(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_VIOLATION, VIGIL_HOOK_FILE_CHECK, true, "/var/log/x");
	add_failure(&v, VIGIL_RECORD_DENIED, VIGIL_HOOK_BPRM_CHECK, true, "/bin/y");
	to_ear(&v, &e);
	assert_true(v.accepted);
	expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_AFFIRMING,
	       "configuration=2 executables=2 file-system=2");
	vigil_verdict_release(&v);
}

static void test_map_boot(void **state)
{
	static const enum vigil_reject failed[] = { VIGIL_REJECT_BOOT_AGGREGATE_MISMATCH,
						    VIGIL_REJECT_PCR_GOLDEN_MISMATCH };
	struct vigil_verdict v;
	struct vigil_ear e;

	(void)state;
	verdict(&v, true);
	v.boot_appraised = true;
	to_ear(&v, &e);
	expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_AFFIRMING, "instance-identity=2 executables=3");
	for (size_t i = 0; i < 2; i++) {
		verdict(&v, true);
		v.boot_appraised = true;
		vigil_verdict_fail(&v, VIGIL_CHECK_POLICY, failed[i], NULL);
		to_ear(&v, &e);
		expect(&e, VIGIL_SUBMOD_BOOT, VIGIL_TIER_WARNING,
		       "instance-identity=2 executables=33");
		expect(&e, VIGIL_SUBMOD_RUNTIME, VIGIL_TIER_AFFIRMING,
		       "configuration=2 executables=2 file-system=2");
		assert_string_equal(e.policy_id, POLICY_ID);
	}
}

static void test_map_arguments(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e = { .iat = 42 };
	char id[VIGIL_EAR_POLICY_ID_MAX + 1];

	(void)state;
	verdict(&v, true);
	vigil_verdict_finish(&v);
	assert_int_equal(vigil_ear_from_verdict(&v, 2, NULL, 0, NULL, IAT, &e), -EINVAL);
	assert_int_equal(vigil_ear_from_verdict(&v, 0, nonce, 7, NULL, IAT, &e), -EINVAL);
	assert_int_equal(vigil_ear_from_verdict(&v, 0, nonce, 65, NULL, IAT, &e), -EINVAL);
	assert_int_equal(vigil_ear_from_verdict(&v, 0, NULL, 0, NULL, -1, &e), -EINVAL);
	memset(id, 'a', sizeof(id) - 1);
	id[sizeof(id) - 1] = '\0';
	assert_int_equal(vigil_ear_from_verdict(&v, 0, NULL, 0, id, IAT, &e), -ENAMETOOLONG);
	assert_int_equal(e.iat, 42);
	assert_int_equal(vigil_ear_from_verdict(&v, VIGIL_EAR_IETF, NULL, 0, NULL, IAT, &e), 0);
	assert_int_equal(e.nonce_len, 0);
	assert_int_equal(e.profile, VIGIL_EAR_IETF);
}

static void test_tiers(void **state)
{
	static const struct {
		int value;
		enum vigil_ear_tier tier;
	} t[] = { { 0, VIGIL_TIER_NONE },
		  { 1, VIGIL_TIER_NONE },
		  { -1, VIGIL_TIER_NONE },
		  { 2, VIGIL_TIER_AFFIRMING },
		  { 31, VIGIL_TIER_AFFIRMING },
		  { -2, VIGIL_TIER_AFFIRMING },
		  { -32, VIGIL_TIER_AFFIRMING },
		  { 32, VIGIL_TIER_WARNING },
		  { 95, VIGIL_TIER_WARNING },
		  { -33, VIGIL_TIER_WARNING },
		  { -96, VIGIL_TIER_WARNING },
		  { 96, VIGIL_TIER_CONTRAINDICATED },
		  { 127, VIGIL_TIER_CONTRAINDICATED },
		  { -97, VIGIL_TIER_CONTRAINDICATED },
		  { -128, VIGIL_TIER_CONTRAINDICATED } };

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		assert_int_equal(vigil_ear_tier_of((int8_t)t[i].value), t[i].tier);
	assert_string_equal(vigil_ear_tier_name(VIGIL_TIER_WARNING), "warning");
	assert_string_equal(vigil_ear_claim_name(VIGIL_TV_FILE_SYSTEM), "file-system");
	assert_string_equal(vigil_ear_submod_name(VIGIL_SUBMOD_RUNTIME), "runtime");
	assert_string_equal(vigil_ear_verdict_name(VIGIL_EAR_BAD_CLAIMS), "bad_claims");
	assert_string_equal(vigil_ear_claim_name(VIGIL_TV_COUNT), "unknown");
}

static void test_policy_id(void **state)
{
	static const char env[] = "abc";
	char buf[VIGIL_EAR_POLICY_ID_MAX];

	(void)state;
	assert_int_equal(vigil_ear_policy_id("plc-runtime", 7, (const uint8_t *)env, 3, buf,
					     sizeof(buf)),
			 0);
	assert_string_equal(buf,
			    "urn:vigil:policy:plc-runtime:7#sha256="
			    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
	assert_int_equal(vigil_ear_policy_id("a:b", 7, (const uint8_t *)env, 3, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(vigil_ear_policy_id("", 7, (const uint8_t *)env, 3, buf, sizeof(buf)),
			 -EINVAL);
	assert_int_equal(vigil_ear_policy_id("plc", 7, (const uint8_t *)env, 3, buf, 40), -ENOSPC);
}

/* ---- EAR: signing and verifying ---- */

/* (An out-parameter: GCC 12 takes a returned pointer for one to the local that held it.) */
static void sign_ear(const struct vigil_ear *e, const struct vigil_verdict *v, char **ret)
{
	assert_int_equal(vigil_ear_sign(e, v, g.ec, ret), 0);
	assert_non_null(*ret);
}

static void round_trip(enum vigil_ear_profile profile, const char *status_name,
		       const char *policy_name)
{
	EVP_PKEY *keys[] = { g.ed, g.other, g.ec };
	struct vigil_verdict v;
	struct vigil_ear e, back;
	_cleanup_free_ char *jwt = NULL, *claims = NULL;
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	const char *detail = NULL;

	verdict(&v, true);
	v.boot_appraised = true;
	add_failure(&v, VIGIL_RECORD_NOT_IN_POLICY, VIGIL_HOOK_BPRM_CHECK, false, "/opt/bin/tool");
	add_failure(&v, VIGIL_RECORD_VIOLATION, VIGIL_HOOK_FILE_CHECK, true, "/etc/\xff.conf");
	vigil_verdict_finish(&v);
	assert_int_equal(
		vigil_ear_from_verdict(&v, profile, nonce, sizeof(nonce), POLICY_ID, IAT, &e), 0);
	sign_ear(&e, &v, &jwt);
	assert_int_equal(vigil_ear_verify(jwt, strlen(jwt), keys, 3, &back, &claims, &detail),
			 VIGIL_EAR_VALID);
	assert_true(vigil_ear_equal(&e, &back));
	assert_int_equal(vigil_json_parse(claims, strlen(claims), 1 << 20, &o), 0);
	assert_contains(claims, status_name);
	assert_contains(claims, policy_name);
	assert_contains(claims, "\"urn:vigil:ear:findings\"");
	assert_contains(claims, "\"path\": \"/opt/bin/tool\"");
	assert_contains(claims, "\"hook\": \"BPRM_CHECK\"");
	assert_contains(claims, "\"reason\": \"not_in_policy\"");
	assert_contains(claims, "\"digest\": \"abababab");
	assert_contains(claims, "/etc/\xef\xbf\xbd.conf"); /* not UTF-8: U+FFFD */
	assert_contains(claims, "\"eat_nonce\": \"ABEiM0RVZneImaq7zN3u_w\"");
	vigil_verdict_release(&v);
}

static void test_ear_round_trip_veraison(void **state)
{
	(void)state;
	round_trip(VIGIL_EAR_VERAISON, "\"ear.status\": \"warning\"",
		   "\"ear.appraisal-policy-id\": \"" POLICY_ID "\"");
}

static void test_ear_round_trip_ietf(void **state)
{
	(void)state;
	round_trip(VIGIL_EAR_IETF, "\"ear_status\": \"warning\"",
		   "\"ear_appraisal_policy_ids\": [");
}

static void test_ear_equal(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear a, b;

	(void)state;
	verdict(&v, true);
	to_ear(&v, &a);
	b = a;
	assert_true(vigil_ear_equal(&a, &b));
	b.iat++;
	assert_false(vigil_ear_equal(&a, &b));
	b = a;
	b.nonce[3] ^= 1;
	assert_false(vigil_ear_equal(&a, &b));
	b = a;
	b.submods[1].tv[VIGIL_TV_EXECUTABLES] = 3;
	assert_false(vigil_ear_equal(&a, &b));
	b = a;
	b.submods[0].has[VIGIL_TV_HARDWARE] = true;
	assert_false(vigil_ear_equal(&a, &b));
	b = a;
	b.build[0] = 'V';
	assert_false(vigil_ear_equal(&a, &b));
	b = a;
	b.policy_id[0] = '\0';
	assert_false(vigil_ear_equal(&a, &b));
	b = a;
	b.profile = VIGIL_EAR_IETF;
	assert_false(vigil_ear_equal(&a, &b));
}

static void test_ear_sign_refuses(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e, bad;
	char *jwt = NULL;

	(void)state;
	verdict(&v, true);
	add_failure(&v, VIGIL_RECORD_DENIED, VIGIL_HOOK_BPRM_CHECK, false, "/x");
	to_ear(&v, &e);
	bad = e;
	bad.submods[VIGIL_SUBMOD_RUNTIME].status = VIGIL_TIER_WARNING; /* claims: 96 */
	assert_int_equal(vigil_ear_sign(&bad, NULL, g.ec, &jwt), -EINVAL);
	bad = e;
	bad.submods[VIGIL_SUBMOD_BOOT].status = 5;
	assert_int_equal(vigil_ear_sign(&bad, NULL, g.ec, &jwt), -EINVAL);
	bad = e;
	bad.developer[0] = '\0';
	assert_int_equal(vigil_ear_sign(&bad, NULL, g.ec, &jwt), -EINVAL);
	bad = e;
	memset(bad.build, 'x', sizeof(bad.build));
	assert_int_equal(vigil_ear_sign(&bad, NULL, g.ec, &jwt), -EINVAL);
	bad = e;
	bad.nonce_len = 3;
	assert_int_equal(vigil_ear_sign(&bad, NULL, g.ec, &jwt), -EINVAL);
	assert_int_equal(vigil_ear_sign(&e, NULL, g.ed, &jwt), -EKEYREJECTED);
	assert_null(jwt);
	/* the worse status than the claims is allowed */
	bad = e;
	bad.submods[VIGIL_SUBMOD_BOOT].status = VIGIL_TIER_CONTRAINDICATED;
	sign_ear(&bad, NULL, &jwt);
	free(jwt);
	vigil_verdict_release(&v);
}

/* Many long findings: the EAR stays within its bound, the rest are counted. */
static void test_ear_findings_bounded(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e, back;
	_cleanup_free_ char *jwt = NULL, *claims = NULL;
	char path[4000];

	(void)state;
	memset(path, 'p', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	verdict(&v, true);
	for (int i = 0; i < 200; i++)
		add_failure(&v, VIGIL_RECORD_NOT_IN_POLICY, VIGIL_HOOK_BPRM_CHECK, false, path);
	to_ear(&v, &e);
	sign_ear(&e, &v, &jwt);
	assert_true(strlen(jwt) < VIGIL_JWS_MAX);
	assert_int_equal(vigil_ear_verify(jwt, strlen(jwt), &g.ec, 1, &back, &claims, NULL),
			 VIGIL_EAR_VALID);
	assert_true(vigil_ear_equal(&e, &back));
	assert_contains(claims, "\"urn:vigil:ear:findings-omitted\": ");
	vigil_verdict_release(&v);
}

static void test_ear_untrusted_and_tampered(void **state)
{
	struct vigil_verdict v;
	struct vigil_ear e, back = { .iat = 5 };
	_cleanup_free_ char *jwt = NULL;
	const char *detail = NULL;
	size_t dot;

	(void)state;
	verdict(&v, false);
	to_ear(&v, &e);
	sign_ear(&e, NULL, &jwt);
	assert_int_equal(vigil_ear_verify(jwt, strlen(jwt), &g.other, 1, &back, NULL, &detail),
			 VIGIL_EAR_UNTRUSTED);
	assert_non_null(detail);
	assert_int_equal(vigil_ear_verify(jwt, strlen(jwt), &g.ed, 1, &back, NULL, &detail),
			 VIGIL_EAR_UNTRUSTED);
	dot = (size_t)(strchr(jwt, '.') - jwt);
	jwt[dot + 10] = jwt[dot + 10] == 'A' ? 'B' : 'A';
	assert_int_equal(vigil_ear_verify(jwt, strlen(jwt), &g.ec, 1, &back, NULL, &detail),
			 VIGIL_EAR_UNTRUSTED);
	jwt[dot + 10] = '.';
	assert_int_equal(vigil_ear_verify(jwt, strlen(jwt), &g.ec, 1, &back, NULL, &detail),
			 VIGIL_EAR_BAD_FORMAT);
	assert_int_equal(back.iat, 5);
}

/* Claims sets this file writes by hand, signed by its own signer. */
#define VID "\"ear.verifier-id\":{\"developer\":\"d\",\"build\":\"b\"}"
#define TOP "\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON "\",\"iat\":1," VID
#define BOOT \
	"\"boot\":{\"ear.status\":\"affirming\",\"ear.trustworthiness-vector\":{\"instance-identity\":2}}"
#define RT "\"runtime\":{\"ear.status\":\"none\",\"ear.trustworthiness-vector\":{}}"
#define IETF_VID "\"ear_verifier_id\":{\"developer\":\"d\",\"build\":\"b\"}"
#define IETF_TOP "\"eat_profile\":\"" VIGIL_EAR_PROFILE_IETF "\",\"iat\":1," IETF_VID
#define IETF_BOOT \
	"\"boot\":{\"ear_status\":\"affirming\",\"ear_trustworthiness_vector\":{\"hardware\":2}}"
#define IETF_RT "\"runtime\":{\"ear_status\":\"none\",\"ear_trustworthiness_vector\":{}"

static int verify_claims(const char *claims, const char **detail)
{
	_cleanup_free_ char *jwt =
		own_jws("{\"alg\":\"ES256\",\"typ\":\"JWT\"}", claims, g.ec, false);
	struct vigil_ear e;
	int r = vigil_ear_verify(jwt, strlen(jwt), &g.ec, 1, &e, NULL, detail);
	int p = vigil_ear_parse_claims((const uint8_t *)claims, strlen(claims), &e, NULL);

	assert_int_equal(r, p); /* the reader is the same with and without a signature */
	return r;
}

static void test_ear_claims_accepted(void **state)
{
	static const char *const ok[] = {
		"{" TOP ",\"submods\":{" BOOT "," RT "}}",
		"{" TOP ",\"submods\":{" RT "," BOOT
		"},\"exp\":5,\"x\":{\"y\":[1,2]}}", /* unknown */
		"{" IETF_TOP ",\"submods\":{" IETF_BOOT "," IETF_RT
		",\"ear_appraisal_policy_ids\":[\"p\"]}}}",
		"{" TOP ",\"eat_nonce\":\"AAAAAAAAAAA\",\"submods\":{" BOOT "," RT "}}",
		"{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"contraindicated\","
		"\"ear.trustworthiness-vector\":{\"executables\":-2,\"sourced-data\":-128}}}}",
		"{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"warning\","
		"\"ear.trustworthiness-vector\":{\"executables\":33},\"urn:vigil:ear:findings\":[{"
		"\"index\":1}],\"ear.appraisal-policy-id\":\"p\"}}}",
	};
	const char *detail = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++)
		if (verify_claims(ok[i], &detail) != VIGIL_EAR_VALID)
			fail_msg("claims %zu rejected: %s", i, detail);
}

static void test_ear_claims_rejected(void **state)
{
	static const struct {
		const char *claims, *detail;
	} bad[] = {
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"affirming\","
		  "\"ear.trustworthiness-vector\":{\"executables\":33}}}}",
		  "status better than its claims" },
		{ "{" TOP ",\"submods\":{" BOOT "}}", "the boot or the runtime submod is missing" },
		{ "{" TOP ",\"submods\":{" RT "}}", "the boot or the runtime submod is missing" },
		{ "{" TOP ",\"submods\":{" BOOT "," RT ",\"gpu\":{}}}",
		  "a submod other than boot" },
		{ "{" TOP "}", "submods" },
		{ "{\"iat\":1," VID ",\"submods\":{" BOOT "," RT "}}", "eat_profile" },
		{ "{\"eat_profile\":\"tag:x\",\"iat\":1," VID ",\"submods\":{" BOOT "," RT "}}",
		  "eat_profile" },
		{ "{\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON "\"," VID ",\"submods\":{" BOOT
		  "," RT "}}",
		  "iat" },
		{ "{\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON "\",\"iat\":1.5," VID
		  ",\"submods\":{" BOOT "," RT "}}",
		  "iat" },
		{ "{\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON "\",\"iat\":-1," VID
		  ",\"submods\":{" BOOT "," RT "}}",
		  "iat" },
		{ "{\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON
		  "\",\"iat\":99999999999999999999," VID ",\"submods\":{" BOOT "," RT "}}",
		  "iat" },
		{ "{\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON "\",\"iat\":1,\"submods\":{" BOOT
		  "," RT "}}",
		  "verifier id" },
		{ "{" TOP "," IETF_VID ",\"submods\":{" BOOT "," RT "}}", "other EAR profile" },
		{ "{" IETF_TOP ",\"submods\":{" BOOT "," RT "}}", "other EAR profile" },
		{ "{" TOP ",\"iat\":2,\"submods\":{" BOOT "," RT "}}", "repeated" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"none\","
		  "\"ear.trustworthiness-vector\":{},\"ear.status\":\"none\"}}}",
		  "repeated" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"great\","
		  "\"ear.trustworthiness-vector\":{}}}}",
		  "status" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"none\"}}}",
		  "no trustworthiness vector" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"contraindicated\","
		  "\"ear.trustworthiness-vector\":{\"executables\":128}}}}",
		  "-128..127" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"contraindicated\","
		  "\"ear.trustworthiness-vector\":{\"executables\":\"96\"}}}}",
		  "-128..127" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"contraindicated\","
		  "\"ear.trustworthiness-vector\":{\"elegance\":2}}}}",
		  "does not know" },
		{ "{" TOP ",\"submods\":{" BOOT ",\"runtime\":{\"ear.status\":\"none\","
		  "\"ear.trustworthiness-vector\":{},\"ear.appraisal-policy-id\":\"\"}}}",
		  "policy id" },
		{ "{" TOP ",\"submods\":{\"boot\":{\"ear.status\":\"none\","
		  "\"ear.trustworthiness-vector\":{},\"ear.appraisal-policy-id\":\"p\"}," RT "}}",
		  "boot submod names" },
		{ "{" IETF_TOP ",\"submods\":{" IETF_BOOT "," IETF_RT
		  ",\"ear_appraisal_policy_ids\":[\"p\",\"q\"]}}}",
		  "array of one" },
		{ "{" IETF_TOP ",\"submods\":{" IETF_BOOT "," IETF_RT
		  ",\"ear_appraisal_policy_ids\":\"p\"}}}",
		  "array of one" },
		{ "{" IETF_TOP ",\"submods\":{" IETF_BOOT "," IETF_RT ",\"ear.status\":\"none\"}}}",
		  "other EAR profile" },
		{ "{" TOP ",\"eat_nonce\":\"AAAA\",\"submods\":{" BOOT "," RT "}}", "eat_nonce" },
		{ "{" TOP ",\"eat_nonce\":\"AAAAAAAAAAA=\",\"submods\":{" BOOT "," RT "}}",
		  "eat_nonce" },
		{ "{" TOP ",\"eat_nonce\":7,\"submods\":{" BOOT "," RT "}}", "eat_nonce" },
		{ "[1]", "not one strict JSON object" },
		{ "{" TOP ",\"submods\":{" BOOT "," RT "}}x", "not one strict JSON object" },
		{ "{\"eat_profile\":\"" VIGIL_EAR_PROFILE_VERAISON
		  "\",\"iat\":1,\"ear.verifier-id\":{\"developer\":\"\",\"build\":\"b\"},"
		  "\"submods\":{" BOOT "," RT "}}",
		  "developer or build" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		const char *detail = NULL;
		int r = verify_claims(bad[i].claims, &detail);

		if (r != VIGIL_EAR_BAD_CLAIMS)
			fail_msg("claims %zu: verdict %d, not bad_claims", i, r);
		assert_non_null(detail);
		assert_contains(detail, bad[i].detail);
	}
}

/* ---- the command ---- */

static void write_ear(const char *name, enum vigil_record_reason reason)
{
	struct vigil_verdict v;
	struct vigil_ear e;
	_cleanup_free_ char *jwt = NULL;

	verdict(&v, true);
	add_failure(&v, reason, VIGIL_HOOK_BPRM_CHECK, false, "/usr/bin/evil");
	to_ear(&v, &e);
	sign_ear(&e, &v, &jwt);
	write_file(name, jwt, strlen(jwt));
	vigil_verdict_release(&v);
}

static void test_cmd_verify(void **state)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct json_object *p = NULL;
	struct run r;

	(void)state;
	write_ear("good.jwt", VIGIL_RECORD_NOT_IN_POLICY);
	RUN(&r, "ear", "verify", "good.jwt", "--key", "other.pub", "--key", "ec.pub");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "EAR verified (profile tag:github.com,2023:veraison/ear), issued "
			       "2027-01-15T08:00:00Z\n");
	assert_contains(r.out, "runtime: warning\n");
	assert_contains(r.out, "  executables 33 (warning)\n");
	assert_contains(r.out, "boot: affirming\n  instance-identity 2 (affirming)\n");
	assert_contains(r.out, "policy: " POLICY_ID "\n");
	assert_contains(r.out, "nonce: 00112233445566778899aabbccddeeff\n");
	assert_string_equal(r.err, "");
	RUN(&r, "ear", "verify", "good.jwt", "--key", "ec.pub", "--json");
	assert_int_equal(r.code, 0);
	assert_int_equal(vigil_json_parse(r.out, strlen(r.out), 1 << 20, &o), 0);
	assert_true(json_object_object_get_ex(o, "eat_profile", &p));
	assert_string_equal(json_object_get_string(p), VIGIL_EAR_PROFILE_VERAISON);
	run_sh(&r, VIGIL_BIN " ear verify - --key ec.pub < good.jwt");
	assert_int_equal(r.code, 0);
	run_sh(&r, "printf '\\n' >> good.jwt && " VIGIL_BIN " ear verify good.jwt --key ec.pub");
	assert_int_equal(r.code, 0);
}

static void test_cmd_rejects(void **state)
{
	_cleanup_free_ uint8_t *jwt = NULL;
	size_t len = 0;
	char *dot;
	struct run r;

	(void)state;
	write_ear("good.jwt", VIGIL_RECORD_DENIED);
	jwt = read_file("good.jwt", &len);
	dot = strchr((char *)jwt, '.');
	dot[8] = dot[8] == 'A' ? 'B' : 'A';
	write_file("tampered.jwt", jwt, len);
	RUN(&r, "ear", "verify", "tampered.jwt", "--key", "ec.pub");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "vigil ear: EAR rejected: untrusted: ");
	assert_string_equal(r.out, "");
	RUN(&r, "ear", "verify", "good.jwt", "--key", "other.pub", "--json");
	assert_int_equal(r.code, 1);
	assert_string_equal(r.out, "");
	RUN(&r, "ear", "verify", "good.jwt", "--key", "ed.pub"); /* loads, never matches ES256 */
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "EAR rejected: untrusted");
	write_file("junk.jwt", "hello", 5);
	RUN(&r, "ear", "verify", "junk.jwt", "--key", "ec.pub");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "vigil ear: EAR rejected: bad_format: ");
}

static void test_cmd_usage(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "ear", "verify", "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Usage: vigil ear verify");
	RUN(&r, "ear", "--help");
	assert_int_equal(r.code, 0);
	RUN(&r, "ear");
	assert_int_equal(r.code, 2);
	RUN(&r, "ear", "sign");
	assert_int_equal(r.code, 2);
	RUN(&r, "ear", "verify", "good.jwt");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "missing option '--key'");
	RUN(&r, "ear", "verify", "--key", "ec.pub");
	assert_int_equal(r.code, 2);
	RUN(&r, "ear", "verify", "a", "b", "--key", "ec.pub");
	assert_int_equal(r.code, 2);
	RUN(&r, "ear", "verify", "good.jwt", "--key");
	assert_int_equal(r.code, 2);
	RUN(&r, "ear", "verify", "good.jwt", "--bogus");
	assert_int_equal(r.code, 2);
	RUN(&r, "ear", "verify", "good.jwt", "--key", "nonexistent.pub");
	assert_int_equal(r.code, 3);
	RUN(&r, "ear", "verify", "nonexistent.jwt", "--key", "ec.pub");
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "vigil ear: nonexistent.jwt: No such file or directory");
	RUN(&r, "ear", "verify", "good.jwt", "--key", "good.jwt");
	assert_int_equal(r.code, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_base64url_vectors),
		cmocka_unit_test(test_base64url_strict),
		cmocka_unit_test(test_base64url_every_byte),
		cmocka_unit_test(test_jws_round_trip),
		cmocka_unit_test(test_jws_changed_bytes),
		cmocka_unit_test(test_jws_header_changed),
		cmocka_unit_test(test_jws_bad_alg),
		cmocka_unit_test(test_jws_bad_header),
		cmocka_unit_test(test_jws_wrong_key),
		cmocka_unit_test(test_jws_bad_format),
		cmocka_unit_test(test_jws_signature_encoding),
		cmocka_unit_test(test_jws_sign_errors),
		cmocka_unit_test(test_jws_interop_openssl_signs),
		cmocka_unit_test(test_jws_interop_openssl_verifies),
		cmocka_unit_test(test_map_accepted),
		cmocka_unit_test(test_map_no_policy),
		cmocka_unit_test(test_map_policy_unusable),
		cmocka_unit_test(test_map_evidence_rejected),
		cmocka_unit_test(test_map_not_in_policy),
		cmocka_unit_test(test_map_config_mismatch),
		cmocka_unit_test(test_map_denied),
		cmocka_unit_test(test_map_warning_only),
		cmocka_unit_test(test_map_boot),
		cmocka_unit_test(test_map_arguments),
		cmocka_unit_test(test_tiers),
		cmocka_unit_test(test_policy_id),
		cmocka_unit_test(test_ear_round_trip_veraison),
		cmocka_unit_test(test_ear_round_trip_ietf),
		cmocka_unit_test(test_ear_equal),
		cmocka_unit_test(test_ear_sign_refuses),
		cmocka_unit_test(test_ear_findings_bounded),
		cmocka_unit_test(test_ear_untrusted_and_tampered),
		cmocka_unit_test(test_ear_claims_accepted),
		cmocka_unit_test(test_ear_claims_rejected),
		cmocka_unit_test(test_cmd_verify),
		cmocka_unit_test(test_cmd_rejects),
		cmocka_unit_test(test_cmd_usage),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
