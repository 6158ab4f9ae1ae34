// SPDX-License-Identifier: MIT
/*
 * verdict.c: the outcome of a verification, its stable names and its JSON document.
 *
 * A verdict records every check in verifier order (STYLE.md): pass, fail, skipped (not
 * applicable, e.g. no log given) or not run (an earlier check failed: nothing after a failure is
 * trustworthy, so nothing after it is attempted). The first failure is the reason.
 *
 * Invariants: a finished verdict is accepted iff no check failed and the format, header,
 * signature and nonce checks passed; the names returned here are an interface
 * (docs/evidence-format.md): add, never rename.
 */
#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "attest.h"
#include "uapi/vigil.h"
#include "cleanup.h"

static const char *const reject_names[VIGIL_REJECT_COUNT] = {
	[VIGIL_REJECT_NONE] = "none",
	[VIGIL_REJECT_BAD_FORMAT] = "bad_format",
	[VIGIL_REJECT_BAD_MAGIC] = "bad_magic",
	[VIGIL_REJECT_NOT_A_QUOTE] = "not_a_quote",
	[VIGIL_REJECT_AK_MISMATCH] = "ak_mismatch",
	[VIGIL_REJECT_AK_NOT_RESTRICTED] = "ak_not_restricted",
	[VIGIL_REJECT_SCHEME_MISMATCH] = "scheme_mismatch",
	[VIGIL_REJECT_BAD_SIGNATURE] = "bad_signature",
	[VIGIL_REJECT_NONCE_MISMATCH] = "nonce_mismatch",
	[VIGIL_REJECT_CLOCK_UNSAFE] = "clock_unsafe",
	[VIGIL_REJECT_CLOCK_ROLLBACK] = "clock_rollback",
	[VIGIL_REJECT_RESET_ROLLBACK] = "reset_rollback",
	[VIGIL_REJECT_RESTART_ROLLBACK] = "restart_rollback",
	[VIGIL_REJECT_PCR_SELECTION_MISMATCH] = "pcr_selection_mismatch",
	[VIGIL_REJECT_PCR_VALUES_MISSING] = "pcr_values_missing",
	[VIGIL_REJECT_PCR_DIGEST_MISMATCH] = "pcr_digest_mismatch",
	[VIGIL_REJECT_LOG_MISMATCH] = "log_mismatch",
	[VIGIL_REJECT_LOG_TRUNCATED] = "log_truncated",
	[VIGIL_REJECT_LOG_BAD_FORMAT] = "log_bad_format",
	[VIGIL_REJECT_POLICY_TOO_LARGE] = "policy_too_large",
	[VIGIL_REJECT_POLICY_BAD_ENVELOPE] = "policy_bad_envelope",
	[VIGIL_REJECT_POLICY_WRONG_TYPE] = "policy_wrong_type",
	[VIGIL_REJECT_POLICY_UNTRUSTED] = "policy_untrusted",
	[VIGIL_REJECT_POLICY_BAD_FORMAT] = "policy_bad_format",
	[VIGIL_REJECT_POLICY_EXPIRED] = "policy_expired",
	[VIGIL_REJECT_POLICY_ROLLBACK] = "policy_rollback",
	[VIGIL_REJECT_RECORDS_REJECTED] = "records_rejected",
	[VIGIL_REJECT_BOOT_AGGREGATE_MISMATCH] = "boot_aggregate_mismatch",
	[VIGIL_REJECT_PCR_GOLDEN_MISMATCH] = "pcr_golden_mismatch",
	[VIGIL_REJECT_POLICY_NO_LOG] = "policy_no_log",
	[VIGIL_REJECT_LOG_CURSOR] = "log_cursor",
};

static const char *const record_reason_names[] = {
	[VIGIL_RECORD_NOT_IN_POLICY] = "not_in_policy",
	[VIGIL_RECORD_DIGEST_MISMATCH] = "digest_mismatch",
	[VIGIL_RECORD_DENIED] = "denied",
	[VIGIL_RECORD_VIOLATION] = "violation",
	[VIGIL_RECORD_HASH_ALG_MISMATCH] = "hash_alg_mismatch",
	[VIGIL_RECORD_UNREADABLE] = "unreadable",
};

static const char *const check_names[VIGIL_CHECK_COUNT] = {
	[VIGIL_CHECK_FORMAT] = "format",	 [VIGIL_CHECK_HEADER] = "header",
	[VIGIL_CHECK_SIGNATURE] = "signature",	 [VIGIL_CHECK_NONCE] = "nonce",
	[VIGIL_CHECK_CLOCK] = "clock",		 [VIGIL_CHECK_PCR_SELECTION] = "pcr_selection",
	[VIGIL_CHECK_PCR_DIGEST] = "pcr_digest", [VIGIL_CHECK_LOG] = "log",
	[VIGIL_CHECK_POLICY] = "policy",
};

