/* SPDX-License-Identifier: MIT */
/*
 * policy_internal.h: what policy.c (builder, decision, queries), policy_index.c (the compiled
 * index), policy_json.c (the strict parser) and policy_format.c (the canonical writer) share.
 * Not part of libvigil's interface.
 *
 * The index of "digests" is built for size and for one cheap lookup per log record:
 *  - A path is split after its last '/': dir ‖ basename, dir "" for a record name without '/'.
 *    Directories are few; each is interned once (@dirs, @dchars, table @dslot).
 *  - Each path is one record in the byte arena @rec: varint basename length, varint dir id,
 *    varint (count << 1 | spare), varint capacity if spare, the basename, then count distinct
 *    digests sorted bytewise (capacity * digest size bytes reserved). A parsed record has no
 *    spare room; the builder gives a record it has to move twice the room it needs, so adding
 *    digests to one path in any order is amortised O(1) moves.
 *  - The path table is open addressing keyed by a seeded 64-bit hash of the whole path, in
 *    cache-line buckets of 12 slots: 12 control bytes (0 empty, else 8 bits of the hash, not 0)
 *    and the 12 records' offsets. A path's home is the start of a bucket; probes go on slot by
 *    slot into the next buckets (load <= 0.8, so rarely), and dereference a record only when a
 *    control byte matches (1 in 255 for another path). A lookup costs one cache line of the
 *    table and the record.
 *  - "any_path", "deny" and the keys of "packages" are each a struct vigil_policy_dset: a flat
 *    digest array plus a table of index + 1 keyed by the digest's first 8 bytes, seeded.
 *
 * Invariants: every record reachable from the path table is live and its path is unique; @rec
 * is at most VIGIL_POLICY_INDEX_MAX bytes, so offsets fit in 32 bits; records not reachable
 * from the table are garbage counted in @rec_dead; info.paths, info.digests and the other
 * counts always match the index; the queries (const) never write, so a built policy can be
 * shared by threads.
 */
#ifndef VIGIL_POLICY_INTERNAL_H
#define VIGIL_POLICY_INTERNAL_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "attest.h"
#include "policy.h"

#define VIGIL_POLICY_INDEX_MAX ((size_t)UINT32_MAX) /* bytes of the record arena */
#define VIGIL_POLICY_DIGEST_MAX 64
#define VIGIL_POLICY_BANKS 4 /* sha1, sha256, sha384, sha512 */
#define VIGIL_POLICY_PCR_COUNT 24
#define VIGIL_POLICY_PCR_SLOTS ((size_t)VIGIL_POLICY_BANKS * VIGIL_POLICY_PCR_COUNT)
#define VIGIL_POLICY_GENERATOR_MAX (sizeof(((struct vigil_policy_info *)0)->generator) - 1)
#define VIGIL_POLICY_TIME_LEN 20 /* "YYYY-MM-DDTHH:MM:SSZ" */
#define VIGIL_POLICY_VERSION_MAX (((uint64_t)1 << 53) - 1)

/* A set of distinct digests: insertion order in @d, found through @slot. */
struct vigil_policy_dset {
	uint8_t *d;
	size_t n;
	size_t cap;
	uint32_t *slot; /* index + 1, 0 = empty; load <= 0.5 */
	size_t nslots;
};

#define VIGIL_POLICY_BUCKET 12

struct vigil_policy_bucket {
	uint8_t ctrl[VIGIL_POLICY_BUCKET];
	uint32_t off[VIGIL_POLICY_BUCKET];
	uint32_t pad;
};

struct vigil_policy_dir {
	uint32_t off; /* in dchars */
	uint32_t len;
};

/* One "excludes" glob or "excludes_regex" regex. */
struct vigil_policy_pattern {
	char *text; /* NUL-terminated, as written in the document */
	size_t len;
	size_t prefix_at; /* every path the pattern matches starts with the @prefix bytes */
	size_t prefix; /* of @text at @prefix_at: its literal head */
	bool regex;
	regex_t re; /* "^(" text ")", REG_EXTENDED | REG_NOSUB; only if @regex */
};

/* A record the parser added, for vigil_policy_index_build(). */
struct vigil_policy_pending {
	uint64_t hash; /* of its path */
	uint32_t off; /* in the arena */
	uint32_t at; /* document offset of its key */
};

/* A record of the arena, decoded (pointers into the arena: valid until it changes). */
struct vigil_policy_rec {
	uint32_t dir;
	uint32_t name_len;
	uint32_t count;
	uint32_t cap;
	bool spare;
	const char *name;
	const uint8_t *digests;
	size_t size; /* bytes from the record's first byte to the end of its capacity */
};

struct vigil_policy {
	struct vigil_policy_info info;
	uint64_t seed[2];
	size_t ds; /* info.digest_size */

