// SPDX-License-Identifier: MIT
/*
 * test_continue.c: vigil_attest_continue(), the fleet verifier's incremental attestation.
 *
 * A software device (quote_builder.h AK, ima_fixtures.h records) keeps one boot's log; each
 * round it may append records, then quotes PCR 11 after the first k of them and sends every
 * record from the verifier's cursor on (also those appended after the quote), as `vigil
 * agent` does. The verifier keeps only the cursor vigil_attest_continue() returns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "attest.h"
#include "ima_fixtures.h"
#include "log.h"
#include "policy.h"
#include "quote_builder.h"
#include "replay.h"

#define MAX_RECORDS 64

struct device {
	struct qb_key ak;
	EVP_PKEY *ak_pub;
	struct bytes log;
	size_t offset[MAX_RECORDS + 1]; /* byte offset of each record; [count] = end */
	size_t count;
	uint32_t reset_count;
	uint64_t clock;
	const char *banks; /* the quoted selection */
};

struct round {
	uint8_t nonce[16];
	uint8_t attest[sizeof(TPMS_ATTEST)];
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	TPML_PCR_SELECTION sel;
	struct vigil_pcr_values pcrs;
	struct vigil_attest_input in;
};

static struct vigil_policy *policy; /* allows /usr/bin/good-* with fill 0x11 */

static void add(struct device *d, uint8_t fill, const char *name)
{
	put_ima_ng(&d->log, 11, fill, name);
	d->offset[++d->count] = d->log.len;
}

static void reboot(struct device *d)
{
	d->log.len = 0;
	d->count = 0;
	d->reset_count++;
	d->clock = 1000;
	add(d, 0x11, "/usr/bin/good-init");
}

static void device_init(struct device *d, const char *banks)
{
	memset(d, 0, sizeof(*d));
	qb_key_new(QB_ECC256, &d->ak);
	d->ak_pub = qb_public(&d->ak);
	d->banks = banks;
	d->reset_count = 3;
	reboot(d); /* the first boot: reset count 4 */
}

static void device_free(struct device *d)
{
	EVP_PKEY_free(d->ak_pub);
	qb_key_free(&d->ak);
}

/* The values of PCR 11 after the first @k records, in every bank of the selection. */
static void pcr_values(const struct device *d, size_t k, struct round *r)
{
	struct vigil_log *log = NULL;

	assert_int_equal(vigil_log_parse(d->log.data, d->offset[k], NULL, &log, NULL), 0);
	for (uint32_t i = 0; i < r->sel.count; i++) {
		uint16_t alg = r->sel.pcrSelections[i].hash;
		struct vigil_replay_result res;

		assert_int_equal(vigil_replay(log, alg, 11, 0, NULL, &res), 0);
		assert_int_equal(vigil_pcr_values_add(&r->pcrs, alg, 11, res.value, res.size), 0);
	}
	vigil_log_free(log);
}

/* Quote after @k records; send the records from @from on; verify against @cursor. */
static void attest_round(struct device *d, size_t k, size_t from, struct round *r)
{
	TPMS_ATTEST a;
	size_t len;

	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < sizeof(r->nonce); i++)
		r->nonce[i] = (uint8_t)(d->clock + i);
	assert_int_equal(vigil_pcrsel_parse(d->banks, &r->sel), 0);
	pcr_values(d, k, r);
	a = qb_attest(&d->ak, r->nonce, sizeof(r->nonce), &r->sel, &r->pcrs);
	a.clockInfo.clock = d->clock;
	a.clockInfo.resetCount = d->reset_count;
	d->clock += 2000;
	len = qb_marshal_attest(&a, r->attest, sizeof(r->attest));
	r->in.quote = (struct vigil_quote_input){
		.attest = r->attest,
		.attest_len = len,
		.sig = r->sig,
		.sig_len = qb_sign(&d->ak, &d->ak.scheme, r->attest, len, r->sig, sizeof(r->sig)),
		.ak = d->ak_pub,
		.ak_public = &d->ak.pub,
		.nonce = r->nonce,
		.nonce_len = sizeof(r->nonce),
		.selection = &r->sel,
		.pcrs = &r->pcrs,
	};
	r->in.log = d->log.data + d->offset[from];
	r->in.log_len = d->offset[d->count] - d->offset[from];
	r->in.log_from = from;
	r->in.log_bank = TPM2_ALG_SHA256;
	r->in.log_pcr = 11;
	r->in.policy = policy;
}

/* One round; returns whether it was accepted, the verdict's reason in *@reason. */
static bool verify(struct device *d, size_t k, size_t from, struct vigil_cursor *cursor,
		   enum vigil_reject *reason, struct vigil_verdict *keep)
{
	struct round *r = calloc(1, sizeof(*r));
	struct vigil_verdict v;
	bool ok;