static const char *const result_names[] = {
	[VIGIL_RESULT_NOT_RUN] = "not_run",
	[VIGIL_RESULT_PASS] = "pass",
	[VIGIL_RESULT_FAIL] = "fail",
	[VIGIL_RESULT_SKIPPED] = "skipped",
};

/**
 * vigil_reject_name() - the stable name of a rejection reason
 * @reason: the reason
 *
 * Return: e.g. "bad_signature"; "unknown" for a value outside the enum.
 */
const char *vigil_reject_name(enum vigil_reject reason)
{
	return (unsigned int)reason < VIGIL_REJECT_COUNT ? reject_names[reason] : "unknown";
}

/**
 * vigil_record_reason_name() - the stable name of why a record failed a policy
 * @reason: the reason
 *
 * Return: e.g. "not_in_policy"; "unknown" for a value outside the enum.
 */
const char *vigil_record_reason_name(enum vigil_record_reason reason)
{
	return (unsigned int)reason <= VIGIL_RECORD_UNREADABLE ? record_reason_names[reason] :
								 "unknown";
}

/**
 * vigil_hook_name() - the kernel's name of the hook that measured a record
 * @hook: enum vigil_hook (kernel/uapi/vigil.h)
 *
 * Return: "BPRM_CHECK", ..., "FILE_CHECK" as in measurement rules; "NONE" for records no hook
 * made (boot_aggregate, the rules record); "unknown" outside the enum.
 */
const char *vigil_hook_name(uint32_t hook)
{
	static const char *const names[] = {
		[VIGIL_HOOK_NONE] = "NONE",
		[VIGIL_HOOK_BPRM_CHECK] = "BPRM_CHECK",
		[VIGIL_HOOK_MMAP_CHECK] = "MMAP_CHECK",
		[VIGIL_HOOK_MODULE_CHECK] = "MODULE_CHECK",
		[VIGIL_HOOK_FIRMWARE_CHECK] = "FIRMWARE_CHECK",
		[VIGIL_HOOK_FILE_CHECK] = "FILE_CHECK",
	};

	return hook < sizeof(names) / sizeof(names[0]) ? names[hook] : "unknown";
}

/**
 * vigil_check_name() - the stable name of a check
 * @check: the check
 *
 * Return: e.g. "signature"; "unknown" for a value outside the enum.
 */
const char *vigil_check_name(enum vigil_check check)
{
	return (unsigned int)check < VIGIL_CHECK_COUNT ? check_names[check] : "unknown";
}

/**
 * vigil_check_result_name() - the stable name of a check's result
 * @result: the result
 *
 * Return: "pass", "fail", "skipped" or "not_run"; "unknown" for a value outside the enum.
 */
const char *vigil_check_result_name(enum vigil_check_result result)
{
	return (unsigned int)result <= VIGIL_RESULT_SKIPPED ? result_names[result] : "unknown";
}

/**
 * vigil_verdict_init() - start a verdict: nothing checked, not accepted
 * @v: the verdict
 */
void vigil_verdict_init(struct vigil_verdict *v)
{
	*v = (struct vigil_verdict){ .reason = VIGIL_REJECT_NONE, .failed = VIGIL_CHECK_COUNT };
}

/**
 * vigil_verdict_release() - free what a verdict owns (its record failures)
 * @v: the verdict; stays a valid verdict with no failures listed
 */
void vigil_verdict_release(struct vigil_verdict *v)
{
	for (size_t i = 0; i < v->failure_count; i++)
		free(v->failures[i].path);
	free(v->failures);
	v->failures = NULL;
	v->failure_count = 0;
}

/**
 * vigil_verdict_pass() - record that a check passed
 * @v: the verdict
 * @check: the check
 */
void vigil_verdict_pass(struct vigil_verdict *v, enum vigil_check check)
{
	v->checks[check] = VIGIL_RESULT_PASS;
}

/**
 * vigil_verdict_skip() - record that a check does not apply
 * @v: the verdict
 * @check: the check
 */
void vigil_verdict_skip(struct vigil_verdict *v, enum vigil_check check)
{
	v->checks[check] = VIGIL_RESULT_SKIPPED;
}

/**
 * vigil_verdict_fail() - record that a check failed; the first failure is the reason
 * @v: the verdict
 * @check: the check
 * @reason: why
 * @detail: a static elaboration for people, or NULL
 */
void vigil_verdict_fail(struct vigil_verdict *v, enum vigil_check check, enum vigil_reject reason,
			const char *detail)
{
	v->checks[check] = VIGIL_RESULT_FAIL;
	if (v->reason != VIGIL_REJECT_NONE)
		return;
	v->reason = reason;
	v->failed = check;
	v->detail = detail;
}

