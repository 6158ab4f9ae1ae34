/* SPDX-License-Identifier: MIT */
/*
 * attest.h: libvigil's attestation interface: AK public keys, PCR selections and values, TPM
 * quote verification, evidence documents, verdicts and the verifier's clock state.
 *
 * Everything here needs only libcrypto, tss2-mu and json-c: a verifier host needs no TPM stack.
 * The device side (ESYS) is in tpm.h. Conventions are libvigil's (libvigil.h): 0 or a negative
 * errno, out-parameters written only on success. A verification *outcome* is never an errno:
 * it is a struct vigil_verdict, whose reason names why evidence was rejected. An errno from a
 * verify function means the check could not be run at all (out of memory, bad arguments).
 */
#ifndef VIGIL_ATTEST_H
#define VIGIL_ATTEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>
#include <tss2/tss2_tpm2_types.h>

struct json_object;
struct vigil_policy;
struct vigil_log;

/* ---- hex, base64, UTF-8, strict JSON (codec.c, json.c) ---- */

int vigil_hex_decode(const char *hex, size_t len, uint8_t *out, size_t size, size_t *ret_len)
	__attribute__((warn_unused_result));
int vigil_hex_encode(const uint8_t *in, size_t len, char *out, size_t size);
int vigil_base64_encode(const uint8_t *in, size_t len, char **ret)
	__attribute__((warn_unused_result));
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): text, its length, then the bound */
int vigil_base64_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len)
	__attribute__((warn_unused_result));

size_t vigil_utf8_seq(const unsigned char *u, size_t avail);
int vigil_grow(void *p, size_t n, size_t *cap, size_t size, size_t first)
	__attribute__((warn_unused_result));
bool vigil_utf8_valid(const char *s, size_t len);

#define VIGIL_JSON_DEPTH 16
#define VIGIL_JSON_MEMBERS_MAX 64
int vigil_json_parse(const char *text, size_t len, size_t max, struct json_object **ret)
	__attribute__((warn_unused_result));
int vigil_json_add(struct json_object *obj, const char *key, struct json_object *val);
struct json_object *vigil_json_text(const char *s);
int vigil_json_format(struct json_object *obj, char **ret) __attribute__((warn_unused_result));
int vigil_json_format_compact(struct json_object *obj, char **ret)
	__attribute__((warn_unused_result));

/* ---- files (file.c) ---- */

int vigil_file_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
	__attribute__((warn_unused_result));
int vigil_file_write_atomic(const char *path, const void *data, size_t len, unsigned int mode)
	__attribute__((warn_unused_result));
int vigil_file_write_new(const char *path, const void *data, size_t len, unsigned int mode)
	__attribute__((warn_unused_result));

/**
 * struct vigil_file_map - a whole file, mapped read-only (or read, when it cannot be mapped)
 * @data: its bytes
 * @len: their number
 * @map: the mapping to unmap, or NULL when @data was read into memory
 */
struct vigil_file_map {
	const uint8_t *data;
	size_t len;
	void *map;
};

int vigil_file_map(const char *path, size_t max, struct vigil_file_map *ret)
	__attribute__((warn_unused_result));
void vigil_file_unmap(struct vigil_file_map *m);
void vigil_huge_pages(void *p, size_t len);

/* ---- hash algorithms and PCR selections (pcrs.c) ---- */

/* Nonces: TPM2B_DATA holds up to 64 bytes; fewer than 8 are not a nonce. */
#define VIGIL_NONCE_MIN 8
#define VIGIL_NONCE_MAX 64
/* PCR banks in one selection; a TPM has at most one per hash algorithm. */
#define VIGIL_BANKS_MAX 8
#define VIGIL_PCR_VALUES_MAX ((size_t)VIGIL_BANKS_MAX * 24)

int vigil_hash_from_name(const char *name, uint16_t *ret_alg) __attribute__((warn_unused_result));
const char *vigil_hash_name(uint16_t alg);
size_t vigil_hash_size(uint16_t alg);
int vigil_hash_digest(uint16_t alg, const void *data, size_t len, uint8_t *out, size_t size)
	__attribute__((warn_unused_result));

