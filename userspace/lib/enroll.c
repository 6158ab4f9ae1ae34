// SPDX-License-Identifier: MIT
/*
 * enroll.c: the verifier's half of enrollment (enroll.h): is a presented public area an EK, does
 * its certificate chain to a trusted CA and certify that key, and TPM2_MakeCredential in
 * software so that only the TPM holding that EK (and the AK named) can recover a secret.
 * libcrypto and tss2-mu only: no TPM, no ESYS.
 *
 * Trust model of the CA directory: a self-signed certificate in it is a trust anchor (a root);
 * every other certificate in it is only an untrusted chain element (an intermediate), usable to
 * build a path to a root but never trusted on its own. A directory of intermediates without
 * their root therefore trusts nothing. Chain building and validity times are OpenSSL's, with no
 * partial chains. EK certificates carry TCG extensions; OpenSSL handles a critical
 * subjectAltName (the TPM manufacturer's directoryName), but some vendors also mark the
 * subjectDirectoryAttributes (TPM specification) or TCG-defined (2.23.133.*) extensions
 * critical, which OpenSSL would reject as unhandled: those two, and only on the EK certificate
 * itself, are accepted. Any other unhandled critical extension, and any on a CA, fails.
 *
 * MakeCredential follows TPM 2.0 Library Part 1, 24 "Credential Protection", with the EK's
 * nameAlg SHA-256 and symmetric AES-128-CFB (the only EKs accepted): a 32-byte seed, protected
 * to the EK by RSA-OAEP (SHA-256, label "IDENTITY\0") or ECDH with an ephemeral P-256 key and
 * KDFe (11.4.10.3); symKey = KDFa(seed, "STORAGE", name(AK)) 128 bits, HMACkey = KDFa(seed,
 * "INTEGRITY") 256 bits (11.4.10.2); the credential (a marshalled TPM2B_DIGEST) is encrypted
 * with AES-128-CFB and a zero IV and the outer HMAC covers the ciphertext || name(AK).
 *
 * Invariants: an EK accepted by vigil_ek_public_parse() re-marshals to exactly its input, has
 * the profile's template (vigil_key_template()) and a usable key of the template's size (an RSA
 * 2048 modulus, a P-256 point on the curve); every seed, derived key and plaintext credential
 * is wiped before its memory is released.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"
#include "enroll.h"
#include "tpm.h"

#define CA_FILES_MAX 1024 /* directory entries read */
#define CA_FILE_MAX (1u << 20) /* bytes per file */
#define CA_CERTS_MAX 4096 /* certificates in all */
#define SEED_SIZE 32 /* the EK's nameAlg digest size */
#define SYM_KEY_SIZE 16 /* AES-128 */

/* The label of credential protection, with its terminating NUL (Part 1, 24.4 and 11.4.10). */
static const uint8_t identity_label[] = "IDENTITY";

/* STACK_OF(X509), spelled as a type clang-format recognizes. */
typedef STACK_OF(X509) x509_stack;

static inline void X509_freep(X509 **p)
{
	X509_free(*p);
}

static inline void X509_STORE_freep(X509_STORE **p)
{
	X509_STORE_free(*p);
}

static inline void X509_STORE_CTX_freep(X509_STORE_CTX **p)
{
	X509_STORE_CTX_free(*p);
}

static inline void sk_X509_pop_freep(x509_stack **p)
{
	sk_X509_pop_free(*p, X509_free);
}

static inline void BN_freep(BIGNUM **p)
{
	BN_free(*p);
}

static inline void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}

static inline void EVP_CIPHER_CTX_freep(EVP_CIPHER_CTX **p)
{
	EVP_CIPHER_CTX_free(*p);
}

/**
 * vigil_ek_verdict_name() - the stable name of an EK certificate verdict
 * @v: the verdict
 *
 * Return: e.g. "untrusted"; "unknown" for a value outside the enum.
 */
const char *vigil_ek_verdict_name(enum vigil_ek_verdict v)
{
	static const char *const names[] = {
		[VIGIL_EK_OK] = "ok",
		[VIGIL_EK_CERT_BAD_FORMAT] = "cert_bad_format",
		[VIGIL_EK_CERT_UNTRUSTED] = "untrusted",
		[VIGIL_EK_CERT_KEY_MISMATCH] = "key_mismatch",
		[VIGIL_EK_PUBLIC_BAD] = "ek_public_bad",
	};

	return (unsigned int)v <= VIGIL_EK_PUBLIC_BAD ? names[v] : "unknown";
}

