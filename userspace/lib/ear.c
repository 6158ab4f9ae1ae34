// SPDX-License-Identifier: MIT
/*
 * ear.c: EAT Attestation Results (EAR): the claims a verdict maps to, signed as an ES256 JWT
 * (lib/jws.c), and the reader that checks such a JWT and its claims.
 *
 * An EAR has two submodules: "boot" (the platform: the quote's key, the boot_aggregate and
 * golden PCRs) and "runtime" (vigil's measurement log against the signed policy). Each has a
 * status and an AR4SI trustworthiness vector; the mapping from a verdict is the table in
 * docs/ear-format.md, implemented by vigil_ear_from_verdict() and nothing else. Two namings
 * are written and read: Veraison's ("ear.status", the default) and draft-ietf-rats-ear-03's
 * ("ear_status"), told apart by "eat_profile". vigil's own extension, the record failures of
 * the verdict, goes into the runtime submodule under VIGIL_EAR_FINDINGS_CLAIM; it is for
 * people and is not part of struct vigil_ear.
 *
 * Invariants: a submodule's status is never better than its worst claim, in what is written
 * and in what is accepted; the writer refuses what the reader would refuse; the reader takes
 * one strict JSON object (no duplicate names), requires every claim struct vigil_ear holds in
 * the naming of its profile and none in the other naming, ignores claims it does not know,
 * and refuses trust-vector claims and submodules it does not know (ignoring those could hide
 * a worse appraisal). Out-parameters are written only on success.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>
#include <openssl/evp.h>

#include "cleanup.h"
#include "compliance.h"
#include "policy.h"
#include "policy_internal.h"
#include "uapi/vigil.h"

/* What ear.verifier-id says: the project, and the build of the library that wrote the EAR
 * (VIGIL_VERSION comes from kernel/uapi/vigil.h, which the command and the module share). */
#define EAR_DEVELOPER "https://github.com/vigil-attest/vigil"
#define EAR_BUILD "vigil " VIGIL_VERSION

/* The findings are for people; they may not crowd the JWT past VIGIL_JWS_MAX. The rest are
 * counted in FINDINGS_OMITTED. */
#define FINDINGS_BUDGET ((size_t)256 << 10)
#define FINDINGS_OMITTED "urn:vigil:ear:findings-omitted"

/* AR4SI values vigil writes (draft-ietf-rats-ar4si §2.3). */
enum {
	TV_APPROVED = 2, /* recognized instance, approved config / runtime / files */
	TV_APPROVED_BOOT = 3, /* executables: only approved objects during boot */
	TV_UNSAFE = 32, /* configuration: unsafe; file-system: unrecognized files */
	TV_UNRECOGNIZED = 33, /* executables: unrecognized objects at runtime */
	TV_CONTRAINDICATED = 96, /* configuration / executables: contraindicated (denied) */
	TV_CRYPTO_FAILED = 99, /* the evidence's cryptographic validation failed */
};

static const char *const claim_names[VIGIL_TV_COUNT] = {
	[VIGIL_TV_INSTANCE_IDENTITY] = "instance-identity",
	[VIGIL_TV_CONFIGURATION] = "configuration",
	[VIGIL_TV_EXECUTABLES] = "executables",
	[VIGIL_TV_FILE_SYSTEM] = "file-system",
	[VIGIL_TV_HARDWARE] = "hardware",
	[VIGIL_TV_RUNTIME_OPAQUE] = "runtime-opaque",
	[VIGIL_TV_STORAGE_OPAQUE] = "storage-opaque",
	[VIGIL_TV_SOURCED_DATA] = "sourced-data",
};

static const char *const submod_names[VIGIL_SUBMOD_COUNT] = {
	[VIGIL_SUBMOD_BOOT] = "boot",
	[VIGIL_SUBMOD_RUNTIME] = "runtime",
};

/* The claim names of one profile. */
struct naming {
	const char *profile;
	const char *verifier_id;
	const char *status;
	const char *vector;
	const char *policy_id;
};

static const struct naming namings[] = {
	[VIGIL_EAR_VERAISON] = { VIGIL_EAR_PROFILE_VERAISON, "ear.verifier-id", "ear.status",
				 "ear.trustworthiness-vector", "ear.appraisal-policy-id" },
	[VIGIL_EAR_IETF] = { VIGIL_EAR_PROFILE_IETF, "ear_verifier_id", "ear_status",
			     "ear_trustworthiness_vector", "ear_appraisal_policy_ids" },
};

/* ---- names and tiers ---- */

/**
 * vigil_ear_claim_name() - a trust-vector claim's name, as both namings write it
 * @c: the claim
 *
 * Return: e.g. "instance-identity"; "unknown" outside the enum.
 */
const char *vigil_ear_claim_name(enum vigil_ear_claim c)
{
	return (unsigned int)c < VIGIL_TV_COUNT ? claim_names[c] : "unknown";
}