int vigil_pcrsel_parse(const char *spec, TPML_PCR_SELECTION *ret)
	__attribute__((warn_unused_result));
int vigil_pcrsel_check(const TPML_PCR_SELECTION *sel) __attribute__((warn_unused_result));
int vigil_pcrsel_format(const TPML_PCR_SELECTION *sel, char *buf, size_t size);
bool vigil_pcrsel_equal(const TPML_PCR_SELECTION *a, const TPML_PCR_SELECTION *b);
bool vigil_pcrsel_has(const TPML_PCR_SELECTION *sel, uint16_t alg, uint32_t pcr);
size_t vigil_pcrsel_count(const TPML_PCR_SELECTION *sel);

/**
 * struct vigil_pcr_value - one PCR's value in one bank
 * @alg: the bank (TPM2_ALG_SHA256, ...)
 * @pcr: the PCR index, < 24
 * @size: digest size, vigil_hash_size(@alg)
 * @digest: the value
 */
struct vigil_pcr_value {
	uint16_t alg;
	uint8_t pcr;
	uint8_t size;
	uint8_t digest[64];
};

/**
 * struct vigil_pcr_values - PCR values, at most one per (bank, PCR)
 * @count: entries used
 * @v: the values, in no particular order
 */
struct vigil_pcr_values {
	size_t count;
	struct vigil_pcr_value v[VIGIL_PCR_VALUES_MAX];
};

int vigil_pcr_values_add(struct vigil_pcr_values *vals, uint16_t alg, uint32_t pcr,
			 const uint8_t *digest, size_t size) __attribute__((warn_unused_result));
const struct vigil_pcr_value *vigil_pcr_values_get(const struct vigil_pcr_values *vals,
						   uint16_t alg, uint32_t pcr);
int vigil_pcr_values_digest(const TPML_PCR_SELECTION *sel, const struct vigil_pcr_values *vals,
			    uint16_t hash_alg, uint8_t *out, size_t size, size_t *ret_len)
	__attribute__((warn_unused_result));
int vigil_pcrs_file_parse(const uint8_t *buf, size_t len, TPML_PCR_SELECTION *ret_sel,
			  struct vigil_pcr_values *ret_vals) __attribute__((warn_unused_result));
int vigil_pcrs_file_build(const TPML_PCR_SELECTION *sel, const struct vigil_pcr_values *vals,
			  uint8_t **ret, size_t *ret_len) __attribute__((warn_unused_result));

/* ---- attestation keys (ak.c) ---- */

#define VIGIL_AK_KEYID_SIZE 32

int vigil_ak_public_parse(const uint8_t *buf, size_t len, TPM2B_PUBLIC *ret)
	__attribute__((warn_unused_result));
int vigil_ak_public_check(const TPMT_PUBLIC *pub) __attribute__((warn_unused_result));
int vigil_ak_name(const TPMT_PUBLIC *pub, TPM2B_NAME *ret) __attribute__((warn_unused_result));
int vigil_ak_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret) __attribute__((warn_unused_result));
int vigil_tpm_public_to_pkey(const TPMT_PUBLIC *pub, EVP_PKEY **ret)
	__attribute__((warn_unused_result));
int vigil_ak_scheme(const TPMT_PUBLIC *pub, TPMT_SIG_SCHEME *ret)
	__attribute__((warn_unused_result));
int vigil_ak_default_scheme(const EVP_PKEY *pkey, TPMT_SIG_SCHEME *ret)
	__attribute__((warn_unused_result));
int vigil_ak_pem_parse(const uint8_t *pem, size_t len, EVP_PKEY **ret)
	__attribute__((warn_unused_result));
int vigil_ak_pem_format(EVP_PKEY *pkey, char **ret) __attribute__((warn_unused_result));
int vigil_ak_keyid(EVP_PKEY *pkey, uint8_t ret[VIGIL_AK_KEYID_SIZE])
	__attribute__((warn_unused_result));