/*
 * Is @pub an EK of the profile's low-range templates, with a usable key? Returns its public
 * key if @ret is not NULL. -EKEYREJECTED for anything else (-ENOMEM stays -ENOMEM).
 */
static int ek_check(const TPMT_PUBLIC *pub, EVP_PKEY **ret)
{
	enum vigil_ak_alg alg = pub->type == TPM2_ALG_RSA ? VIGIL_AK_ALG_RSA : VIGIL_AK_ALG_ECC;
	TPMT_PUBLIC tmpl = vigil_key_template(alg, true);
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	int r;

	if (pub->type != TPM2_ALG_RSA && pub->type != TPM2_ALG_ECC)
		return -EKEYREJECTED;
	if (!vigil_key_template_match(&tmpl, pub))
		return -EKEYREJECTED;
	/* an RSA modulus of full size and odd (the template fixed 2048 bits, P-256) */
	if (alg == VIGIL_AK_ALG_RSA &&
	    (pub->unique.rsa.size != 256 || !(pub->unique.rsa.buffer[0] & 0x80) ||
	     !(pub->unique.rsa.buffer[255] & 1)))
		return -EKEYREJECTED;
	r = vigil_tpm_public_to_pkey(pub, &pkey);
	if (r < 0)
		return r == -ENOMEM ? r : -EKEYREJECTED;
	if (ret)
		*ret = TAKE_PTR(pkey);
	return 0;
}

/**
 * vigil_ek_public_parse() - unmarshal an endorsement key's public area strictly
 * @buf: a marshalled TPM2B_PUBLIC (what tpm2_createek -u writes)
 * @len: its length
 * @ret: on success, the public area
 *
 * Accepts only the TCG EK Credential Profile's low-range EKs (RSA 2048 template L-1, ECC NIST
 * P-256 template L-2: restricted decryption keys, AES-128-CFB, nameAlg SHA-256, the profile's
 * authPolicy) with a key of the right size that OpenSSL accepts.
 *
 * Return: 0; -EBADMSG if @buf is not exactly one canonical TPM2B_PUBLIC; -EKEYREJECTED if it is
 * not such an EK; -ENOMEM.
 */
int vigil_ek_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret)
{
	TPM2B_PUBLIC pub;
	int r;

	if (!buf || !ret)
		return -EINVAL;
	r = vigil_ak_public_parse(buf, len, &pub);
	if (r < 0)
		return r;
	r = ek_check(&pub.publicArea, NULL);
	if (r < 0)
		return r;
	*ret = pub;
	return 0;
}

/**
 * vigil_ek_hash() - the device's TPM identity: SHA-256 of the EK's marshalled TPMT_PUBLIC
 * @ek: the EK public area
 * @ret: on success, the digest (the EK's name without its algorithm prefix)
 *
 * Return: 0, -EINVAL if @ek does not marshal, -EIO.
 */
int vigil_ek_hash(const TPM2B_PUBLIC *ek, uint8_t ret[32])
{
	uint8_t buf[sizeof(TPMT_PUBLIC)];
	size_t len = 0;

	if (!ek ||
	    Tss2_MU_TPMT_PUBLIC_Marshal(&ek->publicArea, buf, sizeof(buf), &len) != TSS2_RC_SUCCESS)
		return -EINVAL;
	return vigil_hash_digest(TPM2_ALG_SHA256, buf, len, ret, 32);
}

/* Exactly one DER certificate, no trailing bytes; NULL if not. */
static X509 *cert_parse(const uint8_t *der, size_t len)
{
	const unsigned char *p = der;
	X509 *x;

	if (len == 0 || len > VIGIL_EK_CERT_MAX)
		return NULL;
	ERR_set_mark();
	x = d2i_X509(NULL, &p, (long)len);
	(void)ERR_pop_to_mark();
	if (x && p != der + len) {
		X509_free(x);
		return NULL;
	}
	return x;
}

