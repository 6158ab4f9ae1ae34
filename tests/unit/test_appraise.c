// SPDX-License-Identifier: MIT
/*
 * test_appraise.c: step 7 of a verification, records against a policy (appraise.c), alone and
 * inside vigil_attest_verify() with a software-signed quote.
 *
 * Logs are synthetic ima-ng records (ima_fixtures.h): record i's file digest is 32 bytes of
 * one fill value, so a policy can name each record's digest exactly. Every reason a record can
 * fail has its case, and a log with several failures must list all of them, in log order.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "attest.h"
#include "ima_fixtures.h"
#include "log.h"
#include "policy.h"
#include "quote_builder.h"
#include "replay.h"

static struct bytes log_bytes;

static void fill32(uint8_t d[32], uint8_t fill)
{
	memset(d, fill, 32);
}

static struct vigil_policy *new_policy(enum vigil_policy_violations mode)
{
	struct vigil_policy_info info = { .name = "unit",
					  .version = 3,
					  .valid_until = 4102444800, /* 2100 */
					  .hash_alg = TPM2_ALG_SHA256,
					  .digest_size = 32,
					  .violations = mode };
	struct vigil_policy *p = NULL;

	assert_int_equal(vigil_policy_new(&info, &p), 0);
	return p;
}

static void allow(struct vigil_policy *p, const char *path, uint8_t fill)
{
	uint8_t d[32];

	fill32(d, fill);
	assert_int_equal(vigil_policy_add_digest(p, path, strlen(path), d), 0);
}

static struct vigil_log *parse(void)
{
	struct vigil_log *log = NULL;

	assert_int_equal(vigil_log_parse(log_bytes.data, log_bytes.len, NULL, &log, NULL), 0);
	return log;
}

/* Appraise every record of PCR 11 in the log built so far. */
static void appraise(const struct vigil_policy *p, struct vigil_verdict *v)
{
	struct vigil_log *log = parse();

	vigil_verdict_init(v);
	assert_int_equal(vigil_appraise(log, log->count, p, 11, NULL, v), 0);
	vigil_log_free(log);
}

static void expect_failure(const struct vigil_verdict *v, size_t i, size_t index, const char *path,
			   enum vigil_record_reason reason)
{
	assert_true(i < v->failure_count);
	assert_int_equal(v->failures[i].index, index);
	assert_string_equal(v->failures[i].path, path);
	assert_int_equal(v->failures[i].reason, reason);
}

static void test_all_allowed(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct vigil_verdict v;

	(void)state;
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true");
	put_ima_ng(&log_bytes, 11, 0x22, "/usr/lib/x86_64-linux-gnu/libc.so.6");
	put_ima_ng(&log_bytes, 10, 0x99, "/not/checked/other/pcr");
	allow(p, "/usr/bin/true", 0x11);
	allow(p, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0x22);
	appraise(p, &v);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	assert_int_equal(v.reason, VIGIL_REJECT_NONE);
	assert_int_equal(v.records_checked, 2);
	assert_int_equal(v.failure_count, 0);
	assert_true(v.policy_applied);
	assert_string_equal(v.policy_name, "unit");
	assert_int_equal(v.policy_version, 3);
	vigil_verdict_release(&v);
	vigil_policy_free(p);
}

