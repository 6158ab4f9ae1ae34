// SPDX-License-Identifier: MIT
/*
 * boot_aggregate.c: IMA's boot_aggregate, the first record of a measurement log, which anchors
 * the log to the boot: its file digest is H(PCR0 || ... || PCR7) for SHA-1 and
 * H(PCR0 || ... || PCR9) for every other bank (formats-and-peers.md §2.8), in the algorithm the
 * record names, over that bank's PCR values.
 *
 * Invariants: the check compares in the algorithm the record itself names (a SHA-1 value is never
 * compared with a SHA-256 one, Keylime #702); digests are compared with CRYPTO_memcmp().
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "cleanup.h"
#include "replay.h"
#include "uapi/vigil.h"

static void md_ctx_freep(EVP_MD_CTX **ctx)
{
	EVP_MD_CTX_free(*ctx);
}

static void md_freep(EVP_MD **md)
{
	EVP_MD_free(*md);
}

/**
 * vigil_boot_aggregate_compute() - IMA's boot_aggregate digest of a bank's PCR values
 * @bank_alg: the bank (TPM2_ALG_SHA1, ...), which is also the hash algorithm
 * @pcrs: PCR 0..9 of that bank, each in the first digest-size bytes of its row
 * @ret_digest: on success, receives the digest (VIGIL_LOG_DIGEST_MAX bytes of room)
 * @ret_size: on success, its size
 *
 * Return: 0; -EINVAL for an unknown bank; -ENOMEM; -EIO (OpenSSL).
 */
int vigil_boot_aggregate_compute(uint16_t bank_alg,
				 const uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX],
				 uint8_t *ret_digest, size_t *ret_size)
{
	_cleanup_(md_ctx_freep) EVP_MD_CTX *ctx = NULL;
	_cleanup_(md_freep) EVP_MD *md = NULL;
	size_t size = vigil_hash_size(bank_alg);
	size_t n = bank_alg == TPM2_ALG_SHA1 ? 8 : VIGIL_BOOT_AGGREGATE_PCRS;
	uint8_t out[VIGIL_LOG_DIGEST_MAX];
	int ok;

	if (!size)
		return -EINVAL;
	md = EVP_MD_fetch(NULL, vigil_hash_name(bank_alg), NULL);
	ctx = EVP_MD_CTX_new();
	if (!md || !ctx)
		return -ENOMEM;
	ok = EVP_DigestInit_ex2(ctx, md, NULL);
	for (size_t i = 0; i < n; i++)
		ok = ok && EVP_DigestUpdate(ctx, pcrs[i], size);
	if (!ok || !EVP_DigestFinal_ex(ctx, out, NULL))
		return -EIO;
	memcpy(ret_digest, out, size);
	*ret_size = size;
	return 0;
}

/* The first record's fields, if it is boot_aggregate. */
static int first_record(const struct vigil_log *log, struct vigil_log_fields *ret)
{
	static const char name[] = VIGIL_BOOT_AGGREGATE_NAME;
	struct vigil_log_fields f;

	if (!log->count || vigil_log_record_fields(log, &log->records[0], &f) < 0)
		return -ENOENT;
	if (!f.digest || f.name_len != sizeof(name) - 1 || memcmp(f.name, name, f.name_len) != 0)
		return -ENOENT;
	*ret = f;
	return 0;
}

/* The TPM algorithm of a boot_aggregate digest: d-ng's, or SHA-1 for template "ima"'s d. */
static int digest_alg(const struct vigil_log_fields *f, uint16_t *ret_alg)
{
	uint16_t alg = TPM2_ALG_SHA1;

	if (f->digest_alg && vigil_hash_from_name(f->digest_alg, &alg) < 0)
		return -EOPNOTSUPP;
	if (f->digest_len != vigil_hash_size(alg))
		return -EOPNOTSUPP;
	*ret_alg = alg;
	return 0;
}

/**
 * vigil_boot_aggregate_alg() - the bank a log's boot_aggregate was computed over
 * @log: the log, from its first record
 * @ret_alg: on success, the TPM2_ALG_ID the record's digest uses: pass that bank's PCR 0..9 to
 *	vigil_boot_aggregate_check()
 *
 * Return: 0; -ENOENT if the first record is not boot_aggregate; -EOPNOTSUPP if its digest is of
 * an algorithm that is not a supported PCR bank.
 */
int vigil_boot_aggregate_alg(const struct vigil_log *log, uint16_t *ret_alg)
{
	struct vigil_log_fields f;
	int r;

	r = first_record(log, &f);
	if (r < 0)
		return r;
	return digest_alg(&f, ret_alg);
}

/**
 * vigil_boot_aggregate_check() - check a log's boot_aggregate against PCR values
 * @log: the log, from its first record
 * @bank_alg: the bank @pcrs come from
 * @pcrs: PCR 0..9 of that bank (as quoted or read), each in the first digest-size bytes
 *
 * Return: VIGIL_BOOT_AGGREGATE_OK; VIGIL_BOOT_AGGREGATE_MISSING (the first record is not
 * boot_aggregate); VIGIL_BOOT_AGGREGATE_OTHER_BANK (its digest is not of @bank_alg, see
 * vigil_boot_aggregate_alg()); VIGIL_BOOT_AGGREGATE_MISMATCH; or a negative errno of
 * vigil_boot_aggregate_compute().
 */
int vigil_boot_aggregate_check(const struct vigil_log *log, uint16_t bank_alg,
			       const uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX])
{
	uint8_t want[VIGIL_LOG_DIGEST_MAX];
	struct vigil_log_fields f;
	uint16_t alg;
	size_t size;
	int r;

	if (first_record(log, &f) < 0)
		return VIGIL_BOOT_AGGREGATE_MISSING;
	if (digest_alg(&f, &alg) < 0 || alg != bank_alg)
		return VIGIL_BOOT_AGGREGATE_OTHER_BANK;
	r = vigil_boot_aggregate_compute(bank_alg, pcrs, want, &size);
	if (r < 0)
		return r;
	return CRYPTO_memcmp(want, f.digest, size) ? VIGIL_BOOT_AGGREGATE_MISMATCH :
						     VIGIL_BOOT_AGGREGATE_OK;
}