/* Root or intermediate (see the head of the file); takes @x. */
static int ca_add(X509 *x, X509_STORE *store, x509_stack *untrusted, size_t *count)
{
	_cleanup_(X509_freep) X509 *owned = x;

	if (++*count > CA_CERTS_MAX)
		return -E2BIG;
	if (X509_self_signed(x, 0) == 1)
		return X509_STORE_add_cert(store, x) == 1 ? 0 : -ENOMEM;
	if (!sk_X509_push(untrusted, x))
		return -ENOMEM;
	owned = NULL;
	return 0;
}

/* The certificates of one file, PEM (any number) or DER (one); anything else adds none. */
static int ca_file(const uint8_t *buf, size_t len, X509_STORE *store, x509_stack *untrusted,
		   size_t *count)
{
	_cleanup_(BIO_freep) BIO *bio = NULL;
	X509 *x;
	int r = 0;

	if (!memmem(buf, len, "-----BEGIN", 10)) {
		x = cert_parse(buf, len);
		return x ? ca_add(x, store, untrusted, count) : 0;
	}
	bio = BIO_new_mem_buf(buf, (int)len);
	if (!bio)
		return -ENOMEM;
	ERR_set_mark();
	while (r == 0 && (x = PEM_read_bio_X509(bio, NULL, NULL, NULL)))
		r = ca_add(x, store, untrusted, count);
	(void)ERR_pop_to_mark(); /* the end of the file, or a PEM block that is no certificate */
	return r;
}

/* Every regular file of @dir (following links, skipping dot files) into @store / @untrusted. */
static int ca_dir_load(const char *dir, X509_STORE *store, x509_stack *untrusted, size_t *ret_count)
{
	_cleanup_(closedirp) DIR *d = opendir(dir);
	const struct dirent *de;
	size_t files = 0, count = 0;
	char path[PATH_MAX];
	struct stat st;
	int r;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len = 0;

		if (de->d_name[0] == '.')
			continue;
		if (++files > CA_FILES_MAX)
			return -E2BIG;
		if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= sizeof(path))
			return -ENAMETOOLONG;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
			continue;
		r = vigil_file_read(path, CA_FILE_MAX, &buf, &len);
		if (r == -EFBIG)
			continue; /* no certificate file is that large */
		if (r == 0)
			r = ca_file(buf, len, store, untrusted, &count);
		if (r < 0)
			return r;
	}
	*ret_count = count;
	return 0;
}

/* The critical extensions OpenSSL does not handle on @x are all TCG ones (head of the file). */
static bool only_tcg_critical(X509 *x)
{
	char oid[64];

	for (int i = 0; i < X509_get_ext_count(x); i++) {
		X509_EXTENSION *ext = X509_get_ext(x, i);

		if (!X509_EXTENSION_get_critical(ext) || X509_supported_extension(ext))
			continue;
		if (OBJ_obj2txt(oid, sizeof(oid), X509_EXTENSION_get_object(ext), 1) <= 0)
			return false;
		if (strcmp(oid, "2.5.29.9") != 0 && strncmp(oid, "2.23.133.", 9) != 0)
			return false;
	}
	return true;
}

static int verify_cb(int ok, X509_STORE_CTX *ctx)
{
	if (!ok && X509_STORE_CTX_get_error(ctx) == X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION &&
	    X509_STORE_CTX_get_error_depth(ctx) == 0 &&
	    only_tcg_critical(X509_STORE_CTX_get_current_cert(ctx)))
		return 1;
	return ok;
}

/* Verify @cert against the CAs of @dir at @now: *ret_err is X509_V_OK or why not. */
static int chain_check(X509 *cert, const char *dir, int64_t now, int *ret_err)
{
	_cleanup_(X509_STORE_freep) X509_STORE *store = X509_STORE_new();
	_cleanup_(sk_X509_pop_freep) x509_stack *untrusted = sk_X509_new_null();
	_cleanup_(X509_STORE_CTX_freep) X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	size_t count = 0;
	int r;

	if (!store || !untrusted || !ctx)
		return -ENOMEM;
	r = ca_dir_load(dir, store, untrusted, &count);
	if (r < 0)
		return r;
	if (count == 0)
		return -ENOENT;
	if (X509_STORE_CTX_init(ctx, store, cert, untrusted) != 1)
		return -ENOMEM;
	if (now)
		X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)now);
	X509_STORE_CTX_set_verify_cb(ctx, verify_cb);
	ERR_set_mark();
	r = X509_verify_cert(ctx);
	(void)ERR_pop_to_mark();
	if (r < 0)
		return -ENOMEM;
	*ret_err = r == 1 ? X509_V_OK : X509_STORE_CTX_get_error(ctx);
	if (*ret_err == X509_V_OK && r != 1)
		*ret_err = X509_V_ERR_UNSPECIFIED;
	return 0;
}

