// SPDX-License-Identifier: MIT
/*
 * test_proto.c: unit tests of the fleet protocol bodies (lib/proto.c).
 *
 * Valid bodies of the seven messages are written once by the formatters from messages built
 * here (an ECC P-256 AK and an RSA 2048 key standing in for the EK, from quote_builder.h;
 * random bytes for certificates and credentials, which the parser only bounds). Every test
 * then changes one thing in such a body, through json-c so the rest stays valid: a member
 * removed, a member of another JSON type, a TPM blob with a byte more or less, a string too
 * long, bad UTF-8, values just outside their ranges. Each must be refused with the documented
 * errno (-EINVAL malformed, -EFBIG too large) and leave the out-parameter untouched; the
 * value just inside each bound must pass. Then the device status document, whose member
 * names docs/fleet-protocol.md repeats, is read back member by member.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <openssl/rand.h>
#include <tss2/tss2_mu.h>

#include "cleanup.h"
#include "proto.h"
#include "quote_builder.h"

enum kind { IDENTITY, CHALLENGE, SECRET, QUOTE_REQUEST, RESULT, DEVICE, ERROR, KINDS };

/* A member of a message: its name, whether it must be there, whether it is a JSON integer. */
struct field {
	const char *name;
	bool required;
	bool integer;
};

static const struct field fields[KINDS][6] = {
	[IDENTITY] = { { "ek_public", true, false },
		       { "ek_cert", true, false },
		       { "ak_public", true, false } },
	[CHALLENGE] = { { "credential_blob", true, false }, { "encrypted_secret", true, false } },
	[SECRET] = { { "secret", true, false } },
	[QUOTE_REQUEST] = { { "nonce", true, false },
			    { "from", true, true },
			    { "pcrs", true, false },
			    { "interval_ms", true, true } },
	[RESULT] = { { "state", true, false },
		     { "reason", true, false },
		     { "next_ms", true, true } },
	[DEVICE] = { { "id", true, false },
		     { "mode", true, false },
		     { "address", true, false }, /* the valid body is a pull device */
		     { "policy", false, false },
		     { "interval_ms", false, true } },
	[ERROR] = { { "error", true, false }, { "detail", false, false } },
};

static struct {
	struct qb_key ak, ek;
	struct vigil_msg_identity identity;
	struct vigil_msg_challenge challenge;
	struct vigil_msg_secret secret;
	struct vigil_msg_quote_request request;
	struct vigil_msg_result result;
	struct vigil_msg_device device;
	char *body[KINDS];
} g;

/* Any message, so one test can run over all seven parsers. */
union msg {
	struct vigil_msg_identity identity;
	struct vigil_msg_challenge challenge;
	struct vigil_msg_secret secret;
	struct vigil_msg_quote_request request;
	struct vigil_msg_result result;
	struct vigil_msg_device device;
	struct vigil_msg_error error;
};

static int parse_kind(enum kind k, const char *text, size_t len, union msg *m)
{
	switch (k) {
	case IDENTITY:
		return vigil_msg_identity_parse(text, len, &m->identity);
	case CHALLENGE:
		return vigil_msg_challenge_parse(text, len, &m->challenge);
	case SECRET:
		return vigil_msg_secret_parse(text, len, &m->secret);
	case QUOTE_REQUEST:
		return vigil_msg_quote_request_parse(text, len, &m->request);
	case RESULT:
		return vigil_msg_result_parse(text, len, &m->result);
	case DEVICE:
		return vigil_msg_device_parse(text, len, &m->device);
	default:
		return vigil_msg_error_parse(text, len, &m->error);
	}
}

/* Parse @text as @k and check that a failure leaves the out-parameter as it was. */
static int parse_text(enum kind k, const char *text)
{
	union msg *m = malloc(sizeof(*m)), *before = malloc(sizeof(*m));
	int r;

	assert_non_null(m);
	assert_non_null(before);
	memset(m, 0xa5, sizeof(*m));
	memset(before, 0xa5, sizeof(*before));
	r = parse_kind(k, text, strlen(text), m);
	if (r < 0)
		assert_memory_equal(m, before, sizeof(*m));
	free(m);
	free(before);
	return r;
}

/* The valid body of @k with member @key set to @val (json-c takes it), or removed (NULL). */
static char *edit(enum kind k, const char *key, struct json_object *val)
{
	struct json_object *root = json_tokener_parse(g.body[k]);
	char *text;

	assert_non_null(root);
	if (val)
		assert_int_equal(json_object_object_add(root, key, val), 0);
	else
		json_object_object_del(root, key);
	text = strdup(json_object_to_json_string_ext(root, JSON_C_TO_STRING_PLAIN |
								   JSON_C_TO_STRING_NOSLASHESCAPE));
	assert_non_null(text);
	json_object_put(root);
	return text;
}

static int parse_edited(enum kind k, const char *key, struct json_object *val)
{
	char *text = edit(k, key, val);
	int r = parse_text(k, text);

	free(text);
	return r;
}

static int parse_string(enum kind k, const char *key, const char *s)
{
	return parse_edited(k, key, json_object_new_string(s));
}

static int parse_int(enum kind k, const char *key, int64_t v)
{
	return parse_edited(k, key, json_object_new_int64(v));
}

/* The body of @k with @key's value replaced by the raw JSON text @raw. */
static int parse_raw(enum kind k, const char *key, const char *raw)
{
	char *text = edit(k, key, json_object_new_string("@@"));
	char *at = strstr(text, "\"@@\""), *spliced = NULL;
	int r;

	assert_non_null(at);
	*at = '\0';
	assert_true(asprintf(&spliced, "%s%s%s", text, raw, at + 4) > 0);
	r = parse_text(k, spliced);
	free(spliced);
	free(text);
	return r;
}

static char *b64(const uint8_t *buf, size_t len)
{
	char *s = NULL;

	assert_int_equal(vigil_base64_encode(buf, len, &s), 0);
	return s;
}

