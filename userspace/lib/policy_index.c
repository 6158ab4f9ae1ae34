// SPDX-License-Identifier: MIT
/*
 * policy_index.c: the compiled index of an attestation policy: the keyed path hash, the record
 * arena with interned directories, the path table, and the digest sets of "any_path", "deny"
 * and "packages" (layout: policy_internal.h).
 *
 * The index is sized for the largest policies a verifier loads (hundreds of thousands of paths)
 * and looked up once per log record, so it avoids per-entry allocations and pointer chasing: a
 * path costs its basename, a few varint bytes, its digests and a 5.3-byte slot. The hash is
 * keyed per policy (getrandom()): record paths come from the device being verified, and a keyed
 * hash keeps probe sequences unpredictable to whoever chose them.
 *
 * Invariants: the arena's offset 0 is never a record; a control byte 0 means an empty slot; a
 * table never fills (load <= 0.8 for paths, <= 0.5 for directories and digest sets), so every
 * probe ends;
 * functions that fail with -ENOMEM or -EFBIG leave the index as it was.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "policy_internal.h"

#define REC_HEADER_MAX VIGIL_POLICY_REC_HEADER_MAX
#define SMALL_RUN 8 /* runs up to this long are searched linearly */
#define PREFETCH 16 /* records ahead whose slots index_build() prefetches */

