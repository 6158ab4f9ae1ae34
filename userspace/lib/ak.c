// SPDX-License-Identifier: MIT
/*
 * ak.c: attestation key (AK) public areas and public keys.
 *
 * An AK is a TPM key that signs only what the TPM itself generated (restricted), cannot leave
 * its TPM (fixedTPM, fixedParent), was generated inside it (sensitiveDataOrigin) and carries one
 * signing scheme in its public area. The public area (TPMT_PUBLIC) is what `vigil ak create`
 * produces and what evidence carries; the verifier's trusted copy is a PEM public key, so this
 * file converts between the two, computes the TPM name and a key id, and names the one scheme a
 * key's signatures must use.
 *
 * Invariants: a public area accepted by vigil_ak_public_parse() re-marshals to exactly the
 * bytes given; vigil_ak_public_check() accepts only RSA (2048/3072/4096, RSASSA or RSAPSS) and
 * ECC (P-256/P-384, ECDSA) restricted signing keys with SHA-256/384/512.
 */
#include <errno.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"

static inline void OSSL_PARAM_BLD_freep(OSSL_PARAM_BLD **p)
{
	OSSL_PARAM_BLD_free(*p);
}

static inline void OSSL_PARAM_freep(OSSL_PARAM **p)
{
	OSSL_PARAM_free(*p);
}

static inline void BN_freep(BIGNUM **p)
{
	BN_free(*p);
}

#define AK_ATTRS_SET                                                                        \
	(TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT | TPMA_OBJECT_SENSITIVEDATAORIGIN | \
	 TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT)

/**
 * vigil_ak_public_parse() - unmarshal a TPM2B_PUBLIC strictly
 * @buf: the marshalled TPM2B_PUBLIC (what tpm2_createak -u writes)
 * @len: its length
 * @ret: on success, the public area
 *
 * Return: 0, or -EBADMSG if @buf is not exactly one canonical TPM2B_PUBLIC (trailing bytes,
 * inner size mismatch, unknown algorithms).
 */
int vigil_ak_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret)
{
	uint8_t again[sizeof(TPM2B_PUBLIC)];
	TPM2B_PUBLIC pub = { 0 };
	size_t off = 0, off2 = 0;

	if (Tss2_MU_TPM2B_PUBLIC_Unmarshal(buf, len, &off, &pub) != TSS2_RC_SUCCESS || off != len)
		return -EBADMSG;
	if (Tss2_MU_TPM2B_PUBLIC_Marshal(&pub, again, sizeof(again), &off2) != TSS2_RC_SUCCESS ||
	    off2 != len || memcmp(again, buf, len) != 0)
		return -EBADMSG;
	*ret = pub;
	return 0;
}

static int check_ecc(const TPMS_ECC_PARMS *p)
{
	if (p->curveID != TPM2_ECC_NIST_P256 && p->curveID != TPM2_ECC_NIST_P384)
		return -EKEYREJECTED;
	if (p->scheme.scheme != TPM2_ALG_ECDSA || p->kdf.scheme != TPM2_ALG_NULL)
		return -EKEYREJECTED;
	return vigil_hash_size(p->scheme.details.ecdsa.hashAlg) > 20 ? 0 : -EKEYREJECTED;
}

static int check_rsa(const TPMS_RSA_PARMS *p)
{
	if (p->keyBits != 2048 && p->keyBits != 3072 && p->keyBits != 4096)
		return -EKEYREJECTED;
	if (p->scheme.scheme != TPM2_ALG_RSASSA && p->scheme.scheme != TPM2_ALG_RSAPSS)
		return -EKEYREJECTED;
	return vigil_hash_size(p->scheme.details.rsassa.hashAlg) > 20 ? 0 : -EKEYREJECTED;
}

/**
 * vigil_ak_public_check() - is a public area an attestation key vigil accepts?
 * @pub: the public area
 *
 * Return: 0 if @pub is a restricted, fixedTPM, fixedParent, TPM-generated signing key (not a
 * decryption key) with a supported type, size and scheme; -EKEYREJECTED otherwise.
 */
int vigil_ak_public_check(const TPMT_PUBLIC *pub)
{
	if ((pub->objectAttributes & AK_ATTRS_SET) != AK_ATTRS_SET ||
	    (pub->objectAttributes & TPMA_OBJECT_DECRYPT) || !vigil_hash_size(pub->nameAlg))
		return -EKEYREJECTED;
	if (pub->parameters.asymDetail.symmetric.algorithm != TPM2_ALG_NULL)
		return -EKEYREJECTED;
	if (pub->type == TPM2_ALG_ECC)
		return check_ecc(&pub->parameters.eccDetail);
	if (pub->type == TPM2_ALG_RSA)
		return check_rsa(&pub->parameters.rsaDetail);
	return -EKEYREJECTED;
}

/**
 * vigil_ak_name() - the TPM name of a public area: nameAlg || H_nameAlg(TPMT_PUBLIC)
 * @pub: the public area
 * @ret: on success, the name
 *
 * Return: 0, -EINVAL (unsupported nameAlg or unmarshallable area) or -EIO.
 */
