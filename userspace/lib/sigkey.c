// SPDX-License-Identifier: MIT
/*
 * sigkey.c: policy-signing keys: generate, export and load them, and name them by a key id.
 *
 * A policy is signed with one of two algorithms only: ECDSA on P-256 with SHA-256 (the default,
 * what Keylime and sigstore use) or Ed25519. Keys are plain OpenSSL EVP_PKEYs; on disk the
 * private half is unencrypted PKCS#8 PEM, written 0600 by the command, and the public half is
 * SubjectPublicKeyInfo PEM, what `openssl pkey -pubout` writes. The key id is the SHA-256 of
 * the public key's DER SubjectPublicKeyInfo, so `openssl pkey -pubin -outform DER | sha256sum`
 * computes it too.
 *
 * Invariants: every loader accepts exactly the two algorithms (an RSA, P-384 or other key is
 * -EKEYREJECTED, never used); private-key text this file produces lives only in buffers that
 * are wiped before they are freed (the caller wipes what it is given: erase_freep()); an
 * encrypted private key is refused without ever asking for a passphrase.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cleanup.h"
#include "policy.h"

/**
 * vigil_sigkey_alg_parse() - the algorithm named on the command line
 * @name: "ecdsa-p256" or "ed25519"
 * @ret: on success, the algorithm
 *
 * Return: 0, or -EINVAL for any other name.
 */
int vigil_sigkey_alg_parse(const char *name, enum vigil_sigkey_alg *ret)
{
	if (!strcmp(name, "ecdsa-p256"))
		*ret = VIGIL_SIGKEY_ECDSA_P256;
	else if (!strcmp(name, "ed25519"))
		*ret = VIGIL_SIGKEY_ED25519;
	else
		return -EINVAL;
	return 0;
}

/* The one place that decides which keys may sign policies. */
static int check_key(EVP_PKEY *key)
{
	char group[32] = "";
	size_t len = 0;

	if (EVP_PKEY_is_a(key, "ED25519"))
		return 0;
	if (!EVP_PKEY_is_a(key, "EC") ||
	    !EVP_PKEY_get_utf8_string_param(key, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
					    &len))
		return -EKEYREJECTED;
	return !strcmp(group, "prime256v1") ? 0 : -EKEYREJECTED;
}

/**
 * vigil_sigkey_generate() - generate a new policy-signing key pair
 * @alg: VIGIL_SIGKEY_ECDSA_P256 or VIGIL_SIGKEY_ED25519
 * @ret: on success, the key; release with EVP_PKEY_free()
 *
 * Return: 0, -EINVAL for an unknown @alg, or -EIO if OpenSSL failed (its error queue says why).
 */
int vigil_sigkey_generate(enum vigil_sigkey_alg alg, EVP_PKEY **ret)
{
	EVP_PKEY *key;

	if (alg == VIGIL_SIGKEY_ECDSA_P256)
		key = EVP_EC_gen("P-256");
	else if (alg == VIGIL_SIGKEY_ED25519)
		key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	else
		return -EINVAL;
	if (!key)
		return -EIO;
	*ret = key;
	return 0;
}

/*
 * Copy what a memory BIO holds into a malloc()ed NUL-terminated string. OpenSSL's memory BIO
 * clears its buffer when it grows or is freed (BUF_MEM_grow_clean, OPENSSL_clear_free), so the
 * only other copy of a private key's text is the one returned.
 */
static int bio_string(BIO *bio, char **ret)
{
	char *data = NULL, *out;
	long len = BIO_get_mem_data(bio, &data);

	if (len <= 0 || !data)
		return -EIO;
	out = malloc((size_t)len + 1);
	if (!out)
		return -ENOMEM;
	memcpy(out, data, (size_t)len);
	out[len] = '\0';
	*ret = out;
	return 0;
}

/**
 * vigil_sigkey_private_pem() - the private key as unencrypted PKCS#8 PEM
 * @key: the key
 * @ret: on success, the NUL-terminated PEM text; wipe and free it (erase_freep())
 *
 * Return: 0, -EIO or -ENOMEM.
 */
int vigil_sigkey_private_pem(EVP_PKEY *key, char **ret)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());

	if (!bio)
		return -ENOMEM;
	if (!PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL, NULL))
		return -EIO;
	return bio_string(bio, ret);
}