/* Every failing record is listed, in log order, each with its own reason. */
static void test_every_failure_listed(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct vigil_verdict v;
	uint8_t d[32];

	(void)state;
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true"); /* 0 allowed */
	put_ima_ng(&log_bytes, 11, 0x33, "/usr/bin/true"); /* 1 digest mismatch */
	put_ima_ng(&log_bytes, 11, 0x44, "/tmp/dropper"); /* 2 not in policy */
	put_ima_ng(&log_bytes, 11, 0x55, "/usr/bin/any"); /* 3 any_path */
	put_ima_ng(&log_bytes, 11, 0x66, "/usr/bin/true"); /* 4 denied beats listed */
	put_ima_ng(&log_bytes, 11, 0x77, "/var/log/x.log"); /* 5 excluded */
	put_ima_ng(&log_bytes, 11, 0x66, "/var/log/y.log"); /* 6 denied beats excluded */
	allow(p, "/usr/bin/true", 0x11);
	allow(p, "/usr/bin/true", 0x66);
	fill32(d, 0x55);
	assert_int_equal(vigil_policy_add_any(p, d), 0);
	fill32(d, 0x66);
	assert_int_equal(vigil_policy_add_deny(p, d), 0);
	assert_int_equal(vigil_policy_add_exclude(p, "/var/log/*"), 0);
	appraise(p, &v);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_FAIL);
	assert_int_equal(v.reason, VIGIL_REJECT_RECORDS_REJECTED);
	assert_int_equal(v.records_checked, 7);
	assert_int_equal(v.records_excluded, 1);
	assert_int_equal(v.failure_count, 4);
	expect_failure(&v, 0, 1, "/usr/bin/true", VIGIL_RECORD_DIGEST_MISMATCH);
	expect_failure(&v, 1, 2, "/tmp/dropper", VIGIL_RECORD_NOT_IN_POLICY);
	expect_failure(&v, 2, 4, "/usr/bin/true", VIGIL_RECORD_DENIED);
	expect_failure(&v, 3, 6, "/var/log/y.log", VIGIL_RECORD_DENIED);
	/* the mismatch names both digests: measured and the ones the policy allows there */
	assert_string_equal(v.failures[0].alg, "sha256");
	assert_int_equal(v.failures[0].digest_len, 32);
	fill32(d, 0x33);
	assert_memory_equal(v.failures[0].digest, d, 32);
	assert_int_equal(v.failures[0].expected_count, 2);
	fill32(d, 0x11);
	assert_memory_equal(v.failures[0].expected[0], d, 32);
	fill32(d, 0x66);
	assert_memory_equal(v.failures[0].expected[1], d, 32);
	assert_int_equal(v.failures[1].expected_count, 0);
	vigil_verdict_release(&v);
	assert_int_equal(v.failure_count, 0);
	vigil_policy_free(p);
}

static void violations(enum vigil_policy_violations mode, struct vigil_verdict *v)
{
	struct vigil_policy *p = new_policy(mode);

	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true");
	put_ima_ng(&log_bytes, 11, 0x00, "/etc/plc/plc.conf"); /* template digest 0: violation */
	allow(p, "/usr/bin/true", 0x11);
	appraise(p, v);
	vigil_policy_free(p);
}

static void test_violations_modes(void **state)
{
	struct vigil_verdict v;

	(void)state;
	violations(VIGIL_POLICY_VIOLATIONS_FAIL, &v);
	assert_int_equal(v.reason, VIGIL_REJECT_RECORDS_REJECTED);
	assert_int_equal(v.failure_count, 1);
	expect_failure(&v, 0, 1, "/etc/plc/plc.conf", VIGIL_RECORD_VIOLATION);
	assert_false(v.failures[0].warning);
	vigil_verdict_release(&v);

	violations(VIGIL_POLICY_VIOLATIONS_WARN, &v);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	assert_int_equal(v.failure_count, 1);
	assert_true(v.failures[0].warning);
	vigil_verdict_release(&v);

	violations(VIGIL_POLICY_VIOLATIONS_IGNORE, &v);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	assert_int_equal(v.failure_count, 0);
	vigil_verdict_release(&v);
}

static void test_hash_alg_mismatch(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct bytes data = { .len = 0 };
	struct vigil_verdict v;

	(void)state;
	log_bytes.len = 0;
	put_dng(&data, "sha1", 0x11, 20);
	put_field(&data, "/usr/bin/true", sizeof("/usr/bin/true"));
	put_record(&log_bytes, 11, 0x11, "ima-ng", &data);
	allow(p, "/usr/bin/true", 0x11);
	appraise(p, &v);
	assert_int_equal(v.failure_count, 1);
	expect_failure(&v, 0, 0, "/usr/bin/true", VIGIL_RECORD_HASH_ALG_MISMATCH);
	assert_string_equal(v.failures[0].alg, "sha1");
	vigil_verdict_release(&v);
	vigil_policy_free(p);
}

