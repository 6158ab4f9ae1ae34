// SPDX-License-Identifier: MIT
/*
 * replay.c: replay a measurement log into a PCR bank, find the prefix of a log that explains a
 * quoted PCR value, and check the boot_aggregate record. The rules are in replay.h.
 *
 * Speed matters here (a verifier replays logs of a million records for thousands of devices), so
 * a replay fetches each algorithm once, binds one EVP_MD_CTX to each and reuses it for every
 * record, and allocates nothing per record itself: per record it costs one template hash per
 * bank involved (the replayed one, and the log's own to check the logged digest) plus one
 * extend. (OpenSSL 3.0 itself still frees and re-allocates its provider context inside every
 * EVP_DigestInit; nothing here can avoid that short of the deprecated SHA*_Init() API.)
 *
 * Invariants: the PCR value is only ever extended with digests recomputed from template data
 * (or 0xff for violations); a logged template digest is compared, never trusted, except for
 * records without data, which are counted as unverified. Digests are compared with
 * CRYPTO_memcmp().
 */
#include <errno.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "cleanup.h"
#include "log_internal.h"
#include "replay.h"
#include "uapi/vigil.h"

#define SHA1_SIZE 20

/*
 * A hash algorithm with its own context. One context per algorithm, not one for all: OpenSSL
 * frees and allocates the provider's context whenever a context changes algorithm, which would
 * be an allocation per record.
 */
struct hasher {
	EVP_MD *md;
	EVP_MD_CTX *ctx;
};

/* One replay: the algorithms it needs, each with the context it reuses for every record. */
struct replay {
	const struct vigil_log *log;
	enum vigil_replay_mode mode;
	uint16_t alg;
	size_t size;
	struct hasher bank; /* the replayed bank's algorithm */
	struct hasher sha1; /* padded mode, and the fallback check of logged digests */
	struct hasher logged; /* the algorithm of the log's own template digests */
	/* PCR value || template digest: what the next extend hashes, in one piece */
	uint8_t extend[2 * VIGIL_LOG_DIGEST_MAX];
};

static void hasher_done(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	EVP_MD_free(h->md);
}

static void replay_done(struct replay *rp)
{
	hasher_done(&rp->bank);
	hasher_done(&rp->sha1);
	hasher_done(&rp->logged);
}

static int hasher_init(struct hasher *h, uint16_t alg)
{
	const char *name = vigil_hash_name(alg);

	h->md = name ? EVP_MD_fetch(NULL, name, NULL) : NULL;
	h->ctx = EVP_MD_CTX_new();
	if (!h->md || !h->ctx)
		return -ENOMEM;
	/* binds the context to its algorithm once; each hash then only resets it */
	return EVP_DigestInit_ex2(h->ctx, h->md, NULL) ? 0 : -EIO;
}

static int replay_init(struct replay *rp, const struct vigil_log *log, uint16_t alg,
		       enum vigil_replay_mode mode)
{
	int r;

	*rp = (struct replay){ .log = log, .mode = mode, .alg = alg, .size = vigil_hash_size(alg) };
	if (!log || !rp->size ||
	    (mode != VIGIL_REPLAY_BANK_HASH && mode != VIGIL_REPLAY_PADDED_SHA1))
		return -EINVAL;
	r = hasher_init(&rp->bank, alg);
	if (r == 0)
		r = hasher_init(&rp->sha1, TPM2_ALG_SHA1);
	if (r == 0)
		r = hasher_init(&rp->logged, log->tpm_alg);
	return r;
}

/* H(template data); for template "ima" H(d[20] || name NUL-padded to 256 bytes). */
static int hash_template(struct replay *rp, struct hasher *h, const struct vigil_log_record *rec,
			 uint8_t *out)
{
	static const uint8_t zeros[IMA_N_PAD];
	const uint8_t *data = vigil_log_record_data(rp->log, rec);
	int ok;

	ok = EVP_DigestInit_ex2(h->ctx, NULL, NULL);
	if (rec->template == VIGIL_LOG_TEMPLATE_IMA) {
		size_t nlen = rec->data_len - IMA_D_SIZE - 4;

		ok = ok && EVP_DigestUpdate(h->ctx, data, IMA_D_SIZE) &&
		     EVP_DigestUpdate(h->ctx, data + IMA_D_SIZE + 4, nlen) &&
		     EVP_DigestUpdate(h->ctx, zeros, IMA_N_PAD - nlen);
	} else {
		ok = ok && EVP_DigestUpdate(h->ctx, data, rec->data_len);
	}
	return ok && EVP_DigestFinal_ex(h->ctx, out, NULL) ? 0 : -EIO;
}

static int hash_padded_sha1(struct replay *rp, const struct vigil_log_record *rec, uint8_t *out,
			    size_t size)
{
	memset(out + SHA1_SIZE, 0, size - SHA1_SIZE);
	return hash_template(rp, &rp->sha1, rec, out);
}

