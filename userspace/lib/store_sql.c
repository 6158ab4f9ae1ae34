// SPDX-License-Identifier: MIT
/*
 * store_sql.c: every operation of the fleet database (store.h), written once in SQL that both
 * SQLite (3.35+: RETURNING, upsert; the backend's STRICT tables need 3.37) and PostgreSQL
 * accept, run through the backend's driver (store_internal.h), plus schema migration.
 *
 * Atomicity comes from single statements where one suffices (a claim, a lease, enrolling,
 * taking a challenge are one UPDATE/DELETE ... RETURNING each, so no reader can slip between
 * a check and a write), and from a transaction where several rows change together (a
 * migration step; recording an attestation on SQLite, while on PostgreSQL that is a single
 * statement whose WITH clauses do the three writes, to save round trips). The conditions that
 * make a write safe are part of its WHERE clause, never checked before it: a record lands only
 * if the lease and the sequence number read are still current; an enrollment only if the
 * device is unbound or bound to the same EK.
 *
 * Invariants: out-parameters are written only on success; rows read back are checked against
 * the structures' bounds (-EBADMSG for a database someone else wrote out of bounds); every
 * transaction that is begun is committed or rolled back before returning.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "cleanup.h"
#include "policy.h"
#include "store_internal.h"

#define DEVICE_COLUMNS                                                                    \
	"id, mode, address, policy, interval_ms, state, enrolled, ek_hash, "              \
	"ek_cert_fingerprint, ak_public, cursor_next, cursor_clock, cursor_reset_count, " \
	"cursor_restart_count, cursor_valid, cursor_banks, policy_version, seq, due_ms, " \
	"last_ms, last_reason, failures"
#define DEVICE_NCOLS 22

/* A claimed device is not due again before its lease ends (it is in flight): the verdict
 * recorded sets its next due time; if its owner dies, it is due when the lease runs out. */
#define CLAIM_SQL(lock)                                                                      \
	"UPDATE devices SET lease_owner = $1, lease_until = $2, due_ms = $2 WHERE id IN "    \
	"(SELECT id FROM "                                                                   \
	"devices WHERE enrolled AND mode = $3 AND due_ms <= $4 AND (lease_owner IS NULL OR " \
	"lease_until < $4 OR lease_owner = $1) ORDER BY due_ms LIMIT $5" lock                \
	") RETURNING " DEVICE_COLUMNS

/* Alerts due are claimed for a while (next_ms moves on), so two verifierd never deliver one. */
#define ALERTS_DUE_SQL(lock)                                                                     \
	"UPDATE alerts SET next_ms = $3 WHERE id IN (SELECT id FROM alerts WHERE next_ms <= $1 " \
	"ORDER BY next_ms, id LIMIT $2" lock ") RETURNING id, device, seq, jws, attempts, next_ms"

static const char *const sql[VIGIL_STMT_COUNT] = {
	[VIGIL_STMT_SCHEMA_VERSION] = "SELECT MAX(version) FROM schema_version",
	[VIGIL_STMT_SCHEMA_SET] = "INSERT INTO schema_version (version) VALUES ($1)",
	[VIGIL_STMT_DEVICE_ADD] = "INSERT INTO devices (" DEVICE_COLUMNS ") VALUES ($1, $2, $3, "
				  "$4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, "
				  "$17, $18, $19, $20, $21, $22)",
	[VIGIL_STMT_DEVICE_GET] = "SELECT " DEVICE_COLUMNS " FROM devices WHERE id = $1",
	[VIGIL_STMT_DEVICE_LIST] = "SELECT " DEVICE_COLUMNS " FROM devices ORDER BY id",
	/* ... that nobody else holds a lease on: those are not this owner's to enroll now */
	[VIGIL_STMT_DEVICE_LIST_UNENROLLED] =
		"SELECT " DEVICE_COLUMNS " FROM devices WHERE NOT enrolled AND mode = $1 AND "
		"(lease_owner IS NULL OR lease_until < $2 OR lease_owner = $3) ORDER BY id LIMIT $4",
	[VIGIL_STMT_DEVICE_REMOVE] = "DELETE FROM devices WHERE id = $1",
	/* Anti-rollback is per policy name: another policy starts from its first version. */
	[VIGIL_STMT_DEVICE_SET_POLICY] =
		"UPDATE devices SET policy_version = CASE WHEN policy = $2 THEN policy_version "
		"ELSE 0 END, policy = $2 WHERE id = $1",
	[VIGIL_STMT_DEVICE_SET_DUE] = "UPDATE devices SET due_ms = $2 WHERE id = $1",
	[VIGIL_STMT_DEVICE_EXISTS] = "SELECT 1 FROM devices WHERE id = $1",
	[VIGIL_STMT_ENROLL] =
		"UPDATE devices SET enrolled = TRUE, ek_hash = $2, ek_cert_fingerprint = $3, "
		"ak_public = $4, state = $5, cursor_next = 0, cursor_clock = 0, "
		"cursor_reset_count = 0, cursor_restart_count = 0, cursor_valid = FALSE, "
		"cursor_banks = NULL, due_ms = 0, failures = 0 "
		"WHERE id = $1 AND (NOT enrolled OR ek_hash = $2)",
	[VIGIL_STMT_CHALLENGE_PUT] =
		"INSERT INTO challenges (device, secret_hash, ek_hash, ek_cert_fingerprint, "
		"ak_public, expires_ms) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (device) DO "
		"UPDATE SET secret_hash = excluded.secret_hash, ek_hash = excluded.ek_hash, "
		"ek_cert_fingerprint = excluded.ek_cert_fingerprint, "
		"ak_public = excluded.ak_public, expires_ms = excluded.expires_ms",
	[VIGIL_STMT_CHALLENGE_TAKE] = "DELETE FROM challenges WHERE device = $1 RETURNING "
				      "secret_hash, ek_hash, ek_cert_fingerprint, ak_public, "
				      "expires_ms",
	[VIGIL_STMT_CLAIM] = CLAIM_SQL(""),
	[VIGIL_STMT_CLAIM_LOCKING] = CLAIM_SQL(" FOR UPDATE SKIP LOCKED"),
	[VIGIL_STMT_LEASE] = "UPDATE devices SET lease_owner = $2, lease_until = $3 WHERE id = $1 "
			     "AND (lease_owner IS NULL OR lease_until < $4 OR lease_owner = $2) "
			     "RETURNING " DEVICE_COLUMNS,
	[VIGIL_STMT_RELEASE] = "UPDATE devices SET lease_owner = NULL, lease_until = NULL "
			       "WHERE lease_owner = $1",
	[VIGIL_STMT_RECORD_DEVICE] =
		"UPDATE devices SET state = $5, cursor_next = $6, cursor_clock = $7, "
		"cursor_reset_count = $8, cursor_restart_count = $9, cursor_valid = $10, "
		"cursor_banks = $11, policy_version = $12, seq = $13, due_ms = $14, last_ms = $4, "
		"last_reason = $15, failures = $16 "
		"WHERE id = $1 AND seq = $2 AND lease_owner = $3 AND lease_until >= $4",
	[VIGIL_STMT_RECORD_HISTORY] =
		"INSERT INTO attestations (device, seq, time_ms, state, reason, rec_from, rec_to, "
		"verdict) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	[VIGIL_STMT_RECORD_ALERT] = "INSERT INTO alerts (device, seq, jws, attempts, next_ms) "
				    "VALUES ($1, $2, $3, 0, $4)",
	/* PostgreSQL: data-modifying WITH clauses make the three writes one statement. */
	[VIGIL_STMT_RECORD_ONE] =
		"WITH u AS (UPDATE devices SET state = $5, cursor_next = $6, cursor_clock = $7, "
		"cursor_reset_count = $8, cursor_restart_count = $9, cursor_valid = $10, "
		"cursor_banks = $11, policy_version = $12, seq = $13, due_ms = $14, last_ms = $4, "
		"last_reason = $15, failures = $16 "
		"WHERE id = $1 AND seq = $2 AND lease_owner = $3 AND lease_until >= $4 RETURNING id), "
		"h AS (INSERT INTO attestations (device, seq, time_ms, state, reason, rec_from, "
		"rec_to, verdict) SELECT id, $13, $4, $5, $15, $17, $18, $19 FROM u), "
		"a AS (INSERT INTO alerts (device, seq, jws, attempts, next_ms) "
		"SELECT id, $13, $20, 0, $4 FROM u WHERE $20::text IS NOT NULL) "
		"SELECT count(*) FROM u",
	/* PostgreSQL, a batch: the same for rows given as arrays ($2.. as record_params()' $1..
	 * without the owner), one statement for all of them; the devices updated are returned. */
	[VIGIL_STMT_RECORD_MANY] =
		"WITH v AS (SELECT * FROM unnest($2::text[], $3::bigint[], $4::bigint[], "
		"$5::bigint[], $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], "
		"$10::bigint[], $11::bytea[], $12::bigint[], $13::bigint[], $14::bigint[], "
		"$15::text[], $16::bigint[], $17::bigint[], $18::bigint[], $19::text[], $20::text[]) "
		"AS t(id, seq, time_ms, state, cnext, cclock, creset, crestart, cvalid, cbanks, "
		"pversion, nseq, due_ms, reason, failures, rfrom, rto, verdict, alert)), "
		"u AS (UPDATE devices d SET state = v.state, cursor_next = v.cnext, "
		"cursor_clock = v.cclock, cursor_reset_count = v.creset, "
		"cursor_restart_count = v.crestart, cursor_valid = v.cvalid <> 0, "
		"cursor_banks = v.cbanks, policy_version = v.pversion, seq = v.nseq, "
		"due_ms = v.due_ms, last_ms = v.time_ms, last_reason = v.reason, "
		"failures = v.failures FROM v WHERE d.id = v.id AND d.seq = v.seq AND "
		"d.lease_owner = $1 AND d.lease_until >= v.time_ms RETURNING d.id), "
		"h AS (INSERT INTO attestations (device, seq, time_ms, state, reason, rec_from, "
		"rec_to, verdict) SELECT v.id, v.nseq, v.time_ms, v.state, v.reason, v.rfrom, "
		"v.rto, v.verdict FROM v JOIN u ON u.id = v.id), "
		"a AS (INSERT INTO alerts (device, seq, jws, attempts, next_ms) "
		"SELECT v.id, v.nseq, v.alert, 0, v.time_ms FROM v JOIN u ON u.id = v.id "
		"WHERE v.alert IS NOT NULL) "
		"SELECT id FROM u",
	[VIGIL_STMT_HISTORY] = "SELECT device, seq, time_ms, state, reason, rec_from, rec_to, "
			       "verdict FROM attestations WHERE device = $1 "
			       "ORDER BY seq DESC LIMIT $2",
	[VIGIL_STMT_ALERTS_DUE] = ALERTS_DUE_SQL(""),
	[VIGIL_STMT_ALERTS_DUE_LOCKING] = ALERTS_DUE_SQL(" FOR UPDATE SKIP LOCKED"),
	[VIGIL_STMT_ALERT_DONE] = "DELETE FROM alerts WHERE id = $1",
	[VIGIL_STMT_ALERT_RETRY] =
		"UPDATE alerts SET attempts = attempts + 1, next_ms = $2 WHERE id = $1",
	[VIGIL_STMT_POLICY_PUT] = "INSERT INTO policies (name, version, envelope) VALUES ($1, $2, "
				  "$3) ON CONFLICT (name) DO UPDATE SET version = "
				  "excluded.version, envelope = excluded.envelope",
	[VIGIL_STMT_POLICY_GET] = "SELECT version, envelope FROM policies WHERE name = $1",
};