/**
 * vigil_verdict_finish() - decide: accepted iff nothing failed and the essential checks passed
 * @v: the verdict
 *
 * The format, header, signature and nonce checks must have passed: a verdict in which they
 * never ran (a caller's bug) is a rejection, not an acceptance.
 */
void vigil_verdict_finish(struct vigil_verdict *v)
{
	static const enum vigil_check essential[] = { VIGIL_CHECK_FORMAT, VIGIL_CHECK_HEADER,
						      VIGIL_CHECK_SIGNATURE, VIGIL_CHECK_NONCE };
	bool ok = v->reason == VIGIL_REJECT_NONE;

	for (size_t i = 0; i < VIGIL_CHECK_COUNT; i++)
		if (v->checks[i] == VIGIL_RESULT_FAIL)
			ok = false;
	for (size_t i = 0; i < sizeof(essential) / sizeof(essential[0]); i++)
		if (v->checks[essential[i]] != VIGIL_RESULT_PASS)
			ok = false;
	if (!ok && v->reason == VIGIL_REJECT_NONE) {
		v->reason = VIGIL_REJECT_BAD_FORMAT;
		v->detail = "an essential check did not run";
	}
	v->accepted = ok;
}

static struct json_object *checks_json(const struct vigil_verdict *v)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < VIGIL_CHECK_COUNT; i++) {
		struct json_object *c = json_object_new_object();
		int r = c ? 0 : -ENOMEM;