/*
 * Does the logged template digest match the data? It is in the log's own bank: its real hash,
 * or (a bank IMA could not hash) the padded SHA-1. @bank is the digest just computed for the
 * replayed bank, which settles the common case without hashing again.
 */
static int check_logged(struct replay *rp, const struct vigil_log_record *rec, const uint8_t *bank,
			bool *ret_match)
{
	const uint8_t *logged = vigil_log_record_digest(rp->log, rec);
	size_t lsize = rp->log->digest_size;
	uint8_t tmp[VIGIL_LOG_DIGEST_MAX];
	int r;

	*ret_match = true;
	if (rp->log->tpm_alg == rp->alg && !CRYPTO_memcmp(bank, logged, lsize))
		return 0;
	r = hash_template(rp, &rp->logged, rec, tmp);
	if (r < 0 || !CRYPTO_memcmp(tmp, logged, lsize))
		return r;
	if (rp->log->tpm_alg != TPM2_ALG_SHA1) {
		r = hash_padded_sha1(rp, rec, tmp, lsize);
		if (r < 0 || !CRYPTO_memcmp(tmp, logged, lsize))
			return r;
	}
	*ret_match = false;
	return 0;
}

/* What one record extends the bank with. */
static int bank_digest(struct replay *rp, const struct vigil_log_record *rec, uint8_t *out,
		       struct vigil_replay_result *res, size_t index)
{
	bool match;
	int r;

	if (rec->flags & VIGIL_LOG_VIOLATION) {
		memset(out, 0xff, rp->size);
		res->violations++;
		return 0;
	}
	if (rec->flags & VIGIL_LOG_NO_DATA) {
		if (rp->log->tpm_alg != rp->alg)
			return -ENODATA;
		memcpy(out, vigil_log_record_digest(rp->log, rec), rp->size);
		res->unverified++;
		return 0;
	}
	if (rp->mode == VIGIL_REPLAY_PADDED_SHA1)
		r = hash_padded_sha1(rp, rec, out, rp->size);
	else
		r = hash_template(rp, &rp->bank, rec, out);
	if (r == 0)
		r = check_logged(rp, rec, out, &match);
	if (r == 0 && !match && res->mismatches++ == 0)
		res->first_mismatch = index;
	return r;
}

/* value = H(value || digest), the digest already in the second half of rp->extend. */
static int extend(struct replay *rp, uint8_t *value)
{
	memcpy(rp->extend, value, rp->size);
	if (!EVP_DigestInit_ex2(rp->bank.ctx, NULL, NULL) ||
	    !EVP_DigestUpdate(rp->bank.ctx, rp->extend, 2 * rp->size) ||
	    !EVP_DigestFinal_ex(rp->bank.ctx, value, NULL))
		return -EIO;
	return 0;
}