static int parse_b64(enum kind k, const char *key, const uint8_t *buf, size_t len)
{
	char *s = b64(buf, len);
	int r = parse_string(k, key, s);

	free(s);
	return r;
}

static size_t marshal_public(const TPM2B_PUBLIC *pub, uint8_t *buf)
{
	size_t len = 0;

	assert_int_equal(Tss2_MU_TPM2B_PUBLIC_Marshal(pub, buf, sizeof(TPM2B_PUBLIC), &len), 0);
	return len;
}

static void random_bytes(uint8_t *buf, size_t len)
{
	assert_int_equal(RAND_bytes(buf, (int)len), 1);
}

static void build_messages(void)
{
	g.identity.ek = g.ek.pub;
	g.identity.ak = g.ak.pub;
	g.identity.ek_cert_len = 900;
	random_bytes(g.identity.ek_cert, g.identity.ek_cert_len);
	g.challenge.blob.size = 2 + 32 + 2 + 32;
	random_bytes(g.challenge.blob.credential, g.challenge.blob.size);
	g.challenge.seed.size = 256;
	random_bytes(g.challenge.seed.secret, g.challenge.seed.size);
	g.secret.len = 32;
	random_bytes(g.secret.secret, g.secret.len);
	g.request.nonce_len = 32;
	random_bytes(g.request.nonce, g.request.nonce_len);
	g.request.from = 1234;
	assert_int_equal(vigil_pcrsel_parse("sha256:11+sha1:10", &g.request.selection), 0);
	g.request.interval_ms = 2000;
	g.result = (struct vigil_msg_result){ .state = VIGIL_DEVICE_UNTRUSTED, .next_ms = 1500 };
	strcpy(g.result.reason, "records_rejected");
	g.device = (struct vigil_msg_device){ .mode = VIGIL_MODE_PULL, .interval_ms = 5000 };
	strcpy(g.device.id, "plc-17.line_3");
	strcpy(g.device.address, "gw.example.net:8443");
	strcpy(g.device.policy, "plc-runtime");
}

static int setup(void **state)
{
	(void)state;
	qb_key_new(QB_ECC256, &g.ak);
	qb_key_new(QB_RSASSA, &g.ek);
	build_messages();
	if (vigil_msg_identity_format(&g.identity, &g.body[IDENTITY]) < 0 ||
	    vigil_msg_challenge_format(&g.challenge, &g.body[CHALLENGE]) < 0 ||
	    vigil_msg_secret_format(&g.secret, &g.body[SECRET]) < 0 ||
	    vigil_msg_quote_request_format(&g.request, &g.body[QUOTE_REQUEST]) < 0 ||
	    vigil_msg_result_format(&g.result, &g.body[RESULT]) < 0 ||
	    vigil_msg_device_format(&g.device, &g.body[DEVICE]) < 0 ||
	    vigil_msg_error_format("bad_request", "body: \"id\" is missing", &g.body[ERROR]) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int k = 0; k < KINDS; k++)
		free(g.body[k]);
	qb_key_free(&g.ak);
	qb_key_free(&g.ek);
	return 0;
}

static void assert_public_equal(const TPM2B_PUBLIC *a, const TPM2B_PUBLIC *b)
{
	uint8_t x[sizeof(TPM2B_PUBLIC)], y[sizeof(TPM2B_PUBLIC)];
	size_t xl = marshal_public(a, x), yl = marshal_public(b, y);

	assert_int_equal(xl, yl);
	assert_memory_equal(x, y, xl);
}

/* ---- round trips ---- */

static void test_round_trip_identity(void **state)
{
	struct vigil_msg_identity m;

	(void)state;
	assert_int_equal(vigil_msg_identity_parse(g.body[IDENTITY], strlen(g.body[IDENTITY]), &m),
			 0);
	assert_public_equal(&m.ek, &g.identity.ek);
	assert_public_equal(&m.ak, &g.identity.ak);
	assert_int_equal(m.ek_cert_len, g.identity.ek_cert_len);
	assert_memory_equal(m.ek_cert, g.identity.ek_cert, m.ek_cert_len);
}

static void test_round_trip_challenge(void **state)
{
	struct vigil_msg_challenge m;

	(void)state;
	assert_int_equal(
		vigil_msg_challenge_parse(g.body[CHALLENGE], strlen(g.body[CHALLENGE]), &m), 0);
	assert_int_equal(m.blob.size, g.challenge.blob.size);
	assert_memory_equal(m.blob.credential, g.challenge.blob.credential, m.blob.size);
	assert_int_equal(m.seed.size, g.challenge.seed.size);
	assert_memory_equal(m.seed.secret, g.challenge.seed.secret, m.seed.size);
}

static void test_round_trip_secret(void **state)
{
	struct vigil_msg_secret m;
	char *text = NULL;

	(void)state;
	assert_int_equal(vigil_msg_secret_parse(g.body[SECRET], strlen(g.body[SECRET]), &m), 0);
	assert_int_equal(m.len, 32);
	assert_memory_equal(m.secret, g.secret.secret, 32);
	m.len = 1; /* the shortest secret */
	assert_int_equal(vigil_msg_secret_format(&m, &text), 0);
	memset(&m, 0, sizeof(m));
	assert_int_equal(vigil_msg_secret_parse(text, strlen(text), &m), 0);
	assert_int_equal(m.len, 1);
	assert_int_equal(m.secret[0], g.secret.secret[0]);
	free(text);
}

static void test_round_trip_quote_request(void **state)
{
	struct vigil_msg_quote_request m;

	(void)state;
	assert_int_equal(vigil_msg_quote_request_parse(g.body[QUOTE_REQUEST],
						       strlen(g.body[QUOTE_REQUEST]), &m),
			 0);
	assert_int_equal(m.nonce_len, g.request.nonce_len);
	assert_memory_equal(m.nonce, g.request.nonce, m.nonce_len);
	assert_int_equal(m.from, 1234);
	assert_true(vigil_pcrsel_equal(&m.selection, &g.request.selection));
	assert_int_equal(m.interval_ms, 2000);
}

