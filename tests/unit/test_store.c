// SPDX-License-Identifier: MIT
/*
 * test_store.c: unit tests of the fleet database (lib/store.c, store_sql.c, store_sqlite.c,
 * store_pg.c), every case run against both backends: SQLite (a fresh file per case) and
 * PostgreSQL (a private server started by tests/fleet/pg in the group setup, stopped in the
 * group teardown; a fresh schema per case). If PostgreSQL cannot be started, every PostgreSQL
 * case fails.
 *
 * Cases: opening twice and two processes' threads opening a new database at once (migrations
 * idempotent and serialised), a newer schema refused, devices, ids, the enrollment binding
 * rules, the cursor's exact round trip, claims and leases (two owners get disjoint sets; an
 * expired lease is taken over; two connections claiming 200 devices concurrently get disjoint
 * sets that cover them), conditional records (-ESTALE on a stale sequence or a lost lease),
 * outcomes recorded in batches (each checked on its own; a batch the database refuses is
 * written outcome by outcome), history, alerts, challenges (take once, expiry), policies,
 * bounds (-E2BIG), bytes with NUL. Last, the rates of vigil_store_record() and of
 * vigil_store_record_many() per backend are printed as TAP comments.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <libpq-fe.h>
#include <sqlite3.h>

#include "policy.h"
#include "store.h"

#ifndef VIGIL_FIXTURES
#error "VIGIL_FIXTURES must name tests/fixtures"
#endif

struct backend {
	const char *name;
	bool pg;
};

static struct backend sqlite_backend = { "sqlite", false };
static struct backend pg_backend = { "postgresql", true };

static struct {
	char tmp[64];
	char pg_dir[96];
	char pg_uri[256];
	unsigned int files;
	char uri[256]; /* the current case's database */
} g;

/* tests/fleet/pg, next to tests/fixtures. */
static void pg_script(char *buf, size_t size)
{
	snprintf(buf, size, "%.*s/fleet/pg",
		 (int)(sizeof(VIGIL_FIXTURES) - 1 - strlen("/fixtures")), VIGIL_FIXTURES);
}

static int setup(void **state)
{
	char script[512], cmd[768];
	FILE *p;

	(void)state;
	strcpy(g.tmp, "/tmp/vigil-test-store.XXXXXX");
	/* The server runs as user postgres when we are root: it must reach its directory. */
	if (!mkdtemp(g.tmp) || chmod(g.tmp, 0711) < 0)
		return -1;
	snprintf(g.pg_dir, sizeof(g.pg_dir), "%s/pg", g.tmp);
	if (mkdir(g.pg_dir, 0700) < 0)
		return -1;
	pg_script(script, sizeof(script));
	snprintf(cmd, sizeof(cmd), "%s start %s", script, g.pg_dir);
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(g.pg_uri, sizeof(g.pg_uri), p))
			g.pg_uri[0] = '\0';
		if (pclose(p) != 0)
			g.pg_uri[0] = '\0';
	}
	g.pg_uri[strcspn(g.pg_uri, "\n")] = '\0';
	if (!g.pg_uri[0])
		printf("# PostgreSQL did not start (%s): its cases fail\n", cmd);
	return 0;
}

static int teardown(void **state)
{
	char script[512], cmd[768];
	int r = 0;

	(void)state;
	pg_script(script, sizeof(script));
	snprintf(cmd, sizeof(cmd), "%s stop %s >/dev/null 2>&1", script, g.pg_dir);
	if (g.pg_uri[0] && system(cmd) != 0)
		r = -1;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", g.tmp);
	if (system(cmd) != 0)
		r = -1;
	return r;
}

static void quiet(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

static void pg_run(const char *sql)
{
	PGconn *c = PQconnectdb(g.pg_uri);
	PGresult *res;

	if (PQstatus(c) != CONNECTION_OK)
		fail_msg("libpq: %s", PQerrorMessage(c));
	PQsetNoticeProcessor(c, quiet, NULL);
	res = PQexec(c, sql);
	if (PQresultStatus(res) != PGRES_COMMAND_OK && PQresultStatus(res) != PGRES_TUPLES_OK)
		fail_msg("%s: %s", sql, PQresultErrorMessage(res));
	PQclear(res);
	PQfinish(c);
}

/* A URI naming an empty database for this case. */
static const char *fresh(void **state)
{
	const struct backend *b = *state;

	if (!b->pg) {
		snprintf(g.uri, sizeof(g.uri), "sqlite:%s/db%u.sqlite", g.tmp, g.files++);
		return g.uri;
	}
	if (!g.pg_uri[0])
		fail_msg("PostgreSQL did not start (tests/fleet/pg start): cannot test it");
	pg_run("DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	snprintf(g.uri, sizeof(g.uri), "%s", g.pg_uri);
	return g.uri;
}

static struct vigil_store *open_uri(const char *uri)
{
	struct vigil_store *s = NULL;
	char err[256];
	int r = vigil_store_open_err(uri, &s, err, sizeof(err));

	if (r < 0)
		fail_msg("vigil_store_open(%s): %d: %s", uri, r, err);
	return s;
}

static struct vigil_store *open_fresh(void **state)
{
	return open_uri(fresh(state));
}

static void fill(uint8_t *buf, size_t len, unsigned int seed)
{
	size_t i;

	/* Every 7th byte is NUL: blobs must keep them. */
	for (i = 0; i < len; i++)
		buf[i] = i % 7 == 3 ? 0 : (uint8_t)(seed * 31 + i * 13 + 1);
}

static void device_init(struct vigil_device *d, const char *id, enum vigil_device_mode mode,
			bool enrolled, unsigned int ek_seed)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->id, sizeof(d->id), "%s", id);
	d->mode = mode;
	if (mode == VIGIL_MODE_PULL)
		strcpy(d->address, "127.0.0.1:7070");
	strcpy(d->policy, "plc");
	d->interval_ms = 2000;
	d->state = enrolled ? VIGIL_DEVICE_ENROLLED : VIGIL_DEVICE_REGISTERED;
	d->enrolled = enrolled;
	if (enrolled) {
		fill(d->ek_hash, 32, ek_seed);
		fill(d->ek_cert_fingerprint, 32, ek_seed + 1);
		d->ak_public_len = 90;
		fill(d->ak_public, d->ak_public_len, ek_seed + 2);
	}
	d->due_ms = 1000;
}

static void add(struct vigil_store *s, const char *id, enum vigil_device_mode mode, bool enrolled,
		unsigned int ek_seed, int64_t due_ms)
{
	struct vigil_device d;

	device_init(&d, id, mode, enrolled, ek_seed);
	d.due_ms = due_ms;
	assert_int_equal(vigil_store_device_add(s, &d), 0);
}

