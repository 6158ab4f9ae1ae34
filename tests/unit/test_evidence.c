// SPDX-License-Identifier: MIT
/*
 * test_evidence.c: unit tests of the evidence document (lib/evidence.c) and the strict
 * decoders under it: hex and base64 (codec.c) and bounded JSON without duplicate names (json.c).
 *
 * An evidence document is built from a software quote (quote_builder.h), written, read back
 * and verified; then the text is mutated the ways an attacker or a broken device would (duplicate
 * members, wrong types, values for PCRs that were not quoted, non-canonical encodings, trailing
 * bytes, absurd nesting and sizes), and each mutation must be refused by the parser.
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

#include "attest.h"
#include "cleanup.h"
#include "quote_builder.h"

static const uint8_t nonce[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

static void test_hex(void **state)
{
	uint8_t out[4];
	char text[9];
	size_t n = 0;

	(void)state;
	assert_int_equal(vigil_hex_decode("00fFa1", 6, out, sizeof(out), &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(out[1], 0xff);
	assert_int_equal(vigil_hex_decode("0", 1, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(vigil_hex_decode("0g", 2, out, sizeof(out), &n), -EINVAL);
	assert_int_equal(vigil_hex_decode("0011223344", 10, out, sizeof(out), &n), -ENOSPC);
	assert_int_equal(vigil_hex_encode(out, 3, text, sizeof(text)), 0);
	assert_string_equal(text, "00ffa1");
	assert_int_equal(vigil_hex_encode(out, 4, text, 8), -ENOSPC);
}

static void test_base64(void **state)
{
	static const char *const good[][2] = {
		{ "", "" },
		{ "f", "Zg==" },
		{ "fo", "Zm8=" },
		{ "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" },
		{ "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = { "Zg=",    "Zh==", "Zm9=", "Z===", "Zg==Zg==",
					   "Zm9v\n", "Zm 9", "Zm9-", "====", "Zm9vY" };
	uint8_t *out;
	char *enc;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(vigil_base64_encode((const uint8_t *)good[i][0],
						     strlen(good[i][0]), &enc),
				 0);
		assert_string_equal(enc, good[i][1]);
		free(enc);
		assert_int_equal(vigil_base64_decode(good[i][1], strlen(good[i][1]), 64, &out, &n),
				 0);
		assert_int_equal(n, strlen(good[i][0]));
		assert_memory_equal(out, good[i][0], n);
		free(out);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vigil_base64_decode(bad[i], strlen(bad[i]), 64, &out, &n) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(vigil_base64_decode("Zm9vYmFy", 8, 5, &out, &n), -EFBIG);
}

static int parse(const char *text)
{
	struct json_object *o = NULL;
	int r = vigil_json_parse(text, strlen(text), 4096, &o);

	json_object_put(o);
	return r;
}

static void test_json(void **state)
{
	char deep[64] = "", wide[2048] = "{";

	(void)state;
	assert_int_equal(parse("{\"a\": 1, \"b\": [1, {\"a\": 2}], \"c\": \"{\\\"a\\\":1}\"}\n"),
			 0);
	assert_int_equal(parse("{\"a\": 1, \"a\": 2}"), -ENOTUNIQ);
	assert_int_equal(parse("{\"x\": {\"a\": 1, \"b\": {}, \"a\": 2}}"), -ENOTUNIQ);
	assert_int_equal(parse("{\"a\": 1, \"\\u0061\": 2}"), -EBADMSG);
	assert_int_equal(parse("{\"a\": 1} x"), -EBADMSG);
	assert_int_equal(parse("{\"a\": 1}{}"), -EBADMSG);
	assert_int_equal(parse("{\"a\": 1,}"), -EBADMSG);
	assert_int_equal(parse("{\"a\": \"\xff\"}"), -EBADMSG);
	assert_int_equal(parse(""), -ENODATA);
	for (int i = 0; i < 17; i++)
		strcat(deep, "[");
	assert_int_equal(parse(deep), -ELOOP);
	for (int i = 0; i <= VIGIL_JSON_MEMBERS_MAX; i++)
		snprintf(wide + strlen(wide), sizeof(wide) - strlen(wide), "%s\"k%d\": 0",
			 i ? ", " : "", i);
	strcat(wide, "}");
	assert_int_equal(parse(wide), -E2BIG);
	assert_int_equal(vigil_json_parse("{}", 2, 1, NULL), -EFBIG);
	assert_int_equal(vigil_json_parse("{}\0", 3, 16, NULL), -EBADMSG);
}

struct doc {
	struct qb_key key;
	struct vigil_evidence ev;
	uint8_t attest[sizeof(TPMS_ATTEST)];
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	uint8_t log[3];
	char *text;
};

static int setup(void **state)
{
	struct doc *d = calloc(1, sizeof(*d));
	uint8_t v[32] = { 0xaa };
	TPMS_ATTEST a;

	if (!d)
		return -1;
	qb_key_new(QB_ECC256, &d->key);
	if (vigil_pcrsel_parse("sha256:0,11", &d->ev.selection) < 0 ||
	    vigil_pcr_values_add(&d->ev.pcrs, TPM2_ALG_SHA256, 0, v, 32) < 0 ||
	    vigil_pcr_values_add(&d->ev.pcrs, TPM2_ALG_SHA256, 11, v, 32) < 0)
		return -1;
	a = qb_attest(&d->key, nonce, sizeof(nonce), &d->ev.selection, &d->ev.pcrs);
	d->ev.attest = d->attest;
	d->ev.attest_len = qb_marshal_attest(&a, d->attest, sizeof(d->attest));
	d->ev.sig = d->sig;
	d->ev.sig_len = qb_sign(&d->key, &d->key.scheme, d->attest, d->ev.attest_len, d->sig,
				sizeof(d->sig));
	memcpy(d->ev.nonce, nonce, sizeof(nonce));
	d->ev.nonce_len = sizeof(nonce);
	d->ev.ak_public = d->key.pub;
	d->ev.ak_handle = 0x81400000;
	d->ev.log = d->log;
	d->ev.log_len = 0;
	d->ev.kernel = "6.1.0-test";
	if (vigil_evidence_format(&d->ev, &d->text) < 0)
		return -1;
	*state = d;
	return 0;
}

static int teardown(void **state)
{
	struct doc *d = *state;

	qb_key_free(&d->key);
	free(d->text);
	free(d);
	return 0;
}

static void test_round_trip(void **state)
{
	struct doc *d = *state;
	_cleanup_(vigil_evidence_freep) struct vigil_evidence *ev = NULL;
	EVP_PKEY *pub = qb_public(&d->key);
	struct vigil_verdict v;

	assert_int_equal(vigil_evidence_parse(d->text, strlen(d->text), &ev), 0);
	assert_memory_equal(ev->nonce, nonce, sizeof(nonce));
	assert_int_equal(ev->attest_len, d->ev.attest_len);
	assert_memory_equal(ev->attest, d->attest, ev->attest_len);
	assert_memory_equal(ev->sig, d->sig, ev->sig_len);
	assert_true(vigil_pcrsel_equal(&ev->selection, &d->ev.selection));
	assert_int_equal(ev->pcrs.count, 2);
	{
		TPM2B_NAME a, b;

		assert_int_equal(vigil_ak_name(&ev->ak_public.publicArea, &a), 0);
		assert_int_equal(vigil_ak_name(&d->key.pub.publicArea, &b), 0);
		assert_memory_equal(&a, &b, sizeof(a));
	}
	assert_int_equal(ev->ak_handle, 0x81400000);
	assert_non_null(ev->log);
	assert_int_equal(ev->log_len, 0);
	assert_string_equal(ev->kernel, "6.1.0-test");
	{
		const struct vigil_attest_input in = {
			.quote = { .attest = ev->attest,
				   .attest_len = ev->attest_len,
				   .sig = ev->sig,
				   .sig_len = ev->sig_len,
				   .ak = pub,
				   .ak_public = &ev->ak_public,
				   .nonce = nonce,
				   .nonce_len = sizeof(nonce),
				   .selection = &ev->selection,
				   .pcrs = &ev->pcrs },
			.log = ev->log,
			.log_len = ev->log_len,
			.log_bank = TPM2_ALG_SHA256,
			.log_pcr = 11,
		};

		assert_int_equal(vigil_attest_verify(&in, &v), 0);
		/* the quoted PCR 11 is not zero, so an empty log cannot explain it */
		assert_false(v.accepted);
		assert_int_equal(v.reason, VIGIL_REJECT_LOG_MISMATCH);
		assert_int_equal(v.checks[VIGIL_CHECK_PCR_DIGEST], VIGIL_RESULT_PASS);
	}
	EVP_PKEY_free(pub);
}

