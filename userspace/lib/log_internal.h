/* SPDX-License-Identifier: MIT */
/*
 * log_internal.h: what log.c (framing), log_fields.c (templates and fields) and log_ascii.c
 * (the ASCII layout) share. Not part of libvigil's interface.
 *
 * Invariants: the helpers here never read outside the bounds they are given; a record handed to
 * vigil_log_fields_check() or vigil_log_fields_split() has been framed by vigil_log_frame(), so
 * its name and data lie inside its log's bytes.
 */
#ifndef VIGIL_LOG_INTERNAL_H
#define VIGIL_LOG_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "log.h"

#define PCR_LIMIT 24 /* PCR indices are below this */
#define IMA_D_SIZE 20 /* the "ima" template's digest field */
#define IMA_N_PAD 256 /* the "ima" template's name is hashed NUL-padded to this size */

static inline uint32_t get_u32(const uint8_t *p, bool big_endian)
{
	if (big_endian)
		return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

static inline uint64_t get_u64(const uint8_t *p, bool big_endian)
{
	uint64_t lo = get_u32(p + (big_endian ? 4 : 0), big_endian);
	uint64_t hi = get_u32(p + (big_endian ? 0 : 4), big_endian);

	return hi << 32 | lo;
}

static inline void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* How a field's bytes are printed in the ASCII layout (and parsed back). */
enum vigil_log_kind {
	VIGIL_LOG_KIND_DIGEST, /* raw digest: hex */
	VIGIL_LOG_KIND_DIGEST_ALGO, /* "<alg>:\0" + digest: "<alg>:<hex>" */
	VIGIL_LOG_KIND_DIGEST_TYPE_ALGO, /* "<type>:<alg>:\0" + digest: "<type>:<alg>:<hex>" */
	VIGIL_LOG_KIND_STRING, /* NUL-terminated: the text before the NUL */
	VIGIL_LOG_KIND_HEX, /* any bytes: hex */
	VIGIL_LOG_KIND_UINT, /* 1, 2, 4 or 8 bytes in the log's byte order: decimal */
};

int vigil_log_frame(const struct vigil_log *log, size_t pos, uint32_t max_data,
		    struct vigil_log_record *ret, size_t *ret_bad);
int vigil_log_fields_check(const struct vigil_log *log, const struct vigil_log_record *rec,
			   size_t *ret_bad);
enum vigil_log_template vigil_log_template_lookup(const char *name, size_t len);
int vigil_log_template_fields(const char *name, size_t len, enum vigil_log_field_id *ids,
			      size_t *ret_count);
enum vigil_log_kind vigil_log_field_kind(enum vigil_log_field_id id);
size_t vigil_log_field_uint_size(enum vigil_log_field_id id);

#endif /* VIGIL_LOG_INTERNAL_H */
