// SPDX-License-Identifier: MIT
/*
 * quote.c: verify a TPM2 quote (TPMS_ATTEST + TPMT_SIGNATURE) against an AK and a nonce.
 *
 * The checks run in the house verifier order (STYLE.md) and stop at the first failure, because
 * nothing in an attest structure means anything until its signature is known to be good:
 *   1 format     both blobs unmarshal strictly (no trailing bytes, canonical encoding)
 *   2 header     magic == TPM_GENERATED_VALUE, type == TPM_ST_ATTEST_QUOTE
 *   3 signature  with the one scheme bound to the AK (its public area's scheme, or the one the
 *                caller names); the signature must state exactly that scheme and hash, and
 *                nothing else is tried (unlike tpm2_checkquote, which tries every padding)
 *   4 nonce      extraData equals the verifier's nonce, compared in constant time
 *   5 clock      clockInfo.safe, and no reset/restart/clock rollback against the last quote
 *                of this AK the verifier accepted
 *   6 PCRs       the quoted selection equals the requested one; pcrDigest equals the hash of
 *                the claimed (or replayed) PCR values in selection order
 * The log replay and the policy (steps 6-7 of a full verification) build on this elsewhere.
 *
 * Invariants: only libcrypto and tss2-mu; an errno return means "could not check" and leaves
 * the verdict's outcome undecided; every rejection sets exactly one reason.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <tss2/tss2_mu.h>

#include "attest.h"
#include "cleanup.h"

static inline void ECDSA_SIG_freep(ECDSA_SIG **p)
{
	ECDSA_SIG_free(*p);
}

/**
 * vigil_quote_parse() - unmarshal a quote's attest and signature blobs strictly
 * @attest: marshalled TPMS_ATTEST
 * @attest_len: its length
 * @sig: marshalled TPMT_SIGNATURE
 * @sig_len: its length
 * @ret_attest: on success, the attest structure
 * @ret_sig: on success, the signature
 *
 * Each blob must be exactly one structure (offset == length) and re-marshal to the same bytes,
 * so there is one encoding of any quote and no bytes the signature covers go unexamined.
 *
 * Return: 0, or -EBADMSG.
 */
int vigil_quote_parse(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
		      TPMS_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig)
{
	uint8_t again[sizeof(TPMS_ATTEST) > sizeof(TPMT_SIGNATURE) ? sizeof(TPMS_ATTEST) :
								     sizeof(TPMT_SIGNATURE)];
	TPMS_ATTEST a = { 0 };
	TPMT_SIGNATURE s = { 0 };
	size_t off = 0, off2 = 0;

	if (!attest_len || attest_len > VIGIL_ATTEST_MAX || !sig_len || sig_len > VIGIL_SIG_MAX)
		return -EBADMSG;
	if (Tss2_MU_TPMS_ATTEST_Unmarshal(attest, attest_len, &off, &a) != TSS2_RC_SUCCESS ||
	    off != attest_len ||
	    Tss2_MU_TPMS_ATTEST_Marshal(&a, again, sizeof(again), &off2) != TSS2_RC_SUCCESS ||
	    off2 != attest_len || memcmp(again, attest, attest_len) != 0)
		return -EBADMSG;
	off = off2 = 0;
	if (Tss2_MU_TPMT_SIGNATURE_Unmarshal(sig, sig_len, &off, &s) != TSS2_RC_SUCCESS ||
	    off != sig_len ||
	    Tss2_MU_TPMT_SIGNATURE_Marshal(&s, again, sizeof(again), &off2) != TSS2_RC_SUCCESS ||
	    off2 != sig_len || memcmp(again, sig, sig_len) != 0)
		return -EBADMSG;
	*ret_attest = a;
	*ret_sig = s;
	return 0;
}

