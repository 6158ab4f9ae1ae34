/* SPDX-License-Identifier: MIT */
/*
 * store_internal.h: what the fleet database's two backends (store_sqlite.c, store_pg.c) share
 * with the backend-neutral part (store.c: open, validation, names; store_sql.c: every
 * operation, written once in SQL both backends accept).
 *
 * A backend is a small driver: it opens a connection, runs one of the statements of
 * store_sql.c by number with typed parameters (prepared on first use and cached for the
 * handle's life), hands each result row to a callback as typed values, counts the rows a
 * statement changed, and runs transactions and migration scripts. Statement text is written
 * with PostgreSQL's numbered parameters ($1, $2, ...); the SQLite driver rewrites them to its
 * own numbered form (?1, ?2, ...), which means the same.
 *
 * Invariants: values handed to a row callback are valid only during the call; a TEXT value is
 * NUL-terminated and holds no NUL before @len; a driver maps unique-constraint violations to
 * -EEXIST and foreign-key violations to -ENOENT, every other failure to -EIO with the
 * backend's message in the store's error text. Integers are 64-bit signed in both databases;
 * unsigned 64-bit values are stored as their two's-complement bit pattern and read back
 * exactly.
 */
#ifndef VIGIL_STORE_INTERNAL_H
#define VIGIL_STORE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define VIGIL_STORE_ERROR_MAX 256
#define VIGIL_STORE_PARAMS_MAX 32

enum vigil_sql_type {
	VIGIL_SQL_NULL = 0,
	VIGIL_SQL_INT,
	VIGIL_SQL_TEXT,
	VIGIL_SQL_BLOB,
};

/**
 * struct vigil_sql_value - one statement parameter or one result column
 * @type: its type; NULL has no value
 * @i: an INT's value
 * @p: a TEXT's characters (NUL-terminated) or a BLOB's bytes; never NULL for those types
 * @len: the TEXT's or BLOB's length in bytes
 */
struct vigil_sql_value {
	enum vigil_sql_type type;
	int64_t i;
	const void *p;
	size_t len;
};

/* Called once per result row; a negative return stops the statement and is returned. */
typedef int (*vigil_sql_row_fn)(void *ctx, const struct vigil_sql_value *cols, size_t ncols);

/**
 * struct vigil_store_ops - a backend
 * @name: "sqlite" or "postgresql"
 * @row_locks: the backend has SELECT ... FOR UPDATE SKIP LOCKED (claims use it) and
 *	data-modifying WITH clauses (a record is one statement)
 * @migrations: the backend's schema migrations; [i] takes version i to i + 1
 * @migration_count: how many (VIGIL_STORE_SCHEMA_VERSION)
 * @open: connect to @target (a path, or a libpq URI) and set the session up; no schema work
 * @close: disconnect and free the backend state; the handle's memory stays the caller's
 * @exec: run statement @id (text @sql, prepared on its first use) with @params; rows to @fn
 *	(may be NULL when none are expected); *@ret_changes (may be NULL) the rows it changed
 * @script: run SQL text without parameters, possibly several statements (migrations)
 * @begin: start a transaction that will write (SQLite: BEGIN IMMEDIATE)
 * @commit: commit it
 * @rollback: roll it back; harmless when none is open
 * @lock: in a transaction: serialise schema migrations among processes (NULL: @begin does)
 * @array: NULL, or encode column values of many rows (@n values of @type, or NULL, @stride
 *	apart in @vals) as one array parameter of the backend, so that one statement writes
 *	many rows (a BLOB parameter whose SQL casts it to the array type); free() *@ret
 */
struct vigil_store_ops {
	const char *name;
	bool row_locks;
	const char *const *migrations;
	size_t migration_count;
	int (*open)(struct vigil_store *s, const char *target);
	void (*close)(struct vigil_store *s);
	int (*exec)(struct vigil_store *s, unsigned int id, const char *sql,
		    const struct vigil_sql_value *params, size_t n, vigil_sql_row_fn fn, void *ctx,
		    uint64_t *ret_changes);
	int (*script)(struct vigil_store *s, const char *sql);
	int (*begin)(struct vigil_store *s);
	int (*commit)(struct vigil_store *s);
	int (*rollback)(struct vigil_store *s);
	int (*lock)(struct vigil_store *s);
	int (*array)(enum vigil_sql_type type, const struct vigil_sql_value *vals, size_t n,
		     size_t stride, uint8_t **ret, size_t *ret_len);
};

/**
 * struct vigil_store - an open fleet database
 * @ops: its backend
 * @be: the backend's state (a sqlite3 or PGconn handle and the statement cache)
 * @error: the last backend error message, "" if none
 */
struct vigil_store {
	const struct vigil_store_ops *ops;
	void *be;
	char error[VIGIL_STORE_ERROR_MAX];
};

extern const struct vigil_store_ops vigil_store_sqlite_ops;
extern const struct vigil_store_ops vigil_store_pg_ops;

/* The statements of store_sql.c, by number (the drivers' cache index). */
enum vigil_stmt {
	VIGIL_STMT_SCHEMA_VERSION,
	VIGIL_STMT_SCHEMA_SET,
	VIGIL_STMT_DEVICE_ADD,
	VIGIL_STMT_DEVICE_GET,
	VIGIL_STMT_DEVICE_LIST,
	VIGIL_STMT_DEVICE_LIST_UNENROLLED,
	VIGIL_STMT_DEVICE_REMOVE,
	VIGIL_STMT_DEVICE_SET_POLICY,
	VIGIL_STMT_DEVICE_SET_DUE,
	VIGIL_STMT_DEVICE_EXISTS,
	VIGIL_STMT_ENROLL,
	VIGIL_STMT_CHALLENGE_PUT,
	VIGIL_STMT_CHALLENGE_TAKE,
	VIGIL_STMT_CLAIM,
	VIGIL_STMT_CLAIM_LOCKING,
	VIGIL_STMT_LEASE,
	VIGIL_STMT_RELEASE,
	VIGIL_STMT_RECORD_DEVICE,
	VIGIL_STMT_RECORD_HISTORY,
	VIGIL_STMT_RECORD_ALERT,
	VIGIL_STMT_RECORD_ONE,
	VIGIL_STMT_RECORD_MANY,
	VIGIL_STMT_HISTORY,
	VIGIL_STMT_ALERTS_DUE,
	VIGIL_STMT_ALERTS_DUE_LOCKING,
	VIGIL_STMT_ALERT_DONE,
	VIGIL_STMT_ALERT_RETRY,
	VIGIL_STMT_POLICY_PUT,
	VIGIL_STMT_POLICY_GET,
	VIGIL_STMT_COUNT
};

void vigil_store_set_error(struct vigil_store *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vigil_store_migrate(struct vigil_store *s) __attribute__((warn_unused_result));
int vigil_store_device_check(const struct vigil_device *d) __attribute__((warn_unused_result));
int vigil_store_text_check(const char *text, size_t max) __attribute__((warn_unused_result));
int vigil_store_banks_encode(const struct vigil_cursor *c, uint8_t *buf, size_t size,
			     size_t *ret_len) __attribute__((warn_unused_result));
int vigil_store_banks_decode(const uint8_t *buf, size_t len, struct vigil_cursor *ret)
	__attribute__((warn_unused_result));

#define VIGIL_STORE_BANKS_BLOB_MAX ((size_t)VIGIL_BANKS_MAX * (3 + 64))

#endif /* VIGIL_STORE_INTERNAL_H */
