/* SPDX-License-Identifier: MIT */
/*
 * hmap.h: an intrusive hash table with chaining, for the daemons' per-device and
 * per-connection tables that grow with the fleet (hmap.c).
 *
 * The caller embeds a struct vigil_hnode in its entry, computes the key's hash with
 * vigil_hmap_hash() (keyed per table, so keys chosen by others do not pick the buckets) and
 * compares keys itself while walking the entries of one hash (vigil_hmap_first/next). Entries
 * stay where they are in memory; the table holds pointers only.
 *
 * Invariants: a node is in at most one table; the bucket count is a power of two and at least
 * the number of entries / 2 after every add (lookups stay O(1)); vigil_hmap_free() frees the
 * buckets, never the entries.
 */
#ifndef VIGIL_HMAP_H
#define VIGIL_HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vigil_hnode {
	struct vigil_hnode *next;
	uint64_t hash;
};

/**
 * struct vigil_hmap - the table; zero-initialised is an empty table
 * @buckets: chains of nodes, @mask + 1 of them (NULL while empty)
 * @mask: bucket count - 1
 * @count: nodes in the table
 * @key: the hash key, drawn at the first add
 */
struct vigil_hmap {
	struct vigil_hnode **buckets;
	size_t mask;
	size_t count;
	uint64_t key[2];
};

#define vigil_hnode_entry(node, type, member) \
	((type *)(void *)((char *)(node)-offsetof(type, member)))

uint64_t vigil_hmap_hash(struct vigil_hmap *m, const void *data, size_t len);
int vigil_hmap_add(struct vigil_hmap *m, struct vigil_hnode *n, uint64_t hash)
	__attribute__((warn_unused_result));
void vigil_hmap_del(struct vigil_hmap *m, struct vigil_hnode *n);
struct vigil_hnode *vigil_hmap_first(const struct vigil_hmap *m, uint64_t hash);
struct vigil_hnode *vigil_hmap_next(const struct vigil_hnode *n);
size_t vigil_hmap_prune(struct vigil_hmap *m, bool (*drop)(struct vigil_hnode *n, void *ctx),
			void *ctx);
void vigil_hmap_free(struct vigil_hmap *m);

#endif /* VIGIL_HMAP_H */