	assert_non_null(r);
	attest_round(d, k, from, r);
	assert_int_equal(vigil_attest_continue(&r->in, cursor, &v, cursor), 0);
	ok = v.accepted;
	if (reason)
		*reason = v.reason;
	if (keep) {
		*keep = v; /* a verdict's detail may point into itself: follow the copy */
		if (v.detail == v.detail_text)
			keep->detail = keep->detail_text;
	} else
		vigil_verdict_release(&v);
	free(r);
	return ok;
}

static void test_first_then_continue(void **state)
{
	struct vigil_cursor c = { 0 };
	struct vigil_verdict v;
	struct device d;

	(void)state;
	device_init(&d, "sha256:11");
	add(&d, 0x11, "/usr/bin/good-a");
	assert_true(verify(&d, d.count, 0, &c, NULL, &v));
	assert_int_equal(v.records_covered, 2);
	assert_int_equal(v.log_records, 2);
	vigil_verdict_release(&v);
	assert_true(c.valid);
	assert_int_equal(c.next, 2);
	assert_int_equal(c.clock.reset_count, 4);
	assert_int_equal(c.bank_count, 1);

	add(&d, 0x11, "/usr/bin/good-b");
	add(&d, 0x11, "/usr/bin/good-c");
	assert_true(verify(&d, d.count, 2, &c, NULL, &v));
	assert_int_equal(v.records_covered, 4); /* indices in the boot's log */
	assert_int_equal(v.log_records, 4);
	assert_int_equal(v.records_checked, 2); /* only the new records were appraised */
	vigil_verdict_release(&v);
	assert_int_equal(c.next, 4);

	/* Nothing new: the quoted value is the cursor's; still accepted, cursor unchanged. */
	assert_true(verify(&d, d.count, 4, &c, NULL, NULL));
	assert_int_equal(c.next, 4);
	device_free(&d);
}

static void test_records_after_the_quote(void **state)
{
	struct vigil_cursor c = { 0 };
	struct device d;

	(void)state;
	device_init(&d, "sha256:11");
	add(&d, 0x11, "/usr/bin/good-a");
	add(&d, 0x11, "/usr/bin/good-b"); /* appended after the quote below */
	assert_true(verify(&d, 2, 0, &c, NULL, NULL));
	assert_int_equal(c.next, 2);
	assert_true(verify(&d, 3, 2, &c, NULL, NULL));
	assert_int_equal(c.next, 3);
	device_free(&d);
}

static void test_cursor_mismatch(void **state)
{
	struct vigil_cursor c = { 0 };
	enum vigil_reject reason;
	struct vigil_verdict v;
	struct device d;

	(void)state;
	device_init(&d, "sha256:11");
	add(&d, 0x11, "/usr/bin/good-a");
	add(&d, 0x11, "/usr/bin/good-b");
	/* No cursor yet: a log from record 1 cannot be replayed. */
	assert_false(verify(&d, d.count, 1, &c, &reason, NULL));
	assert_int_equal(reason, VIGIL_REJECT_LOG_CURSOR);
	assert_true(verify(&d, 2, 0, &c, NULL, NULL));
	/* Behind and ahead of the cursor (2). */
	assert_false(verify(&d, d.count, 1, &c, &reason, &v));
	assert_int_equal(reason, VIGIL_REJECT_LOG_CURSOR);
	assert_string_equal(v.detail, "the log starts at record 1, the verifier's cursor is at 2");
	vigil_verdict_release(&v);
	assert_false(verify(&d, d.count, 3, &c, &reason, NULL));
	assert_int_equal(reason, VIGIL_REJECT_LOG_CURSOR);
	/* From 0 is always verifiable. */
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	assert_int_equal(c.next, 3);
	device_free(&d);
}

static void test_reboot(void **state)
{
	struct vigil_cursor c = { 0 };
	enum vigil_reject reason;
	struct device d;

	(void)state;
	device_init(&d, "sha256:11");
	add(&d, 0x11, "/usr/bin/good-a");
	add(&d, 0x11, "/usr/bin/good-b");
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	assert_int_equal(c.next, 3);
	reboot(&d); /* reset count 5, a new log of 1 record, the TPM clock starts again */
	add(&d, 0x11, "/usr/bin/good-a");
	add(&d, 0x11, "/usr/bin/good-b");
	add(&d, 0x11, "/usr/bin/good-c");
	assert_false(verify(&d, d.count, 3, &c, &reason, NULL));
	assert_int_equal(reason, VIGIL_REJECT_LOG_CURSOR);
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	assert_int_equal(c.next, 4);
	assert_int_equal(c.clock.reset_count, 5);
	/* An earlier boot's quote is a reset rollback against the cursor's clock. */
	d.reset_count = 4;
	assert_false(verify(&d, d.count, 4, &c, &reason, NULL));
	assert_int_equal(reason, VIGIL_REJECT_RESET_ROLLBACK);
	device_free(&d);
}