static void test_round_trip_result(void **state)
{
	struct vigil_msg_result m;

	(void)state;
	assert_int_equal(vigil_msg_result_parse(g.body[RESULT], strlen(g.body[RESULT]), &m), 0);
	assert_int_equal(m.state, VIGIL_DEVICE_UNTRUSTED);
	assert_string_equal(m.reason, "records_rejected");
	assert_int_equal(m.next_ms, 1500);
}

static void test_round_trip_device(void **state)
{
	struct vigil_msg_device m, push = { .mode = VIGIL_MODE_PUSH, .interval_ms = 100 };
	char *text = NULL;

	(void)state;
	assert_int_equal(vigil_msg_device_parse(g.body[DEVICE], strlen(g.body[DEVICE]), &m), 0);
	assert_string_equal(m.id, "plc-17.line_3");
	assert_int_equal(m.mode, VIGIL_MODE_PULL);
	assert_string_equal(m.address, "gw.example.net:8443");
	assert_string_equal(m.policy, "plc-runtime");
	assert_int_equal(m.interval_ms, 5000);
	/* push, no policy: "address" and "policy" are left out and read back empty */
	strcpy(push.id, "a");
	assert_int_equal(vigil_msg_device_format(&push, &text), 0);
	assert_null(strstr(text, "address"));
	assert_null(strstr(text, "policy"));
	memset(&m, 0x5a, sizeof(m));
	assert_int_equal(vigil_msg_device_parse(text, strlen(text), &m), 0);
	assert_string_equal(m.id, "a");
	assert_int_equal(m.mode, VIGIL_MODE_PUSH);
	assert_string_equal(m.address, "");
	assert_string_equal(m.policy, "");
	assert_int_equal(m.interval_ms, 100);
	free(text);
}

static void test_round_trip_error(void **state)
{
	struct vigil_msg_error m;

	(void)state;
	assert_int_equal(vigil_msg_error_parse(g.body[ERROR], strlen(g.body[ERROR]), &m), 0);
	assert_string_equal(m.error, "bad_request");
	assert_string_equal(m.detail, "body: \"id\" is missing");
}

/* ---- what every message must refuse ---- */

static void test_missing_members(void **state)
{
	(void)state;
	for (int k = 0; k < KINDS; k++) {
		for (const struct field *f = fields[k]; f->name; f++) {
			int r = parse_edited((enum kind)k, f->name, NULL);

			if (r != (f->required ? -EINVAL : 0))
				fail_msg("kind %d without \"%s\": %d", k, f->name, r);
		}
	}
	/* a push device needs no address */
	assert_int_equal(parse_text(DEVICE, "{\"id\": \"x\", \"mode\": \"push\"}"), 0);
	assert_int_equal(parse_text(ERROR, "{\"error\": \"x\"}"), 0);
}

static void test_wrong_types(void **state)
{
	static const char *const as_string[] = { "7", "true", "null", "[]", "{}", "[\"a\"]" };
	static const char *const as_int[] = { "\"7\"", "7.0", "1e3", "true", "null", "[]", "{}" };

	(void)state;
	for (int k = 0; k < KINDS; k++) {
		for (const struct field *f = fields[k]; f->name; f++) {
			const char *const *bad = f->integer ? as_int : as_string;
			size_t n = f->integer ? 7 : 6;

			for (size_t i = 0; i < n; i++) {
				int r = parse_raw((enum kind)k, f->name, bad[i]);

				if (r != -EINVAL)
					fail_msg("kind %d \"%s\": %s: %d", k, f->name, bad[i], r);
			}
		}
	}
}

static void test_not_an_object(void **state)
{
	static const char *const bad[] = { "[]", "\"x\"", "7",	 "null",  "",
					   " ",	 "{",	  "{}x", "{} {}", "{\"error\": \"x\",}" };

	(void)state;
	for (int k = 0; k < KINDS; k++)
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
			assert_int_equal(parse_text((enum kind)k, bad[i]), -EINVAL);
	/* a NUL byte inside the body */
	assert_int_equal(vigil_msg_error_parse("{\"error\": \"x\"}\0", 16,
					       &(struct vigil_msg_error){ 0 }),
			 -EINVAL);
}

static void test_duplicate_members(void **state)
{
	(void)state;
	assert_int_equal(parse_text(ERROR, "{\"error\": \"x\", \"error\": \"y\"}"), -EINVAL);
	assert_int_equal(parse_text(DEVICE, "{\"id\": \"a\", \"mode\": \"push\", \"id\": \"b\"}"),
			 -EINVAL);
}

static void test_unknown_members_ignored(void **state)
{
	(void)state;
	for (int k = 0; k < KINDS; k++)
		assert_int_equal(parse_edited((enum kind)k, "future", json_object_new_object()), 0);
}

static void test_body_bounds(void **state)
{
	static char text[VIGIL_PROTO_SMALL_MAX + 2], big[65 * 1024 + 1];
	const size_t max = VIGIL_PROTO_SMALL_MAX;
	const char *head = "{\"error\": \"x\", \"pad\": \"";
	size_t hl = strlen(head);

	(void)state;
	memcpy(text, head, hl);
	/* exactly VIGIL_PROTO_SMALL_MAX bytes: accepted */
	memset(text + hl, 'a', max - hl - 2);
	memcpy(text + max - 2, "\"}", 3);
	assert_int_equal(strlen(text), max);
	assert_int_equal(parse_text(ERROR, text), 0);
	/* one byte more, and 65 KiB: too large */
	memset(text + hl, 'a', max - hl - 1);
	memcpy(text + max - 1, "\"}", 3);
	assert_int_equal(parse_text(ERROR, text), -EFBIG);
	memset(big, ' ', sizeof(big) - 1);
	big[0] = '{';
	big[sizeof(big) - 2] = '}';
	for (int k = 0; k < KINDS; k++)
		assert_int_equal(parse_text((enum kind)k, big), -EFBIG);
}