int vigil_scheme_parse(const char *spec, TPMT_SIG_SCHEME *ret) __attribute__((warn_unused_result));

/**
 * struct vigil_ak_key - an AK prepared once for many quote verifications (a verifier's enrolled
 *	device): its public area checked, its OpenSSL key, the one scheme it binds, its key id,
 *	and a verification context set up for that scheme (vigil_ak_key_new(), quote.c)
 * @pub: the public area
 * @pkey: its public key
 * @scheme: the scheme its public area binds
 * @keyid: vigil_ak_keyid() of @pkey
 * @md: the scheme's hash
 * @verify: EVP_PKEY_verify() context: @pkey, padding and hash of @scheme
 *
 * Rebuilding these for every quote costs several times the signature check itself. @verify is
 * reused by each verification, so one key must not be used by two threads at once.
 */
struct vigil_ak_key {
	TPM2B_PUBLIC pub;
	EVP_PKEY *pkey;
	TPMT_SIG_SCHEME scheme;
	uint8_t keyid[VIGIL_AK_KEYID_SIZE];
	EVP_MD *md;
	EVP_PKEY_CTX *verify;
};

int vigil_ak_key_new(const TPM2B_PUBLIC *pub, struct vigil_ak_key **ret)
	__attribute__((warn_unused_result));
void vigil_ak_key_free(struct vigil_ak_key *k);

/* ---- verdicts (verdict.c) ---- */

/* The checks of one verification, in the order they run (STYLE.md "Verifier order"). */
enum vigil_check {
	VIGIL_CHECK_FORMAT, /* attest and signature parse strictly, no trailing bytes */
	VIGIL_CHECK_HEADER, /* magic TPM_GENERATED_VALUE, type TPM_ST_ATTEST_QUOTE */
	VIGIL_CHECK_SIGNATURE, /* the AK's one bound scheme */
	VIGIL_CHECK_NONCE, /* extraData equals the verifier's nonce */
	VIGIL_CHECK_CLOCK, /* clock safe; no rollback against the last accepted quote */
	VIGIL_CHECK_PCR_SELECTION, /* the quoted PCRs are the requested ones */
	VIGIL_CHECK_PCR_DIGEST, /* pcrDigest is the hash of the claimed or replayed values */
	VIGIL_CHECK_LOG, /* the log replays to the quoted PCR value */
	VIGIL_CHECK_POLICY, /* every record allowed by a signed policy (later issue) */
	VIGIL_CHECK_COUNT,
};

enum vigil_check_result {
	VIGIL_RESULT_NOT_RUN = 0, /* an earlier check failed */
	VIGIL_RESULT_PASS,
	VIGIL_RESULT_FAIL,
	VIGIL_RESULT_SKIPPED, /* not applicable to this evidence or not asked for */
};

/* Why evidence was rejected. The names (vigil_reject_name()) are an interface: add, never
 * rename. */
