/* SPDX-License-Identifier: MIT */
/*
 * compliance.h: libvigil's compliance evidence: JWS (ES256) and EAT Attestation Results (EAR),
 * re-verification of archived attestations, the hash-chained evidence archive with optional
 * RFC 3161 timestamps, CycloneDX SBOM matching, and the compliance report (HTML and an in-toto
 * Statement in DSSE).
 *
 * Conventions are libvigil's (libvigil.h): 0 or a negative errno, out-parameters written only
 * on success. A verification *outcome* (an EAR that does not verify, an archive entry that was
 * edited) is never an errno: it is a positive verdict value or a finding in a result structure;
 * an errno means the check could not be run (out of memory, I/O on the verifier's own files).
 *
 * Formats: docs/ear-format.md (EAR claims and their mapping from a verdict),
 * docs/archive-format.md (archive layout, chaining, timestamps), docs/report-format.md and
 * docs/report.schema.json (the JSON report).
 */
#ifndef VIGIL_COMPLIANCE_H
#define VIGIL_COMPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

#include "attest.h"

/* ---- JWS compact serialization, ES256 only (jws.c) ---- */

#define VIGIL_JWS_MAX ((size_t)1 << 20) /* bytes of one compact JWS */

/* Verdicts of vigil_jws_verify() (positive, never errnos). */
enum vigil_jws_verdict {
	VIGIL_JWS_VERIFIED = 0,
	VIGIL_JWS_BAD_FORMAT, /* not three base64url parts, header not a JSON object, ... */
	VIGIL_JWS_BAD_ALG, /* header "alg" is not "ES256" (or "crit" is present) */
	VIGIL_JWS_UNTRUSTED, /* the signature verifies under no trusted key */
};

/*
 * vigil_jws_sign() - sign @payload as a compact JWS, header {"alg":"ES256","typ":@typ}
 * @key: an ECDSA P-256 private key (-EKEYREJECTED otherwise)
 * @ret: "b64url(header).b64url(payload).b64url(r||s)", NUL-terminated; free() it
 */
int vigil_jws_sign(const char *typ, const uint8_t *payload, size_t len, EVP_PKEY *key, char **ret)
	__attribute__((warn_unused_result));
/*
 * vigil_jws_verify() - check a compact JWS against trusted P-256 public keys
 * Return: VIGIL_JWS_VERIFIED with *@ret_payload (decoded, NUL-terminated, free() it) and
 * *@ret_key (index in @trusted; may be NULL), another verdict, or a negative errno.
 */
int vigil_jws_verify(const char *jws, size_t len, EVP_PKEY *const *trusted, size_t ntrusted,
		     uint8_t **ret_payload, size_t *ret_len, size_t *ret_key)
	__attribute__((warn_unused_result));
const char *vigil_jws_verdict_name(enum vigil_jws_verdict v);
/* vigil_base64url_encode() - RFC 4648 §5 without padding, as JWS writes it. free() *@ret. */
int vigil_base64url_encode(const uint8_t *in, size_t len, char **ret)
	__attribute__((warn_unused_result));
/* vigil_base64url_decode() - strict: URL-safe alphabet only, no padding, zero unused bits;
 * -EINVAL otherwise, -EFBIG beyond @max bytes or VIGIL_JWS_MAX characters. *@ret is
 * NUL-terminated; free() it. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): text, its length, then the bound */
int vigil_base64url_decode(const char *s, size_t len, size_t max, uint8_t **ret, size_t *ret_len)
	__attribute__((warn_unused_result));

/* ---- EAT Attestation Results (ear.c) ---- */

#define VIGIL_EAR_PROFILE_VERAISON "tag:github.com,2023:veraison/ear"
#define VIGIL_EAR_PROFILE_IETF "tag:ietf.org,2026:rats/ear#03"
#define VIGIL_EAR_MEDIA_TYPE "application/eat+jwt"
#define VIGIL_EAR_POLICY_ID_MAX 512
#define VIGIL_EAR_FINDINGS_CLAIM "urn:vigil:ear:findings" /* vigil's extension claim */

