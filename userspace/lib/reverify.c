// SPDX-License-Identifier: MIT
/*
 * reverify.c: reach again, from archived bytes alone, the verdict `vigil verify` reached for an
 * evidence document, so an archive can be re-checked offline (vigil_archive_verify()).
 *
 * The inputs are what `vigil verify EVIDENCE.json --ak --nonce [--policy --trust --state]` used:
 * the verifier's state enters as two values (the AK's last accepted clock, the highest policy
 * version accepted before), and the clock as the verification time a policy's validity window
 * is checked against. The order of the checks is vigil_attest_verify()'s; the policy's own
 * checks (size, envelope, signature, document, validity, version) come first, as in the command.
 *
 * Invariants: deterministic: the same inputs give the same verdict, byte for byte once
 * formatted (vigil_verdict_to_json()); the verifier's own inputs (AK, trust keys, selection)
 * must parse (-EINVAL otherwise), anything wrong with the evidence or the policy is a verdict.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "attest.h"
#include "cleanup.h"
#include "compliance.h"
#include "policy.h"

/* The policy's own verdicts, as the verifier's reject reasons, and what they mean. */
static const struct {
	enum vigil_reject reason;
	const char *detail;
} policy_rejects[] = {
	[VIGIL_POLICY_TOO_LARGE] = { VIGIL_REJECT_POLICY_TOO_LARGE, "larger than vigil accepts" },
	[VIGIL_POLICY_BAD_ENVELOPE] = { VIGIL_REJECT_POLICY_BAD_ENVELOPE, "not a DSSE envelope" },
	[VIGIL_POLICY_WRONG_TYPE] = { VIGIL_REJECT_POLICY_WRONG_TYPE,
				      "payloadType is not " VIGIL_POLICY_PAYLOAD_TYPE },
	[VIGIL_POLICY_UNTRUSTED] = { VIGIL_REJECT_POLICY_UNTRUSTED,
				     "no signature verifies under a trusted key" },
	[VIGIL_POLICY_BAD_FORMAT] = { VIGIL_REJECT_POLICY_BAD_FORMAT, "not a vigil policy" },
	[VIGIL_POLICY_EXPIRED] = { VIGIL_REJECT_POLICY_EXPIRED, "its valid_until is past" },
};

/**
 * vigil_policy_reject_of() - a vigil_policy_load_signed() verdict as a verifier reject reason
 * @policy_verdict: enum vigil_policy_verdict, not VIGIL_POLICY_LOADED
 * @detail: receives a static elaboration
 *
 * Return: the VIGIL_REJECT_POLICY_* reason; policy_bad_format for values outside the enum.
 */
enum vigil_reject vigil_policy_reject_of(int policy_verdict, const char **detail)
{
	if (policy_verdict <= 0 ||
	    (size_t)policy_verdict >= sizeof(policy_rejects) / sizeof(policy_rejects[0]))
		policy_verdict = VIGIL_POLICY_BAD_FORMAT;
	*detail = policy_rejects[policy_verdict].detail;
	return policy_rejects[policy_verdict].reason;
}

/* Everything one re-verification owns. */
struct reverify {
	EVP_PKEY *ak;
	EVP_PKEY *trust[VIGIL_ARCHIVE_TRUST_MAX];
	TPML_PCR_SELECTION selection;
	struct vigil_evidence *ev;
	struct vigil_policy *policy;
	uint8_t policy_keyid[VIGIL_SIGKEY_ID_SIZE];
	enum vigil_reject policy_reject;
	char policy_detail[sizeof(((struct vigil_verdict *)0)->detail_text)];
};

static void reverify_release(struct reverify *rv)
{
	EVP_PKEY_free(rv->ak);
	for (size_t i = 0; i < VIGIL_ARCHIVE_TRUST_MAX; i++)
		EVP_PKEY_free(rv->trust[i]);
	vigil_evidence_free(rv->ev);
	vigil_policy_free(rv->policy);
}

/* The verifier's own inputs: they were accepted once, so they must parse. */
static int load_verifier_inputs(const struct vigil_reverify_input *in, struct reverify *rv)
{
	int r;

	if (in->ntrust > VIGIL_ARCHIVE_TRUST_MAX || !in->selection || (in->policy && !in->ntrust))
		return -EINVAL;
	r = vigil_ak_pem_parse(in->ak_pem, in->ak_pem_len, &rv->ak);
	if (r == 0)
		r = vigil_pcrsel_parse(in->selection, &rv->selection);
	for (size_t i = 0; r == 0 && i < in->ntrust; i++)
		r = vigil_sigkey_load_public(in->trust[i], in->trust_len[i], &rv->trust[i]);
	return r == -ENOMEM ? r : r < 0 ? -EINVAL : 0;
}

