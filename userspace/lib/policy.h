/* SPDX-License-Identifier: MIT */
/*
 * policy.h: attestation policies (reference values): the document format "vigil_policy": 1,
 * its compiled index, the per-record decision, DSSE envelopes and policy-signing keys.
 *
 * Document (DESIGN.md §5, docs/policy-format.md), one JSON object, members in any order, each
 * at most once, unknown members rejected:
 *	"vigil_policy": 1				required
 *	"name": "plc-runtime"				required, 1..VIGIL_POLICY_NAME_MAX bytes of
 *							[A-Za-z0-9._-]
 *	"version": 7					required, 0..2^53-1, monotonic per name
 *	"valid_until": "2027-12-31T00:00:00Z"		required, RFC 3339 UTC ("Z", no fraction)
 *	"hash_alg": "sha256"				required: sha1, sha256, sha384, sha512
 *	"violations": "fail"				optional: fail (default), warn, ignore
 *	"digests": { "/usr/bin/bash": ["<hex>", ...] }	path -> allowed file digests
 *	"any_path": ["<hex>", ...]			digests allowed at any path
 *	"excludes": ["/tmp/?*", ...]			fnmatch(3) globs, flags 0 ('*' crosses '/')
 *	"excludes_regex": ["^/var/log/.*"]		POSIX extended regexes (Keylime's excludes,
 *							kept verbatim on import), anchored at the start;
 *							bounded repetition: no quantifier right after
 *							another, {m,n} counts <= 255, at most 64 copies
 *							of a subexpression by '+' and {m,n} together
 *	"deny": ["<hex>", ...]				digests rejected everywhere
 *	"boot_aggregate": "<hex>"			optional golden boot_aggregate (hash_alg)
 *	"pcrs": { "sha256": { "0": "<hex>", ... } }	optional golden PCR values
 *	"packages": { "<hex>": "name version" }	optional: which package a digest came from
 *	"created": "2026-11-27T22:00:00Z"		optional, informational
 *	"generator": "vigil 0.2"			optional, informational
 * Digests are lowercase or uppercase hex of exactly the hash_alg's size. Paths are absolute
 * (start with '/') or a record name without '/' (Keylime's "boot_aggregate"), at most
 * VIGIL_POLICY_PATH_MAX bytes, valid UTF-8, no NUL. Duplicate member names anywhere are
 * rejected; a digest listed twice under one path is kept once.
 *
 * Decision for one record (vigil_policy_check()), in this order: a digest in "deny" is denied
 * (whatever the path); a path matching "excludes" or "excludes_regex" is excluded (not
 * checked); a digest listed for the path, or in "any_path", is allowed; a path that has
 * digests but not this one is a digest mismatch; anything else is not in the policy.
 *
 * The compiled index is built once (parse or builder) and is read-only afterwards, so one
 * policy can be shared by threads checking quotes. Conventions are libvigil.h's.
 */
#ifndef VIGIL_POLICY_H
#define VIGIL_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/types.h>

struct vigil_pcr_values;

#define VIGIL_POLICY_FORMAT 1 /* "vigil_policy": 1 */
#define VIGIL_POLICY_PAYLOAD_TYPE "application/vnd.vigil.policy+json"
#define VIGIL_POLICY_MAX ((size_t)256 << 20) /* bytes of policy JSON */
/* bytes of a signed policy (DSSE envelope): the payload in base64 plus 64 KiB for the rest */
#define VIGIL_POLICY_ENVELOPE_MAX ((VIGIL_POLICY_MAX + 2) / 3 * 4 + ((size_t)64 << 10))
#define VIGIL_POLICY_NAME_MAX 128
#define VIGIL_POLICY_PATH_MAX 4096
#define VIGIL_POLICY_PATTERNS_MAX 65536 /* excludes + excludes_regex */
#define VIGIL_POLICY_PACKAGE_MAX 256 /* bytes of one "packages" value */