/* @name in RFC 2253 form, truncated to @size - 1 characters (escapes keep it printable). */
static void name_format(const X509_NAME *name, char *out, size_t size)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	long len;

	out[0] = '\0';
	if (!bio || X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253) < 0)
		return;
	len = BIO_get_mem_data(bio, &data);
	if (len <= 0 || !data)
		return;
	if ((size_t)len >= size)
		len = (long)size - 1;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
}

static void serial_format(const X509 *cert, char *out, size_t size)
{
	_cleanup_(BN_freep) BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;

	out[0] = '\0';
	if (!hex)
		return;
	snprintf(out, size, "%s", hex);
	for (char *p = out; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	OPENSSL_free(hex);
}

/* Does @cert certify @pkey? 1 yes, 0 no. */
static int key_match(X509 *cert, const EVP_PKEY *pkey)
{
	const EVP_PKEY *got = X509_get0_pubkey(cert);
	int r;

	if (!got)
		return 0;
	ERR_set_mark();
	r = EVP_PKEY_eq(got, pkey);
	(void)ERR_pop_to_mark();
	return r == 1;
}

static int verdict(struct vigil_ek_identity *ret, struct vigil_ek_identity *id,
		   enum vigil_ek_verdict v, const char *detail)
{
	snprintf(id->detail, sizeof(id->detail), "%s", detail);
	*ret = *id;
	return (int)v;
}

/**
 * vigil_ek_cert_check() - is @der an EK certificate for @ek from a CA in @ca_dir?
 * @der: the certificate, exactly one DER X.509 certificate of at most VIGIL_EK_CERT_MAX bytes
 * @len: its length
 * @ek: the EK public area the device presented
 * @ca_dir: a directory of PEM (any number per file) or DER certificates; self-signed ones are
 *	the roots, the others untrusted intermediates (head of this file); files that are not
 *	certificates, dot files and anything but regular files are ignored
 * @now: the time to check validity at (seconds since the epoch), 0 for the current time
 * @ret: filled on every verdict (fields that could not be read are empty); @ret->detail says
 *	why a check failed (for VIGIL_EK_CERT_UNTRUSTED, OpenSSL's verify error string)
 *
 * Checks in this order: the certificate's format, the EK's form (vigil_ek_public_parse()'s
 * checks), the chain to a root in @ca_dir at @now, and that the certificate's public key is
 * the EK's.
 *
 * Return: a verdict (VIGIL_EK_OK ...) or a negative errno: -EINVAL for NULL arguments or a
 * negative @now; -ENOENT if @ca_dir holds no certificate; -E2BIG if it holds too many files
 * (1024) or certificates (4096); the errno of reading it; -ENOMEM.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): enroll.h's order */
int vigil_ek_cert_check(const uint8_t *der, size_t len, const TPM2B_PUBLIC *ek, const char *ca_dir,
			int64_t now, struct vigil_ek_identity *ret)
{
	struct vigil_ek_identity id = { 0 };
	_cleanup_(X509_freep) X509 *cert = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	int r, err = X509_V_OK;

	if (!der || !ek || !ca_dir || !ret || now < 0)
		return -EINVAL;
	if (vigil_ek_hash(ek, id.ek_hash) < 0)
		memset(id.ek_hash, 0, sizeof(id.ek_hash));
	cert = cert_parse(der, len);
	if (!cert)
		return verdict(ret, &id, VIGIL_EK_CERT_BAD_FORMAT, "not one DER X.509 certificate");
	name_format(X509_get_subject_name(cert), id.subject, sizeof(id.subject));
	name_format(X509_get_issuer_name(cert), id.issuer, sizeof(id.issuer));
	serial_format(cert, id.serial, sizeof(id.serial));
	r = vigil_hash_digest(TPM2_ALG_SHA256, der, len, id.fingerprint, sizeof(id.fingerprint));
	if (r < 0)
		return r;
	r = ek_check(&ek->publicArea, &pkey);
	if (r == -EKEYREJECTED)
		return verdict(ret, &id, VIGIL_EK_PUBLIC_BAD,
			       "not an RSA 2048 or ECC P-256 EK of the TCG profile");
	if (r < 0)
		return r;
	r = chain_check(cert, ca_dir, now, &err);
	if (r < 0)
		return r;
	if (err != X509_V_OK)
		return verdict(ret, &id, VIGIL_EK_CERT_UNTRUSTED,
			       X509_verify_cert_error_string(err));
	if (!key_match(cert, pkey))
		return verdict(ret, &id, VIGIL_EK_CERT_KEY_MISMATCH,
			       "the certificate certifies another key than the EK");
	return verdict(ret, &id, VIGIL_EK_OK, "");
}

static void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/*
 * KDFa (Part 1, 11.4.10.2) with HMAC-SHA-256 for at most one block (bits <= 256):
 * HMAC(key, [1]32 || label || 0x00 || contextU || [bits]32), contextV empty.
 */
static int kdfa(const uint8_t key[SEED_SIZE], const char *label, const TPM2B_NAME *context,
		uint32_t bits, uint8_t *out)
{
	uint8_t in[4 + 16 + sizeof(TPMU_NAME) + 4], mac[EVP_MAX_MD_SIZE];
	size_t llen = strlen(label) + 1, ulen = context ? context->size : 0, n = 0;
	unsigned int maclen = 0;

	if (bits == 0 || bits > 256 || bits % 8 || llen > 16 || ulen > sizeof(TPMU_NAME))
		return -EINVAL;
	put_be32(in, 1);
	n = 4;
	memcpy(in + n, label, llen);
	n += llen;
	if (ulen)
		memcpy(in + n, context->name, ulen);
	n += ulen;
	put_be32(in + n, bits);
	n += 4;
	if (!HMAC(EVP_sha256(), key, SEED_SIZE, in, n, mac, &maclen) || maclen != 32)
		return -EIO;
	memcpy(out, mac, bits / 8);
	OPENSSL_cleanse(mac, sizeof(mac));
	return 0;
}

/* RSA: a random seed, RSA-OAEP(SHA-256, label "IDENTITY\0") to the EK. */
static int seed_rsa(EVP_PKEY *ek, uint8_t seed[SEED_SIZE], TPM2B_ENCRYPTED_SECRET *out)
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(ek, NULL);
	void *label = OPENSSL_memdup(identity_label, sizeof(identity_label));
	size_t len = sizeof(out->secret);

	if (!ctx || !label) {
		OPENSSL_free(label);
		return -ENOMEM;
	}
	if (RAND_priv_bytes(seed, SEED_SIZE) != 1) {
		OPENSSL_free(label);
		return -EIO;
	}
	if (EVP_PKEY_encrypt_init(ctx) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_OAEP_PADDING) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_oaep_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set_rsa_mgf1_md(ctx, EVP_sha256()) <= 0 ||
	    EVP_PKEY_CTX_set0_rsa_oaep_label(ctx, label, sizeof(identity_label)) <= 0) {
		OPENSSL_free(label);
		return -EIO;
	}
	/* the context owns the label now */
	if (EVP_PKEY_encrypt(ctx, out->secret, &len, seed, SEED_SIZE) <= 0 || len != 256)
		return -EIO;
	out->size = (UINT16)len;
	return 0;
}