enum vigil_reject {
	VIGIL_REJECT_NONE = 0,
	VIGIL_REJECT_BAD_FORMAT,
	VIGIL_REJECT_BAD_MAGIC,
	VIGIL_REJECT_NOT_A_QUOTE,
	VIGIL_REJECT_AK_MISMATCH,
	VIGIL_REJECT_AK_NOT_RESTRICTED,
	VIGIL_REJECT_SCHEME_MISMATCH,
	VIGIL_REJECT_BAD_SIGNATURE,
	VIGIL_REJECT_NONCE_MISMATCH,
	VIGIL_REJECT_CLOCK_UNSAFE,
	VIGIL_REJECT_CLOCK_ROLLBACK,
	VIGIL_REJECT_RESET_ROLLBACK,
	VIGIL_REJECT_RESTART_ROLLBACK,
	VIGIL_REJECT_PCR_SELECTION_MISMATCH,
	VIGIL_REJECT_PCR_VALUES_MISSING,
	VIGIL_REJECT_PCR_DIGEST_MISMATCH,
	VIGIL_REJECT_LOG_MISMATCH,
	VIGIL_REJECT_LOG_TRUNCATED,
	VIGIL_REJECT_LOG_BAD_FORMAT,
	VIGIL_REJECT_POLICY_TOO_LARGE, /* the policy: vigil_policy_load_signed()'s verdicts */
	VIGIL_REJECT_POLICY_BAD_ENVELOPE,
	VIGIL_REJECT_POLICY_WRONG_TYPE,
	VIGIL_REJECT_POLICY_UNTRUSTED,
	VIGIL_REJECT_POLICY_BAD_FORMAT,
	VIGIL_REJECT_POLICY_EXPIRED,
	VIGIL_REJECT_POLICY_ROLLBACK, /* older than the highest version accepted for its name */
	VIGIL_REJECT_RECORDS_REJECTED, /* records the policy does not allow: see failures */
	VIGIL_REJECT_BOOT_AGGREGATE_MISMATCH, /* not the policy's golden boot_aggregate */
	VIGIL_REJECT_PCR_GOLDEN_MISMATCH, /* a quoted PCR differs from the policy's golden value */
	VIGIL_REJECT_POLICY_NO_LOG, /* a policy was given but no whole log replays to the quote */
	VIGIL_REJECT_LOG_CURSOR, /* a continued log does not start at the verifier's cursor */
	VIGIL_REJECT_COUNT,
};

/* Why one record failed the policy. Names (vigil_record_reason_name()) are an interface. */
enum vigil_record_reason {
	VIGIL_RECORD_NOT_IN_POLICY = 0,
	VIGIL_RECORD_DIGEST_MISMATCH, /* the path is in the policy with other digests */
	VIGIL_RECORD_DENIED, /* the digest is on the policy's deny list */
	VIGIL_RECORD_VIOLATION, /* a measurement violation (ToMToU, open writers, unreadable) */
	VIGIL_RECORD_HASH_ALG_MISMATCH, /* the file digest is not of the policy's hash_alg */
	VIGIL_RECORD_UNREADABLE, /* the record has no file digest or name to check */
};

#define VIGIL_RECORD_EXPECTED_MAX 4 /* expected digests kept per failure */

/**
 * struct vigil_record_failure - one record the policy did not allow
 * @index: the record's index in the log
 * @reason: why
 * @warning: listed only: the policy's "violations": "warn" (does not reject)
 * @hook: the hook that measured the record (enum vigil_hook of kernel/uapi/vigil.h), or -1
 *	when the log's template does not say (IMA's ima-ng)
 * @path: the record's name (file path), NUL-terminated, may be empty
 * @alg: the file digest's algorithm as logged ("sha256"), may be empty
 * @digest: the file digest as logged
 * @digest_len: its size (0 for violations)
 * @expected_count: digests the policy allows at @path (for digest_mismatch), possibly more
 *	than the VIGIL_RECORD_EXPECTED_MAX kept in @expected
 * @expected: the first of them
 */
struct vigil_record_failure {
	size_t index;
	enum vigil_record_reason reason;
	bool warning;
	int32_t hook;
	char *path;
	char alg[16];
	uint8_t digest[64];
	size_t digest_len;
	size_t expected_count;
	uint8_t expected[VIGIL_RECORD_EXPECTED_MAX][64];
};

/**
 * struct vigil_clock_state - the TPM clock of the last accepted quote of one AK
 * @clock: TPMS_CLOCK_INFO.clock, milliseconds
 * @reset_count: TPMS_CLOCK_INFO.resetCount
 * @restart_count: TPMS_CLOCK_INFO.restartCount
 */
struct vigil_clock_state {
	uint64_t clock;
	uint32_t reset_count;
	uint32_t restart_count;
};

/**
 * struct vigil_cursor - how far a device's log has been verified, in its current boot
 * @next: records verified so far: the index of the next record to ask for
 * @clock: the TPM clock of the last accepted quote (reset/restart counts say which boot)
 * @bank_count: entries in @banks
 * @banks: the running value of the log's PCR after @next records, per quoted bank
 * @valid: true after the first accepted quote of a boot; false: the next log must start at
 *	record 0 (a new device, a reboot, or a policy to re-appraise the whole log with)
 */