int vigil_ak_name(const TPMT_PUBLIC *pub, TPM2B_NAME *ret)
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t len = 0, hsize = vigil_hash_size(pub->nameAlg);
	TPM2B_NAME name = { .size = (UINT16)(2 + hsize) };
	int r;

	if (!hsize || Tss2_MU_TPMT_PUBLIC_Marshal(pub, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
		return -EINVAL;
	name.name[0] = (uint8_t)(pub->nameAlg >> 8);
	name.name[1] = (uint8_t)pub->nameAlg;
	r = vigil_hash_digest(pub->nameAlg, buf, len, name.name + 2, sizeof(name.name) - 2);
	if (r < 0)
		return r;
	*ret = name;
	return 0;
}

static int pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld, EVP_PKEY **ret)
{
	_cleanup_(OSSL_PARAM_freep) OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	_cleanup_(EVP_PKEY_CTX_freep)
		EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;

	if (!params || !ctx)
		return -ENOMEM;
	if (EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		return -EBADMSG;
	*ret = pkey;
	return 0;
}

static int ecc_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	const TPMS_ECC_POINT *pt = &pub->unique.ecc;
	size_t n = pub->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ? 32 : 48;
	uint8_t point[1 + 2 * 48];

	if (!bld)
		return -ENOMEM;
	if (pt->x.size != n || pt->y.size != n)
		return -EBADMSG;
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, pt->x.buffer, n);
	memcpy(point + 1 + n, pt->y.buffer, n);
	if (!OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
					     n == 32 ? "prime256v1" : "secp384r1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * n))
		return -ENOMEM;
	return pkey_fromdata("EC", bld, ret);
}

static int rsa_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret)
{
	_cleanup_(OSSL_PARAM_BLD_freep) OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	_cleanup_(BN_freep) BIGNUM *n = NULL;
	_cleanup_(BN_freep) BIGNUM *e = NULL;
	uint32_t exp = pub->parameters.rsaDetail.exponent;

	if (!bld)
		return -ENOMEM;
	if (pub->unique.rsa.size != pub->parameters.rsaDetail.keyBits / 8)
		return -EBADMSG;
	n = BN_bin2bn(pub->unique.rsa.buffer, pub->unique.rsa.size, NULL);
	e = BN_new();
	if (!n || !e || !BN_set_word(e, exp ? exp : 65537))
		return -ENOMEM;
	if (!OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e))
		return -ENOMEM;
	return pkey_fromdata("RSA", bld, ret);
}

/**
 * vigil_tpm_public_to_pkey() - the public key of any RSA or ECC P-256/P-384 public area,
 * without the checks of what kind of key it is (vigil_ak_to_pkey() for an AK; enroll.c checks
 * an EK against its template first)
 * @pub: the public area
 * @ret: on success, the key; release with EVP_PKEY_free()
 *
 * Return: 0; -EKEYREJECTED for another type or curve; -EBADMSG if the key material is
 * malformed (sizes that do not match, a point not on the curve); -ENOMEM.
 */
int vigil_tpm_public_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret)
{
	if (pub->type == TPM2_ALG_ECC && (pub->parameters.eccDetail.curveID == TPM2_ECC_NIST_P256 ||
					  pub->parameters.eccDetail.curveID == TPM2_ECC_NIST_P384))
		return ecc_to_pkey(pub, ret);
	if (pub->type == TPM2_ALG_RSA)
		return rsa_to_pkey(pub, ret);
	return -EKEYREJECTED;
}

/**
 * vigil_ak_to_pkey() - the public key of a public area
 * @pub: a public area that passed vigil_ak_public_check()
 * @ret: on success, the key; release with EVP_PKEY_free()
 *
 * Return: 0; -EKEYREJECTED for a public area vigil does not accept; -EBADMSG if the key
 * material is malformed (wrong sizes, point not on the curve); -ENOMEM.
 */
int vigil_ak_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret)
{
	if (vigil_ak_public_check(pub) < 0)
		return -EKEYREJECTED;
	return vigil_tpm_public_to_pkey(pub, ret);
}

/**
 * vigil_ak_scheme() - the signing scheme a public area binds
 * @pub: a public area that passed vigil_ak_public_check()
 * @ret: on success, the scheme and its hash
 *
 * Return: 0, or -EKEYREJECTED.
 */
int vigil_ak_scheme(const TPMT_PUBLIC *pub, TPMT_SIG_SCHEME *ret)
{
	if (vigil_ak_public_check(pub) < 0)
		return -EKEYREJECTED;
	if (pub->type == TPM2_ALG_ECC) {
		ret->scheme = pub->parameters.eccDetail.scheme.scheme;
		ret->details.any.hashAlg = pub->parameters.eccDetail.scheme.details.anySig.hashAlg;
	} else {
		ret->scheme = pub->parameters.rsaDetail.scheme.scheme;
		ret->details.any.hashAlg = pub->parameters.rsaDetail.scheme.details.anySig.hashAlg;
	}
	return 0;
}

