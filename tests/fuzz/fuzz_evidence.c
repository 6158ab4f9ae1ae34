// SPDX-License-Identifier: MIT
/*
 * fuzz_evidence.c: libFuzzer harness for the evidence document (lib/evidence.c on lib/json.c
 * and lib/codec.c) and what `vigil verify` and `vigil evidence export` do with a parsed one.
 *
 * The input is the JSON text. Properties besides "no crash, no leak, no UB":
 *   - what parses, written again, parses again to the same evidence, and writing that gives
 *     the same text (the writer is a fixed point);
 *   - a parsed evidence always has one value per selected PCR, so quote.pcrs can be built;
 *   - verification against a fixed AK always runs to a verdict.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"

/* The public half of fuzz_quote.c's test AK. */
static const char ak_pem[] = "-----BEGIN PUBLIC KEY-----\n"
			     "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEaQ7j/JMp1OLFAWfoAC6yy49MD/tV\n"
			     "ybmRsfpGz9lXRYz8IUgiyA5mPyhFxZlM+F2uhvtHJiUx/u61kHIhZyb2sQ==\n"
			     "-----END PUBLIC KEY-----\n";

static EVP_PKEY *ak;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	setenv("TSS2_LOG", "all+none", 0);
	if (vigil_ak_pem_parse((const uint8_t *)ak_pem, sizeof(ak_pem) - 1, &ak) < 0)
		abort();
	return 0;
}

static bool same(const struct vigil_evidence *a, const struct vigil_evidence *b)
{
	if (a->nonce_len != b->nonce_len || memcmp(a->nonce, b->nonce, a->nonce_len) ||
	    a->attest_len != b->attest_len || memcmp(a->attest, b->attest, a->attest_len) ||
	    a->sig_len != b->sig_len || memcmp(a->sig, b->sig, a->sig_len) ||
	    !vigil_pcrsel_equal(&a->selection, &b->selection) || a->pcrs.count != b->pcrs.count ||
	    !a->log != !b->log || a->log_len != b->log_len || a->log_from != b->log_from)
		return false;
	return !a->log || !memcmp(a->log, b->log, a->log_len);
}

static void round_trip(const struct vigil_evidence *ev)
{
	struct vigil_evidence *again = NULL;
	char *text = NULL, *text2 = NULL;

	if (vigil_evidence_format(ev, &text) < 0)
		abort();
	if (vigil_evidence_parse(text, strlen(text), &again) < 0 || !same(ev, again))
		abort();
	if (vigil_evidence_format(again, &text2) < 0 || strcmp(text, text2))
		abort();
	free(text);
	free(text2);
	vigil_evidence_free(again);
}

static void use(const struct vigil_evidence *ev)
{
	const struct vigil_attest_input in = {
		.quote = { .attest = ev->attest,
			   .attest_len = ev->attest_len,
			   .sig = ev->sig,
			   .sig_len = ev->sig_len,
			   .ak = ak,
			   .ak_public = &ev->ak_public,
			   .nonce = ev->nonce,
			   .nonce_len = ev->nonce_len,
			   .selection = &ev->selection,
			   .pcrs = &ev->pcrs },
		.log = ev->log,
		.log_len = ev->log_len,
		.log_from = ev->log_from,
		.log_bank = TPM2_ALG_SHA256,
		.log_pcr = 11,
	};
	struct vigil_verdict v;
	uint8_t *pcrs = NULL;
	size_t len;

	if (vigil_pcrs_file_build(&ev->selection, &ev->pcrs, &pcrs, &len) < 0)
		abort();
	free(pcrs);
	if (vigil_attest_verify(&in, &v) == 0 && v.accepted != (v.reason == VIGIL_REJECT_NONE))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_evidence *ev = NULL;

	if (vigil_evidence_parse((const char *)data, size, &ev) < 0)
		return 0;
	round_trip(ev);
	use(ev);
	vigil_evidence_free(ev);
	return 0;
}
