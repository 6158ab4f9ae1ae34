/* SPDX-License-Identifier: MIT */
/*
 * replay.h: replaying a measurement log into PCR values, matching it against a quoted value,
 * and checking its boot_aggregate record.
 *
 * Replay of one bank (TPM2_ALG_SHA1/SHA256/SHA384/SHA512) and one PCR, record by record:
 *	PCR_new = H_bank(PCR_old || template_digest_bank(record))
 * where template_digest_bank is
 *	- all 0xff (bank size) for a violation (logged template digest all zeros);
 *	- H_bank(template data) (template "ima": H_bank(d[20] || name NUL-padded to 256 bytes));
 *	- in VIGIL_REPLAY_PADDED_SHA1 mode: SHA-1 of the same, zero-padded to the bank size, which
 *	  is what IMA extends into a bank whose algorithm the kernel could not hash.
 * Each record's logged template digest (the log's own bank) is also checked against its data;
 * a record whose digest does not match (tampered) is counted, with the index of the first one.
 * The PCR is always extended with the digest recomputed from the data, so a record whose data
 * was changed never replays to the quoted value.
 *
 * Records for other PCRs are skipped. Records without template data (ASCII input of unknown
 * templates) replay only in the log's own bank, from their logged digest, counted unverified.
 *
 * Every function here runs one EVP_MD_CTX for the whole log and allocates nothing per record.
 * Conventions as in libvigil.h: 0 or a negative errno; verdicts are positive values, never
 * errnos; out-parameters written only on success.
 */
#ifndef VIGIL_REPLAY_H
#define VIGIL_REPLAY_H

#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define VIGIL_REPLAY_NONE SIZE_MAX /* no such record */

/* How a bank's template digests are computed (IMA's rule per bank, see above). */
enum vigil_replay_mode {
	VIGIL_REPLAY_BANK_HASH = 0,
	VIGIL_REPLAY_PADDED_SHA1 = 1,
};

/* Verdicts of vigil_replay_match() */
#define VIGIL_REPLAY_MATCH 0 /* a prefix of the log replays to the quoted value */
#define VIGIL_REPLAY_NO_MATCH 1 /* no prefix does: the log does not explain the quote */

/**
 * struct vigil_replay_result - what a replay computed
 * @value: the PCR value after the last record replayed (@size bytes)
 * @size: digest size of the bank
 * @extended: records of the PCR that were replayed
 * @violations: of them, violations (extended with all 0xff)
 * @unverified: of them, records without template data, replayed from their logged digest
 * @mismatches: of them, records whose logged template digest does not match their data
 * @first_mismatch: index of the first such record, or VIGIL_REPLAY_NONE
 */
struct vigil_replay_result {
	uint8_t value[VIGIL_LOG_DIGEST_MAX];
	size_t size;
	size_t extended;
	size_t violations;
	size_t unverified;
	size_t mismatches;
	size_t first_mismatch;
};

int vigil_replay(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr, size_t from,
		 const uint8_t *start, struct vigil_replay_result *res)
	__attribute__((warn_unused_result));
int vigil_replay_ex(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr, size_t from,
		    const uint8_t *start, enum vigil_replay_mode mode,
		    struct vigil_replay_result *res) __attribute__((warn_unused_result));
int vigil_replay_match(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr,
		       const uint8_t *quoted, size_t quoted_len, size_t *ret_covered)
	__attribute__((warn_unused_result));
int vigil_replay_match_ex(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr,
			  enum vigil_replay_mode mode, const uint8_t *start, const uint8_t *quoted,
			  size_t quoted_len, size_t *ret_covered)
	__attribute__((warn_unused_result));
int vigil_replay_match_from(const struct vigil_log *log, uint16_t tpm_alg, uint32_t pcr,
			    const uint8_t *start, const uint8_t *quoted, size_t quoted_len,
			    size_t *ret_covered, enum vigil_replay_mode *ret_mode)
	__attribute__((warn_unused_result));

/* Verdicts of vigil_boot_aggregate_check() */
#define VIGIL_BOOT_AGGREGATE_OK 0
#define VIGIL_BOOT_AGGREGATE_MISSING 1 /* the first record is not boot_aggregate */
#define VIGIL_BOOT_AGGREGATE_OTHER_BANK 2 /* its digest is of another algorithm than asked */
#define VIGIL_BOOT_AGGREGATE_MISMATCH 3 /* it does not match the PCR values */

#define VIGIL_BOOT_AGGREGATE_PCRS 10 /* PCR 0..9; SHA-1 uses 0..7 only */

int vigil_boot_aggregate_compute(
	uint16_t bank_alg, const uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX],
	uint8_t *ret_digest, size_t *ret_size) __attribute__((warn_unused_result));
int vigil_boot_aggregate_alg(const struct vigil_log *log, uint16_t *ret_alg)
	__attribute__((warn_unused_result));
int vigil_boot_aggregate_check(const struct vigil_log *log, uint16_t bank_alg,
			       const uint8_t pcrs[VIGIL_BOOT_AGGREGATE_PCRS][VIGIL_LOG_DIGEST_MAX])
	__attribute__((warn_unused_result));

#endif /* VIGIL_REPLAY_H */