/**
 * vigil_ak_default_scheme() - the scheme assumed for a bare public key
 * @pkey: the AK public key
 * @ret: on success, ECDSA for EC keys, RSASSA for RSA keys, both with SHA-256 (what
 *	tpm2_createak makes by default)
 *
 * Return: 0, or -EKEYREJECTED for other key types.
 */
int vigil_ak_default_scheme(const EVP_PKEY *pkey, TPMT_SIG_SCHEME *ret)
{
	if (EVP_PKEY_is_a(pkey, "EC"))
		ret->scheme = TPM2_ALG_ECDSA;
	else if (EVP_PKEY_is_a(pkey, "RSA"))
		ret->scheme = TPM2_ALG_RSASSA;
	else
		return -EKEYREJECTED;
	ret->details.any.hashAlg = TPM2_ALG_SHA256;
	return 0;
}

/**
 * vigil_scheme_parse() - parse a signing scheme "ecdsa|rsassa|rsapss[:HASH]"
 * @spec: the text; HASH defaults to sha256
 * @ret: on success, the scheme
 *
 * Return: 0, or -EINVAL.
 */
int vigil_scheme_parse(const char *spec, TPMT_SIG_SCHEME *ret)
{
	static const struct {
		const char *name;
		uint16_t alg;
	} schemes[] = { { "ecdsa", TPM2_ALG_ECDSA },
			{ "rsassa", TPM2_ALG_RSASSA },
			{ "rsapss", TPM2_ALG_RSAPSS } };
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	uint16_t hash = TPM2_ALG_SHA256;

	if (colon && vigil_hash_from_name(colon + 1, &hash) < 0)
		return -EINVAL;
	if (vigil_hash_size(hash) <= 20)
		return -EINVAL;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strlen(schemes[i].name) == len && !strncmp(spec, schemes[i].name, len)) {
			ret->scheme = schemes[i].alg;
			ret->details.any.hashAlg = hash;
			return 0;
		}
	return -EINVAL;
}

static int check_pkey(EVP_PKEY *pkey)
{
	char group[32] = "";
	size_t len = 0;

	if (EVP_PKEY_is_a(pkey, "RSA"))
		return EVP_PKEY_get_bits(pkey) >= 2048 ? 0 : -EKEYREJECTED;
	if (!EVP_PKEY_is_a(pkey, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    &len))
		return -EKEYREJECTED;
	return !strcmp(group, "prime256v1") || !strcmp(group, "secp384r1") ? 0 : -EKEYREJECTED;
}

/**
 * vigil_ak_pem_parse() - read an AK public key in PEM (SubjectPublicKeyInfo)
 * @pem: the PEM text
 * @len: its length
 * @ret: on success, the key; release with EVP_PKEY_free()
 *
 * Return: 0; -EBADMSG if @pem holds no public key; -EKEYREJECTED for a key that cannot be an AK
 * (not RSA >= 2048 bits or ECC P-256/P-384); -ENOMEM.
 */
int vigil_ak_pem_parse(const uint8_t *pem, size_t len, EVP_PKEY **ret)
{
	_cleanup_(BIO_freep) BIO *bio = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;

	if (len > INT32_MAX)
		return -EBADMSG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!pkey)
		return -EBADMSG;
	if (check_pkey(pkey) < 0)
		return -EKEYREJECTED;
	*ret = TAKE_PTR(pkey);
	return 0;
}

/**
 * vigil_ak_pem_format() - write a public key as PEM (SubjectPublicKeyInfo)
 * @pkey: the key
 * @ret: on success, the NUL-terminated PEM text; free() it
 *
 * Return: 0, -EIO or -ENOMEM.
 */
int vigil_ak_pem_format(EVP_PKEY *pkey, char **ret)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
	char *data, *out;
	long len;

	if (!bio)
		return -ENOMEM;
	if (!PEM_write_bio_PUBKEY(bio, pkey))
		return -EIO;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0)
		return -EIO;
	out = strndup(data, (size_t)len);
	if (!out)
		return -ENOMEM;
	*ret = out;
	return 0;
}

/**
 * vigil_ak_keyid() - a stable identifier of a public key: SHA-256 of its DER
 *	SubjectPublicKeyInfo
 * @pkey: the key
 * @ret: on success, the 32-byte key id
 *
 * The same key gives the same id whether it came from a PEM file or from a TPM public area, so
 * evidence and tpm2-tools files verified with one AK share one verifier state.
 *
 * Return: 0, -EIO or -ENOMEM.
 */
int vigil_ak_keyid(EVP_PKEY *pkey, uint8_t ret[VIGIL_AK_KEYID_SIZE])
{
	unsigned char *der = NULL;
	int len = i2d_PUBKEY(pkey, &der);
	int r;

	if (len <= 0)
		return -EIO;
	r = vigil_hash_digest(TPM2_ALG_SHA256, der, (size_t)len, ret, VIGIL_AK_KEYID_SIZE);
	OPENSSL_free(der);
	return r;
}
