// SPDX-License-Identifier: MIT
/*
 * attest.c: a whole verification: the quote (quote.c), then the measurement log replayed
 * against the quoted PCR (log.c, replay.c), recorded in one verdict.
 *
 * Two ways to tie a log to a quote. With claimed PCR values (evidence, or tpm2-tools'
 * quote.pcrs) the quote's pcrDigest is checked against them first; then the log must replay,
 * record by record, to the claimed value of its PCR ("records covered": the shortest prefix
 * that does; later records were appended after the quote). Without claimed values (tpm2-tools
 * files and a log only) the quote must select exactly the log's PCR, and the log is replayed
 * record by record until the hash of the running value equals pcrDigest.
 *
 * Then the policy (appraise.c): every covered record against the reference values.
 *
 * Invariants: the log is only looked at after the signature, nonce and clock checks passed,
 * so an unauthenticated quote never makes vigil parse a log; a log failure is a rejection with
 * its own reason (log_truncated for a log that ends inside a record, log_bad_format for any
 * other malformation, log_mismatch when no prefix explains the quote), never an errno.
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>

#include "attest.h"
#include "cleanup.h"
#include "log.h"
#include "replay.h"

static void log_parse_failed(struct vigil_verdict *v, int r)
{
	vigil_verdict_fail(v, VIGIL_CHECK_LOG,
			   r == -EBADMSG ? VIGIL_REJECT_LOG_TRUNCATED : VIGIL_REJECT_LOG_BAD_FORMAT,
			   vigil_log_strerror(r));
}

/* With a claimed (and digest-checked) value: the shortest prefix replaying to it. */
static int match_value(const struct vigil_log *log, const struct vigil_attest_input *in,
		       struct vigil_verdict *v)
{
	const struct vigil_pcr_value *pv =
		vigil_pcr_values_get(in->quote.pcrs, in->log_bank, in->log_pcr);
	size_t covered = 0;
	int r;

	if (!pv)
		return -EINVAL; /* the pcr_digest check made sure every quoted PCR has a value */
	r = vigil_replay_match(log, in->log_bank, in->log_pcr, pv->digest, pv->size, &covered);

	if (r == VIGIL_REPLAY_MATCH) {
		v->records_covered = covered;
		vigil_verdict_pass(v, VIGIL_CHECK_LOG);
		return 0;
	}
	if (r == VIGIL_REPLAY_NO_MATCH || r == -ENODATA) {
		vigil_verdict_fail(v, VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_MISMATCH,
				   r == -ENODATA ? vigil_log_strerror(r) : NULL);
		return 0;
	}
	return r;
}

/* Does the hash of a single-PCR selection's value equal the quote's pcrDigest? */
static int digest_matches(const TPMS_ATTEST *a, const struct vigil_attest_input *in,
			  uint16_t sig_hash, const uint8_t *value, bool *ret)
{
	_cleanup_free_ struct vigil_pcr_values *vals = NULL;
	int r;

	vals = calloc(1, sizeof(*vals));
	if (!vals)
		return -ENOMEM;
	r = vigil_pcr_values_add(vals, in->log_bank, in->log_pcr, value,
				 vigil_hash_size(in->log_bank));
	if (r < 0)
		return r;
	return vigil_quote_check_digest(a, sig_hash, vals, ret);
}

/* Replay one record at a time; 1 and @ret_covered when a prefix hashes to pcrDigest. */
static int search_prefix(const struct vigil_log *log, const struct vigil_attest_input *in,
			 enum vigil_replay_mode mode, const TPMS_ATTEST *a, uint16_t sig_hash,
			 size_t *ret_covered)
{
	struct vigil_replay_result res = { .size = vigil_hash_size(in->log_bank) };
	struct vigil_log view = *log;
	size_t covered = 0;
	bool match = false;
	int r;

	r = digest_matches(a, in, sig_hash, res.value, &match);
	for (size_t i = 0; r == 0 && !match && i < log->count; i++) {
		if (log->records[i].pcr != in->log_pcr)
			continue;
		view.count = i + 1;
		r = vigil_replay_ex(&view, in->log_bank, in->log_pcr, i, res.value, mode, &res);
		if (r == 0)
			r = digest_matches(a, in, sig_hash, res.value, &match);
		covered = i + 1;
	}
	if (r < 0)
		return r;
	*ret_covered = covered;
	return match;
}