/* Claim naming: Veraison's ("ear.status", ...; the default) or draft-ietf-rats-ear-03's
 * ("ear_status", ...). */
enum vigil_ear_profile {
	VIGIL_EAR_VERAISON = 0,
	VIGIL_EAR_IETF,
};

/* AR4SI tiers, as their lowest standard value. */
enum vigil_ear_tier {
	VIGIL_TIER_NONE = 0,
	VIGIL_TIER_AFFIRMING = 2,
	VIGIL_TIER_WARNING = 32,
	VIGIL_TIER_CONTRAINDICATED = 96,
};

/* Trustworthiness-vector claims, in AR4SI key order. Names: vigil_ear_claim_name(). */
enum vigil_ear_claim {
	VIGIL_TV_INSTANCE_IDENTITY = 0,
	VIGIL_TV_CONFIGURATION,
	VIGIL_TV_EXECUTABLES,
	VIGIL_TV_FILE_SYSTEM,
	VIGIL_TV_HARDWARE,
	VIGIL_TV_RUNTIME_OPAQUE,
	VIGIL_TV_STORAGE_OPAQUE,
	VIGIL_TV_SOURCED_DATA,
	VIGIL_TV_COUNT,
};

/* Submodules, labelled "boot" (boot_aggregate, golden PCRs) and "runtime" (vigil's log). */
enum vigil_ear_submod {
	VIGIL_SUBMOD_BOOT = 0,
	VIGIL_SUBMOD_RUNTIME,
	VIGIL_SUBMOD_COUNT,
};

/**
 * struct vigil_ear_appraisal - one submodule's appraisal
 * @status: no better than the worst claim of @tv
 * @has: which claims of @tv are present
 * @tv: the claims' values (AR4SI codes, -128..127)
 */
struct vigil_ear_appraisal {
	enum vigil_ear_tier status;
	bool has[VIGIL_TV_COUNT];
	int8_t tv[VIGIL_TV_COUNT];
};

/**
 * struct vigil_ear - an attestation result (the claims vigil writes and checks)
 * @profile: claim naming
 * @iat: issued at, seconds since the epoch
 * @nonce: the verifier's nonce ("eat_nonce", base64url), @nonce_len 0 when absent
 * @developer: "ear.verifier-id".developer
 * @build: "ear.verifier-id".build
 * @policy_id: "ear.appraisal-policy-id" ("" when no policy was applied), e.g.
 *	"urn:vigil:policy:plc:7#sha256=<hex of the DSSE envelope>"
 * @submods: "boot" and "runtime"
 */
struct vigil_ear {
	enum vigil_ear_profile profile;
	int64_t iat;
	uint8_t nonce[VIGIL_NONCE_MAX];
	size_t nonce_len;
	char developer[256];
	char build[128];
	char policy_id[VIGIL_EAR_POLICY_ID_MAX];
	struct vigil_ear_appraisal submods[VIGIL_SUBMOD_COUNT];
};

/* Verdicts of vigil_ear_verify() (positive, never errnos). */
enum vigil_ear_verdict {
	VIGIL_EAR_VALID = 0,
	VIGIL_EAR_BAD_FORMAT, /* the JWS does not parse (vigil_jws_verify()'s BAD_FORMAT) */
	VIGIL_EAR_BAD_ALG,
	VIGIL_EAR_UNTRUSTED,
	VIGIL_EAR_BAD_CLAIMS, /* signed, but not an EAR vigil can read: named in @detail */
};

/*
 * vigil_ear_from_verdict() - the claims for a verdict (docs/ear-format.md has the mapping)
 * @v: a finished verdict
 * @nonce, @nonce_len: the verifier's nonce
 * @policy_id: the appraisal policy id, or NULL when @v applied none
 * @iat: issued-at
 */
int vigil_ear_from_verdict(const struct vigil_verdict *v, enum vigil_ear_profile profile,
			   const uint8_t *nonce, size_t nonce_len, const char *policy_id,
			   int64_t iat, struct vigil_ear *ret) __attribute__((warn_unused_result));