/* ---- TPM structures and base64 ---- */

/* @key of @k holds a blob; a byte more, a byte less, and a bad inner size must not parse. */
static void check_blob_bounds(enum kind k, const char *key, const uint8_t *blob, size_t len)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC) + 16];

	assert_true(len + 1 <= sizeof(buf));
	memcpy(buf, blob, len);
	assert_int_equal(parse_b64(k, key, buf, len), 0);
	buf[len] = 0;
	assert_int_equal(parse_b64(k, key, buf, len + 1), -EINVAL); /* trailing byte */
	assert_int_equal(parse_b64(k, key, buf, len - 1), -EINVAL); /* truncated */
	buf[1] ^= 1; /* the TPM2B size no longer matches the bytes */
	assert_int_equal(parse_b64(k, key, buf, len), -EINVAL);
	assert_int_equal(parse_b64(k, key, buf, 2), -EINVAL); /* size only */
	assert_int_equal(parse_string(k, key, ""), -EINVAL);
}

static void test_tpm_blobs(void **state)
{
	uint8_t buf[sizeof(TPM2B_PUBLIC)];
	size_t len;

	(void)state;
	len = marshal_public(&g.ek.pub, buf);
	check_blob_bounds(IDENTITY, "ek_public", buf, len);
	len = marshal_public(&g.ak.pub, buf);
	check_blob_bounds(IDENTITY, "ak_public", buf, len);
	len = 0;
	assert_int_equal(Tss2_MU_TPM2B_ID_OBJECT_Marshal(&g.challenge.blob, buf, sizeof(buf), &len),
			 0);
	check_blob_bounds(CHALLENGE, "credential_blob", buf, len);
	len = 0;
	assert_int_equal(Tss2_MU_TPM2B_ENCRYPTED_SECRET_Marshal(&g.challenge.seed, buf, sizeof(buf),
								&len),
			 0);
	check_blob_bounds(CHALLENGE, "encrypted_secret", buf, len);
	/* a TPM2B of size 0 is not a credential */
	memset(buf, 0, 2);
	assert_int_equal(parse_b64(CHALLENGE, "credential_blob", buf, 2), -EINVAL);
	assert_int_equal(parse_b64(CHALLENGE, "encrypted_secret", buf, 2), -EINVAL);
	/* an unknown algorithm in a public area */
	len = marshal_public(&g.ak.pub, buf);
	buf[2] = 0x7f;
	assert_int_equal(parse_b64(IDENTITY, "ak_public", buf, len), -EINVAL);
}

static void test_base64_bounds(void **state)
{
	static uint8_t big[sizeof(TPM2B_PUBLIC) + 4097];

	(void)state;
	assert_int_equal(parse_b64(IDENTITY, "ek_cert", big, 4096), 0);
	assert_int_equal(parse_b64(IDENTITY, "ek_cert", big, 4097), -EFBIG);
	assert_int_equal(parse_b64(IDENTITY, "ek_cert", big, 1), 0);
	assert_int_equal(parse_string(IDENTITY, "ek_cert", ""), -EINVAL);
	assert_int_equal(parse_b64(IDENTITY, "ak_public", big, sizeof(TPM2B_PUBLIC) + 1), -EFBIG);
	assert_int_equal(parse_b64(CHALLENGE, "credential_blob", big, sizeof(TPM2B_ID_OBJECT) + 1),
			 -EFBIG);
	assert_int_equal(parse_b64(CHALLENGE, "encrypted_secret", big,
				   sizeof(TPM2B_ENCRYPTED_SECRET) + 1),
			 -EFBIG);
	assert_int_equal(parse_b64(SECRET, "secret", big, 32), 0);
	assert_int_equal(parse_b64(SECRET, "secret", big, 33), -EFBIG);
	assert_int_equal(parse_b64(SECRET, "secret", big, 1), 0);
	assert_int_equal(parse_string(SECRET, "secret", ""), -EINVAL);
	/* not canonical base64: unused bits, no padding, whitespace, URL alphabet */
	assert_int_equal(parse_string(SECRET, "secret", "QR=="), -EINVAL);
	assert_int_equal(parse_string(SECRET, "secret", "QQ"), -EINVAL);
	assert_int_equal(parse_string(SECRET, "secret", "QUFB QUFB"), -EINVAL);
	assert_int_equal(parse_string(SECRET, "secret", "-_-_"), -EINVAL);
	assert_int_equal(parse_string(SECRET, "secret", "QUFBQUFB\n"), -EINVAL);
}

/* ---- strings ---- */

static void test_utf8(void **state)
{
	static const char text[] = "{\"error\": \"x\", \"detail\": \"\\udc00x\"}";
	struct vigil_msg_error m;
	static const char *const bad[] = {
		"\"\\u0000\"",	    "\"a\\u0000b\"",	    "\"\xff\"",	    "\"\xc0\x80\"",
		"\"\xed\xa0\x80\"", "\"\xf4\x90\x80\x80\"", "\"\xe2\x82\"", "\"\x80\"",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (parse_raw(ERROR, "detail", bad[i]) != -EINVAL)
			fail_msg("detail %s accepted", bad[i]);
		assert_int_equal(parse_raw(DEVICE, "policy", bad[i]), -EINVAL);
	}
	assert_int_equal(parse_raw(ERROR, "detail", "\"gr\xc3\xbc\xc3\x9f \\ud83d\\ude00\""), 0);
	/* json-c reads a lone surrogate escape as U+FFFD: valid UTF-8, so accepted as that */
	assert_int_equal(vigil_msg_error_parse(text, strlen(text), &m), 0);
	assert_string_equal(m.detail, "\xef\xbf\xbdx");
	assert_int_equal(parse_raw(DEVICE, "policy", "\"\\ud800\""), -EINVAL);
	assert_int_equal(parse_string(ERROR, "detail", ""), 0);
}