/**
 * vigil_ear_submod_name() - a submodule's label
 * @s: the submodule
 *
 * Return: "boot" or "runtime"; "unknown" outside the enum.
 */
const char *vigil_ear_submod_name(enum vigil_ear_submod s)
{
	return (unsigned int)s < VIGIL_SUBMOD_COUNT ? submod_names[s] : "unknown";
}

/**
 * vigil_ear_tier_name() - the status string of a tier
 * @t: the tier
 *
 * Return: "none", "affirming", "warning" or "contraindicated"; "unknown" for another value.
 */
const char *vigil_ear_tier_name(enum vigil_ear_tier t)
{
	switch (t) {
	case VIGIL_TIER_NONE:
		return "none";
	case VIGIL_TIER_AFFIRMING:
		return "affirming";
	case VIGIL_TIER_WARNING:
		return "warning";
	case VIGIL_TIER_CONTRAINDICATED:
		return "contraindicated";
	default:
		return "unknown";
	}
}

/**
 * vigil_ear_verdict_name() - the stable name of an EAR verdict
 * @v: the verdict
 *
 * Return: "valid", "bad_format", "bad_alg", "untrusted" or "bad_claims"; "unknown" outside
 * the enum.
 */
const char *vigil_ear_verdict_name(enum vigil_ear_verdict v)
{
	static const char *const names[] = {
		[VIGIL_EAR_VALID] = "valid",	       [VIGIL_EAR_BAD_FORMAT] = "bad_format",
		[VIGIL_EAR_BAD_ALG] = "bad_alg",       [VIGIL_EAR_UNTRUSTED] = "untrusted",
		[VIGIL_EAR_BAD_CLAIMS] = "bad_claims",
	};

	return (unsigned int)v < sizeof(names) / sizeof(names[0]) ? names[v] : "unknown";
}

/**
 * vigil_ear_tier_of() - the AR4SI tier of a trustworthiness claim's value
 * @value: the value, -128..127
 *
 * Standard values: 0, 1 none; 2..31 affirming; 32..95 warning; 96..127 contraindicated.
 * Vendor values mirror them below zero: -1 none; -2..-32 affirming; -33..-96 warning;
 * -97..-128 contraindicated.
 *
 * Return: the tier.
 */
enum vigil_ear_tier vigil_ear_tier_of(int8_t value)
{
	if (value >= 96 || value <= -97)
		return VIGIL_TIER_CONTRAINDICATED;
	if (value >= 32 || value <= -33)
		return VIGIL_TIER_WARNING;
	if (value >= 2 || value <= -2)
		return VIGIL_TIER_AFFIRMING;
	return VIGIL_TIER_NONE;
}

/* The worse of two values: the higher tier; within one tier, the larger value. */
static int8_t worse(int8_t a, int8_t b)
{
	enum vigil_ear_tier ta = vigil_ear_tier_of(a), tb = vigil_ear_tier_of(b);

	if (ta != tb) {
		if (ta > tb)
			return a;
		return b;
	}
	if (a > b)
		return a;
	return b;
}

static void set_claim(struct vigil_ear_appraisal *a, enum vigil_ear_claim c, int8_t v)
{
	if (a->has[c])
		v = worse(a->tv[c], v);
	a->tv[c] = v;
	a->has[c] = true;
}

/* The tier of the worst claim present; none without claims. */
static enum vigil_ear_tier worst_tier(const struct vigil_ear_appraisal *a)
{
	enum vigil_ear_tier t = VIGIL_TIER_NONE;

	for (size_t c = 0; c < VIGIL_TV_COUNT; c++)
		if (a->has[c] && vigil_ear_tier_of(a->tv[c]) > t)
			t = vigil_ear_tier_of(a->tv[c]);
	return t;
}

static bool tier_valid(enum vigil_ear_tier t)
{
	return t == VIGIL_TIER_NONE || t == VIGIL_TIER_AFFIRMING || t == VIGIL_TIER_WARNING ||
	       t == VIGIL_TIER_CONTRAINDICATED;
}

/* ---- from a verdict ---- */

/* Reasons that say the evidence itself is not authentic, fresh or consistent. */
static bool evidence_rejected(enum vigil_reject r)
{
	switch (r) {
	case VIGIL_REJECT_BAD_FORMAT:
	case VIGIL_REJECT_BAD_MAGIC:
	case VIGIL_REJECT_NOT_A_QUOTE:
	case VIGIL_REJECT_AK_MISMATCH:
	case VIGIL_REJECT_AK_NOT_RESTRICTED:
	case VIGIL_REJECT_SCHEME_MISMATCH:
	case VIGIL_REJECT_BAD_SIGNATURE:
	case VIGIL_REJECT_NONCE_MISMATCH:
	case VIGIL_REJECT_CLOCK_UNSAFE:
	case VIGIL_REJECT_CLOCK_ROLLBACK:
	case VIGIL_REJECT_RESET_ROLLBACK:
	case VIGIL_REJECT_RESTART_ROLLBACK:
	case VIGIL_REJECT_PCR_SELECTION_MISMATCH:
	case VIGIL_REJECT_PCR_VALUES_MISSING:
	case VIGIL_REJECT_PCR_DIGEST_MISMATCH:
	case VIGIL_REJECT_LOG_MISMATCH:
	case VIGIL_REJECT_LOG_TRUNCATED:
	case VIGIL_REJECT_LOG_BAD_FORMAT:
	case VIGIL_REJECT_LOG_CURSOR:
		return true;
	default:
		return false;
	}
}