static inline uint64_t rd64(const uint8_t *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

static inline uint64_t rd32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* 64x64->128 multiply, folded: the mixing step of wyhash. */
static inline uint64_t mix(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

/**
 * vigil_policy_hash() - keyed 64-bit hash of a byte string (wyhash's structure)
 * @seed: the policy's key
 * @data: the bytes
 * @len: their number
 *
 * Reads only @data[0..@len). Equal strings hash equally under one key; different keys give
 * unrelated hashes.
 *
 * Return: the hash.
 */
uint64_t vigil_policy_hash(const uint64_t seed[2], const void *data, size_t len)
{
	const uint8_t *s = data;
	uint64_t a = 0, b = 0, h = seed[0];
	size_t i = len;

	if (len > 16) {
		while (i > 16) {
			h = mix(rd64(s) ^ seed[1], rd64(s + 8) ^ h);
			s += 16;
			i -= 16;
		}
		a = rd64(s + i - 16);
		b = rd64(s + i - 8);
	} else if (len >= 4) {
		size_t q = (len >> 3) << 2;

		a = rd32(s) << 32 | rd32(s + q);
		b = rd32(s + len - 4) << 32 | rd32(s + len - 4 - q);
	} else if (len) {
		a = (uint64_t)s[0] << 16 | (uint64_t)s[len >> 1] << 8 | s[len - 1];
	}
	return mix(seed[1] ^ len, mix(a ^ seed[1], b ^ h));
}

/* Map a hash onto [0, n) without a division (Lemire's multiply-shift); n < 2^32. */
static inline size_t slot_index(uint64_t h, size_t n)
{
	return (size_t)(((h >> 32) * (uint64_t)n) >> 32);
}

/**
 * vigil_policy_grow() - make room for @need elements in a malloc()ed array
 * @ptr: the array's address (a T **)
 * @cap: its capacity in elements, updated
 * @need: elements needed
 * @elem: sizeof(T)
 *
 * Grows geometrically, so appending one element at a time is amortised O(1).
 *
 * Return: 0, or -ENOMEM (then *@ptr and *@cap are unchanged).
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): count needed, then element size */
int vigil_policy_grow(void *ptr, size_t *cap, size_t need, size_t elem)
{
	void **pp = ptr;
	size_t n = *cap ? *cap : 8;
	void *q;

	if (need <= *cap)
		return 0;
	while (n < need)
		n = n > SIZE_MAX / 2 ? need : 2 * n;
	if (n > SIZE_MAX / elem)
		return -ENOMEM;
	q = realloc(*pp, n * elem);
	if (!q)
		return -ENOMEM;
	*pp = q;
	*cap = n;
	return 0;
}

/* ---- varints (LEB128, 32 bits) ---- */

static const uint8_t *get_varint(const uint8_t *p, uint32_t *ret)
{
	uint32_t v = 0;
	unsigned int shift = 0;

	while (*p & 0x80) {
		v |= (uint32_t)(*p++ & 0x7f) << shift;
		shift += 7;
	}
	*ret = v | (uint32_t)*p++ << shift;
	return p;
}

/* ---- records ---- */

/**
 * vigil_policy_rec_decode() - decode the header of the record at @off
 * @p: the policy
 * @off: a record's offset in the arena
 * @r: receives its fields; pointers stay valid until the arena changes
 */
void vigil_policy_rec_decode(const struct vigil_policy *p, uint32_t off, struct vigil_policy_rec *r)
{
	const uint8_t *start = p->rec + off, *q;
	uint32_t cf;

	q = get_varint(start, &r->name_len);
	q = get_varint(q, &r->dir);
	q = get_varint(q, &cf);
	r->count = cf >> 1;
	r->spare = cf & 1;
	r->cap = r->count;
	if (r->spare)
		q = get_varint(q, &r->cap);
	r->name = (const char *)q;
	r->digests = q + r->name_len;
	r->size = (size_t)(r->digests - start) + (size_t)r->cap * p->ds;
}

/**
 * vigil_policy_rec_path() - the full path of a record
 * @p: the policy
 * @r: a decoded record
 * @buf: receives dir ‖ basename and a NUL (room for VIGIL_POLICY_PATH_MAX + 1 bytes)
 *
 * Return: the path's length.
 */
size_t vigil_policy_rec_path(const struct vigil_policy *p, const struct vigil_policy_rec *r,
			     char *buf)
{
	const struct vigil_policy_dir *d = &p->dirs[r->dir];

	memcpy(buf, p->dchars + d->off, d->len);
	memcpy(buf + d->len, r->name, r->name_len);
	buf[d->len + r->name_len] = '\0';
	return d->len + r->name_len;
}

static bool rec_is(const struct vigil_policy *p, uint32_t off, const char *path, size_t len)
{
	struct vigil_policy_rec r;
	const struct vigil_policy_dir *d;

	vigil_policy_rec_decode(p, off, &r);
	d = &p->dirs[r.dir];
	return (size_t)d->len + r.name_len == len && !memcmp(r.name, path + d->len, r.name_len) &&
	       !memcmp(p->dchars + d->off, path, d->len);
}

/* A slot's control byte: 8 bits of the hash that slot_index() does not use, never 0 (empty). */
static inline uint8_t tag_of(uint64_t h)
{
	return (uint8_t)h ? (uint8_t)h : 1;
}

/* Slot @s of a table: its control byte and its record's offset. */
static inline uint8_t *ctrl_at(struct vigil_policy_bucket *t, size_t s)
{
	return &t[s / VIGIL_POLICY_BUCKET].ctrl[s % VIGIL_POLICY_BUCKET];
}

static inline uint32_t *off_at(struct vigil_policy_bucket *t, size_t s)
{
	return &t[s / VIGIL_POLICY_BUCKET].off[s % VIGIL_POLICY_BUCKET];
}

/* The first slot to probe for hash @h in a table of @n slots: the start of a bucket. */
static inline size_t home(uint64_t h, size_t n)
{
	return slot_index(h, n / VIGIL_POLICY_BUCKET) * VIGIL_POLICY_BUCKET;
}

/*
 * Bit k: slot k of the bucket holds @tag; bit 16 + k: slot k is empty. A bucket's occupied
 * slots are a prefix of it (slots are filled in order and never emptied), so the first empty
 * slot ends every probe.
 */
static inline uint32_t bucket_scan(const struct vigil_policy_bucket *bk, uint8_t tag)
{
	const uint32_t all = (1u << VIGIL_POLICY_BUCKET) - 1;
#ifdef __SSE2__
	/* 16 bytes: the 12 control bytes and the first offset, all in this bucket */
	__m128i c = _mm_loadu_si128((const __m128i *)(const void *)bk->ctrl);
	uint32_t match = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(c, _mm_set1_epi8((char)tag)));
	uint32_t empty = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(c, _mm_setzero_si128()));
#else
	uint32_t match = 0, empty = 0;

	for (unsigned int k = 0; k < VIGIL_POLICY_BUCKET; k++) {
		match |= (uint32_t)(bk->ctrl[k] == tag) << k;
		empty |= (uint32_t)(bk->ctrl[k] == 0) << k;
	}
#endif
	return (match & all) | (empty & all) << 16;
}

/* The slot holding @path's record, or the empty slot where it would go. */
static size_t find_slot(const struct vigil_policy *p, uint64_t h, const char *path, size_t len)
{
	size_t nb = p->nslots / VIGIL_POLICY_BUCKET, b = slot_index(h, nb);
	uint8_t tag = tag_of(h);

	for (;;) {
		const struct vigil_policy_bucket *bk = &p->bkt[b];
		uint32_t scan = bucket_scan(bk, tag), match = scan & 0xffff, empty = scan >> 16;
		unsigned int end = empty ? (unsigned int)__builtin_ctz(empty) : VIGIL_POLICY_BUCKET;

		for (match &= (1u << end) - 1; match; match &= match - 1) {
			unsigned int k = (unsigned int)__builtin_ctz(match);

			if (rec_is(p, bk->off[k], path, len))
				return b * VIGIL_POLICY_BUCKET + k;
		}
		if (empty)
			return b * VIGIL_POLICY_BUCKET + end;
		b = b + 1 == nb ? 0 : b + 1;
	}
}