static void test_boot_aggregate(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct vigil_verdict v;
	uint8_t d[32];

	(void)state;
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0xba, "boot_aggregate");
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true");
	allow(p, "/usr/bin/true", 0x11);
	/* no golden value, no entry: not appraised, counted as excluded */
	appraise(p, &v);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	assert_int_equal(v.records_excluded, 1);
	vigil_verdict_release(&v);
	/* a golden value it does not match */
	fill32(d, 0xbb);
	assert_int_equal(vigil_policy_set_boot_aggregate(p, d), 0);
	appraise(p, &v);
	assert_int_equal(v.reason, VIGIL_REJECT_BOOT_AGGREGATE_MISMATCH);
	expect_failure(&v, 0, 0, "boot_aggregate", VIGIL_RECORD_DIGEST_MISMATCH);
	assert_memory_equal(v.failures[0].expected[0], d, 32);
	vigil_verdict_release(&v);
	vigil_policy_free(p);
	/* the golden value it matches */
	p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	allow(p, "/usr/bin/true", 0x11);
	fill32(d, 0xba);
	assert_int_equal(vigil_policy_set_boot_aggregate(p, d), 0);
	appraise(p, &v);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	assert_int_equal(v.records_excluded, 0);
	vigil_verdict_release(&v);
	vigil_policy_free(p);
	/* Keylime's way: an entry in digests, checked like a file */
	p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	allow(p, "/usr/bin/true", 0x11);
	allow(p, "boot_aggregate", 0xbc);
	appraise(p, &v);
	expect_failure(&v, 0, 0, "boot_aggregate", VIGIL_RECORD_DIGEST_MISMATCH);
	vigil_verdict_release(&v);
	vigil_policy_free(p);
}

static void test_golden_pcrs(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct vigil_pcr_values *quoted = calloc(1, sizeof(*quoted));
	struct vigil_log *log;
	struct vigil_verdict v;
	uint8_t d[32];

	(void)state;
	assert_non_null(quoted);
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true");
	allow(p, "/usr/bin/true", 0x11);
	fill32(d, 0x07);
	assert_int_equal(vigil_policy_add_pcr(p, TPM2_ALG_SHA256, 7, d, 32), 0);
	log = parse();
	vigil_verdict_init(&v); /* not quoted at all */
	assert_int_equal(vigil_appraise(log, log->count, p, 11, NULL, &v), 0);
	assert_int_equal(v.reason, VIGIL_REJECT_PCR_GOLDEN_MISMATCH);
	vigil_verdict_release(&v);
	assert_int_equal(vigil_pcr_values_add(quoted, TPM2_ALG_SHA256, 7, d, 32), 0);
	vigil_verdict_init(&v); /* quoted and equal */
	assert_int_equal(vigil_appraise(log, log->count, p, 11, quoted, &v), 0);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	vigil_verdict_release(&v);
	quoted->v[0].digest[0] ^= 1;
	vigil_verdict_init(&v); /* quoted and different */
	assert_int_equal(vigil_appraise(log, log->count, p, 11, quoted, &v), 0);
	assert_int_equal(v.reason, VIGIL_REJECT_PCR_GOLDEN_MISMATCH);
	vigil_verdict_release(&v);
	vigil_log_free(log);
	free(quoted);
	vigil_policy_free(p);
}

/* Only the covered prefix counts: a record appended after the quote is not judged yet. */
static void test_only_covered_records(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct vigil_log *log;
	struct vigil_verdict v;

	(void)state;
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true");
	put_ima_ng(&log_bytes, 11, 0x44, "/tmp/later");
	allow(p, "/usr/bin/true", 0x11);
	log = parse();
	vigil_verdict_init(&v);
	assert_int_equal(vigil_appraise(log, 1, p, 11, NULL, &v), 0);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_PASS);
	assert_int_equal(v.records_checked, 1);
	vigil_verdict_release(&v);
	vigil_log_free(log);
	vigil_policy_free(p);
}