/*
 * KDFe (Part 1, 11.4.10.3) for one SHA-256 block:
 * SHA-256([1]32 || Z || "IDENTITY\0" || partyUInfo || partyVInfo).
 */
static int kdfe(const uint8_t z[32], const uint8_t u[32], const uint8_t v[32],
		uint8_t seed[SEED_SIZE])
{
	uint8_t in[4 + 32 + sizeof(identity_label) + 32 + 32];
	size_t n = 0;
	int r;

	put_be32(in, 1);
	n = 4;
	memcpy(in + n, z, 32);
	n += 32;
	memcpy(in + n, identity_label, sizeof(identity_label));
	n += sizeof(identity_label);
	memcpy(in + n, u, 32);
	n += 32;
	memcpy(in + n, v, 32);
	n += 32;
	r = vigil_hash_digest(TPM2_ALG_SHA256, in, n, seed, SEED_SIZE);
	OPENSSL_cleanse(in, sizeof(in));
	return r;
}

/* Z: the x coordinate of ECDH(@eph's private key, @ek). */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): ours, then theirs, as ECDH says */
static int ecdh(EVP_PKEY *eph, EVP_PKEY *ek, uint8_t z[32])
{
	_cleanup_(EVP_PKEY_CTX_freep) EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new(eph, NULL);
	size_t len = 32;

	if (!ctx)
		return -ENOMEM;
	if (EVP_PKEY_derive_init(ctx) <= 0 || EVP_PKEY_derive_set_peer(ctx, ek) <= 0 ||
	    EVP_PKEY_derive(ctx, z, &len) <= 0 || len != 32)
		return -EIO;
	return 0;
}