/* Record the next attestation of @d (as read with its lease) at @now; on success d->seq moves. */
static int record(struct vigil_store *s, const char *owner, struct vigil_device *d, int64_t now,
		  enum vigil_device_state st, const char *verdict, const char *jws)
{
	struct vigil_attestation a;
	int r;

	memset(&a, 0, sizeof(a));
	strcpy(a.device, d->id);
	a.seq = d->seq + 1;
	a.time_ms = now;
	a.state = st;
	strcpy(a.reason, st == VIGIL_DEVICE_TRUSTED ? "none" : "digest_mismatch");
	a.from = d->cursor.next;
	a.to = d->cursor.next + 10;
	a.verdict = (char *)verdict;
	d->cursor.next += 10;
	d->due_ms = now + d->interval_ms;
	r = vigil_store_record(s, owner, d, &a, jws);
	if (r == 0)
		d->seq++;
	else
		d->cursor.next -= 10;
	return r;
}

static void test_open_twice(void **state)
{
	const struct backend *b = *state;
	struct vigil_store *s = open_fresh(state);
	struct stat st;
	int v = 0;

	assert_int_equal(vigil_store_schema_version(s, &v), 0);
	assert_int_equal(v, VIGIL_STORE_SCHEMA_VERSION);
	add(s, "plc-1", VIGIL_MODE_PUSH, false, 0, 0);
	vigil_store_close(s);
	s = open_uri(g.uri);
	assert_int_equal(vigil_store_schema_version(s, &v), 0);
	assert_int_equal(v, VIGIL_STORE_SCHEMA_VERSION);
	assert_int_equal(vigil_store_device_add(s, &(struct vigil_device){ .id = "plc-1" }),
			 -EEXIST);
	if (b->pg) {
		PGconn *c = PQconnectdb(g.pg_uri);
		PGresult *res = PQexec(c, "SELECT count(*) FROM pg_stat_activity WHERE "
					  "application_name = 'vigil-verifierd'");

		assert_int_equal(PQresultStatus(res), PGRES_TUPLES_OK);
		assert_string_equal(PQgetvalue(res, 0, 0), "1");
		PQclear(res);
		PQfinish(c);
	} else {
		assert_int_equal(stat(g.uri + strlen("sqlite:"), &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	vigil_store_close(s);
	assert_int_equal(vigil_store_open("postgresq://x", &s), -EINVAL);
	assert_int_equal(vigil_store_open("sqlite:", &s), -EINVAL);
}

static void *open_thread(void *arg)
{
	struct vigil_store *s = NULL;
	intptr_t r = vigil_store_open(arg, &s);

	vigil_store_close(s);
	return (void *)r;
}

/* Two connections opening a new database at the same moment: both succeed, one migrates. */
static void test_open_concurrent(void **state)
{
	const char *uri = fresh(state);
	pthread_t t[4];
	void *r;
	int i;

	for (i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, open_thread, (void *)uri), 0);
	for (i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &r), 0);
		assert_int_equal((intptr_t)r, 0);
	}
}