/* No claimed values: the log itself must explain pcrDigest (which is then checked too). */
static int match_digest(const struct vigil_log *log, const struct vigil_attest_input *in,
			const TPMS_ATTEST *a, struct vigil_verdict *v)
{
	TPMS_ATTEST unused;
	TPMT_SIGNATURE sig;
	size_t covered = 0;
	int r;

	if (vigil_quote_parse(in->quote.attest, in->quote.attest_len, in->quote.sig,
			      in->quote.sig_len, &unused, &sig) < 0)
		return -EINVAL; /* parsed fine a moment ago */
	r = search_prefix(log, in, VIGIL_REPLAY_BANK_HASH, a, sig.signature.any.hashAlg, &covered);
	if (r == 0 && in->log_bank != TPM2_ALG_SHA1)
		r = search_prefix(log, in, VIGIL_REPLAY_PADDED_SHA1, a, sig.signature.any.hashAlg,
				  &covered);
	if (r == -ENODATA)
		r = 0;
	if (r < 0)
		return r;
	if (r == 0) {
		vigil_verdict_fail(v, VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_MISMATCH,
				   "no prefix of the log replays to the quoted PCR digest");
		return 0;
	}
	v->records_covered = covered;
	vigil_verdict_pass(v, VIGIL_CHECK_PCR_DIGEST);
	vigil_verdict_pass(v, VIGIL_CHECK_LOG);
	return 0;
}

static bool single_pcr(const TPML_PCR_SELECTION *sel, uint16_t bank, uint32_t pcr)
{
	return vigil_pcrsel_count(sel) == 1 && vigil_pcrsel_has(sel, bank, pcr);
}

/* Step 6b: the log, for a quote that passed every check before it; *@ret_log keeps it. */
static int check_log(const struct vigil_attest_input *in, const TPMS_ATTEST *a,
		     struct vigil_verdict *v, struct vigil_log **ret_log)
{
	const struct vigil_log_options opts = { .flags = VIGIL_LOG_ALLOW_EMPTY };
	const TPML_PCR_SELECTION *sel = &a->attested.quote.pcrSelect;
	struct vigil_log *log = NULL;
	int r;

	if (!in->log || in->log_from > 0 || !vigil_pcrsel_has(sel, in->log_bank, in->log_pcr) ||
	    (!in->quote.pcrs && !single_pcr(sel, in->log_bank, in->log_pcr))) {
		vigil_verdict_skip(v, VIGIL_CHECK_LOG);
		return 0;
	}
	r = vigil_log_parse(in->log, in->log_len, &opts, &log, NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_parse_failed(v, r);
		return 0;
	}
	*ret_log = log;
	v->log_records = log->count;
	if (in->quote.pcrs)
		return match_value(log, in, v);
	return match_digest(log, in, a, v);
}

/* Step 7: the policy, for a quote and a log (from record @base) that passed every check before
 * it. */
static int check_policy(const struct vigil_attest_input *in, const struct vigil_log *log,
			size_t base, struct vigil_verdict *v)
{
	if (in->policy_reject != VIGIL_REJECT_NONE) {
		vigil_verdict_fail(v, VIGIL_CHECK_POLICY, in->policy_reject, in->policy_detail);
		return 0;
	}
	if (!in->policy) {
		vigil_verdict_skip(v, VIGIL_CHECK_POLICY);
		return 0;
	}
	if (in->policy_keyid)
		memcpy(v->policy_keyid, in->policy_keyid, sizeof(v->policy_keyid));
	if (v->checks[VIGIL_CHECK_LOG] != VIGIL_RESULT_PASS || !log) {
		vigil_verdict_fail(v, VIGIL_CHECK_POLICY, VIGIL_REJECT_POLICY_NO_LOG,
				   "a policy needs the whole log, replayed to the quoted PCR");
		return 0;
	}
	return vigil_appraise_from(log, base, v->records_covered - base, in->policy, in->log_pcr,
				   in->quote.pcrs, v);
}

/**
 * vigil_attest_verify() - verify a quote and the measurement log that goes with it
 * @in: the quote input (vigil_quote_verify()), the log and the PCR it extends
 * @verdict: receives every check; finished (vigil_verdict_finish()) on return 0
 *
 * With @in->policy, every record the replay covers is checked against it (vigil_appraise());
 * a policy needs the log check to have passed (policy_no_log otherwise). Without one, the
 * policy check is recorded as skipped and @verdict->policy_applied is false. A policy the
 * caller could not use (@in->policy_reject) fails the policy check with that reason. The
 * verdict may own a list of record failures: release it with vigil_verdict_release(), also
 * after a negative return. The log check is skipped when there is no log, when it
 * starts after record 0 (a continuation needs the verifier's replay cursor), or when the quote
 * does not cover the log's PCR; without claimed PCR values, a quote that selects more than the
 * log's PCR cannot have its pcrDigest checked and is left unchecked (pcr_digest not run).
 *
 * Return: 0 when the outcome is in @verdict (accepted or rejected); a negative errno when the
 * verification could not be done (see vigil_quote_verify(); -ENOMEM, -EIO).
 */