/* Replace the first @from in the document by @to and expect the parser to refuse it. */
static void expect_refused(const char *text, const char *from, const char *to)
{
	const char *at = strstr(text, from);
	_cleanup_free_ char *copy = NULL;
	struct vigil_evidence *ev = NULL;
	size_t pre;

	if (!at)
		fail_msg("\"%s\" not in the document", from);
	pre = (size_t)(at - text);
	assert_true(asprintf(&copy, "%.*s%s%s", (int)pre, text, to, at + strlen(from)) > 0);
	if (vigil_evidence_parse(copy, strlen(copy), &ev) == 0) {
		vigil_evidence_free(ev);
		fail_msg("accepted with \"%s\" -> \"%s\"", from, to);
	}
}

static void test_mutations(void **state)
{
	struct doc *d = *state;
	const char *t = d->text;

	expect_refused(t, "\"vigil_evidence\": 1", "\"vigil_evidence\": 2");
	expect_refused(t, "\"vigil_evidence\": 1", "\"vigil_evidence\": \"1\"");
	expect_refused(t, "\"vigil_evidence\": 1", "\"vigil_evidence\": 1.0");
	expect_refused(t, "\"vigil_evidence\": 1", "\"vigil_evidence\": 1, \"nonce\": \"00\"");
	expect_refused(t, "\"nonce\": \"0102", "\"nonce\": \"02");
	expect_refused(t, "\"nonce\": \"0102", "\"nonce\": \"0x02");
	expect_refused(t, "\"11\": \"", "\"011\": \"");
	expect_refused(t, "\"11\": \"", "\"12\": \"");
	expect_refused(t, "\"11\": \"", "\"0\": \"");
	expect_refused(t, "\"sha256\": {", "\"sha1\": {");
	expect_refused(t, "\"pcr_selection\": \"sha256:0,11\"", "\"pcr_selection\": \"sha256:11\"");
	expect_refused(t, "\"pcr_selection\": \"sha256:0,11\"",
		       "\"pcr_selection\": \"sha256:0,11,12\"");
	expect_refused(t, "\"attest\": \"", "\"attest\": \"=");
	expect_refused(t, "\"signature\": \"", "\"signature\": \"\", \"x\": \"");
	expect_refused(t, "\"public\": \"", "\"public\": \"AAAA");
	/* an AK public area with an unknown nameAlg has no name (found by fuzz_evidence) */
	expect_refused(t, "\"public\": \"AFgAIwAL", "\"public\": \"AFgAIwGL");
	expect_refused(t, "\"name\": \"000b", "\"name\": \"000c");
	expect_refused(t, "\"from\": 0", "\"from\": -1");
	expect_refused(t, "\"binary\": \"\"", "\"binary\": null");
	expect_refused(t, "\"kernel\": \"", "\"kernel\": 1, \"x\": \"");
	expect_refused(t, "\n}\n", "\n} {}\n");
	expect_refused(t, "{", "[");
}

static void test_sizes(void **state)
{
	struct vigil_evidence *ev = NULL;

	(void)state;
	assert_int_equal(vigil_evidence_parse("", 0, &ev), -ENODATA);
	assert_int_equal(vigil_evidence_parse("{}", VIGIL_EVIDENCE_MAX + 1ul, &ev), -EFBIG);
	assert_int_equal(vigil_evidence_parse("{}", 2, &ev), -EBADMSG);
	assert_null(ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),	  cmocka_unit_test(test_base64),
		cmocka_unit_test(test_json),	  cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_mutations), cmocka_unit_test(test_sizes),
	};

	setenv("TSS2_LOG", "all+none", 0);
	return cmocka_run_group_tests(tests, setup, teardown);
}