static void test_string_lengths(void **state)
{
	char s[300];

	(void)state;
	memset(s, 'a', sizeof(s));
	s[255] = '\0';
	assert_int_equal(parse_string(ERROR, "detail", s), 0);
	s[255] = 'a';
	s[256] = '\0';
	assert_int_equal(parse_string(ERROR, "detail", s), -EFBIG);
	s[47] = '\0';
	assert_int_equal(parse_string(ERROR, "error", s), 0);
	assert_int_equal(parse_string(RESULT, "reason", s), 0);
	s[47] = 'a';
	s[48] = '\0';
	assert_int_equal(parse_string(ERROR, "error", s), -EFBIG);
	assert_int_equal(parse_string(RESULT, "reason", s), -EFBIG);
	assert_int_equal(parse_string(ERROR, "error", ""), -EINVAL);
	assert_int_equal(parse_string(ERROR, "error", "Bad"), -EINVAL);
	assert_int_equal(parse_string(ERROR, "error", "a-b"), -EINVAL);
	assert_int_equal(parse_string(RESULT, "reason", "none"), 0);
	assert_int_equal(parse_string(RESULT, "reason", "records rejected"), -EINVAL);
}

static void test_device_id(void **state)
{
	static const char *const good[] = { "a", "A9", "plc_1.line-2", "0" };
	static const char *const bad[] = { "", ".a", "-a", "a/b", "a b", "a:b", "\xc3\xa9", "a\\b" };
	char id[80];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(parse_string(DEVICE, "id", good[i]), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_string(DEVICE, "id", bad[i]) != -EINVAL)
			fail_msg("id \"%s\" accepted", bad[i]);
	memset(id, 'x', sizeof(id));
	id[64] = '\0';
	assert_int_equal(parse_string(DEVICE, "id", id), 0);
	id[64] = 'x';
	id[65] = '\0';
	assert_int_equal(parse_string(DEVICE, "id", id), -EFBIG);
}

static void test_address(void **state)
{
	static const char *const good[] = {
		"h:1",		"10.0.0.7:65535",   "[::1]:443",
		"[fe80::1]:80", "a-b.example:8443", "[::ffff:1.2.3.4]:9"
	};
	static const char *const bad[] = { "",	      "h",	":80",	     "h:",     "h:0",
					   "h:65536", "h:080",	"h:-1",	     "h:8a",   "h:1:2",
					   "a b:1",   "[::1]",	"[::1]:",    "[zz]:1", "[]:1",
					   "::1:80",  "h_1:80", "[::1]x:80", "h:+80",  "h:99999" };
	char addr[300];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (parse_string(DEVICE, "address", good[i]) != 0)
			fail_msg("address \"%s\" refused", good[i]);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_string(DEVICE, "address", bad[i]) != -EINVAL)
			fail_msg("address \"%s\" accepted", bad[i]);
	memset(addr, 'h', sizeof(addr));
	strcpy(addr + 249, ":65535");
	assert_int_equal(parse_string(DEVICE, "address", addr), 0); /* 255 bytes */
	strcpy(addr + 250, ":65535");
	assert_int_equal(parse_string(DEVICE, "address", addr), -EFBIG);
	/* push: no address, or an empty one */
	assert_int_equal(
		parse_text(DEVICE, "{\"id\": \"x\", \"mode\": \"push\", \"address\": \"\"}"), 0);
	assert_int_equal(parse_text(DEVICE,
				    "{\"id\": \"x\", \"mode\": \"push\", \"address\": \"h:1\"}"),
			 -EINVAL);
	assert_int_equal(parse_text(DEVICE, "{\"id\": \"x\", \"mode\": \"pull\"}"), -EINVAL);
	assert_int_equal(parse_string(DEVICE, "mode", "PUSH"), -EINVAL);
	assert_int_equal(parse_string(DEVICE, "mode", "pushy"), -EINVAL);
}

static void test_policy_name(void **state)
{
	char name[140];

	(void)state;
	assert_int_equal(parse_string(DEVICE, "policy", "plc.runtime_v2-x"), 0);
	assert_int_equal(parse_string(DEVICE, "policy", ""), 0); /* "": none, as when absent */
	assert_int_equal(parse_string(DEVICE, "policy", "a b"), -EINVAL);
	assert_int_equal(parse_string(DEVICE, "policy", "a/b"), -EINVAL);
	memset(name, 'p', sizeof(name));
	name[128] = '\0';
	assert_int_equal(parse_string(DEVICE, "policy", name), 0);
	name[128] = 'p';
	name[129] = '\0';
	assert_int_equal(parse_string(DEVICE, "policy", name), -EFBIG);
}

/* ---- quote requests and numbers ---- */

static void test_nonce(void **state)
{
	char hex[2 * 65 + 2];

	(void)state;
	memset(hex, 'a', sizeof(hex));
	hex[16] = '\0';
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", hex), 0); /* 8 bytes */
	hex[14] = '\0';
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", hex), -EINVAL); /* 7 */
	hex[14] = 'a';
	hex[16] = 'a';
	hex[128] = '\0';
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", hex), 0); /* 64 */
	hex[128] = 'a';
	hex[130] = '\0';
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", hex), -EFBIG); /* 65 */
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", "00112233445566778"), -EINVAL);
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", "0011223344556677xx"), -EINVAL);
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", "0011223344556677 "), -EINVAL);
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", "AABBCCDDEEFF0011"), 0);
	assert_int_equal(parse_string(QUOTE_REQUEST, "nonce", ""), -EINVAL);
}