struct vigil_cursor {
	uint64_t next;
	struct vigil_clock_state clock;
	uint32_t bank_count;
	struct {
		uint16_t alg;
		uint8_t size;
		uint8_t value[64];
	} banks[VIGIL_BANKS_MAX];
	bool valid;
};

/**
 * struct vigil_verdict - the outcome of verifying one quote (and log); members are ordered by
 * alignment, not by meaning
 * @accepted: true only if every check that ran passed and none failed
 * @reason: why it was rejected (VIGIL_REJECT_NONE when accepted)
 * @failed: the check that failed (meaningful only when !@accepted)
 * @detail: a human-readable elaboration of @reason, or NULL: static, or @detail_text
 * @detail_text: storage for a @detail that is not static (a verdict is not copied by value)
 * @checks: result of every check
 * @policy_applied: false: authenticity and freshness only, no reference values were used
 * @have_quote: @clock, @firmware, @safe and @selection come from a parsed attest structure
 * @clock: the quote's clock info
 * @safe: clockInfo.safe
 * @firmware: firmwareVersion
 * @selection: the quoted PCR selection
 * @log_records: records in the log given (0 without a log)
 * @records_covered: records whose replay equals the quoted PCR value
 * @ak_keyid: SHA-256 of the AK's DER SubjectPublicKeyInfo
 * @policy_name: the policy applied ("" when none)
 * @policy_version: its version
 * @policy_keyid: the key id of the trusted key whose signature verified it
 * @records_checked: covered records of the log's PCR the policy looked at
 * @records_excluded: of them, records whose path the policy excludes
 * @boot_appraised: the policy has a golden boot_aggregate or golden PCR values, and they were
 *	compared (their failures are in @reason / @failures)
 * @failure_count: entries in @failures
 * @failures: every record the policy did not allow (warnings included), in log order; owned
 *	by the verdict, released with vigil_verdict_release()
 */
struct vigil_verdict {
	const char *detail;
	struct vigil_record_failure *failures;
	size_t failure_count;
	size_t log_records;
	size_t records_covered;
	size_t records_checked;
	size_t records_excluded;
	uint64_t firmware;
	uint64_t policy_version;
	struct vigil_clock_state clock;
	enum vigil_reject reason;
	enum vigil_check failed;
	enum vigil_check_result checks[VIGIL_CHECK_COUNT];
	TPML_PCR_SELECTION selection;
	uint8_t ak_keyid[VIGIL_AK_KEYID_SIZE];
	uint8_t policy_keyid[32];
	char policy_name[129];
	char detail_text[400];
	bool accepted;
	bool policy_applied;
	bool have_quote;
	bool safe;
	bool boot_appraised;
};

const char *vigil_record_reason_name(enum vigil_record_reason reason);
const char *vigil_hook_name(uint32_t hook);
void vigil_verdict_release(struct vigil_verdict *v);
const char *vigil_reject_name(enum vigil_reject reason);
const char *vigil_check_name(enum vigil_check check);
const char *vigil_check_result_name(enum vigil_check_result result);
void vigil_verdict_init(struct vigil_verdict *v);
void vigil_verdict_pass(struct vigil_verdict *v, enum vigil_check check);
void vigil_verdict_skip(struct vigil_verdict *v, enum vigil_check check);
void vigil_verdict_fail(struct vigil_verdict *v, enum vigil_check check, enum vigil_reject reason,
			const char *detail);
void vigil_verdict_finish(struct vigil_verdict *v);
int vigil_failure_to_json(const struct vigil_record_failure *f, bool expected,
			  struct json_object *o) __attribute__((warn_unused_result));
int vigil_verdict_to_json(const struct vigil_verdict *v, char **ret)
	__attribute__((warn_unused_result));
int vigil_verdict_to_json_compact(const struct vigil_verdict *v, char **ret)
	__attribute__((warn_unused_result));

/* ---- quote verification (quote.c) ---- */