/**
 * vigil_policy_prefetch() - start loading the bucket a check of @path will probe
 * @p: the policy
 * @path: the path (not NUL-terminated)
 * @path_len: its length
 *
 * A check of a large policy waits on a cache miss for the bucket; a verifier that knows the
 * next records' paths (vigil_appraise() works in batches) prefetches them so the misses
 * overlap. Reads nothing but the seed and the table's size; changes nothing.
 */
void vigil_policy_prefetch(const struct vigil_policy *p, const char *path, size_t path_len)
{
	uint64_t h;

	if (!p->nslots || path_len > VIGIL_POLICY_PATH_MAX)
		return;
	h = vigil_policy_hash(p->seed, path, path_len);
	__builtin_prefetch(&p->bkt[slot_index(h, p->nslots / VIGIL_POLICY_BUCKET)]);
}

/**
 * vigil_policy_rec_find() - look up the record of a path
 * @p: the policy
 * @path: the path (not NUL-terminated)
 * @len: its length
 *
 * Allocation-free and read-only: safe on a shared policy.
 *
 * Return: the record's offset, or 0 if @path has no record.
 */
uint32_t vigil_policy_rec_find(const struct vigil_policy *p, const char *path, size_t len)
{
	size_t i;

	if (!p->nslots || len > VIGIL_POLICY_PATH_MAX)
		return 0;
	i = find_slot(p, vigil_policy_hash(p->seed, path, len), path, len);
	return *ctrl_at(p->bkt, i) ? *off_at(p->bkt, i) : 0;
}

/**
 * vigil_policy_rec_reserve() - make room for @extra more bytes in the record arena
 * @p: the policy
 * @extra: bytes
 *
 * Return: 0; -EFBIG if the arena would exceed VIGIL_POLICY_INDEX_MAX; -ENOMEM.
 */
int vigil_policy_rec_reserve(struct vigil_policy *p, size_t extra)
{
	size_t len = p->rec_len ? p->rec_len : 1, old_cap = p->rec_cap;
	int r;

	if (extra > VIGIL_POLICY_INDEX_MAX - len)
		return -EFBIG;
	r = vigil_policy_grow(&p->rec, &p->rec_cap, len + extra, 1);
	if (r < 0)
		return r;
	if (p->rec_cap > old_cap)
		vigil_huge_pages(p->rec, p->rec_cap);
	if (!p->rec_len) {
		p->rec[0] = 0; /* offset 0 is no record */
		p->rec_len = 1;
	}
	return 0;
}

/**
 * vigil_policy_rec_shrink() - give back the arena's unused room once the index is built
 * @p: the policy
 */
void vigil_policy_rec_shrink(struct vigil_policy *p)
{
	uint8_t *q;

	if (!p->rec || p->rec_cap == p->rec_len)
		return;
	q = realloc(p->rec, p->rec_len);
	if (q) {
		p->rec = q;
		p->rec_cap = p->rec_len;
	}
}

/* Insert a new directory; @h is its hash. */
static int dir_insert(struct vigil_policy *p, uint64_t h, const char *dir, size_t len,
		      uint32_t *ret_id)
{
	int r;

	if (len > VIGIL_POLICY_PATH_MAX || p->ndirs >= UINT32_MAX - 1)
		return -EINVAL;
	r = vigil_policy_grow(&p->dchars, &p->dchars_cap, p->dchars_len + len + 1, 1);
	if (r == 0)
		r = vigil_policy_grow(&p->dirs, &p->dirs_cap, p->ndirs + 1, sizeof(*p->dirs));
	if (r < 0)
		return r;
	memcpy(p->dchars + p->dchars_len, dir, len);
	p->dirs[p->ndirs] =
		(struct vigil_policy_dir){ .off = (uint32_t)p->dchars_len, .len = (uint32_t)len };
	p->dchars_len += len;
	for (size_t i = slot_index(h, p->ndslots);; i = i + 1 == p->ndslots ? 0 : i + 1)
		if (!p->dslot[i]) {
			p->dslot[i] = (uint32_t)++p->ndirs;
			break;
		}
	*ret_id = (uint32_t)(p->ndirs - 1);
	return 0;
}