static void test_future_schema(void **state)
{
	const struct backend *b = *state;
	struct vigil_store *s = open_fresh(state);
	char err[256];

	vigil_store_close(s);
	if (b->pg) {
		pg_run("INSERT INTO schema_version (version) VALUES (99)");
	} else {
		sqlite3 *db;

		assert_int_equal(sqlite3_open(g.uri + strlen("sqlite:"), &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (99)", NULL,
					      NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
	}
	s = NULL;
	assert_int_equal(vigil_store_open_err(g.uri, &s, err, sizeof(err)), -EPROTO);
	assert_null(s);
	assert_non_null(strstr(err, "99"));
	assert_non_null(strstr(err, "1 (this build's)"));
}

static void test_devices(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d, got, *list = NULL;
	size_t count = 0;

	device_init(&d, "plc-2", VIGIL_MODE_PULL, false, 0);
	d.policy_version = 7;
	assert_int_equal(vigil_store_device_add(s, &d), 0);
	assert_int_equal(vigil_store_device_add(s, &d), -EEXIST);
	add(s, "plc-1", VIGIL_MODE_PUSH, false, 0, 0);
	assert_int_equal(vigil_store_device_get(s, "plc-2", &got), 0);
	assert_string_equal(got.id, "plc-2");
	assert_int_equal(got.mode, VIGIL_MODE_PULL);
	assert_string_equal(got.address, "127.0.0.1:7070");
	assert_string_equal(got.policy, "plc");
	assert_int_equal(got.interval_ms, 2000);
	assert_int_equal(got.state, VIGIL_DEVICE_REGISTERED);
	assert_false(got.enrolled);
	assert_int_equal(got.policy_version, 7);
	assert_int_equal(vigil_store_device_get(s, "plc-3", &got), -ENOENT);
	assert_int_equal(vigil_store_device_list(s, &list, &count), 0);
	assert_int_equal(count, 2);
	assert_string_equal(list[0].id, "plc-1");
	assert_string_equal(list[1].id, "plc-2");
	free(list);
	/* Pull enrollment's question: which pull devices are not enrolled yet? */
	add(s, "plc-4", VIGIL_MODE_PULL, true, 4, 0);
	add(s, "plc-3", VIGIL_MODE_PULL, false, 0, 0);
	assert_int_equal(vigil_store_device_list_unenrolled(s, "A", VIGIL_MODE_PULL, 0, 10, &list,
							    &count),
			 0);
	assert_int_equal(count, 2);
	assert_string_equal(list[0].id, "plc-2");
	assert_string_equal(list[1].id, "plc-3");
	free(list);
	assert_int_equal(vigil_store_device_list_unenrolled(s, "A", VIGIL_MODE_PULL, 0, 1, &list,
							    &count),
			 0);
	assert_int_equal(count, 1);
	free(list);
	assert_int_equal(vigil_store_device_list_unenrolled(s, "A", VIGIL_MODE_PUSH, 0, 10, &list,
							    &count),
			 0);
	assert_int_equal(count, 1);
	assert_string_equal(list[0].id, "plc-1");
	free(list);
	/* B is enrolling plc-2 (its lease): not A's to try until the lease ends, and no room used */
	assert_int_equal(vigil_store_lease(s, "plc-2", "B", 100, 500, &got), 0);
	assert_int_equal(vigil_store_device_list_unenrolled(s, "A", VIGIL_MODE_PULL, 200, 1, &list,
							    &count),
			 0);
	assert_int_equal(count, 1);
	assert_string_equal(list[0].id, "plc-3");
	free(list);
	assert_int_equal(vigil_store_device_list_unenrolled(s, "B", VIGIL_MODE_PULL, 200, 1, &list,
							    &count),
			 0);
	assert_string_equal(list[0].id, "plc-2");
	free(list);
	assert_int_equal(vigil_store_device_list_unenrolled(s, "A", VIGIL_MODE_PULL, 601, 10, &list,
							    &count),
			 0);
	assert_int_equal(count, 2);
	free(list);
	assert_int_equal(vigil_store_device_list_unenrolled(s, NULL, VIGIL_MODE_PULL, 0, 1, &list,
							    &count),
			 -EINVAL);
	assert_int_equal(vigil_store_device_remove(s, "plc-3"), 0);
	assert_int_equal(vigil_store_device_remove(s, "plc-4"), 0);
	/* The same policy keeps its anti-rollback version; another one starts again. */
	assert_int_equal(vigil_store_device_set_policy(s, "plc-2", "plc"), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-2", &got), 0);
	assert_int_equal(got.policy_version, 7);
	assert_int_equal(vigil_store_device_set_policy(s, "plc-2", "hmi"), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-2", &got), 0);
	assert_string_equal(got.policy, "hmi");
	assert_int_equal(got.policy_version, 0);
	assert_int_equal(vigil_store_device_set_policy(s, "plc-9", "hmi"), -ENOENT);
	assert_int_equal(vigil_store_device_remove(s, "plc-2"), 0);
	assert_int_equal(vigil_store_device_remove(s, "plc-2"), -ENOENT);
	assert_int_equal(vigil_store_device_list(s, &list, &count), 0);
	assert_int_equal(count, 1);
	free(list);
	assert_int_equal(vigil_store_device_remove(s, "plc-1"), 0);
	list = (struct vigil_device *)&got;
	assert_int_equal(vigil_store_device_list(s, &list, &count), 0);
	assert_int_equal(count, 0);
	assert_null(list);
	vigil_store_close(s);
}

static void test_ids(void **state)
{
	static const char *const good[] = { "a",
					    "plc-1",
					    "PLC_2.line-3",
					    "0",
					    "a.",
					    "x123456789012345678901234567890123456789012345678901"
					    "234567890ab" };
	static const char *const bad[] = {
		"",    ".a",  "-a",
		"a/b", "a b", "ä",
		"a\n", "a:b", "x1234567890123456789012345678901234567890123456789012345678901234",
	};
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d, got;
	size_t i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(vigil_device_id_valid(good[i]));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(vigil_device_id_valid(bad[i]));
		device_init(&d, "x", VIGIL_MODE_PUSH, false, 0);
		snprintf(d.id, sizeof(d.id), "%s", bad[i]);
		if (strlen(bad[i]) < sizeof(d.id))
			assert_int_equal(vigil_store_device_add(s, &d), -EINVAL);
		assert_int_equal(vigil_store_device_get(s, bad[i], &got), -EINVAL);
		assert_int_equal(vigil_store_device_remove(s, bad[i]), -EINVAL);
	}
	assert_false(vigil_device_id_valid(NULL));
	assert_string_equal(vigil_device_state_name(VIGIL_DEVICE_UNTRUSTED), "untrusted");
	assert_string_equal(vigil_device_state_name(VIGIL_DEVICE_MISSED), "missed");
	assert_string_equal(vigil_device_state_name((enum vigil_device_state)99), "unknown");
	vigil_store_close(s);
}

static void test_enroll(void **state)
{
	struct vigil_store *s = open_fresh(state);
	uint8_t ek1[32], ek2[32], fp[32], ak[120], ak2[100];
	struct vigil_device d;

	fill(ek1, 32, 1);
	fill(ek2, 32, 2);
	fill(fp, 32, 3);
	fill(ak, sizeof(ak), 4);
	fill(ak2, sizeof(ak2), 5);
	add(s, "plc-1", VIGIL_MODE_PUSH, false, 0, 5000);
	add(s, "plc-2", VIGIL_MODE_PUSH, false, 0, 5000);
	assert_int_equal(vigil_store_enroll(s, "plc-9", ek1, fp, ak, sizeof(ak)), -ENOENT);
	assert_int_equal(vigil_store_enroll(s, "plc-1", ek1, fp, ak, 0), -EINVAL);
	assert_int_equal(vigil_store_enroll(s, "plc-1", ek1, fp, ak, sizeof(ak)), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &d), 0);
	assert_true(d.enrolled);
	assert_int_equal(d.state, VIGIL_DEVICE_ENROLLED);
	assert_memory_equal(d.ek_hash, ek1, 32);
	assert_memory_equal(d.ek_cert_fingerprint, fp, 32);
	assert_int_equal(d.ak_public_len, sizeof(ak));
	assert_memory_equal(d.ak_public, ak, sizeof(ak));
	assert_int_equal(d.due_ms, 0);
	/* Another device cannot take this EK; this device cannot change its EK. */
	assert_int_equal(vigil_store_enroll(s, "plc-2", ek1, fp, ak, sizeof(ak)), -EEXIST);
	assert_int_equal(vigil_store_enroll(s, "plc-1", ek2, fp, ak, sizeof(ak)), -EPERM);
	assert_int_equal(vigil_store_device_get(s, "plc-2", &d), 0);
	assert_false(d.enrolled);
	/* Re-enrolling with the same EK takes the new AK and restarts the cursor. */
	assert_int_equal(vigil_store_device_get(s, "plc-1", &d), 0);
	assert_int_equal(vigil_store_lease(s, "plc-1", "a", 100, 1000, &d), 0);
	d.cursor.next = 42;
	d.cursor.valid = true;
	d.cursor.bank_count = 1;
	d.cursor.banks[0].alg = 0x0b;
	d.cursor.banks[0].size = 32;
	d.failures = 3;
	assert_int_equal(record(s, "a", &d, 200, VIGIL_DEVICE_TRUSTED, "{}", NULL), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &d), 0);
	assert_int_equal(d.cursor.next, 52);
	assert_int_equal(vigil_store_enroll(s, "plc-1", ek1, fp, ak2, sizeof(ak2)), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &d), 0);
	assert_int_equal(d.cursor.next, 0);
	assert_false(d.cursor.valid);
	assert_int_equal(d.cursor.bank_count, 0);
	assert_int_equal(d.failures, 0);
	assert_int_equal(d.seq, 1); /* the history goes on */
	assert_int_equal(d.ak_public_len, sizeof(ak2));
	assert_memory_equal(d.ak_public, ak2, sizeof(ak2));
	/* Removed and added again, the device may enroll with another TPM. */
	assert_int_equal(vigil_store_device_remove(s, "plc-1"), 0);
	add(s, "plc-1", VIGIL_MODE_PUSH, false, 0, 0);
	assert_int_equal(vigil_store_enroll(s, "plc-1", ek2, fp, ak, sizeof(ak)), 0);
	assert_int_equal(vigil_store_enroll(s, "plc-2", ek1, fp, ak, sizeof(ak)), 0);
	vigil_store_close(s);
}