/* Whole verifications: a software-signed quote of the log's replayed PCR 11. */
struct e2e {
	struct qb_key k;
	struct vigil_pcr_values vals;
	TPML_PCR_SELECTION sel;
	uint8_t attest[sizeof(TPMS_ATTEST)], sig[sizeof(TPMT_SIGNATURE)];
	size_t attest_len, sig_len;
};

static const uint8_t nonce[16] = "appraise-nonce!";

static void e2e_quote(struct e2e *e)
{
	struct vigil_log *log = parse();
	struct vigil_replay_result res;
	TPMS_ATTEST a;

	assert_int_equal(vigil_replay(log, TPM2_ALG_SHA256, 11, 0, NULL, &res), 0);
	vigil_log_free(log);
	memset(&e->vals, 0, sizeof(e->vals));
	assert_int_equal(vigil_pcrsel_parse("sha256:11", &e->sel), 0);
	assert_int_equal(vigil_pcr_values_add(&e->vals, TPM2_ALG_SHA256, 11, res.value, 32), 0);
	a = qb_attest(&e->k, nonce, sizeof(nonce), &e->sel, &e->vals);
	e->attest_len = qb_marshal_attest(&a, e->attest, sizeof(e->attest));
	e->sig_len = qb_sign(&e->k, &e->k.scheme, e->attest, e->attest_len, e->sig, sizeof(e->sig));
}

static void e2e_verify(struct e2e *e, const struct vigil_policy *p, enum vigil_reject pre,
		       uint64_t from, struct vigil_verdict *v)
{
	EVP_PKEY *pub = qb_public(&e->k);
	struct vigil_attest_input in = {
		.quote = { .attest = e->attest,
			   .attest_len = e->attest_len,
			   .sig = e->sig,
			   .sig_len = e->sig_len,
			   .ak = pub,
			   .ak_public = &e->k.pub,
			   .nonce = nonce,
			   .nonce_len = sizeof(nonce),
			   .selection = &e->sel,
			   .pcrs = &e->vals },
		.log = log_bytes.data,
		.log_len = log_bytes.len,
		.log_from = from,
		.log_bank = TPM2_ALG_SHA256,
		.log_pcr = 11,
		.policy = p,
		.policy_reject = pre,
	};

	assert_int_equal(vigil_attest_verify(&in, v), 0);
	EVP_PKEY_free(pub);
}

static void test_attest_verify_with_policy(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct e2e *e = calloc(1, sizeof(*e));
	struct vigil_verdict v;

	(void)state;
	assert_non_null(e);
	qb_key_new(QB_ECC256, &e->k);
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x11, "/usr/bin/true");
	put_ima_ng(&log_bytes, 11, 0x22, "/usr/bin/ls");
	allow(p, "/usr/bin/true", 0x11);
	allow(p, "/usr/bin/ls", 0x22);
	e2e_quote(e);
	e2e_verify(e, p, VIGIL_REJECT_NONE, 0, &v);
	assert_true(v.accepted);
	assert_true(v.policy_applied);
	vigil_verdict_release(&v);
	/* without a policy: accepted, but nothing appraised */
	e2e_verify(e, NULL, VIGIL_REJECT_NONE, 0, &v);
	assert_true(v.accepted);
	assert_false(v.policy_applied);
	assert_int_equal(v.checks[VIGIL_CHECK_POLICY], VIGIL_RESULT_SKIPPED);
	/* a policy the caller could not use: rejected at the policy check with its reason */
	e2e_verify(e, NULL, VIGIL_REJECT_POLICY_ROLLBACK, 0, &v);
	assert_false(v.accepted);
	assert_int_equal(v.reason, VIGIL_REJECT_POLICY_ROLLBACK);
	assert_int_equal(v.failed, VIGIL_CHECK_POLICY);
	/* a partial log cannot be appraised */
	e2e_verify(e, p, VIGIL_REJECT_NONE, 5, &v);
	assert_false(v.accepted);
	assert_int_equal(v.reason, VIGIL_REJECT_POLICY_NO_LOG);
	/* a binary the policy does not know */
	put_ima_ng(&log_bytes, 11, 0x44, "/tmp/dropper");
	e2e_quote(e);
	e2e_verify(e, p, VIGIL_REJECT_NONE, 0, &v);
	assert_false(v.accepted);
	assert_int_equal(v.reason, VIGIL_REJECT_RECORDS_REJECTED);
	expect_failure(&v, 0, 2, "/tmp/dropper", VIGIL_RECORD_NOT_IN_POLICY);
	vigil_verdict_release(&v);
	qb_key_free(&e->k);
	free(e);
	vigil_policy_free(p);
}