/* Keep the directory table at most half full. */
static int dir_table_grow(struct vigil_policy *p)
{
	size_t n = p->ndslots ? 2 * p->ndslots : 64;
	uint32_t *t;

	if (2 * (p->ndirs + 1) <= p->ndslots)
		return 0;
	t = calloc(n, sizeof(*t));
	if (!t)
		return -ENOMEM;
	for (size_t d = 0; d < p->ndirs; d++) {
		const struct vigil_policy_dir *dir = &p->dirs[d];
		size_t i =
			slot_index(vigil_policy_hash(p->seed, p->dchars + dir->off, dir->len), n);

		while (t[i])
			i = i + 1 == n ? 0 : i + 1;
		t[i] = (uint32_t)d + 1;
	}
	free(p->dslot);
	p->dslot = t;
	p->ndslots = n;
	return 0;
}

/**
 * vigil_policy_dir_intern() - the id of a directory, adding it if new
 * @p: the policy
 * @dir: the directory, up to and including its last '/' ("" for a record name)
 * @len: its length
 * @ret_id: receives the id
 *
 * Return: 0, -EINVAL (too long), or -ENOMEM.
 */
int vigil_policy_dir_intern(struct vigil_policy *p, const char *dir, size_t len, uint32_t *ret_id)
{
	const struct vigil_policy_dir *d;
	uint64_t h;
	size_t i;
	int r;

	if (p->ndirs) {
		d = &p->dirs[p->last_dir];
		if (d->len == len && !memcmp(p->dchars + d->off, dir, len)) {
			*ret_id = p->last_dir;
			return 0;
		}
	}
	r = dir_table_grow(p);
	if (r < 0)
		return r;
	h = vigil_policy_hash(p->seed, dir, len);
	for (i = slot_index(h, p->ndslots); p->dslot[i]; i = i + 1 == p->ndslots ? 0 : i + 1) {
		d = &p->dirs[p->dslot[i] - 1];
		if (d->len == len && !memcmp(p->dchars + d->off, dir, len)) {
			*ret_id = p->last_dir = p->dslot[i] - 1;
			return 0;
		}
	}
	r = dir_insert(p, h, dir, len, ret_id);
	if (r == 0)
		p->last_dir = *ret_id;
	return r;
}

static size_t dir_part(const char *path, size_t len)
{
	const char *slash = memrchr(path, '/', len);

	return slash ? (size_t)(slash - path) + 1 : 0;
}

/* Start a record for a checked @path at the end of the arena; digests and
 * vigil_policy_rec_end() follow, then the caller puts it in the path table. */
static int rec_begin(struct vigil_policy *p, const char *path, size_t len, uint32_t *ret_off)
{
	size_t dl = dir_part(path, len), count_at;
	uint32_t dir;
	int r;

	r = vigil_policy_dir_intern(p, path, dl, &dir);
	if (r == 0)
		r = vigil_policy_rec_reserve(p, REC_HEADER_MAX + len);
	if (r < 0)
		return r;
	*ret_off = vigil_policy_rec_head(p, dir, path + dl, len - dl, &count_at);
	return 0;
}

/**
 * vigil_policy_rec_end() - finish the record begun at @off: sort, deduplicate, count
 * @p: the policy
 * @off: the record
 * @ret_count: receives the number of distinct digests
 *
 * Return: 0, -EFBIG or -ENOMEM.
 */
int vigil_policy_rec_end(struct vigil_policy *p, uint32_t off, size_t *ret_count)
{
	uint32_t name_len, dir;
	const uint8_t *cpos = get_varint(get_varint(p->rec + off, &name_len), &dir);
	size_t at = (size_t)(cpos - p->rec), first = at + 1 + name_len;
	size_t n = vigil_policy_sort_digests(p->rec + first, (p->rec_len - first) / p->ds, p->ds);
	size_t w = vigil_policy_varint_len((uint32_t)n << 1);
	int r;

	p->rec_len = first + n * p->ds;
	if (w > 1) {
		r = vigil_policy_rec_reserve(p, w - 1);
		if (r < 0)
			return r;
		memmove(p->rec + at + w, p->rec + at + 1, p->rec_len - at - 1);
		p->rec_len += w - 1;
	}
	vigil_policy_put_varint(p->rec + at, (uint32_t)n << 1);
	*ret_count = n;
	return 0;
}

/* A path table of at least @n slots, in whole buckets aligned to a cache line. */
static int table_alloc(size_t n, struct vigil_policy_bucket **ret, void **ret_mem,
		       size_t *ret_slots)
{
	size_t nb = n / VIGIL_POLICY_BUCKET + 1;
	uintptr_t addr;
	void *mem;

	if (nb > (SIZE_MAX - 64) / sizeof(**ret))
		return -ENOMEM;
	mem = calloc(1, nb * sizeof(**ret) + 64);
	if (!mem)
		return -ENOMEM;
	addr = (uintptr_t)mem;
	*ret = (struct vigil_policy_bucket *)(void *)((char *)mem + (64 - addr % 64) % 64);
	*ret_mem = mem;
	*ret_slots = nb * VIGIL_POLICY_BUCKET;
	return 0;
}