/* vigil_ear_policy_id() - "urn:vigil:policy:NAME:VERSION#sha256=HEX", HEX the SHA-256 of the
 * signed policy (the DSSE envelope file, as the archive stores it). */
int vigil_ear_policy_id(const char *name, uint64_t version, const uint8_t *envelope, size_t len,
			char *buf, size_t size) __attribute__((warn_unused_result));
/* vigil_ear_sign() - the EAR as an ES256 JWT (typ "JWT"); the verdict's record failures go
 * into VIGIL_EAR_FINDINGS_CLAIM (runtime submodule) when @v is not NULL. free() *@ret. */
int vigil_ear_sign(const struct vigil_ear *ear, const struct vigil_verdict *v, EVP_PKEY *key,
		   char **ret) __attribute__((warn_unused_result));
/*
 * vigil_ear_verify() - check an EAR JWT's signature and read its claims (either naming)
 * Return: VIGIL_EAR_VALID with *@ret (and, when @ret_claims is not NULL, the claims set as
 * pretty JSON text, free() it), another verdict with a static @detail, or a negative errno.
 */
int vigil_ear_verify(const char *jwt, size_t len, EVP_PKEY *const *trusted, size_t ntrusted,
		     struct vigil_ear *ret, char **ret_claims, const char **detail)
	__attribute__((warn_unused_result));
/* vigil_ear_parse_claims() - read an EAR's claims set (the JWT payload, signature not
 * checked: vigil_ear_verify() does both). VIGIL_EAR_VALID with *@ret, VIGIL_EAR_BAD_CLAIMS
 * with a static @detail, or a negative errno. */
int vigil_ear_parse_claims(const uint8_t *payload, size_t len, struct vigil_ear *ret,
			   const char **detail) __attribute__((warn_unused_result));
/* vigil_ear_equal() - same claims, @iat included. */
bool vigil_ear_equal(const struct vigil_ear *a, const struct vigil_ear *b);
const char *vigil_ear_claim_name(enum vigil_ear_claim c);
const char *vigil_ear_tier_name(enum vigil_ear_tier t);
const char *vigil_ear_submod_name(enum vigil_ear_submod s);
const char *vigil_ear_verdict_name(enum vigil_ear_verdict v);
enum vigil_ear_tier vigil_ear_tier_of(int8_t value);

/* ---- re-verifying an archived attestation (reverify.c) ---- */

/**
 * struct vigil_reverify_input - everything `vigil verify` used for one evidence document
 * @evidence, @evidence_len: the evidence document (JSON)
 * @ak_pem, @ak_pem_len: the AK public key the verifier trusted
 * @nonce, @nonce_len: the verifier's nonce
 * @selection: the PCR selection asked for ("sha256:11")
 * @bank, @pcr: the log's bank and PCR
 * @policy, @policy_len: the signed policy (DSSE), or NULL
 * @trust, @trust_len, @ntrust: the policy-signing public keys (PEM) the verifier trusted
 * @policy_floor: the highest version accepted before for the policy's name (0: none)
 * @prev: the AK's last accepted clock before this verification, or NULL
 * @now: the verification time (a policy's valid_until is checked against it)
 */
struct vigil_reverify_input {
	const uint8_t *evidence;
	size_t evidence_len;
	const uint8_t *ak_pem;
	size_t ak_pem_len;
	const uint8_t *nonce;
	size_t nonce_len;
	const char *selection;
	uint16_t bank;
	uint32_t pcr;
	const uint8_t *policy;
	size_t policy_len;
	const uint8_t *const *trust;
	const size_t *trust_len;
	size_t ntrust;
	uint64_t policy_floor;
	const struct vigil_clock_state *prev;
	int64_t now;
};

/* vigil_reverify() - the verdict `vigil verify` reaches for these inputs, deterministically.
 * -EINVAL when the verifier's own inputs (AK, trust keys, selection) do not parse. Release the
 * verdict with vigil_verdict_release(). */