static struct vigil_sql_value p_int(int64_t i)
{
	return (struct vigil_sql_value){ .type = VIGIL_SQL_INT, .i = i };
}

static struct vigil_sql_value p_text(const char *t)
{
	return (struct vigil_sql_value){ .type = VIGIL_SQL_TEXT, .p = t, .len = strlen(t) };
}

/* A zero-length blob is still a blob, not NULL: both drivers need a non-NULL pointer. */
static struct vigil_sql_value p_blob(const void *p, size_t len)
{
	return (struct vigil_sql_value){ .type = VIGIL_SQL_BLOB, .p = len ? p : "", .len = len };
}

static struct vigil_sql_value p_null(void)
{
	return (struct vigil_sql_value){ .type = VIGIL_SQL_NULL };
}

static int run(struct vigil_store *s, enum vigil_stmt id, const struct vigil_sql_value *params,
	       size_t n, vigil_sql_row_fn fn, void *ctx, uint64_t *ret_changes)
{
	return s->ops->exec(s, id, sql[id], params, n, fn, ctx, ret_changes);
}

/* End a transaction: commit what succeeded, roll back (keeping the first error) what did not. */
static int txn_end(struct vigil_store *s, int r)
{
	if (r < 0) {
		(void)s->ops->rollback(s);
		return r;
	}
	r = s->ops->commit(s);
	if (r < 0)
		(void)s->ops->rollback(s);
	return r;
}

static int col_i64(const struct vigil_sql_value *c, int64_t *ret)
{
	if (c->type == VIGIL_SQL_NULL) {
		*ret = 0;
		return 0;
	}
	if (c->type != VIGIL_SQL_INT)
		return -EBADMSG;
	*ret = c->i;
	return 0;
}

static int col_u64(const struct vigil_sql_value *c, uint64_t *ret)
{
	int64_t v;
	int r = col_i64(c, &v);

	if (r < 0)
		return r;
	*ret = (uint64_t)v;
	return 0;
}

static int col_u32(const struct vigil_sql_value *c, uint32_t *ret)
{
	int64_t v;
	int r = col_i64(c, &v);

	if (r < 0 || v < 0 || v > UINT32_MAX)
		return -EBADMSG;
	*ret = (uint32_t)v;
	return 0;
}

static int col_text(const struct vigil_sql_value *c, char *buf, size_t size)
{
	if (c->type == VIGIL_SQL_NULL) {
		buf[0] = '\0';
		return 0;
	}
	if (c->type != VIGIL_SQL_TEXT || c->len >= size || memchr(c->p, '\0', c->len))
		return -EBADMSG;
	memcpy(buf, c->p, c->len);
	buf[c->len] = '\0';
	return 0;
}

static int col_strdup(const struct vigil_sql_value *c, char **ret)
{
	char *t;

	if (c->type == VIGIL_SQL_NULL) {
		*ret = NULL;
		return 0;
	}
	if (c->type != VIGIL_SQL_TEXT || memchr(c->p, '\0', c->len))
		return -EBADMSG;
	t = strndup(c->p, c->len);
	if (!t)
		return -ENOMEM;
	*ret = t;
	return 0;
}

/* A variable-length blob of at most @size bytes; NULL reads as empty. */
static int col_blob(const struct vigil_sql_value *c, uint8_t *buf, size_t size, size_t *ret_len)
{
	if (c->type == VIGIL_SQL_NULL) {
		*ret_len = 0;
		return 0;
	}
	if (c->type != VIGIL_SQL_BLOB || c->len > size)
		return -EBADMSG;
	memcpy(buf, c->p, c->len);
	*ret_len = c->len;
	return 0;
}

/* A digest column: exactly 32 bytes, or NULL (all zeros). */
static int col_digest(const struct vigil_sql_value *c, uint8_t buf[32])
{
	size_t len;
	int r = col_blob(c, buf, 32, &len);

	if (r < 0)
		return r;
	if (len == 0)
		memset(buf, 0, 32);
	else if (len != 32)
		return -EBADMSG;
	return 0;
}

static int col_enum(const struct vigil_sql_value *c, int max, int *ret)
{
	int64_t v;

	if (col_i64(c, &v) < 0 || v < 0 || v > max)
		return -EBADMSG;
	*ret = (int)v;
	return 0;
}

