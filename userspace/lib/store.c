// SPDX-License-Identifier: MIT
/*
 * store.c: the backend-neutral edge of the fleet database: which backend a URI names, opening
 * and closing a store, device state names and ids, the bounds every write is checked against,
 * and the fixed binary layout of a cursor's PCR banks (docs/fleet-format.md, "Database").
 *
 * Invariants: nothing reaches a backend unchecked: ids are validated (-EINVAL), strings longer
 * than the structures that read them back are refused (-E2BIG), enums and bank sizes are
 * range-checked; a store is returned only after its schema is at VIGIL_STORE_SCHEMA_VERSION.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "store_internal.h"

static const char *const state_names[] = {
	[VIGIL_DEVICE_REGISTERED] = "registered", [VIGIL_DEVICE_ENROLLED] = "enrolled",
	[VIGIL_DEVICE_TRUSTED] = "trusted",	  [VIGIL_DEVICE_UNTRUSTED] = "untrusted",
	[VIGIL_DEVICE_MISSED] = "missed",
};

/**
 * vigil_device_state_name() - the name of a device state (an interface: protocol, CLI)
 * @s: the state
 *
 * Return: "registered", "enrolled", "trusted", "untrusted", "missed", or "unknown".
 */
const char *vigil_device_state_name(enum vigil_device_state s)
{
	if ((unsigned int)s >= sizeof(state_names) / sizeof(state_names[0]))
		return "unknown";
	return state_names[s];
}

static bool id_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/**
 * vigil_device_id_valid() - whether a string may name a device
 * @id: the candidate, or NULL
 *
 * A device id is also the CN of its TLS client certificate and appears in file names and
 * URLs, so it is kept to 1..VIGIL_DEVICE_ID_MAX characters of [A-Za-z0-9._-], not starting
 * with '.' or '-'.
 *
 * Return: true if it is valid.
 */
bool vigil_device_id_valid(const char *id)
{
	size_t i;

	if (!id || !id[0] || id[0] == '.' || id[0] == '-')
		return false;
	for (i = 0; id[i]; i++)
		if (i >= VIGIL_DEVICE_ID_MAX || !id_char(id[i]))
			return false;
	return true;
}

/* Which backend @uri names, and what to hand it: a libpq URI whole, a SQLite path bare. */
static int backend_of(const char *uri, const struct vigil_store_ops **ret_ops,
		      const char **ret_target)
{
	const char *target = uri;

	if (!strncmp(uri, "postgresql://", 13) || !strncmp(uri, "postgres://", 11)) {
		*ret_ops = &vigil_store_pg_ops;
		*ret_target = uri;
		return 0;
	}
	if (!strncmp(uri, "sqlite:", 7))
		target = uri + 7;
	if (!target[0] || strstr(uri, "://"))
		return -EINVAL;
	*ret_ops = &vigil_store_sqlite_ops;
	*ret_target = target;
	return 0;
}

/**
 * vigil_store_open() - open (and create or migrate) a fleet database
 * @uri: "sqlite:PATH", a plain PATH (SQLite; the file is created mode 0600), or a
 *	"postgresql://" / "postgres://" libpq URI
 * @ret: on success, the store; vigil_store_close() it
 *
 * Runs every schema migration the database lacks, each in its own transaction; concurrent
 * first opens by several processes are serialised (SQLite: the write lock; PostgreSQL: an
 * advisory lock).
 *
 * Return: 0; -EINVAL (a URI naming no backend); -EPROTO (the database's schema is newer than
 * this build); -EIO (the backend failed; nothing is returned, so its message is lost: open
 * with vigil_store_open_err() to keep it); -errno of creating the SQLite file (-ENOENT,
 * -EACCES, ...); -ENOMEM.
 */
int vigil_store_open(const char *uri, struct vigil_store **ret)
{
	return vigil_store_open_err(uri, ret, NULL, 0);
}

/**
 * vigil_store_open_err() - vigil_store_open(), keeping the reason of a failure
 * @uri: as for vigil_store_open()
 * @ret: as for vigil_store_open()
 * @err: on failure, the backend's message or what was wrong, NUL-terminated ("" if none);
 *	may be NULL
 * @err_size: its size
 *
 * Return: as vigil_store_open().
 */
int vigil_store_open_err(const char *uri, struct vigil_store **ret, char *err, size_t err_size)
{
	_cleanup_(vigil_store_closep) struct vigil_store *s = NULL;
	const struct vigil_store_ops *ops;
	const char *target;
	int r;

	if (err && err_size)
		err[0] = '\0';
	if (!uri || backend_of(uri, &ops, &target) < 0)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = ops->open(s, target);
	if (r >= 0) {
		s->ops = ops;
		r = vigil_store_migrate(s);
	}
	if (r < 0) {
		if (err && err_size)
			snprintf(err, err_size, "%s", s->error);
		return r;
	}
	*ret = TAKE_PTR(s);
	return 0;
}

/**
 * vigil_store_close() - close a store and free it
 * @s: the store, or NULL
 */
void vigil_store_close(struct vigil_store *s)
{
	if (!s)
		return;
	if (s->ops)
		s->ops->close(s);
	free(s);
}

/**
 * vigil_store_closep() - vigil_store_close() for _cleanup_()
 * @s: the store variable; NULL afterwards
 */
void vigil_store_closep(struct vigil_store **s)
{
	vigil_store_close(*s);
	*s = NULL;
}

/**
 * vigil_store_error() - the backend's message for the last -EIO (or constraint) failure
 * @s: the store
 *
 * Return: the message, "" if there was none; valid until the next call on @s.
 */
