/* SPDX-License-Identifier: MIT */
/*
 * archive_internal.h: what the evidence archive's files share (archive.c writes,
 * archive_verify.c reads and checks, tsa.c talks to time-stamping authorities): the names in
 * an archive directory, the head and marker files, and RFC 3161 tokens.
 *
 * Invariants: the layout is docs/archive-format.md's; entry file names are 12 decimal digits,
 * so sequence numbers stay below VIGIL_ARCHIVE_SEQ_MAX; a timestamp token's outcome is a
 * positive enum vigil_tsa_verdict, never an errno.
 */
#ifndef VIGIL_ARCHIVE_INTERNAL_H
#define VIGIL_ARCHIVE_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "compliance.h"

#define ARCHIVE_MARKER "vigil-archive.json"
#define ARCHIVE_HEAD "head.json"
#define ARCHIVE_LOCK ".lock"
#define ARCHIVE_ENTRIES "entries"
#define ARCHIVE_BLOBS "blobs"
#define ARCHIVE_SMALL_MAX 4096 /* bytes of the marker and of head.json */
#define ARCHIVE_TSA_CA_MAX ((size_t)1 << 20) /* bytes of a TSA CA bundle (PEM) */

int vigil_archive_entry_path(const char *dir, uint64_t seq, const char *ext, char **ret)
	__attribute__((warn_unused_result));
int vigil_archive_blob_path(const char *dir, const uint8_t sha256[32], char **ret)
	__attribute__((warn_unused_result));
int vigil_archive_marker_read(const char *dir) __attribute__((warn_unused_result));
int vigil_archive_head_read(const char *dir, uint64_t *ret_seq, uint8_t ret_sha256[32])
	__attribute__((warn_unused_result));

/* Outcomes of vigil_tsa_check() (positive, never errnos). */
enum vigil_tsa_verdict {
	VIGIL_TSA_VALID = 0,
	VIGIL_TSA_BAD, /* not a granted token over these bytes, or (with a CA) not signed */
};

int vigil_tsa_stamp(const struct vigil_tsa *tsa, const uint8_t digest[32], uint8_t **ret,
		    size_t *ret_len, char *err, size_t err_size)
	__attribute__((warn_unused_result));
int vigil_tsa_check(const uint8_t *tsr, size_t len, const uint8_t digest[32], const uint8_t *ca_pem,
		    size_t ca_len, int64_t *ret_time, char *detail, size_t size)
	__attribute__((warn_unused_result));
int vigil_tsa_ca_check(const uint8_t *ca_pem, size_t ca_len) __attribute__((warn_unused_result));

#endif /* VIGIL_ARCHIVE_INTERNAL_H */