/**
 * struct vigil_quote_input - what vigil_quote_verify() checks, and against what
 * @attest: marshalled TPMS_ATTEST (tpm2_quote -m), untrusted
 * @attest_len: its length
 * @sig: marshalled TPMT_SIGNATURE (tpm2_quote -s), untrusted
 * @sig_len: its length
 * @ak: the verifier's trusted AK public key
 * @ak_public: the AK public area claimed by the evidence, or NULL; when given it must be a
 *	restricted signing key, must be @ak, and binds the signature scheme
 * @scheme: the scheme bound to @ak when @ak_public is NULL; NULL: ECDSA or RSASSA by key
 *	type, with SHA-256
 * @key: instead of @ak, @ak_public and @scheme (which are then not looked at): the
 *	verifier's own AK, prepared (its public area is the one that binds the scheme)
 * @nonce: the verifier's nonce
 * @nonce_len: its length
 * @selection: the PCR selection the verifier asked for
 * @pcrs: PCR values to check pcrDigest against (every selected PCR), or NULL to leave the
 *	pcr_digest check to the caller (values from a log replay)
 * @prev: the clock of the last accepted quote of this AK, or NULL
 */
struct vigil_quote_input {
	const uint8_t *attest;
	size_t attest_len;
	const uint8_t *sig;
	size_t sig_len;
	EVP_PKEY *ak;
	const TPM2B_PUBLIC *ak_public;
	const TPMT_SIG_SCHEME *scheme;
	const struct vigil_ak_key *key;
	const uint8_t *nonce;
	size_t nonce_len;
	const TPML_PCR_SELECTION *selection;
	const struct vigil_pcr_values *pcrs;
	const struct vigil_clock_state *prev;
};

int vigil_quote_parse(const uint8_t *attest, size_t attest_len, const uint8_t *sig, size_t sig_len,
		      TPMS_ATTEST *ret_attest, TPMT_SIGNATURE *ret_sig)
	__attribute__((warn_unused_result));
int vigil_quote_verify(const struct vigil_quote_input *in, struct vigil_verdict *verdict,
		       TPMS_ATTEST *ret_attest) __attribute__((warn_unused_result));
int vigil_quote_check_digest(const TPMS_ATTEST *attest, uint16_t sig_hash,
			     const struct vigil_pcr_values *pcrs, bool *ret_match)
	__attribute__((warn_unused_result));

/**
 * struct vigil_attest_input - a quote and the measurement log that explains it
 * @quote: the quote and what to check it against (vigil_quote_verify())
 * @log: the binary measurement log (any IMA-framed log), or NULL
 * @log_len: its length
 * @log_from: index of the first record in @log (evidence "log.from")
 * @log_bank: the bank to replay the log in (TPM2_ALG_SHA256, ...)
 * @log_pcr: the PCR the log extends (11 for vigil, 10 for IMA)
 * @policy: the reference values every covered record is checked against, or NULL (no policy:
 *	authenticity and freshness only). Loaded, signature-checked and rollback-checked by
 *	the caller, which reports a policy that failed those checks in @policy_reject
 * @policy_reject: VIGIL_REJECT_NONE, or why the policy given could not be used (a
 *	VIGIL_REJECT_POLICY_* reason): the verdict is then rejected at the policy check
 * @policy_detail: a static elaboration of @policy_reject, or NULL
 * @policy_keyid: the key id of the key that signed @policy (copied into the verdict)
 */
struct vigil_attest_input {
	struct vigil_quote_input quote;
	const uint8_t *log;
	size_t log_len;
	uint64_t log_from;
	uint16_t log_bank;
	uint32_t log_pcr;
	const struct vigil_policy *policy;
	enum vigil_reject policy_reject;
	const char *policy_detail;
	const uint8_t *policy_keyid;
};

int vigil_attest_verify(const struct vigil_attest_input *in, struct vigil_verdict *verdict)
	__attribute__((warn_unused_result));