enum vigil_policy_violations {
	VIGIL_POLICY_VIOLATIONS_FAIL = 0,
	VIGIL_POLICY_VIOLATIONS_WARN,
	VIGIL_POLICY_VIOLATIONS_IGNORE,
};

/**
 * struct vigil_policy_info - a policy's scalar members and counts
 * @name: "name", NUL-terminated
 * @version: "version"
 * @valid_until: "valid_until" in seconds since the epoch (UTC)
 * @created: "created" in seconds since the epoch, 0 when absent
 * @generator: "generator", NUL-terminated, empty when absent
 * @hash_alg: "hash_alg" as a TPM algorithm id (TPM2_ALG_SHA256, ...)
 * @digest_size: its digest size in bytes
 * @violations: "violations"
 * @has_boot_aggregate: "boot_aggregate" is present
 * @boot_aggregate: its value (@digest_size bytes)
 * @paths: number of paths in "digests"
 * @digests: number of (path, digest) pairs in "digests"
 * @any_path: number of digests in "any_path"
 * @deny: number of digests in "deny"
 * @excludes: number of globs in "excludes"
 * @excludes_regex: number of regexes in "excludes_regex"
 * @pcrs: number of golden PCR values in "pcrs"
 * @packages: number of entries in "packages"
 */
struct vigil_policy_info {
	char name[VIGIL_POLICY_NAME_MAX + 1];
	uint64_t version;
	int64_t valid_until;
	int64_t created;
	char generator[64];
	uint16_t hash_alg;
	uint8_t digest_size;
	enum vigil_policy_violations violations;
	bool has_boot_aggregate;
	uint8_t boot_aggregate[64];
	size_t paths;
	size_t digests;
	size_t any_path;
	size_t deny;
	size_t excludes;
	size_t excludes_regex;
	size_t pcrs;
	size_t packages;
};

/**
 * struct vigil_policy_error - where and why a policy document was rejected
 * @offset: byte offset in the document
 * @line: 1-based line of @offset
 * @what: a human-readable reason naming the member ("digests./usr/bin/ls[0]: 31 bytes,
 *	sha256 needs 32"), NUL-terminated
 */
struct vigil_policy_error {
	size_t offset;
	size_t line;
	char what[256];
};

/* The outcome of vigil_policy_check() for one record. Names (vigil_policy_result_name()) are
 * an interface: add, never rename. */
enum vigil_policy_result {
	VIGIL_POLICY_ALLOWED = 0,
	VIGIL_POLICY_EXCLUDED,
	VIGIL_POLICY_NOT_IN_POLICY,
	VIGIL_POLICY_DIGEST_MISMATCH,
	VIGIL_POLICY_DENIED,
};

struct vigil_policy;

/* ---- the document and its index (policy.c) ---- */

bool vigil_policy_name_valid(const char *name, size_t len);
int vigil_policy_parse(const char *text, size_t len, struct vigil_policy **ret,
		       struct vigil_policy_error *err) __attribute__((warn_unused_result));
int vigil_policy_new(const struct vigil_policy_info *info, struct vigil_policy **ret)
	__attribute__((warn_unused_result));
int vigil_policy_add_digest(struct vigil_policy *p, const char *path, size_t path_len,
			    const uint8_t *digest) __attribute__((warn_unused_result));
int vigil_policy_add_any(struct vigil_policy *p, const uint8_t *digest)
	__attribute__((warn_unused_result));
int vigil_policy_add_deny(struct vigil_policy *p, const uint8_t *digest)
	__attribute__((warn_unused_result));
int vigil_policy_add_exclude(struct vigil_policy *p, const char *glob)
	__attribute__((warn_unused_result));
int vigil_policy_add_exclude_regex(struct vigil_policy *p, const char *regex)
	__attribute__((warn_unused_result));
int vigil_policy_add_pcr(struct vigil_policy *p, uint16_t alg, uint32_t pcr, const uint8_t *digest,
			 size_t len) __attribute__((warn_unused_result));
int vigil_policy_add_package(struct vigil_policy *p, const uint8_t *digest, const char *package)
	__attribute__((warn_unused_result));