/* Reasons that say the policy given could not be used: nothing was appraised with it. */
static bool policy_unusable(enum vigil_reject r)
{
	switch (r) {
	case VIGIL_REJECT_POLICY_TOO_LARGE:
	case VIGIL_REJECT_POLICY_BAD_ENVELOPE:
	case VIGIL_REJECT_POLICY_WRONG_TYPE:
	case VIGIL_REJECT_POLICY_UNTRUSTED:
	case VIGIL_REJECT_POLICY_BAD_FORMAT:
	case VIGIL_REJECT_POLICY_EXPIRED:
	case VIGIL_REJECT_POLICY_ROLLBACK:
	case VIGIL_REJECT_POLICY_NO_LOG:
		return true;
	default:
		return false;
	}
}

/* One record the policy did not allow: FILE_CHECK records are configuration files. */
static void runtime_failure(struct vigil_ear_appraisal *a, const struct vigil_record_failure *f)
{
	bool config = f->hook == VIGIL_HOOK_FILE_CHECK;
	enum vigil_ear_claim c = config ? VIGIL_TV_CONFIGURATION : VIGIL_TV_EXECUTABLES;

	if (f->warning)
		return;
	switch (f->reason) {
	case VIGIL_RECORD_DENIED:
		set_claim(a, c, TV_CONTRAINDICATED);
		break;
	case VIGIL_RECORD_NOT_IN_POLICY:
	case VIGIL_RECORD_DIGEST_MISMATCH:
	case VIGIL_RECORD_HASH_ALG_MISMATCH:
	case VIGIL_RECORD_UNREADABLE:
		set_claim(a, c, config ? TV_UNSAFE : TV_UNRECOGNIZED);
		break;
	case VIGIL_RECORD_VIOLATION:
		set_claim(a, VIGIL_TV_FILE_SYSTEM, TV_UNSAFE);
		break;
	}
}

/* Whether the runtime submodule was appraised against a policy. */
static bool runtime_appraised(const struct vigil_verdict *v)
{
	return !evidence_rejected(v->reason) && v->policy_applied && !policy_unusable(v->reason);
}

static void appraise(const struct vigil_verdict *v, struct vigil_ear *e)
{
	struct vigil_ear_appraisal *boot = &e->submods[VIGIL_SUBMOD_BOOT];
	struct vigil_ear_appraisal *rt = &e->submods[VIGIL_SUBMOD_RUNTIME];
	bool boot_failed = v->reason == VIGIL_REJECT_BOOT_AGGREGATE_MISMATCH ||
			   v->reason == VIGIL_REJECT_PCR_GOLDEN_MISMATCH;

	if (evidence_rejected(v->reason)) {
		set_claim(boot, VIGIL_TV_INSTANCE_IDENTITY, TV_CRYPTO_FAILED);
		set_claim(boot, VIGIL_TV_HARDWARE, TV_CRYPTO_FAILED);
		set_claim(rt, VIGIL_TV_EXECUTABLES, TV_CRYPTO_FAILED);
		set_claim(rt, VIGIL_TV_CONFIGURATION, TV_CRYPTO_FAILED);
		set_claim(rt, VIGIL_TV_FILE_SYSTEM, TV_CRYPTO_FAILED);
		return;
	}
	set_claim(boot, VIGIL_TV_INSTANCE_IDENTITY, TV_APPROVED); /* the verifier pinned the AK */
	if (v->boot_appraised)
		set_claim(boot, VIGIL_TV_EXECUTABLES,
			  boot_failed ? TV_UNRECOGNIZED : TV_APPROVED_BOOT);
	if (!runtime_appraised(v))
		return;
	set_claim(rt, VIGIL_TV_EXECUTABLES, TV_APPROVED);
	set_claim(rt, VIGIL_TV_CONFIGURATION, TV_APPROVED);
	set_claim(rt, VIGIL_TV_FILE_SYSTEM, TV_APPROVED);
	for (size_t i = 0; i < v->failure_count; i++)
		runtime_failure(rt, &v->failures[i]);
}