/* ECDSA r, s from the TPM become the DER ECDSA-Sig-Value OpenSSL verifies. */
static int ecdsa_der(const TPMS_SIGNATURE_ECC *ecc, uint8_t **ret, size_t *ret_len)
{
	_cleanup_(ECDSA_SIG_freep) ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r, *s;
	unsigned char *der = NULL;
	int len;

	if (!es)
		return -ENOMEM;
	r = BN_bin2bn(ecc->signatureR.buffer, ecc->signatureR.size, NULL);
	s = BN_bin2bn(ecc->signatureS.buffer, ecc->signatureS.size, NULL);
	if (!r || !s || !ECDSA_SIG_set0(es, r, s)) {
		BN_free(r);
		BN_free(s);
		return -ENOMEM;
	}
	len = i2d_ECDSA_SIG(es, &der);
	if (len <= 0)
		return -ENOMEM;
	*ret = der;
	*ret_len = (size_t)len;
	return 0;
}

/* The signature bytes in the form EVP_DigestVerify() takes, for the scheme already checked. */
static int sig_bytes(const TPMT_SIGNATURE *sig, uint8_t **ret, size_t *ret_len)
{
	const TPM2B_PUBLIC_KEY_RSA *rsa = &sig->signature.rsassa.sig;
	uint8_t *copy;

	if (sig->sigAlg == TPM2_ALG_ECDSA)
		return ecdsa_der(&sig->signature.ecdsa, ret, ret_len);
	copy = OPENSSL_malloc(rsa->size ? rsa->size : 1);
	if (!copy)
		return -ENOMEM;
	memcpy(copy, rsa->buffer, rsa->size);
	*ret = copy;
	*ret_len = rsa->size;
	return 0;
}

static int set_padding(EVP_PKEY_CTX *pctx, uint16_t scheme)
{
	if (scheme == TPM2_ALG_RSASSA)
		return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0 ? 0 : -EIO;
	if (scheme == TPM2_ALG_RSAPSS) {
		/* TPMs use salt = hash length or the maximum; AUTO accepts either, still PSS */
		if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) <= 0 ||
		    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) <= 0)
			return -EIO;
	}
	return 0;
}

/* 1 good, 0 bad, or a negative errno when the check could not run. */
static int verify_sig(EVP_PKEY *ak, const TPMT_SIGNATURE *sig, const uint8_t *msg, size_t len)
{
	_cleanup_(EVP_MD_CTX_freep) EVP_MD_CTX *md = EVP_MD_CTX_new();
	const char *hash = vigil_hash_name(sig->signature.any.hashAlg);
	EVP_PKEY_CTX *pctx = NULL;
	uint8_t *bytes = NULL;
	size_t n = 0;
	int r;

	if (!md)
		return -ENOMEM;
	if (!hash)
		return 0;
	if (EVP_DigestVerifyInit(md, &pctx, EVP_get_digestbyname(hash), NULL, ak) <= 0)
		return 0; /* key and scheme do not go together: a bad signature, not an error */
	r = set_padding(pctx, sig->sigAlg);
	if (r < 0)
		return 0;
	r = sig_bytes(sig, &bytes, &n);
	if (r < 0)
		return r;
	r = EVP_DigestVerify(md, bytes, n, msg, len) == 1;
	OPENSSL_free(bytes);
	return r;
}

/**
 * vigil_ak_key_new() - prepare an AK for many quote verifications (struct vigil_ak_key)
 * @pub: its public area, which must pass vigil_ak_public_check()
 * @ret: on success, the key; release with vigil_ak_key_free()
 *
 * Return: 0; -EKEYREJECTED if @pub is not an AK vigil accepts; -ENOMEM or -EIO.
 */
int vigil_ak_key_new(const TPM2B_PUBLIC *pub, struct vigil_ak_key **ret)
{
	struct vigil_ak_key *k;
	const char *hash;
	int r;

	if (vigil_ak_public_check(&pub->publicArea) < 0)
		return -EKEYREJECTED;
	k = calloc(1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	k->pub = *pub;
	r = vigil_ak_scheme(&pub->publicArea, &k->scheme);
	if (r == 0)
		r = vigil_ak_to_pkey(&pub->publicArea, &k->pkey);
	if (r == 0)
		r = vigil_ak_keyid(k->pkey, k->keyid);
	hash = vigil_hash_name(k->scheme.details.any.hashAlg);
	if (r == 0 && !(hash && (k->md = EVP_MD_fetch(NULL, hash, NULL))))
		r = -EIO;
	if (r == 0 && !(k->verify = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL)))
		r = -ENOMEM;
	if (r == 0 && (EVP_PKEY_verify_init(k->verify) <= 0 ||
		       EVP_PKEY_CTX_set_signature_md(k->verify, k->md) <= 0))
		r = -EIO;
	if (r == 0)
		r = set_padding(k->verify, k->scheme.scheme);
	if (r < 0) {
		vigil_ak_key_free(k);
		return r;
	}
	*ret = k;
	return 0;
}

