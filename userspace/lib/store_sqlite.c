// SPDX-License-Identifier: MIT
/*
 * store_sqlite.c: the SQLite backend of the fleet database (store_internal.h): a file, created
 * mode 0600, in WAL mode with synchronous=NORMAL (a commit survives a crash of the process; a
 * power loss may lose the last commits but never corrupts the file), foreign keys enforced,
 * and a 5 s busy timeout so that several processes (verifierd and `vigil fleet` tooling)
 * share the file.
 *
 * Statements are prepared once per handle (SQLITE_PREPARE_PERSISTENT) and reset after each
 * use; their $N parameters become SQLite's equivalent ?N. Tables are STRICT, so a value of
 * the wrong type is refused by the database itself. Writing transactions start with BEGIN
 * IMMEDIATE: the write lock is taken (or waited for) at the start, so a transaction never
 * fails half-way on a lock upgrade.
 *
 * Invariants: a statement is always reset and its bindings cleared before exec() returns;
 * a transaction is open only between begin() and commit()/rollback().
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "cleanup.h"
#include "store_internal.h"

#define BUSY_TIMEOUT_MS 5000
#define SQL_MAX 2048 /* bytes of one statement of store_sql.c */

enum { TXN_BEGIN, TXN_COMMIT, TXN_ROLLBACK, TXN_COUNT };

struct sqlite_be {
	sqlite3 *db;
	sqlite3_stmt *stmts[VIGIL_STMT_COUNT];
	sqlite3_stmt *txn[TXN_COUNT];
};

static const char *const migrations[] = {
	/* 1: everything (docs/fleet-format.md, "Database") */
	"CREATE TABLE devices ("
	" id TEXT PRIMARY KEY NOT NULL, mode INTEGER NOT NULL, address TEXT NOT NULL,"
	" policy TEXT NOT NULL, interval_ms INTEGER NOT NULL, state INTEGER NOT NULL,"
	" enrolled INTEGER NOT NULL, ek_hash BLOB UNIQUE, ek_cert_fingerprint BLOB,"
	" ak_public BLOB, cursor_next INTEGER NOT NULL, cursor_clock INTEGER NOT NULL,"
	" cursor_reset_count INTEGER NOT NULL, cursor_restart_count INTEGER NOT NULL,"
	" cursor_valid INTEGER NOT NULL, cursor_banks BLOB, policy_version INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, due_ms INTEGER NOT NULL, last_ms INTEGER NOT NULL,"
	" last_reason TEXT NOT NULL, failures INTEGER NOT NULL, lease_owner TEXT,"
	" lease_until INTEGER) STRICT;"
	"CREATE INDEX devices_due ON devices (mode, due_ms) WHERE enrolled;"
	"CREATE INDEX devices_lease ON devices (lease_owner) WHERE lease_owner IS NOT NULL;"
	"CREATE TABLE attestations ("
	" device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, time_ms INTEGER NOT NULL, state INTEGER NOT NULL,"
	" reason TEXT NOT NULL, rec_from INTEGER NOT NULL, rec_to INTEGER NOT NULL, verdict TEXT,"
	" PRIMARY KEY (device, seq)) STRICT;"
	"CREATE TABLE alerts ("
	" id INTEGER PRIMARY KEY AUTOINCREMENT,"
	" device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,"
	" seq INTEGER NOT NULL, jws TEXT NOT NULL, attempts INTEGER NOT NULL,"
	" next_ms INTEGER NOT NULL) STRICT;"
	"CREATE INDEX alerts_due ON alerts (next_ms);"
	"CREATE TABLE challenges ("
	" device TEXT PRIMARY KEY NOT NULL REFERENCES devices (id) ON DELETE CASCADE,"
	" secret_hash BLOB NOT NULL, ek_hash BLOB NOT NULL, ek_cert_fingerprint BLOB NOT NULL,"
	" ak_public BLOB NOT NULL, expires_ms INTEGER NOT NULL) STRICT;"
	"CREATE TABLE policies ("
	" name TEXT PRIMARY KEY NOT NULL, version INTEGER NOT NULL, envelope BLOB NOT NULL) STRICT;",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == VIGIL_STORE_SCHEMA_VERSION,
	       "one SQLite migration per schema version");