int vigil_reverify(const struct vigil_reverify_input *in, struct vigil_verdict *ret)
	__attribute__((warn_unused_result));
/* vigil_policy_reject_of() - a vigil_policy_load_signed() verdict as the verifier's reject
 * reason, with a static detail. */
enum vigil_reject vigil_policy_reject_of(int policy_verdict, const char **detail);

/* ---- the evidence archive (archive.c, archive_entry.c, archive_verify.c, tsa.c) ---- */

#define VIGIL_ARCHIVE_FORMAT 1 /* "vigil_archive": 1 */
#define VIGIL_ARCHIVE_ITEM_MAX ((size_t)256 << 20)
#define VIGIL_ARCHIVE_TRUST_MAX 16
#define VIGIL_ARCHIVE_DEVICE_MAX 128
#define VIGIL_ARCHIVE_ENTRY_MAX ((size_t)1 << 20) /* bytes of one entry document */
#define VIGIL_ARCHIVE_SEQ_MAX 1000000000000ull /* 10^12 entries: 12 digits in a file name */
#define VIGIL_ARCHIVE_BY_MAX 256
#define VIGIL_ARCHIVE_REASON_MAX 4096
#define VIGIL_ARCHIVE_TSR_MAX ((size_t)64 << 10) /* bytes of one TimeStampResp */

enum vigil_archive_kind {
	VIGIL_ARCHIVE_ATTESTATION = 0, /* one `vigil verify` */
	VIGIL_ARCHIVE_MONITORING, /* monitoring switched off (opt-out) or on again, by whom, why */
};

/**
 * struct vigil_archive_record - what one append stores
 * @kind: attestation or monitoring
 * @device: the device's name, [A-Za-z0-9._:-], 1..128; NULL: an attestation's is the AK's key
 *	id in hex, a monitoring entry without one concerns every device (no "device" member)
 * @time: when, seconds since the epoch (the verifier's clock)
 * Attestation (the inputs of struct vigil_reverify_input, plus the outputs):
 * @evidence..@now: as in struct vigil_reverify_input (@now is @time)
 * @verdict, @verdict_len: the verdict JSON (vigil_verdict_to_json())
 * @ear, @ear_len: the EAR JWT, or NULL
 * @ear_key, @ear_key_len: the EAR signer's public key (PEM), or NULL
 * Monitoring:
 * @monitoring_off: true: opted out from now on; false: monitoring on again
 * @by: who decided (free text, 1..256 bytes UTF-8)
 * @reason: why (free text, 0..4096 bytes UTF-8)
 */
struct vigil_archive_record {
	enum vigil_archive_kind kind;
	const char *device;
	int64_t time;
	struct vigil_reverify_input in;
	const uint8_t *verdict;
	size_t verdict_len;
	const uint8_t *ear;
	size_t ear_len;
	const uint8_t *ear_key;
	size_t ear_key_len;
	bool monitoring_off;
	const char *by;
	const char *reason;
};

/**
 * struct vigil_tsa - an RFC 3161 time-stamping authority
 * @url: where to POST application/timestamp-query (http:// or https://), or NULL: no token
 * @ca_pem, @ca_pem_len: the TSA's CA certificate(s) (PEM) to check tokens with
 * @timeout_ms: how long one request may take
 */
struct vigil_tsa {
	const char *url;
	const uint8_t *ca_pem;
	size_t ca_pem_len;
	long timeout_ms;
};

struct vigil_archive;

/* vigil_archive_open() - open (@create: create if missing) an archive directory for appends;
 * holds its lock until closed. */
int vigil_archive_open(const char *dir, bool create, struct vigil_archive **ret)
	__attribute__((warn_unused_result));
/* vigil_archive_append() - store @rec as the next entry, chained to the previous one, with a
 * timestamp token over the entry when @tsa->url is set (-EPROTO with @tsa_error filled when
 * the TSA fails: nothing is appended). *@ret_seq: the entry's sequence number (from 1). */