/**
 * vigil_ak_key_free() - release a prepared AK
 * @k: the key, or NULL
 */
void vigil_ak_key_free(struct vigil_ak_key *k)
{
	if (!k)
		return;
	EVP_PKEY_CTX_free(k->verify);
	EVP_MD_free(k->md);
	EVP_PKEY_free(k->pkey);
	free(k);
}

/* verify_sig() with a prepared key: hash with its fetched digest, check with its context. */
static int key_verify_sig(const struct vigil_ak_key *k, const TPMT_SIGNATURE *sig,
			  const uint8_t *msg, size_t len)
{
	uint8_t digest[EVP_MAX_MD_SIZE], *bytes = NULL;
	unsigned int dlen = 0;
	size_t n = 0;
	int r;

	if (EVP_Digest(msg, len, digest, &dlen, k->md, NULL) != 1)
		return -EIO;
	r = sig_bytes(sig, &bytes, &n);
	if (r < 0)
		return r;
	r = EVP_PKEY_verify(k->verify, bytes, n, digest, dlen) == 1;
	OPENSSL_free(bytes);
	return r;
}

/* The scheme the AK binds: its public area's if known (which must be the verifier's key). */
static int bound_scheme(const struct vigil_quote_input *in, struct vigil_verdict *v,
			TPMT_SIG_SCHEME *ret)
{
	_cleanup_(EVP_PKEY_freep) EVP_PKEY *claimed = NULL;

	if (!in->ak_public) {
		if (in->scheme) {
			*ret = *in->scheme;
			return 0;
		}
		return vigil_ak_default_scheme(in->ak, ret) < 0 ? -EKEYREJECTED : 0;
	}
	if (vigil_ak_public_check(&in->ak_public->publicArea) < 0) {
		vigil_verdict_fail(v, VIGIL_CHECK_SIGNATURE, VIGIL_REJECT_AK_NOT_RESTRICTED,
				   "the AK public area is not a restricted, fixedTPM signing key");
		return 1;
	}
	if (vigil_ak_to_pkey(&in->ak_public->publicArea, &claimed) < 0 ||
	    EVP_PKEY_eq(claimed, in->ak) != 1) {
		vigil_verdict_fail(v, VIGIL_CHECK_SIGNATURE, VIGIL_REJECT_AK_MISMATCH,
				   "the evidence's AK public area is not the given AK");
		return 1;
	}
	return vigil_ak_scheme(&in->ak_public->publicArea, ret);
}

/* Step 3. Returns 0 (checked, verdict updated) or a negative errno. */
static int check_signature(const struct vigil_quote_input *in, const TPMT_SIGNATURE *sig,
			   struct vigil_verdict *v)
{
	TPMT_SIG_SCHEME scheme = in->key ? in->key->scheme : (TPMT_SIG_SCHEME){ 0 };
	int r = in->key ? 0 : bound_scheme(in, v, &scheme);

	if (r != 0)
		return r > 0 ? 0 : r;
	if (sig->sigAlg != scheme.scheme ||
	    sig->signature.any.hashAlg != scheme.details.any.hashAlg) {
		vigil_verdict_fail(v, VIGIL_CHECK_SIGNATURE, VIGIL_REJECT_SCHEME_MISMATCH,
				   "the signature's scheme or hash is not the one the AK binds");
		return 0;
	}
	r = in->key ? key_verify_sig(in->key, sig, in->attest, in->attest_len) :
		      verify_sig(in->ak, sig, in->attest, in->attest_len);
	if (r < 0)
		return r;
	if (r == 0)
		vigil_verdict_fail(v, VIGIL_CHECK_SIGNATURE, VIGIL_REJECT_BAD_SIGNATURE, NULL);
	else
		vigil_verdict_pass(v, VIGIL_CHECK_SIGNATURE);
	return 0;
}

