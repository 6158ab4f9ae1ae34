/* SPDX-License-Identifier: MIT */
/*
 * tpm.h: libvigil's device side: open a TPM, create or find the attestation key, quote, read
 * the endorsement key and its certificate, activate an enrollment credential (enroll.h has the
 * verifier's half).
 *
 * The only part of libvigil that talks to a TPM (through ESYS, in tpm.c); this header exposes no
 * ESYS type, so callers need only the TPM2 data types. A TPM failure returns -EIO and leaves the
 * failing operation and its TSS2_RC in the struct vigil_tpm, for Tss2_RC_Decode(); a reply that
 * does not match its request returns -EBADE with the operation named and rc 0.
 */
#ifndef VIGIL_TPM_H
#define VIGIL_TPM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "attest.h"

/* The TCTI used when neither an option nor $TPM2TOOLS_TCTI / $TSS2_TCTI names one. */
#define VIGIL_TCTI_DEFAULT "device:/dev/tpmrm0"

/*
 * The AK's default persistent handle: in the owner range EvictControl accepts with owner
 * authorization (0x81000000-0x817fffff) but outside the blocks the TCG handle registry reserves
 * for storage primary keys (0x810000xx), endorsement keys (0x810100xx: 0x81010001 is the RSA EK,
 * 0x81010002 the ECC P-256 EK) and device identity keys (0x810200xx).
 */
#define VIGIL_AK_HANDLE_DEFAULT 0x81400000u

struct vigil_tpm;

enum vigil_ak_alg {
	VIGIL_AK_ALG_ANY = 0, /* reuse whatever AK is there; create an ECC one if none */
	VIGIL_AK_ALG_ECC, /* ECC NIST P-256, ECDSA SHA-256, under the ECC P-256 EK */
	VIGIL_AK_ALG_RSA, /* RSA 2048, RSASSA SHA-256, under the RSA 2048 EK */
};

/**
 * struct vigil_tpm_ak - an attestation key persisted in the TPM
 * @public: its public area
 * @name: its TPM name (nameAlg || hash of @public's TPMT_PUBLIC)
 * @handle: its persistent handle
 * @created: true if this call created it, false if an existing AK was reused
 */
struct vigil_tpm_ak {
	TPM2B_PUBLIC public;
	TPM2B_NAME name;
	uint32_t handle;
	bool created;
};

/**
 * struct vigil_tpm_quote - what one quote produced
 * @ak: the AK that signed
 * @attest: marshalled TPMS_ATTEST (the TPM2B_ATTEST's content, as tpm2_quote -m writes it)
 * @attest_len: its length
 * @sig: marshalled TPMT_SIGNATURE (as tpm2_quote -s writes it)
 * @sig_len: its length
 * @selection: the quoted PCR selection
 * @pcrs: the PCR values, read after the quote and matching its pcrDigest
 */
struct vigil_tpm_quote {
	struct vigil_tpm_ak ak;
	uint8_t attest[sizeof(TPMS_ATTEST)];
	size_t attest_len;
	uint8_t sig[sizeof(TPMT_SIGNATURE)];
	size_t sig_len;
	TPML_PCR_SELECTION selection;
	struct vigil_pcr_values pcrs;
};

int vigil_tpm_open(const char *tcti, struct vigil_tpm **ret, uint32_t *ret_rc)
	__attribute__((warn_unused_result));
void vigil_tpm_free(struct vigil_tpm *t);
void vigil_tpm_freep(struct vigil_tpm **t);
const char *vigil_tpm_error(const struct vigil_tpm *t, uint32_t *ret_rc);
const char *vigil_tpm_tcti(const char *option);
int vigil_tpm_ak_create(struct vigil_tpm *t, enum vigil_ak_alg alg, uint32_t handle,
			struct vigil_tpm_ak *ret) __attribute__((warn_unused_result));
int vigil_tpm_quote(struct vigil_tpm *t, uint32_t handle, const uint8_t *nonce, size_t nonce_len,
		    const TPML_PCR_SELECTION *sel, struct vigil_tpm_quote *ret)
	__attribute__((warn_unused_result));
int vigil_tpm_ek_read(struct vigil_tpm *t, enum vigil_ak_alg alg, TPM2B_PUBLIC *ret_ek,
		      uint8_t **ret_cert, size_t *ret_cert_len) __attribute__((warn_unused_result));
int vigil_tpm_activate_credential(struct vigil_tpm *t, uint32_t ak_handle, enum vigil_ak_alg ek_alg,
				  const TPM2B_ID_OBJECT *blob, const TPM2B_ENCRYPTED_SECRET *seed,
				  uint8_t *ret_secret, size_t size, size_t *ret_len)
	__attribute__((warn_unused_result));

/*
 * The templates of the EK (TCG EK Credential Profile L-1 / L-2) and of vigil's AK, in
 * ek_template.c: no ESYS there, the verifier (enroll.c) checks presented EKs against them.
 */
TPMT_PUBLIC vigil_key_template(enum vigil_ak_alg alg, bool ek);
bool vigil_key_template_match(const TPMT_PUBLIC *tmpl, const TPMT_PUBLIC *got);

#endif /* VIGIL_TPM_H */