/* Keep SQLite's message; constraint violations get the errno store.h promises for them. */
static int fail(struct vigil_store *s, int rc)
{
	struct sqlite_be *b = s->be;

	vigil_store_set_error(s, "sqlite: %s", b->db ? sqlite3_errmsg(b->db) : sqlite3_errstr(rc));
	switch (rc) {
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		return -EEXIST;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		return -ENOENT;
	case SQLITE_NOMEM:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* SQLite would create the file with the umask's mode; a fleet database is private. */
static int create_private(struct vigil_store *s, const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

	if (fd < 0) {
		int err = errno;

		vigil_store_set_error(s, "sqlite: %s: %s", path, strerror(err));
		return -err;
	}
	return 0;
}

/*
 * The connection's settings. Switching a new file to WAL needs its exclusive lock, and SQLite
 * may answer SQLITE_BUSY at once, without the busy handler, while another process opens the
 * same new file (two verifierd starting together): try again for the busy timeout.
 */
static int settings(sqlite3 *db)
{
	int rc;

	for (int waited = 0;; waited += 10) {
		rc = sqlite3_exec(db,
				  "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;"
				  " PRAGMA foreign_keys = ON;",
				  NULL, NULL, NULL);
		if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) ||
		    waited >= BUSY_TIMEOUT_MS)
			return rc;
		usleep(10000);
	}
}