/*
 * ECC: an ephemeral P-256 key QeU; seed = KDFe(Z, "IDENTITY", QeU.x, QsV.x) where QsV is the
 * EK; the encrypted seed is QeU as a marshalled TPMS_ECC_POINT.
 */
static int seed_ecc(EVP_PKEY *ek, const TPMS_ECC_POINT *ek_point, uint8_t seed[SEED_SIZE],
		    TPM2B_ENCRYPTED_SECRET *out)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *eph = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	TPMS_ECC_POINT q = { .x.size = 32, .y.size = 32 };
	uint8_t pt[1 + 2 * 32], z[32];
	size_t len = 0, off = 0;
	int r;

	if (!eph)
		return -ENOMEM;
	if (EVP_PKEY_get_octet_string_param(eph, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len) !=
		    1 ||
	    len != sizeof(pt) || pt[0] != 0x04)
		return -EIO;
	memcpy(q.x.buffer, pt + 1, 32);
	memcpy(q.y.buffer, pt + 33, 32);
	r = ecdh(eph, ek, z);
	if (r == 0)
		r = kdfe(z, q.x.buffer, ek_point->x.buffer, seed);
	OPENSSL_cleanse(z, sizeof(z));
	if (r < 0)
		return r;
	if (Tss2_MU_TPMS_ECC_POINT_Marshal(&q, out->secret, sizeof(out->secret), &off) !=
	    TSS2_RC_SUCCESS)
		return -EIO;
	out->size = (UINT16)off;
	return 0;
}

/* AES-128-CFB, zero IV, over @len bytes of @in (CFB: the output has the input's length). */
static int aes_cfb(const uint8_t key[SYM_KEY_SIZE], const uint8_t *in, size_t len, uint8_t *out)
{
	_cleanup_(EVP_CIPHER_CTX_freep) EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	static const uint8_t iv[16];
	int n = 0, fin = 0;

	if (!ctx)
		return -ENOMEM;
	if (EVP_EncryptInit_ex(ctx, EVP_aes_128_cfb(), NULL, key, iv) != 1 ||
	    EVP_EncryptUpdate(ctx, out, &n, in, (int)len) != 1 ||
	    EVP_EncryptFinal_ex(ctx, out + n, &fin) != 1 || (size_t)n + (size_t)fin != len)
		return -EIO;
	return 0;
}

/*
 * The TPM2B_ID_OBJECT from the seed: TPM2B_DIGEST(outerHMAC) || AES-CFB(symKey, TPM2B_DIGEST
 * (secret)), outerHMAC = HMAC(HMACkey, encIdentity || name).
 */