/**
 * vigil_ear_from_verdict() - the attestation result for a verdict
 * @v: a finished verdict
 * @profile: the claim naming to sign with later
 * @nonce: the verifier's nonce
 * @nonce_len: its length: 0 (none) or VIGIL_NONCE_MIN..VIGIL_NONCE_MAX
 * @policy_id: the appraisal policy's id (vigil_ear_policy_id()), or NULL when none applied;
 *	kept only when the policy was applied (the runtime submodule was appraised with it)
 * @iat: issued-at, seconds since the epoch, >= 0
 * @ret: on success, the result; "ear.verifier-id" is this library's
 *
 * The mapping is the table of docs/ear-format.md; each status is the tier of its
 * submodule's worst claim.
 *
 * Return: 0, -EINVAL (a bad @profile, @nonce_len or @iat) or -ENAMETOOLONG (@policy_id does
 * not fit VIGIL_EAR_POLICY_ID_MAX).
 */
int vigil_ear_from_verdict(const struct vigil_verdict *v, enum vigil_ear_profile profile,
			   const uint8_t *nonce, size_t nonce_len, const char *policy_id,
			   int64_t iat, struct vigil_ear *ret)
{
	struct vigil_ear e = { .profile = profile, .iat = iat, .nonce_len = nonce_len };

	if ((unsigned int)profile > VIGIL_EAR_IETF || iat < 0 ||
	    (nonce_len && (nonce_len < VIGIL_NONCE_MIN || nonce_len > VIGIL_NONCE_MAX)))
		return -EINVAL;
	if (policy_id && strlen(policy_id) >= sizeof(e.policy_id))
		return -ENAMETOOLONG;
	if (nonce_len)
		memcpy(e.nonce, nonce, nonce_len);
	snprintf(e.developer, sizeof(e.developer), "%s", EAR_DEVELOPER);
	snprintf(e.build, sizeof(e.build), "%s", EAR_BUILD);
	appraise(v, &e);
	if (policy_id && runtime_appraised(v))
		snprintf(e.policy_id, sizeof(e.policy_id), "%s", policy_id);
	for (size_t s = 0; s < VIGIL_SUBMOD_COUNT; s++)
		e.submods[s].status = worst_tier(&e.submods[s]);
	*ret = e;
	return 0;
}

/**
 * vigil_ear_policy_id() - the appraisal policy id of a signed policy
 * @name: the policy's name (1..VIGIL_POLICY_NAME_MAX bytes of [A-Za-z0-9._-])
 * @version: its version
 * @envelope: the signed policy (DSSE envelope) as stored
 * @len: its length
 * @buf: receives "urn:vigil:policy:NAME:VERSION#sha256=HEX", HEX the envelope's SHA-256
 * @size: room in @buf (VIGIL_EAR_POLICY_ID_MAX is always enough)
 *
 * Return: 0, -EINVAL for a bad @name, -ENOSPC, or -EIO.
 */
int vigil_ear_policy_id(const char *name, uint64_t version, const uint8_t *envelope, size_t len,
			char *buf, size_t size)
{
	uint8_t digest[32];
	char hex[2 * sizeof(digest) + 1];
	unsigned int n = 0;
	int w;

	if (!vigil_policy_name_valid(name, strlen(name)))
		return -EINVAL;
	if (EVP_Digest(envelope, len, digest, &n, EVP_sha256(), NULL) != 1 || n != sizeof(digest))
		return -EIO;
	vigil_hex_encode(digest, sizeof(digest), hex, sizeof(hex));
	w = snprintf(buf, size, "urn:vigil:policy:%s:%llu#sha256=%s", name,
		     (unsigned long long)version, hex);
	return w > 0 && (size_t)w < size ? 0 : -ENOSPC;
}

/**
 * vigil_ear_equal() - whether two results hold the same claims
 * @a: one
 * @b: the other
 *
 * Every field counts: profile, iat, nonce, verifier id, policy id, and per submodule the
 * status and each claim present (and which are present).
 *
 * Return: true if equal.
 */
bool vigil_ear_equal(const struct vigil_ear *a, const struct vigil_ear *b)
{
	if (a->profile != b->profile || a->iat != b->iat || a->nonce_len != b->nonce_len ||
	    a->nonce_len > VIGIL_NONCE_MAX || memcmp(a->nonce, b->nonce, a->nonce_len) != 0 ||
	    strncmp(a->developer, b->developer, sizeof(a->developer)) != 0 ||
	    strncmp(a->build, b->build, sizeof(a->build)) != 0 ||
	    strncmp(a->policy_id, b->policy_id, sizeof(a->policy_id)) != 0)
		return false;
	for (size_t s = 0; s < VIGIL_SUBMOD_COUNT; s++) {
		const struct vigil_ear_appraisal *x = &a->submods[s], *y = &b->submods[s];

		if (x->status != y->status)
			return false;
		for (size_t c = 0; c < VIGIL_TV_COUNT; c++)
			if (x->has[c] != y->has[c] || (x->has[c] && x->tv[c] != y->tv[c]))
				return false;
	}
	return true;
}

/* ---- writing ---- */

static struct json_object *finding_json(const struct vigil_record_failure *f)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();

	if (!o || f->digest_len > sizeof(f->digest) || vigil_failure_to_json(f, false, o) < 0)
		return NULL;
	return TAKE_PTR(o);
}

