// SPDX-License-Identifier: MIT
/*
 * test_dsse.c: unit tests of signed policies: policy-signing keys (lib/sigkey.c), DSSE
 * envelopes (lib/dsse.c), vigil_policy_load_signed() (lib/policy_load.c) and the commands on
 * top of them (`vigil key generate`, `vigil policy sign`, `vigil policy verify`).
 *
 * Keys are generated once per run (ECDSA P-256 and Ed25519 trusted, another P-256 key not);
 * the commands run from the built binary (VIGIL_BIN) in a temporary directory holding the
 * keys as PEM files. Every negative case of the acceptance list is its own test and goes
 * through both the library and the binary: a rejection must carry the verdict's name, and
 * nothing may be accepted or crash. The base64 decoder (scalar and AVX2) is checked against
 * an independent reference decoder for every byte value in every position of a 96-character
 * payload. LC_ALL=C keeps strerror() texts in English.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/ec.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "attest.h"
#include "cleanup.h"
#include "policy.h"
#include "spawn.h"

#ifndef VIGIL_BIN
#error "VIGIL_BIN must name the built vigil binary"
#endif

#define NOW ((int64_t)1800000000) /* 2027-01-15 */
#define DIGEST "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define POLICY_HEAD                                                                             \
	"{\n  \"vigil_policy\": 1,\n  \"name\": \"test\",\n  \"version\": 3,\n  \"hash_alg\": " \
	"\"sha256\",\n"
#define POLICY_BODY                                               \
	"  \"valid_until\": \"2099-12-31T00:00:00Z\",\n"          \
	"  \"digests\": {\"/usr/bin/true\": [\"" DIGEST "\"]},\n" \
	"  \"any_path\": [\"" DIGEST "\"],\n  \"excludes\": [\"/tmp/*\"]\n}\n"
#define POLICY_OK POLICY_HEAD POLICY_BODY

/* What every test shares: the keys and a directory with their PEM files. */
static struct {
	EVP_PKEY *ec; /* trusted, dir/ec.pem and dir/ec.pub */
	EVP_PKEY *ed; /* trusted, dir/ed.pem and dir/ed.pub */
	EVP_PKEY *other; /* not trusted, dir/other.pem */
	EVP_PKEY *rsa; /* not a policy-signing key, dir/rsa.pem and dir/rsa.pub */
	EVP_PKEY *p384; /* neither, dir/p384.pem and dir/p384.pub */
	char dir[64];
	char ec_id[65], ed_id[65];
} g;

struct run {
	int code;
	char out[16384];
	char err[8192];
};

/* cmocka has no substring assertion; print both strings so a failure explains itself. */
#define assert_contains(haystack, needle)                                                 \
	do {                                                                              \
		if (!strstr((haystack), (needle)))                                        \
			fail_msg("\"%s\" does not contain \"%s\"", (haystack), (needle)); \
	} while (0)

/* Run "vigil ARGS..." in g.dir and fill @r. */
static void run_vigil(struct run *r, const char *const args[])
{
	char *argv[24] = { VIGIL_BIN };
	int out = -1, err = -1;

	for (size_t i = 0; args[i]; i++) {
		assert_true(i + 2 < sizeof(argv) / sizeof(argv[0]));
		argv[i + 1] = (char *)args[i];
	}
	assert_int_equal(spawn_capture(argv, g.dir, &r->code, &out, &err), 0);
	assert_true(r->code >= 0);
	spawn_read(out, r->out, sizeof(r->out));
	spawn_read(err, r->err, sizeof(r->err));
	close(out);
	close(err);
}

#define RUN(r, ...) run_vigil(r, (const char *const[]){ __VA_ARGS__, NULL })

static void path_in(char *buf, size_t size, const char *name)
{
	assert_true((size_t)snprintf(buf, size, "%s/%s", g.dir, name) < size);
}

static void write_file(const char *name, const void *data, size_t len)
{
	char path[256];

	path_in(path, sizeof(path), name);
	unlink(path);
	assert_int_equal(vigil_file_write_new(path, data, len, 0600), 0);
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

static void key_hex(EVP_PKEY *key, char hex[65])
{
	uint8_t id[VIGIL_SIGKEY_ID_SIZE];

	assert_int_equal(vigil_sigkey_id(key, id), 0);
	assert_int_equal(vigil_hex_encode(id, sizeof(id), hex, 65), 0);
}

static int setup(void **state)
{
	(void)state;
	setenv("LC_ALL", "C", 1);
	strcpy(g.dir, "/tmp/vigil-test-dsse.XXXXXX");
	if (!mkdtemp(g.dir) || vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &g.ec) < 0 ||
	    vigil_sigkey_generate(VIGIL_SIGKEY_ED25519, &g.ed) < 0 ||
	    vigil_sigkey_generate(VIGIL_SIGKEY_ECDSA_P256, &g.other) < 0 ||
	    !(g.rsa = EVP_RSA_gen(2048)) || !(g.p384 = EVP_EC_gen("P-384")))
		return -1;
	write_key("ec.pem", g.ec, true);
	write_key("ec.pub", g.ec, false);
	write_key("ed.pem", g.ed, true);
	write_key("ed.pub", g.ed, false);
	write_key("other.pem", g.other, true);
	write_key("rsa.pem", g.rsa, true);
	write_key("rsa.pub", g.rsa, false);
	write_key("p384.pem", g.p384, true);
	write_key("p384.pub", g.p384, false);
	key_hex(g.ec, g.ec_id);
	key_hex(g.ed, g.ed_id);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	EVP_PKEY_free(g.ec);
	EVP_PKEY_free(g.ed);
	EVP_PKEY_free(g.other);
	EVP_PKEY_free(g.rsa);
	EVP_PKEY_free(g.p384);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g.dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* An envelope of @doc with @type signed by @key (NULL: unsigned, for the caller to finish). */
static struct vigil_dsse *envelope(const char *doc, size_t len, const char *type, EVP_PKEY *key)
{
	struct vigil_dsse *env = NULL;

	assert_int_equal(vigil_dsse_new(type, (const uint8_t *)doc, len, &env), 0);
	if (key)
		assert_int_equal(vigil_dsse_sign(env, key), 0);
	return env;
}

static char *format(const struct vigil_dsse *env)
{
	char *text = NULL;

	assert_int_equal(vigil_dsse_format(env, &text), 0);
	return text;
}

static char *signed_policy(const char *doc, EVP_PKEY *key)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env =
		envelope(doc, strlen(doc), VIGIL_POLICY_PAYLOAD_TYPE, key);

	return format(env);
}