int vigil_archive_append(struct vigil_archive *a, const struct vigil_archive_record *rec,
			 const struct vigil_tsa *tsa, uint64_t *ret_seq, char *tsa_error,
			 size_t tsa_error_size) __attribute__((warn_unused_result));
void vigil_archive_close(struct vigil_archive *a);
bool vigil_archive_device_valid(const char *s, size_t len);
void vigil_archive_closep(struct vigil_archive **a);

/**
 * struct vigil_archive_entry - one entry as read back (after its own checks)
 * @seq: sequence number, from 1
 * @kind, @device, @time, @monitoring_off, @by, @reason: as appended (@device "" for a
 *	monitoring entry about every device; @by and @reason NULL for attestations)
 * @entry_sha256: SHA-256 of the entry document (what the next entry chains to)
 * @nonce, @nonce_len, @selection, @bank, @pcr, @policy_floor, @have_prev, @prev: attestation
 *	inputs as appended
 * @have_timestamp: a timestamp token is stored; @timestamp its genTime (epoch seconds)
 * @evidence..@ear_key: the items, read and checked against their digests (NULL when absent);
 *	@trust/@trust_len: @ntrust trusted keys
 */
struct vigil_archive_entry {
	uint64_t seq;
	enum vigil_archive_kind kind;
	char device[VIGIL_ARCHIVE_DEVICE_MAX + 1];
	int64_t time;
	bool monitoring_off;
	char *by;
	char *reason;
	uint8_t entry_sha256[32];
	uint8_t nonce[VIGIL_NONCE_MAX];
	size_t nonce_len;
	char selection[64];
	uint16_t bank;
	uint32_t pcr;
	uint64_t policy_floor;
	bool have_prev;
	struct vigil_clock_state prev;
	bool have_timestamp;
	int64_t timestamp;
	uint8_t *evidence, *ak, *policy, *verdict, *ear, *ear_key;
	size_t evidence_len, ak_len, policy_len, verdict_len, ear_len, ear_key_len;
	uint8_t *trust[VIGIL_ARCHIVE_TRUST_MAX];
	size_t trust_len[VIGIL_ARCHIVE_TRUST_MAX];
	size_t ntrust;
};

/* The items of an attestation entry, in the order of its "items" object ("trust" apart). */
enum vigil_archive_item {
	VIGIL_ARCHIVE_ITEM_EVIDENCE = 0,
	VIGIL_ARCHIVE_ITEM_AK,
	VIGIL_ARCHIVE_ITEM_POLICY, /* optional */
	VIGIL_ARCHIVE_ITEM_VERDICT,
	VIGIL_ARCHIVE_ITEM_EAR, /* optional, with VIGIL_ARCHIVE_ITEM_EAR_KEY */
	VIGIL_ARCHIVE_ITEM_EAR_KEY,
	VIGIL_ARCHIVE_ITEM_COUNT,
};

/**
 * struct vigil_archive_ref - an item as an entry document names it
 * @sha256: the SHA-256 of its bytes (also its blob's file name, in hex)
 * @size: their number, 1..VIGIL_ARCHIVE_ITEM_MAX
 */
struct vigil_archive_ref {
	uint8_t sha256[32];
	uint64_t size;
};

/**
 * struct vigil_archive_doc - one entry document, parsed (docs/archive-format.md)
 * @entry: its fields; no item is read (the buffers are NULL), @entry.entry_sha256 and
 *	@entry.have_timestamp are not set; release with vigil_archive_entry_release()
 * @prev: "prev": the SHA-256 of the previous entry's file (zeros for entry 1)
 * @has: which items the entry names (attestations: evidence, ak and verdict always)
 * @items: their references
 * @trust: the trusted keys' references, @entry.ntrust of them
 */
struct vigil_archive_doc {
	struct vigil_archive_entry entry;
	uint8_t prev[32];
	bool has[VIGIL_ARCHIVE_ITEM_COUNT];
	struct vigil_archive_ref items[VIGIL_ARCHIVE_ITEM_COUNT];
	struct vigil_archive_ref trust[VIGIL_ARCHIVE_TRUST_MAX];
};