static void test_verdict_json_lists_failures(void **state)
{
	struct vigil_policy *p = new_policy(VIGIL_POLICY_VIOLATIONS_FAIL);
	struct vigil_verdict v;
	char *json = NULL;

	(void)state;
	log_bytes.len = 0;
	put_ima_ng(&log_bytes, 11, 0x33, "/usr/bin/true");
	allow(p, "/usr/bin/true", 0x11);
	appraise(p, &v);
	vigil_verdict_finish(&v);
	assert_int_equal(vigil_verdict_to_json(&v, &json), 0);
	assert_non_null(strstr(json, "\"records_rejected\""));
	assert_non_null(strstr(json, "\"path\": \"/usr/bin/true\""));
	assert_non_null(strstr(json, "\"reason\": \"digest_mismatch\""));
	assert_non_null(strstr(json, "\"expected\": ["));
	assert_non_null(strstr(
		json, "\"1111111111111111111111111111111111111111111111111111111111111111\""));
	assert_non_null(strstr(json, "\"digest\": \"3333"));
	free(json);
	vigil_verdict_release(&v);
	vigil_policy_free(p);
}

/* The verifier's memory of policy versions: per name, atomic, and names cannot escape. */
static void test_policy_state(void **state)
{
	char dir[] = "/tmp/vigil-test-state.XXXXXX", cmd[128];
	uint64_t version = 0;
	int fd = -1;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(vigil_state_policy_load(dir, "plc", &version), -ENOENT);
	assert_int_equal(vigil_state_policy_lock(dir, "plc", &fd), 0);
	assert_int_equal(vigil_state_policy_store(dir, "plc", 7), 0);
	assert_int_equal(vigil_state_policy_load(dir, "plc", &version), 0);
	assert_int_equal(version, 7);
	assert_int_equal(vigil_state_policy_load(dir, "other", &version), -ENOENT);
	close(fd);
	assert_int_equal(vigil_state_policy_store(dir, "../escape", 1), -EINVAL);
	assert_int_equal(vigil_state_policy_store(dir, "", 1), -EINVAL);
	assert_int_equal(vigil_state_policy_lock(dir, "a/b", &fd), -EINVAL);
	snprintf(cmd, sizeof(cmd), "echo '{\"version\": 9}' >%s/policy-plc.json", dir);
	assert_int_equal(system(cmd), 0); /* not a state file: no format member */
	assert_int_equal(vigil_state_policy_load(dir, "plc", &version), -EBADMSG);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_allowed),
		cmocka_unit_test(test_every_failure_listed),
		cmocka_unit_test(test_violations_modes),
		cmocka_unit_test(test_hash_alg_mismatch),
		cmocka_unit_test(test_boot_aggregate),
		cmocka_unit_test(test_golden_pcrs),
		cmocka_unit_test(test_only_covered_records),
		cmocka_unit_test(test_attest_verify_with_policy),
		cmocka_unit_test(test_verdict_json_lists_failures),
		cmocka_unit_test(test_policy_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