int vigil_policy_set_boot_aggregate(struct vigil_policy *p, const uint8_t *digest)
	__attribute__((warn_unused_result));
int vigil_policy_format(const struct vigil_policy *p, char **ret, size_t *ret_len)
	__attribute__((warn_unused_result));
void vigil_policy_free(struct vigil_policy *p);
void vigil_policy_freep(struct vigil_policy **p);

const struct vigil_policy_info *vigil_policy_info(const struct vigil_policy *p);
int vigil_policy_check(const struct vigil_policy *p, const char *path, size_t path_len,
		       const uint8_t *digest, enum vigil_policy_result *ret)
	__attribute__((warn_unused_result));
void vigil_policy_prefetch(const struct vigil_policy *p, const char *path, size_t path_len);
size_t vigil_policy_expected(const struct vigil_policy *p, const char *path, size_t path_len,
			     const uint8_t **ret_digests);
const char *vigil_policy_package(const struct vigil_policy *p, const uint8_t *digest);
int vigil_policy_pcrs(const struct vigil_policy *p, struct vigil_pcr_values *ret)
	__attribute__((warn_unused_result));
size_t vigil_policy_memory(const struct vigil_policy *p);
const char *vigil_policy_result_name(enum vigil_policy_result r);
const char *vigil_policy_violations_name(enum vigil_policy_violations v);

/* Walks in the canonical order of vigil_policy_format() (paths and digests sorted bytewise). A
 * callback's non-zero return stops the walk and is returned. */
int vigil_policy_foreach_path(const struct vigil_policy *p,
			      int (*fn)(void *ctx, const char *path, size_t path_len,
					const uint8_t *digests, size_t count),
			      void *ctx);
int vigil_policy_foreach_any(const struct vigil_policy *p,
			     int (*fn)(void *ctx, const uint8_t *digest), void *ctx);
int vigil_policy_foreach_deny(const struct vigil_policy *p,
			      int (*fn)(void *ctx, const uint8_t *digest), void *ctx);
int vigil_policy_foreach_exclude(const struct vigil_policy *p, bool regex,
				 int (*fn)(void *ctx, const char *pattern), void *ctx);

/* ---- policy-signing keys (sigkey.c) ---- */

#define VIGIL_SIGKEY_ID_SIZE 32 /* SHA-256 of the public key's DER SubjectPublicKeyInfo */
#define VIGIL_SIGKEY_PEM_MAX 65536

enum vigil_sigkey_alg {
	VIGIL_SIGKEY_ECDSA_P256 = 0,
	VIGIL_SIGKEY_ED25519,
};

int vigil_sigkey_alg_parse(const char *name, enum vigil_sigkey_alg *ret)
	__attribute__((warn_unused_result));
int vigil_sigkey_generate(enum vigil_sigkey_alg alg, EVP_PKEY **ret)
	__attribute__((warn_unused_result));
int vigil_sigkey_private_pem(EVP_PKEY *key, char **ret) __attribute__((warn_unused_result));
int vigil_sigkey_public_pem(EVP_PKEY *key, char **ret) __attribute__((warn_unused_result));
int vigil_sigkey_load_private(const uint8_t *pem, size_t len, EVP_PKEY **ret)
	__attribute__((warn_unused_result));
int vigil_sigkey_load_public(const uint8_t *pem, size_t len, EVP_PKEY **ret)
	__attribute__((warn_unused_result));
int vigil_sigkey_id(EVP_PKEY *key, uint8_t ret[VIGIL_SIGKEY_ID_SIZE])
	__attribute__((warn_unused_result));

/* ---- DSSE envelopes (dsse.c) ---- */

#define VIGIL_DSSE_SIGS_MAX 16
#define VIGIL_DSSE_KEYID_MAX 256
#define VIGIL_DSSE_TYPE_MAX 256

/**
 * struct vigil_dsse_sig - one signature of an envelope
 * @keyid: the "keyid" hint (may be empty); never used to decide anything
 * @sig: the signature bytes (ECDSA: DER; Ed25519: 64 bytes)
 * @sig_len: their length
 */