/**
 * vigil_sigkey_public_pem() - the public key as PEM SubjectPublicKeyInfo
 * @key: the key (private or public)
 * @ret: on success, the NUL-terminated PEM text; free() it
 *
 * Return: 0, -EIO or -ENOMEM.
 */
int vigil_sigkey_public_pem(EVP_PKEY *key, char **ret)
{
	_cleanup_(BIO_freep) BIO *bio = BIO_new(BIO_s_mem());

	if (!bio)
		return -ENOMEM;
	if (!PEM_write_bio_PUBKEY(bio, key))
		return -EIO;
	return bio_string(bio, ret);
}

/* PEM passphrase callback: never prompt; note that a passphrase was wanted. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): OpenSSL's pem_password_cb */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	*(bool *)u = true;
	return -1;
}

/**
 * vigil_sigkey_load_private() - read a policy-signing private key from PEM
 * @pem: the PEM text (PKCS#8, or OpenSSL's traditional EC form)
 * @len: its length, at most VIGIL_SIGKEY_PEM_MAX
 * @ret: on success, the key; release with EVP_PKEY_free()
 *
 * Return: 0; -EBADMSG if @pem holds no private key; -EACCES if it is encrypted (not
 * supported: no passphrase is ever asked for); -EKEYREJECTED for a key that is neither ECDSA
 * P-256 nor Ed25519; -EFBIG if @len is beyond the bound; -ENOMEM.
 */
int vigil_sigkey_load_private(const uint8_t *pem, size_t len, EVP_PKEY **ret)
{
	_cleanup_(BIO_freep) BIO *bio = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;
	bool encrypted = false;

	if (len > VIGIL_SIGKEY_PEM_MAX)
		return -EFBIG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	key = PEM_read_bio_PrivateKey(bio, NULL, no_passphrase, &encrypted);
	if (!key)
		return encrypted ? -EACCES : -EBADMSG;
	if (check_key(key) < 0)
		return -EKEYREJECTED;
	*ret = TAKE_PTR(key);
	return 0;
}

/**
 * vigil_sigkey_load_public() - read a trusted policy-signing public key from PEM
 * @pem: the PEM text (SubjectPublicKeyInfo)
 * @len: its length, at most VIGIL_SIGKEY_PEM_MAX
 * @ret: on success, the key; release with EVP_PKEY_free()
 *
 * Return: 0; -EBADMSG if @pem holds no public key; -EKEYREJECTED for a key that is neither
 * ECDSA P-256 nor Ed25519; -EFBIG if @len is beyond the bound; -ENOMEM.
 */
int vigil_sigkey_load_public(const uint8_t *pem, size_t len, EVP_PKEY **ret)
{
	_cleanup_(BIO_freep) BIO *bio = NULL;
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *key = NULL;

	if (len > VIGIL_SIGKEY_PEM_MAX)
		return -EFBIG;
	bio = BIO_new_mem_buf(pem, (int)len);
	if (!bio)
		return -ENOMEM;
	key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
	if (!key)
		return -EBADMSG;
	if (check_key(key) < 0)
		return -EKEYREJECTED;
	*ret = TAKE_PTR(key);
	return 0;
}

/**
 * vigil_sigkey_id() - a key's id: SHA-256 of its public key's DER SubjectPublicKeyInfo
 * @key: the key (private or public: both give the same id)
 * @ret: on success, the VIGIL_SIGKEY_ID_SIZE-byte id
 *
 * Return: 0, -EIO or -ENOMEM.
 */
int vigil_sigkey_id(EVP_PKEY *key, uint8_t ret[VIGIL_SIGKEY_ID_SIZE])
{
	uint8_t id[EVP_MAX_MD_SIZE];
	unsigned char *der = NULL;
	unsigned int n = 0;
	int len = i2d_PUBKEY(key, &der);
	int ok;

	if (len <= 0)
		return -EIO;
	ok = EVP_Digest(der, (size_t)len, id, &n, EVP_sha256(), NULL);
	OPENSSL_free(der);
	if (!ok || n != VIGIL_SIGKEY_ID_SIZE)
		return -EIO;
	memcpy(ret, id, VIGIL_SIGKEY_ID_SIZE);
	return 0;
}
