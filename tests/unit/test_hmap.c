// SPDX-License-Identifier: MIT
/*
 * test_hmap.c: the intrusive hash table the daemons keep per device and per connection:
 * entries found by key whatever the table's size, several entries of one key, deletion,
 * pruning while walking, and a key hashed differently by two tables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hmap.h"

#define N 10000

struct entry {
	struct vigil_hnode node;
	char key[16];
	int value;
};

static uint64_t hash_of(struct vigil_hmap *m, const char *key)
{
	return vigil_hmap_hash(m, key, strlen(key));
}

/* The entries with @key, counted; *@ret_value the last one's value. */
static int find(struct vigil_hmap *m, const char *key, int *ret_value)
{
	int n = 0;

	for (struct vigil_hnode *e = vigil_hmap_first(m, hash_of(m, key)); e;
	     e = vigil_hmap_next(e)) {
		struct entry *x = vigil_hnode_entry(e, struct entry, node);

		if (strcmp(x->key, key) != 0)
			continue;
		n++;
		if (ret_value)
			*ret_value = x->value;
	}
	return n;
}

static struct entry *fill(struct vigil_hmap *m, size_t n)
{
	struct entry *e = calloc(n, sizeof(*e));

	assert_non_null(e);
	for (size_t i = 0; i < n; i++) {
		snprintf(e[i].key, sizeof(e[i].key), "dev-%zu", i);
		e[i].value = (int)i;
		assert_int_equal(vigil_hmap_add(m, &e[i].node, hash_of(m, e[i].key)), 0);
	}
	return e;
}

static void test_grow_and_find(void **state)
{
	struct vigil_hmap m = { 0 };
	struct entry *e;
	int v = -1;

	(void)state;
	assert_null(vigil_hmap_first(&m, 42));
	assert_int_equal(find(&m, "dev-1", NULL), 0);
	e = fill(&m, N);
	assert_int_equal(m.count, N);
	assert_true(m.mask + 1 >= N / 2); /* grew: chains stay short */
	for (int i = 0; i < N; i += 7) {
		char key[16];

		snprintf(key, sizeof(key), "dev-%d", i);
		assert_int_equal(find(&m, key, &v), 1);
		assert_int_equal(v, i);
	}
	assert_int_equal(find(&m, "dev-10000", NULL), 0);
	assert_int_equal(find(&m, "", NULL), 0);
	vigil_hmap_free(&m);
	free(e);
}

static void test_same_key_and_delete(void **state)
{
	struct vigil_hmap m = { 0 };
	struct entry e[3] = { { .key = "a", .value = 1 },
			      { .key = "a", .value = 2 },
			      { .key = "b", .value = 3 } };

	(void)state;
	for (int i = 0; i < 3; i++)
		assert_int_equal(vigil_hmap_add(&m, &e[i].node, hash_of(&m, e[i].key)), 0);
	assert_int_equal(find(&m, "a", NULL), 2);
	vigil_hmap_del(&m, &e[1].node);
	assert_int_equal(m.count, 2);
	assert_int_equal(find(&m, "a", NULL), 1);
	vigil_hmap_del(&m, &e[0].node);
	assert_int_equal(find(&m, "a", NULL), 0);
	assert_int_equal(find(&m, "b", NULL), 1);
	vigil_hmap_free(&m);
	assert_int_equal(m.count, 0);
}

static bool drop_odd(struct vigil_hnode *n, void *ctx)
{
	struct entry *x = vigil_hnode_entry(n, struct entry, node);

	(*(int *)ctx)++;
	return x->value % 2;
}

static void test_prune(void **state)
{
	struct vigil_hmap m = { 0 };
	struct entry *e;
	int seen = 0;

	(void)state;
	e = fill(&m, N);
	assert_int_equal(vigil_hmap_prune(&m, drop_odd, &seen), N / 2);
	assert_int_equal(seen, N); /* every node looked at once, also next to dropped ones */
	assert_int_equal(m.count, N / 2);
	assert_int_equal(find(&m, "dev-2", NULL), 1);
	assert_int_equal(find(&m, "dev-3", NULL), 0);
	seen = 0;
	assert_int_equal(vigil_hmap_prune(&m, drop_odd, &seen), 0);
	assert_int_equal(seen, N / 2);
	vigil_hmap_free(&m);
	free(e);
}

static void test_keyed(void **state)
{
	struct vigil_hmap a = { 0 }, b = { 0 };
	int same = 0;

	(void)state;
	for (int i = 0; i < 64; i++) {
		char key[16];

		snprintf(key, sizeof(key), "dev-%d", i);
		assert_int_equal(hash_of(&a, key), hash_of(&a, key));
		same += hash_of(&a, key) == hash_of(&b, key);
	}
	assert_int_equal(same, 0); /* two tables, two keys */
	assert_int_not_equal(hash_of(&a, "ab"), hash_of(&a, "ba"));
	assert_int_not_equal(vigil_hmap_hash(&a, "", 0), vigil_hmap_hash(&a, "", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow_and_find),
		cmocka_unit_test(test_same_key_and_delete),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_keyed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