static int cursor_from_row(const struct vigil_sql_value *c, struct vigil_cursor *cur)
{
	uint8_t banks[VIGIL_STORE_BANKS_BLOB_MAX];
	int64_t valid;
	size_t len;

	if (col_u64(&c[10], &cur->next) < 0 || col_u64(&c[11], &cur->clock.clock) < 0 ||
	    col_u32(&c[12], &cur->clock.reset_count) < 0 ||
	    col_u32(&c[13], &cur->clock.restart_count) < 0 || col_i64(&c[14], &valid) < 0 ||
	    col_blob(&c[15], banks, sizeof(banks), &len) < 0)
		return -EBADMSG;
	cur->valid = valid != 0;
	return vigil_store_banks_decode(banks, len, cur);
}

static int device_from_row(const struct vigil_sql_value *c, size_t n, struct vigil_device *d)
{
	int mode, state;
	int64_t enrolled;

	memset(d, 0, sizeof(*d));
	if (n != DEVICE_NCOLS || col_text(&c[0], d->id, sizeof(d->id)) < 0 ||
	    col_enum(&c[1], VIGIL_MODE_PULL, &mode) < 0 ||
	    col_text(&c[2], d->address, sizeof(d->address)) < 0 ||
	    col_text(&c[3], d->policy, sizeof(d->policy)) < 0 ||
	    col_u32(&c[4], &d->interval_ms) < 0 ||
	    col_enum(&c[5], VIGIL_DEVICE_MISSED, &state) < 0 || col_i64(&c[6], &enrolled) < 0 ||
	    col_digest(&c[7], d->ek_hash) < 0 || col_digest(&c[8], d->ek_cert_fingerprint) < 0 ||
	    col_blob(&c[9], d->ak_public, sizeof(d->ak_public), &d->ak_public_len) < 0 ||
	    cursor_from_row(c, &d->cursor) < 0 || col_u64(&c[16], &d->policy_version) < 0 ||
	    col_u64(&c[17], &d->seq) < 0 || col_i64(&c[18], &d->due_ms) < 0 ||
	    col_i64(&c[19], &d->last_ms) < 0 ||
	    col_text(&c[20], d->last_reason, sizeof(d->last_reason)) < 0 ||
	    col_u32(&c[21], &d->failures) < 0)
		return -EBADMSG;
	d->mode = (enum vigil_device_mode)mode;
	d->state = (enum vigil_device_state)state;
	d->enrolled = enrolled != 0;
	return 0;
}

/* Rows of devices collected into a growing array (list, claim). */
struct devices_ctx {
	struct vigil_device *v;
	size_t count;
	size_t cap;
};