/* The verdict's record failures, in log order, as many as FINDINGS_BUDGET allows. */
static int add_findings(struct json_object *sub, const struct vigil_verdict *v)
{
	struct json_object *arr = json_object_new_array();
	size_t used = 0, i;
	int r = vigil_json_add(sub, VIGIL_EAR_FINDINGS_CLAIM, arr);

	for (i = 0; r == 0 && i < v->failure_count; i++) {
		struct json_object *f = finding_json(&v->failures[i]);
		const char *text = f ? json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN) :
				       NULL;

		if (!text) {
			json_object_put(f);
			return -ENOMEM;
		}
		used += strlen(text) + 1;
		if (used > FINDINGS_BUDGET) {
			json_object_put(f);
			break;
		}
		if (json_object_array_add(arr, f) < 0) {
			json_object_put(f);
			return -ENOMEM;
		}
	}
	if (r == 0 && i < v->failure_count)
		r = vigil_json_add(sub, FINDINGS_OMITTED,
				   json_object_new_uint64(v->failure_count - i));
	return r;
}

static struct json_object *vector_json(const struct vigil_ear_appraisal *a)
{
	struct json_object *o = json_object_new_object();

	for (size_t c = 0; o && c < VIGIL_TV_COUNT; c++)
		if (a->has[c] &&
		    vigil_json_add(o, claim_names[c], json_object_new_int(a->tv[c])) < 0) {
			json_object_put(o);
			return NULL;
		}
	return o;
}

static int policy_id_add(struct json_object *sub, const struct naming *n, const char *id)
{
	struct json_object *arr;

	if (n == &namings[VIGIL_EAR_VERAISON])
		return vigil_json_add(sub, n->policy_id, json_object_new_string(id));
	arr = json_object_new_array();
	if (arr && json_object_array_add(arr, json_object_new_string(id)) < 0) {
		json_object_put(arr);
		arr = NULL;
	}
	return vigil_json_add(sub, n->policy_id, arr);
}

static struct json_object *submod_json(const struct vigil_ear *ear, enum vigil_ear_submod s,
				       const struct vigil_verdict *v)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	const struct naming *n = &namings[ear->profile];
	const struct vigil_ear_appraisal *a = &ear->submods[s];
	int r = o ? 0 : -ENOMEM;

	if (r == 0)
		r = vigil_json_add(o, n->status,
				   json_object_new_string(vigil_ear_tier_name(a->status)));
	if (r == 0)
		r = vigil_json_add(o, n->vector, vector_json(a));
	if (r == 0 && s == VIGIL_SUBMOD_RUNTIME && ear->policy_id[0])
		r = policy_id_add(o, n, ear->policy_id);
	if (r == 0 && s == VIGIL_SUBMOD_RUNTIME && v && v->failure_count)
		r = add_findings(o, v);
	return r == 0 ? TAKE_PTR(o) : NULL;
}

static struct json_object *verifier_json(const struct vigil_ear *ear)
{
	struct json_object *o = json_object_new_object();