	uint8_t *rec;
	size_t rec_len, rec_cap, rec_dead;
	struct vigil_policy_bucket *bkt; /* nslots / VIGIL_POLICY_BUCKET buckets, 64-byte aligned */
	void *bkt_mem; /* the allocation @bkt lies in */
	size_t nslots;

	char *dchars;
	size_t dchars_len, dchars_cap;
	struct vigil_policy_dir *dirs;
	size_t ndirs, dirs_cap;
	uint32_t *dslot; /* dir id + 1 */
	size_t ndslots;

	struct vigil_policy_dset any, deny, pkg;
	uint32_t *pkg_off; /* per pkg digest: offset of its NUL-terminated name in pchars */
	size_t pkg_off_cap;
	char *pchars;
	size_t pchars_len, pchars_cap;

	struct vigil_policy_pattern *pat;
	size_t npat, pat_cap;
	size_t regex_cost; /* regex_check() cost * length, summed over the regexes */

	struct vigil_pcr_value *pcr; /* VIGIL_POLICY_PCR_SLOTS entries once one is set */
	size_t npcr;

	uint32_t last_dir; /* the directory interned last: paths come grouped by directory */
};

#define VIGIL_POLICY_REC_HEADER_MAX 20 /* four varints of at most 5 bytes */

static inline size_t vigil_policy_varint_len(uint32_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline size_t vigil_policy_put_varint(uint8_t *q, uint32_t v)
{
	size_t n = 0;

	while (v >= 0x80) {
		q[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	q[n++] = (uint8_t)v;
	return n;
}

/*
 * Start a record at the end of the arena: header with a one-byte count of 0 (to be written),
 * then the basename. The caller made room for VIGIL_POLICY_REC_HEADER_MAX + @name_len bytes.
 * Return the record's offset; *@ret_count is where its count byte is.
 */
static inline uint32_t vigil_policy_rec_head(struct vigil_policy *p, uint32_t dir, const char *name,
					     size_t name_len, size_t *ret_count)
{
	uint32_t off = (uint32_t)p->rec_len;
	uint8_t *q = p->rec + off;

	q += vigil_policy_put_varint(q, (uint32_t)name_len);
	q += vigil_policy_put_varint(q, dir);
	*ret_count = (size_t)(q - p->rec);
	*q++ = 0;
	memcpy(q, name, name_len);
	p->rec_len = (size_t)(q - p->rec) + name_len;
	return off;
}

/* policy.c */
int vigil_policy_alloc(struct vigil_policy **ret);
int vigil_policy_time_parse(const char *s, size_t len, int64_t *ret);
int vigil_policy_time_format(int64_t t, char out[VIGIL_POLICY_TIME_LEN + 1]);
int vigil_policy_path_check(const char *path, size_t len);
int vigil_policy_add_pattern(struct vigil_policy *p, const char *text, size_t len, bool regex,
			     char *why, size_t why_size);

/* policy_index.c */
uint64_t vigil_policy_hash(const uint64_t seed[2], const void *data, size_t len);
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): count needed, then element size */
int vigil_policy_grow(void *ptr, size_t *cap, size_t need, size_t elem);
void vigil_policy_rec_decode(const struct vigil_policy *p, uint32_t off,
			     struct vigil_policy_rec *r);
size_t vigil_policy_rec_path(const struct vigil_policy *p, const struct vigil_policy_rec *r,
			     char *buf);
uint32_t vigil_policy_rec_find(const struct vigil_policy *p, const char *path, size_t len);
int vigil_policy_dir_intern(struct vigil_policy *p, const char *dir, size_t len, uint32_t *ret_id);
int vigil_policy_rec_reserve(struct vigil_policy *p, size_t extra);
void vigil_policy_rec_shrink(struct vigil_policy *p);
int vigil_policy_rec_end(struct vigil_policy *p, uint32_t off, size_t *ret_count);
int vigil_policy_index_build(struct vigil_policy *p, const struct vigil_policy_pending *recs,
			     size_t n, size_t *ret_dup);
int vigil_policy_path_add(struct vigil_policy *p, const char *path, size_t len,
			  const uint8_t *digest);
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the run's count, then digest size */
bool vigil_policy_run_has(const uint8_t *run, size_t count, size_t ds, const uint8_t *digest);
size_t vigil_policy_sort_digests(uint8_t *d, size_t n, size_t ds);
int vigil_policy_paths_sorted(const struct vigil_policy *p, uint32_t **ret);
int vigil_policy_dset_add(struct vigil_policy_dset *s, const uint64_t seed[2], size_t ds,
			  const uint8_t *digest, size_t *ret_index);
long vigil_policy_dset_find(const struct vigil_policy_dset *s, const uint64_t seed[2], size_t ds,
			    const uint8_t *digest);
int vigil_policy_dset_sorted(const struct vigil_policy_dset *s, size_t ds, uint8_t **ret);
void vigil_policy_dset_free(struct vigil_policy_dset *s);

#endif /* VIGIL_POLICY_INTERNAL_H */
