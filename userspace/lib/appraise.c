// SPDX-License-Identifier: MIT
/*
 * appraise.c: step 7 of a verification: the records a quote covers, checked against a signed
 * policy's reference values, and the policy's golden PCR and boot_aggregate values.
 *
 * Only records the log check authenticated are looked at: those of the log's PCR among the
 * first records_covered (the prefix that replays to the quoted value); later records were
 * appended after the quote and prove nothing yet. Every record is checked and every failing
 * one is listed (index, path, digest, reason, the digests the policy expected), so an operator
 * sees the whole damage from one quote, not the first symptom of it.
 *
 * Per record: a violation (IMA's all-zero template digest) follows the policy's "violations"
 * mode (fail: a failure; warn: listed as a warning; ignore: nothing); a record without a file
 * digest and a name cannot be checked (unreadable); a file digest of another algorithm than
 * the policy's hash_alg cannot be compared (hash_alg_mismatch); otherwise
 * vigil_policy_check() decides (deny, excludes, digests, any_path). Record 0 named
 * "boot_aggregate" is compared with the policy's golden "boot_aggregate" when it has one, else
 * with a "boot_aggregate" entry in its digests (Keylime's way), else it is not appraised
 * (counted as excluded: its value is bound to PCRs 0-9, which "pcrs" golden values pin).
 *
 * Invariants: allocation only for the failure list; the verdict's failures are in log order;
 * an errno means the appraisal could not be done, never that a record failed.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "attest.h"
#include "log.h"
#include "policy.h"

#define BATCH 16 /* records whose policy lookups are prefetched together */

struct appraisal {
	const struct vigil_policy *policy;
	const struct vigil_policy_info *info;
	const char *alg_name;
	struct vigil_verdict *v;
	size_t base; /* the log's first record's index in the boot's log */
	size_t cap;
	bool boot_aggregate_failed;
};

static struct vigil_record_failure *add_failure(struct appraisal *a, size_t index,
						enum vigil_record_reason reason,
						const struct vigil_log_fields *f)
{
	struct vigil_verdict *v = a->v;
	struct vigil_record_failure *e;

	if (v->failure_count == a->cap) {
		size_t cap = a->cap ? 2 * a->cap : 16;
		void *n = reallocarray(v->failures, cap, sizeof(*v->failures));

		if (!n)
			return NULL;
		v->failures = n;
		a->cap = cap;
	}
	e = &v->failures[v->failure_count];
	*e = (struct vigil_record_failure){ .index = a->base + index,
					    .reason = reason,
					    .hook = -1 };
	e->path = f && f->name ? strndup(f->name, f->name_len) : strdup("");
	if (!e->path)
		return NULL;
	if (f && f->digest && f->digest_len <= sizeof(e->digest)) {
		memcpy(e->digest, f->digest, f->digest_len);
		e->digest_len = f->digest_len;
		snprintf(e->alg, sizeof(e->alg), "%s",
			 f->digest_alg	     ? f->digest_alg :
			 f->digest_len == 20 ? "sha1" :
					       "");
	}
	v->failure_count++;
	return e;
}

/* The digests the policy allows at the record's path, into a digest_mismatch failure. */
static void add_expected(struct appraisal *a, struct vigil_record_failure *e,
			 const struct vigil_log_fields *f)
{
	const uint8_t *d = NULL;
	size_t n = vigil_policy_expected(a->policy, f->name, f->name_len, &d);

	e->expected_count = n;
	for (size_t i = 0; i < n && i < VIGIL_RECORD_EXPECTED_MAX; i++)
		memcpy(e->expected[i], d + i * a->info->digest_size, a->info->digest_size);
}

static int violation(struct appraisal *a, size_t index, const struct vigil_log_fields *f)
{
	struct vigil_record_failure *e;

	if (a->info->violations == VIGIL_POLICY_VIOLATIONS_IGNORE)
		return 0;
	e = add_failure(a, index, VIGIL_RECORD_VIOLATION, f);
	if (!e)
		return -ENOMEM;
	e->digest_len = 0; /* a violation has no file digest worth showing */
	e->alg[0] = '\0';
	e->warning = a->info->violations == VIGIL_POLICY_VIOLATIONS_WARN;
	return 0;
}

static bool digest_of_policy_alg(const struct appraisal *a, const struct vigil_log_fields *f)
{
	const char *alg = f->digest_alg ? f->digest_alg : f->digest_len == 20 ? "sha1" : "";

	return f->digest_len == a->info->digest_size && !strcmp(alg, a->alg_name);
}

static bool is_boot_aggregate(size_t index, const struct vigil_log_fields *f)
{
	return index == 0 && f->name_len == 14 && !memcmp(f->name, "boot_aggregate", 14);
}