const char *vigil_store_error(const struct vigil_store *s)
{
	return s->error;
}

/**
 * vigil_store_set_error() - keep a backend's message for vigil_store_error()
 * @s: the store
 * @fmt: printf format
 */
void vigil_store_set_error(struct vigil_store *s, const char *fmt, ...)
{
	va_list ap;
	size_t len;

	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	/* Backends end their messages with a newline; the caller adds its own context. */
	len = strlen(s->error);
	while (len && (s->error[len - 1] == '\n' || s->error[len - 1] == ' '))
		s->error[--len] = '\0';
}

/**
 * vigil_store_text_check() - whether a string fits a bound
 * @text: the string (NULL is treated as "")
 * @max: the most characters allowed
 *
 * Return: 0, or -E2BIG when it is longer than @max.
 */
int vigil_store_text_check(const char *text, size_t max)
{
	if (text && strnlen(text, max + 1) > max)
		return -E2BIG;
	return 0;
}

static int cursor_check(const struct vigil_cursor *c)
{
	uint32_t i;

	if (c->bank_count > VIGIL_BANKS_MAX)
		return -EINVAL;
	for (i = 0; i < c->bank_count; i++)
		if (!c->banks[i].size || c->banks[i].size > sizeof(c->banks[i].value))
			return -EINVAL;
	return 0;
}

/**
 * vigil_store_device_check() - whether a device may be written as it is
 * @d: the device
 *
 * Return: 0; -EINVAL (bad id, mode, state, cursor banks or AK length); -E2BIG (a string
 * longer than its field in struct vigil_device).
 */
int vigil_store_device_check(const struct vigil_device *d)
{
	if (!vigil_device_id_valid(d->id))
		return -EINVAL;
	if (d->mode != VIGIL_MODE_PUSH && d->mode != VIGIL_MODE_PULL)
		return -EINVAL;
	if ((unsigned int)d->state > VIGIL_DEVICE_MISSED || d->ak_public_len > sizeof(d->ak_public))
		return -EINVAL;
	if (vigil_store_text_check(d->address, sizeof(d->address) - 1) < 0 ||
	    vigil_store_text_check(d->policy, sizeof(d->policy) - 1) < 0 ||
	    vigil_store_text_check(d->last_reason, sizeof(d->last_reason) - 1) < 0)
		return -E2BIG;
	return cursor_check(&d->cursor);
}

/**
 * vigil_store_banks_encode() - a cursor's banks in their stored layout
 * @c: the cursor
 * @buf: where to write them
 * @size: its size (VIGIL_STORE_BANKS_BLOB_MAX always suffices)
 * @ret_len: on success, the bytes written
 *
 * The layout (docs/fleet-format.md): per bank, in order, the algorithm id as 2 bytes
 * little-endian, the value's size as 1 byte (1..64), then the value; nothing else.
 *
 * Return: 0; -EINVAL (more than VIGIL_BANKS_MAX banks, a size out of range); -ENOBUFS.
 */
int vigil_store_banks_encode(const struct vigil_cursor *c, uint8_t *buf, size_t size,
			     size_t *ret_len)
{
	size_t len = 0;
	uint32_t i;

	if (cursor_check(c) < 0)
		return -EINVAL;
	for (i = 0; i < c->bank_count; i++) {
		if (size - len < 3u + c->banks[i].size)
			return -ENOBUFS;
		buf[len++] = (uint8_t)(c->banks[i].alg & 0xff);
		buf[len++] = (uint8_t)(c->banks[i].alg >> 8);
		buf[len++] = c->banks[i].size;
		memcpy(buf + len, c->banks[i].value, c->banks[i].size);
		len += c->banks[i].size;
	}
	*ret_len = len;
	return 0;
}

/**
 * vigil_store_banks_decode() - a cursor's banks from their stored layout
 * @buf: the stored bytes
 * @len: their length
 * @ret: on success, its @bank_count and @banks are set (unused values zeroed)
 *
 * Return: 0, or -EBADMSG when the bytes are not exactly a sequence of valid banks.
 */
int vigil_store_banks_decode(const uint8_t *buf, size_t len, struct vigil_cursor *ret)
{
	struct vigil_cursor c = { 0 };
	size_t off = 0;

	while (off < len) {
		if (c.bank_count >= VIGIL_BANKS_MAX || len - off < 3)
			return -EBADMSG;
		c.banks[c.bank_count].alg = (uint16_t)(buf[off] | buf[off + 1] << 8);
		c.banks[c.bank_count].size = buf[off + 2];
		off += 3;
		if (!c.banks[c.bank_count].size || c.banks[c.bank_count].size > 64 ||
		    len - off < c.banks[c.bank_count].size)
			return -EBADMSG;
		memcpy(c.banks[c.bank_count].value, buf + off, c.banks[c.bank_count].size);
		off += c.banks[c.bank_count].size;
		c.bank_count++;
	}
	ret->bank_count = c.bank_count;
	memcpy(ret->banks, c.banks, sizeof(c.banks));
	return 0;
}

/**
 * vigil_attestations_free() - free what vigil_store_history() returned
 * @a: the array, or NULL
 * @count: its length
 */
void vigil_attestations_free(struct vigil_attestation *a, size_t count)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < count; i++)
		free(a[i].verdict);
	free(a);
}

/**
 * vigil_alerts_free() - free what vigil_store_alerts_due() returned
 * @a: the array, or NULL
 * @count: its length
 */
void vigil_alerts_free(struct vigil_alert *a, size_t count)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < count; i++)
		free(a[i].jws);
	free(a);
}