static void test_pcrs(void **state)
{
	static const char *const bad[] = {
		"",	      "sha256",		  "sha256:",	"sha256:24",
		"md5:1",      "sha256:1,,2",	  "sha256:11+", "+sha256:1",
		"sha256:3-1", "sha256:a",	  "sha256:-1",	"SHA256 :1",
		"sha256:1,",  "sha256:11++sha1:1"
	};

	(void)state;
	assert_int_equal(parse_string(QUOTE_REQUEST, "pcrs", "sha256:0-23"), 0);
	assert_int_equal(parse_string(QUOTE_REQUEST, "pcrs", "sha384:11+sha512:11"), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (parse_string(QUOTE_REQUEST, "pcrs", bad[i]) != -EINVAL)
			fail_msg("pcrs \"%s\" accepted", bad[i]);
}

static void test_numbers(void **state)
{
	(void)state;
	assert_int_equal(parse_int(QUOTE_REQUEST, "interval_ms", 100), 0);
	assert_int_equal(parse_int(QUOTE_REQUEST, "interval_ms", 99), -EINVAL);
	assert_int_equal(parse_int(QUOTE_REQUEST, "interval_ms", 86400000), 0);
	assert_int_equal(parse_int(QUOTE_REQUEST, "interval_ms", 86400001), -EINVAL);
	assert_int_equal(parse_int(DEVICE, "interval_ms", 99), -EINVAL);
	assert_int_equal(parse_int(DEVICE, "interval_ms", 86400001), -EINVAL);
	assert_int_equal(parse_int(DEVICE, "interval_ms", 4294967396LL), -EINVAL);
	assert_int_equal(parse_int(QUOTE_REQUEST, "from", 0), 0);
	assert_int_equal(parse_int(QUOTE_REQUEST, "from", -1), -EINVAL);
	assert_int_equal(parse_int(QUOTE_REQUEST, "from", 1LL << 53), 0);
	assert_int_equal(parse_int(QUOTE_REQUEST, "from", (1LL << 53) + 1), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "18446744073709551615"), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "18446744073709551616"), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "-0"), 0);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "+1"), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "01"), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "1.5"), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "1E2"), -EINVAL);
	assert_int_equal(parse_raw(QUOTE_REQUEST, "from", "0x10"), -EINVAL);
	assert_int_equal(parse_int(RESULT, "next_ms", 0), 0);
	assert_int_equal(parse_int(RESULT, "next_ms", 86400000), 0);
	assert_int_equal(parse_int(RESULT, "next_ms", 86400001), -EINVAL);
	assert_int_equal(parse_int(RESULT, "next_ms", -5), -EINVAL);
}

/* ---- states, results, errors ---- */

static void test_states(void **state)
{
	static const char *const names[] = { "registered", "enrolled", "trusted", "untrusted",
					     "missed" };
	enum vigil_device_state s = VIGIL_DEVICE_TRUSTED;

	(void)state;
	for (int i = VIGIL_DEVICE_REGISTERED; i <= VIGIL_DEVICE_MISSED; i++) {
		assert_int_equal(vigil_device_state_parse(names[i], &s), 0);
		assert_int_equal(s, i);
		assert_string_equal(vigil_device_state_name(s), names[i]);
		assert_int_equal(parse_string(RESULT, "state", names[i]), 0);
	}
	s = VIGIL_DEVICE_TRUSTED;
	assert_int_equal(vigil_device_state_parse("unknown", &s), -EINVAL);
	assert_int_equal(vigil_device_state_parse("Trusted", &s), -EINVAL);
	assert_int_equal(vigil_device_state_parse("", &s), -EINVAL);
	assert_int_equal(s, VIGIL_DEVICE_TRUSTED);
	assert_int_equal(parse_string(RESULT, "state", "unknown"), -EINVAL);
	assert_int_equal(parse_string(RESULT, "state", "trusted "), -EINVAL);
}

static void test_error_format(void **state)
{
	struct vigil_msg_error m;
	char long_detail[600], *text = NULL;

	(void)state;
	assert_int_equal(vigil_msg_error_format("bad_request", "x\xff\x01y\n\xc3", &text), 0);
	assert_int_equal(vigil_msg_error_parse(text, strlen(text), &m), 0);
	assert_string_equal(m.detail, "x??y??");
	free(text);
	/* cut at 255 bytes, never inside a character: 127 "é" are 254 bytes */
	for (size_t i = 0; i < 150; i++)
		memcpy(long_detail + 2 * i, "\xc3\xa9", 2);
	long_detail[300] = '\0';
	assert_int_equal(vigil_msg_error_format("too_large", long_detail, &text), 0);
	assert_int_equal(vigil_msg_error_parse(text, strlen(text), &m), 0);
	assert_int_equal(strlen(m.detail), 254);
	free(text);
	assert_int_equal(vigil_msg_error_format("x", NULL, &text), 0);
	assert_int_equal(vigil_msg_error_parse(text, strlen(text), &m), 0);
	assert_string_equal(m.detail, "");
	free(text);
	text = NULL;
	assert_int_equal(vigil_msg_error_format("Bad", "", &text), -EINVAL);
	assert_int_equal(vigil_msg_error_format("", "", &text), -EINVAL);
	assert_int_equal(vigil_msg_error_format("a23456789012345678901234567890123456789012345678",
						"", &text),
			 -EINVAL);
	assert_null(text);
}