	if (o && (vigil_json_add(o, "developer", json_object_new_string(ear->developer)) < 0 ||
		  vigil_json_add(o, "build", json_object_new_string(ear->build)) < 0)) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int claims_json(const struct vigil_ear *ear, const struct vigil_verdict *v,
		       struct json_object **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	_cleanup_free_ char *nonce = NULL;
	struct json_object *subs;
	int r;

	if (!o)
		return -ENOMEM;
	subs = json_object_new_object();
	r = vigil_json_add(o, "eat_profile", json_object_new_string(namings[ear->profile].profile));
	if (r == 0)
		r = vigil_json_add(o, "iat", json_object_new_int64(ear->iat));
	if (r == 0 && ear->nonce_len)
		r = vigil_base64url_encode(ear->nonce, ear->nonce_len, &nonce);
	if (r == 0 && nonce)
		r = vigil_json_add(o, "eat_nonce", json_object_new_string(nonce));
	if (r == 0)
		r = vigil_json_add(o, namings[ear->profile].verifier_id, verifier_json(ear));
	if (r == 0)
		r = vigil_json_add(o, "submods", subs);
	else
		json_object_put(subs);
	for (size_t s = 0; r == 0 && s < VIGIL_SUBMOD_COUNT; s++)
		r = vigil_json_add(subs, submod_names[s], submod_json(ear, s, v));
	if (r == 0)
		*ret = TAKE_PTR(o);
	return r;
}

/* Text the reader accepts: NUL-terminated within @size, valid UTF-8, non-empty unless
 * @empty_ok. */
static bool text_ok(const char *s, size_t size, bool empty_ok)
{
	size_t n = strnlen(s, size);

	return n < size && (n || empty_ok) && vigil_utf8_valid(s, n);
}

/* What the reader would refuse is not written either. */
static bool writable(const struct vigil_ear *ear)
{
	if ((unsigned int)ear->profile > VIGIL_EAR_IETF || ear->iat < 0 ||
	    (ear->nonce_len &&
	     (ear->nonce_len < VIGIL_NONCE_MIN || ear->nonce_len > VIGIL_NONCE_MAX)) ||
	    !text_ok(ear->developer, sizeof(ear->developer), false) ||
	    !text_ok(ear->build, sizeof(ear->build), false) ||
	    !text_ok(ear->policy_id, sizeof(ear->policy_id), true))
		return false;
	for (size_t s = 0; s < VIGIL_SUBMOD_COUNT; s++)
		if (!tier_valid(ear->submods[s].status) ||
		    ear->submods[s].status < worst_tier(&ear->submods[s]))
			return false;
	return true;
}

/**
 * vigil_ear_sign() - the attestation result as an ES256 JWT
 * @ear: the claims (vigil_ear_from_verdict())
 * @v: the verdict they came from, whose record failures go into VIGIL_EAR_FINDINGS_CLAIM of
 *	the runtime submodule (as many as fit 256 KiB; the number left out follows in
 *	"urn:vigil:ear:findings-omitted"), or NULL for none
 * @key: an ECDSA P-256 private key
 * @ret: on success, the compact JWS (typ "JWT"), NUL-terminated; free() it
 *
 * Return: 0; -EINVAL for claims vigil_ear_verify() would refuse (a status better than its
 * claims, text that is empty, unterminated or not UTF-8, ...); vigil_jws_sign()'s errors.
 */
int vigil_ear_sign(const struct vigil_ear *ear, const struct vigil_verdict *v, EVP_PKEY *key,
		   char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	const char *text;
	int r;

	if (!writable(ear))
		return -EINVAL;
	r = claims_json(ear, v, &o);
	if (r < 0)
		return r;
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
	if (!text)
		return -ENOMEM;
	return vigil_jws_sign("JWT", (const uint8_t *)text, strlen(text), key, ret);
}

/* ---- reading ---- */

static int bad(const char **detail, const char *what)
{
	if (detail)
		*detail = what;
	return VIGIL_EAR_BAD_CLAIMS;
}

/* Member @name of @o if it has type @type. */
static struct json_object *member(struct json_object *o, const char *name, enum json_type type)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, name, &v) && json_object_is_type(v, type) ? v : NULL;
}

/* An integer in @min..@max (json-c saturates above INT64_MAX: told apart by the uint64). */
static bool int_in(struct json_object *o, int64_t min, int64_t max, int64_t *ret)
{
	int64_t v;

	if (!o || !json_object_is_type(o, json_type_int))
		return false;
	v = json_object_get_int64(o);
	if (v == INT64_MAX && json_object_get_uint64(o) != (uint64_t)INT64_MAX)
		return false;
	if (v < min || v > max)
		return false;
	*ret = v;
	return true;
}

/* A string of 1..@size-1 bytes of UTF-8 without NUL (what the writer checks), into @buf. */
static bool text_into(struct json_object *o, char *buf, size_t size)
{
	size_t len = o ? (size_t)json_object_get_string_len(o) : 0;
	const char *s = o ? json_object_get_string(o) : NULL;

	if (!s || !len || len >= size || !vigil_utf8_valid(s, len))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return true;
}

static int read_vector(struct json_object *vec, struct vigil_ear_appraisal *a, const char **detail)
{
	json_object_object_foreach(vec, key, val)
	{
		size_t c = 0;
		int64_t v = 0;

		while (c < VIGIL_TV_COUNT && strcmp(claim_names[c], key) != 0)
			c++;
		if (c == VIGIL_TV_COUNT)
			return bad(detail, "a trustworthiness claim vigil does not know");
		if (!int_in(val, INT8_MIN, INT8_MAX, &v))
			return bad(detail,
				   "a trustworthiness claim is not an integer in -128..127");
		a->has[c] = true;
		a->tv[c] = (int8_t)v;
	}
	return VIGIL_EAR_VALID;
}

static int read_status(struct json_object *o, struct vigil_ear_appraisal *a, const char **detail)
{
	static const enum vigil_ear_tier tiers[] = { VIGIL_TIER_NONE, VIGIL_TIER_AFFIRMING,
						     VIGIL_TIER_WARNING,
						     VIGIL_TIER_CONTRAINDICATED };
	const char *s = o ? json_object_get_string(o) : NULL;

	for (size_t i = 0; s && i < sizeof(tiers) / sizeof(tiers[0]); i++)
		if ((size_t)json_object_get_string_len(o) == strlen(s) &&
		    !strcmp(s, vigil_ear_tier_name(tiers[i]))) {
			a->status = tiers[i];
			return VIGIL_EAR_VALID;
		}
	return bad(detail, "a submod's status is missing or not a status name");
}

