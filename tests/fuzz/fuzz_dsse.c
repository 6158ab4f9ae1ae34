// SPDX-License-Identifier: MIT
/*
 * fuzz_dsse.c: libFuzzer harness for DSSE envelopes (lib/dsse.c) and signed policies
 * (lib/policy_load.c), against fixed trusted keys.
 *
 * The input is the envelope's JSON text. Properties besides "no crash, no leak, no UB":
 *   - what parses has 1..VIGIL_DSSE_SIGS_MAX signatures, a printable payloadType and keyids
 *     within their bounds, and no empty signature;
 *   - it formats, the text parses again to the same fields (payloadType, payload bytes,
 *     keyids, signature bytes), and formatting that gives the same text (a fixed point);
 *   - vigil_dsse_verify() under the trusted keys verifies only the original: the payloadType
 *     and payload the seeds were signed with (any spelling of them: escapes, URL-safe or
 *     unpadded base64); anything else verifying would be a forgery;
 *   - vigil_policy_load_signed() loads only the original, and always returns a verdict.
 *
 * The keys are test keys made for this harness: the seeds in corpus/fuzz_dsse/ carry
 * signatures by their private halves, which were thrown away.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

static const char ec_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEU6VW6KKv6muRJbHhkklTwibJyAqZ\n"
			     "yICyXMKgCNvDea7iw0Ip35/FYRCD1AC2Prto/cyrTFGcOYBz7UI/6XG4Eg==\n"
			     "-----END PUBLIC KEY-----\n";
static const char ed_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			     "MCowBQYDK2VwAyEAItyDE15evY7UK1sl7nmm5cusvsYJxyG79uEBk8GsDWc=\n"
			     "-----END PUBLIC KEY-----\n";

/* What the seeds' trusted signatures cover. */
static const char original[] = "{\"vigil_policy\": 1, \"name\": \"fuzz\", \"version\": 1, "
			       "\"valid_until\": \"2099-01-01T00:00:00Z\", \"hash_alg\": "
			       "\"sha256\", \"any_path\": [\"0123456789abcdef0123456789abcdef"
			       "0123456789abcdef0123456789abcdef\"]}\n";

static EVP_PKEY *trusted[2];

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (vigil_sigkey_load_public((const uint8_t *)ec_pem, sizeof(ec_pem) - 1, &trusted[0]) <
		    0 ||
	    vigil_sigkey_load_public((const uint8_t *)ed_pem, sizeof(ed_pem) - 1, &trusted[1]) < 0)
		abort();
	return 0;
}

static bool printable(const char *s, size_t max)
{
	size_t len = strlen(s);

	for (size_t i = 0; i < len; i++)
		if (s[i] < 0x20 || s[i] > 0x7e)
			return false;
	return len <= max;
}

static void check_fields(const struct vigil_dsse *env)
{
	if (!env->count || env->count > VIGIL_DSSE_SIGS_MAX || !env->payload_type[0] ||
	    !printable(env->payload_type, VIGIL_DSSE_TYPE_MAX))
		abort();
	for (size_t i = 0; i < env->count; i++)
		if (!env->sigs[i].sig_len || !printable(env->sigs[i].keyid, VIGIL_DSSE_KEYID_MAX))
			abort();
}

static bool same(const struct vigil_dsse *a, const struct vigil_dsse *b)
{
	if (strcmp(a->payload_type, b->payload_type) || a->payload_len != b->payload_len ||
	    (a->payload_len && memcmp(a->payload, b->payload, a->payload_len)) ||
	    a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (strcmp(a->sigs[i].keyid, b->sigs[i].keyid) ||
		    a->sigs[i].sig_len != b->sigs[i].sig_len ||
		    memcmp(a->sigs[i].sig, b->sigs[i].sig, a->sigs[i].sig_len))
			return false;
	return true;
}

static void round_trip(const struct vigil_dsse *env)
{
	struct vigil_dsse *again = NULL;
	char *text = NULL, *text2 = NULL;

	if (vigil_dsse_format(env, &text) < 0)
		abort();
	if (vigil_dsse_parse(text, strlen(text), VIGIL_POLICY_MAX, &again) < 0 || !same(env, again))
		abort();
	if (vigil_dsse_format(again, &text2) < 0 || strcmp(text, text2))
		abort();
	free(text);
	free(text2);
	vigil_dsse_free(again);
}

static bool is_original(const struct vigil_dsse *env)
{
	return !strcmp(env->payload_type, VIGIL_POLICY_PAYLOAD_TYPE) &&
	       env->payload_len == sizeof(original) - 1 &&
	       !memcmp(env->payload, original, env->payload_len);
}

static void verify(const struct vigil_dsse *env)
{
	size_t key = 0;
	int r = vigil_dsse_verify(env, env->payload_type, trusted, 2, &key);

	if (r < 0 || (r == VIGIL_DSSE_VERIFIED && (!is_original(env) || key > 1)))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_dsse *env = NULL;
	struct vigil_policy *p = NULL;
	struct vigil_policy_error err;
	int r;

	r = vigil_policy_load_signed((const char *)data, size, trusted, 2, 0, &p, NULL, &err);
	if (r < 0 || r > VIGIL_POLICY_EXPIRED)
		abort();
	vigil_policy_free(p);
	if (vigil_dsse_parse((const char *)data, size, VIGIL_POLICY_MAX, &env) < 0) {
		if (r == VIGIL_POLICY_LOADED)
			abort();
		return 0;
	}
	if (r == VIGIL_POLICY_LOADED && !is_original(env))
		abort();
	check_fields(env);
	round_trip(env);
	verify(env);
	vigil_dsse_free(env);
	return 0;
}