static void cursor_equal(const struct vigil_cursor *a, const struct vigil_cursor *b)
{
	uint32_t i;

	assert_true(a->next == b->next);
	assert_true(a->clock.clock == b->clock.clock);
	assert_int_equal(a->clock.reset_count, b->clock.reset_count);
	assert_int_equal(a->clock.restart_count, b->clock.restart_count);
	assert_int_equal(a->valid, b->valid);
	assert_int_equal(a->bank_count, b->bank_count);
	for (i = 0; i < a->bank_count; i++) {
		assert_int_equal(a->banks[i].alg, b->banks[i].alg);
		assert_int_equal(a->banks[i].size, b->banks[i].size);
		assert_memory_equal(a->banks[i].value, b->banks[i].value, a->banks[i].size);
	}
}

static void cursor_fill(struct vigil_cursor *c, unsigned int seed)
{
	static const struct {
		uint16_t alg;
		uint8_t size;
	} banks[] = { { 0x04, 20 }, { 0x0b, 32 }, { 0x0c, 48 }, { 0x0d, 64 } };
	uint32_t i;

	memset(c, 0, sizeof(*c));
	c->next = UINT64_MAX - seed; /* beyond INT64_MAX: stored as its bit pattern */
	c->clock.clock = (uint64_t)INT64_MAX + 12345 + seed;
	c->clock.reset_count = UINT32_MAX;
	c->clock.restart_count = 0x80000000u + seed;
	c->valid = true;
	c->bank_count = 4;
	for (i = 0; i < c->bank_count; i++) {
		c->banks[i].alg = banks[i].alg;
		c->banks[i].size = banks[i].size;
		fill(c->banks[i].value, banks[i].size, seed + i);
	}
}

static void test_cursor(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d, got;

	device_init(&d, "plc-1", VIGIL_MODE_PUSH, true, 9);
	cursor_fill(&d.cursor, 1);
	d.policy_version = UINT64_MAX;
	d.seq = 5;
	d.due_ms = -1;
	d.failures = UINT32_MAX;
	strcpy(d.last_reason, "pcr_mismatch");
	assert_int_equal(vigil_store_device_add(s, &d), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &got), 0);
	cursor_equal(&got.cursor, &d.cursor);
	assert_true(got.policy_version == UINT64_MAX);
	assert_int_equal(got.seq, 5);
	assert_int_equal(got.due_ms, -1);
	assert_int_equal(got.failures, UINT32_MAX);
	assert_string_equal(got.last_reason, "pcr_mismatch");
	assert_memory_equal(got.ek_hash, d.ek_hash, 32);
	assert_int_equal(got.ak_public_len, d.ak_public_len);
	assert_memory_equal(got.ak_public, d.ak_public, d.ak_public_len);
	/* Through a record, too (one bank fewer, other values). */
	assert_int_equal(vigil_store_lease(s, "plc-1", "a", 10, 100, &got), 0);
	cursor_fill(&got.cursor, 2);
	got.cursor.bank_count = 3;
	assert_int_equal(record(s, "a", &got, 20, VIGIL_DEVICE_TRUSTED, "{}", NULL), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &d), 0);
	cursor_equal(&d.cursor, &got.cursor);
	/* Bad banks are refused, not truncated. */
	d.cursor.banks[1].size = 65;
	assert_int_equal(vigil_store_device_remove(s, "plc-1"), 0);
	assert_int_equal(vigil_store_device_add(s, &d), -EINVAL);
	d.cursor.banks[1].size = 32;
	d.cursor.bank_count = VIGIL_BANKS_MAX + 1;
	assert_int_equal(vigil_store_device_add(s, &d), -EINVAL);
	vigil_store_close(s);
}

static int contains(const struct vigil_device *v, size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (!strcmp(v[i].id, id))
			return 1;
	return 0;
}

static void test_claims(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_device *a = NULL, *b = NULL, *c = NULL, d;
	size_t na = 0, nb = 0, nc = 0, i;
	char id[16];

	for (i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "push-%zu", i);
		add(s, id, VIGIL_MODE_PUSH, true, (unsigned int)i * 10, 1000 + (int64_t)(9 - i));
	}
	add(s, "pull-0", VIGIL_MODE_PULL, true, 200, 1000);
	add(s, "push-new", VIGIL_MODE_PUSH, false, 0, 1000);
	add(s, "push-later", VIGIL_MODE_PUSH, true, 300, 5000);
	assert_int_equal(vigil_store_claim(s, "A", VIGIL_MODE_PUSH, 2000, 1000, 4, &a, &na), 0);
	assert_int_equal(na, 4);
	/* The most overdue: push-9 (due 1000) .. push-6; due again when their lease ends */
	for (i = 6; i < 10; i++) {
		snprintf(id, sizeof(id), "push-%zu", i);
		assert_true(contains(a, na, id));
	}
	for (i = 0; i < na; i++)
		assert_int_equal(a[i].due_ms, 3000);
	assert_int_equal(vigil_store_claim(s, "B", VIGIL_MODE_PUSH, 2000, 1000, 100, &b, &nb), 0);
	assert_int_equal(nb, 6);
	for (i = 0; i < nb; i++) {
		assert_false(contains(a, na, b[i].id));
		assert_int_equal(b[i].mode, VIGIL_MODE_PUSH);
		assert_true(b[i].enrolled);
	}
	free(b);
	/* In flight: not claimed again, not even by their owner, before their lease ends. */
	assert_int_equal(vigil_store_claim(s, "A", VIGIL_MODE_PUSH, 2100, 1000, 100, &b, &nb), 0);
	assert_int_equal(nb, 0);
	assert_int_equal(vigil_store_claim(s, "C", VIGIL_MODE_PUSH, 3000, 1000, 100, &c, &nc), 0);
	assert_int_equal(nc, 0); /* the leases end at 3000 */
	assert_null(c);
	/* A and B died: all ten are due when their leases ran out, and C takes them. */
	assert_int_equal(vigil_store_claim(s, "C", VIGIL_MODE_PUSH, 3001, 1000, 100, &c, &nc), 0);
	assert_int_equal(nc, 10);
	free(c);
	assert_int_equal(vigil_store_claim(s, "C", VIGIL_MODE_PULL, 3001, 1000, 100, &c, &nc), 0);
	assert_int_equal(nc, 1);
	assert_string_equal(c[0].id, "pull-0");
	free(c);
	/* One device, for a push agent. */
	assert_int_equal(vigil_store_lease(s, "push-9", "B", 3050, 1000, &d), -EBUSY);
	assert_int_equal(vigil_store_lease(s, "push-9", "C", 3050, 1000, &d), 0);
	assert_string_equal(d.id, "push-9");
	assert_int_equal(vigil_store_lease(s, "nope", "C", 3050, 1000, &d), -ENOENT);
	assert_int_equal(vigil_store_lease(s, "push-later", "C", 3050, 0, &d), -EINVAL);
	assert_int_equal(vigil_store_release(s, "C"), 0);
	assert_int_equal(vigil_store_lease(s, "push-9", "B", 3060, 1000, &d), 0);
	assert_int_equal(vigil_store_claim(s, "D", VIGIL_MODE_PUSH, 4050, 1000, 100, &c, &nc), 0);
	assert_int_equal(nc, 9); /* C's released, but for push-9 now B's (until 4060) */
	assert_false(contains(c, nc, "push-9"));
	free(c);
	free(a);
	vigil_store_close(s);
}