static int device_collect(void *ctx, const struct vigil_sql_value *cols, size_t ncols)
{
	struct devices_ctx *dc = ctx;

	if (dc->count == dc->cap) {
		size_t cap = dc->cap ? dc->cap * 2 : 16;
		struct vigil_device *v = reallocarray(dc->v, cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		dc->v = v;
		dc->cap = cap;
	}
	if (device_from_row(cols, ncols, &dc->v[dc->count]) < 0)
		return -EBADMSG;
	dc->count++;
	return 0;
}

static int device_one(void *ctx, const struct vigil_sql_value *cols, size_t ncols)
{
	return device_from_row(cols, ncols, ctx);
}

/* The device read, or -ENOENT: a single-row SELECT's callback fills @found. */
struct one_ctx {
	struct vigil_device d;
	bool found;
};

static int device_found(void *ctx, const struct vigil_sql_value *cols, size_t ncols)
{
	struct one_ctx *oc = ctx;
	int r = device_one(&oc->d, cols, ncols);

	if (r >= 0)
		oc->found = true;
	return r;
}

static int found_row(void *ctx, const struct vigil_sql_value *cols, size_t ncols)
{
	(void)cols;
	(void)ncols;
	*(bool *)ctx = true;
	return 0;
}

static int first_i64(void *ctx, const struct vigil_sql_value *cols, size_t ncols)
{
	if (ncols < 1)
		return -EBADMSG;
	return col_i64(&cols[0], ctx);
}

static int device_exists(struct vigil_store *s, const char *id)
{
	struct vigil_sql_value p[] = { p_text(id) };
	bool found = false;
	int r = run(s, VIGIL_STMT_DEVICE_EXISTS, p, 1, found_row, &found, NULL);

	if (r < 0)
		return r;
	return found ? 1 : 0;
}

/**
 * vigil_store_schema_version() - the schema version of an open store
 * @s: the store
 * @ret: on success, the version (VIGIL_STORE_SCHEMA_VERSION once opened)
 *
 * Return: 0, -EIO.
 */
int vigil_store_schema_version(struct vigil_store *s, int *ret)
{
	int64_t v = 0;
	int r;

	r = run(s, VIGIL_STMT_SCHEMA_VERSION, NULL, 0, first_i64, &v, NULL);
	if (r < 0)
		return r;
	if (v < 0 || v > 1000000)
		return -EBADMSG;
	*ret = (int)v;
	return 0;
}

#define SCHEMA_TABLE "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY)"

/* One migration step in its own transaction, under the backend's migration lock. */
static int migrate_step(struct vigil_store *s, bool *ret_done)
{
	size_t count = s->ops->migration_count;
	int64_t v = 0;
	int r;

	r = s->ops->begin(s);
	if (r < 0)
		return r;
	if (s->ops->lock)
		r = s->ops->lock(s);
	if (r >= 0)
		r = s->ops->script(s, SCHEMA_TABLE);
	if (r >= 0)
		r = run(s, VIGIL_STMT_SCHEMA_VERSION, NULL, 0, first_i64, &v, NULL);
	if (r >= 0 && (v < 0 || (uint64_t)v > count)) {
		vigil_store_set_error(
			s, "database schema version %lld is newer than %zu (this build's)",
			(long long)v, count);
		r = -EPROTO;
	}
	if (r >= 0 && (size_t)v < count) {
		struct vigil_sql_value p[] = { p_int(v + 1) };

		r = s->ops->script(s, s->ops->migrations[v]);
		if (r >= 0)
			r = run(s, VIGIL_STMT_SCHEMA_SET, p, 1, NULL, NULL, NULL);
	}
	r = txn_end(s, r);
	if (r >= 0)
		*ret_done = (size_t)v == count;
	return r;
}

/**
 * vigil_store_migrate() - bring an open database's schema to this build's version
 * @s: the store, connected
 *
 * Return: 0; -EPROTO (the schema is newer than this build: nothing is written); -EIO.
 */
int vigil_store_migrate(struct vigil_store *s)
{
	bool done = false;
	size_t i;
	int r;

	for (i = 0; i <= s->ops->migration_count && !done; i++) {
		r = migrate_step(s, &done);
		if (r < 0)
			return r;
	}
	return done ? 0 : -EIO;
}

static int id_check(const char *id)
{
	return vigil_device_id_valid(id) ? 0 : -EINVAL;
}

static int owner_check(const char *owner)
{
	if (!owner || !owner[0])
		return -EINVAL;
	return vigil_store_text_check(owner, VIGIL_OWNER_MAX);
}

/**
 * vigil_store_device_add() - add a device
 * @s: the store
 * @d: the device, written as it is (an enrolled one keeps its EK binding); no lease
 *
 * Return: 0; -EEXIST (the id, or an enrolled device's EK, is taken); -EINVAL, -E2BIG
 * (vigil_store_device_check()); -EIO.
 */
int vigil_store_device_add(struct vigil_store *s, const struct vigil_device *d)
{
	uint8_t banks[VIGIL_STORE_BANKS_BLOB_MAX];
	size_t blen;
	int r;

	r = vigil_store_device_check(d);
	if (r >= 0)
		r = vigil_store_banks_encode(&d->cursor, banks, sizeof(banks), &blen);
	if (r < 0)
		return r;
	const struct vigil_sql_value p[DEVICE_NCOLS] = {
		p_text(d->id),
		p_int(d->mode),
		p_text(d->address),
		p_text(d->policy),
		p_int(d->interval_ms),
		p_int(d->state),
		p_int(d->enrolled),
		d->enrolled ? p_blob(d->ek_hash, 32) : p_null(),
		d->enrolled ? p_blob(d->ek_cert_fingerprint, 32) : p_null(),
		d->ak_public_len ? p_blob(d->ak_public, d->ak_public_len) : p_null(),
		p_int((int64_t)d->cursor.next),
		p_int((int64_t)d->cursor.clock.clock),
		p_int(d->cursor.clock.reset_count),
		p_int(d->cursor.clock.restart_count),
		p_int(d->cursor.valid),
		blen ? p_blob(banks, blen) : p_null(),
		p_int((int64_t)d->policy_version),
		p_int((int64_t)d->seq),
		p_int(d->due_ms),
		p_int(d->last_ms),
		p_text(d->last_reason),
		p_int(d->failures),
	};
	return run(s, VIGIL_STMT_DEVICE_ADD, p, DEVICE_NCOLS, NULL, NULL, NULL);
}

/**
 * vigil_store_device_get() - read one device
 * @s: the store
 * @id: its id
 * @ret: on success, the device as stored
 *
 * Return: 0; -ENOENT; -EINVAL (not a valid id); -EBADMSG (a row out of bounds); -EIO.
 */
int vigil_store_device_get(struct vigil_store *s, const char *id, struct vigil_device *ret)
{
	struct vigil_sql_value p[1];
	struct one_ctx oc = { .found = false };
	int r = id_check(id);

	if (r < 0)
		return r;
	p[0] = p_text(id);
	r = run(s, VIGIL_STMT_DEVICE_GET, p, 1, device_found, &oc, NULL);
	if (r < 0)
		return r;
	if (!oc.found)
		return -ENOENT;
	*ret = oc.d;
	return 0;
}

static int list(struct vigil_store *s, enum vigil_stmt id, const struct vigil_sql_value *p,
		size_t n, struct vigil_device **ret, size_t *ret_count)
{
	struct devices_ctx dc = { 0 };
	int r = run(s, id, p, n, device_collect, &dc, NULL);

	if (r < 0) {
		free(dc.v);
		return r;
	}
	*ret = dc.v;
	*ret_count = dc.count;
	return 0;
}

/**
 * vigil_store_device_list() - read every device, ordered by id
 * @s: the store
 * @ret: on success, the devices (free()), NULL when there are none
 * @ret_count: on success, how many
 *
 * Return: 0; -EBADMSG; -ENOMEM; -EIO.
 */
int vigil_store_device_list(struct vigil_store *s, struct vigil_device **ret, size_t *ret_count)
{
	return list(s, VIGIL_STMT_DEVICE_LIST, NULL, 0, ret, ret_count);
}

/**
 * vigil_store_device_list_unenrolled() - the devices of one mode not enrolled yet, by id, that
 *	@owner could lease at @now_ms (free, expired, or its own)
 * @s: the store
 * @owner: the process asking
 * @mode: push or pull
 * @now_ms: the time of the question
 * @max: at most this many
 * @ret: on success, the devices (free()), NULL when there are none
 * @ret_count: on success, how many
 *
 * What verifierd's pull enrollment looks for, without reading the whole fleet; devices another
 * verifierd is enrolling do not use up @max.
 *
 * Return: 0; -EINVAL; -EBADMSG; -ENOMEM; -EIO.
 */
int vigil_store_device_list_unenrolled(struct vigil_store *s, const char *owner,
				       enum vigil_device_mode mode, int64_t now_ms, size_t max,
				       struct vigil_device **ret, size_t *ret_count)
{
	const struct vigil_sql_value p[] = { p_int(mode), p_int(now_ms), p_text(owner ? owner : ""),
					     p_int((int64_t)max) };

	if (owner_check(owner) < 0 || max > INT64_MAX ||
	    (mode != VIGIL_MODE_PUSH && mode != VIGIL_MODE_PULL))
		return -EINVAL;
	return list(s, VIGIL_STMT_DEVICE_LIST_UNENROLLED, p, 4, ret, ret_count);
}

/* Run a statement on one row named by its first parameter: -ENOENT if it changed none. */
static int run_one(struct vigil_store *s, enum vigil_stmt id, const struct vigil_sql_value *p,
		   size_t n)
{
	uint64_t changes = 0;
	int r = run(s, id, p, n, NULL, NULL, &changes);

	if (r < 0)
		return r;
	return changes ? 0 : -ENOENT;
}

/**
 * vigil_store_device_remove() - remove a device with its history, alerts and challenge
 * @s: the store
 * @id: its id
 *
 * Return: 0; -ENOENT; -EINVAL; -EIO.
 */
int vigil_store_device_remove(struct vigil_store *s, const char *id)
{
	struct vigil_sql_value p[1];
	int r = id_check(id);

	if (r < 0)
		return r;
	p[0] = p_text(id);
	return run_one(s, VIGIL_STMT_DEVICE_REMOVE, p, 1);
}

/**
 * vigil_store_device_set_policy() - name the policy a device is verified against
 * @s: the store
 * @id: its id
 * @policy: the policy's name, "" for none; another name than before resets the device's
 *	policy_version (anti-rollback is per name)
 *
 * Return: 0; -ENOENT; -EINVAL; -E2BIG (longer than VIGIL_POLICY_NAME_MAX); -EIO.
 */
int vigil_store_device_set_policy(struct vigil_store *s, const char *id, const char *policy)
{
	struct vigil_sql_value p[2];
	int r = id_check(id);

	if (r >= 0 && !policy)
		r = -EINVAL;
	if (r >= 0)
		r = vigil_store_text_check(policy, sizeof(((struct vigil_device *)0)->policy) - 1);
	if (r < 0)
		return r;
	p[0] = p_text(id);
	p[1] = p_text(policy);
	return run_one(s, VIGIL_STMT_DEVICE_SET_POLICY, p, 2);
}

/**
 * vigil_store_device_set_due() - when a device's next attestation is due (or, in push mode,
 * overdue): e.g. one interval after its enrollment, so it is not missed before it could attest
 * @s: the store
 * @id: its id
 * @due_ms: the time, ms since the epoch
 *
 * Return: 0; -ENOENT; -EINVAL; -EIO.
 */
int vigil_store_device_set_due(struct vigil_store *s, const char *id, int64_t due_ms)
{
	struct vigil_sql_value p[2];
	int r = id_check(id);

	if (r < 0)
		return r;
	p[0] = p_text(id);
	p[1] = p_int(due_ms);
	return run_one(s, VIGIL_STMT_DEVICE_SET_DUE, p, 2);
}

/**
 * vigil_store_enroll() - bind a registered device to its EK and AK (store.h)
 * @s: the store
 * @id: the device
 * @ek_hash: SHA-256 of its EK public area
 * @ek_cert_fingerprint: SHA-256 of its EK certificate
 * @ak_public: its AK public area, marshalled TPM2B_PUBLIC
 * @ak_public_len: its length, 1..sizeof(TPM2B_PUBLIC)
 *
 * One conditional UPDATE: it binds only a device that is unbound or bound to the same EK, and
 * resets the cursor, the failure count and the due time (due at once), state ENROLLED.
 *
 * Return: 0; -ENOENT; -EEXIST (another device has this EK); -EPERM (@id has another EK);
 * -EINVAL; -EIO.
 */
int vigil_store_enroll(struct vigil_store *s, const char *id, const uint8_t ek_hash[32],
		       const uint8_t ek_cert_fingerprint[32], const uint8_t *ak_public,
		       size_t ak_public_len)
{
	struct vigil_sql_value p[5];
	uint64_t changes = 0;
	int r = id_check(id);

	if (r < 0 || !ak_public_len || ak_public_len > sizeof(TPM2B_PUBLIC))
		return -EINVAL;
	p[0] = p_text(id);
	p[1] = p_blob(ek_hash, 32);
	p[2] = p_blob(ek_cert_fingerprint, 32);
	p[3] = p_blob(ak_public, ak_public_len);
	p[4] = p_int(VIGIL_DEVICE_ENROLLED);
	r = run(s, VIGIL_STMT_ENROLL, p, 5, NULL, NULL, &changes);
	if (r < 0 || changes)
		return r;
	r = device_exists(s, id);
	if (r < 0)
		return r;
	return r ? -EPERM : -ENOENT;
}

/**
 * vigil_store_challenge_put() - keep an enrollment challenge, replacing any earlier one
 * @s: the store
 * @id: the device
 * @secret_hash: SHA-256 of the credential's secret
 * @ek_hash: the EK it was made for
 * @ek_cert_fingerprint: SHA-256 of that EK's certificate
 * @ak_public: the AK it was made for, marshalled TPM2B_PUBLIC
 * @ak_public_len: its length, 1..sizeof(TPM2B_PUBLIC)
 * @expires_ms: the last moment it may be taken
 *
 * Return: 0; -ENOENT (no such device); -EINVAL; -EIO.
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the interface store.h fixes */
int vigil_store_challenge_put(struct vigil_store *s, const char *id, const uint8_t secret_hash[32],
			      const uint8_t ek_hash[32], const uint8_t ek_cert_fingerprint[32],
			      const uint8_t *ak_public, size_t ak_public_len, int64_t expires_ms)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	struct vigil_sql_value p[6];
	int r = id_check(id);

	if (r < 0 || !ak_public_len || ak_public_len > sizeof(TPM2B_PUBLIC))
		return -EINVAL;
	p[0] = p_text(id);
	p[1] = p_blob(secret_hash, 32);
	p[2] = p_blob(ek_hash, 32);
	p[3] = p_blob(ek_cert_fingerprint, 32);
	p[4] = p_blob(ak_public, ak_public_len);
	p[5] = p_int(expires_ms);
	return run(s, VIGIL_STMT_CHALLENGE_PUT, p, 6, NULL, NULL, NULL);
}

