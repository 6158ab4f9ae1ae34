/* SPDX-License-Identifier: MIT */
/*
 * keylime.h: conversion between Keylime's runtime policy (keylime/ima/ima.py
 * RUNTIME_POLICY_SCHEMA, meta.version 1) and vigil's attestation policy (policy.h).
 *
 * Import keeps what both can say and refuses what vigil cannot: "digests" (path -> digests,
 * boot_aggregate included) become "digests", all of one length, which decides hash_alg;
 * "excludes" (Python regexes) become "excludes_regex" verbatim, after a check that each one
 * means the same as a POSIX extended regex (no \d, no (?...), no lazy quantifier, no
 * backslash inside brackets); "release" becomes "version". Non-empty "keyrings", "ima-buf",
 * "verification-keys" or "rules", and a non-null "ima.dm_policy", have no vigil equivalent and
 * are refused ("unsupported: ..."), never dropped. "ima.ignored_keyrings" and
 * "ima.log_hash_alg" are accepted and reported back (struct vigil_keylime_notes).
 *
 * Export writes every member Keylime's schema requires: meta {version 1, generator 3
 * (LegacyAllowList: what keylime-policy itself writes; the verifier skips IMA for generator
 * 0 or 1)}, release = version, digests (and boot_aggregate under its record name), excludes =
 * excludes_regex + each glob translated to an anchored regex, empty keyrings / ima-buf /
 * verification-keys, ima {ignored_keyrings [], log_hash_alg "sha1", dm_policy null}. A policy
 * with any_path, deny or golden PCR values cannot be exported: Keylime's runtime policy has no
 * way to say them. What Keylime has no place for but that does not widen what is allowed
 * (name, valid_until, packages, violations) is reported in the notes.
 */
#ifndef VIGIL_KEYLIME_H
#define VIGIL_KEYLIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy.h"

#define VIGIL_KEYLIME_FORMAT 1 /* meta.version */
#define VIGIL_KEYLIME_GENERATOR 3 /* RUNTIME_POLICY_GENERATOR.LegacyAllowList */
#define VIGIL_KEYLIME_GENERATOR_MAX 3

/**
 * struct vigil_keylime_import_opts - what a Keylime policy does not say
 * @name: the policy's name
 * @version: its version when @version_set, else Keylime's "release" (1 without one)
 * @version_set: @version overrides "release"
 * @valid_until: seconds since the epoch
 * @created: seconds since the epoch, or 0
 * @generator: the "generator" member, or ""
 * @hash_alg: hash_alg of a policy without digests (0: sha256)
 * @violations: the "violations" member
 */
struct vigil_keylime_import_opts {
	const char *name;
	uint64_t version;
	bool version_set;
	int64_t valid_until;
	int64_t created;
	const char *generator;
	uint16_t hash_alg;
	enum vigil_policy_violations violations;
};

/**
 * struct vigil_keylime_notes - what a conversion could not carry and did not need to
 * @log_hash_alg: import: "ima.log_hash_alg" ("" when absent): the template hash of the log,
 *	informational (vigil reads it from the log itself)
 * @ignored_keyrings: import: entries of "ima.ignored_keyrings" (meaningless without keyrings)
 * @generator: import: "meta.generator", -1 when absent
 * @has_release: import: "release" was present
 * @release: its value
 * @globs: export: "excludes" globs translated to regexes
 * @packages: export: "packages" entries Keylime has no place for
 * @valid_until: export: the policy's expiry, which Keylime does not have
 * @violations: export: the policy's "violations" is not "fail" (Keylime fails on them)
 */
struct vigil_keylime_notes {
	char log_hash_alg[16];
	size_t ignored_keyrings;
	int generator;
	bool has_release;
	uint64_t release;
	size_t globs;
	size_t packages;
	int64_t valid_until;
	bool violations;
};

int vigil_keylime_import(const char *text, size_t len, const struct vigil_keylime_import_opts *o,
			 struct vigil_policy **ret, struct vigil_keylime_notes *notes,
			 struct vigil_policy_error *err) __attribute__((warn_unused_result));
int vigil_keylime_export(const struct vigil_policy *p, char **ret, size_t *ret_len,
			 struct vigil_keylime_notes *notes, struct vigil_policy_error *err)
	__attribute__((warn_unused_result));
int vigil_keylime_glob_regex(const char *glob, char **ret, char *why, size_t why_size)
	__attribute__((warn_unused_result));
int vigil_keylime_regex_check(const char *regex, char *why, size_t why_size)
	__attribute__((warn_unused_result));

#endif /* VIGIL_KEYLIME_H */