/* vigil_archive_entry_parse() - an entry document, strictly (members checked and bounded,
 * unknown or repeated ones rejected); -EBADMSG with a static @what naming the member. */
int vigil_archive_entry_parse(const char *text, size_t len, struct vigil_archive_doc *ret,
			      const char **what) __attribute__((warn_unused_result));
/* vigil_archive_entry_format() - the canonical text of an entry document (what append
 * writes; the parse of this text formats to the same bytes). free() *@ret. */
int vigil_archive_entry_format(const struct vigil_archive_doc *d, char **ret, size_t *ret_len)
	__attribute__((warn_unused_result));
/* vigil_archive_entry_release() - free what an entry owns (strings, items); stays empty. */
void vigil_archive_entry_release(struct vigil_archive_entry *e);

/* Problems vigil_archive_verify() finds. Names (vigil_archive_problem_name()) are an
 * interface. */
enum vigil_archive_problem {
	VIGIL_ARCHIVE_OK = 0,
	VIGIL_ARCHIVE_UNREADABLE, /* an entry or item is missing or cannot be read */
	VIGIL_ARCHIVE_MALFORMED, /* an entry document does not parse */
	VIGIL_ARCHIVE_ITEM_MISMATCH, /* an item's bytes are not the digest the entry names */
	VIGIL_ARCHIVE_CHAIN_BROKEN, /* "prev" is not the previous entry's digest */
	VIGIL_ARCHIVE_SEQ_GAP, /* an entry is missing (dropped) or out of order */
	VIGIL_ARCHIVE_HEAD_MISMATCH, /* the head names more or other entries (truncated) */
	VIGIL_ARCHIVE_TIMESTAMP_BAD, /* a timestamp token does not verify or covers other bytes */
	VIGIL_ARCHIVE_VERDICT_DIFFERS, /* re-verification reaches another verdict */
	VIGIL_ARCHIVE_EAR_BAD, /* the EAR does not verify under the archived key */
	VIGIL_ARCHIVE_EAR_DIFFERS, /* the EAR's claims are not those of the verdict */
	VIGIL_ARCHIVE_PROBLEM_COUNT,
};

/**
 * struct vigil_archive_finding - one problem, at one entry
 * @seq: the entry (0: the archive as a whole, e.g. its head)
 * @problem: what
 * @detail: a human-readable elaboration (owned)
 */
struct vigil_archive_finding {
	uint64_t seq;
	enum vigil_archive_problem problem;
	char *detail;
};

/**
 * struct vigil_archive_result - what vigil_archive_verify() found
 * @entries: entries read
 * @attestations: attestation entries re-verified
 * @timestamps: timestamp tokens verified (signature under the TSA CA, imprint)
 * @timestamps_unchecked: tokens whose imprint matched but whose signature was not checked
 *	(no TSA CA given); 0 when a CA was given
 * @head_seq: the last entry read (normally head.json's "seq")
 * @head_sha256: the SHA-256 of its file: the digest to record outside the archive
 * @count, @findings: every problem, in entry order
 */
struct vigil_archive_result {
	uint64_t entries;
	uint64_t attestations;
	uint64_t timestamps;
	uint64_t timestamps_unchecked;
	uint64_t head_seq;
	uint8_t head_sha256[32];
	size_t count;
	struct vigil_archive_finding *findings;
};

/* vigil_archive_verify() - check every entry offline from the archive alone: items against
 * digests, the chain, sequence and head, timestamps (when @tsa_ca is given), each
 * attestation re-verified (vigil_reverify()) to the archived verdict, each EAR against its
 * key and the verdict. Problems go into *@ret; an errno only when nothing could be checked. */
int vigil_archive_verify(const char *dir, const uint8_t *tsa_ca, size_t tsa_ca_len,
			 struct vigil_archive_result *ret) __attribute__((warn_unused_result));
void vigil_archive_result_release(struct vigil_archive_result *r);
const char *vigil_archive_problem_name(enum vigil_archive_problem p);

/* Reading entries in order, for reports: @fn is called for each entry that passes its own
 * checks; vigil_archive_verify() is the complete check. */