struct challenge_ctx {
	uint8_t secret_hash[32];
	uint8_t ek_hash[32];
	uint8_t ek_cert_fingerprint[32];
	uint8_t ak_public[sizeof(TPM2B_PUBLIC)];
	size_t ak_public_len;
	int64_t expires_ms;
	bool found;
};

static int challenge_row(void *ctx, const struct vigil_sql_value *c, size_t n)
{
	struct challenge_ctx *cc = ctx;

	if (n != 5 || c[0].type != VIGIL_SQL_BLOB || c[1].type != VIGIL_SQL_BLOB ||
	    col_digest(&c[0], cc->secret_hash) < 0 || col_digest(&c[1], cc->ek_hash) < 0 ||
	    col_digest(&c[2], cc->ek_cert_fingerprint) < 0 ||
	    col_blob(&c[3], cc->ak_public, sizeof(cc->ak_public), &cc->ak_public_len) < 0 ||
	    col_i64(&c[4], &cc->expires_ms) < 0)
		return -EBADMSG;
	cc->found = true;
	return 0;
}

/**
 * vigil_store_challenge_take() - take (and delete) a device's enrollment challenge
 * @s: the store
 * @id: the device
 * @now_ms: the time now; a challenge whose expires_ms is before it is deleted unanswered
 * @ret_secret_hash: on success, SHA-256 of the secret (compare with CRYPTO_memcmp())
 * @ret_ek_hash: on success, the EK it was made for
 * @ret_ek_cert_fingerprint: on success, SHA-256 of that EK's certificate
 * @ret_ak_public: on success, the AK it was made for (room for sizeof(TPM2B_PUBLIC) bytes)
 * @ret_ak_public_len: on success, its length
 *
 * Return: 0; -ENOENT (none, already taken, or expired); -EINVAL; -EIO.
 */
int vigil_store_challenge_take(struct vigil_store *s, const char *id, int64_t now_ms,
			       uint8_t ret_secret_hash[32], uint8_t ret_ek_hash[32],
			       uint8_t ret_ek_cert_fingerprint[32], uint8_t *ret_ak_public,
			       size_t *ret_ak_public_len)
{
	struct challenge_ctx cc = { .found = false };
	struct vigil_sql_value p[1];
	int r = id_check(id);

	if (r < 0)
		return r;
	p[0] = p_text(id);
	r = run(s, VIGIL_STMT_CHALLENGE_TAKE, p, 1, challenge_row, &cc, NULL);
	if (r >= 0 && (!cc.found || cc.expires_ms < now_ms))
		r = -ENOENT;
	if (r >= 0) {
		memcpy(ret_secret_hash, cc.secret_hash, 32);
		memcpy(ret_ek_hash, cc.ek_hash, 32);
		memcpy(ret_ek_cert_fingerprint, cc.ek_cert_fingerprint, 32);
		memcpy(ret_ak_public, cc.ak_public, cc.ak_public_len);
		*ret_ak_public_len = cc.ak_public_len;
	}
	OPENSSL_cleanse(&cc, sizeof(cc));
	return r;
}

static int lease_check(const char *owner, int64_t now_ms, int64_t lease_ms)
{
	int r = owner_check(owner);

	if (r < 0)
		return r;
	if (lease_ms <= 0 || now_ms > INT64_MAX - lease_ms)
		return -EINVAL;
	return 0;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort()'s comparison function */
static int by_due(const void *a, const void *b)
{
	const struct vigil_device *x = a, *y = b;

	if (x->due_ms != y->due_ms)
		return x->due_ms < y->due_ms ? -1 : 1;
	return strcmp(x->id, y->id);
}

/**
 * vigil_store_claim() - lease up to @max enrolled devices due at @now_ms (store.h)
 * @s: the store
 * @owner: the claiming process, 1..VIGIL_OWNER_MAX characters
 * @mode: only devices of this mode
 * @now_ms: the time now
 * @lease_ms: how long the lease lasts, > 0
 * @max: at most this many devices (0: none)
 * @ret: on success, the devices as stored (free()), ordered by due time; NULL if none
 * @ret_count: on success, how many
 *
 * PostgreSQL: one UPDATE whose subquery locks candidate rows with FOR UPDATE SKIP LOCKED, so
 * concurrent claimers get disjoint sets without waiting for each other. SQLite: the same
 * UPDATE inside BEGIN IMMEDIATE (writers are serialised).
 *
 * Return: 0; -EINVAL; -E2BIG (@owner too long); -EBADMSG; -ENOMEM; -EIO.
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the interface store.h fixes */
int vigil_store_claim(struct vigil_store *s, const char *owner, enum vigil_device_mode mode,
		      int64_t now_ms, int64_t lease_ms, size_t max, struct vigil_device **ret,
		      size_t *ret_count)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	enum vigil_stmt id = s->ops->row_locks ? VIGIL_STMT_CLAIM_LOCKING : VIGIL_STMT_CLAIM;
	struct devices_ctx dc = { 0 };
	struct vigil_sql_value p[5];
	int r = lease_check(owner, now_ms, lease_ms);

	if (r >= 0 && mode != VIGIL_MODE_PUSH && mode != VIGIL_MODE_PULL)
		r = -EINVAL;
	if (r < 0)
		return r;
	p[0] = p_text(owner);
	p[1] = p_int(now_ms + lease_ms);
	p[2] = p_int(mode);
	p[3] = p_int(now_ms);
	p[4] = p_int(max > INT32_MAX ? INT32_MAX : (int64_t)max);
	r = s->ops->row_locks ? 0 : s->ops->begin(s);
	if (r >= 0)
		r = run(s, id, p, 5, device_collect, &dc, NULL);
	if (!s->ops->row_locks)
		r = txn_end(s, r);
	if (r < 0) {
		free(dc.v);
		return r;
	}
	if (dc.count > 1)
		qsort(dc.v, dc.count, sizeof(*dc.v), by_due);
	*ret = dc.v;
	*ret_count = dc.count;
	return 0;
}