/* Writers refuse what the parsers would refuse, so a written body always parses. */
static void test_formatters_refuse(void **state)
{
	struct vigil_msg_identity id = g.identity;
	struct vigil_msg_challenge ch = g.challenge;
	struct vigil_msg_secret se = g.secret;
	struct vigil_msg_quote_request rq = g.request;
	struct vigil_msg_result rs = g.result;
	struct vigil_msg_device dv = g.device;
	char *text = NULL;

	(void)state;
	id.ek_cert_len = 0;
	assert_int_equal(vigil_msg_identity_format(&id, &text), -EINVAL);
	id.ek_cert_len = 4097;
	assert_int_equal(vigil_msg_identity_format(&id, &text), -EINVAL);
	ch.blob.size = 0;
	assert_int_equal(vigil_msg_challenge_format(&ch, &text), -EINVAL);
	se.len = 0;
	assert_int_equal(vigil_msg_secret_format(&se, &text), -EINVAL);
	se.len = 33;
	assert_int_equal(vigil_msg_secret_format(&se, &text), -EINVAL);
	rq.nonce_len = 7;
	assert_int_equal(vigil_msg_quote_request_format(&rq, &text), -EINVAL);
	rq = g.request;
	rq.interval_ms = 99;
	assert_int_equal(vigil_msg_quote_request_format(&rq, &text), -EINVAL);
	rq = g.request;
	rq.from = (1ULL << 53) + 1;
	assert_int_equal(vigil_msg_quote_request_format(&rq, &text), -EINVAL);
	rq = g.request;
	rq.selection.count = 0;
	assert_int_equal(vigil_msg_quote_request_format(&rq, &text), -EINVAL);
	rs.state = (enum vigil_device_state)99;
	assert_int_equal(vigil_msg_result_format(&rs, &text), -EINVAL);
	rs = g.result;
	rs.next_ms = 86400001;
	assert_int_equal(vigil_msg_result_format(&rs, &text), -EINVAL);
	dv.mode = VIGIL_MODE_PUSH; /* with an address */
	assert_int_equal(vigil_msg_device_format(&dv, &text), -EINVAL);
	dv = g.device;
	dv.address[0] = '\0'; /* pull without one */
	assert_int_equal(vigil_msg_device_format(&dv, &text), -EINVAL);
	dv = g.device;
	strcpy(dv.id, "-x");
	assert_int_equal(vigil_msg_device_format(&dv, &text), -EINVAL);
	dv = g.device;
	dv.interval_ms = 86400001;
	assert_int_equal(vigil_msg_device_format(&dv, &text), -EINVAL);
	assert_null(text);
}

/* ---- device status ---- */

static struct json_object *get(struct json_object *o, const char *key, json_type type)
{
	struct json_object *m = NULL;

	if (!json_object_object_get_ex(o, key, &m) || !json_object_is_type(m, type))
		fail_msg("member \"%s\" missing or of another type", key);
	return m;
}

static void fill_device(struct vigil_device *d)
{
	uint8_t pub[sizeof(TPM2B_PUBLIC)];

	memset(d, 0, sizeof(*d));
	strcpy(d->id, "plc-1");
	d->mode = VIGIL_MODE_PUSH;
	d->interval_ms = 2000;
	d->state = VIGIL_DEVICE_TRUSTED;
	d->enrolled = true;
	memset(d->ek_hash, 0xab, sizeof(d->ek_hash));
	memset(d->ek_cert_fingerprint, 0xcd, sizeof(d->ek_cert_fingerprint));
	d->ak_public_len = marshal_public(&g.ak.pub, pub);
	memcpy(d->ak_public, pub, d->ak_public_len);
	d->cursor = (struct vigil_cursor){ .next = 812, .valid = true };
	d->cursor.clock = (struct vigil_clock_state){ 9000000000ULL, 3, 1 };
	d->policy_version = 7;
	d->seq = 41;
	d->due_ms = 1800000002000;
	d->last_ms = 1800000000000;
	strcpy(d->last_reason, "none");
	d->failures = 0;
}

static void check_status_device(struct json_object *o)
{
	struct json_object *c = get(o, "cursor", json_type_object);
	uint8_t keyid[VIGIL_AK_KEYID_SIZE];
	char hex[2 * VIGIL_AK_KEYID_SIZE + 1];

	assert_string_equal(json_object_get_string(get(o, "id", json_type_string)), "plc-1");
	assert_string_equal(json_object_get_string(get(o, "mode", json_type_string)), "push");
	assert_string_equal(json_object_get_string(get(o, "address", json_type_string)), "");
	assert_string_equal(json_object_get_string(get(o, "policy", json_type_string)), "");
	assert_int_equal(json_object_get_int64(get(o, "interval_ms", json_type_int)), 2000);
	assert_string_equal(json_object_get_string(get(o, "state", json_type_string)), "trusted");
	assert_true(json_object_get_boolean(get(o, "enrolled", json_type_boolean)));
	assert_string_equal(json_object_get_string(get(o, "ek_hash", json_type_string)),
			    "abababababababababababababababababababababababababababababababab");
	assert_string_equal(json_object_get_string(get(o, "ek_cert_fingerprint", json_type_string)),
			    "cdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd");
	assert_int_equal(vigil_ak_keyid(g.ak.pkey, keyid), 0);
	assert_int_equal(vigil_hex_encode(keyid, sizeof(keyid), hex, sizeof(hex)), 0);
	assert_string_equal(json_object_get_string(get(o, "ak_keyid", json_type_string)), hex);
	assert_int_equal(json_object_get_uint64(get(c, "next", json_type_int)), 812);
	assert_int_equal(json_object_get_uint64(get(c, "clock", json_type_int)), 9000000000ULL);
	assert_int_equal(json_object_get_int64(get(c, "reset_count", json_type_int)), 3);
	assert_int_equal(json_object_get_int64(get(c, "restart_count", json_type_int)), 1);
	assert_true(json_object_get_boolean(get(c, "valid", json_type_boolean)));
	assert_int_equal(json_object_get_int64(get(o, "policy_version", json_type_int)), 7);
	assert_int_equal(json_object_get_int64(get(o, "seq", json_type_int)), 41);
	assert_int_equal(json_object_get_int64(get(o, "due_ms", json_type_int)), 1800000002000);
	assert_int_equal(json_object_get_int64(get(o, "last_ms", json_type_int)), 1800000000000);
	assert_string_equal(json_object_get_string(get(o, "last_reason", json_type_string)),
			    "none");
	assert_int_equal(json_object_get_int64(get(o, "failures", json_type_int)), 0);
}