/* Put the record at @off with hash @h into a table of @n slots known not to hold its path. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the table's size, then the record */
static void table_put(struct vigil_policy_bucket *t, size_t n, uint32_t off, uint64_t h)
{
	size_t i = home(h, n);

	while (*ctrl_at(t, i))
		i = i + 1 == n ? 0 : i + 1;
	*ctrl_at(t, i) = tag_of(h);
	*off_at(t, i) = off;
}

static uint64_t rec_hash(const struct vigil_policy *p, uint32_t off, char *buf)
{
	struct vigil_policy_rec r;

	vigil_policy_rec_decode(p, off, &r);
	return vigil_policy_hash(p->seed, buf, vigil_policy_rec_path(p, &r, buf));
}

static size_t table_size(size_t records)
{
	return records + records / 4 + 1; /* load <= 0.8 */
}

/* Whether two records have the same path: directories are interned, so same id and name. */
static bool rec_same(const struct vigil_policy *p, uint32_t a, uint32_t b)
{
	struct vigil_policy_rec ra, rb;

	vigil_policy_rec_decode(p, a, &ra);
	vigil_policy_rec_decode(p, b, &rb);
	return ra.dir == rb.dir && ra.name_len == rb.name_len &&
	       !memcmp(ra.name, rb.name, ra.name_len);
}

/* Like find_slot(), for a record of the arena: the slot of an earlier one with its path, or
 * the empty slot where it goes. */
static size_t insert_slot(const struct vigil_policy *p, const struct vigil_policy_pending *rec)
{
	size_t nb = p->nslots / VIGIL_POLICY_BUCKET, b = slot_index(rec->hash, nb);
	uint8_t tag = tag_of(rec->hash);

	for (;;) {
		const struct vigil_policy_bucket *bk = &p->bkt[b];
		uint32_t scan = bucket_scan(bk, tag), match = scan & 0xffff, empty = scan >> 16;
		unsigned int end = empty ? (unsigned int)__builtin_ctz(empty) : VIGIL_POLICY_BUCKET;

		for (match &= (1u << end) - 1; match; match &= match - 1) {
			unsigned int k = (unsigned int)__builtin_ctz(match);

			if (rec_same(p, bk->off[k], rec->off))
				return b * VIGIL_POLICY_BUCKET + k;
		}
		if (empty)
			return b * VIGIL_POLICY_BUCKET + end;
		b = b + 1 == nb ? 0 : b + 1;
	}
}

/**
 * vigil_policy_index_build() - build the path table over the records of a parse
 * @p: the policy, without a path table yet
 * @recs: every record of the arena with the hash of its path
 * @n: their number
 * @ret_dup: on -ENOTUNIQ, the index in @recs of a record that repeats an earlier path
 *
 * Return: 0, -ENOTUNIQ or -ENOMEM.
 */
int vigil_policy_index_build(struct vigil_policy *p, const struct vigil_policy_pending *recs,
			     size_t n, size_t *ret_dup)
{
	size_t ns;
	int r = table_alloc(table_size(n), &p->bkt, &p->bkt_mem, &ns);

	if (r < 0)
		return r;
	p->nslots = ns;
	for (size_t k = 0; k < n; k++) {
		size_t i = insert_slot(p, &recs[k]);

		/* the buckets are random: ask for the one of a later record now */
		if (k + PREFETCH < n)
			__builtin_prefetch(&p->bkt[slot_index(recs[k + PREFETCH].hash,
							      ns / VIGIL_POLICY_BUCKET)],
					   1);
		if (*ctrl_at(p->bkt, i)) {
			*ret_dup = k;
			return -ENOTUNIQ;
		}
		*ctrl_at(p->bkt, i) = tag_of(recs[k].hash);
		*off_at(p->bkt, i) = recs[k].off;
	}
	return 0;
}

static int table_resize(struct vigil_policy *p, size_t n)
{
	char buf[VIGIL_POLICY_PATH_MAX + 1];
	struct vigil_policy_bucket *t;
	void *mem;
	size_t ns;
	int r = table_alloc(n, &t, &mem, &ns);

	if (r < 0)
		return r;
	for (size_t i = 0; i < p->nslots; i++)
		if (*ctrl_at(p->bkt, i))
			table_put(t, ns, *off_at(p->bkt, i), rec_hash(p, *off_at(p->bkt, i), buf));
	free(p->bkt_mem);
	p->bkt = t;
	p->bkt_mem = mem;
	p->nslots = ns;
	return 0;
}

