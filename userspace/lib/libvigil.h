/* SPDX-License-Identifier: MIT */
/*
 * libvigil.h: the public interface of libvigil.
 *
 * libvigil parses what vigil.ko exports and (in later issues) verifies quotes, logs and
 * policies. It never prints, never exits and has no global state, so it can be linked into the
 * vigil command, a verifier daemon or a fuzzer alike.
 *
 * Conventions for every function here: the return value is 0 on success or a negative errno;
 * out-parameters (ret) are written only on success, never partially; objects returned through
 * an out-parameter belong to the caller and are released with the matching *_free().
 */
#ifndef VIGIL_LIBVIGIL_H
#define VIGIL_LIBVIGIL_H

#include <stddef.h>

#include "log.h" /* measurement logs: parse, decode, ASCII layout */
#include "replay.h" /* log replay, quoted-value match, boot_aggregate */
#include "attest.h" /* AKs, quote verification, evidence, verdicts (tpm.h: the device) */
#include "policy.h" /* attestation policies, DSSE, policy-signing keys */

/* The status file has one line per fact; a handful today. Anything longer is not vigil.ko's. */
#define VIGIL_STATUS_LINES_MAX 64

/**
 * struct vigil_status_entry - one "key: value" line of the status file
 * @key: the key, non-empty, only [a-z0-9_]
 * @value: everything after the first ": " up to the newline; may be empty
 */
struct vigil_status_entry {
	const char *key;
	const char *value;
};

/**
 * struct vigil_status - the parsed status file of vigil.ko
 * @count: number of entries
 * @entries: the lines in file order, keys unique, unknown keys included
 *
 * One allocation holds the entries and the strings they point to; release it with
 * vigil_status_free().
 */
struct vigil_status {
	size_t count;
	struct vigil_status_entry entries[];
};

int vigil_status_parse(const char *text, size_t len, struct vigil_status **ret)
	__attribute__((warn_unused_result));
int vigil_status_read(const char *path, struct vigil_status **ret)
	__attribute__((warn_unused_result));
const char *vigil_status_get(const struct vigil_status *st, const char *key);
const char *vigil_status_strerror(int err);
void vigil_status_free(struct vigil_status *st);
void vigil_status_freep(struct vigil_status **st);

#endif /* VIGIL_LIBVIGIL_H */