/* ---- DSSE ---- */

static void test_pae_vector(void **state)
{
	static const char want[] = "DSSEv1 29 http://example.com/HelloWorld 11 hello world";
	_cleanup_free_ uint8_t *pae = NULL;
	size_t len = 0;

	(void)state;
	assert_int_equal(vigil_dsse_pae("http://example.com/HelloWorld",
					(const uint8_t *)"hello world", 11, &pae, &len),
			 0);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(pae, want, len);
	free(pae);
	pae = NULL;
	assert_int_equal(vigil_dsse_pae("t", NULL, 0, &pae, &len), 0);
	assert_int_equal(len, 13);
	assert_memory_equal(pae, "DSSEv1 1 t 0 ", 13);
}

static void round_trip(EVP_PKEY *key)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env =
		envelope("hello world", 11, "http://example.com/HelloWorld", key);
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *back = NULL;
	_cleanup_free_ char *text = format(env);
	EVP_PKEY *trusted[] = { g.other, key };
	size_t k = 99;

	assert_int_equal(vigil_dsse_parse(text, strlen(text), 1024, &back), 0);
	assert_string_equal(back->payload_type, "http://example.com/HelloWorld");
	assert_int_equal(back->payload_len, 11);
	assert_memory_equal(back->payload, "hello world", 11);
	assert_int_equal(back->count, 1);
	assert_int_equal(back->sigs[0].sig_len, env->sigs[0].sig_len);
	assert_int_equal(vigil_dsse_verify(back, "http://example.com/HelloWorld", trusted, 2, &k),
			 VIGIL_DSSE_VERIFIED);
	assert_int_equal(k, 1);
	assert_int_equal(vigil_dsse_verify(back, "http://example.com/HelloWorld", trusted, 1, &k),
			 VIGIL_DSSE_UNTRUSTED);
	assert_int_equal(vigil_dsse_verify(back, "http://example.com/Other", trusted, 2, &k),
			 VIGIL_DSSE_WRONG_TYPE);
	back->payload[0] ^= 1; /* the exact payload bytes are what is signed */
	assert_int_equal(vigil_dsse_verify(back, "http://example.com/HelloWorld", trusted, 2, &k),
			 VIGIL_DSSE_UNTRUSTED);
}

static void test_round_trip_ecdsa(void **state)
{
	(void)state;
	round_trip(g.ec);
}

static void test_round_trip_ed25519(void **state)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = envelope("x", 1, "t", g.ed);

	(void)state;
	round_trip(g.ed);
	assert_int_equal(env->sigs[0].sig_len, 64);
	assert_string_equal(env->sigs[0].keyid, g.ed_id);
}

static void test_multiple_signatures(void **state)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = envelope("payload", 7, "t", g.other);
	EVP_PKEY *trusted[] = { g.ec, g.ed };
	size_t k = 99;

	(void)state;
	assert_int_equal(vigil_dsse_sign(env, g.ed), 0);
	assert_int_equal(env->count, 2);
	assert_int_equal(vigil_dsse_verify(env, "t", trusted, 2, &k), VIGIL_DSSE_VERIFIED);
	assert_int_equal(k, 1);
	/* a keyid hint naming a trusted key does not make the untrusted signature count */
	free(env->sigs[0].keyid);
	env->sigs[0].keyid = strdup(g.ec_id);
	free(env->sigs[1].keyid);
	env->sigs[1].keyid = strdup(g.ec_id);
	assert_int_equal(vigil_dsse_verify(env, "t", trusted, 2, &k), VIGIL_DSSE_VERIFIED);
	assert_int_equal(k, 1);
	assert_int_equal(vigil_dsse_verify(env, "t", trusted, 1, &k), VIGIL_DSSE_UNTRUSTED);
	assert_int_equal(vigil_dsse_verify(env, "t", NULL, 0, &k), VIGIL_DSSE_UNTRUSTED);
	for (size_t i = 2; i < VIGIL_DSSE_SIGS_MAX; i++)
		assert_int_equal(vigil_dsse_sign(env, g.other), 0);
	assert_int_equal(vigil_dsse_sign(env, g.ec), -E2BIG);
}