/* The runtime submod's policy id: one string (Veraison) or an array of exactly one (IETF). */
static int read_policy_id(struct json_object *sub, enum vigil_ear_profile p, struct vigil_ear *e,
			  const char **detail)
{
	const struct naming *n = &namings[p];
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(sub, n->policy_id, &v))
		return VIGIL_EAR_VALID;
	if (p == VIGIL_EAR_IETF) {
		if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) != 1)
			return bad(detail, "ear_appraisal_policy_ids is not an array of one id");
		v = json_object_array_get_idx(v, 0);
	}
	if (!v || !json_object_is_type(v, json_type_string) ||
	    !text_into(v, e->policy_id, sizeof(e->policy_id)))
		return bad(detail, "the appraisal policy id is not a string of 1..511 bytes");
	return VIGIL_EAR_VALID;
}

static int read_submod(struct json_object *sub, enum vigil_ear_submod s, struct vigil_ear *e,
		       const char **detail)
{
	const struct naming *n = &namings[e->profile], *other = &namings[!e->profile];
	struct vigil_ear_appraisal *a = &e->submods[s];
	struct json_object *vec = member(sub, n->vector, json_type_object);
	int r;

	if (!json_object_is_type(sub, json_type_object))
		return bad(detail, "a submod is not an object");
	if (json_object_object_get_ex(sub, other->status, NULL) ||
	    json_object_object_get_ex(sub, other->vector, NULL) ||
	    json_object_object_get_ex(sub, other->policy_id, NULL))
		return bad(detail, "a submod has claims named for the other EAR profile");
	if (!vec)
		return bad(detail, "a submod has no trustworthiness vector");
	r = read_vector(vec, a, detail);
	if (r == VIGIL_EAR_VALID)
		r = read_status(member(sub, n->status, json_type_string), a, detail);
	if (r != VIGIL_EAR_VALID)
		return r;
	if (a->status < worst_tier(a))
		return bad(detail, "status better than its claims");
	if (s == VIGIL_SUBMOD_BOOT && json_object_object_get_ex(sub, n->policy_id, NULL))
		return bad(detail, "the boot submod names an appraisal policy");
	return s == VIGIL_SUBMOD_RUNTIME ? read_policy_id(sub, e->profile, e, detail) :
					   VIGIL_EAR_VALID;
}

static int read_submods(struct json_object *subs, struct vigil_ear *e, const char **detail)
{
	bool seen[VIGIL_SUBMOD_COUNT] = { false };

	if (!subs)
		return bad(detail, "submods is missing or not an object");
	json_object_object_foreach(subs, label, sub)
	{
		size_t s = 0;
		int r;

		while (s < VIGIL_SUBMOD_COUNT && strcmp(submod_names[s], label) != 0)
			s++;
		if (s == VIGIL_SUBMOD_COUNT)
			return bad(detail, "a submod other than boot and runtime");
		r = read_submod(sub, s, e, detail);
		if (r != VIGIL_EAR_VALID)
			return r;
		seen[s] = true;
	}
	if (!seen[VIGIL_SUBMOD_BOOT] || !seen[VIGIL_SUBMOD_RUNTIME])
		return bad(detail, "the boot or the runtime submod is missing");
	return VIGIL_EAR_VALID;
}

/* eat_profile decides the naming; the other naming's top-level claim may not appear. */
static int read_profile(struct json_object *o, struct vigil_ear *e, const char **detail)
{
	struct json_object *p = member(o, "eat_profile", json_type_string);
	const char *s = p ? json_object_get_string(p) : NULL;

	if (!s || (size_t)json_object_get_string_len(p) != strlen(s))
		return bad(detail, "eat_profile is missing or not a string");
	if (!strcmp(s, VIGIL_EAR_PROFILE_VERAISON))
		e->profile = VIGIL_EAR_VERAISON;
	else if (!strcmp(s, VIGIL_EAR_PROFILE_IETF))
		e->profile = VIGIL_EAR_IETF;
	else
		return bad(detail, "eat_profile is not an EAR profile vigil reads");
	if (json_object_object_get_ex(o, namings[!e->profile].verifier_id, NULL))
		return bad(detail, "claims named for the other EAR profile");
	return VIGIL_EAR_VALID;
}

static int read_nonce(struct json_object *o, struct vigil_ear *e, const char **detail)
{
	struct json_object *n = NULL;
	_cleanup_free_ uint8_t *raw = NULL;
	size_t len = 0;
	int r;

	if (!json_object_object_get_ex(o, "eat_nonce", &n))
		return VIGIL_EAR_VALID;
	if (!json_object_is_type(n, json_type_string))
		return bad(detail, "eat_nonce is not a string");
	r = vigil_base64url_decode(json_object_get_string(n), (size_t)json_object_get_string_len(n),
				   VIGIL_NONCE_MAX, &raw, &len);
	if (r == -ENOMEM)
		return r;
	if (r < 0 || len < VIGIL_NONCE_MIN)
		return bad(detail, "eat_nonce is not base64url of 8..64 bytes");
	memcpy(e->nonce, raw, len);
	e->nonce_len = len;
	return VIGIL_EAR_VALID;
}