int vigil_attest_verify(const struct vigil_attest_input *in, struct vigil_verdict *verdict)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	TPMS_ATTEST a;
	int r;

	vigil_verdict_init(verdict);
	r = vigil_quote_verify(&in->quote, verdict, &a);
	if (r < 0)
		return r;
	if (verdict->reason == VIGIL_REJECT_NONE) {
		r = check_log(in, &a, verdict, &log);
		if (r < 0)
			return r;
	}
	if (verdict->reason == VIGIL_REJECT_NONE) {
		r = check_policy(in, log, 0, verdict);
		if (r < 0)
			return r;
	}
	vigil_verdict_finish(verdict);
	return 0;
}

/* ---- continuing a boot's log at the verifier's cursor (vigil verifierd) ---- */

/* Where the cursor says this log must start: its record count in the same boot, else 0. */
static bool continues_boot(const struct vigil_cursor *c, const TPMS_ATTEST *a)
{
	return c && c->valid && a->clockInfo.resetCount == c->clock.reset_count;
}

static const uint8_t *cursor_value(const struct vigil_cursor *c, uint16_t alg)
{
	for (uint32_t i = 0; i < c->bank_count && i < VIGIL_BANKS_MAX; i++)
		if (c->banks[i].alg == alg)
			return c->banks[i].value;
	return NULL;
}

/* Replay exactly @covered records of another bank from @start; does it reach @quoted? */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the log, then vigil_replay()'s order */
static int bank_agrees(const struct vigil_log *log, size_t covered, uint16_t alg, uint32_t pcr,
		       const uint8_t *start, const struct vigil_pcr_value *quoted, bool *ret)
{
	static const enum vigil_replay_mode modes[] = { VIGIL_REPLAY_BANK_HASH,
							VIGIL_REPLAY_PADDED_SHA1 };
	struct vigil_log view = *log;
	int r = 0;

	view.count = covered;
	*ret = false;
	for (size_t m = 0; r == 0 && !*ret && m < (alg == TPM2_ALG_SHA1 ? 1u : 2u); m++) {
		struct vigil_replay_result res;

		r = vigil_replay_ex(&view, alg, pcr, 0, start, modes[m], &res);
		*ret = r == 0 && res.size == quoted->size &&
		       !CRYPTO_memcmp(res.value, quoted->digest, res.size);
	}
	return r;
}

/*
 * Replay every quoted bank of the log's PCR from the cursor's running value (all zeros from
 * record 0): the log's own bank finds the prefix the quote covers, the others must agree.
 * The cursor after it is built in @next.
 */
static int replay_banks(const struct vigil_attest_input *in, const struct vigil_log *log,
			const struct vigil_cursor *c, const TPMS_ATTEST *a, struct vigil_verdict *v,
			struct vigil_cursor *next)
{
	const TPML_PCR_SELECTION *sel = &a->attested.quote.pcrSelect;
	const struct vigil_pcr_value *own =
		vigil_pcr_values_get(in->quote.pcrs, in->log_bank, in->log_pcr);
	size_t covered = 0;
	int r;

	if (!own)
		return -EINVAL; /* the pcr_digest check made sure every quoted PCR has a value */
	r = vigil_replay_match_from(log, in->log_bank, in->log_pcr,
				    in->log_from ? cursor_value(c, in->log_bank) : NULL,
				    own->digest, own->size, &covered, NULL);
	if (r < 0 && r != -ENODATA)
		return r;
	if (r != VIGIL_REPLAY_MATCH) {
		vigil_verdict_fail(
			v, VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_MISMATCH,
			"no prefix of the log replays from the cursor to the quoted value");
		return 0;
	}
	for (uint32_t i = 0; i < sel->count && next->bank_count < VIGIL_BANKS_MAX; i++) {
		uint16_t alg = sel->pcrSelections[i].hash;
		const struct vigil_pcr_value *q =
			vigil_pcr_values_get(in->quote.pcrs, alg, in->log_pcr);
		const uint8_t *start = in->log_from ? cursor_value(c, alg) : NULL;
		bool agrees = true;

		if (!q)
			continue; /* this bank does not select the log's PCR */
		if (in->log_from && !start)
			agrees = false; /* a bank the cursor has no running value for */
		else if (alg != in->log_bank)
			r = bank_agrees(log, covered, alg, in->log_pcr, start, q, &agrees);
		if (r < 0)
			return r;
		if (!agrees) {
			vigil_verdict_fail(
				v, VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_MISMATCH,
				"the log does not replay to the quoted value of every bank");
			return 0;
		}
		next->banks[next->bank_count].alg = alg;
		next->banks[next->bank_count].size = q->size;
		memcpy(next->banks[next->bank_count++].value, q->digest, q->size);
	}
	v->records_covered = in->log_from + covered;
	next->next = v->records_covered;
	vigil_verdict_pass(v, VIGIL_CHECK_LOG);
	return 0;
}