		if (r == 0)
			r = vigil_json_add(c, "name", json_object_new_string(check_names[i]));
		if (r == 0)
			r = vigil_json_add(c, "result",
					   json_object_new_string(result_names[v->checks[i]]));
		if (r == 0 && v->checks[i] == VIGIL_RESULT_FAIL && v->failed == i)
			r = vigil_json_add(c, "reason",
					   json_object_new_string(reject_names[v->reason]));
		if (r < 0 || json_object_array_add(arr, c) < 0) {
			json_object_put(c);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static struct json_object *quote_json(const struct vigil_verdict *v)
{
	struct json_object *q = json_object_new_object();
	char sel[256] = "", fw[17];
	int r = q ? 0 : -ENOMEM;

	snprintf(fw, sizeof(fw), "%016llx", (unsigned long long)v->firmware);
	if (vigil_pcrsel_format(&v->selection, sel, sizeof(sel)) < 0)
		sel[0] = '\0';
	if (r == 0)
		r = vigil_json_add(q, "clock", json_object_new_uint64(v->clock.clock));
	if (r == 0)
		r = vigil_json_add(q, "reset_count", json_object_new_int64(v->clock.reset_count));
	if (r == 0)
		r = vigil_json_add(q, "restart_count",
				   json_object_new_int64(v->clock.restart_count));
	if (r == 0)
		r = vigil_json_add(q, "safe", json_object_new_boolean(v->safe));
	if (r == 0)
		r = vigil_json_add(q, "firmware_version", json_object_new_string(fw));
	if (r == 0)
		r = vigil_json_add(q, "pcr_selection", json_object_new_string(sel));
	if (r < 0) {
		json_object_put(q);
		return NULL;
	}
	return q;
}

static struct json_object *hex_string(const uint8_t *b, size_t len)
{
	char hex[2 * 64 + 1];

	vigil_hex_encode(b, len, hex, sizeof(hex));
	return json_object_new_string(hex);
}

/**
 * vigil_failure_to_json() - one record failure's members (docs/evidence-format.md)
 * @f: the failure
 * @expected: also the digests the policy allows at its path
 * @o: the object to add them to
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_failure_to_json(const struct vigil_record_failure *f, bool expected,
			  struct json_object *o)
{
	struct json_object *exp = NULL;
	int r;

	r = vigil_json_add(o, "index", json_object_new_uint64(f->index));
	if (r == 0)
		r = vigil_json_add(o, "path", vigil_json_text(f->path ? f->path : ""));
	if (r == 0)
		r = vigil_json_add(o, "reason",
				   json_object_new_string(vigil_record_reason_name(f->reason)));
	if (r == 0 && f->warning)
		r = vigil_json_add(o, "warning", json_object_new_boolean(true));
	if (r == 0 && f->hook >= 0)
		r = vigil_json_add(o, "hook",
				   json_object_new_string(vigil_hook_name((uint32_t)f->hook)));
	if (r == 0 && f->digest_len)
		r = vigil_json_add(o, "alg", vigil_json_text(f->alg));
	if (r == 0 && f->digest_len)
		r = vigil_json_add(o, "digest", hex_string(f->digest, f->digest_len));
	if (r < 0 || !expected || !f->expected_count)
		return r;
	exp = json_object_new_array();
	r = vigil_json_add(o, "expected", exp);
	for (size_t i = 0; r == 0 && i < f->expected_count && i < VIGIL_RECORD_EXPECTED_MAX; i++)
		if (json_object_array_add(exp, hex_string(f->expected[i], f->digest_len)) < 0)
			r = -ENOMEM;
	if (r == 0 && f->expected_count > VIGIL_RECORD_EXPECTED_MAX)
		r = vigil_json_add(o, "expected_count", json_object_new_uint64(f->expected_count));
	return r;
}

static struct json_object *failures_json(const struct vigil_verdict *v)
{
	struct json_object *arr = json_object_new_array();

	for (size_t i = 0; arr && i < v->failure_count; i++) {
		struct json_object *f = json_object_new_object();

		if (!f || vigil_failure_to_json(&v->failures[i], true, f) < 0 ||
		    json_object_array_add(arr, f) < 0) {
			json_object_put(f);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

static int policy_fields(const struct vigil_verdict *v, struct json_object *o)
{
	struct json_object *p = json_object_new_object();
	int r = vigil_json_add(o, "policy", p);

	if (r == 0)
		r = vigil_json_add(p, "name", json_object_new_string(v->policy_name));
	if (r == 0)
		r = vigil_json_add(p, "version", json_object_new_uint64(v->policy_version));
	if (r == 0)
		r = vigil_json_add(p, "signer_keyid",
				   hex_string(v->policy_keyid, sizeof(v->policy_keyid)));
	if (r == 0)
		r = vigil_json_add(p, "records_checked",
				   json_object_new_uint64(v->records_checked));
	if (r == 0)
		r = vigil_json_add(p, "records_excluded",
				   json_object_new_uint64(v->records_excluded));
	if (r == 0)
		r = vigil_json_add(p, "boot_appraised", json_object_new_boolean(v->boot_appraised));
	if (r == 0)
		r = vigil_json_add(o, "failures", failures_json(v));
	return r;
}

static int verdict_fields(const struct vigil_verdict *v, struct json_object *o)
{
	char keyid[2 * VIGIL_AK_KEYID_SIZE + 1];
	int r;

	vigil_hex_encode(v->ak_keyid, sizeof(v->ak_keyid), keyid, sizeof(keyid));
	r = vigil_json_add(o, "vigil_verdict", json_object_new_int(1));
	if (r == 0)
		r = vigil_json_add(o, "result",
				   json_object_new_string(v->accepted ? "accepted" : "rejected"));
	if (r == 0 && v->accepted && json_object_object_add(o, "reason", NULL) < 0) /* null */
		r = -ENOMEM;
	else if (r == 0 && !v->accepted)
		r = vigil_json_add(o, "reason", json_object_new_string(reject_names[v->reason]));
	if (r == 0 && !v->accepted && v->failed < VIGIL_CHECK_COUNT)
		r = vigil_json_add(o, "failed_check",
				   json_object_new_string(check_names[v->failed]));
	if (r == 0 && !v->accepted && v->detail)
		r = vigil_json_add(o, "detail", json_object_new_string(v->detail));
	if (r == 0)
		r = vigil_json_add(o, "policy_applied", json_object_new_boolean(v->policy_applied));
	if (r == 0)
		r = vigil_json_add(o, "checks", checks_json(v));
	if (r == 0)
		r = vigil_json_add(o, "ak_keyid", json_object_new_string(keyid));
	if (r == 0 && v->have_quote)
		r = vigil_json_add(o, "quote", quote_json(v));
	if (r == 0 && v->checks[VIGIL_CHECK_LOG] != VIGIL_RESULT_SKIPPED)
		r = vigil_json_add(o, "log_records", json_object_new_uint64(v->log_records));
	if (r == 0 && v->checks[VIGIL_CHECK_LOG] == VIGIL_RESULT_PASS)
		r = vigil_json_add(o, "records_covered",
				   json_object_new_uint64(v->records_covered));
	if (r == 0 && v->policy_name[0])
		r = policy_fields(v, o);
	return r;
}

static int verdict_format(const struct vigil_verdict *v, bool compact, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	int r;

	if (!o)
		return -ENOMEM;
	r = verdict_fields(v, o);
	if (r < 0)
		return r;
	return compact ? vigil_json_format_compact(o, ret) : vigil_json_format(o, ret);
}

/**
 * vigil_verdict_to_json() - the verdict document (docs/evidence-format.md)
 * @v: a finished verdict
 * @ret: on success, the pretty-printed JSON text with a final newline; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_verdict_to_json(const struct vigil_verdict *v, char **ret)
{
	return verdict_format(v, false, ret);
}

/**
 * vigil_verdict_to_json_compact() - vigil_verdict_to_json() without whitespace (stored verdicts)
 * @v: a finished verdict
 * @ret: on success, the JSON text with a final newline; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_verdict_to_json_compact(const struct vigil_verdict *v, char **ret)
{
	return verdict_format(v, true, ret);
}