/* Copy every live record into a fresh arena, dropping what moved records left behind. */
static int compact(struct vigil_policy *p)
{
	size_t len = 1, cap = p->rec_len - p->rec_dead + 1;
	uint8_t *q = malloc(cap);

	if (!q)
		return -ENOMEM;
	q[0] = 0;
	for (size_t i = 0; i < p->nslots; i++) {
		struct vigil_policy_rec r;

		if (!*ctrl_at(p->bkt, i))
			continue;
		vigil_policy_rec_decode(p, *off_at(p->bkt, i), &r);
		memcpy(q + len, p->rec + *off_at(p->bkt, i), r.size);
		*off_at(p->bkt, i) = (uint32_t)len;
		len += r.size;
	}
	free(p->rec);
	p->rec = q;
	p->rec_len = len;
	p->rec_cap = cap;
	p->rec_dead = 0;
	return 0;
}

/* Write a record with room for @cap digests: @r's digests with @digest inserted. */
static size_t rec_write(struct vigil_policy *p, uint8_t *q, const struct vigil_policy_rec *r,
			const uint8_t *digest, uint32_t cap)
{
	uint8_t *start = q, *d;
	size_t before = 0;

	while (before < r->count && memcmp(r->digests + before * p->ds, digest, p->ds) < 0)
		before++;
	q += vigil_policy_put_varint(q, r->name_len);
	q += vigil_policy_put_varint(q, r->dir);
	q += vigil_policy_put_varint(q, (r->count + 1) << 1 | 1);
	q += vigil_policy_put_varint(q, cap);
	memcpy(q, r->name, r->name_len);
	d = q + r->name_len;
	memcpy(d, r->digests, before * p->ds);
	memcpy(d + before * p->ds, digest, p->ds);
	memcpy(d + (before + 1) * p->ds, r->digests + before * p->ds, (r->count - before) * p->ds);
	memset(d + (r->count + 1) * p->ds, 0, (cap - r->count - 1) * p->ds);
	return (size_t)(d - start) + (size_t)cap * p->ds;
}

/* Move the record in slot @i to the end of the arena with @digest added and room to grow. */
static int rec_move(struct vigil_policy *p, size_t i, const uint8_t *digest)
{
	uint32_t off = *off_at(p->bkt, i), cap;
	struct vigil_policy_rec r;
	size_t size;
	int ret;

	vigil_policy_rec_decode(p, off, &r);
	cap = r.count < UINT32_MAX / 4 ? 2 * (r.count + 1) : r.count + 1;
	ret = vigil_policy_rec_reserve(p, REC_HEADER_MAX + r.name_len + (size_t)cap * p->ds);
	if (ret < 0)
		return ret;
	vigil_policy_rec_decode(p, off, &r); /* the arena may have moved */
	size = rec_write(p, p->rec + p->rec_len, &r, digest, cap);
	*off_at(p->bkt, i) = (uint32_t)p->rec_len;
	p->rec_len += size;
	p->rec_dead += r.size;
	if (p->rec_dead > p->rec_len / 2 && p->rec_dead > 4096)
		(void)compact(p); /* only memory is lost if this fails */
	return 0;
}

/* Insert @digest into the record at @off in place; it has spare room and the count's varint
 * keeps its width. */
static void rec_insert(struct vigil_policy *p, uint32_t off, const uint8_t *digest)
{
	struct vigil_policy_rec r;
	uint32_t name_len, dir;
	uint8_t *cpos, *d;
	size_t at = 0;

	vigil_policy_rec_decode(p, off, &r);
	cpos = p->rec + (get_varint(get_varint(p->rec + off, &name_len), &dir) - p->rec);
	d = p->rec + (r.digests - p->rec);
	while (at < r.count && memcmp(d + at * p->ds, digest, p->ds) < 0)
		at++;
	memmove(d + (at + 1) * p->ds, d + at * p->ds, (r.count - at) * p->ds);
	memcpy(d + at * p->ds, digest, p->ds);
	vigil_policy_put_varint(cpos, (r.count + 1) << 1 | 1);
}

static int path_new(struct vigil_policy *p, uint64_t h, const char *path, size_t len,
		    const uint8_t *digest)
{
	uint32_t off = 0;
	size_t n;
	int r;

	if (table_size(p->info.paths + 1) > p->nslots) {
		r = table_resize(p, table_size(2 * p->info.paths + 16));
		if (r < 0)
			return r;
	}
	r = vigil_policy_rec_reserve(p, REC_HEADER_MAX + len + p->ds);
	if (r == 0)
		r = rec_begin(p, path, len, &off);
	if (r < 0)
		return r;
	memcpy(p->rec + p->rec_len, digest, p->ds); /* room reserved above */
	p->rec_len += p->ds;
	(void)vigil_policy_rec_end(p, off, &n); /* one digest: its count takes one byte */
	table_put(p->bkt, p->nslots, off, h);
	p->info.paths++;
	return 0;
}

