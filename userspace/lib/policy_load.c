// SPDX-License-Identifier: MIT
/*
 * policy_load.c: load a signed attestation policy: a DSSE envelope whose payload is a policy
 * document, checked against the verifier's trusted keys.
 *
 * The checks run in a fixed order and the first that fails names the verdict: size, envelope,
 * payloadType, signature, document, validity. A verifier loads policies under a time budget,
 * and for a large policy the two expensive steps, hashing the payload for the signature and
 * parsing it into an index, need nothing from each other once the payload is decoded; so
 * beyond PARALLEL_MIN bytes the signature is checked in a second thread while this one parses.
 * The verdict order does not change: an envelope whose signature fails is UNTRUSTED whatever
 * its payload, and the parsed policy is thrown away. A small payload is checked sequentially
 * and is only parsed once its signature verified.
 *
 * Invariants: *ret and *ret_key are written only for VIGIL_POLICY_LOADED; @err only for
 * VIGIL_POLICY_BAD_FORMAT; a verdict is never an errno and an errno (-ENOMEM, -EIO, -EINVAL
 * for a bad trusted key) is never a verdict; no thread outlives the call.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>

#include "cleanup.h"
#include "policy.h"

#define PARALLEL_MIN ((size_t)1 << 20) /* payload bytes from which two threads pay off */

/* The signature check, run by the second thread or inline. */
struct sig_job {
	const struct vigil_dsse *env;
	EVP_PKEY *const *trusted;
	size_t ntrusted;
	int r; /* vigil_dsse_verify()'s result */
	size_t key; /* on VIGIL_DSSE_VERIFIED, the key that verified */
};

static void *sig_job_run(void *arg)
{
	struct sig_job *job = arg;

	job->r = vigil_dsse_verify(job->env, VIGIL_POLICY_PAYLOAD_TYPE, job->trusted, job->ntrusted,
				   &job->key);
	return NULL;
}

/* The document check. Return 0, VIGIL_POLICY_BAD_FORMAT (with @err) or -ENOMEM. */
static int parse_payload(const struct vigil_dsse *env, struct vigil_policy **ret,
			 struct vigil_policy_error *err)
{
	int r = vigil_policy_parse((const char *)env->payload, env->payload_len, ret, err);

	if (r == -ENOMEM)
		return r;
	return r < 0 ? VIGIL_POLICY_BAD_FORMAT : 0;
}

/*
 * Signature and document, concurrently when the payload is large. Return the signature's
 * verdict or errno first, then the document's; *@ret and *@ret_key only on 0.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the keys, then the results */
static int check_signed(const struct vigil_dsse *env, EVP_PKEY *const *trusted, size_t ntrusted,
			struct vigil_policy **ret, size_t *ret_key, struct vigil_policy_error *err)
{
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct sig_job job = { .env = env, .trusted = trusted, .ntrusted = ntrusted };
	pthread_t thread;
	bool threaded;
	int parsed = 0;

	threaded = env->payload_len > PARALLEL_MIN &&
		   pthread_create(&thread, NULL, sig_job_run, &job) == 0;
	if (threaded) {
		parsed = parse_payload(env, &p, err);
		pthread_join(thread, NULL);
	} else {
		sig_job_run(&job);
	}
	if (job.r < 0)
		return job.r;
	if (job.r != VIGIL_DSSE_VERIFIED)
		return VIGIL_POLICY_UNTRUSTED;
	if (!threaded)
		parsed = parse_payload(env, &p, err);
	if (parsed)
		return parsed;
	*ret = TAKE_PTR(p);
	*ret_key = job.key;
	return 0;
}