/* An independent decoder: either alphabet, optional padding, zero unused bits. */
static int ref_decode(const char *s, size_t len, uint8_t *out, size_t *ret_len)
{
	static const char std[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static const char url[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	uint32_t acc = 0;
	size_t bits = 0, n = 0;

	if (len % 4 == 0 && len && s[len - 1] == '=')
		len -= len >= 2 && s[len - 2] == '=' ? 2 : 1;
	if (len % 4 == 1)
		return -1;
	for (size_t i = 0; i < len; i++) {
		const char *p = s[i] ? strchr(std, s[i]) : NULL;
		const char *q = s[i] ? strchr(url, s[i]) : NULL;

		if (!p && !q)
			return -1;
		acc = acc << 6 | (uint32_t)(p ? p - std : q - url);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	if (acc)
		return -1;
	*ret_len = n;
	return 0;
}

static int parse_payload(const char *b64, struct vigil_dsse **ret)
{
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"payload\":\"%s\",\"payloadType\":\"t\",\"signatures\":[{\"sig\":\"AA==\"}]}",
		 b64);
	return vigil_dsse_parse(text, strlen(text), 1024, ret);
}

static void test_base64_every_byte(void **state)
{
	uint8_t bytes[72], want[80];
	_cleanup_free_ char *b64 = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 37 + 11);
	assert_int_equal(vigil_base64_encode(bytes, sizeof(bytes), &b64), 0);
	assert_int_equal(strlen(b64), 96);
	for (size_t pos = 0; pos < 96; pos++)
		for (int c = 1; c < 256; c++) {
			struct vigil_dsse *env = NULL;
			char s[97];
			size_t n = 0;
			int ok, r;

			if (c == '\\' || c == '"')
				continue; /* not base64 but JSON: test_escapes */
			memcpy(s, b64, 97);
			s[pos] = (char)c;
			ok = ref_decode(s, 96, want, &n) == 0;
			r = parse_payload(s, &env);
			if (ok != (r == 0))
				fail_msg("byte 0x%02x at %zu: %s", c, pos,
					 ok ? "refused" : "accepted");
			if (ok && (env->payload_len != n || memcmp(env->payload, want, n)))
				fail_msg("byte 0x%02x at %zu: decoded wrongly", c, pos);
			vigil_dsse_free(env);
		}
}

/* The strict decoder of lib/codec.c (evidence): standard alphabet, canonical padding only. */
static void test_codec_base64_every_byte(void **state)
{
	uint8_t bytes[72], want[80];
	_cleanup_free_ char *b64 = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(i * 53 + 7);
	assert_int_equal(vigil_base64_encode(bytes, sizeof(bytes) - 1, &b64), 0);
	for (size_t pos = 0; pos < strlen(b64); pos++)
		for (int c = 0; c < 256; c++) {
			_cleanup_free_ uint8_t *out = NULL;
			char s[97];
			size_t n = 0, got = 0;
			int ok;

			memcpy(s, b64, strlen(b64) + 1);
			s[pos] = (char)c;
			ok = c != '-' && c != '_' && ref_decode(s, 96, want, &n) == 0;
			if (ok != (vigil_base64_decode(s, 96, 100, &out, &got) == 0))
				fail_msg("byte 0x%02x at %zu: %s", c, pos,
					 ok ? "refused" : "accepted");
			if (ok && (got != n || memcmp(out, want, n)))
				fail_msg("byte 0x%02x at %zu: decoded wrongly", c, pos);
		}
}

static void test_base64_forms(void **state)
{
	uint8_t bytes[70], want[80];

	(void)state;
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)(0xfb - i * 3); /* many '+' and '/' */
	for (size_t len = 0; len <= sizeof(bytes); len++) {
		_cleanup_free_ char *b64 = NULL;
		struct vigil_dsse *env = NULL;
		size_t n = 0;

		assert_int_equal(vigil_base64_encode(bytes, len, &b64), 0);
		for (int form = 0; form < 3; form++) {
			for (char *p = b64; form && *p; p++)
				*p = *p == '+' ? '-' : *p == '/' ? '_' : *p; /* URL-safe */
			if (form == 2 && strchr(b64, '='))
				*strchr(b64, '=') = '\0'; /* and unpadded */
			assert_int_equal(ref_decode(b64, strlen(b64), want, &n), 0);
			assert_int_equal(parse_payload(b64, &env), 0);
			assert_int_equal(env->payload_len, len);
			assert_memory_equal(env->payload, bytes, len);
			vigil_dsse_free(env);
		}
	}
}

/* The envelope's base64 rewritten URL-safe and without padding, as other DSSE tools may. */
static void url_safe(char *text)
{
	size_t o = 0;

	for (size_t i = 0; text[i]; i++) {
		char c = text[i];

		if (c == '=')
			continue;
		text[o++] = c == '+' ? '-' : c == '/' ? '_' : c;
	}
	text[o] = '\0';
}

static void test_url_safe_verifies(void **state)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL, *back = NULL;
	_cleanup_free_ char *text = NULL;
	uint8_t payload[300];
	EVP_PKEY *trusted[] = { g.ec };
	size_t k = 9;

	(void)state;
	for (size_t i = 0; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(0xff - i);
	env = envelope((const char *)payload, sizeof(payload), "t", g.ec);
	text = format(env);
	url_safe(text);
	assert_null(strchr(text, '+'));
	assert_non_null(strchr(text, '_'));
	assert_int_equal(vigil_dsse_parse(text, strlen(text), 1024, &back), 0);
	assert_memory_equal(back->payload, payload, sizeof(payload));
	assert_int_equal(vigil_dsse_verify(back, "t", trusted, 1, &k), VIGIL_DSSE_VERIFIED);
	assert_int_equal(k, 0);
}

static void test_escapes(void **state)
{
	static const char text[] = "{\"payload\":\"Zm9v\\/w==\",\"payloadType\":\"a\\/b\\u0041\","
				   "\"signatures\":[{\"keyid\":\"k\\\"\",\"sig\":\"AA\\u003d=\"}]}";
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL;
	_cleanup_free_ char *out = NULL;

	(void)state;
	assert_int_equal(vigil_dsse_parse(text, strlen(text), 64, &env), 0);
	assert_int_equal(env->payload_len, 4);
	assert_memory_equal(env->payload, "foo\xff", 4);
	assert_string_equal(env->payload_type, "a/bA");
	assert_string_equal(env->sigs[0].keyid, "k\"");
	assert_int_equal(vigil_dsse_format(env, &out), 0);
	assert_string_equal(out, "{\"payload\":\"Zm9v/w==\",\"payloadType\":\"a/bA\","
				 "\"signatures\":[{\"keyid\":\"k\\\"\",\"sig\":\"AA==\"}]}\n");
}

