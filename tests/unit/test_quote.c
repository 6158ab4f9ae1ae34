// SPDX-License-Identifier: MIT
/*
 * test_quote.c: unit tests of quote verification (lib/quote.c, lib/attest.c) and what it
 * stands on: AK public areas (ak.c), PCR selections and tpm2-tools' quote.pcrs (pcrs.c), verdicts
 * (verdict.c) and the verifier state (state.c).
 *
 * Quotes are made in software (quote_builder.h) with ECC P-256, ECC P-384, RSASSA and RSA-PSS
 * keys, so every step of the verifier order can be reached and failed on purpose: each
 * negative test checks the exact reason code and the check it is attributed to. A quote made by
 * tpm2_quote on swtpm (tests/fixtures/quote/) checks the verifier against a real TPM's bytes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest.h"
#include "cleanup.h"
#include "quote_builder.h"

#ifndef VIGIL_FIXTURES
#error "VIGIL_FIXTURES must name tests/fixtures"
#endif

static const uint8_t nonce[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

struct keys {
	struct qb_key k[4]; /* indexed by enum qb_kind */
	struct qb_key other; /* another ECC P-256 AK */
	TPML_PCR_SELECTION sel; /* sha256:0,11 + sha1:11 */
	struct vigil_pcr_values vals;
};

struct quote {
	uint8_t attest[sizeof(TPMS_ATTEST)];
	size_t attest_len;
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t sig_len;
};

static int setup(void **state)
{
	struct keys *ks = calloc(1, sizeof(*ks));
	uint8_t v[32];

	if (!ks)
		return -1;
	for (int i = 0; i < 4; i++)
		qb_key_new((enum qb_kind)i, &ks->k[i]);
	qb_key_new(QB_ECC256, &ks->other);
	if (vigil_pcrsel_parse("sha256:0,11+sha1:11", &ks->sel) < 0)
		return -1;
	for (int i = 0; i < 32; i++)
		v[i] = (uint8_t)i;
	if (vigil_pcr_values_add(&ks->vals, TPM2_ALG_SHA256, 0, v, 32) < 0 ||
	    vigil_pcr_values_add(&ks->vals, TPM2_ALG_SHA256, 11, v + 0, 32) < 0 ||
	    vigil_pcr_values_add(&ks->vals, TPM2_ALG_SHA1, 11, v + 12, 20) < 0)
		return -1;
	*state = ks;
	return 0;
}

static int teardown(void **state)
{
	struct keys *ks = *state;

	for (int i = 0; i < 4; i++)
		qb_key_free(&ks->k[i]);
	qb_key_free(&ks->other);
	free(ks);
	return 0;
}

/* Marshal @a and sign it with @signer's own scheme. */
static void build(const struct qb_key *signer, const TPMS_ATTEST *a, struct quote *q)
{
	q->attest_len = qb_marshal_attest(a, q->attest, sizeof(q->attest));
	q->sig_len =
		qb_sign(signer, &signer->scheme, q->attest, q->attest_len, q->sig, sizeof(q->sig));
}

struct check {
	const struct qb_key *ak; /* the verifier's AK */
	bool with_public; /* give the AK public area, as evidence does */
	const TPML_PCR_SELECTION *sel; /* requested; NULL: the fixture's */
	const struct vigil_pcr_values *vals; /* NULL: the fixture's */
	const struct vigil_clock_state *prev;
	const uint8_t *nonce; /* NULL: the fixture's */
};

/* The same quote checked with the AK prepared (verifierd's way) reaches the same verdict. */
static void verify_prepared(const struct vigil_attest_input *in, const TPM2B_PUBLIC *pub,
			    const struct vigil_verdict *want)
{
	struct vigil_attest_input again = *in;
	struct vigil_ak_key *key = NULL;
	struct vigil_verdict v;

	if (vigil_ak_key_new(pub, &key) < 0) {
		/* not an AK: the unprepared check must have said so */
		assert_int_equal(want->reason, VIGIL_REJECT_AK_NOT_RESTRICTED);
		return;
	}
	again.quote.ak = NULL;
	again.quote.ak_public = NULL;
	again.quote.key = key;
	assert_int_equal(vigil_attest_verify(&again, &v), 0);
	assert_int_equal(v.accepted, want->accepted);
	assert_int_equal(v.reason, want->reason);
	assert_int_equal(v.failed, want->failed);
	assert_memory_equal(v.checks, want->checks, sizeof(v.checks));
	assert_memory_equal(v.ak_keyid, want->ak_keyid, sizeof(v.ak_keyid));
	vigil_ak_key_free(key);
}

