// SPDX-License-Identifier: MIT
/*
 * ek_template.c: the public-area templates of the keys vigil creates in a TPM, shared by the
 * device side (tpm.c, which creates them) and the verifier (enroll.c, which checks that an EK a
 * device presents is one): no ESYS here, only the TPM2 data types and tss2-mu.
 *
 * The EK templates are the TCG EK Credential Profile's low-range defaults (2.0, B.3.3 template
 * L-1, RSA 2048, and B.3.4 template L-2, ECC NIST P-256): restricted decryption keys with
 * AES-128-CFB, nameAlg SHA-256, authPolicy PolicySecret(TPM_RH_ENDORSEMENT) and zero-filled
 * unique fields of the key's size, so the TPM derives the same key from the endorsement seed
 * every time, the key an EK certificate certifies. The AK templates are vigil's restricted
 * signing keys with one scheme (ECDSA or RSASSA, SHA-256).
 *
 * Invariants: a template is a pure function of its arguments; vigil_key_template_match()
 * compares everything but the unique field (the key, the one thing a TPM chooses) byte for byte
 * in the marshalled form, so two areas that match marshal to the same type, attributes, policy
 * and parameters.
 */
#include <string.h>

#include <tss2/tss2_mu.h>

#include "tpm.h"

/* TCG EK Credential Profile: PolicySecret(TPM_RH_ENDORSEMENT), the EKs' authPolicy. */
static const uint8_t ek_policy[32] = {
	0x83, 0x71, 0x97, 0x67, 0x44, 0x84, 0xb3, 0xf8, 0x1a, 0x90, 0xcc,
	0x8d, 0x46, 0xa5, 0xd7, 0x24, 0xfd, 0x52, 0xd7, 0x6e, 0x06, 0x52,
	0x0b, 0x64, 0xf2, 0xa1, 0xda, 0x1b, 0x33, 0x14, 0x69, 0xaa,
};

#define EK_ATTRS                                                                            \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_ADMINWITHPOLICY | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_DECRYPT)
#define AK_ATTRS                                                                            \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

static const TPMT_SYM_DEF_OBJECT ek_sym = { .algorithm = TPM2_ALG_AES,
					    .keyBits.aes = 128,
					    .mode.aes = TPM2_ALG_CFB };

/**
 * vigil_key_template() - the template of vigil's EK or AK of an algorithm
 * @alg: VIGIL_AK_ALG_RSA for RSA 2048; anything else for ECC NIST P-256
 * @ek: true for the EK (TCG EK Credential Profile template L-1 / L-2), false for the AK
 *
 * Return: the public area to pass to TPM2_CreatePrimary (EK) or TPM2_Create (AK); the EK's
 * unique field is the profile's zero-filled one (256 bytes RSA, 32 + 32 bytes ECC), the AK's
 * empty.
 */
TPMT_PUBLIC vigil_key_template(enum vigil_ak_alg alg, bool ek)
{
	TPMT_PUBLIC p = { .nameAlg = TPM2_ALG_SHA256,
			  .objectAttributes = ek ? EK_ATTRS : AK_ATTRS };

	if (ek) {
		p.authPolicy.size = sizeof(ek_policy);
		memcpy(p.authPolicy.buffer, ek_policy, sizeof(ek_policy));
	}
	if (alg == VIGIL_AK_ALG_RSA) {
		p.type = TPM2_ALG_RSA;
		p.parameters.rsaDetail.keyBits = 2048;
		p.parameters.rsaDetail.symmetric =
			ek ? ek_sym : (TPMT_SYM_DEF_OBJECT){ .algorithm = TPM2_ALG_NULL };
		p.parameters.rsaDetail.scheme.scheme = ek ? TPM2_ALG_NULL : TPM2_ALG_RSASSA;
		p.parameters.rsaDetail.scheme.details.rsassa.hashAlg = ek ? 0 : TPM2_ALG_SHA256;
		p.unique.rsa.size = ek ? 256 : 0;
	} else {
		p.type = TPM2_ALG_ECC;
		p.parameters.eccDetail.curveID = TPM2_ECC_NIST_P256;
		p.parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
		p.parameters.eccDetail.symmetric =
			ek ? ek_sym : (TPMT_SYM_DEF_OBJECT){ .algorithm = TPM2_ALG_NULL };
		p.parameters.eccDetail.scheme.scheme = ek ? TPM2_ALG_NULL : TPM2_ALG_ECDSA;
		p.parameters.eccDetail.scheme.details.ecdsa.hashAlg = ek ? 0 : TPM2_ALG_SHA256;
		p.unique.ecc.x.size = p.unique.ecc.y.size = ek ? 32 : 0;
	}
	return p;
}

/**
 * vigil_key_template_match() - does a public area have exactly a template's form?
 * @tmpl: the template (vigil_key_template())
 * @got: the public area a TPM returned or a device presented
 *
 * Everything but the key itself is compared: type, nameAlg, attributes, authPolicy and
 * parameters, in their marshalled form (so unused union bytes never matter). The sizes of
 * @got's unique field are not checked here.
 *
 * Return: true if they match.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): expected, then actual */
bool vigil_key_template_match(const TPMT_PUBLIC *tmpl, const TPMT_PUBLIC *got)
{
	uint8_t a[sizeof(TPMT_PUBLIC)], b[sizeof(TPMT_PUBLIC)];
	TPMT_PUBLIC masked = *got;
	size_t alen = 0, blen = 0;

	masked.unique = tmpl->unique;
	if (Tss2_MU_TPMT_PUBLIC_Marshal(tmpl, a, sizeof(a), &alen) != TSS2_RC_SUCCESS ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&masked, b, sizeof(b), &blen) != TSS2_RC_SUCCESS)
		return false;
	return alen == blen && !memcmp(a, b, alen);
}