struct vigil_dsse_sig {
	char *keyid;
	uint8_t *sig;
	size_t sig_len;
};

/**
 * struct vigil_dsse - a parsed DSSE envelope
 * @payload_type: "payloadType", NUL-terminated
 * @payload: the decoded "payload" bytes
 * @payload_len: their length
 * @count: number of signatures, 1..VIGIL_DSSE_SIGS_MAX after a parse
 * @sigs: the signatures
 */
struct vigil_dsse {
	char *payload_type;
	uint8_t *payload;
	size_t payload_len;
	size_t count;
	struct vigil_dsse_sig sigs[VIGIL_DSSE_SIGS_MAX];
};

/* Verdicts of vigil_dsse_verify() (positive values, never errnos). */
enum vigil_dsse_verdict {
	VIGIL_DSSE_VERIFIED = 0,
	VIGIL_DSSE_WRONG_TYPE, /* payloadType is not the one expected */
	VIGIL_DSSE_UNTRUSTED, /* no signature verifies under any trusted key */
};

int vigil_dsse_parse(const char *text, size_t len, size_t max_payload, struct vigil_dsse **ret)
	__attribute__((warn_unused_result));
int vigil_dsse_new(const char *payload_type, const uint8_t *payload, size_t len,
		   struct vigil_dsse **ret) __attribute__((warn_unused_result));
int vigil_dsse_sign(struct vigil_dsse *env, EVP_PKEY *key) __attribute__((warn_unused_result));
int vigil_dsse_format(const struct vigil_dsse *env, char **ret) __attribute__((warn_unused_result));
int vigil_dsse_pae(const char *payload_type, const uint8_t *payload, size_t len, uint8_t **ret,
		   size_t *ret_len) __attribute__((warn_unused_result));
/* Return: VIGIL_DSSE_VERIFIED (and *@ret_key: the index of the trusted key whose signature
 * verified), another enum vigil_dsse_verdict, or a negative errno (could not check). */
int vigil_dsse_verify(const struct vigil_dsse *env, const char *payload_type,
		      EVP_PKEY *const *trusted, size_t ntrusted, size_t *ret_key)
	__attribute__((warn_unused_result));
void vigil_dsse_free(struct vigil_dsse *env);
void vigil_dsse_freep(struct vigil_dsse **env);

/* ---- signed policies: envelope, signature, document, validity (policy_load.c) ---- */

/* Verdicts of vigil_policy_load_signed() (positive values, never errnos). Each maps to the
 * verifier's reject reason of the same name with a "policy_" prefix. */
enum vigil_policy_verdict {
	VIGIL_POLICY_LOADED = 0,
	VIGIL_POLICY_TOO_LARGE, /* the envelope or its payload is beyond VIGIL_POLICY_MAX */
	VIGIL_POLICY_BAD_ENVELOPE, /* not a DSSE envelope */
	VIGIL_POLICY_WRONG_TYPE, /* payloadType is not VIGIL_POLICY_PAYLOAD_TYPE */
	VIGIL_POLICY_UNTRUSTED, /* no signature verifies under a trusted key */
	VIGIL_POLICY_BAD_FORMAT, /* signed, but not a valid policy document (see @err) */
	VIGIL_POLICY_EXPIRED, /* valid_until is before @now */
};

/* Return: VIGIL_POLICY_LOADED with *@ret and *@ret_key (index in @trusted of the key whose
 * signature verified; @ret_key may be NULL), another verdict (@err filled for BAD_FORMAT), or a
 * negative errno (could not check). */
int vigil_policy_load_signed(const char *text, size_t len, EVP_PKEY *const *trusted,
			     size_t ntrusted, int64_t now, struct vigil_policy **ret,
			     size_t *ret_key, struct vigil_policy_error *err)
	__attribute__((warn_unused_result));
const char *vigil_policy_verdict_name(enum vigil_policy_verdict v);

#endif /* VIGIL_POLICY_H */