/* Record 0: the golden value, else the digests entry, else not appraised (1). */
static int boot_aggregate(struct appraisal *a, const struct vigil_log_fields *f)
{
	struct vigil_record_failure *e;

	if (!a->info->has_boot_aggregate) {
		const uint8_t *unused;

		return vigil_policy_expected(a->policy, f->name, f->name_len, &unused) ? 0 : 1;
	}
	if (digest_of_policy_alg(a, f) &&
	    !CRYPTO_memcmp(f->digest, a->info->boot_aggregate, a->info->digest_size))
		return 1;
	e = add_failure(a, 0, VIGIL_RECORD_DIGEST_MISMATCH, f);
	if (!e)
		return -ENOMEM;
	e->expected_count = 1;
	memcpy(e->expected[0], a->info->boot_aggregate, a->info->digest_size);
	a->boot_aggregate_failed = true;
	return 1;
}

static int check_fields(struct appraisal *a, size_t index, const struct vigil_log_fields *f)
{
	static const enum vigil_record_reason reasons[] = {
		[VIGIL_POLICY_NOT_IN_POLICY] = VIGIL_RECORD_NOT_IN_POLICY,
		[VIGIL_POLICY_DIGEST_MISMATCH] = VIGIL_RECORD_DIGEST_MISMATCH,
		[VIGIL_POLICY_DENIED] = VIGIL_RECORD_DENIED,
	};
	struct vigil_record_failure *e;
	enum vigil_policy_result res;
	int r;

	if (is_boot_aggregate(a->base + index, f)) {
		r = boot_aggregate(a, f);
		if (r != 0) {
			a->v->records_excluded += r > 0 && !a->info->has_boot_aggregate;
			return r < 0 ? r : 0;
		}
	}
	if (!digest_of_policy_alg(a, f))
		return add_failure(a, index, VIGIL_RECORD_HASH_ALG_MISMATCH, f) ? 0 : -ENOMEM;
	r = vigil_policy_check(a->policy, f->name, f->name_len, f->digest, &res);
	if (r < 0)
		return r;
	if (res == VIGIL_POLICY_ALLOWED)
		return 0;
	if (res == VIGIL_POLICY_EXCLUDED) {
		a->v->records_excluded++;
		return 0;
	}
	e = add_failure(a, index, reasons[res], f);
	if (!e)
		return -ENOMEM;
	if (res == VIGIL_POLICY_DIGEST_MISMATCH)
		add_expected(a, e, f);
	return 0;
}

static int check_one(struct appraisal *a, const struct vigil_log *log, size_t index, bool have,
		     const struct vigil_log_fields *f)
{
	if (log->records[index].flags & VIGIL_LOG_VIOLATION)
		return violation(a, index, have ? f : NULL);
	if (have && f->digest && f->name)
		return check_fields(a, index, f);
	if (!add_failure(a, index, VIGIL_RECORD_UNREADABLE, have ? f : NULL))
		return -ENOMEM;
	return 0;
}

/* A failure names the hook that measured the record (configuration or program?); the fast
 * path does not decode vigil-ng's context, so a failing record is decoded once more. */
static int check_record(struct appraisal *a, const struct vigil_log *log, size_t index, bool have,
			const struct vigil_log_fields *f)
{
	size_t before = a->v->failure_count;
	struct vigil_log_fields full;
	int r = check_one(a, log, index, have, f);

	if (r == 0 && a->v->failure_count > before &&
	    vigil_log_record_fields(log, &log->records[index], &full) == 0 && full.has_ctx)
		a->v->failures[a->v->failure_count - 1].hook = (int32_t)full.ctx.hook;
	return r;
}

/*
 * The first @covered records of @pcr, in batches: first every record's name and digest, with a
 * prefetch of the policy bucket its check will probe, then the checks, so the cache misses of
 * a large policy overlap instead of adding up.
 */