static int parse_text(const char *text)
{
	struct vigil_dsse *env = NULL;
	int r = vigil_dsse_parse(text, strlen(text), 1024, &env);

	vigil_dsse_free(env);
	return r;
}

#define ENV(members) "{" members "}"
#define P "\"payload\":\"Zm9v\""
#define T "\"payloadType\":\"t\""
#define S1 "{\"keyid\":\"k\",\"sig\":\"AA==\"}"
#define SIGS "\"signatures\":[" S1 "]"

static void test_strict_parse(void **state)
{
	static const char *const bad[] = {
		ENV(P "," P "," T "," SIGS), /* duplicate member */
		ENV(P "," T "," SIGS "," T),
		ENV(P "," T ",\"signatures\":[{\"sig\":\"AA==\",\"sig\":\"AA==\"}]"),
		ENV(P "," T ",\"signatures\":[{\"keyid\":\"a\",\"keyid\":\"b\",\"sig\":\"AA==\"}]"),
		ENV(P "," T "," SIGS ",\"extra\":1"), /* unknown member */
		ENV(P "," T ",\"signatures\":[{\"sig\":\"AA==\",\"public_key\":\"x\"}]"),
		ENV(P "," T "," SIGS) " x", /* trailing bytes */
		ENV(P "," T "," SIGS) "{}",
		ENV(P "," T ",\"signatures\":[]"), /* no signature */
		ENV(P "," T),
		ENV(T "," SIGS),
		ENV(P "," SIGS),
		"{}",
		"",
		"[]",
		ENV(P "," T ",\"signatures\":[{\"keyid\":\"k\"}]"), /* no sig */
		ENV(P "," T ",\"signatures\":[{\"sig\":\"\"}]"), /* empty sig */
		ENV("\"payload\":\"Zm9v!\"," T "," SIGS), /* bad base64 */
		ENV("\"payload\":\"Zg=\"," T "," SIGS),
		ENV("\"payload\":\"Zh==\"," T "," SIGS),
		ENV("\"payload\":\"Z\"," T "," SIGS),
		ENV("\"payload\":\"Zm9v=\"," T "," SIGS),
		ENV("\"payload\":\"Zm 9v\"," T "," SIGS),
		ENV("\"payload\":\"Zm9v\\n\"," T "," SIGS),
		ENV("\"payload\":\"Zg===\"," T "," SIGS),
		ENV("\"payload\":\"=\"," T "," SIGS),
		ENV("\"payload\":5," T "," SIGS), /* wrong types */
		ENV("\"payload\":null," T "," SIGS),
		ENV(P ",\"payloadType\":[]," SIGS),
		ENV(P "," T ",\"signatures\":{}"),
		ENV(P "," T ",\"signatures\":[\"AA==\"]"),
		ENV(P "," T ",\"signatures\":[{\"keyid\":1,\"sig\":\"AA==\"}]"),
		ENV(P ",\"payloadType\":\"\"," SIGS), /* payloadType empty or not printable */
		ENV(P ",\"payloadType\":\"a\\u0001\"," SIGS),
		ENV(P ",\"payloadType\":\"\xc3\xa9\"," SIGS),
		ENV(P ",\"payloadType\":\"a\\u00e9\"," SIGS),
		ENV(P "," T "," SIGS ","),
		"{" P "," T "," SIGS, /* unterminated */
		ENV("\"pay\\u006coad\":\"Zm9v\"," T "," SIGS), /* escaped member name */
		ENV(P "," T ",\"signatures\":[" S1 "," S1 ",]"),
	};
	char many[2048] = "{" P "," T ",\"signatures\":[" S1, name[600];

	(void)state;
	assert_int_equal(parse_text(ENV(P "," T "," SIGS)), 0);
	assert_int_equal(parse_text(" \t\n" ENV(" " SIGS " , " T "\n," P " ") "\r\n"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_text(bad[i]) != -EBADMSG)
			fail_msg("accepted or wrong error: %s", bad[i]);
	for (int i = 1; i < VIGIL_DSSE_SIGS_MAX; i++)
		strcat(many, "," S1);
	assert_int_equal(parse_text(strcat(strcpy(name, many), "]}")), 0);
	assert_int_equal(parse_text(strcat(many, "," S1 "]}")), -EBADMSG); /* 17 */
	/* keyid: up to VIGIL_DSSE_KEYID_MAX bytes; payloadType: up to VIGIL_DSSE_TYPE_MAX */
	snprintf(name, sizeof(name),
		 ENV(P "," T ",\"signatures\":[{\"keyid\":\"%0*d\",\"sig\":\"AA==\"}]"),
		 VIGIL_DSSE_KEYID_MAX, 0);
	assert_int_equal(parse_text(name), 0);
	snprintf(name, sizeof(name),
		 ENV(P "," T ",\"signatures\":[{\"keyid\":\"%0*d\",\"sig\":\"AA==\"}]"),
		 VIGIL_DSSE_KEYID_MAX + 1, 0);
	assert_int_equal(parse_text(name), -EBADMSG);
	snprintf(name, sizeof(name), ENV(P ",\"payloadType\":\"%0*d\"," SIGS),
		 VIGIL_DSSE_TYPE_MAX + 1, 0);
	assert_int_equal(parse_text(name), -EBADMSG);
	/* a NUL is no JSON whitespace and no base64 */
	assert_int_equal(vigil_dsse_parse(ENV(P "," T "," SIGS) "\0",
					  strlen(ENV(P "," T "," SIGS)) + 1, 64, NULL),
			 -EBADMSG);
	assert_int_equal(vigil_dsse_parse(ENV("\"payload\":\"Zm\0v\"," T "," SIGS),
					  strlen(ENV(P "," T "," SIGS)), 64, NULL),
			 -EBADMSG);
}

static void test_payload_bound(void **state)
{
	static const char text[] = ENV("\"payload\":\"Zm9vYg==\"," T "," SIGS);
	struct vigil_dsse *env = NULL;

	(void)state;
	assert_int_equal(vigil_dsse_parse(text, strlen(text), 3, &env), -EFBIG);
	assert_int_equal(vigil_dsse_parse(text, strlen(text), 4, &env), 0);
	assert_int_equal(env->payload_len, 4);
	vigil_dsse_free(env);
	env = NULL;
	assert_int_equal(vigil_dsse_parse(text, strlen(text) - 1, 4, &env), -EBADMSG);
	assert_int_equal(vigil_dsse_parse(text, strlen(text), 0, &env), -EFBIG);
}

/* ---- keys ---- */

static void test_key_types(void **state)
{
	EVP_PKEY *const bad[] = { g.rsa, g.p384 };
	EVP_PKEY *key = NULL;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		_cleanup_free_ char *priv = NULL, *pub = NULL;
		_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = envelope("x", 1, "t", NULL);

		assert_int_equal(vigil_sigkey_private_pem(bad[i], &priv), 0);
		assert_int_equal(vigil_sigkey_public_pem(bad[i], &pub), 0);
		assert_int_equal(vigil_sigkey_load_private((uint8_t *)priv, strlen(priv), &key),
				 -EKEYREJECTED);
		assert_int_equal(vigil_sigkey_load_public((uint8_t *)pub, strlen(pub), &key),
				 -EKEYREJECTED);
		assert_int_equal(vigil_dsse_sign(env, bad[i]), -EKEYREJECTED);
	}
	assert_int_equal(vigil_sigkey_load_public((const uint8_t *)"junk", 4, &key), -EBADMSG);
	assert_int_equal(vigil_sigkey_load_private((const uint8_t *)"junk", 4, &key), -EBADMSG);
}