static void verify(struct keys *ks, const struct quote *q, const struct check *c,
		   struct vigil_verdict *v)
{
	EVP_PKEY *pub = qb_public(c->ak);
	const struct vigil_attest_input in = {
		.quote = { .attest = q->attest,
			   .attest_len = q->attest_len,
			   .sig = q->sig,
			   .sig_len = q->sig_len,
			   .ak = pub,
			   .ak_public = c->with_public ? &c->ak->pub : NULL,
			   .scheme = c->with_public ? NULL : &c->ak->scheme,
			   .nonce = c->nonce ? c->nonce : nonce,
			   .nonce_len = sizeof(nonce),
			   .selection = c->sel ? c->sel : &ks->sel,
			   .pcrs = c->vals ? c->vals : &ks->vals,
			   .prev = c->prev },
		.log_bank = TPM2_ALG_SHA256,
		.log_pcr = 11,
	};

	assert_int_equal(vigil_attest_verify(&in, v), 0);
	EVP_PKEY_free(pub);
	verify_prepared(&in, &c->ak->pub, v); /* the public area binds c->ak->scheme too */
}

/* Verify and expect rejection for @reason at @check. */
static void expect_reject(struct keys *ks, const struct quote *q, const struct check *c,
			  enum vigil_reject reason, enum vigil_check check)
{
	struct vigil_verdict v;

	verify(ks, q, c, &v);
	if (v.accepted || v.reason != reason || v.failed != check)
		fail_msg("expected %s at %s, got %s at %s", vigil_reject_name(reason),
			 vigil_check_name(check),
			 v.accepted ? "acceptance" : vigil_reject_name(v.reason),
			 vigil_check_name(v.failed));
	assert_int_equal(v.checks[check], VIGIL_RESULT_FAIL);
	for (int i = check + 1; i < VIGIL_CHECK_COUNT; i++)
		assert_int_equal(v.checks[i], VIGIL_RESULT_NOT_RUN);
}

static void good_quote(struct keys *ks, const struct qb_key *k, struct quote *q)
{
	TPMS_ATTEST a = qb_attest(k, nonce, sizeof(nonce), &ks->sel, &ks->vals);

	build(k, &a, q);
}

static void test_accept_every_scheme(void **state)
{
	struct keys *ks = *state;

	for (int i = 0; i < 4; i++)
		for (int with_public = 0; with_public < 2; with_public++) {
			struct check c = { .ak = &ks->k[i], .with_public = with_public };
			struct vigil_verdict v;
			struct quote q;

			good_quote(ks, &ks->k[i], &q);
			verify(ks, &q, &c, &v);
			if (!v.accepted)
				fail_msg("key %d: %s", i, vigil_reject_name(v.reason));
			for (int j = VIGIL_CHECK_FORMAT; j <= VIGIL_CHECK_PCR_DIGEST; j++)
				assert_int_equal(v.checks[j], VIGIL_RESULT_PASS);
			assert_int_equal(v.checks[VIGIL_CHECK_LOG], VIGIL_RESULT_SKIPPED);
			assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_SKIPPED);
			assert_false(v.policy_applied);
			assert_true(v.have_quote && v.safe);
			assert_int_equal(v.clock.reset_count, 5);
		}
}

static void test_nonce_mismatch(void **state)
{
	struct keys *ks = *state;
	uint8_t other[sizeof(nonce)];
	struct check c = { .ak = &ks->k[QB_ECC256], .nonce = other };
	struct quote q;

	memcpy(other, nonce, sizeof(other));
	other[sizeof(other) - 1] ^= 1;
	good_quote(ks, c.ak, &q);
	expect_reject(ks, &q, &c, VIGIL_REJECT_NONCE_MISMATCH, VIGIL_CHECK_NONCE);
}