static int check_records(struct appraisal *a, uint32_t pcr, const struct vigil_log *log,
			 size_t covered)
{
	struct vigil_log_fields f[BATCH];
	size_t idx[BATCH];
	bool have[BATCH];
	int r = 0;

	for (size_t i = 0; r == 0 && i < covered && i < log->count;) {
		size_t n = 0;

		for (; n < BATCH && i < covered && i < log->count; i++) {
			if (log->records[i].pcr != pcr)
				continue;
			idx[n] = i;
			have[n] = vigil_log_record_file(log, &log->records[i], &f[n]) == 0;
			if (have[n] && f[n].name)
				vigil_policy_prefetch(a->policy, f[n].name, f[n].name_len);
			n++;
		}
		a->v->records_checked += n;
		for (size_t k = 0; r == 0 && k < n; k++)
			r = check_record(a, log, idx[k], have[k], &f[k]);
	}
	return r;
}
/* Golden PCR values: each must have been quoted (claimed values, digest-checked) and equal. */
static int check_golden_pcrs(struct appraisal *a, const struct vigil_pcr_values *quoted)
{
	struct vigil_pcr_values *golden = calloc(1, sizeof(*golden));
	const char *detail = NULL;
	int r;

	if (!golden)
		return -ENOMEM;
	r = vigil_policy_pcrs(a->policy, golden);
	for (size_t i = 0; r == 0 && !detail && i < golden->count; i++) {
		const struct vigil_pcr_value *g = &golden->v[i];
		const struct vigil_pcr_value *q =
			quoted ? vigil_pcr_values_get(quoted, g->alg, g->pcr) : NULL;

		if (!q)
			detail = "a PCR with a golden value in the policy was not quoted";
		else if (q->size != g->size || CRYPTO_memcmp(q->digest, g->digest, g->size))
			detail = "a quoted PCR differs from the policy's golden value";
	}
	free(golden);
	if (r == 0 && detail)
		vigil_verdict_fail(a->v, VIGIL_CHECK_POLICY, VIGIL_REJECT_PCR_GOLDEN_MISMATCH,
				   detail);
	return r;
}

/**
 * vigil_appraise_from() - check the records a quote covers against a policy (verification
 * step 7), for a log that continues the boot's log at record @base
 * @log: the parsed log, already replayed to the quote
 * @base: the index of @log's first record in the boot's log (0: the whole log); failures name
 *	records by that index, and only record 0 of the boot can be its boot_aggregate
 * @covered: the number of leading records of @log the replay authenticated
 * @policy: the policy (signature, validity and version already checked by the caller)
 * @pcr: the PCR the log extends; records of other PCRs are not looked at
 * @quoted: the quoted PCR values (claimed and digest-checked), or NULL when only a replay
 *	backs the quote (then golden PCR values other than none cannot be checked: rejected)
 * @v: the verdict: policy check passed or failed, failures listed, counts set
 *
 * Return: 0 with the outcome in @v; -ENOMEM when it could not be done.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): where the log starts, then how much */
int vigil_appraise_from(const struct vigil_log *log, size_t base, size_t covered,
			const struct vigil_policy *policy, uint32_t pcr,
			const struct vigil_pcr_values *quoted, struct vigil_verdict *v)
{
	struct appraisal a = {
		.policy = policy, .info = vigil_policy_info(policy), .v = v, .base = base
	};
	int r;

	a.alg_name = vigil_hash_name(a.info->hash_alg);
	snprintf(v->policy_name, sizeof(v->policy_name), "%s", a.info->name);
	v->policy_version = a.info->version;
	v->policy_applied = true;
	v->boot_appraised = a.info->pcrs || a.info->has_boot_aggregate;
	r = a.info->pcrs ? check_golden_pcrs(&a, quoted) : 0;
	if (r == 0)
		r = check_records(&a, pcr, log, covered);
	if (r < 0)
		return r;
	if (a.boot_aggregate_failed)
		vigil_verdict_fail(v, VIGIL_CHECK_POLICY, VIGIL_REJECT_BOOT_AGGREGATE_MISMATCH,
				   "record 0 is not the policy's golden boot_aggregate");
	for (size_t i = 0; i < v->failure_count; i++)
		if (!v->failures[i].warning) {
			vigil_verdict_fail(v, VIGIL_CHECK_POLICY, VIGIL_REJECT_RECORDS_REJECTED,
					   "records the policy does not allow: see failures");
			break;
		}
	if (v->checks[VIGIL_CHECK_POLICY] != VIGIL_RESULT_FAIL)
		vigil_verdict_pass(v, VIGIL_CHECK_POLICY);
	return 0;
}

/**
 * vigil_appraise() - vigil_appraise_from() for a log from the boot's first record
 * @log: the parsed log, already replayed to the quote
 * @covered: the number of leading records the replay authenticated
 * @policy: the policy (signature, validity and version already checked by the caller)
 * @pcr: the PCR the log extends
 * @quoted: the quoted PCR values, or NULL
 * @v: the verdict
 *
 * Return: as vigil_appraise_from().
 */
int vigil_appraise(const struct vigil_log *log, size_t covered, const struct vigil_policy *policy,
		   uint32_t pcr, const struct vigil_pcr_values *quoted, struct vigil_verdict *v)
{
	return vigil_appraise_from(log, 0, covered, policy, pcr, quoted, v);
}
