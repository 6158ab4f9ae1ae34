// SPDX-License-Identifier: MIT
/*
 * fuzz_policy.c: libFuzzer harness for the attestation policy document (lib/policy_json.c,
 * lib/policy_index.c, lib/policy_format.c, lib/policy.c).
 *
 * The input is the JSON text. Properties besides "no crash, no leak, no UB":
 *   - a rejection always says where (an offset inside the input, a line) and why;
 *   - what parses formats to a canonical text that parses again to a policy with the same
 *     members and counts, and that text formats to itself byte for byte;
 *   - every path of the policy is found again: its first digest is allowed (or denied or
 *     excluded, which come first), vigil_policy_expected() returns its digests, and a digest
 *     it does not list is never allowed unless "any_path" has it.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"

#define PATHS_CHECKED 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool same_info(const struct vigil_policy_info *a, const struct vigil_policy_info *b)
{
	return !strcmp(a->name, b->name) && a->version == b->version &&
	       a->valid_until == b->valid_until && a->created == b->created &&
	       !strcmp(a->generator, b->generator) && a->hash_alg == b->hash_alg &&
	       a->violations == b->violations && a->has_boot_aggregate == b->has_boot_aggregate &&
	       !memcmp(a->boot_aggregate, b->boot_aggregate, a->digest_size) &&
	       a->paths == b->paths && a->digests == b->digests && a->any_path == b->any_path &&
	       a->deny == b->deny && a->excludes == b->excludes &&
	       a->excludes_regex == b->excludes_regex && a->pcrs == b->pcrs &&
	       a->packages == b->packages;
}

struct walk {
	const struct vigil_policy *p;
	size_t seen;
};

static int check_path(void *ctx, const char *path, size_t len, const uint8_t *digests, size_t count)
{
	struct walk *w = ctx;
	size_t ds = vigil_policy_info(w->p)->digest_size;
	enum vigil_policy_result r;
	const uint8_t *exp = NULL;
	uint8_t other[64];

	if (w->seen++ >= PATHS_CHECKED)
		return 1;
	if (count == 0 || vigil_policy_expected(w->p, path, len, &exp) != count ||
	    memcmp(exp, digests, count * ds))
		abort();
	if (vigil_policy_check(w->p, path, len, digests, &r) < 0 ||
	    r == VIGIL_POLICY_NOT_IN_POLICY || r == VIGIL_POLICY_DIGEST_MISMATCH)
		abort();
	/* a digest the path does not list: 0xff.. sorts after every digest but itself */
	memset(other, 0xff, ds);
	if (memcmp(digests + (count - 1) * ds, other, ds) &&
	    vigil_policy_check(w->p, path, len, other, &r) == 0 && r == VIGIL_POLICY_NOT_IN_POLICY)
		abort();
	return 0;
}

static void round_trip(const struct vigil_policy *p)
{
	struct vigil_policy_error err;
	struct vigil_policy *q = NULL;
	char *text = NULL, *text2 = NULL;
	size_t len = 0, len2 = 0;
	struct walk w = { .p = p };

	if (vigil_policy_format(p, &text, &len) < 0 || strlen(text) != len)
		abort();
	if (vigil_policy_parse(text, len, &q, &err) < 0)
		abort();
	if (!same_info(vigil_policy_info(p), vigil_policy_info(q)))
		abort();
	if (vigil_policy_format(q, &text2, &len2) < 0 || len != len2 || memcmp(text, text2, len))
		abort();
	if (vigil_policy_foreach_path(p, check_path, &w) < 0)
		abort();
	free(text);
	free(text2);
	vigil_policy_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_policy_error err = { 0 };
	struct vigil_policy *p = NULL;

	if (vigil_policy_parse((const char *)data, size, &p, &err) < 0) {
		if (err.offset > size || err.line < 1 || !err.what[0] ||
		    !memchr(err.what, '\0', sizeof(err.what)))
			abort();
		return 0;
	}
	round_trip(p);
	vigil_policy_free(p);
	return 0;
}
