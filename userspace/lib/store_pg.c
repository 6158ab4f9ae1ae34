// SPDX-License-Identifier: MIT
/*
 * store_pg.c: the PostgreSQL backend of the fleet database (store_internal.h), over libpq:
 * one connection per handle (application_name "vigil-verifierd" unless the URI names
 * another), statements prepared once per connection by name, parameters sent as text
 * (numbers, strings: the server parses them as the column's type) or binary (bytea: the bytes
 * as they are, NUL included), every result received in binary and decoded by its column
 * type. Schema migrations hold a transaction-scoped advisory lock, so processes opening a new
 * database at the same time migrate it one after the other.
 *
 * A lost connection is reset on the failure that finds it (the operation fails with -EIO;
 * the next one runs on the new connection, its statements prepared again). libpq's notices
 * ("relation already exists, skipping") are dropped: libvigil never prints.
 *
 * Invariants: every PGresult is cleared before returning; a statement is marked prepared only
 * after the server accepted it, and all marks are dropped with the connection they were for.
 */
#include <endian.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "store_internal.h"

/* Type OIDs (server/catalog/pg_type_d.h, stable since PostgreSQL 7) of the columns we read. */
#define BOOLOID 16
#define BYTEAOID 17
#define NAMEOID 19
#define INT8OID 20
#define INT2OID 21
#define INT4OID 23
#define TEXTOID 25
#define VARCHAROID 1043

#define MIGRATION_LOCK "SELECT pg_advisory_xact_lock(7627350417133855851)" /* "vigil-st" */

struct pg_be {
	PGconn *conn;
	bool prepared[VIGIL_STMT_COUNT];
};

static const char *const migrations[] = {
	/* 1: everything (docs/fleet-format.md, "Database") */
	"CREATE TABLE devices ("
	" id TEXT PRIMARY KEY, mode BIGINT NOT NULL, address TEXT NOT NULL,"
	" policy TEXT NOT NULL, interval_ms BIGINT NOT NULL, state BIGINT NOT NULL,"
	" enrolled BOOLEAN NOT NULL, ek_hash BYTEA UNIQUE, ek_cert_fingerprint BYTEA,"
	" ak_public BYTEA, cursor_next BIGINT NOT NULL, cursor_clock BIGINT NOT NULL,"
	" cursor_reset_count BIGINT NOT NULL, cursor_restart_count BIGINT NOT NULL,"
	" cursor_valid BOOLEAN NOT NULL, cursor_banks BYTEA, policy_version BIGINT NOT NULL,"
	" seq BIGINT NOT NULL, due_ms BIGINT NOT NULL, last_ms BIGINT NOT NULL,"
	" last_reason TEXT NOT NULL, failures BIGINT NOT NULL, lease_owner TEXT,"
	" lease_until BIGINT);"
	"CREATE INDEX devices_due ON devices (mode, due_ms) WHERE enrolled;"
	"CREATE INDEX devices_lease ON devices (lease_owner) WHERE lease_owner IS NOT NULL;"
	"CREATE TABLE attestations ("
	" device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,"
	" seq BIGINT NOT NULL, time_ms BIGINT NOT NULL, state BIGINT NOT NULL,"
	" reason TEXT NOT NULL, rec_from BIGINT NOT NULL, rec_to BIGINT NOT NULL, verdict TEXT,"
	" PRIMARY KEY (device, seq));"
	"CREATE TABLE alerts ("
	" id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,"
	" device TEXT NOT NULL REFERENCES devices (id) ON DELETE CASCADE,"
	" seq BIGINT NOT NULL, jws TEXT NOT NULL, attempts BIGINT NOT NULL,"
	" next_ms BIGINT NOT NULL);"
	"CREATE INDEX alerts_due ON alerts (next_ms);"
	"CREATE INDEX alerts_device ON alerts (device);"
	"CREATE TABLE challenges ("
	" device TEXT PRIMARY KEY REFERENCES devices (id) ON DELETE CASCADE,"
	" secret_hash BYTEA NOT NULL, ek_hash BYTEA NOT NULL, ek_cert_fingerprint BYTEA NOT NULL,"
	" ak_public BYTEA NOT NULL, expires_ms BIGINT NOT NULL);"
	"CREATE TABLE policies ("
	" name TEXT PRIMARY KEY, version BIGINT NOT NULL, envelope BYTEA NOT NULL);",
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == VIGIL_STORE_SCHEMA_VERSION,
	       "one PostgreSQL migration per schema version");

static void no_notices(void *arg, const char *message)
{
	(void)arg;
	(void)message;
}

/* A connection found broken is reset now, so that the next operation can succeed. */
static void check_connection(struct vigil_store *s)
{
	struct pg_be *b = s->be;

	if (PQstatus(b->conn) != CONNECTION_BAD)
		return;
	memset(b->prepared, 0, sizeof(b->prepared));
	PQreset(b->conn);
}

