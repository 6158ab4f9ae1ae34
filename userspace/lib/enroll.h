/* SPDX-License-Identifier: MIT */
/*
 * enroll.h: binding a device's attestation key to its TPM's endorsement key.
 *
 * The verifier side needs only libcrypto and tss2-mu (no TPM): it checks an EK certificate
 * against a directory of trusted CA certificates (TPM vendors' roots and intermediates in
 * production, swtpm's local CA in tests), checks that the certificate certifies the EK public
 * area the device presented, and runs TPM2_MakeCredential in software (TPM 2.0 Library Part 1,
 * 24 "Credential Protection": a seed protected to the EK with RSA-OAEP label "IDENTITY" or
 * ECDH + KDFe, then KDFa-derived AES-128-CFB and HMAC keys bound to the AK's name). The device
 * side (tpm.h: vigil_tpm_ek_read(), vigil_tpm_activate_credential()) recovers the secret with
 * TPM2_ActivateCredential only if the AK is loaded in the same TPM as the EK.
 *
 * Conventions are libvigil's (libvigil.h): 0 or a negative errno, out-parameters written only
 * on success. An EK certificate that does not check is a positive verdict (enum
 * vigil_ek_verdict), never an errno.
 */
#ifndef VIGIL_ENROLL_H
#define VIGIL_ENROLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <tss2/tss2_tpm2_types.h>

/* The TCG EK Credential Profile's NV indices of the low-range EK certificates. */
#define VIGIL_EK_CERT_NV_RSA 0x01c00002u
#define VIGIL_EK_CERT_NV_ECC 0x01c0000au
#define VIGIL_EK_CERT_MAX 4096 /* bytes of DER; real EK certificates are 1-2 KiB */
#define VIGIL_CREDENTIAL_SECRET_SIZE 32

/* Verdicts of vigil_ek_cert_check() (positive, never errnos); names are an interface. */
enum vigil_ek_verdict {
	VIGIL_EK_OK = 0,
	VIGIL_EK_CERT_BAD_FORMAT, /* not one DER X.509 certificate, trailing bytes */
	VIGIL_EK_CERT_UNTRUSTED, /* no chain to a CA in the directory (names the X509 error) */
	VIGIL_EK_CERT_KEY_MISMATCH, /* the certificate certifies another key than the EK given */
	VIGIL_EK_PUBLIC_BAD, /* the EK public area is not an EK (restricted decryption key of the
			      * profile's RSA 2048 or ECC P-256 template) */
};

/**
 * struct vigil_ek_identity - what a checked EK certificate says
 * @ek_hash: SHA-256 of the EK public area's TPMT_PUBLIC marshalling: the device's TPM identity
 * @subject: the certificate's subject, RFC 2253, may be empty (EK certificates often have none)
 * @issuer: its issuer, RFC 2253
 * @serial: its serial number, hex
 * @fingerprint: SHA-256 of the certificate's DER
 * @detail: why a check failed (OpenSSL's X509 verify error string), or ""
 */
struct vigil_ek_identity {
	uint8_t ek_hash[32];
	char subject[256];
	char issuer[256];
	char serial[80];
	uint8_t fingerprint[32];
	char detail[160];
};

const char *vigil_ek_verdict_name(enum vigil_ek_verdict v);
int vigil_ek_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret)
	__attribute__((warn_unused_result));
int vigil_ek_hash(const TPM2B_PUBLIC *ek, uint8_t ret[32]) __attribute__((warn_unused_result));
/*
 * vigil_ek_cert_check() - is @der an EK certificate for @ek from a CA in @ca_dir?
 * @ca_dir: a directory of PEM or DER certificates (roots and intermediates; every regular file
 *	is read, files that are not certificates are ignored); -ENOENT if it holds none
 * @now: the time to check validity at (seconds since the epoch), 0 for the current time
 * @ret: filled on every verdict (fields that could not be read are empty); @detail says why
 * Return: a verdict (VIGIL_EK_OK ...) or a negative errno.
 */
int vigil_ek_cert_check(const uint8_t *der, size_t len, const TPM2B_PUBLIC *ek, const char *ca_dir,
			int64_t now, struct vigil_ek_identity *ret)
	__attribute__((warn_unused_result));
/*
 * vigil_make_credential() - TPM2_MakeCredential in software
 * @ek: the EK public area (RSA 2048 or ECC P-256 with AES-128-CFB symmetric, name alg SHA-256)
 * @ak_name: the AK's name (vigil_ak_name())
 * @secret: the credential to protect, 1..VIGIL_CREDENTIAL_SECRET_SIZE bytes
 * @ret_blob: TPM2B_ID_OBJECT (integrity HMAC || encrypted credential)
 * @ret_seed: TPM2B_ENCRYPTED_SECRET (the seed, encrypted to @ek)
 * The results are exactly what tpm2_makecredential writes (without its file header) and
 * what TPM2_ActivateCredential takes.
 */
int vigil_make_credential(const TPM2B_PUBLIC *ek, const TPM2B_NAME *ak_name, const uint8_t *secret,
			  size_t secret_len, TPM2B_ID_OBJECT *ret_blob,
			  TPM2B_ENCRYPTED_SECRET *ret_seed) __attribute__((warn_unused_result));

#endif /* VIGIL_ENROLL_H */