/**
 * vigil_store_lease() - lease one device for @owner (store.h)
 * @s: the store
 * @id: the device
 * @owner: the leasing process
 * @now_ms: the time now
 * @lease_ms: how long the lease lasts, > 0
 * @ret: on success, the device as stored
 *
 * Return: 0; -ENOENT; -EBUSY (another owner's lease is unexpired); -EINVAL; -E2BIG; -EIO.
 */
int vigil_store_lease(struct vigil_store *s, const char *id, const char *owner, int64_t now_ms,
		      int64_t lease_ms, struct vigil_device *ret)
{
	struct one_ctx oc = { .found = false };
	struct vigil_sql_value p[4];
	int r = lease_check(owner, now_ms, lease_ms);

	if (r >= 0)
		r = id_check(id);
	if (r < 0)
		return r;
	p[0] = p_text(id);
	p[1] = p_text(owner);
	p[2] = p_int(now_ms + lease_ms);
	p[3] = p_int(now_ms);
	r = run(s, VIGIL_STMT_LEASE, p, 4, device_found, &oc, NULL);
	if (r < 0)
		return r;
	if (!oc.found) {
		r = device_exists(s, id);
		if (r < 0)
			return r;
		return r ? -EBUSY : -ENOENT;
	}
	*ret = oc.d;
	return 0;
}

/**
 * vigil_store_release() - give up every lease @owner holds (a clean shutdown)
 * @s: the store
 * @owner: the process
 *
 * Return: 0; -EINVAL; -E2BIG; -EIO.
 */
int vigil_store_release(struct vigil_store *s, const char *owner)
{
	struct vigil_sql_value p[1];
	int r = owner_check(owner);

	if (r < 0)
		return r;
	p[0] = p_text(owner);
	return run(s, VIGIL_STMT_RELEASE, p, 1, NULL, NULL, NULL);
}

static int record_check(const char *owner, const struct vigil_device *d,
			const struct vigil_attestation *a, const char *alert_jws)
{
	int r = owner_check(owner);

	if (r >= 0)
		r = vigil_store_device_check(d);
	if (r < 0)
		return r;
	if (a->seq != d->seq + 1 || strncmp(a->device, d->id, sizeof(a->device)) != 0 ||
	    (unsigned int)a->state > VIGIL_DEVICE_MISSED)
		return -EINVAL;
	if (vigil_store_text_check(a->reason, sizeof(a->reason) - 1) < 0 ||
	    vigil_store_text_check(a->verdict, VIGIL_STORE_TEXT_MAX) < 0 ||
	    vigil_store_text_check(alert_jws, VIGIL_STORE_TEXT_MAX) < 0)
		return -E2BIG;
	return 0;
}

/*
 * The record's parameters: $1..$16 the device row's update (conditional on lease and sequence),
 * $17..$19 the rest of the history row, $20 the alert; each statement takes what it needs.
 */
#define RECORD_NPARAMS 20
#define RECORD_DEVICE_NPARAMS 16

static void record_params(const char *owner, const struct vigil_device *d,
			  const struct vigil_attestation *a, const uint8_t *banks, size_t blen,
			  const char *alert_jws, struct vigil_sql_value p[RECORD_NPARAMS])
{
	const struct vigil_sql_value v[RECORD_NPARAMS] = {
		p_text(d->id),
		p_int((int64_t)d->seq),
		p_text(owner),
		p_int(a->time_ms),
		p_int(a->state),
		p_int((int64_t)d->cursor.next),
		p_int((int64_t)d->cursor.clock.clock),
		p_int(d->cursor.clock.reset_count),
		p_int(d->cursor.clock.restart_count),
		p_int(d->cursor.valid),
		blen ? p_blob(banks, blen) : p_null(),
		p_int((int64_t)d->policy_version),
		p_int((int64_t)a->seq),
		p_int(d->due_ms),
		p_text(a->reason),
		p_int(d->failures),
		p_int((int64_t)a->from),
		p_int((int64_t)a->to),
		a->verdict ? p_text(a->verdict) : p_null(),
		alert_jws ? p_text(alert_jws) : p_null(),
	};

	memcpy(p, v, sizeof(v));
}

/* record_params() with the cursor's banks encoded into @banks, which p[10] points into. */
static int record_prepare(const char *owner, const struct vigil_store_rec *rec,
			  uint8_t banks[VIGIL_STORE_BANKS_BLOB_MAX],
			  struct vigil_sql_value p[RECORD_NPARAMS])
{
	size_t blen = 0;
	int r = vigil_store_banks_encode(&rec->d->cursor, banks, VIGIL_STORE_BANKS_BLOB_MAX, &blen);

	if (r == 0)
		record_params(owner, rec->d, rec->a, banks, blen, rec->alert_jws, p);
	return r;
}

/* Up to three statements in the caller's transaction; -ESTALE when the device row's update
 * changed none (and nothing else ran). */
static int record_stmts(struct vigil_store *s, const struct vigil_sql_value *p)
{
	uint64_t changes = 0;
	int r = run(s, VIGIL_STMT_RECORD_DEVICE, p, RECORD_DEVICE_NPARAMS, NULL, NULL, &changes);

	if (r >= 0 && !changes)
		r = -ESTALE;
	if (r >= 0) {
		const struct vigil_sql_value h[] = { p[0],  p[12], p[3],  p[4],
						     p[14], p[16], p[17], p[18] };

		r = run(s, VIGIL_STMT_RECORD_HISTORY, h, sizeof(h) / sizeof(h[0]), NULL, NULL,
			NULL);
	}
	if (r >= 0 && p[19].type != VIGIL_SQL_NULL) {
		const struct vigil_sql_value al[] = { p[0], p[12], p[19], p[3] };

		r = run(s, VIGIL_STMT_RECORD_ALERT, al, sizeof(al) / sizeof(al[0]), NULL, NULL,
			NULL);
	}
	return r;
}

/* The same as one statement (PostgreSQL): one round trip, all rows or none. */
static int record_one(struct vigil_store *s, const struct vigil_sql_value *p)
{
	int64_t updated = 0;
	int r = run(s, VIGIL_STMT_RECORD_ONE, p, RECORD_NPARAMS, first_i64, &updated, NULL);

	if (r < 0)
		return r;
	return updated ? 0 : -ESTALE;
}

/* A transaction of its own (PostgreSQL's one statement needs none). -ESTALE writes nothing. */
static int record_txn(struct vigil_store *s, const struct vigil_sql_value *p)
{
	int r;

	if (s->ops->row_locks)
		return record_one(s, p);
	r = s->ops->begin(s);
	if (r < 0)
		return r;
	return txn_end(s, record_stmts(s, p));
}

/**
 * vigil_store_record() - record one attestation outcome, atomically (store.h)
 * @s: the store
 * @owner: the process that holds @d's lease
 * @d: the device as read with its lease, carrying the new state (cursor, policy_version,
 *	due_ms, failures); d->seq is the sequence number read
 * @a: the history row: a->seq == d->seq + 1, a->device == d->id; a->time_ms is "now" for
 *	the lease check and becomes the device's last_ms; a->state and a->reason become the
 *	device's state and last_reason
 * @alert_jws: an alert to queue (due at a->time_ms), or NULL
 *
 * Return: 0; -ESTALE (lease lost or expired, or the device moved on: nothing written);
 * -EINVAL; -E2BIG (a string beyond its bound, the verdict or alert beyond
 * VIGIL_STORE_TEXT_MAX); -EEXIST (a->seq already in the history); -EIO.
 */