/**
 * vigil_policy_path_add() - add one (path, digest) pair to the index (builder)
 * @p: the policy
 * @path: a checked path (vigil_policy_path_check())
 * @len: its length
 * @digest: @p->ds bytes
 *
 * A pair that is there already is kept once.
 *
 * Return: 0, -EFBIG (the index is full), -EINVAL or -ENOMEM.
 */
int vigil_policy_path_add(struct vigil_policy *p, const char *path, size_t len,
			  const uint8_t *digest)
{
	uint64_t h = vigil_policy_hash(p->seed, path, len);
	struct vigil_policy_rec r;
	size_t i;
	int ret;

	if (p->nslots) {
		i = find_slot(p, h, path, len);
		if (*ctrl_at(p->bkt, i)) {
			vigil_policy_rec_decode(p, *off_at(p->bkt, i), &r);
			if (vigil_policy_run_has(r.digests, r.count, p->ds, digest))
				return 0;
			if (r.spare && r.count < r.cap &&
			    vigil_policy_varint_len((r.count + 1) << 1 | 1) ==
				    vigil_policy_varint_len(r.count << 1 | 1))
				rec_insert(p, *off_at(p->bkt, i), digest);
			else if ((ret = rec_move(p, i, digest)) < 0)
				return ret;
			p->info.digests++;
			return 0;
		}
	}
	ret = path_new(p, h, path, len, digest);
	if (ret == 0)
		p->info.digests++;
	return ret;
}

/**
 * vigil_policy_run_has() - whether a sorted run of digests holds @digest
 * @run: @count digests of @ds bytes, sorted bytewise
 * @count: their number
 * @ds: digest size
 * @digest: the digest looked for
 *
 * Return: true if it is there.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the run's count, then digest size */