/* Every single-bit change of the attest blob is rejected, whatever check catches it. */
static void test_flipped_attest_bits(void **state)
{
	struct keys *ks = *state;

	for (int k = 0; k < 4; k += 3) {
		struct check c = { .ak = &ks->k[k], .with_public = true };
		struct quote q;

		good_quote(ks, c.ak, &q);
		for (size_t bit = 0; bit < q.attest_len * 8; bit++) {
			struct vigil_verdict v;

			q.attest[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			verify(ks, &q, &c, &v);
			q.attest[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (v.accepted)
				fail_msg("key %d: flipping bit %zu of the attest was accepted", k,
					 bit);
			assert_int_not_equal(v.reason, VIGIL_REJECT_NONE);
		}
	}
}

static void test_flipped_signature_bits(void **state)
{
	struct keys *ks = *state;

	for (int k = 0; k < 4; k++) {
		struct check c = { .ak = &ks->k[k] };
		struct quote q;

		good_quote(ks, c.ak, &q);
		for (size_t bit = 0; bit < q.sig_len * 8; bit += (k >= QB_RSASSA ? 7 : 1)) {
			struct vigil_verdict v;

			q.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			verify(ks, &q, &c, &v);
			q.sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
			if (v.accepted)
				fail_msg("key %d: flipping bit %zu of the signature was accepted",
					 k, bit);
			assert_true(v.failed <= VIGIL_CHECK_SIGNATURE);
		}
	}
}

static void test_other_ak(void **state)
{
	struct keys *ks = *state;
	struct check c = { .ak = &ks->other };
	struct quote q;

	good_quote(ks, &ks->k[QB_ECC256], &q);
	expect_reject(ks, &q, &c, VIGIL_REJECT_BAD_SIGNATURE, VIGIL_CHECK_SIGNATURE);
	c.with_public = true;
	expect_reject(ks, &q, &c, VIGIL_REJECT_BAD_SIGNATURE, VIGIL_CHECK_SIGNATURE);
}

/* The evidence's AK public area must be the verifier's key. */
static void test_ak_mismatch(void **state)
{
	struct keys *ks = *state;
	EVP_PKEY *pub = qb_public(&ks->other);
	struct vigil_verdict v;
	struct quote q;
	const struct vigil_quote_input in = {
		.attest = q.attest,
		.sig = q.sig,
		.ak = pub,
		.ak_public = &ks->k[QB_ECC256].pub,
		.nonce = nonce,
		.nonce_len = sizeof(nonce),
		.selection = &ks->sel,
		.pcrs = &ks->vals,
	};
	struct vigil_quote_input in2 = in;

	good_quote(ks, &ks->k[QB_ECC256], &q);
	in2.attest_len = q.attest_len;
	in2.sig_len = q.sig_len;
	vigil_verdict_init(&v);
	assert_int_equal(vigil_quote_verify(&in2, &v, NULL), 0);
	assert_int_equal(v.reason, VIGIL_REJECT_AK_MISMATCH);
	assert_int_equal(v.failed, VIGIL_CHECK_SIGNATURE);
	EVP_PKEY_free(pub);
}

static void test_ak_not_restricted(void **state)
{
	struct keys *ks = *state;
	struct qb_key k = ks->k[QB_ECC256];
	struct check c = { .ak = &k, .with_public = true };
	struct quote q;

	good_quote(ks, &k, &q);
	k.pub.publicArea.objectAttributes &= ~TPMA_OBJECT_RESTRICTED;
	expect_reject(ks, &q, &c, VIGIL_REJECT_AK_NOT_RESTRICTED, VIGIL_CHECK_SIGNATURE);
	k.pub.publicArea.objectAttributes |= TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT;
	expect_reject(ks, &q, &c, VIGIL_REJECT_AK_NOT_RESTRICTED, VIGIL_CHECK_SIGNATURE);
}

/* The signature's scheme and hash must be the AK's; nothing else is tried. */
static void test_scheme_mismatch(void **state)
{
	struct keys *ks = *state;
	const struct qb_key *ecc = &ks->k[QB_ECC256], *pss = &ks->k[QB_RSAPSS];
	TPMT_SIG_SCHEME sha384 = { .scheme = TPM2_ALG_ECDSA,
				   .details.any.hashAlg = TPM2_ALG_SHA384 };
	TPMT_SIG_SCHEME rsassa = { .scheme = TPM2_ALG_RSASSA,
				   .details.any.hashAlg = TPM2_ALG_SHA256 };
	TPMS_ATTEST a = qb_attest(ecc, nonce, sizeof(nonce), &ks->sel, &ks->vals);
	struct check c = { .ak = ecc, .with_public = true };
	struct quote q;

	q.attest_len = qb_marshal_attest(&a, q.attest, sizeof(q.attest));
	q.sig_len = qb_sign(ecc, &sha384, q.attest, q.attest_len, q.sig, sizeof(q.sig));
	expect_reject(ks, &q, &c, VIGIL_REJECT_SCHEME_MISMATCH, VIGIL_CHECK_SIGNATURE);
	c.with_public = false;
	expect_reject(ks, &q, &c, VIGIL_REJECT_SCHEME_MISMATCH, VIGIL_CHECK_SIGNATURE);

	a = qb_attest(pss, nonce, sizeof(nonce), &ks->sel, &ks->vals);
	q.attest_len = qb_marshal_attest(&a, q.attest, sizeof(q.attest));
	q.sig_len = qb_sign(pss, &rsassa, q.attest, q.attest_len, q.sig, sizeof(q.sig));
	c = (struct check){ .ak = pss, .with_public = true };
	expect_reject(ks, &q, &c, VIGIL_REJECT_SCHEME_MISMATCH, VIGIL_CHECK_SIGNATURE);
}

/* Properly signed by the AK, but not a quote: caught at step 2, before the signature. */
static void test_not_a_quote(void **state)
{
	struct keys *ks = *state;
	const struct qb_key *k = &ks->k[QB_ECC256];
	TPMS_ATTEST a = qb_attest(k, nonce, sizeof(nonce), &ks->sel, &ks->vals);
	struct check c = { .ak = k, .with_public = true };
	struct quote q;

	a.type = TPM2_ST_ATTEST_CERTIFY;
	memset(&a.attested, 0, sizeof(a.attested));
	a.attested.certify.name.size = 34;
	a.attested.certify.qualifiedName.size = 34;
	build(k, &a, &q);
	expect_reject(ks, &q, &c, VIGIL_REJECT_NOT_A_QUOTE, VIGIL_CHECK_HEADER);

	a = qb_attest(k, nonce, sizeof(nonce), &ks->sel, &ks->vals);
	a.magic = TPM2_GENERATED_VALUE ^ 1;
	build(k, &a, &q);
	expect_reject(ks, &q, &c, VIGIL_REJECT_BAD_MAGIC, VIGIL_CHECK_HEADER);
}

static void test_pcr_selection_mismatch(void **state)
{
	struct keys *ks = *state;
	struct check c = { .ak = &ks->k[QB_ECC256] };
	TPML_PCR_SELECTION other;
	struct quote q;

	good_quote(ks, c.ak, &q);
	assert_int_equal(vigil_pcrsel_parse("sha256:11", &other), 0);
	c.sel = &other;
	expect_reject(ks, &q, &c, VIGIL_REJECT_PCR_SELECTION_MISMATCH, VIGIL_CHECK_PCR_SELECTION);
	/* same PCRs, banks in another order: another digest, so another selection */
	assert_int_equal(vigil_pcrsel_parse("sha1:11+sha256:0,11", &other), 0);
	expect_reject(ks, &q, &c, VIGIL_REJECT_PCR_SELECTION_MISMATCH, VIGIL_CHECK_PCR_SELECTION);
}

static void test_pcr_digest(void **state)
{
	struct keys *ks = *state;
	struct vigil_pcr_values vals = ks->vals;
	struct check c = { .ak = &ks->k[QB_RSASSA], .vals = &vals };
	struct quote q;

	good_quote(ks, c.ak, &q);
	vals.v[1].digest[31] ^= 0x80;
	expect_reject(ks, &q, &c, VIGIL_REJECT_PCR_DIGEST_MISMATCH, VIGIL_CHECK_PCR_DIGEST);
	vals = ks->vals;
	vals.count = 2;
	expect_reject(ks, &q, &c, VIGIL_REJECT_PCR_VALUES_MISSING, VIGIL_CHECK_PCR_DIGEST);
}

static void test_clock(void **state)
{
	struct keys *ks = *state;
	const struct qb_key *k = &ks->k[QB_ECC256];
	TPMS_ATTEST a = qb_attest(k, nonce, sizeof(nonce), &ks->sel, &ks->vals);
	struct vigil_clock_state prev = { .clock = 100000, .reset_count = 5, .restart_count = 2 };
	struct check c = { .ak = k, .prev = &prev };
	struct vigil_verdict v;
	struct quote q;

	build(k, &a, &q);
	expect_reject(ks, &q, &c, VIGIL_REJECT_CLOCK_ROLLBACK, VIGIL_CHECK_CLOCK); /* replayed */
	prev.clock = 99999;
	verify(ks, &q, &c, &v);
	assert_true(v.accepted);
	prev.restart_count = 3;
	expect_reject(ks, &q, &c, VIGIL_REJECT_RESTART_ROLLBACK, VIGIL_CHECK_CLOCK);
	prev = (struct vigil_clock_state){ .clock = 0, .reset_count = 6 };
	expect_reject(ks, &q, &c, VIGIL_REJECT_RESET_ROLLBACK, VIGIL_CHECK_CLOCK);
	/* a new boot (higher reset count) may have a lower clock */
	prev = (struct vigil_clock_state){ .clock = 900000, .reset_count = 4, .restart_count = 9 };
	verify(ks, &q, &c, &v);
	assert_true(v.accepted);

	a.clockInfo.safe = TPM2_NO;
	build(k, &a, &q);
	c.prev = NULL;
	expect_reject(ks, &q, &c, VIGIL_REJECT_CLOCK_UNSAFE, VIGIL_CHECK_CLOCK);
}

static void test_trailing_empty_huge(void **state)
{
	struct keys *ks = *state;
	struct check c = { .ak = &ks->k[QB_ECC256] };
	struct quote q, bad;
	static uint8_t huge[1 << 20];

	good_quote(ks, c.ak, &q);
	bad = q;
	bad.attest[bad.attest_len++] = 0;
	expect_reject(ks, &bad, &c, VIGIL_REJECT_BAD_FORMAT, VIGIL_CHECK_FORMAT);
	bad = q;
	bad.sig[bad.sig_len++] = 0;
	expect_reject(ks, &bad, &c, VIGIL_REJECT_BAD_FORMAT, VIGIL_CHECK_FORMAT);
	bad = q;
	bad.attest_len--;
	expect_reject(ks, &bad, &c, VIGIL_REJECT_BAD_FORMAT, VIGIL_CHECK_FORMAT);
	bad = q;
	bad.attest_len = 0;
	expect_reject(ks, &bad, &c, VIGIL_REJECT_BAD_FORMAT, VIGIL_CHECK_FORMAT);
	bad = q;
	bad.sig_len = 0;
	expect_reject(ks, &bad, &c, VIGIL_REJECT_BAD_FORMAT, VIGIL_CHECK_FORMAT);
	{
		EVP_PKEY *pub = qb_public(c.ak);
		struct vigil_quote_input in = { .attest = huge,
						.attest_len = sizeof(huge),
						.sig = huge,
						.sig_len = sizeof(huge),
						.ak = pub,
						.nonce = nonce,
						.nonce_len = sizeof(nonce),
						.selection = &ks->sel };
		struct vigil_verdict v;

		vigil_verdict_init(&v);
		assert_int_equal(vigil_quote_verify(&in, &v, NULL), 0);
		assert_int_equal(v.reason, VIGIL_REJECT_BAD_FORMAT);
		EVP_PKEY_free(pub);
	}
}

static void test_pcrsel(void **state)
{
	static const char *const bad[] = {
		"",	     "sha256",	  "sha256:",	      "sha256:24",
		"sha256:1,", "sha256:,1", "sha256:3-1",	      "md5:1",
		"+sha256:1", "sha256:1+", "sha256:1++sha1:1", "sha256:1+sha256:2",
		"sha256:-1", "sha256: 1", "sha256:1x",	      "sha256:99999999999999999999",
	};
	TPML_PCR_SELECTION a, b;
	char buf[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (vigil_pcrsel_parse(bad[i], &a) != -EINVAL)
			fail_msg("accepted \"%s\"", bad[i]);
	assert_int_equal(vigil_pcrsel_parse("sha256:0-2,11,23+sha1:10", &a), 0);
	assert_int_equal(vigil_pcrsel_count(&a), 6);
	assert_int_equal(vigil_pcrsel_format(&a, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "sha256:0,1,2,11,23+sha1:10");
	assert_int_equal(vigil_pcrsel_format(&a, buf, 10), -ENOSPC);
	assert_int_equal(vigil_pcrsel_parse("sha256:23,11,0,1,2+sha1:10", &b), 0);
	assert_true(vigil_pcrsel_equal(&a, &b));
	/* a longer bitmap or an empty bank does not change what is quoted */
	b.pcrSelections[0].sizeofSelect = 4;
	b.pcrSelections[2] = (TPMS_PCR_SELECTION){ .hash = TPM2_ALG_SHA384, .sizeofSelect = 3 };
	b.count = 3;
	assert_true(vigil_pcrsel_equal(&a, &b));
	b.pcrSelections[1].pcrSelect[1] |= 1;
	assert_false(vigil_pcrsel_equal(&a, &b));
}

static void test_pcrs_file(void **state)
{
	struct keys *ks = *state;
	_cleanup_free_ uint8_t *buf = NULL;
	_cleanup_free_ struct vigil_pcr_values *vals = calloc(1, sizeof(*vals));
	_cleanup_free_ struct vigil_pcr_values *back = calloc(1, sizeof(*back));
	TPML_PCR_SELECTION sel, got;
	uint8_t d[32] = { 0 };
	size_t len = 0;

	assert_non_null(vals);
	assert_non_null(back);
	/* 12 values: two digest lists, as tpm2_quote writes for more than 8 PCRs */
	assert_int_equal(vigil_pcrsel_parse("sha256:0-10+sha1:11", &sel), 0);
	for (uint32_t i = 0; i <= 10; i++) {
		d[0] = (uint8_t)i;
		assert_int_equal(vigil_pcr_values_add(vals, TPM2_ALG_SHA256, i, d, 32), 0);
	}
	assert_int_equal(vigil_pcr_values_add(vals, TPM2_ALG_SHA1, 11, d, 20), 0);
	assert_int_equal(vigil_pcr_values_add(vals, TPM2_ALG_SHA1, 11, d, 20), -EEXIST);
	assert_int_equal(vigil_pcrs_file_build(&sel, vals, &buf, &len), 0);
	assert_int_equal(len, 132 + 4 + 2 * 532);
	assert_int_equal(vigil_pcrs_file_parse(buf, len, &got, back), 0);
	assert_true(vigil_pcrsel_equal(&sel, &got));
	assert_int_equal(back->count, 12);
	assert_memory_equal(vigil_pcr_values_get(back, TPM2_ALG_SHA256, 7)->digest,
			    vigil_pcr_values_get(vals, TPM2_ALG_SHA256, 7)->digest, 32);
	assert_int_equal(vigil_pcrs_file_parse(buf, len - 1, &got, back), -EBADMSG);
	assert_int_equal(vigil_pcrs_file_parse(buf, 100, &got, back), -EBADMSG);
	buf[132] = 3; /* three lists declared, two present */
	assert_int_equal(vigil_pcrs_file_parse(buf, len, &got, back), -EBADMSG);
	buf[132] = 2;
	buf[136 + 4] = 20; /* first digest's size is not sha256's */
	assert_int_equal(vigil_pcrs_file_parse(buf, len, &got, back), -EBADMSG);
	(void)ks;
}

static int read_fixture(const char *name, uint8_t **ret, size_t *ret_len)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/quote/tpm2-tools-ecc/%s", VIGIL_FIXTURES, name);
	return vigil_file_read(path, 1 << 20, ret, ret_len);
}

/* A quote a real (software) TPM made with tpm2_quote, checked with its quote.pcrs. */
static void test_tpm2_tools_fixture(void **state)
{
	_cleanup_free_ uint8_t *pem = NULL, *msg = NULL, *sig = NULL, *pcrs = NULL, *hex = NULL;
	_cleanup_free_ struct vigil_pcr_values *vals = calloc(1, sizeof(*vals));
	size_t pem_len, msg_len, sig_len, pcrs_len, hex_len, n_len;
	TPML_PCR_SELECTION sel;
	uint8_t n[VIGIL_NONCE_MAX];
	struct vigil_verdict v;
	EVP_PKEY *ak = NULL;

	(void)state;
	assert_int_equal(read_fixture("ak.pem", &pem, &pem_len), 0);
	assert_int_equal(read_fixture("quote.msg", &msg, &msg_len), 0);
	assert_int_equal(read_fixture("quote.sig", &sig, &sig_len), 0);
	assert_int_equal(read_fixture("quote.pcrs", &pcrs, &pcrs_len), 0);
	assert_int_equal(read_fixture("nonce", &hex, &hex_len), 0);
	assert_int_equal(vigil_hex_decode((char *)hex, hex_len - 1, n, sizeof(n), &n_len), 0);
	assert_int_equal(vigil_ak_pem_parse(pem, pem_len, &ak), 0);
	assert_int_equal(vigil_pcrs_file_parse(pcrs, pcrs_len, &sel, vals), 0);
	{
		const struct vigil_attest_input in = {
			.quote = { .attest = msg,
				   .attest_len = msg_len,
				   .sig = sig,
				   .sig_len = sig_len,
				   .ak = ak,
				   .nonce = n,
				   .nonce_len = n_len,
				   .selection = &sel,
				   .pcrs = vals },
			.log_bank = TPM2_ALG_SHA256,
			.log_pcr = 11,
		};

		assert_int_equal(vigil_attest_verify(&in, &v), 0);
		assert_true(v.accepted);
		n[0] ^= 1;
		assert_int_equal(vigil_attest_verify(&in, &v), 0);
		assert_int_equal(v.reason, VIGIL_REJECT_NONCE_MISMATCH);
	}
	EVP_PKEY_free(ak);
}

static void test_state(void **state)
{
	char dir[] = "/tmp/vigil-test-state.XXXXXX";
	uint8_t id[VIGIL_AK_KEYID_SIZE] = { 1, 2, 3 };
	struct vigil_clock_state st = { .clock = 123456789012ull,
					.reset_count = 7,
					.restart_count = 3 },
				 got = { 0 };
	char path[256], json[2 * VIGIL_AK_KEYID_SIZE + 1];
	int fd = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vigil_state_load(dir, id, &got), -ENOENT);
	assert_int_equal(vigil_state_lock(dir, id, &fd), 0);
	assert_int_equal(vigil_state_store(dir, id, &st), 0);
	assert_int_equal(vigil_state_load(dir, id, &got), 0);
	assert_memory_equal(&got, &st, sizeof(st));
	close(fd);
	vigil_hex_encode(id, sizeof(id), json, sizeof(json));
	snprintf(path, sizeof(path), "%s/%s.json", dir, json);
	assert_int_equal(vigil_file_write_atomic(path, "{\"vigil_state\": 1}", 18, 0600), 0);
	assert_int_equal(vigil_state_load(dir, id, &got), -EBADMSG);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.lock", dir, json);
	unlink(path);
	assert_int_equal(rmdir(dir), 0);
}

static void test_verdict_names(void **state)
{
	(void)state;
	for (int i = 0; i < VIGIL_REJECT_COUNT; i++) {
		const char *name = vigil_reject_name((enum vigil_reject)i);

		assert_non_null(name);
		assert_true(strspn(name, "abcdefghijklmnopqrstuvwxyz_") == strlen(name));
	}
	assert_string_equal(vigil_reject_name(VIGIL_REJECT_COUNT), "unknown");
	assert_string_equal(vigil_check_name(VIGIL_CHECK_PCR_DIGEST), "pcr_digest");
	assert_string_equal(vigil_reject_name(VIGIL_REJECT_CLOCK_ROLLBACK), "clock_rollback");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_every_scheme),
		cmocka_unit_test(test_nonce_mismatch),
		cmocka_unit_test(test_flipped_attest_bits),
		cmocka_unit_test(test_flipped_signature_bits),
		cmocka_unit_test(test_other_ak),
		cmocka_unit_test(test_ak_mismatch),
		cmocka_unit_test(test_ak_not_restricted),
		cmocka_unit_test(test_scheme_mismatch),
		cmocka_unit_test(test_not_a_quote),
		cmocka_unit_test(test_pcr_selection_mismatch),
		cmocka_unit_test(test_pcr_digest),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_trailing_empty_huge),
		cmocka_unit_test(test_pcrsel),
		cmocka_unit_test(test_pcrs_file),
		cmocka_unit_test(test_tpm2_tools_fixture),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_verdict_names),
	};

	setenv("TSS2_LOG", "all+none", 0); /* rejected blobs make tss2-mu log; keep TAP clean */
	return cmocka_run_group_tests(tests, setup, teardown);
}