int vigil_store_record(struct vigil_store *s, const char *owner, const struct vigil_device *d,
		       const struct vigil_attestation *a, const char *alert_jws)
{
	const struct vigil_store_rec rec = { d, a, alert_jws };
	uint8_t banks[VIGIL_STORE_BANKS_BLOB_MAX];
	struct vigil_sql_value p[RECORD_NPARAMS];
	int r = record_check(owner, d, a, alert_jws);

	if (r == 0)
		r = record_prepare(owner, &rec, banks, p);
	return r < 0 ? r : record_txn(s, p);
}

/* The type of each of record_params()' parameters; $3 (the owner) is not per row. */
static const enum vigil_sql_type record_types[RECORD_NPARAMS] = {
	VIGIL_SQL_TEXT, VIGIL_SQL_INT, VIGIL_SQL_TEXT, VIGIL_SQL_INT,  VIGIL_SQL_INT,
	VIGIL_SQL_INT,	VIGIL_SQL_INT, VIGIL_SQL_INT,  VIGIL_SQL_INT,  VIGIL_SQL_INT,
	VIGIL_SQL_BLOB, VIGIL_SQL_INT, VIGIL_SQL_INT,  VIGIL_SQL_INT,  VIGIL_SQL_TEXT,
	VIGIL_SQL_INT,	VIGIL_SQL_INT, VIGIL_SQL_INT,  VIGIL_SQL_TEXT, VIGIL_SQL_TEXT,
};

struct many_ctx {
	const struct vigil_store_rec *recs;
	size_t n;
	int *ret;
};

/* A device the batch's statement updated: its outcome is recorded. */
static int many_updated(void *arg, const struct vigil_sql_value *c, size_t ncols)
{
	struct many_ctx *m = arg;

	if (ncols != 1 || c[0].type != VIGIL_SQL_TEXT)
		return -EBADMSG;
	for (size_t i = 0; i < m->n; i++)
		if (m->ret[i] == -ESTALE && !strcmp(m->recs[i].d->id, c[0].p)) {
			m->ret[i] = 0;
			return 0;
		}
	return -EBADMSG;
}

/* The rows' parameters as arrays, one statement (VIGIL_STMT_RECORD_MANY) for all. */
static int record_arrays(struct vigil_store *s, const char *owner,
			 const struct vigil_store_rec *recs, size_t n, int *ret)
{
	_cleanup_free_ struct vigil_sql_value(*rows)[RECORD_NPARAMS] = calloc(n, sizeof(*rows));
	_cleanup_free_ uint8_t(*banks)[VIGIL_STORE_BANKS_BLOB_MAX] = calloc(n, sizeof(*banks));
	struct vigil_sql_value params[RECORD_NPARAMS] = { p_text(owner) };
	uint8_t *arrays[RECORD_NPARAMS] = { 0 };
	struct many_ctx m = { recs, n, ret };
	size_t k = 0, len;
	int r = rows && banks ? 0 : -ENOMEM;

	for (size_t i = 0; r == 0 && i < n; i++) {
		if (ret[i] < 0)
			continue;
		r = record_prepare(owner, &recs[i], banks[k], rows[k]);
		k++;
		ret[i] = -ESTALE; /* until the statement returns the device */
	}
	for (size_t c = 0, j = 1; r == 0 && c < RECORD_NPARAMS; c++) {
		if (c == 2)
			continue;
		r = s->ops->array(record_types[c], &rows[0][c], k, RECORD_NPARAMS, &arrays[j],
				  &len);
		if (r == 0)
			params[j] = p_blob(arrays[j], len);
		j++;
	}
	if (r == 0)
		r = run(s, VIGIL_STMT_RECORD_MANY, params, RECORD_NPARAMS, many_updated, &m, NULL);
	for (size_t j = 0; j < RECORD_NPARAMS; j++)
		free(arrays[j]);
	return r;
}

/* The outcomes that passed their checks, in one transaction; a negative errno rolls all back. */
static int record_batch(struct vigil_store *s, const char *owner,
			const struct vigil_store_rec *recs, size_t n, int *ret)
{
	uint8_t banks[VIGIL_STORE_BANKS_BLOB_MAX];
	struct vigil_sql_value p[RECORD_NPARAMS];
	int r;

	if (s->ops->array)
		return record_arrays(s, owner, recs, n, ret);
	r = s->ops->begin(s);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (ret[i] < 0)
			continue;
		r = record_prepare(owner, &recs[i], banks, p);
		if (r < 0)
			break;
		r = record_stmts(s, p);
		ret[i] = r == -ESTALE ? -ESTALE : 0;
		if (r == -ESTALE)
			r = 0;
	}
	return txn_end(s, r);
}

/**
 * vigil_store_record_many() - record several attestation outcomes with one commit (store.h)
 * @s: the store
 * @owner: the process that holds the devices' leases
 * @recs: the outcomes, each as vigil_store_record() takes them (distinct devices)
 * @n: how many
 * @ret: for each, what vigil_store_record() would have returned for it
 *
 * One transaction for all of them: the cost of a commit (a WAL write, a synchronous commit on
 * PostgreSQL) is paid once per batch, not per verdict. An outcome that fails its checks, or
 * finds its lease lost (-ESTALE), writes nothing and does not stop the others. If the batch
 * fails as a whole (a database error), each outcome is tried again on its own, so one
 * outcome the database refuses loses no other.
 *
 * Return: 0 (the outcomes are in @ret), or -EINVAL (an outcome without device or history row:
 * nothing written).
 */
int vigil_store_record_many(struct vigil_store *s, const char *owner,
			    const struct vigil_store_rec *recs, size_t n, int *ret)
{
	bool any = false;

	if (!s || !owner || (n && (!recs || !ret)))
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!recs[i].d || !recs[i].a)
			return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		ret[i] = record_check(owner, recs[i].d, recs[i].a, recs[i].alert_jws);
		for (size_t j = 0; ret[i] == 0 && j < i; j++)
			if (ret[j] == 0 && !strcmp(recs[j].d->id, recs[i].d->id))
				ret[i] = -EINVAL; /* one outcome per device and batch */
		any |= ret[i] == 0;
	}
	if (!any || record_batch(s, owner, recs, n, ret) == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ret[i] == 0 || ret[i] == -ESTALE)
			ret[i] = vigil_store_record(s, owner, recs[i].d, recs[i].a,
						    recs[i].alert_jws);
	return 0;
}

struct history_ctx {
	struct vigil_attestation *v;
	size_t count;
	size_t cap;
};

static int history_row(void *ctx, const struct vigil_sql_value *c, size_t n)
{
	struct history_ctx *hc = ctx;
	struct vigil_attestation *a;
	int state;

	if (n != 8 || hc->count == hc->cap)
		return -EBADMSG;
	a = &hc->v[hc->count];
	if (col_text(&c[0], a->device, sizeof(a->device)) < 0 || col_u64(&c[1], &a->seq) < 0 ||
	    col_i64(&c[2], &a->time_ms) < 0 || col_enum(&c[3], VIGIL_DEVICE_MISSED, &state) < 0 ||
	    col_text(&c[4], a->reason, sizeof(a->reason)) < 0 || col_u64(&c[5], &a->from) < 0 ||
	    col_u64(&c[6], &a->to) < 0)
		return -EBADMSG;
	a->state = (enum vigil_device_state)state;
	if (col_strdup(&c[7], &a->verdict) < 0)
		return -EBADMSG;
	hc->count++;
	return 0;
}

/**
 * vigil_store_history() - the last attestations of a device, newest first
 * @s: the store
 * @id: the device
 * @max: at most this many (capped at VIGIL_STORE_HISTORY_MAX)
 * @ret: on success, the attestations (vigil_attestations_free()), NULL if none
 * @ret_count: on success, how many
 *
 * Return: 0; -EINVAL; -EBADMSG; -ENOMEM; -EIO.
 */
int vigil_store_history(struct vigil_store *s, const char *id, size_t max,
			struct vigil_attestation **ret, size_t *ret_count)
{
	struct history_ctx hc = { 0 };
	struct vigil_sql_value p[2];
	int r = id_check(id);