static int sqlite_open(struct vigil_store *s, const char *path)
{
	struct sqlite_be *b;
	int rc, r;

	r = create_private(s, path);
	if (r < 0)
		return r;
	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	s->be = b;
	rc = sqlite3_open_v2(path, &b->db,
			     SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
			     NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_busy_timeout(b->db, BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK)
		rc = settings(b->db);
	if (rc != SQLITE_OK) {
		r = fail(s, rc);
		vigil_store_sqlite_ops.close(s);
		return r == -EEXIST || r == -ENOENT ? -EIO : r;
	}
	return 0;
}

static void sqlite_close(struct vigil_store *s)
{
	struct sqlite_be *b = s->be;
	size_t i;

	if (!b)
		return;
	for (i = 0; i < VIGIL_STMT_COUNT; i++)
		sqlite3_finalize(b->stmts[i]);
	for (i = 0; i < TXN_COUNT; i++)
		sqlite3_finalize(b->txn[i]);
	sqlite3_close_v2(b->db);
	free(b);
	s->be = NULL;
}

/* The statement, prepared on first use with $N rewritten to ?N. */
static int prepared(struct vigil_store *s, unsigned int id, const char *sql, sqlite3_stmt **ret)
{
	struct sqlite_be *b = s->be;
	char text[SQL_MAX], *p;
	int rc;

	if (id >= VIGIL_STMT_COUNT || strlen(sql) >= sizeof(text))
		return -EINVAL;
	if (!b->stmts[id]) {
		memcpy(text, sql, strlen(sql) + 1);
		for (p = strchr(text, '$'); p; p = strchr(p + 1, '$'))
			*p = '?';
		rc = sqlite3_prepare_v3(b->db, text, -1, SQLITE_PREPARE_PERSISTENT, &b->stmts[id],
					NULL);
		if (rc != SQLITE_OK)
			return fail(s, rc);
	}
	*ret = b->stmts[id];
	return 0;
}

static int bind(struct vigil_store *s, sqlite3_stmt *st, const struct vigil_sql_value *params,
		size_t n)
{
	int rc = SQLITE_OK;
	size_t i;

	for (i = 0; i < n && rc == SQLITE_OK; i++) {
		const struct vigil_sql_value *v = &params[i];
		int at = (int)i + 1;

		switch (v->type) {
		case VIGIL_SQL_INT:
			rc = sqlite3_bind_int64(st, at, v->i);
			break;
		case VIGIL_SQL_TEXT:
			rc = sqlite3_bind_text64(st, at, v->p, v->len, SQLITE_STATIC, SQLITE_UTF8);
			break;
		case VIGIL_SQL_BLOB:
			rc = sqlite3_bind_blob64(st, at, v->p, v->len, SQLITE_STATIC);
			break;
		default:
			rc = sqlite3_bind_null(st, at);
			break;
		}
	}
	return rc == SQLITE_OK ? 0 : fail(s, rc);
}

static void column(sqlite3_stmt *st, int i, struct vigil_sql_value *v)
{
	memset(v, 0, sizeof(*v));
	switch (sqlite3_column_type(st, i)) {
	case SQLITE_INTEGER:
		v->type = VIGIL_SQL_INT;
		v->i = sqlite3_column_int64(st, i);
		break;
	case SQLITE_TEXT:
		v->type = VIGIL_SQL_TEXT;
		v->p = sqlite3_column_text(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		break;
	case SQLITE_BLOB:
		v->type = VIGIL_SQL_BLOB;
		v->p = sqlite3_column_blob(st, i);
		v->len = (size_t)sqlite3_column_bytes(st, i);
		if (!v->p)
			v->p = "";
		break;
	default:
		v->type = VIGIL_SQL_NULL;
		break;
	}
}

/* Step through the rows; the callback's error, or the statement's, ends it. */
static int steps(struct vigil_store *s, sqlite3_stmt *st, vigil_sql_row_fn fn, void *ctx)
{
	struct vigil_sql_value cols[VIGIL_STORE_PARAMS_MAX];
	int rc, i, n, r;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		n = sqlite3_column_count(st);
		if (!fn || n > VIGIL_STORE_PARAMS_MAX)
			return -EBADMSG;
		for (i = 0; i < n; i++)
			column(st, i, &cols[i]);
		r = fn(ctx, cols, (size_t)n);
		if (r < 0)
			return r;
	}
	return rc == SQLITE_DONE ? 0 : fail(s, rc);
}

static int sqlite_exec(struct vigil_store *s, unsigned int id, const char *sql,
		       const struct vigil_sql_value *params, size_t n, vigil_sql_row_fn fn,
		       void *ctx, uint64_t *ret_changes)
{
	struct sqlite_be *b = s->be;
	sqlite3_stmt *st = NULL;
	int r;

	if (n > VIGIL_STORE_PARAMS_MAX)
		return -EINVAL;
	r = prepared(s, id, sql, &st);
	if (r < 0)
		return r;
	r = bind(s, st, params, n);
	if (r >= 0)
		r = steps(s, st, fn, ctx);
	if (r >= 0 && ret_changes)
		*ret_changes = (uint64_t)sqlite3_changes64(b->db);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return r;
}

static int sqlite_script(struct vigil_store *s, const char *sql)
{
	struct sqlite_be *b = s->be;
	int rc = sqlite3_exec(b->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? 0 : fail(s, rc);
}

static int txn(struct vigil_store *s, int which)
{
	static const char *const text[TXN_COUNT] = { "BEGIN IMMEDIATE", "COMMIT", "ROLLBACK" };
	struct sqlite_be *b = s->be;
	int rc = SQLITE_OK;

	if (!b->txn[which])
		rc = sqlite3_prepare_v3(b->db, text[which], -1, SQLITE_PREPARE_PERSISTENT,
					&b->txn[which], NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(b->txn[which]);
		sqlite3_reset(b->txn[which]);
	}
	return rc == SQLITE_DONE || rc == SQLITE_OK ? 0 : fail(s, rc);
}

static int sqlite_begin(struct vigil_store *s)
{
	return txn(s, TXN_BEGIN);
}

static int sqlite_commit(struct vigil_store *s)
{
	return txn(s, TXN_COMMIT);
}

static int sqlite_rollback(struct vigil_store *s)
{
	struct sqlite_be *b = s->be;

	if (sqlite3_get_autocommit(b->db))
		return 0;
	return txn(s, TXN_ROLLBACK);
}

const struct vigil_store_ops vigil_store_sqlite_ops = {
	.name = "sqlite",
	.row_locks = false,
	.migrations = migrations,
	.migration_count = sizeof(migrations) / sizeof(migrations[0]),
	.open = sqlite_open,
	.close = sqlite_close,
	.exec = sqlite_exec,
	.script = sqlite_script,
	.begin = sqlite_begin,
	.commit = sqlite_commit,
	.rollback = sqlite_rollback,
	.lock = NULL,
};