static bool check_header(const TPMS_ATTEST *a, struct vigil_verdict *v)
{
	if (a->magic != TPM2_GENERATED_VALUE) {
		vigil_verdict_fail(v, VIGIL_CHECK_HEADER, VIGIL_REJECT_BAD_MAGIC, NULL);
		return false;
	}
	if (a->type != TPM2_ST_ATTEST_QUOTE) {
		vigil_verdict_fail(v, VIGIL_CHECK_HEADER, VIGIL_REJECT_NOT_A_QUOTE, NULL);
		return false;
	}
	vigil_verdict_pass(v, VIGIL_CHECK_HEADER);
	return true;
}

static bool check_nonce(const struct vigil_quote_input *in, const TPMS_ATTEST *a,
			struct vigil_verdict *v)
{
	const TPM2B_DATA *x = &a->extraData;

	if (x->size != in->nonce_len || CRYPTO_memcmp(x->buffer, in->nonce, in->nonce_len) != 0) {
		vigil_verdict_fail(v, VIGIL_CHECK_NONCE, VIGIL_REJECT_NONCE_MISMATCH, NULL);
		return false;
	}
	vigil_verdict_pass(v, VIGIL_CHECK_NONCE);
	return true;
}

/*
 * Keylime's rules (check_quote_timing): the reset count never decreases; within one reset
 * the restart count never decreases; within one reset and restart the clock strictly increases
 * (an equal clock is this very quote again). Across a reset or restart the clock may legitimately
 * be lower (it is saved to NV only now and then), which is what clockInfo.safe reports.
 */
static bool check_clock(const struct vigil_quote_input *in, const TPMS_CLOCK_INFO *c,
			struct vigil_verdict *v)
{
	const struct vigil_clock_state *p = in->prev;

	if (c->safe != TPM2_YES) {
		vigil_verdict_fail(v, VIGIL_CHECK_CLOCK, VIGIL_REJECT_CLOCK_UNSAFE, NULL);
		return false;
	}
	if (p && c->resetCount < p->reset_count) {
		vigil_verdict_fail(v, VIGIL_CHECK_CLOCK, VIGIL_REJECT_RESET_ROLLBACK, NULL);
		return false;
	}
	if (p && c->resetCount == p->reset_count && c->restartCount < p->restart_count) {
		vigil_verdict_fail(v, VIGIL_CHECK_CLOCK, VIGIL_REJECT_RESTART_ROLLBACK, NULL);
		return false;
	}
	if (p && c->resetCount == p->reset_count && c->restartCount == p->restart_count &&
	    c->clock <= p->clock) {
		vigil_verdict_fail(v, VIGIL_CHECK_CLOCK, VIGIL_REJECT_CLOCK_ROLLBACK, NULL);
		return false;
	}
	vigil_verdict_pass(v, VIGIL_CHECK_CLOCK);
	return true;
}

/**
 * vigil_quote_check_digest() - does a quote's pcrDigest match these PCR values?
 * @attest: a parsed quote (type TPM_ST_ATTEST_QUOTE)
 * @sig_hash: the signature's hash algorithm, which TPM2_Quote uses for pcrDigest
 * @pcrs: values for the quoted selection
 * @ret_match: on success, whether the digests are equal (compared in constant time)
 *
 * Return: 0; -ENOENT if @pcrs lacks a quoted PCR; -EINVAL for a bad selection or hash.
 */
int vigil_quote_check_digest(const TPMS_ATTEST *attest, uint16_t sig_hash,
			     const struct vigil_pcr_values *pcrs, bool *ret_match)
{
	const TPMS_QUOTE_INFO *q = &attest->attested.quote;
	uint8_t digest[64];
	size_t len;
	int r;

	r = vigil_pcr_values_digest(&q->pcrSelect, pcrs, sig_hash, digest, sizeof(digest), &len);
	if (r < 0)
		return r;
	*ret_match = q->pcrDigest.size == len &&
		     CRYPTO_memcmp(q->pcrDigest.buffer, digest, len) == 0;
	return 0;
}

static int check_pcrs(const struct vigil_quote_input *in, const TPMS_ATTEST *a, uint16_t hash,
		      struct vigil_verdict *v)
{
	bool match = false;
	int r;