static int step(struct replay *rp, size_t index, struct vigil_replay_result *res)
{
	int r;

	r = bank_digest(rp, &rp->log->records[index], rp->extend + rp->size, res, index);
	if (r < 0)
		return r;
	res->extended++;
	return extend(rp, res->value);
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the order of vigil_replay() */
int vigil_replay_ex(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr, size_t from,
		    const uint8_t *start, enum vigil_replay_mode mode,
		    struct vigil_replay_result *res)
{
	_cleanup_(replay_done) struct replay rp = { 0 };
	struct vigil_replay_result out = { .first_mismatch = VIGIL_REPLAY_NONE };
	int r;

	r = replay_init(&rp, log, tpm_alg, mode);
	if (r < 0)
		return r;
	if (pcr >= VIGIL_PCR_COUNT || from > log->count)
		return -EINVAL;
	out.size = rp.size;
	if (start)
		memcpy(out.value, start, rp.size);
	for (size_t i = from; i < log->count; i++) {
		if (log->records[i].pcr != pcr)
			continue;
		r = step(&rp, i, &out);
		if (r < 0)
			return r;
	}
	*res = out;
	return 0;
}

/**
 * vigil_replay() - replay one PCR of a log in one bank
 * @log: the log
 * @tpm_alg: the bank (TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384, TPM2_ALG_SHA512)
 * @pcr: the PCR; records for other PCRs are skipped
 * @from: index of the first record to replay, <= @log->count
 * @start: the PCR value before record @from, or NULL for all zeros (a log from its first record)
 * @res: on success, the final value and the counts of replay.h
 *
 * vigil_replay_ex() in VIGIL_REPLAY_BANK_HASH mode: template digests in the bank's algorithm.
 *
 * Return: as vigil_replay_ex().
 */
int vigil_replay(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr, size_t from,
		 const uint8_t *start, struct vigil_replay_result *res)
{
	return vigil_replay_ex(log, tpm_alg, pcr, from, start, VIGIL_REPLAY_BANK_HASH, res);
}

/**
 * vigil_replay_match_ex() - the shortest prefix of a log that replays to a quoted value
 * @log: the log
 * @tpm_alg: the bank
 * @pcr: the PCR; records for other PCRs are skipped
 * @mode: how template digests are computed for this bank
 * @start: the PCR value before the log's first record, or NULL for all zeros (a log from the
 *	boot's first record; a verifier continuing at its cursor passes the running value)
 * @quoted: the PCR value the TPM quoted
 * @quoted_len: its length, the bank's digest size
 * @ret_covered: on VIGIL_REPLAY_MATCH, the number of records the prefix covers (0 when the
 *	quoted value is @start); records after it came after the quote
 *
 * Logged template digests do not take part: the replay extends digests recomputed from the
 * data. Use vigil_replay() to find records whose logged digest was tampered with.
 *
 * Return: VIGIL_REPLAY_MATCH, VIGIL_REPLAY_NO_MATCH, or a negative errno as vigil_replay_ex()
 * (-EINVAL also for a @quoted_len that is not the bank's digest size).
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the order of vigil_replay() */
int vigil_replay_match_ex(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr,
			  enum vigil_replay_mode mode,
			  const uint8_t *start, /* NOLINT(bugprone-easily-swappable-parameters) */
			  const uint8_t *quoted, size_t quoted_len, size_t *ret_covered)
{
	_cleanup_(replay_done) struct replay rp = { 0 };
	struct vigil_replay_result res = { .first_mismatch = VIGIL_REPLAY_NONE };
	int r;

	r = replay_init(&rp, log, tpm_alg, mode);
	if (r < 0)
		return r;
	if (pcr >= VIGIL_PCR_COUNT || quoted_len != rp.size)
		return -EINVAL;
	if (start)
		memcpy(res.value, start, rp.size);
	if (!CRYPTO_memcmp(res.value, quoted, rp.size)) {
		*ret_covered = 0;
		return VIGIL_REPLAY_MATCH;
	}
	for (size_t i = 0; i < log->count; i++) {
		if (log->records[i].pcr != pcr)
			continue;
		r = step(&rp, i, &res);
		if (r < 0)
			return r;
		if (!CRYPTO_memcmp(res.value, quoted, rp.size)) {
			*ret_covered = i + 1;
			return VIGIL_REPLAY_MATCH;
		}
	}
	return VIGIL_REPLAY_NO_MATCH;
}

/**
 * vigil_replay_match_from() - the shortest prefix of a log that replays from @start to a
 * quoted value, in whichever digest mode the bank was extended in
 * @log: the log
 * @tpm_alg: the bank
 * @pcr: the PCR; records for other PCRs are skipped
 * @start: the PCR value before the log's first record, or NULL for all zeros
 * @quoted: the PCR value the TPM quoted
 * @quoted_len: its length, the bank's digest size
 * @ret_covered: on VIGIL_REPLAY_MATCH, the number of records the prefix covers
 * @ret_mode: on VIGIL_REPLAY_MATCH, the mode that matched (may be NULL)
 *
 * A log read after the quote may hold records the quote does not cover yet; the prefix tells
 * where the next attestation continues. Tries the bank's own algorithm, then, for a bank other
 * than SHA-1, the zero-padded SHA-1 IMA uses for banks it cannot hash (vigil_replay_match_ex()).
 *
 * Return: VIGIL_REPLAY_MATCH, VIGIL_REPLAY_NO_MATCH, or a negative errno (vigil_replay_ex()).
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the order of vigil_replay() */
int vigil_replay_match_from(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr,
			    const uint8_t *start, const uint8_t *quoted, size_t quoted_len,
			    size_t *ret_covered, enum vigil_replay_mode *ret_mode)
{
	enum vigil_replay_mode mode = VIGIL_REPLAY_BANK_HASH;
	int r;

	r = vigil_replay_match_ex(log, tpm_alg, pcr, mode, start, quoted, quoted_len, ret_covered);
	if (r == VIGIL_REPLAY_NO_MATCH && tpm_alg != TPM2_ALG_SHA1) {
		mode = VIGIL_REPLAY_PADDED_SHA1;
		r = vigil_replay_match_ex(log, tpm_alg, pcr, mode, start, quoted, quoted_len,
					  ret_covered);
	}
	if (r == VIGIL_REPLAY_MATCH && ret_mode)
		*ret_mode = mode;
	return r;
}

/**
 * vigil_replay_match() - the shortest prefix of a log from the boot's first record that
 * replays to a quoted value: vigil_replay_match_from() from all zeros
 * @log: the log, from its first record
 * @tpm_alg: the bank
 * @pcr: the PCR; records for other PCRs are skipped
 * @quoted: the PCR value the TPM quoted
 * @quoted_len: its length, the bank's digest size
 * @ret_covered: on VIGIL_REPLAY_MATCH, the number of records the prefix covers
 *
 * Return: VIGIL_REPLAY_MATCH, VIGIL_REPLAY_NO_MATCH, or a negative errno (vigil_replay_ex()).
 */
int vigil_replay_match(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr,
		       const uint8_t *quoted, size_t quoted_len, size_t *ret_covered)
{
	return vigil_replay_match_from(log, tpm_alg, pcr, NULL, quoted, quoted_len, ret_covered,
				       NULL);
}