/**
 * vigil_policy_load_signed() - check a signed policy and parse it
 * @text: the DSSE envelope (JSON); need not be NUL-terminated
 * @len: its length
 * @trusted: the keys whose signature is trusted (ECDSA P-256 or Ed25519 public keys)
 * @ntrusted: their number
 * @now: the current time, seconds since the epoch (UTC)
 * @ret: on VIGIL_POLICY_LOADED, the policy; release with vigil_policy_free()
 * @ret_key: on VIGIL_POLICY_LOADED, the index in @trusted of the key whose signature verified;
 *	may be NULL
 * @err: on VIGIL_POLICY_BAD_FORMAT, where and why the document was rejected
 *
 * In this order: an envelope larger than VIGIL_POLICY_ENVELOPE_MAX or a payload larger than
 * VIGIL_POLICY_MAX is VIGIL_POLICY_TOO_LARGE; not a DSSE envelope, VIGIL_POLICY_BAD_ENVELOPE;
 * a payloadType other than VIGIL_POLICY_PAYLOAD_TYPE, VIGIL_POLICY_WRONG_TYPE; no signature
 * verifying under a trusted key, VIGIL_POLICY_UNTRUSTED; a payload that is not a valid policy
 * document, VIGIL_POLICY_BAD_FORMAT; valid_until before @now, VIGIL_POLICY_EXPIRED.
 *
 * Return: VIGIL_POLICY_LOADED (0), another enum vigil_policy_verdict, or a negative errno
 * (could not check: -ENOMEM, -EIO from OpenSSL, -EINVAL for a trusted key of another kind).
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the interface policy.h fixes */
int vigil_policy_load_signed(const char *text, size_t len, EVP_PKEY *const *trusted,
			     size_t ntrusted, int64_t now, struct vigil_policy **ret,
			     size_t *ret_key, struct vigil_policy_error *err)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	_cleanup_(vigil_dsse_freep) struct vigil_dsse *env = NULL;
	_cleanup_(vigil_policy_freep) struct vigil_policy *p = NULL;
	struct vigil_policy_error e = { 0 };
	size_t key = 0;
	int r;

	if (len > VIGIL_POLICY_ENVELOPE_MAX)
		return VIGIL_POLICY_TOO_LARGE;
	r = vigil_dsse_parse(text, len, VIGIL_POLICY_MAX, &env);
	if (r == -EFBIG)
		return VIGIL_POLICY_TOO_LARGE;
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return VIGIL_POLICY_BAD_ENVELOPE;
	if (strcmp(env->payload_type, VIGIL_POLICY_PAYLOAD_TYPE) != 0)
		return VIGIL_POLICY_WRONG_TYPE;
	r = check_signed(env, trusted, ntrusted, &p, &key, &e);
	if (r == VIGIL_POLICY_BAD_FORMAT && err)
		*err = e;
	if (r)
		return r;
	if (vigil_policy_info(p)->valid_until < now)
		return VIGIL_POLICY_EXPIRED;
	*ret = TAKE_PTR(p);
	if (ret_key)
		*ret_key = key;
	return VIGIL_POLICY_LOADED;
}

/**
 * vigil_policy_verdict_name() - the name of a verdict, as in the verifier's "policy_<name>"
 * @v: the verdict
 *
 * Return: "loaded", "too_large", "bad_envelope", "wrong_type", "untrusted", "bad_format",
 * "expired", or "unknown" for a value that is none of them.
 */
const char *vigil_policy_verdict_name(enum vigil_policy_verdict v)
{
	static const char *const names[] = {
		[VIGIL_POLICY_LOADED] = "loaded",
		[VIGIL_POLICY_TOO_LARGE] = "too_large",
		[VIGIL_POLICY_BAD_ENVELOPE] = "bad_envelope",
		[VIGIL_POLICY_WRONG_TYPE] = "wrong_type",
		[VIGIL_POLICY_UNTRUSTED] = "untrusted",
		[VIGIL_POLICY_BAD_FORMAT] = "bad_format",
		[VIGIL_POLICY_EXPIRED] = "expired",
	};

	return (size_t)v < sizeof(names) / sizeof(names[0]) && names[v] ? names[v] : "unknown";
}