#define CONCURRENT_DEVICES 200

struct claimer {
	const char *uri;
	const char *owner;
	pthread_barrier_t *go;
	char ids[CONCURRENT_DEVICES][VIGIL_DEVICE_ID_MAX + 1];
	size_t count;
	int error;
};

/* Claim, and record each device claimed (due much later), until nothing is due. */
static void *claimer(void *arg)
{
	struct claimer *c = arg;
	struct vigil_store *s = NULL;
	struct vigil_device *v;
	struct vigil_attestation a;
	size_t n, i, empty = 0;

	c->error = vigil_store_open(c->uri, &s);
	pthread_barrier_wait(c->go);
	while (!c->error && empty < 3) {
		c->error = vigil_store_claim(s, c->owner, VIGIL_MODE_PUSH, 10000, 60000, 7, &v, &n);
		if (c->error)
			break;
		for (i = 0; i < n && !c->error; i++) {
			if (c->count == CONCURRENT_DEVICES) {
				c->error = -E2BIG;
				break;
			}
			strcpy(c->ids[c->count++], v[i].id);
			memset(&a, 0, sizeof(a));
			strcpy(a.device, v[i].id);
			a.seq = v[i].seq + 1;
			a.time_ms = 10001;
			a.state = VIGIL_DEVICE_TRUSTED;
			strcpy(a.reason, "none");
			v[i].due_ms = 1000000;
			c->error = vigil_store_record(s, c->owner, &v[i], &a, NULL);
		}
		empty = n ? 0 : empty + 1;
		free(v);
	}
	vigil_store_close(s);
	return NULL;
}

static void test_claim_concurrent(void **state)
{
	struct vigil_store *s = open_fresh(state);
	static struct claimer c[2];
	pthread_barrier_t go;
	pthread_t t[2];
	char id[16];
	size_t i, j;

	for (i = 0; i < CONCURRENT_DEVICES; i++) {
		snprintf(id, sizeof(id), "d-%03zu", i);
		add(s, id, VIGIL_MODE_PUSH, true, (unsigned int)i, (int64_t)(i % 13));
	}
	assert_int_equal(pthread_barrier_init(&go, NULL, 2), 0);
	for (i = 0; i < 2; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		c[i].uri = g.uri;
		c[i].owner = i ? "verifierd-b" : "verifierd-a";
		c[i].go = &go;
		assert_int_equal(pthread_create(&t[i], NULL, claimer, &c[i]), 0);
	}
	for (i = 0; i < 2; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);
	pthread_barrier_destroy(&go);
	assert_int_equal(c[0].error, 0);
	assert_int_equal(c[1].error, 0);
	assert_int_equal(c[0].count + c[1].count, CONCURRENT_DEVICES);
	for (i = 0; i < c[0].count; i++)
		for (j = 0; j < c[1].count; j++)
			assert_string_not_equal(c[0].ids[i], c[1].ids[j]);
	printf("# %s: concurrent claims: %zu and %zu devices\n", ((struct backend *)*state)->name,
	       c[0].count, c[1].count);
	vigil_store_close(s);
}