int vigil_archive_foreach(const char *dir,
			  int (*fn)(void *ctx, const struct vigil_archive_entry *e), void *ctx)
	__attribute__((warn_unused_result));

/* ---- CycloneDX SBOM matching (sbom.c) ---- */

#define VIGIL_SBOM_MAX ((size_t)256 << 20)

/**
 * struct vigil_sbom_component - the component a file digest belongs to
 * @name, @version, @purl, @bom_ref: as in the SBOM ("" when absent)
 */
struct vigil_sbom_component {
	const char *name;
	const char *version;
	const char *purl;
	const char *bom_ref;
};

struct vigil_sbom;

/* vigil_sbom_parse() - a CycloneDX 1.5 or 1.6 JSON BOM: every (nested) component's SHA-256
 * hashes indexed; -EBADMSG with @err (static) naming what is wrong. */
int vigil_sbom_parse(const char *text, size_t len, struct vigil_sbom **ret, const char **err)
	__attribute__((warn_unused_result));
/* vigil_sbom_lookup() - the component with this SHA-256, or NULL. */
const struct vigil_sbom_component *vigil_sbom_lookup(const struct vigil_sbom *s,
						     const uint8_t sha256[32]);
/* vigil_sbom_info() - specVersion, serialNumber and the metadata component's name/version. */
void vigil_sbom_info(const struct vigil_sbom *s, const char **spec_version, const char **serial,
		     const char **name, const char **version);
void vigil_sbom_free(struct vigil_sbom *s);
void vigil_sbom_freep(struct vigil_sbom **s);

/* ---- the compliance report (report.c, report_html.c, report_json.c) ---- */

#define VIGIL_REPORT_PREDICATE_TYPE "https://vigil.dev/attestation/compliance-report/v1"
#define VIGIL_INTOTO_PAYLOAD_TYPE "application/vnd.in-toto+json"

enum vigil_report_format {
	VIGIL_REPORT_HTML = 0,
	VIGIL_REPORT_JSON, /* an in-toto Statement v1 (predicate: docs/report.schema.json) */
};

/**
 * struct vigil_report_options - what to report
 * @archive: the archive directory
 * @device: only this device, or NULL for every device
 * @from, @to: only entries with @from <= time <= @to (INT64_MIN / INT64_MAX: unbounded)
 * @sbom: a parsed SBOM to attribute measured files to components, or NULL
 * @sbom_sha256: the SBOM file's SHA-256 (when @sbom is set)
 * @sbom_name: the SBOM file's name as given (when @sbom is set)
 * @now: the report's generation time
 */
struct vigil_report_options {
	const char *archive;
	const char *device;
	int64_t from, to;
	const struct vigil_sbom *sbom;
	uint8_t sbom_sha256[32];
	const char *sbom_name;
	int64_t now;
};

/**
 * struct vigil_report_stats - what a report covers (for the command's summary line)
 * @attestations: attestation entries in the selection
 * @violations: violations listed: record failures, and rejections that name no record
 * @open_violations: of them, those no later trusted attestation of the device followed
 * @monitoring: monitoring changes shown (incl. an opt-out in force when the period starts)
 */
struct vigil_report_stats {
	size_t attestations;
	size_t violations;
	size_t open_violations;
	size_t monitoring;
};

/* vigil_report_build() - read the archive and write the report: HTML text, or the in-toto
 * Statement JSON (unsigned; sign it with vigil_dsse_new()/vigil_dsse_sign() and
 * VIGIL_INTOTO_PAYLOAD_TYPE). -ENOENT when the archive has no entry in the selection,
 * -ENOTDIR when @o->archive is not an archive. *@ret_stats (may be NULL): the counts the
 * report shows. */
int vigil_report_build(const struct vigil_report_options *o, enum vigil_report_format format,
		       char **ret, size_t *ret_len, struct vigil_report_stats *ret_stats)
	__attribute__((warn_unused_result));

#endif /* VIGIL_COMPLIANCE_H */