static void test_key_encrypted(void **state)
{
	BIO *bio = BIO_new(BIO_s_mem());
	EVP_PKEY *key = NULL;
	char *data = NULL;
	long len;

	(void)state;
	assert_true(PEM_write_bio_PKCS8PrivateKey(bio, g.ec, EVP_aes_256_cbc(), "secret", 6, NULL,
						  NULL));
	len = BIO_get_mem_data(bio, &data);
	assert_int_equal(vigil_sigkey_load_private((uint8_t *)data, (size_t)len, &key), -EACCES);
	BIO_free(bio);
}

static void test_key_id(void **state)
{
	_cleanup_free_ char *pem = NULL;
	unsigned char *der = NULL;
	uint8_t want[32], id[32];
	EVP_PKEY *pub = NULL;
	int len;

	(void)state;
	assert_int_equal(vigil_sigkey_public_pem(g.ed, &pem), 0);
	assert_int_equal(vigil_sigkey_load_public((uint8_t *)pem, strlen(pem), &pub), 0);
	len = i2d_PUBKEY(pub, &der);
	assert_true(len > 0);
	assert_true(EVP_Digest(der, (size_t)len, want, NULL, EVP_sha256(), NULL));
	assert_int_equal(vigil_sigkey_id(pub, id), 0);
	assert_memory_equal(id, want, 32);
	assert_int_equal(vigil_sigkey_id(g.ed, id), 0); /* the private key: the same id */
	assert_memory_equal(id, want, 32);
	OPENSSL_free(der);
	EVP_PKEY_free(pub);
}

/* Key id of a public key file, computed here with OpenSSL only. */
static void file_key_id(const char *name, char hex[65])
{
	char path[256];
	FILE *f;
	EVP_PKEY *key;
	unsigned char *der = NULL;
	uint8_t id[32];
	int len;

	path_in(path, sizeof(path), name);
	f = fopen(path, "r");
	assert_non_null(f);
	key = PEM_read_PUBKEY(f, NULL, NULL, NULL);
	fclose(f);
	assert_non_null(key);
	len = i2d_PUBKEY(key, &der);
	assert_true(len > 0 && EVP_Digest(der, (size_t)len, id, NULL, EVP_sha256(), NULL));
	for (size_t i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	OPENSSL_free(der);
	EVP_PKEY_free(key);
}

static void test_cmd_key_generate(void **state)
{
	struct run r;
	struct stat st;
	char path[256], hex[65];

	(void)state;
	RUN(&r, "key", "generate", "--out", "gen.pem");
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "");
	file_key_id("gen.pub", hex);
	assert_int_equal(strlen(r.out), 65);
	assert_memory_equal(r.out, hex, 64);
	path_in(path, sizeof(path), "gen.pem");
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	RUN(&r, "key", "generate", "--out", "gen.pem", "--pub", "gen2.pub");
	assert_int_equal(r.code, 3);
	assert_string_equal(r.out, "");
	assert_contains(r.err, "vigil key generate: gen.pem: exists; not replaced");
	path_in(path, sizeof(path), "gen2.pub");
	assert_int_equal(access(path, F_OK), -1); /* nothing half-written */
	RUN(&r, "key", "generate", "--out", "gen3", "--pub", "gen.pub");
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "gen.pub: exists; not replaced");
	path_in(path, sizeof(path), "gen3");
	assert_int_equal(access(path, F_OK), -1); /* the private key was taken back */
	RUN(&r, "key", "generate", "--out", "gen-ed.key", "--alg", "ed25519");
	assert_int_equal(r.code, 0);
	file_key_id("gen-ed.key.pub", hex);
	assert_memory_equal(r.out, hex, 64);
	RUN(&r, "key", "generate", "--out", "x.pem", "--alg", "rsa");
	assert_int_equal(r.code, 2);
	RUN(&r, "key", "generate");
	assert_int_equal(r.code, 2);
	RUN(&r, "key", "generate", "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Usage: vigil key generate");
}