static void test_record(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d, stale, got, *v = NULL;
	struct vigil_alert *al = NULL;
	size_t n = 0;

	add(s, "plc-1", VIGIL_MODE_PUSH, true, 1, 1000);
	assert_int_equal(vigil_store_claim(s, "A", VIGIL_MODE_PUSH, 1000, 500, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	d = v[0];
	free(v);
	stale = d;
	d.failures = 0;
	assert_int_equal(record(s, "A", &d, 1100, VIGIL_DEVICE_TRUSTED, "{\"a\":1}", NULL), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &got), 0);
	assert_int_equal(got.seq, 1);
	assert_int_equal(got.state, VIGIL_DEVICE_TRUSTED);
	assert_string_equal(got.last_reason, "none");
	assert_int_equal(got.last_ms, 1100);
	assert_int_equal(got.due_ms, 3100);
	assert_int_equal(got.cursor.next, 10);
	/* The sequence read is no longer the device's: nothing is written. */
	assert_int_equal(record(s, "A", &stale, 1200, VIGIL_DEVICE_UNTRUSTED, "{}", "jws"),
			 -ESTALE);
	/* Not the lease holder; the lease expired (1000 + 500 < 1501). */
	assert_int_equal(record(s, "B", &d, 1200, VIGIL_DEVICE_TRUSTED, "{}", NULL), -ESTALE);
	assert_int_equal(record(s, "A", &d, 1501, VIGIL_DEVICE_TRUSTED, "{}", NULL), -ESTALE);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &got), 0);
	assert_int_equal(got.seq, 1);
	assert_int_equal(got.cursor.next, 10);
	/* B took over the expired lease: A, paused meanwhile, cannot record. */
	assert_int_equal(vigil_store_claim(s, "B", VIGIL_MODE_PUSH, 3200, 500, 10, &v, &n), 0);
	assert_int_equal(n, 1);
	free(v);
	assert_int_equal(record(s, "A", &d, 3300, VIGIL_DEVICE_TRUSTED, "{}", NULL), -ESTALE);
	d.failures = 1;
	assert_int_equal(record(s, "B", &d, 3300, VIGIL_DEVICE_UNTRUSTED, "{\"b\":2}", "a.b.c"), 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &got), 0);
	assert_int_equal(got.seq, 2);
	assert_int_equal(got.state, VIGIL_DEVICE_UNTRUSTED);
	assert_int_equal(got.failures, 1);
	assert_string_equal(got.last_reason, "digest_mismatch");
	assert_int_equal(vigil_store_alerts_due(s, 3300, 10, &al, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(al[0].jws, "a.b.c");
	assert_string_equal(al[0].device, "plc-1");
	assert_int_equal(al[0].seq, 2);
	assert_int_equal(al[0].attempts, 0);
	vigil_alerts_free(al, n);
	/* The history row must follow the device's sequence. */
	{
		struct vigil_attestation a = { .device = "plc-1", .seq = 9, .time_ms = 3400 };

		assert_int_equal(vigil_store_record(s, "B", &d, &a, NULL), -EINVAL);
	}
	vigil_store_close(s);
}

/* Run SQL on the current case's database behind the store's back. */
static void raw_sql(void **state, const char *sql)
{
	const struct backend *b = *state;
	sqlite3 *db;

	if (b->pg) {
		pg_run(sql);
		return;
	}
	assert_int_equal(sqlite3_open(g.uri + strlen("sqlite:"), &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

/* @d's next attestation as vigil_store_record_many() takes it; d->seq moves on with ok. */
static void next_rec(struct vigil_device *d, struct vigil_attestation *a, int64_t now,
		     const char *verdict)
{
	memset(a, 0, sizeof(*a));
	strcpy(a->device, d->id);
	a->seq = d->seq + 1;
	a->time_ms = now;
	a->state = VIGIL_DEVICE_TRUSTED;
	strcpy(a->reason, "none");
	a->verdict = (char *)verdict;
	d->due_ms = now + 2000;
}

static void test_record_many(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d[5], got;
	struct vigil_attestation a[5], *h = NULL;
	struct vigil_store_rec recs[6];
	struct vigil_alert *al = NULL;
	char id[16], *big = malloc(VIGIL_STORE_TEXT_MAX + 2);
	int ret[6];
	size_t n = 0;

	assert_non_null(big);
	memset(big, 'x', VIGIL_STORE_TEXT_MAX + 1);
	big[VIGIL_STORE_TEXT_MAX + 1] = 0;
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "plc-%d", i);
		add(s, id, VIGIL_MODE_PULL, true, (unsigned int)i, 0);
		assert_int_equal(vigil_store_lease(s, id, "A", 0, 100000, &d[i]), 0);
		next_rec(&d[i], &a[i], 100, "{}");
		recs[i] = (struct vigil_store_rec){ &d[i], &a[i], NULL };
	}
	recs[1].alert_jws = "x.y.z";
	d[2].seq = 7; /* stale: not the sequence stored */
	a[2].seq = 8;
	a[3].verdict = big; /* beyond the bound */
	recs[5] = recs[0]; /* plc-0 twice in one batch */
	assert_int_equal(vigil_store_record_many(s, "A", recs, 6, ret), 0);
	assert_int_equal(ret[0], 0);
	assert_int_equal(ret[1], 0);
	assert_int_equal(ret[2], -ESTALE);
	assert_int_equal(ret[3], -E2BIG);
	assert_int_equal(ret[4], 0);
	assert_int_equal(ret[5], -EINVAL);
	for (int i = 0; i < 5; i++) {
		snprintf(id, sizeof(id), "plc-%d", i);
		assert_int_equal(vigil_store_device_get(s, id, &got), 0);
		assert_int_equal(got.seq, ret[i] == 0 ? 1 : 0);
		assert_int_equal(got.state,
				 ret[i] == 0 ? VIGIL_DEVICE_TRUSTED : VIGIL_DEVICE_ENROLLED);
	}
	assert_int_equal(vigil_store_alerts_due(s, 100, 10, &al, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(al[0].jws, "x.y.z");
	vigil_alerts_free(al, n);

	/* A row the database refuses (a history row with that sequence exists already) fails the
	 * batch; each outcome is then written on its own and only that one is lost. */
	raw_sql(state, "INSERT INTO attestations (device, seq, time_ms, state, reason, rec_from, "
		       "rec_to) VALUES ('plc-1', 2, 0, 2, 'none', 0, 0)");
	d[0].seq = d[1].seq = d[4].seq = 1;
	next_rec(&d[0], &a[0], 200, "{\"n\":2}");
	next_rec(&d[1], &a[1], 200, "{}");
	next_rec(&d[4], &a[4], 200, "{\"n\":2}");
	recs[0] = (struct vigil_store_rec){ &d[0], &a[0], NULL };
	recs[1] = (struct vigil_store_rec){ &d[1], &a[1], NULL };
	recs[2] = (struct vigil_store_rec){ &d[4], &a[4], NULL };
	assert_int_equal(vigil_store_record_many(s, "A", recs, 3, ret), 0);
	assert_int_equal(ret[0], 0);
	assert_int_equal(ret[1], -EEXIST);
	assert_int_equal(ret[2], 0);
	assert_int_equal(vigil_store_device_get(s, "plc-1", &got), 0);
	assert_int_equal(got.seq, 1);
	assert_int_equal(vigil_store_history(s, "plc-4", 10, &h, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(h[0].seq, 2);
	assert_string_equal(h[0].verdict, "{\"n\":2}");
	vigil_attestations_free(h, n);
	assert_int_equal(vigil_store_record_many(s, "A", recs, 0, ret), 0);
	assert_int_equal(vigil_store_record_many(s, "A", NULL, 1, ret), -EINVAL);
	free(big);
	vigil_store_close(s);
}

static void test_history(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_attestation *h = NULL;
	struct vigil_device d;
	char verdict[64];
	size_t n = 0;
	int i;

	add(s, "plc-1", VIGIL_MODE_PUSH, true, 1, 0);
	add(s, "plc-2", VIGIL_MODE_PUSH, true, 2, 0);
	assert_int_equal(vigil_store_lease(s, "plc-1", "A", 0, 100000, &d), 0);
	for (i = 1; i <= 5; i++) {
		snprintf(verdict, sizeof(verdict), "{\"n\":%d}", i);
		assert_int_equal(record(s, "A", &d, i * 10,
					i == 4 ? VIGIL_DEVICE_MISSED : VIGIL_DEVICE_TRUSTED,
					i == 4 ? NULL : verdict, NULL),
				 0);
	}
	assert_int_equal(vigil_store_history(s, "plc-1", 3, &h, &n), 0);
	assert_int_equal(n, 3);
	assert_int_equal(h[0].seq, 5);
	assert_int_equal(h[1].seq, 4);
	assert_int_equal(h[2].seq, 3);
	assert_string_equal(h[0].verdict, "{\"n\":5}");
	assert_null(h[1].verdict);
	assert_int_equal(h[1].state, VIGIL_DEVICE_MISSED);
	assert_int_equal(h[0].time_ms, 50);
	assert_int_equal(h[0].from, 40);
	assert_int_equal(h[0].to, 50);
	assert_string_equal(h[0].device, "plc-1");
	assert_string_equal(h[0].reason, "none");
	vigil_attestations_free(h, n);
	assert_int_equal(vigil_store_history(s, "plc-1", 100, &h, &n), 0);
	assert_int_equal(n, 5);
	vigil_attestations_free(h, n);
	assert_int_equal(vigil_store_history(s, "plc-2", 100, &h, &n), 0);
	assert_int_equal(n, 0);
	assert_null(h);
	/* Removing a device removes its history. */
	assert_int_equal(vigil_store_device_remove(s, "plc-1"), 0);
	add(s, "plc-1", VIGIL_MODE_PUSH, true, 1, 0);
	assert_int_equal(vigil_store_history(s, "plc-1", 100, &h, &n), 0);
	assert_int_equal(n, 0);
	vigil_store_close(s);
}

static void test_alerts(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_alert *al = NULL;
	struct vigil_device d;
	int64_t first, second;
	size_t n = 0;

	add(s, "plc-1", VIGIL_MODE_PUSH, true, 1, 0);
	assert_int_equal(vigil_store_lease(s, "plc-1", "A", 0, 100000, &d), 0);
	assert_int_equal(record(s, "A", &d, 100, VIGIL_DEVICE_UNTRUSTED, "{}", "one"), 0);
	assert_int_equal(record(s, "A", &d, 200, VIGIL_DEVICE_TRUSTED, "{}", "two"), 0);
	assert_int_equal(vigil_store_alerts_due(s, 99, 10, &al, &n), 0);
	assert_int_equal(n, 0);
	/* both due, in the order queued; claimed: nobody gets them again meanwhile */
	assert_int_equal(vigil_store_alerts_due(s, 200, 10, &al, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(al[0].jws, "one");
	assert_string_equal(al[1].jws, "two");
	assert_int_equal(al[0].next_ms, 200 + VIGIL_ALERT_CLAIM_MS);
	first = al[0].id;
	second = al[1].id;
	vigil_alerts_free(al, n);
	assert_int_equal(vigil_store_alerts_due(s, 200, 10, &al, &n), 0);
	assert_int_equal(n, 0);
	/* the first failed: tried again at 1000; the second delivered */
	assert_int_equal(vigil_store_alert_retry(s, first, 1000), 0);
	assert_int_equal(vigil_store_alert_done(s, second), 0);
	assert_int_equal(vigil_store_alert_done(s, second), -ENOENT);
	assert_int_equal(vigil_store_alert_retry(s, second, 5), -ENOENT);
	assert_int_equal(vigil_store_alerts_due(s, 500, 10, &al, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(vigil_store_alerts_due(s, 1000, 10, &al, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(al[0].id, first);
	assert_int_equal(al[0].attempts, 1);
	vigil_alerts_free(al, n);
	/* claimed by a process that died: another takes it when the claim runs out */
	assert_int_equal(vigil_store_alerts_due(s, 1000 + VIGIL_ALERT_CLAIM_MS - 1, 10, &al, &n),
			 0);
	assert_int_equal(n, 0);
	assert_int_equal(vigil_store_alerts_due(s, 1000 + VIGIL_ALERT_CLAIM_MS, 1, &al, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(al[0].id, first);
	vigil_alerts_free(al, n);
	vigil_store_close(s);
}

/* Put a challenge for plc-1 (ek, fp, ak as filled in test_challenge) expiring at @expires. */
#define PUT(secret, ak_len, expires) \
	vigil_store_challenge_put(s, "plc-1", (secret), ek, fp, ak, (ak_len), (expires))
#define TAKE(now) \
	vigil_store_challenge_take(s, "plc-1", (now), got_s, got_ek, got_fp, got_ak, &got_len)

static void test_challenge(void **state)
{
	struct vigil_store *s = open_fresh(state);
	uint8_t secret[32], secret2[32], ek[32], fp[32], ak[sizeof(TPM2B_PUBLIC)];
	uint8_t got_s[32], got_ek[32], got_fp[32], got_ak[sizeof(TPM2B_PUBLIC)];
	size_t got_len = 0;

	fill(secret, 32, 1);
	fill(secret2, 32, 2);
	fill(ek, 32, 3);
	fill(fp, 32, 5);
	fill(ak, sizeof(ak), 4);
	assert_int_equal(PUT(secret, 100, 1000), -ENOENT); /* no such device */
	add(s, "plc-1", VIGIL_MODE_PUSH, false, 0, 0);
	assert_int_equal(TAKE(0), -ENOENT);
	assert_int_equal(PUT(secret, 100, 1000), 0);
	assert_int_equal(PUT(secret2, sizeof(ak), 1000), 0); /* replaces the first */
	assert_int_equal(TAKE(1000), 0);
	assert_memory_equal(got_s, secret2, 32);
	assert_memory_equal(got_ek, ek, 32);
	assert_memory_equal(got_fp, fp, 32);
	assert_int_equal(got_len, sizeof(ak));
	assert_memory_equal(got_ak, ak, sizeof(ak));
	/* Taken once: a replayed activation finds nothing. */
	assert_int_equal(TAKE(0), -ENOENT);
	/* Expired: refused and gone. */
	assert_int_equal(PUT(secret, 100, 1000), 0);
	assert_int_equal(TAKE(1001), -ENOENT);
	assert_int_equal(TAKE(0), -ENOENT);
	assert_int_equal(PUT(secret, sizeof(ak) + 1, 9), -EINVAL);
	/* Removing the device removes its challenge. */
	assert_int_equal(PUT(secret, 100, 1000), 0);
	assert_int_equal(vigil_store_device_remove(s, "plc-1"), 0);
	add(s, "plc-1", VIGIL_MODE_PUSH, false, 0, 0);
	assert_int_equal(TAKE(0), -ENOENT);
	vigil_store_close(s);
}

static void test_policy(void **state)
{
	struct vigil_store *s = open_fresh(state);
	uint8_t env[5000], *got = NULL;
	uint64_t version = 0;
	size_t len = 0;
	char name[VIGIL_POLICY_NAME_MAX + 2];

	fill(env, sizeof(env), 7);
	assert_int_equal(vigil_store_policy_get(s, "plc", &version, &got, &len), -ENOENT);
	assert_int_equal(vigil_store_policy_put(s, "plc", 3, env, sizeof(env)), 0);
	assert_int_equal(vigil_store_policy_get(s, "plc", &version, &got, &len), 0);
	assert_int_equal(version, 3);
	assert_int_equal(len, sizeof(env));
	assert_memory_equal(got, env, sizeof(env));
	free(got);
	assert_int_equal(vigil_store_policy_put(s, "plc", 4, env, 10), 0);
	assert_int_equal(vigil_store_policy_get(s, "plc", &version, &got, &len), 0);
	assert_int_equal(version, 4);
	assert_int_equal(len, 10);
	free(got);
	memset(name, 'n', sizeof(name));
	name[VIGIL_POLICY_NAME_MAX] = '\0';
	assert_int_equal(vigil_store_policy_put(s, name, 1, env, 1), 0);
	name[VIGIL_POLICY_NAME_MAX] = 'n';
	name[VIGIL_POLICY_NAME_MAX + 1] = '\0';
	assert_int_equal(vigil_store_policy_put(s, name, 1, env, 1), -E2BIG);
	assert_int_equal(vigil_store_policy_put(s, "", 1, env, 1), -EINVAL);
	vigil_store_close(s);
}

static void test_too_long(void **state)
{
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d;
	char owner[VIGIL_OWNER_MAX + 2], *big;

	device_init(&d, "plc-1", VIGIL_MODE_PULL, true, 1);
	memset(d.address, 'a', sizeof(d.address)); /* no terminating NUL in the field */
	assert_int_equal(vigil_store_device_add(s, &d), -E2BIG);
	device_init(&d, "plc-1", VIGIL_MODE_PULL, true, 1);
	memset(d.policy, 'p', sizeof(d.policy));
	assert_int_equal(vigil_store_device_add(s, &d), -E2BIG);
	device_init(&d, "plc-1", VIGIL_MODE_PULL, true, 1);
	memset(d.last_reason, 'r', sizeof(d.last_reason));
	assert_int_equal(vigil_store_device_add(s, &d), -E2BIG);
	device_init(&d, "plc-1", VIGIL_MODE_PULL, true, 1);
	d.mode = (enum vigil_device_mode)2;
	assert_int_equal(vigil_store_device_add(s, &d), -EINVAL);
	add(s, "plc-1", VIGIL_MODE_PUSH, true, 1, 0);
	memset(owner, 'o', sizeof(owner));
	owner[VIGIL_OWNER_MAX + 1] = '\0';
	assert_int_equal(vigil_store_lease(s, "plc-1", owner, 0, 100, &d), -E2BIG);
	owner[VIGIL_OWNER_MAX] = '\0';
	assert_int_equal(vigil_store_lease(s, "plc-1", owner, 0, 100, &d), 0);
	assert_int_equal(vigil_store_device_set_policy(s, "plc-1", d.id), 0);
	{
		char policy[sizeof(d.policy) + 1];

		memset(policy, 'p', sizeof(policy) - 1);
		policy[sizeof(policy) - 1] = '\0';
		assert_int_equal(vigil_store_device_set_policy(s, "plc-1", policy), -E2BIG);
	}
	big = malloc(VIGIL_STORE_TEXT_MAX + 2);
	assert_non_null(big);
	memset(big, 'v', VIGIL_STORE_TEXT_MAX + 1);
	big[VIGIL_STORE_TEXT_MAX + 1] = '\0';
	assert_int_equal(record(s, owner, &d, 10, VIGIL_DEVICE_TRUSTED, big, NULL), -E2BIG);
	assert_int_equal(record(s, owner, &d, 10, VIGIL_DEVICE_TRUSTED, "{}", big), -E2BIG);
	big[VIGIL_STORE_TEXT_MAX] = '\0';
	assert_int_equal(record(s, owner, &d, 10, VIGIL_DEVICE_TRUSTED, big, NULL), 0);
	free(big);
	vigil_store_close(s);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Not asserted: how many records per second this machine does, for the report. */
static void test_record_rate(void **state)
{
	static const char verdict[] = "{\"accepted\":true,\"reason\":\"none\",\"checks\":{\"sig\":"
				      "\"pass\",\"nonce\":\"pass\",\"clock\":\"pass\",\"pcrs\":"
				      "\"pass\",\"policy\":\"pass\"},\"failures\":[]}";
	struct vigil_store *s = open_fresh(state);
	struct vigil_device d[16];
	double start, elapsed;
	unsigned int n = 0, i;
	char id[16];

	for (i = 0; i < 16; i++) {
		snprintf(id, sizeof(id), "bench-%u", i);
		add(s, id, VIGIL_MODE_PUSH, true, i, 0);
		assert_int_equal(vigil_store_lease(s, id, "bench", 0, INT64_MAX / 2, &d[i]), 0);
		cursor_fill(&d[i].cursor, i);
		d[i].cursor.bank_count = 1;
		d[i].cursor.next = 0;
	}
	start = now_s();
	do {
		for (i = 0; i < 100; i++, n++)
			assert_int_equal(record(s, "bench", &d[n % 16], 1 + n, VIGIL_DEVICE_TRUSTED,
						verdict, NULL),
					 0);
		elapsed = now_s() - start;
	} while (elapsed < 1.0 && n < 100000);
	printf("# %s: %.0f vigil_store_record() calls/s (%u in %.2f s, one connection)\n",
	       ((struct backend *)*state)->name, n / elapsed, n, elapsed);
	start = now_s();
	n = 0;
	do {
		struct vigil_attestation a[16];
		struct vigil_store_rec recs[16];
		int ret[16];

		for (i = 0; i < 16; i++) {
			next_rec(&d[i], &a[i], 1 + n, verdict);
			recs[i] = (struct vigil_store_rec){ &d[i], &a[i], NULL };
		}
		assert_int_equal(vigil_store_record_many(s, "bench", recs, 16, ret), 0);
		for (i = 0; i < 16; i++, n++) {
			assert_int_equal(ret[i], 0);
			d[i].seq++;
		}
		elapsed = now_s() - start;
	} while (elapsed < 1.0 && n < 400000);
	printf("# %s: %.0f outcomes/s with vigil_store_record_many() of 16 (%u in %.2f s)\n",
	       ((struct backend *)*state)->name, n / elapsed, n, elapsed);
	vigil_store_close(s);
}

/* Every case runs twice: "sqlite: test_x" and "pg: test_x". */
#define CASE(b, f) ((struct CMUnitTest){ #b ": " #f, f, NULL, NULL, &b##_backend })
#define BOTH(f) CASE(sqlite, f), CASE(pg, f)

int main(void)
{
	const struct CMUnitTest tests[] = {
		BOTH(test_open_twice),
		BOTH(test_open_concurrent),
		BOTH(test_future_schema),
		BOTH(test_devices),
		BOTH(test_ids),
		BOTH(test_enroll),
		BOTH(test_cursor),
		BOTH(test_claims),
		BOTH(test_claim_concurrent),
		BOTH(test_record),
		BOTH(test_record_many),
		BOTH(test_history),
		BOTH(test_alerts),
		BOTH(test_challenge),
		BOTH(test_policy),
		BOTH(test_too_long),
		BOTH(test_record_rate),
	};

	return cmocka_run_group_tests_name("store", tests, setup, teardown);
}