/* Step 6b for a continued log: it must start where the cursor is, in the same boot. */
static int check_continued_log(const struct vigil_attest_input *in, const struct vigil_cursor *c,
			       const TPMS_ATTEST *a, struct vigil_verdict *v,
			       struct vigil_log **ret_log, struct vigil_cursor *next)
{
	const struct vigil_log_options opts = { .flags = VIGIL_LOG_ALLOW_EMPTY };
	struct vigil_log *log = NULL;
	int r;

	if (in->log_from && !continues_boot(c, a)) {
		vigil_verdict_fail(v, VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_CURSOR,
				   c && c->valid ?
					   "the TPM was reset (a reboot): the log must start "
					   "at record 0" :
					   "the verifier has no cursor: the log must start "
					   "at record 0");
		return 0;
	}
	if (in->log_from && in->log_from != c->next) {
		snprintf(v->detail_text, sizeof(v->detail_text),
			 "the log starts at record %llu, the verifier's cursor is at %llu",
			 (unsigned long long)in->log_from, (unsigned long long)c->next);
		vigil_verdict_fail(v, VIGIL_CHECK_LOG, VIGIL_REJECT_LOG_CURSOR, v->detail_text);
		return 0;
	}
	r = vigil_log_parse(in->log ? in->log : (const uint8_t *)"", in->log_len, &opts, &log,
			    NULL);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		log_parse_failed(v, r);
		return 0;
	}
	*ret_log = log;
	v->log_records = in->log_from + log->count;
	return replay_banks(in, log, c, a, v, next);
}

/**
 * vigil_attest_continue() - verify a quote and the part of a boot's log it adds to what a
 * verifier has verified before (the fleet verifier's incremental attestation)
 * @in: as for vigil_attest_verify(), with claimed PCR values (@in->quote.pcrs) and a log
 *	starting at record @in->log_from (no log: no new records); @in->quote.prev is ignored
 * @cursor: the device's cursor from the last accepted attestation, or NULL for none
 * @verdict: receives every check; finished on return 0; release with vigil_verdict_release()
 * @ret_next: on an accepted verdict, the cursor after this attestation
 *
 * The quote is checked as by vigil_attest_verify(), its clock against the cursor's (reset
 * and restart counts, clock). A log from record 0 is verified whole (a new device, a reboot,
 * a new policy: always acceptable). A log from record N > 0 must continue the cursor: the
 * same TPM reset count (boot) and N == @cursor->next, else it is rejected with log_cursor;
 * it is replayed from the cursor's running value of every quoted bank of the log's PCR, the
 * policy appraises only its covered records (named by their index in the boot's log), and
 * the boot_aggregate is only ever record 0. A rejected verdict does not move the cursor, so a
 * record the policy refused is refused again at every attestation until a reboot or a policy
 * that allows it: a device does not become trusted again by running nothing new.
 *
 * Return: 0 when the outcome is in @verdict; a negative errno when it could not be checked.
 */
int vigil_attest_continue(const struct vigil_attest_input *in, const struct vigil_cursor *cursor,
			  struct vigil_verdict *verdict, struct vigil_cursor *ret_next)
{
	_cleanup_(vigil_log_freep) struct vigil_log *log = NULL;
	struct vigil_attest_input q = *in;
	struct vigil_cursor next = { .valid = true };
	TPMS_ATTEST a;
	int r;

	if (!in->quote.pcrs)
		return -EINVAL;
	q.quote.prev = cursor && (cursor->clock.clock || cursor->clock.reset_count ||
				  cursor->clock.restart_count) ?
			       &cursor->clock :
			       NULL;
	vigil_verdict_init(verdict);
	r = vigil_quote_verify(&q.quote, verdict, &a);
	if (r == 0 && verdict->reason == VIGIL_REJECT_NONE)
		r = check_continued_log(&q, cursor, &a, verdict, &log, &next);
	if (r == 0 && verdict->reason == VIGIL_REJECT_NONE)
		r = check_policy(&q, log, q.log_from, verdict);
	if (r < 0)
		return r;
	vigil_verdict_finish(verdict);
	if (verdict->accepted) {
		next.clock = verdict->clock;
		*ret_next = next;
	}
	return 0;
}
