// SPDX-License-Identifier: MIT
/*
 * fuzz_quote.c: libFuzzer harness for quote verification (lib/quote.c, lib/attest.c) and
 * tpm2-tools' quote.pcrs parser (lib/pcrs.c), against a fixed attestation key.
 *
 * The first input byte picks a mode:
 *   0  raw: u16 (big-endian) attest length, the attest blob, then the signature blob, verified
 *      as they are (parse, header and signature paths); bit 7 also gives the AK public area
 *   1  signed: the rest is an attest blob, which the harness signs with the fixed AK the way a
 *      TPM would, so the checks after the signature (nonce, clock, PCR selection and digest) see
 *      chosen input; bit 6 adds a previous clock state
 *   2  quote.pcrs: parse, and when that succeeds, build and parse again: same selection, values
 * Properties besides "no crash, no leak, no UB": a verdict is accepted exactly when it has no
 * reason and every check up to the PCR digest passed, and its JSON can always be written.
 *
 * The AK is a test key (below), never used for anything else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

#include "../unit/quote_builder.h"
#include "attest.h"

static const char ak_pem[] = "-----BEGIN EC PRIVATE KEY-----\n"
			     "MHcCAQEEIM7aiicr1W86G8QnkUQQtyVhZ+rBfMP+3Y8zTOA3B6nQoAoGCCqGSM49\n"
			     "AwEHoUQDQgAEaQ7j/JMp1OLFAWfoAC6yy49MD/tVybmRsfpGz9lXRYz8IUgiyA5m\n"
			     "PyhFxZlM+F2uhvtHJiUx/u61kHIhZyb2sQ==\n"
			     "-----END EC PRIVATE KEY-----\n";

/* The nonce and selection the seeds were quoted with: vigil quote --nonce ... --pcrs sha256:11 */
static const uint8_t nonce[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
				   0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };

static struct qb_key ak;
static EVP_PKEY *ak_pub;
static TPML_PCR_SELECTION selection;
static struct vigil_pcr_values values; /* PCR 11 all zeros */

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	BIO *bio = BIO_new_mem_buf(ak_pem, -1);
	uint8_t zero[32] = { 0 };

	(void)argc;
	(void)argv;
	setenv("TSS2_LOG", "all+none", 0);
	ak.pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
	BIO_free(bio);
	if (!ak.pkey)
		abort();
	ak.scheme = (TPMT_SIG_SCHEME){ .scheme = TPM2_ALG_ECDSA,
				       .details.any.hashAlg = TPM2_ALG_SHA256 };
	ak.pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	ak.pub.publicArea.objectAttributes =
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	qb_ecc_public(&ak, 32, TPM2_ECC_NIST_P256);
	ak_pub = qb_public(&ak);
	if (vigil_pcrsel_parse("sha256:11", &selection) < 0 ||
	    vigil_pcr_values_add(&values, TPM2_ALG_SHA256, 11, zero, 32) < 0)
		abort();
	return 0;
}

static void check_verdict(const struct vigil_verdict *v)
{
	bool all_passed = true;
	char *json = NULL;

	for (int i = VIGIL_CHECK_FORMAT; i <= VIGIL_CHECK_PCR_DIGEST; i++)
		all_passed &= v->checks[i] == VIGIL_RESULT_PASS;
	if (v->accepted != (v->reason == VIGIL_REJECT_NONE) || (v->accepted && !all_passed))
		abort();
	if (vigil_verdict_to_json(v, &json) == 0 && !json)
		abort();
	free(json);
}

static void verify(const uint8_t *attest, size_t alen, const uint8_t *sig, size_t slen,
		   bool with_public, const struct vigil_clock_state *prev)
{
	const struct vigil_attest_input in = {
		.quote = { .attest = attest,
			   .attest_len = alen,
			   .sig = sig,
			   .sig_len = slen,
			   .ak = ak_pub,
			   .ak_public = with_public ? &ak.pub : NULL,
			   .nonce = nonce,
			   .nonce_len = sizeof(nonce),
			   .selection = &selection,
			   .pcrs = &values,
			   .prev = prev },
		.log_bank = TPM2_ALG_SHA256,
		.log_pcr = 11,
	};
	struct vigil_verdict v;

	if (vigil_attest_verify(&in, &v) == 0)
		check_verdict(&v);
}

static void raw(const uint8_t *data, size_t size, bool with_public)
{
	size_t alen;

	if (size < 2)
		return;
	alen = (size_t)data[0] << 8 | data[1];
	if (alen > size - 2)
		return;
	verify(data + 2, alen, data + 2 + alen, size - 2 - alen, with_public, NULL);
}

static void sign_and_verify(const uint8_t *attest, size_t alen, bool with_prev)
{
	const struct vigil_clock_state prev = { .clock = 100000, .reset_count = 1 };
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t slen;

	if (alen > VIGIL_ATTEST_MAX)
		return;
	slen = qb_sign(&ak, &ak.scheme, attest, alen, sig, sizeof(sig));
	verify(attest, alen, sig, slen, true, with_prev ? &prev : NULL);
}

static void pcrs_file(const uint8_t *data, size_t size)
{
	struct vigil_pcr_values *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
	TPML_PCR_SELECTION sa, sb;
	uint8_t *buf = NULL;
	size_t len = 0;

	if (a && b && vigil_pcrs_file_parse(data, size, &sa, a) == 0) {
		if (vigil_pcrs_file_build(&sa, a, &buf, &len) < 0 ||
		    vigil_pcrs_file_parse(buf, len, &sb, b) < 0 || !vigil_pcrsel_equal(&sa, &sb) ||
		    a->count != b->count)
			abort();
		for (size_t i = 0; i < a->count; i++) {
			const struct vigil_pcr_value *x = &a->v[i];
			const struct vigil_pcr_value *y = vigil_pcr_values_get(b, x->alg, x->pcr);

			if (!y || y->size != x->size || memcmp(x->digest, y->digest, x->size))
				abort();
		}
	}
	free(buf);
	free(a);
	free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		raw(data + 1, size - 1, data[0] & 0x80);
		break;
	case 1:
		sign_and_verify(data + 1, size - 1, data[0] & 0x40);
		break;
	case 2:
		pcrs_file(data + 1, size - 1);
		break;
	default:
		break;
	}
	return 0;
}