static void test_edited_continuation(void **state)
{
	struct vigil_cursor c = { 0 }, before;
	struct device d;

	(void)state;
	device_init(&d, "sha256:11");
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	add(&d, 0x11, "/usr/bin/good-a");
	add(&d, 0x11, "/usr/bin/good-b");
	before = c;
	/* The quote covers the real records; the log sent has one byte of a name changed. */
	{
		struct round *r = calloc(1, sizeof(*r));
		struct vigil_verdict v;
		uint8_t *copy;

		assert_non_null(r);
		attest_round(&d, d.count, 1, r);
		copy = malloc(r->in.log_len);
		assert_non_null(copy);
		memcpy(copy, r->in.log, r->in.log_len);
		copy[r->in.log_len - 2] ^= 1;
		r->in.log = copy;
		assert_int_equal(vigil_attest_continue(&r->in, &c, &v, &c), 0);
		assert_false(v.accepted);
		assert_int_equal(v.reason, VIGIL_REJECT_LOG_MISMATCH);
		vigil_verdict_release(&v);
		free(copy);
		free(r);
	}
	assert_memory_equal(&c, &before, sizeof(c)); /* a rejection does not move the cursor */
	device_free(&d);
}

static void test_policy_continuation(void **state)
{
	struct vigil_cursor c = { 0 }, before;
	enum vigil_reject reason;
	struct vigil_verdict v;
	struct device d;

	(void)state;
	device_init(&d, "sha256:11");
	add(&d, 0x11, "/usr/bin/good-a");
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	add(&d, 0x11, "/usr/bin/good-b");
	add(&d, 0x44, "/tmp/dropper"); /* record 3 */
	before = c;
	assert_false(verify(&d, d.count, 2, &c, &reason, &v));
	assert_int_equal(reason, VIGIL_REJECT_RECORDS_REJECTED);
	assert_int_equal(v.failure_count, 1);
	assert_int_equal(v.failures[0].index, 3);
	assert_string_equal(v.failures[0].path, "/tmp/dropper");
	vigil_verdict_release(&v);
	assert_memory_equal(&c, &before, sizeof(c));
	/* Running nothing new does not make the device trusted again. */
	add(&d, 0x11, "/usr/bin/good-c");
	assert_false(verify(&d, d.count, 2, &c, &reason, &v));
	assert_int_equal(reason, VIGIL_REJECT_RECORDS_REJECTED);
	assert_int_equal(v.failures[0].index, 3);
	vigil_verdict_release(&v);
	/* A new boot is verified on its own. */
	reboot(&d);
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	device_free(&d);
}

static void test_two_banks(void **state)
{
	struct vigil_cursor c = { 0 };
	enum vigil_reject reason;
	struct device d;

	(void)state;
	device_init(&d, "sha1:11+sha256:11");
	add(&d, 0x11, "/usr/bin/good-a");
	assert_true(verify(&d, d.count, 0, &c, NULL, NULL));
	assert_int_equal(c.bank_count, 2);
	add(&d, 0x11, "/usr/bin/good-b");
	assert_true(verify(&d, d.count, 2, &c, NULL, NULL));
	assert_int_equal(c.next, 3);
	/* A cursor whose SHA-1 running value was lost cannot continue that bank. */
	c.bank_count = 1;
	if (c.banks[0].alg == TPM2_ALG_SHA1)
		c.banks[0] = c.banks[1];
	add(&d, 0x11, "/usr/bin/good-c");
	assert_false(verify(&d, d.count, 3, &c, &reason, NULL));
	assert_int_equal(reason, VIGIL_REJECT_LOG_MISMATCH);
	device_free(&d);
}

static void test_needs_claimed_values(void **state)
{
	struct round *r = calloc(1, sizeof(*r));
	struct vigil_cursor c = { 0 };
	struct vigil_verdict v;
	struct device d;

	(void)state;
	assert_non_null(r);
	device_init(&d, "sha256:11");
	attest_round(&d, d.count, 0, r);
	r->in.quote.pcrs = NULL;
	assert_int_equal(vigil_attest_continue(&r->in, &c, &v, &c), -EINVAL);
	free(r);
	device_free(&d);
}

static int setup(void **state)
{
	static const char text[] =
		"{\"vigil_policy\": 1, \"name\": \"plc\", \"version\": 1, "
		"\"valid_until\": \"2099-01-01T00:00:00Z\", \"hash_alg\": \"sha256\", "
		"\"any_path\": [\"1111111111111111111111111111111111111111111111111111111111111111\"]"
		"}";
	struct vigil_policy_error err;

	(void)state;
	return vigil_policy_parse(text, sizeof(text) - 1, &policy, &err);
}

static int teardown(void **state)
{
	(void)state;
	vigil_policy_free(policy);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_then_continue),
		cmocka_unit_test(test_records_after_the_quote),
		cmocka_unit_test(test_cursor_mismatch),
		cmocka_unit_test(test_reboot),
		cmocka_unit_test(test_edited_continuation),
		cmocka_unit_test(test_policy_continuation),
		cmocka_unit_test(test_two_banks),
		cmocka_unit_test(test_needs_claimed_values),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
