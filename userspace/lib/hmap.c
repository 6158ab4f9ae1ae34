// SPDX-License-Identifier: MIT
/*
 * hmap.c: the intrusive hash table of hmap.h. The hash is SipHash-1-3 (keyed, 64-bit) over
 * the key's bytes, with a key drawn from getrandom() per table: device ids and agent addresses
 * come from operators and devices, and a keyed hash keeps them from choosing one bucket.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "hmap.h"

#define MIN_BUCKETS 64

static inline uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

static inline void sipround(uint64_t v[4])
{
	v[0] += v[1];
	v[1] = rotl(v[1], 13) ^ v[0];
	v[0] = rotl(v[0], 32);
	v[2] += v[3];
	v[3] = rotl(v[3], 16) ^ v[2];
	v[0] += v[3];
	v[3] = rotl(v[3], 21) ^ v[0];
	v[2] += v[1];
	v[1] = rotl(v[1], 17) ^ v[2];
	v[2] = rotl(v[2], 32);
}

static uint64_t siphash13(const uint64_t k[2], const uint8_t *p, size_t len)
{
	uint64_t v[4] = { k[0] ^ 0x736f6d6570736575ULL, k[1] ^ 0x646f72616e646f6dULL,
			  k[0] ^ 0x6c7967656e657261ULL, k[1] ^ 0x7465646279746573ULL };
	uint64_t last = (uint64_t)len << 56, w;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, p + i, sizeof(w)); /* little-endian hosts only hash the same way */
		v[3] ^= w;
		sipround(v);
		v[0] ^= w;
	}
	for (size_t j = 0; i + j < len; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	v[3] ^= last;
	sipround(v);
	v[0] ^= last;
	v[2] ^= 0xff;
	sipround(v);
	sipround(v);
	sipround(v);
	return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static void key_init(struct vigil_hmap *m)
{
	if (m->key[0] || m->key[1])
		return;
	if (getrandom(m->key, sizeof(m->key), 0) != sizeof(m->key)) {
		/* no entropy yet (early boot): still a working table, just an unkeyed one */
		m->key[0] = (uint64_t)(uintptr_t)m;
		m->key[1] = ~m->key[0];
	}
	m->key[1] |= 1; /* never both zero: drawn */
}

/**
 * vigil_hmap_hash() - the table's hash of a key
 * @m: the table (its key is drawn on first use)
 * @data: the key's bytes
 * @len: their length
 *
 * Return: the hash.
 */
uint64_t vigil_hmap_hash(struct vigil_hmap *m, const void *data, size_t len)
{
	key_init(m);
	return siphash13(m->key, data, len);
}

static int grow(struct vigil_hmap *m)
{
	size_t n = m->buckets ? (m->mask + 1) * 2 : MIN_BUCKETS;
	struct vigil_hnode **b = calloc(n, sizeof(struct vigil_hnode *));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; m->buckets && i <= m->mask; i++)
		for (struct vigil_hnode *e = m->buckets[i], *next; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (n - 1)];
			b[e->hash & (n - 1)] = e;
		}
	free(m->buckets);
	m->buckets = b;
	m->mask = n - 1;
	return 0;
}

/**
 * vigil_hmap_add() - put a node into the table
 * @m: the table
 * @n: the node, in no table
 * @hash: vigil_hmap_hash() of its key
 *
 * Return: 0, or -ENOMEM (the table is unchanged).
 */
int vigil_hmap_add(struct vigil_hmap *m, struct vigil_hnode *n, uint64_t hash)
{
	struct vigil_hnode **b;

	if ((!m->buckets || m->count >= 2 * (m->mask + 1)) && grow(m) < 0 && !m->buckets)
		return -ENOMEM; /* a full table that cannot grow still takes entries */
	b = &m->buckets[hash & m->mask];
	n->hash = hash;
	n->next = *b;
	*b = n;
	m->count++;
	return 0;
}

/**
 * vigil_hmap_del() - take a node out of its table
 * @m: the table
 * @n: a node in it
 */
void vigil_hmap_del(struct vigil_hmap *m, struct vigil_hnode *n)
{
	for (struct vigil_hnode **p = &m->buckets[n->hash & m->mask]; *p; p = &(*p)->next)
		if (*p == n) {
			*p = n->next;
			n->next = NULL;
			m->count--;
			return;
		}
}

static struct vigil_hnode *same_hash(struct vigil_hnode *e, uint64_t hash)
{
	while (e && e->hash != hash)
		e = e->next;
	return e;
}

/**
 * vigil_hmap_first() - the first node whose key has this hash
 * @m: the table
 * @hash: vigil_hmap_hash() of the key looked for
 *
 * Return: the node, or NULL; the caller compares the key, then tries vigil_hmap_next().
 */
struct vigil_hnode *vigil_hmap_first(const struct vigil_hmap *m, uint64_t hash)
{
	return m->buckets ? same_hash(m->buckets[hash & m->mask], hash) : NULL;
}

/**
 * vigil_hmap_next() - the next node with the same hash as @n
 * @n: a node from vigil_hmap_first() or vigil_hmap_next()
 *
 * Return: the node, or NULL.
 */
struct vigil_hnode *vigil_hmap_next(const struct vigil_hnode *n)
{
	return same_hash(n->next, n->hash);
}

/**
 * vigil_hmap_prune() - take out of the table every node @drop says to
 * @m: the table
 * @drop: called once for each node; returns true to take it out, and may then free it (the
 *	table no longer looks at it)
 * @ctx: passed to @drop
 *
 * Return: how many nodes were taken out.
 */
size_t vigil_hmap_prune(struct vigil_hmap *m, bool (*drop)(struct vigil_hnode *n, void *ctx),
			void *ctx)
{
	size_t dropped = 0;

	for (size_t i = 0; m->buckets && i <= m->mask; i++)
		for (struct vigil_hnode **p = &m->buckets[i], *e = *p, *next; e; e = next) {
			next = e->next;
			if (drop(e, ctx)) {
				*p = next;
				m->count--;
				dropped++;
			} else {
				p = &e->next;
			}
		}
	return dropped;
}

/**
 * vigil_hmap_free() - free the table's buckets (its entries are the caller's)
 * @m: the table; empty afterwards
 */
void vigil_hmap_free(struct vigil_hmap *m)
{
	free(m->buckets);
	*m = (struct vigil_hmap){ 0 };
}