/* Keep the server's message; constraint violations get the errno store.h promises. */
static int fail(struct vigil_store *s, const PGresult *res)
{
	struct pg_be *b = s->be;
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";

	vigil_store_set_error(s, "postgresql: %s", msg && msg[0] ? msg : PQerrorMessage(b->conn));
	check_connection(s);
	if (state && !strcmp(state, "23505")) /* unique_violation */
		return -EEXIST;
	if (state && !strcmp(state, "23503")) /* foreign_key_violation */
		return -ENOENT;
	return -EIO;
}

static void pg_close(struct vigil_store *s)
{
	struct pg_be *b = s->be;

	if (!b)
		return;
	PQfinish(b->conn);
	free(b);
	s->be = NULL;
}

static int pg_open(struct vigil_store *s, const char *uri)
{
	/* Later keywords win: an application_name in the URI replaces ours. */
	const char *const keywords[] = { "application_name", "dbname", NULL };
	const char *const values[] = { "vigil-verifierd", uri, NULL };
	struct pg_be *b = calloc(1, sizeof(*b));

	if (!b)
		return -ENOMEM;
	s->be = b;
	b->conn = PQconnectdbParams(keywords, values, 1);
	if (!b->conn) {
		pg_close(s);
		return -ENOMEM;
	}
	PQsetNoticeProcessor(b->conn, no_notices, NULL);
	if (PQstatus(b->conn) != CONNECTION_OK) {
		vigil_store_set_error(s, "postgresql: %s", PQerrorMessage(b->conn));
		pg_close(s);
		return -EIO;
	}
	return 0;
}

/* Run a command without parameters whose result must have status @want. */
static int command(struct vigil_store *s, const char *sql, ExecStatusType want)
{
	struct pg_be *b = s->be;
	PGresult *res = PQexec(b->conn, sql);
	int r = PQresultStatus(res) == want ? 0 : fail(s, res);

	PQclear(res);
	return r;
}

static int prepare(struct vigil_store *s, unsigned int id, const char *sql, char *name,
		   size_t name_size)
{
	struct pg_be *b = s->be;
	PGresult *res;
	int r = 0;

	if (id >= VIGIL_STMT_COUNT)
		return -EINVAL;
	snprintf(name, name_size, "vigil_%u", id);
	if (b->prepared[id])
		return 0;
	res = PQprepare(b->conn, name, sql, 0, NULL);
	if (PQresultStatus(res) == PGRES_COMMAND_OK)
		b->prepared[id] = true;
	else
		r = fail(s, res);
	PQclear(res);
	return r;
}

/* One column in binary, by its type: integers are big-endian, text and bytea raw. */
static int column(const PGresult *res, int row, int col, struct vigil_sql_value *v)
{
	const char *p = PQgetvalue(res, row, col);
	size_t len = (size_t)PQgetlength(res, row, col);
	uint64_t be = 0;

	memset(v, 0, sizeof(*v));
	if (PQgetisnull(res, row, col))
		return 0;
	switch (PQftype(res, col)) {
	case BOOLOID:
	case INT2OID:
	case INT4OID:
	case INT8OID:
		if (len != 1 && len != 2 && len != 4 && len != 8)
			return -EBADMSG;
		memcpy((uint8_t *)&be + 8 - len, p, len);
		v->type = VIGIL_SQL_INT;
		/* Sign-extend the narrower types from their top bit. */
		v->i = (int64_t)(be64toh(be) << (64 - 8 * len)) >> (64 - 8 * len);
		return 0;
	case TEXTOID:
	case VARCHAROID:
	case NAMEOID:
		v->type = VIGIL_SQL_TEXT;
		break;
	case BYTEAOID:
		v->type = VIGIL_SQL_BLOB;
		break;
	default:
		return -EBADMSG;
	}
	v->p = p;
	v->len = len;
	return 0;
}

static int rows(struct vigil_store *s, const PGresult *res, vigil_sql_row_fn fn, void *ctx)
{
	struct vigil_sql_value cols[VIGIL_STORE_PARAMS_MAX];
	int nrows = PQntuples(res), ncols = PQnfields(res);
	int i, j, r;

	if (nrows && (!fn || ncols > VIGIL_STORE_PARAMS_MAX))
		return -EBADMSG;
	for (i = 0; i < nrows; i++) {
		for (j = 0; j < ncols; j++) {
			r = column(res, i, j, &cols[j]);
			if (r < 0) {
				vigil_store_set_error(s, "postgresql: column %d: type %u", j,
						      PQftype(res, j));
				return r;
			}
		}
		r = fn(ctx, cols, (size_t)ncols);
		if (r < 0)
			return r;
	}
	return 0;
}