/* ---- vigil_policy_load_signed() and `vigil policy verify`, the same case through both ---- */

/* Through the library: @want, and no policy unless loaded. */
static void load_lib(const char *text, size_t len, int want, struct vigil_policy_error *err)
{
	struct vigil_policy *p = NULL;
	EVP_PKEY *trusted[] = { g.ec, g.ed };
	size_t k = 99;
	int r = vigil_policy_load_signed(text, len, trusted, 2, NOW, &p, &k, err);

	if (r != want)
		fail_msg("verdict %d (%s), wanted %s", r,
			 r >= 0 ? vigil_policy_verdict_name(r) : "",
			 vigil_policy_verdict_name(want));
	if (want == VIGIL_POLICY_LOADED) {
		assert_non_null(p);
		assert_true(k < 2);
	} else {
		assert_null(p);
		assert_int_equal(k, 99);
	}
	vigil_policy_free(p);
}

/* Through the binary, as file @name: exit 1 naming the verdict. */
static void verify_cmd_rejects(const char *name, int want, struct run *r)
{
	char reason[64];

	snprintf(reason, sizeof(reason), "rejected: policy_%s", vigil_policy_verdict_name(want));
	RUN(r, "policy", "verify", name, "--trust", "ec.pub", "--trust", "ed.pub", "--now",
	    "2027-01-15T08:00:00Z");
	assert_int_equal(r->code, 1);
	assert_contains(r->err, reason);
	assert_contains(r->out, "verdict:     rejected\n");
}

static void rejected(const char *text, int want, struct run *r, struct vigil_policy_error *err)
{
	load_lib(text, strlen(text), want, err);
	write_file("case.dsse", text, strlen(text));
	verify_cmd_rejects("case.dsse", want, r);
}

static void test_verified(void **state)
{
	_cleanup_free_ char *text = signed_policy(POLICY_OK, g.ed);
	struct run r;
	char want[128];

	(void)state;
	load_lib(text, strlen(text), VIGIL_POLICY_LOADED, NULL);
	write_file("ok.dsse", text, strlen(text));
	RUN(&r, "policy", "verify", "ok.dsse", "--trust", "ec.pub", "--trust", "ed.pub");
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "");
	assert_contains(r.out, "verdict:     verified\nname:        test\nversion:     3\n"
			       "valid_until: 2099-12-31T00:00:00Z\nhash_alg:    sha256\n"
			       "digests:     1 in 1 paths\nany_path:    1\ndeny:        0\n"
			       "excludes:    1 globs, 0 regexes\n");
	snprintf(want, sizeof(want), "signer:      %s\n", g.ed_id);
	assert_contains(r.out, want);
	RUN(&r, "policy", "verify", "ok.dsse", "--trust", "ed.pub", "--json");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "\"verified\": true");
	assert_contains(r.out, "\"digests\": 1");
	snprintf(want, sizeof(want), "\"signer\": \"%s\"", g.ed_id);
	assert_contains(r.out, want);
}

static void test_reject_untrusted_key(void **state)
{
	_cleanup_free_ char *text = signed_policy(POLICY_OK, g.other);
	struct run r;

	(void)state;
	rejected(text, VIGIL_POLICY_UNTRUSTED, &r, NULL);
}

static void test_reject_payload_changed(void **state)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env =
		envelope(POLICY_OK, strlen(POLICY_OK), VIGIL_POLICY_PAYLOAD_TYPE, g.ec);
	_cleanup_free_ char *text = NULL;
	char *v = memmem(env->payload, env->payload_len, "\"version\": 3", 12);
	struct run r;

	(void)state;
	assert_non_null(v);
	v[11] = '4'; /* still a valid policy, no longer the signed one */
	text = format(env);
	rejected(text, VIGIL_POLICY_UNTRUSTED, &r, NULL);
}

static void test_reject_type_changed(void **state)
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env =
		envelope(POLICY_OK, strlen(POLICY_OK), VIGIL_POLICY_PAYLOAD_TYPE, g.ec);
	_cleanup_free_ char *text = NULL, *resigned = NULL;
	struct run r;

	(void)state;
	free(env->payload_type);
	env->payload_type = strdup("application/vnd.in-toto+json");
	text = format(env);
	rejected(text, VIGIL_POLICY_WRONG_TYPE, &r, NULL);
	/* correctly signed for the other type: still the wrong type */
	vigil_dsse_free(env);
	env = envelope(POLICY_OK, strlen(POLICY_OK), "application/vnd.in-toto+json", g.ec);
	resigned = format(env);
	rejected(resigned, VIGIL_POLICY_WRONG_TYPE, &r, NULL);
}