int vigil_attest_continue(const struct vigil_attest_input *in, const struct vigil_cursor *cursor,
			  struct vigil_verdict *verdict, struct vigil_cursor *ret_next)
	__attribute__((warn_unused_result));

/* ---- policy appraisal (appraise.c) ---- */

int vigil_appraise(const struct vigil_log *log, size_t covered, const struct vigil_policy *policy,
		   uint32_t pcr, const struct vigil_pcr_values *quoted, struct vigil_verdict *v)
	__attribute__((warn_unused_result));
int vigil_appraise_from(const struct vigil_log *log, size_t base, size_t covered,
			const struct vigil_policy *policy, uint32_t pcr,
			const struct vigil_pcr_values *quoted, struct vigil_verdict *v)
	__attribute__((warn_unused_result));

/* ---- evidence documents (evidence.c) ---- */

#define VIGIL_EVIDENCE_VERSION 1
#define VIGIL_EVIDENCE_MAX (256u << 20) /* bytes of JSON */
#define VIGIL_EVIDENCE_LOG_MAX (160u << 20) /* bytes of binary log inside */
#define VIGIL_ATTEST_MAX sizeof(TPMS_ATTEST)
#define VIGIL_SIG_MAX sizeof(TPMT_SIGNATURE)

/**
 * struct vigil_evidence - one `vigil quote` result
 * @nonce: the verifier's nonce, as the device received it
 * @nonce_len: its length, VIGIL_NONCE_MIN..VIGIL_NONCE_MAX
 * @attest: marshalled TPMS_ATTEST, exactly what tpm2_quote -m writes
 * @attest_len: its length
 * @sig: marshalled TPMT_SIGNATURE, exactly what tpm2_quote -s writes
 * @sig_len: its length
 * @selection: the PCR selection the device quoted
 * @pcrs: the values it read for @selection after the quote
 * @ak_public: the AK public area (marshalled TPM2B_PUBLIC in the document)
 * @ak_handle: the AK's persistent handle on the device
 * @log: the binary measurement log from record @log_from on, or NULL without a log
 * @log_len: its length
 * @log_from: index of the first record in @log
 * @kernel: uname release of the device, or NULL
 * @boot_id: the device's boot id, or NULL
 * @created: RFC 3339 UTC time of the quote by the device's clock (informational), or NULL
 */
struct vigil_evidence {
	uint8_t nonce[VIGIL_NONCE_MAX];
	size_t nonce_len;
	uint8_t *attest;
	size_t attest_len;
	uint8_t *sig;
	size_t sig_len;
	TPML_PCR_SELECTION selection;
	struct vigil_pcr_values pcrs;
	TPM2B_PUBLIC ak_public;
	uint32_t ak_handle;
	uint8_t *log;
	size_t log_len;
	uint64_t log_from;
	char *kernel;
	char *boot_id;
	char *created;
};

int vigil_evidence_parse(const char *text, size_t len, struct vigil_evidence **ret)
	__attribute__((warn_unused_result));
int vigil_evidence_format(const struct vigil_evidence *ev, char **ret)
	__attribute__((warn_unused_result));
void vigil_evidence_free(struct vigil_evidence *ev);
void vigil_evidence_freep(struct vigil_evidence **ev);

/* ---- verifier clock state (state.c) ---- */

int vigil_state_lock(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE], int *ret_fd)
	__attribute__((warn_unused_result));
int vigil_state_load(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE],
		     struct vigil_clock_state *ret) __attribute__((warn_unused_result));
int vigil_state_store(const char *dir, const uint8_t keyid[VIGIL_AK_KEYID_SIZE],
		      const struct vigil_clock_state *st) __attribute__((warn_unused_result));
int vigil_state_policy_lock(const char *dir, const char *name, int *ret_fd)
	__attribute__((warn_unused_result));
int vigil_state_policy_load(const char *dir, const char *name, uint64_t *ret_version)
	__attribute__((warn_unused_result));
int vigil_state_policy_store(const char *dir, const char *name, uint64_t version)
	__attribute__((warn_unused_result));

#endif /* VIGIL_ATTEST_H */
