/* SPDX-License-Identifier: MIT */
/*
 * quote_builder.h: make TPM2 quotes in software, for tests and fuzzers of the verifier.
 *
 * A software "TPM": an OpenSSL key pair with the public area a real AK of that type would have,
 * and a function that marshals a TPMS_ATTEST of the caller's design and signs it the way a TPM
 * does (hash of the attest bytes, ECDSA r/s or RSA PKCS#1 v1.5 / PSS), so every verifier check,
 * including those after the signature, can be driven with chosen inputs.
 *
 * Invariants: header-only, static functions; aborts on OpenSSL failures (tests only).
 */
#ifndef VIGIL_QUOTE_BUILDER_H
#define VIGIL_QUOTE_BUILDER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "attest.h"

enum qb_kind { QB_ECC256, QB_ECC384, QB_RSASSA, QB_RSAPSS };

struct qb_key {
	EVP_PKEY *pkey; /* private */
	TPM2B_PUBLIC pub;
	TPMT_SIG_SCHEME scheme;
};

static inline void qb_die(const char *what)
{
	fprintf(stderr, "quote_builder: %s failed\n", what);
	abort();
}

static inline void qb_ecc_public(struct qb_key *k, size_t n, uint16_t curve)
{
	uint8_t pt[1 + 2 * 48];
	size_t len = 0;
	TPMT_PUBLIC *p = &k->pub.publicArea;

	if (!EVP_PKEY_get_octet_string_param(k->pkey, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt),
					     &len) ||
	    len != 1 + 2 * n)
		qb_die("EC public point");
	p->type = TPM2_ALG_ECC;
	p->parameters.eccDetail.curveID = curve;
	p->parameters.eccDetail.kdf.scheme = TPM2_ALG_NULL;
	p->parameters.eccDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->parameters.eccDetail.scheme.scheme = TPM2_ALG_ECDSA;
	p->parameters.eccDetail.scheme.details.ecdsa.hashAlg = k->scheme.details.any.hashAlg;
	p->unique.ecc.x.size = p->unique.ecc.y.size = (UINT16)n;
	memcpy(p->unique.ecc.x.buffer, pt + 1, n);
	memcpy(p->unique.ecc.y.buffer, pt + 1 + n, n);
}

static inline void qb_rsa_public(struct qb_key *k)
{
	TPMT_PUBLIC *p = &k->pub.publicArea;
	BIGNUM *n = NULL;

	if (!EVP_PKEY_get_bn_param(k->pkey, OSSL_PKEY_PARAM_RSA_N, &n) ||
	    BN_bn2binpad(n, p->unique.rsa.buffer, 256) != 256)
		qb_die("RSA modulus");
	BN_free(n);
	p->type = TPM2_ALG_RSA;
	p->parameters.rsaDetail.keyBits = 2048;
	p->parameters.rsaDetail.exponent = 0;
	p->parameters.rsaDetail.symmetric.algorithm = TPM2_ALG_NULL;
	p->parameters.rsaDetail.scheme.scheme = k->scheme.scheme;
	p->parameters.rsaDetail.scheme.details.rsassa.hashAlg = k->scheme.details.any.hashAlg;
	p->unique.rsa.size = 256;
}

/* A fresh AK of @kind with the attributes tpm2_createak gives one. */
static inline void qb_key_new(enum qb_kind kind, struct qb_key *k)
{
	memset(k, 0, sizeof(*k));
	k->pub.publicArea.nameAlg = TPM2_ALG_SHA256;
	k->pub.publicArea.objectAttributes =
		TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN |
		TPMA_OBJECT_USERWITHAUTH | TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	k->scheme.details.any.hashAlg = kind == QB_ECC384 ? TPM2_ALG_SHA384 : TPM2_ALG_SHA256;
	k->scheme.scheme = kind == QB_RSASSA ? TPM2_ALG_RSASSA :
			   kind == QB_RSAPSS ? TPM2_ALG_RSAPSS :
					       TPM2_ALG_ECDSA;
	if (kind == QB_ECC256 || kind == QB_ECC384) {
		k->pkey =
			EVP_PKEY_Q_keygen(NULL, NULL, "EC", kind == QB_ECC256 ? "P-256" : "P-384");
		if (!k->pkey)
			qb_die("EC keygen");
		qb_ecc_public(k, kind == QB_ECC256 ? 32 : 48,
			      kind == QB_ECC256 ? TPM2_ECC_NIST_P256 : TPM2_ECC_NIST_P384);
	} else {
		k->pkey = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		if (!k->pkey)
			qb_die("RSA keygen");
		qb_rsa_public(k);
	}
}