static void check_status_history(struct json_object *o)
{
	struct json_object *h = get(o, "history", json_type_array), *a, *v = NULL;

	assert_int_equal(json_object_array_length(h), 2);
	a = json_object_array_get_idx(h, 0);
	assert_int_equal(json_object_get_int64(get(a, "seq", json_type_int)), 41);
	assert_int_equal(json_object_get_int64(get(a, "time_ms", json_type_int)), 1800000000000);
	assert_string_equal(json_object_get_string(get(a, "state", json_type_string)), "trusted");
	assert_string_equal(json_object_get_string(get(a, "reason", json_type_string)), "none");
	assert_int_equal(json_object_get_int64(get(a, "from", json_type_int)), 800);
	assert_int_equal(json_object_get_int64(get(a, "to", json_type_int)), 812);
	assert_true(json_object_get_boolean(
		get(get(a, "verdict", json_type_object), "accepted", json_type_boolean)));
	a = json_object_array_get_idx(h, 1);
	assert_string_equal(json_object_get_string(get(a, "state", json_type_string)), "missed");
	assert_true(json_object_object_get_ex(a, "verdict", &v));
	assert_null(v);
}

static void test_device_status(void **state)
{
	struct vigil_device d;
	struct vigil_attestation h[2] = {
		{ .seq = 41,
		  .time_ms = 1800000000000,
		  .state = VIGIL_DEVICE_TRUSTED,
		  .from = 800,
		  .to = 812,
		  .verdict = (char *)"{\"accepted\": true, \"reason\": \"none\"}" },
		{ .seq = 40, .time_ms = 1799999998000, .state = VIGIL_DEVICE_MISSED },
	};
	struct json_object *o = NULL;
	char *text = NULL;

	(void)state;
	fill_device(&d);
	strcpy(h[0].reason, "none");
	strcpy(h[1].reason, "missed");
	assert_int_equal(vigil_msg_device_status_format(&d, h, 2, &text), 0);
	assert_int_equal(vigil_json_parse(text, strlen(text), 1 << 20, &o), 0);
	check_status_device(o);
	check_status_history(o);
	json_object_put(o);
	free(text);
	/* without history: no "history" member; not enrolled: no identity members */
	d.enrolled = false;
	assert_int_equal(vigil_msg_device_status_format(&d, NULL, 0, &text), 0);
	assert_null(strstr(text, "history"));
	assert_null(strstr(text, "ek_hash"));
	assert_null(strstr(text, "ak_keyid"));
	free(text);
	text = NULL;
	/* inconsistent input is refused, not written */
	h[0].verdict = (char *)"{not json";
	assert_int_equal(vigil_msg_device_status_format(&d, h, 2, &text), -EINVAL);
	d.state = (enum vigil_device_state)17;
	assert_int_equal(vigil_msg_device_status_format(&d, NULL, 0, &text), -EINVAL);
	fill_device(&d);
	d.ak_public_len = 3;
	assert_int_equal(vigil_msg_device_status_format(&d, NULL, 0, &text), -EINVAL);
	assert_null(text);
}

/* PUT /v1/devices/ID/policy: a policy name or "" (none); nothing else. */
static void test_policy_ref(void **state)
{
	static const char *const bad[] = {
		"{}",	     "{\"policy\": 5}", "{\"policy\": \"a/b\"}", "{\"policy\": \"plc\"} x",
		"[\"plc\"]",
	};
	struct vigil_msg_policy_ref m = { .policy = "unchanged" }, back;
	char *text = NULL;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(vigil_msg_policy_ref_parse(bad[i], strlen(bad[i]), &m), -EINVAL);
		assert_string_equal(m.policy, "unchanged");
	}
	assert_int_equal(vigil_msg_policy_ref_parse("{\"policy\": \"\"}", 14, &m), 0);
	assert_string_equal(m.policy, "");
	snprintf(m.policy, sizeof(m.policy), "plc-runtime.v2");
	assert_int_equal(vigil_msg_policy_ref_format(&m, &text), 0);
	assert_int_equal(vigil_msg_policy_ref_parse(text, strlen(text), &back), 0);
	assert_string_equal(back.policy, "plc-runtime.v2");
	free(text);
	snprintf(m.policy, sizeof(m.policy), "no/name");
	assert_int_equal(vigil_msg_policy_ref_format(&m, &text), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip_identity),
		cmocka_unit_test(test_round_trip_challenge),
		cmocka_unit_test(test_round_trip_secret),
		cmocka_unit_test(test_round_trip_quote_request),
		cmocka_unit_test(test_round_trip_result),
		cmocka_unit_test(test_round_trip_device),
		cmocka_unit_test(test_round_trip_error),
		cmocka_unit_test(test_missing_members),
		cmocka_unit_test(test_wrong_types),
		cmocka_unit_test(test_not_an_object),
		cmocka_unit_test(test_duplicate_members),
		cmocka_unit_test(test_unknown_members_ignored),
		cmocka_unit_test(test_body_bounds),
		cmocka_unit_test(test_tpm_blobs),
		cmocka_unit_test(test_base64_bounds),
		cmocka_unit_test(test_utf8),
		cmocka_unit_test(test_string_lengths),
		cmocka_unit_test(test_device_id),
		cmocka_unit_test(test_address),
		cmocka_unit_test(test_policy_name),
		cmocka_unit_test(test_nonce),
		cmocka_unit_test(test_pcrs),
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_error_format),
		cmocka_unit_test(test_formatters_refuse),
		cmocka_unit_test(test_device_status),
		cmocka_unit_test(test_policy_ref),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