static void test_reject_expired(void **state)
{
	static const char doc[] = POLICY_HEAD "  \"valid_until\": \"2027-01-15T07:59:59Z\"\n}\n";
	_cleanup_free_ char *text = signed_policy(doc, g.ec);
	struct run r;

	(void)state;
	rejected(text, VIGIL_POLICY_EXPIRED, &r, NULL);
	RUN(&r, "policy", "verify", "case.dsse", "--trust", "ec.pub", "--now",
	    "2027-01-15T07:59:59Z");
	assert_int_equal(r.code, 0); /* valid up to and including valid_until */
	RUN(&r, "policy", "verify", "case.dsse", "--trust", "ec.pub", "--now",
	    "2027-02-30T00:00:00Z");
	assert_int_equal(r.code, 2);
}

static void bad_format(const char *doc, const char *what)
{
	_cleanup_free_ char *text = signed_policy(doc, g.ec);
	struct vigil_policy_error err = { 0 };
	struct run r;

	rejected(text, VIGIL_POLICY_BAD_FORMAT, &r, &err);
	assert_true(err.line >= 1);
	assert_contains(err.what, what);
	assert_contains(r.err, "policy_bad_format: line ");
	assert_contains(r.err, what);
}

static void test_reject_malformed_json(void **state)
{
	(void)state;
	bad_format(POLICY_HEAD "  \"valid_until\": \"2099-12-31T00:00:00Z\",\n  \"digests\": {\n",
		   "");
}

static void test_reject_duplicate_keys(void **state)
{
	(void)state;
	bad_format(POLICY_HEAD
		   "  \"valid_until\": \"2099-12-31T00:00:00Z\",\n  \"version\": 4\n}\n",
		   "twice");
}

static void test_reject_digest_length(void **state)
{
	(void)state;
	bad_format(POLICY_HEAD "  \"valid_until\": \"2099-12-31T00:00:00Z\",\n  \"any_path\": "
			       "[\"" DIGEST "ab\"]\n}\n",
		   "any_path");
}

static double seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_reject_1gib_claim(void **state)
{
	char path[256];
	struct run r;
	double t;
	int fd;
	void *map;

	(void)state;
	path_in(path, sizeof(path), "huge.dsse");
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, (off_t)1 << 30), 0); /* sparse: nothing to read */
	map = mmap(NULL, (size_t)1 << 30, PROT_READ, MAP_PRIVATE, fd, 0);
	assert_true(map != MAP_FAILED);
	t = seconds();
	load_lib(map, (size_t)1 << 30, VIGIL_POLICY_TOO_LARGE, NULL);
	assert_true(seconds() - t < 0.1); /* refused on its size, unread */
	munmap(map, (size_t)1 << 30);
	close(fd);
	t = seconds();
	verify_cmd_rejects("huge.dsse", VIGIL_POLICY_TOO_LARGE, &r);
	assert_true(seconds() - t < 2.0);
	unlink(path);
}

/* A policy of @n digests, over PARALLEL_MIN, so signature and parse run in two threads. */
static char *large_policy(size_t n)
{
	size_t size = n * 128 + 512, len;
	char *doc = malloc(size);

	assert_non_null(doc);
	len = (size_t)snprintf(doc, size,
			       POLICY_HEAD "  \"valid_until\": \"2099-12-31T00:00:00Z\",\n"
					   "  \"digests\": {\n");
	for (size_t i = 0; i < n; i++)
		len += (size_t)snprintf(doc + len, size - len,
					"%s    \"/usr/lib/vigil/file-%08zu\": [\"%064zx\"]",
					i ? ",\n" : "", i, i);
	snprintf(doc + len, size - len, "\n  }\n}\n");
	return doc;
}

static void test_large_threaded(void **state)
{
	_cleanup_free_ char *doc = large_policy(20000), *good = NULL, *untrusted = NULL;
	_cleanup_free_ char *bad = NULL, *bad_untrusted = NULL;
	struct vigil_policy *p = NULL;
	EVP_PKEY *trusted[] = { g.ec };
	size_t k = 9;

	(void)state;
	assert_true(strlen(doc) > (1u << 20));
	good = signed_policy(doc, g.ec);
	assert_int_equal(vigil_policy_load_signed(good, strlen(good), trusted, 1, NOW, &p, &k,
						  NULL),
			 VIGIL_POLICY_LOADED);
	assert_int_equal(vigil_policy_info(p)->digests, 20000);
	assert_int_equal(k, 0);
	vigil_policy_free(p);
	untrusted = signed_policy(doc, g.other);
	load_lib(untrusted, strlen(untrusted), VIGIL_POLICY_UNTRUSTED, NULL);
	strcpy(strstr(doc, "\"/usr/lib/vigil/file-00019999\""), "}"); /* broken document */
	bad = signed_policy(doc, g.ec);
	load_lib(bad, strlen(bad), VIGIL_POLICY_BAD_FORMAT, NULL);
	bad_untrusted = signed_policy(doc, g.other); /* the signature decides first */
	load_lib(bad_untrusted, strlen(bad_untrusted), VIGIL_POLICY_UNTRUSTED, NULL);
}

static void test_load_other_verdicts(void **state)
{
	static const char not_envelope[] = "{\"vigil_policy\": 1}";
	static const char big_payload[] = "{\"payload\":\"";
	_cleanup_free_ char *text = signed_policy(POLICY_OK, g.ec);
	struct vigil_policy *p = NULL;
	struct run r;

	(void)state;
	rejected(not_envelope, VIGIL_POLICY_BAD_ENVELOPE, &r, NULL);
	load_lib(big_payload, strlen(big_payload), VIGIL_POLICY_BAD_ENVELOPE, NULL);
	/* a trusted key of another kind is the caller's error, not a verdict */
	assert_int_equal(vigil_policy_load_signed(text, strlen(text), &g.rsa, 1, NOW, &p, NULL,
						  NULL),
			 -EINVAL);
	assert_null(p);
	assert_string_equal(vigil_policy_verdict_name(VIGIL_POLICY_TOO_LARGE), "too_large");
	assert_string_equal(vigil_policy_verdict_name(VIGIL_POLICY_EXPIRED), "expired");
	assert_string_equal(vigil_policy_verdict_name(99), "unknown");
}