static inline void qb_key_free(struct qb_key *k)
{
	EVP_PKEY_free(k->pkey);
	k->pkey = NULL;
}

/* The public half only, as a verifier holds it (from the key, not from the public area). */
static inline EVP_PKEY *qb_public(const struct qb_key *k)
{
	unsigned char *der = NULL;
	const unsigned char *p;
	EVP_PKEY *pub;
	int len = i2d_PUBKEY(k->pkey, &der);

	p = der;
	pub = len > 0 ? d2i_PUBKEY(NULL, &p, len) : NULL;
	OPENSSL_free(der);
	if (!pub)
		qb_die("public key");
	return pub;
}

/* A quote attest structure: selection @sel, pcrDigest over @vals, nonce, clock. */
static inline TPMS_ATTEST qb_attest(const struct qb_key *k, const uint8_t *nonce, size_t nonce_len,
				    const TPML_PCR_SELECTION *sel,
				    const struct vigil_pcr_values *vals)
{
	TPMS_ATTEST a = { .magic = TPM2_GENERATED_VALUE, .type = TPM2_ST_ATTEST_QUOTE };
	size_t len = 0;

	a.qualifiedSigner.size = 34;
	a.extraData.size = (UINT16)nonce_len;
	memcpy(a.extraData.buffer, nonce, nonce_len);
	a.clockInfo = (TPMS_CLOCK_INFO){
		.clock = 100000, .resetCount = 5, .restartCount = 2, .safe = TPM2_YES
	};
	a.firmwareVersion = 0x2019102300163636ull;
	a.attested.quote.pcrSelect = *sel;
	if (vigil_pcr_values_digest(sel, vals, k->scheme.details.any.hashAlg,
				    a.attested.quote.pcrDigest.buffer,
				    sizeof(a.attested.quote.pcrDigest.buffer), &len) < 0)
		qb_die("pcr digest");
	a.attested.quote.pcrDigest.size = (UINT16)len;
	return a;
}

static inline size_t qb_marshal_attest(const TPMS_ATTEST *a, uint8_t *out, size_t size)
{
	size_t off = 0;

	if (Tss2_MU_TPMS_ATTEST_Marshal(a, out, size, &off) != TSS2_RC_SUCCESS)
		qb_die("marshal attest");
	return off;
}

/* Sign @msg as the TPM would with @scheme (normally k->scheme); marshalled TPMT_SIGNATURE. */
static inline size_t qb_sign(const struct qb_key *k, const TPMT_SIG_SCHEME *scheme,
			     const uint8_t *msg, size_t len, uint8_t *out, size_t size)
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	TPMT_SIGNATURE sig = { .sigAlg = scheme->scheme };
	uint8_t raw[512];
	size_t rawlen = sizeof(raw), off = 0;

	if (!md ||
	    EVP_DigestSignInit(md, &pctx,
			       EVP_get_digestbyname(vigil_hash_name(scheme->details.any.hashAlg)),
			       NULL, k->pkey) <= 0)
		qb_die("sign init");
	if (scheme->scheme == TPM2_ALG_RSAPSS &&
	    (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
	     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) <= 0))
		qb_die("pss");
	if (EVP_DigestSign(md, raw, &rawlen, msg, len) <= 0)
		qb_die("sign");
	EVP_MD_CTX_free(md);
	sig.signature.any.hashAlg = scheme->details.any.hashAlg;
	if (scheme->scheme == TPM2_ALG_ECDSA) {
		const unsigned char *p = raw;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)rawlen);
		const BIGNUM *r, *s;
		int n = EVP_PKEY_get_bits(k->pkey) / 8;

		if (!es)
			qb_die("ecdsa der");
		ECDSA_SIG_get0(es, &r, &s);
		sig.signature.ecdsa.signatureR.size = sig.signature.ecdsa.signatureS.size =
			(UINT16)n;
		BN_bn2binpad(r, sig.signature.ecdsa.signatureR.buffer, n);
		BN_bn2binpad(s, sig.signature.ecdsa.signatureS.buffer, n);
		ECDSA_SIG_free(es);
	} else {
		sig.signature.rsassa.sig.size = (UINT16)rawlen;
		memcpy(sig.signature.rsassa.sig.buffer, raw, rawlen);
	}
	if (Tss2_MU_TPMT_SIGNATURE_Marshal(&sig, out, size, &off) != TSS2_RC_SUCCESS)
		qb_die("marshal signature");
	return off;
}

#endif /* VIGIL_QUOTE_BUILDER_H */