static int read_top(struct json_object *o, struct vigil_ear *e, const char **detail)
{
	struct json_object *vid;
	int r = read_profile(o, e, detail);

	if (r != VIGIL_EAR_VALID)
		return r;
	if (!int_in(member(o, "iat", json_type_int), 0, INT64_MAX, &e->iat))
		return bad(detail, "iat is missing or not a non-negative integer");
	vid = member(o, namings[e->profile].verifier_id, json_type_object);
	if (!vid)
		return bad(detail, "the verifier id is missing or not an object");
	if (!text_into(member(vid, "developer", json_type_string), e->developer,
		       sizeof(e->developer)) ||
	    !text_into(member(vid, "build", json_type_string), e->build, sizeof(e->build)))
		return bad(detail, "the verifier id's developer or build is missing or too long");
	r = read_nonce(o, e, detail);
	if (r != VIGIL_EAR_VALID)
		return r;
	return read_submods(member(o, "submods", json_type_object), e, detail);
}

/* The claims, and their parsed JSON when @ret_obj is not NULL. */
static int read_claims(const uint8_t *payload, size_t len, struct vigil_ear *ret,
		       struct json_object **ret_obj, const char **detail)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	struct vigil_ear e = { 0 };
	int r = vigil_json_parse((const char *)payload, len, VIGIL_JWS_MAX, &o);

	if (r == -ENOMEM)
		return r;
	if (r == -ENOTUNIQ)
		return bad(detail, "a claim name is repeated");
	if (r < 0 || !json_object_is_type(o, json_type_object))
		return bad(detail, "the claims set is not one strict JSON object");
	r = read_top(o, &e, detail);
	if (r != VIGIL_EAR_VALID)
		return r;
	*ret = e;
	if (ret_obj)
		*ret_obj = TAKE_PTR(o);
	return VIGIL_EAR_VALID;
}

/**
 * vigil_ear_parse_claims() - read an EAR's claims set, signature not checked
 * @payload: the JWT's payload (JSON)
 * @len: its length
 * @ret: on VIGIL_EAR_VALID, the claims
 * @detail: on VIGIL_EAR_BAD_CLAIMS, a static text naming what is wrong; may be NULL
 *
 * The rules are those of the head of this file and docs/ear-format.md.
 *
 * Return: VIGIL_EAR_VALID, VIGIL_EAR_BAD_CLAIMS, or -ENOMEM.
 */
int vigil_ear_parse_claims(const uint8_t *payload, size_t len, struct vigil_ear *ret,
			   const char **detail)
{
	return read_claims(payload, len, ret, NULL, detail);
}

/* A JWS verdict as an EAR verdict, with its detail. */
static int jws_outcome(int r, const char **detail)
{
	const char *what =
		r == VIGIL_JWS_BAD_FORMAT ? "not a compact JWS (ES256)" :
		r == VIGIL_JWS_BAD_ALG	  ? "the header's alg is not ES256, or it has crit" :
					    "the signature verifies under no trusted key";

	if (detail)
		*detail = what;
	return r == VIGIL_JWS_BAD_FORMAT ? VIGIL_EAR_BAD_FORMAT :
	       r == VIGIL_JWS_BAD_ALG	 ? VIGIL_EAR_BAD_ALG :
					   VIGIL_EAR_UNTRUSTED;
}

/**
 * vigil_ear_verify() - check an EAR JWT's signature, then read its claims (either naming)
 * @jwt: the compact JWS; need not be NUL-terminated
 * @len: its length
 * @trusted: the verifier keys trusted to sign EARs (only P-256 keys can match)
 * @ntrusted: their number
 * @ret: on VIGIL_EAR_VALID, the claims
 * @ret_claims: on VIGIL_EAR_VALID when not NULL, the claims set as pretty JSON; free() it
 * @detail: on another verdict, a static text saying why; may be NULL
 *
 * Return: VIGIL_EAR_VALID; VIGIL_EAR_BAD_FORMAT, VIGIL_EAR_BAD_ALG or VIGIL_EAR_UNTRUSTED
 * (vigil_jws_verify()'s verdicts); VIGIL_EAR_BAD_CLAIMS; -EIO if OpenSSL failed; -ENOMEM.
 */
int vigil_ear_verify(const char *jwt, size_t len, EVP_PKEY *const *trusted, size_t ntrusted,
		     struct vigil_ear *ret, char **ret_claims, const char **detail)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;
	_cleanup_free_ uint8_t *payload = NULL;
	struct vigil_ear e;
	size_t plen = 0;
	char *text = NULL;
	int r = vigil_jws_verify(jwt, len, trusted, ntrusted, &payload, &plen, NULL);

	if (r < 0)
		return r;
	if (r != VIGIL_JWS_VERIFIED)
		return jws_outcome(r, detail);
	r = read_claims(payload, plen, &e, &o, detail);
	if (r != VIGIL_EAR_VALID)
		return r;
	if (ret_claims && vigil_json_format(o, &text) < 0)
		return -ENOMEM;
	*ret = e;
	if (ret_claims)
		*ret_claims = text;
	return VIGIL_EAR_VALID;
}