/* The signed policy: signature, validity at @in->now, version against the floor. */
static int load_policy(const struct vigil_reverify_input *in, struct reverify *rv)
{
	struct vigil_policy_error err = { 0 };
	const struct vigil_policy_info *info;
	const char *detail;
	size_t key = 0;
	int r;

	if (!in->policy)
		return 0;
	r = in->policy_len > VIGIL_POLICY_ENVELOPE_MAX ?
		    VIGIL_POLICY_TOO_LARGE :
		    vigil_policy_load_signed((const char *)in->policy, in->policy_len, rv->trust,
					     in->ntrust, in->now, &rv->policy, &key, &err);
	if (r < 0)
		return r;
	if (r > 0) {
		rv->policy_reject = vigil_policy_reject_of(r, &detail);
		if (r == VIGIL_POLICY_BAD_FORMAT)
			snprintf(rv->policy_detail, sizeof(rv->policy_detail), "line %zu: %s",
				 err.line, err.what);
		else
			snprintf(rv->policy_detail, sizeof(rv->policy_detail), "%s", detail);
		return 0;
	}
	r = vigil_sigkey_id(rv->trust[key], rv->policy_keyid);
	if (r < 0)
		return r;
	info = vigil_policy_info(rv->policy);
	if (info->version < in->policy_floor) {
		rv->policy_reject = VIGIL_REJECT_POLICY_ROLLBACK;
		snprintf(rv->policy_detail, sizeof(rv->policy_detail),
			 "policy %s version %llu is older than version %llu, accepted before",
			 info->name, (unsigned long long)info->version,
			 (unsigned long long)in->policy_floor);
	}
	return 0;
}

/* Evidence that does not even parse: the format check fails, as in `vigil verify`. */
static int reject_format(struct reverify *rv, const char *detail, struct vigil_verdict *v)
{
	int r;

	vigil_verdict_init(v);
	r = vigil_ak_keyid(rv->ak, v->ak_keyid);
	if (r < 0)
		return r;
	vigil_verdict_fail(v, VIGIL_CHECK_FORMAT, VIGIL_REJECT_BAD_FORMAT, detail);
	vigil_verdict_finish(v);
	return 0;
}

/**
 * vigil_reverify() - the verdict `vigil verify` reaches for an archived evidence document
 * @in: the archived inputs (struct vigil_reverify_input)
 * @ret: the verdict; its @detail points into @ret->detail_text when it is not static, so it
 *	must not be copied by value; release with vigil_verdict_release()
 *
 * Return: 0 with the outcome in @ret; -EINVAL when the verifier's own inputs do not parse;
 * -ENOMEM.
 */
int vigil_reverify(const struct vigil_reverify_input *in, struct vigil_verdict *ret)
{
	_cleanup_(reverify_release) struct reverify rv = { 0 };
	struct vigil_attest_input a = { 0 };
	int r;

	r = load_verifier_inputs(in, &rv);
	if (r == 0)
		r = load_policy(in, &rv);
	if (r < 0)
		return r;
	if (in->evidence_len > VIGIL_EVIDENCE_MAX)
		return reject_format(&rv, "an input is larger than vigil accepts", ret);
	r = vigil_evidence_parse((const char *)in->evidence, in->evidence_len, &rv.ev);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return reject_format(&rv, "not a vigil evidence document", ret);
	a = (struct vigil_attest_input){
		.quote = { .attest = rv.ev->attest,
			   .attest_len = rv.ev->attest_len,
			   .sig = rv.ev->sig,
			   .sig_len = rv.ev->sig_len,
			   .ak = rv.ak,
			   .ak_public = &rv.ev->ak_public,
			   .nonce = in->nonce,
			   .nonce_len = in->nonce_len,
			   .selection = &rv.selection,
			   .pcrs = &rv.ev->pcrs,
			   .prev = in->prev },
		.log = rv.ev->log,
		.log_len = rv.ev->log_len,
		.log_from = rv.ev->log_from,
		.log_bank = in->bank,
		.log_pcr = in->pcr,
		.policy = rv.policy,
		.policy_reject = rv.policy_reject,
		.policy_detail = rv.policy_reject ? rv.policy_detail : NULL,
		.policy_keyid = rv.policy_keyid,
	};
	r = vigil_attest_verify(&a, ret);
	if (r == 0 && ret->detail == rv.policy_detail) {
		memcpy(ret->detail_text, rv.policy_detail, sizeof(ret->detail_text));
		ret->detail = ret->detail_text;
	}
	return r;
}