bool vigil_policy_run_has(const uint8_t *run, size_t count, size_t ds, const uint8_t *digest)
{
	size_t lo = 0, hi = count;

	if (count <= SMALL_RUN) {
		for (size_t i = 0; i < count; i++)
			if (!memcmp(run + i * ds, digest, ds))
				return true;
		return false;
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(run + mid * ds, digest, ds);

		if (!c)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort_r()'s comparator */
static int cmp_digest(const void *a, const void *b, void *ds)
{
	return memcmp(a, b, *(const size_t *)ds);
}

/**
 * vigil_policy_sort_digests() - sort digests bytewise and drop repeats
 * @d: @n digests of @ds bytes
 * @n: their number
 * @ds: digest size
 *
 * Return: the number of distinct digests now at the start of @d.
 */
size_t vigil_policy_sort_digests(uint8_t *d, size_t n, size_t ds)
{
	uint8_t tmp[VIGIL_POLICY_DIGEST_MAX];
	size_t out = 0;

	if (n < 2)
		return n;
	if (n <= SMALL_RUN) {
		for (size_t i = 1; i < n; i++) {
			size_t j = i;

			memcpy(tmp, d + i * ds, ds);
			for (; j > 0 && memcmp(d + (j - 1) * ds, tmp, ds) > 0; j--)
				memcpy(d + j * ds, d + (j - 1) * ds, ds);
			memcpy(d + j * ds, tmp, ds);
		}
	} else {
		qsort_r(d, n, ds, cmp_digest, &ds);
	}
	for (size_t i = 1; i < n; i++)
		if (memcmp(d + out * ds, d + i * ds, ds) != 0) {
			out++;
			if (out != i)
				memcpy(d + out * ds, d + i * ds, ds);
		}
	return out + 1;
}

/* Bytewise order of two records' full paths. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort_r()'s comparator */
static int cmp_rec(const void *a, const void *b, void *arg)
{
	const struct vigil_policy *p = arg;
	char pa[VIGIL_POLICY_PATH_MAX + 1], pb[VIGIL_POLICY_PATH_MAX + 1];
	struct vigil_policy_rec ra, rb;
	size_t la, lb;
	int c;

	vigil_policy_rec_decode(p, *(const uint32_t *)a, &ra);
	vigil_policy_rec_decode(p, *(const uint32_t *)b, &rb);
	if (ra.dir == rb.dir) {
		c = memcmp(ra.name, rb.name, ra.name_len < rb.name_len ? ra.name_len : rb.name_len);
		return c ? c : (ra.name_len > rb.name_len) - (ra.name_len < rb.name_len);
	}
	la = vigil_policy_rec_path(p, &ra, pa);
	lb = vigil_policy_rec_path(p, &rb, pb);
	c = memcmp(pa, pb, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

/**
 * vigil_policy_paths_sorted() - the records of every path, in bytewise order of the paths
 * @p: the policy
 * @ret: receives info.paths record offsets (malloc()ed; free() it)
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_policy_paths_sorted(const struct vigil_policy *p, uint32_t **ret)
{
	uint32_t *v = malloc((p->info.paths + 1) * sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < p->nslots; i++)
		if (*ctrl_at(p->bkt, i))
			v[n++] = *off_at(p->bkt, i);
	qsort_r(v, n, sizeof(*v), cmp_rec, (void *)p);
	*ret = v;
	return 0;
}

/* ---- digest sets ---- */

static size_t dset_slot(const uint64_t seed[2], const uint8_t *digest, size_t n)
{
	return slot_index(mix(rd64(digest) ^ seed[0], seed[1]), n);
}

/**
 * vigil_policy_dset_find() - look up a digest in a set
 * @s: the set
 * @seed: the policy's hash key
 * @ds: digest size (at least 8)
 * @digest: the digest
 *
 * Return: its index in @s->d, or -1.
 */
long vigil_policy_dset_find(const struct vigil_policy_dset *s, const uint64_t seed[2], size_t ds,
			    const uint8_t *digest)
{
	if (!s->nslots)
		return -1;
	for (size_t i = dset_slot(seed, digest, s->nslots);; i = i + 1 == s->nslots ? 0 : i + 1) {
		uint32_t v = s->slot[i];

		if (!v)
			return -1;
		if (!memcmp(s->d + (size_t)(v - 1) * ds, digest, ds))
			return (long)v - 1;
	}
}

static int dset_rehash(struct vigil_policy_dset *s, const uint64_t seed[2], size_t ds, size_t n)
{
	uint32_t *t = calloc(n, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (size_t k = 0; k < s->n; k++) {
		size_t i = dset_slot(seed, s->d + k * ds, n);

		while (t[i])
			i = i + 1 == n ? 0 : i + 1;
		t[i] = (uint32_t)k + 1;
	}
	free(s->slot);
	s->slot = t;
	s->nslots = n;
	return 0;
}

/**
 * vigil_policy_dset_add() - add a digest to a set unless it is there
 * @s: the set
 * @seed: the policy's hash key
 * @ds: digest size
 * @digest: the digest
 * @ret_index: receives its index in @s->d (new or existing); may be NULL
 *
 * Return: 0 (added), 1 (was there), or -ENOMEM.
 */
int vigil_policy_dset_add(struct vigil_policy_dset *s, const uint64_t seed[2], size_t ds,
			  const uint8_t *digest, size_t *ret_index)
{
	long found = vigil_policy_dset_find(s, seed, ds, digest);
	size_t i;
	int r;

	if (found >= 0) {
		if (ret_index)
			*ret_index = (size_t)found;
		return 1;
	}
	if (s->n >= UINT32_MAX - 1)
		return -ENOMEM;
	r = vigil_policy_grow(&s->d, &s->cap, (s->n + 1) * ds, 1);
	if (r == 0 && 2 * (s->n + 1) > s->nslots)
		r = dset_rehash(s, seed, ds, s->nslots ? 2 * s->nslots : 16);
	if (r < 0)
		return r;
	memcpy(s->d + s->n * ds, digest, ds);
	for (i = dset_slot(seed, digest, s->nslots); s->slot[i]; i = i + 1 == s->nslots ? 0 : i + 1)
		;
	s->slot[i] = (uint32_t)++s->n;
	if (ret_index)
		*ret_index = s->n - 1;
	return 0;
}

/**
 * vigil_policy_dset_sorted() - a set's digests in bytewise order
 * @s: the set
 * @ds: digest size
 * @ret: receives a malloc()ed copy, sorted; free() it
 *
 * Return: 0 or -ENOMEM.
 */
int vigil_policy_dset_sorted(const struct vigil_policy_dset *s, size_t ds, uint8_t **ret)
{
	uint8_t *v = malloc(s->n * ds + 1);

	if (!v)
		return -ENOMEM;
	if (s->n)
		memcpy(v, s->d, s->n * ds);
	(void)vigil_policy_sort_digests(v, s->n, ds);
	*ret = v;
	return 0;
}

/**
 * vigil_policy_dset_free() - release a set's memory
 * @s: the set
 */
void vigil_policy_dset_free(struct vigil_policy_dset *s)
{
	free(s->d);
	free(s->slot);
	*s = (struct vigil_policy_dset){ 0 };
}