/* ---- `vigil policy sign` and the command lines ---- */

static void test_cmd_sign(void **state)
{
	struct run r;
	char want[128];

	(void)state;
	write_file("p.json", POLICY_OK, strlen(POLICY_OK));
	RUN(&r, "policy", "sign", "p.json", "--key", "ec.pem", "-o", "p.dsse");
	assert_int_equal(r.code, 0);
	assert_string_equal(r.err, "");
	snprintf(want, sizeof(want), "%s\n", g.ec_id);
	assert_string_equal(r.out, want);
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "ec.pub");
	assert_int_equal(r.code, 0);
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "ed.pub");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "rejected: policy_untrusted");
	RUN(&r, "policy", "sign", "p.dsse", "--append", "--key", "ed.pem", "-o", "p.dsse");
	assert_int_equal(r.code, 0);
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "ed.pub");
	assert_int_equal(r.code, 0);
	snprintf(want, sizeof(want), "signer:      %s\n", g.ed_id);
	assert_contains(r.out, want);
	RUN(&r, "policy", "sign", "p.dsse", "--append", "--key", "ed.pem", "-o", "p2.dsse");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "already signed by key");
	RUN(&r, "policy", "sign", "p.json", "--append", "--key", "ed.pem", "-o", "p2.dsse");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "p.json: not a DSSE envelope");
}

static void test_cmd_sign_refuses(void **state)
{
	static const char doc[] = POLICY_HEAD "  \"valid_until\": \"2099-12-31T00:00:00Z\",\n"
					      "  \"deny\": [\"" DIGEST "0\"]\n}\n";
	char path[256];
	struct run r;

	(void)state;
	write_file("bad.json", doc, strlen(doc));
	RUN(&r, "policy", "sign", "bad.json", "--key", "ec.pem", "-o", "bad.dsse");
	assert_int_equal(r.code, 1);
	assert_contains(r.err, "vigil policy sign: bad.json: line 7: ");
	path_in(path, sizeof(path), "bad.dsse");
	assert_int_equal(access(path, F_OK), -1);
	write_file("p.json", POLICY_OK, strlen(POLICY_OK));
	RUN(&r, "policy", "sign", "p.json", "--key", "rsa.pem", "-o", "x.dsse");
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "rsa.pem: not an ECDSA P-256 or Ed25519 key");
	RUN(&r, "policy", "sign", "p.json", "--key", "ec.pub", "-o", "x.dsse");
	assert_int_equal(r.code, 3);
	RUN(&r, "policy", "sign", "p.json", "--key", "missing.pem", "-o", "x.dsse");
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "missing.pem: No such file or directory");
	RUN(&r, "policy", "sign", "p.json", "-o", "x.dsse");
	assert_int_equal(r.code, 2);
	RUN(&r, "policy", "sign", "--help");
	assert_int_equal(r.code, 0);
}

static void test_cmd_verify_errors(void **state)
{
	struct run r;

	(void)state;
	RUN(&r, "policy", "verify", "p.dsse");
	assert_int_equal(r.code, 2);
	assert_contains(r.err, "missing option '--trust'");
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "rsa.pub");
	assert_int_equal(r.code, 3);
	assert_contains(r.err, "rsa.pub: not an ECDSA P-256 or Ed25519 public key");
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "p384.pub");
	assert_int_equal(r.code, 3);
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "nonexistent.pub");
	assert_int_equal(r.code, 3);
	RUN(&r, "policy", "verify", "nonexistent.dsse", "--trust", "ec.pub");
	assert_int_equal(r.code, 3);
	RUN(&r, "policy", "verify", "p.dsse", "--trust", "ec.pub", "--now", "yesterday");
	assert_int_equal(r.code, 2);
	RUN(&r, "policy", "verify", "--help");
	assert_int_equal(r.code, 0);
	assert_contains(r.out, "Usage: vigil policy verify");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_pae_vector),
		cmocka_unit_test(test_round_trip_ecdsa),
		cmocka_unit_test(test_round_trip_ed25519),
		cmocka_unit_test(test_multiple_signatures),
		cmocka_unit_test(test_base64_every_byte),
		cmocka_unit_test(test_codec_base64_every_byte),
		cmocka_unit_test(test_base64_forms),
		cmocka_unit_test(test_url_safe_verifies),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_strict_parse),
		cmocka_unit_test(test_payload_bound),
		cmocka_unit_test(test_key_types),
		cmocka_unit_test(test_key_encrypted),
		cmocka_unit_test(test_key_id),
		cmocka_unit_test(test_cmd_key_generate),
		cmocka_unit_test(test_verified),
		cmocka_unit_test(test_reject_untrusted_key),
		cmocka_unit_test(test_reject_payload_changed),
		cmocka_unit_test(test_reject_type_changed),
		cmocka_unit_test(test_reject_expired),
		cmocka_unit_test(test_reject_malformed_json),
		cmocka_unit_test(test_reject_duplicate_keys),
		cmocka_unit_test(test_reject_digest_length),
		cmocka_unit_test(test_reject_1gib_claim),
		cmocka_unit_test(test_large_threaded),
		cmocka_unit_test(test_load_other_verdicts),
		cmocka_unit_test(test_cmd_sign),
		cmocka_unit_test(test_cmd_sign_refuses),
		cmocka_unit_test(test_cmd_verify_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