static int id_object(const uint8_t seed[SEED_SIZE], const TPM2B_NAME *name, const uint8_t *secret,
		     size_t secret_len, TPM2B_ID_OBJECT *out)
{
	uint8_t sym[SYM_KEY_SIZE], hkey[32], plain[2 + VIGIL_CREDENTIAL_SECRET_SIZE];
	uint8_t *enc = out->credential + 2 + 32;
	uint8_t mac_in[2 + VIGIL_CREDENTIAL_SECRET_SIZE + sizeof(TPMU_NAME)];
	size_t enc_len = 2 + secret_len;
	unsigned int maclen = 0;
	int r;

	plain[0] = 0;
	plain[1] = (uint8_t)secret_len;
	memcpy(plain + 2, secret, secret_len);
	r = kdfa(seed, "STORAGE", name, 8 * SYM_KEY_SIZE, sym);
	if (r == 0)
		r = kdfa(seed, "INTEGRITY", NULL, 256, hkey);
	if (r == 0)
		r = aes_cfb(sym, plain, enc_len, enc);
	if (r == 0) {
		memcpy(mac_in, enc, enc_len);
		memcpy(mac_in + enc_len, name->name, name->size);
		if (!HMAC(EVP_sha256(), hkey, sizeof(hkey), mac_in, enc_len + name->size,
			  out->credential + 2, &maclen) ||
		    maclen != 32)
			r = -EIO;
	}
	OPENSSL_cleanse(sym, sizeof(sym));
	OPENSSL_cleanse(hkey, sizeof(hkey));
	OPENSSL_cleanse(plain, sizeof(plain));
	if (r < 0)
		return r;
	out->credential[0] = 0;
	out->credential[1] = 32;
	out->size = (UINT16)(2 + 32 + enc_len);
	return 0;
}

/* A name vigil_ak_name() could have made: a known hash algorithm and its digest. */
static bool name_valid(const TPM2B_NAME *name)
{
	uint16_t alg;

	if (name->size < 2 || name->size > sizeof(name->name))
		return false;
	alg = (uint16_t)(name->name[0] << 8 | name->name[1]);
	return vigil_hash_size(alg) && name->size == 2 + vigil_hash_size(alg);
}

/**
 * vigil_make_credential() - TPM2_MakeCredential in software
 * @ek: the EK public area (passes vigil_ek_public_parse()'s checks)
 * @ak_name: the AK's name (vigil_ak_name()): a hash algorithm and its digest
 * @secret: the credential to protect
 * @secret_len: its length, 1..VIGIL_CREDENTIAL_SECRET_SIZE
 * @ret_blob: on success, the TPM2B_ID_OBJECT (integrity HMAC || encrypted credential)
 * @ret_seed: on success, the TPM2B_ENCRYPTED_SECRET (the seed, encrypted to @ek)
 *
 * A fresh seed every call (random for RSA, from a fresh ephemeral key for ECC). The results
 * are what tpm2_makecredential writes after its file header, and what
 * TPM2_ActivateCredential (vigil_tpm_activate_credential()) takes.
 *
 * Return: 0; -EINVAL for a bad secret length or AK name; -EKEYREJECTED if @ek is not an EK
 * vigil accepts; -ENOMEM; -EIO from OpenSSL.
 */
int vigil_make_credential(const TPM2B_PUBLIC *ek, const TPM2B_NAME *ak_name, const uint8_t *secret,
			  size_t secret_len, TPM2B_ID_OBJECT *ret_blob,
			  TPM2B_ENCRYPTED_SECRET *ret_seed)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *pkey = NULL;
	TPM2B_ENCRYPTED_SECRET enc = { 0 };
	TPM2B_ID_OBJECT blob = { 0 };
	uint8_t seed[SEED_SIZE];
	int r;

	if (!ek || !ak_name || !secret || !ret_blob || !ret_seed || secret_len == 0 ||
	    secret_len > VIGIL_CREDENTIAL_SECRET_SIZE || !name_valid(ak_name))
		return -EINVAL;
	r = ek_check(&ek->publicArea, &pkey);
	if (r < 0)
		return r;
	if (ek->publicArea.type == TPM2_ALG_RSA)
		r = seed_rsa(pkey, seed, &enc);
	else
		r = seed_ecc(pkey, &ek->publicArea.unique.ecc, seed, &enc);
	if (r == 0)
		r = id_object(seed, ak_name, secret, secret_len, &blob);
	OPENSSL_cleanse(seed, sizeof(seed));
	if (r < 0)
		return r;
	*ret_blob = blob;
	*ret_seed = enc;
	return 0;
}