	if (vigil_pcrsel_check(&a->attested.quote.pcrSelect) < 0 ||
	    !vigil_pcrsel_equal(&a->attested.quote.pcrSelect, in->selection)) {
		vigil_verdict_fail(v, VIGIL_CHECK_PCR_SELECTION,
				   VIGIL_REJECT_PCR_SELECTION_MISMATCH, NULL);
		return 0;
	}
	vigil_verdict_pass(v, VIGIL_CHECK_PCR_SELECTION);
	if (!in->pcrs)
		return 0;
	r = vigil_quote_check_digest(a, hash, in->pcrs, &match);
	if (r == -ENOENT) {
		vigil_verdict_fail(v, VIGIL_CHECK_PCR_DIGEST, VIGIL_REJECT_PCR_VALUES_MISSING,
				   NULL);
		return 0;
	}
	if (r < 0)
		return r;
	if (match)
		vigil_verdict_pass(v, VIGIL_CHECK_PCR_DIGEST);
	else
		vigil_verdict_fail(v, VIGIL_CHECK_PCR_DIGEST, VIGIL_REJECT_PCR_DIGEST_MISMATCH,
				   NULL);
	return 0;
}

static void record_quote(const TPMS_ATTEST *a, struct vigil_verdict *v)
{
	v->have_quote = true;
	v->clock = (struct vigil_clock_state){ .clock = a->clockInfo.clock,
					       .reset_count = a->clockInfo.resetCount,
					       .restart_count = a->clockInfo.restartCount };
	v->safe = a->clockInfo.safe == TPM2_YES;
	v->firmware = a->firmwareVersion;
	v->selection = a->attested.quote.pcrSelect;
}

/* Steps 2-6 on a parsed quote; stops at the first failure. */
static int check_parsed(const struct vigil_quote_input *in, const TPMS_ATTEST *a,
			const TPMT_SIGNATURE *sig, struct vigil_verdict *v)
{
	int r;

	if (!check_header(a, v))
		return 0;
	r = check_signature(in, sig, v);
	if (r < 0 || v->checks[VIGIL_CHECK_SIGNATURE] != VIGIL_RESULT_PASS)
		return r;
	record_quote(a, v);
	if (!check_nonce(in, a, v) || !check_clock(in, &a->clockInfo, v))
		return 0;
	return check_pcrs(in, a, sig->signature.any.hashAlg, v);
}

/**
 * vigil_quote_verify() - verify a quote: format, header, signature, nonce, clock, PCRs
 * @in: the quote and what to check it against
 * @verdict: a verdict from vigil_verdict_init(); the checks are recorded in it (the caller
 *	adds the log and policy checks, then calls vigil_verdict_finish())
 * @ret_attest: on success, the parsed attest structure (trustworthy only if the verdict has
 *	no failure), or NULL
 *
 * Return: 0 when every check that could run was run (the outcome is in @verdict, even if the
 * quote was rejected); -EINVAL for bad arguments, -EKEYREJECTED if @in->ak is not a key type an
 * AK can have, -ENOMEM or -EIO when the verification itself could not be done.
 */
int vigil_quote_verify(const struct vigil_quote_input *in, struct vigil_verdict *verdict,
		       TPMS_ATTEST *ret_attest)
{
	TPMS_ATTEST a;
	TPMT_SIGNATURE sig;
	int r;

	if ((!in->ak && !in->key) || !in->nonce || !in->selection ||
	    vigil_pcrsel_check(in->selection) < 0)
		return -EINVAL;
	if (in->key)
		memcpy(verdict->ak_keyid, in->key->keyid, sizeof(verdict->ak_keyid));
	else if (vigil_ak_keyid(in->ak, verdict->ak_keyid) < 0)
		return -EIO;
	if (vigil_quote_parse(in->attest, in->attest_len, in->sig, in->sig_len, &a, &sig) < 0) {
		vigil_verdict_fail(verdict, VIGIL_CHECK_FORMAT, VIGIL_REJECT_BAD_FORMAT, NULL);
		return 0;
	}
	vigil_verdict_pass(verdict, VIGIL_CHECK_FORMAT);
	r = check_parsed(in, &a, &sig, verdict);
	if (r < 0)
		return r;
	if (ret_attest)
		*ret_attest = a;
	return 0;
}