static int pg_exec(struct vigil_store *s, unsigned int id, const char *sql,
		   const struct vigil_sql_value *params, size_t n, vigil_sql_row_fn fn, void *ctx,
		   uint64_t *ret_changes)
{
	struct pg_be *b = s->be;
	const char *values[VIGIL_STORE_PARAMS_MAX];
	int lengths[VIGIL_STORE_PARAMS_MAX], formats[VIGIL_STORE_PARAMS_MAX];
	char ints[VIGIL_STORE_PARAMS_MAX][24], name[32];
	ExecStatusType st;
	PGresult *res;
	size_t i;
	int r;

	if (n > VIGIL_STORE_PARAMS_MAX)
		return -EINVAL;
	r = prepare(s, id, sql, name, sizeof(name));
	if (r < 0)
		return r;
	for (i = 0; i < n; i++) {
		values[i] = params[i].type == VIGIL_SQL_NULL ? NULL : params[i].p;
		lengths[i] = (int)params[i].len;
		formats[i] = params[i].type == VIGIL_SQL_BLOB;
		if (params[i].type == VIGIL_SQL_INT) {
			snprintf(ints[i], sizeof(ints[i]), "%" PRId64, params[i].i);
			values[i] = ints[i];
		}
		if (params[i].len > INT32_MAX)
			return -E2BIG;
	}
	res = PQexecPrepared(b->conn, name, (int)n, values, lengths, formats, 1);
	st = PQresultStatus(res);
	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK)
		r = rows(s, res, fn, ctx);
	else
		r = fail(s, res);
	if (r >= 0 && ret_changes)
		*ret_changes = strtoull(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	return r;
}

static int pg_script(struct vigil_store *s, const char *sql)
{
	return command(s, sql, PGRES_COMMAND_OK);
}

static int pg_begin(struct vigil_store *s)
{
	return command(s, "BEGIN", PGRES_COMMAND_OK);
}

static int pg_commit(struct vigil_store *s)
{
	struct pg_be *b = s->be;

	/* COMMIT of a failed transaction "succeeds" as a rollback; that is a failure here. */
	if (PQtransactionStatus(b->conn) != PQTRANS_INTRANS) {
		vigil_store_set_error(s, "postgresql: no transaction to commit");
		return -EIO;
	}
	return command(s, "COMMIT", PGRES_COMMAND_OK);
}

static int pg_rollback(struct vigil_store *s)
{
	struct pg_be *b = s->be;
	PGTransactionStatusType t = PQtransactionStatus(b->conn);

	if (t != PQTRANS_INTRANS && t != PQTRANS_INERROR)
		return 0;
	return command(s, "ROLLBACK", PGRES_COMMAND_OK);
}

static int pg_lock(struct vigil_store *s)
{
	return command(s, MIGRATION_LOCK, PGRES_TUPLES_OK);
}

/* Element type OIDs (pg_type.dat): the types the store's columns use. */
#define INT8OID 20
#define TEXTOID 25
#define BYTEAOID 17

static uint8_t *put32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
	return p + sizeof(v);
}

/*
 * A one-dimensional array in PostgreSQL's binary format (array_send()): dimensions, flags,
 * element type, then each element as a 32-bit length (-1: NULL) and its bytes; an int8 is 8
 * big-endian bytes, a text or bytea its bytes.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): a count and a spacing, named */
static int pg_array(enum vigil_sql_type type, const struct vigil_sql_value *vals, size_t n,
		    size_t stride, uint8_t **ret, size_t *ret_len)
{
	size_t len = 20;
	bool nulls = false;
	uint8_t *buf, *p;

	if (n > INT32_MAX || type == VIGIL_SQL_NULL)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		const struct vigil_sql_value *v = &vals[i * stride];

		if (v->type != VIGIL_SQL_NULL && v->type != type)
			return -EINVAL;
		nulls |= v->type == VIGIL_SQL_NULL;
		len += 4 + (v->type == VIGIL_SQL_NULL ? 0 : type == VIGIL_SQL_INT ? 8 : v->len);
		if (v->len > INT32_MAX || len > INT32_MAX)
			return -E2BIG;
	}
	buf = malloc(len);
	if (!buf)
		return -ENOMEM;
	p = put32(buf, 1);
	p = put32(p, nulls);
	p = put32(p, type == VIGIL_SQL_INT ? INT8OID : type == VIGIL_SQL_TEXT ? TEXTOID : BYTEAOID);
	p = put32(p, (uint32_t)n);
	p = put32(p, 1);
	for (size_t i = 0; i < n; i++) {
		const struct vigil_sql_value *v = &vals[i * stride];
		uint64_t be;

		if (v->type == VIGIL_SQL_NULL) {
			p = put32(p, UINT32_MAX);
		} else if (type == VIGIL_SQL_INT) {
			p = put32(p, 8);
			be = htobe64((uint64_t)v->i);
			memcpy(p, &be, sizeof(be));
			p += sizeof(be);
		} else {
			p = put32(p, (uint32_t)v->len);
			memcpy(p, v->p, v->len);
			p += v->len;
		}
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}

const struct vigil_store_ops vigil_store_pg_ops = {
	.name = "postgresql",
	.row_locks = true,
	.migrations = migrations,
	.migration_count = sizeof(migrations) / sizeof(migrations[0]),
	.open = pg_open,
	.close = pg_close,
	.exec = pg_exec,
	.script = pg_script,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.lock = pg_lock,
	.array = pg_array,
};