	if (r < 0)
		return r;
	hc.cap = max < VIGIL_STORE_HISTORY_MAX ? max : VIGIL_STORE_HISTORY_MAX;
	if (hc.cap) {
		hc.v = calloc(hc.cap, sizeof(*hc.v));
		if (!hc.v)
			return -ENOMEM;
	}
	p[0] = p_text(id);
	p[1] = p_int((int64_t)hc.cap);
	r = run(s, VIGIL_STMT_HISTORY, p, 2, history_row, &hc, NULL);
	if (r < 0) {
		vigil_attestations_free(hc.v, hc.count);
		return r;
	}
	if (!hc.count) {
		free(hc.v);
		hc.v = NULL;
	}
	*ret = hc.v;
	*ret_count = hc.count;
	return 0;
}

struct alerts_ctx {
	struct vigil_alert *v;
	size_t count;
	size_t cap;
};

static int alert_row(void *ctx, const struct vigil_sql_value *c, size_t n)
{
	struct alerts_ctx *ac = ctx;
	struct vigil_alert *a;

	if (n != 6 || ac->count == ac->cap)
		return -EBADMSG;
	a = &ac->v[ac->count];
	if (col_i64(&c[0], &a->id) < 0 || col_text(&c[1], a->device, sizeof(a->device)) < 0 ||
	    col_u64(&c[2], &a->seq) < 0 || col_u32(&c[4], &a->attempts) < 0 ||
	    col_i64(&c[5], &a->next_ms) < 0 || c[3].type != VIGIL_SQL_TEXT ||
	    col_strdup(&c[3], &a->jws) < 0)
		return -EBADMSG;
	ac->count++;
	return 0;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort()'s comparison function */
static int by_alert_id(const void *a, const void *b)
{
	const struct vigil_alert *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

/**
 * vigil_store_alerts_due() - claim the alerts waiting for delivery at @now_ms, oldest first
 * (in the order they were queued: a failure before its recovery); store.h
 * @s: the store
 * @now_ms: the time now
 * @max: at most this many (capped at VIGIL_STORE_HISTORY_MAX)
 * @ret: on success, the alerts (vigil_alerts_free()), NULL if none
 * @ret_count: on success, how many
 *
 * Return: 0; -EBADMSG; -ENOMEM; -EIO.
 */
/* NOLINTBEGIN(bugprone-easily-swappable-parameters): the interface store.h fixes */
int vigil_store_alerts_due(struct vigil_store *s, int64_t now_ms, size_t max,
			   struct vigil_alert **ret, size_t *ret_count)
/* NOLINTEND(bugprone-easily-swappable-parameters) */
{
	enum vigil_stmt id = s->ops->row_locks ? VIGIL_STMT_ALERTS_DUE_LOCKING :
						 VIGIL_STMT_ALERTS_DUE;
	struct alerts_ctx ac = { 0 };
	struct vigil_sql_value p[3];
	int r;

	ac.cap = max < VIGIL_STORE_HISTORY_MAX ? max : VIGIL_STORE_HISTORY_MAX;
	if (ac.cap) {
		ac.v = calloc(ac.cap, sizeof(*ac.v));
		if (!ac.v)
			return -ENOMEM;
	}
	p[0] = p_int(now_ms);
	p[1] = p_int((int64_t)ac.cap);
	p[2] = p_int(now_ms + VIGIL_ALERT_CLAIM_MS);
	r = s->ops->row_locks ? 0 : s->ops->begin(s);
	if (r >= 0)
		r = run(s, id, p, 3, alert_row, &ac, NULL);
	if (!s->ops->row_locks)
		r = txn_end(s, r);
	if (r < 0) {
		vigil_alerts_free(ac.v, ac.count);
		return r;
	}
	if (!ac.count) {
		free(ac.v);
		ac.v = NULL;
	} else if (ac.count > 1) {
		qsort(ac.v, ac.count, sizeof(*ac.v), by_alert_id);
	}
	*ret = ac.v;
	*ret_count = ac.count;
	return 0;
}

/**
 * vigil_store_alert_done() - forget a delivered alert
 * @s: the store
 * @id: its id
 *
 * Return: 0; -ENOENT; -EIO.
 */
int vigil_store_alert_done(struct vigil_store *s, int64_t id)
{
	struct vigil_sql_value p[] = { p_int(id) };

	return run_one(s, VIGIL_STMT_ALERT_DONE, p, 1);
}

/**
 * vigil_store_alert_retry() - count a failed delivery and say when to try again
 * @s: the store
 * @id: its id
 * @next_ms: the next attempt's time
 *
 * Return: 0; -ENOENT; -EIO.
 */
int vigil_store_alert_retry(struct vigil_store *s, int64_t id, int64_t next_ms)
{
	struct vigil_sql_value p[] = { p_int(id), p_int(next_ms) };

	return run_one(s, VIGIL_STMT_ALERT_RETRY, p, 2);
}

static int policy_name_check(const char *name)
{
	if (!name || !name[0])
		return -EINVAL;
	return vigil_store_text_check(name, VIGIL_POLICY_NAME_MAX);
}

/**
 * vigil_store_policy_put() - keep a signed policy under its name, replacing an earlier one
 * @s: the store
 * @name: the policy's name, 1..VIGIL_POLICY_NAME_MAX characters
 * @version: its version
 * @envelope: its DSSE envelope (any bytes)
 * @len: its length, at most VIGIL_POLICY_ENVELOPE_MAX
 *
 * Return: 0; -EINVAL; -E2BIG; -EIO.
 */
int vigil_store_policy_put(struct vigil_store *s, const char *name, uint64_t version,
			   const uint8_t *envelope, size_t len)
{
	struct vigil_sql_value p[3];
	int r = policy_name_check(name);

	if (r < 0)
		return r;
	if (len > VIGIL_POLICY_ENVELOPE_MAX)
		return -E2BIG;
	if (len && !envelope)
		return -EINVAL;
	p[0] = p_text(name);
	p[1] = p_int((int64_t)version);
	p[2] = p_blob(envelope, len);
	return run(s, VIGIL_STMT_POLICY_PUT, p, 3, NULL, NULL, NULL);
}

struct policy_ctx {
	uint64_t version;
	uint8_t *envelope;
	size_t len;
	bool found;
};

static int policy_row(void *ctx, const struct vigil_sql_value *c, size_t n)
{
	struct policy_ctx *pc = ctx;

	if (n != 2 || pc->found || col_u64(&c[0], &pc->version) < 0 ||
	    c[1].type != VIGIL_SQL_BLOB || c[1].len > VIGIL_POLICY_ENVELOPE_MAX)
		return -EBADMSG;
	pc->envelope = malloc(c[1].len ? c[1].len : 1);
	if (!pc->envelope)
		return -ENOMEM;
	memcpy(pc->envelope, c[1].p, c[1].len);
	pc->len = c[1].len;
	pc->found = true;
	return 0;
}

/**
 * vigil_store_policy_get() - read a signed policy by name
 * @s: the store
 * @name: its name
 * @ret_version: on success, its version
 * @ret_envelope: on success, its envelope (free())
 * @ret_len: on success, the envelope's length
 *
 * Return: 0; -ENOENT; -EINVAL; -E2BIG; -EBADMSG; -ENOMEM; -EIO.
 */
int vigil_store_policy_get(struct vigil_store *s, const char *name, uint64_t *ret_version,
			   uint8_t **ret_envelope, size_t *ret_len)
{
	struct policy_ctx pc = { .found = false };
	struct vigil_sql_value p[1];
	int r = policy_name_check(name);

	if (r < 0)
		return r;
	p[0] = p_text(name);
	r = run(s, VIGIL_STMT_POLICY_GET, p, 1, policy_row, &pc, NULL);
	if (r >= 0 && !pc.found)
		r = -ENOENT;
	if (r < 0) {
		free(pc.envelope);
		return r;
	}
	*ret_version = pc.version;
	*ret_envelope = pc.envelope;
	*ret_len = pc.len;
	return 0;
}
