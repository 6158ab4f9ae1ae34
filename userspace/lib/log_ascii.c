// SPDX-License-Identifier: MIT
/*
 * log_ascii.c: IMA's ASCII layout (ascii_runtime_measurements): print a record exactly as
 * ima_ascii_measurements_show() does, and parse such lines back into binary records.
 *
 * Printing follows the kernel byte for byte: "%2d " PCR, the template digest in lowercase hex,
 * " <template>", then for every field a space and, unless the field is empty, its text: digests
 * with an algorithm as "<prefix>:<hex>", strings up to their NUL, integers in decimal, anything
 * else in hex.
 *
 * Parsing turns each line into the record IMA would have written in binary, canonical
 * little-endian, in a buffer the log owns, and frames and checks it with the binary parser, so
 * both layouts share one set of rules. What cannot be rebuilt is described in log.h.
 *
 * Invariants: a formatted line always fits in vigil_log_record_ascii_size() bytes; a parsed log's
 * bytes are exactly the binary records of its lines, in order.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "log_internal.h"

/* Longest decimal text of an integer field (u64) and its separator. */
#define UINT_TEXT_MAX 21

/**
 * vigil_log_record_ascii_size() - room vigil_log_record_ascii() needs for a record
 * @log: the record's log
 * @rec: the record
 *
 * Return: an upper bound of the line's length, newline and terminating NUL included.
 */
size_t vigil_log_record_ascii_size(const struct vigil_log *log, const struct vigil_log_record *rec)
{
	return 3 + 2 * (size_t)log->digest_size + 1 + rec->name_len +
	       (size_t)VIGIL_LOG_FIELDS_MAX * (1 + UINT_TEXT_MAX) + 2 * (size_t)rec->data_len + 2;
}

static char *put_hex(char *out, const uint8_t *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		*out++ = digits[p[i] >> 4];
		*out++ = digits[p[i] & 15];
	}
	return out;
}

static char *put_bytes(char *out, const void *p, size_t n)
{
	memcpy(out, p, n);
	return out + n;
}

static char *put_uint(char *out, const struct vigil_log *log, const struct vigil_log_field *fld)
{
	const uint8_t *p = fld->data;
	bool be = log->big_endian;
	uint64_t v;

	switch (fld->len) {
	case 1:
		v = p[0];
		break;
	case 2:
		v = be ? (uint64_t)(p[0] << 8 | p[1]) : (uint64_t)(p[1] << 8 | p[0]);
		break;
	case 4:
		v = get_u32(p, be);
		break;
	case 8:
		v = get_u64(p, be);
		break;
	default:
		return out; /* IMA prints nothing for other sizes */
	}
	return out + sprintf(out, "%llu", (unsigned long long)v);
}

/* ima_show_template_data_ascii(): "<prefix up to the last ':'>" then the digest in hex. */
static char *put_digest_algo(char *out, const struct vigil_log_field *fld)
{
	const uint8_t *nul = memchr(fld->data, '\0', fld->len);
	size_t plen = nul ? (size_t)(nul - fld->data) : fld->len;

	out = put_bytes(out, fld->data, plen);
	if (!nul)
		return out;
	return put_hex(out, nul + 1, fld->len - plen - 1);
}

static char *put_field(char *out, const struct vigil_log *log, const struct vigil_log_field *fld)
{
	const uint8_t *nul;

	*out++ = ' ';
	if (fld->len == 0)
		return out;
	switch (vigil_log_field_kind(fld->id)) {
	case VIGIL_LOG_KIND_DIGEST_ALGO:
	case VIGIL_LOG_KIND_DIGEST_TYPE_ALGO:
		return put_digest_algo(out, fld);
	case VIGIL_LOG_KIND_STRING:
		nul = memchr(fld->data, '\0', fld->len);
		return put_bytes(out, fld->data, nul ? (size_t)(nul - fld->data) : fld->len);
	case VIGIL_LOG_KIND_UINT:
		return put_uint(out, log, fld);
	default:
		return put_hex(out, fld->data, fld->len);
	}
}

/*
 * Records without template data (ASCII input of an unknown template) keep their field text,
 * leading spaces included. Records of unknown binary templates show each field in hex, or, when
 * their data is no sequence of at most VIGIL_LOG_FIELDS_MAX length-prefixed fields, all of it
 * as one hex field: IMA never wrote such a record, so there is no layout to follow.
 */
static char *put_fields(char *out, const struct vigil_log *log, const struct vigil_log_record *rec)
{
	const uint8_t *data = vigil_log_record_data(log, rec);
	struct vigil_log_fields f;

	if (rec->flags & VIGIL_LOG_NO_DATA)
		return put_bytes(out, data, rec->data_len);
	if (vigil_log_record_fields(log, rec, &f) < 0) {
		*out++ = ' ';
		return put_hex(out, data, rec->data_len);
	}
	for (size_t i = 0; i < f.count; i++)
		out = put_field(out, log, &f.field[i]);
	return out;
}

/**
 * vigil_log_record_ascii() - a record as IMA's ascii_runtime_measurements prints it
 * @log: the record's log
 * @rec: the record
 * @buf: receives the line, newline included, NUL-terminated
 * @size: room in @buf; vigil_log_record_ascii_size() is always enough
 * @ret_len: on success, the line's length without the NUL
 *
 * Return: 0, or -ENOBUFS if @size is below vigil_log_record_ascii_size().
 */
int vigil_log_record_ascii(const struct vigil_log *log, const struct vigil_log_record *rec,
			   char *buf, size_t size, size_t *ret_len)
{
	char *out = buf;

	if (size < vigil_log_record_ascii_size(log, rec))
		return -ENOBUFS;
	out += sprintf(out, "%2u ", rec->pcr);
	out = put_hex(out, vigil_log_record_digest(log, rec), log->digest_size);
	*out++ = ' ';
	out = put_bytes(out, vigil_log_record_template(log, rec), rec->name_len);
	out = put_fields(out, log, rec);
	*out++ = '\n';
	*out = '\0';
	*ret_len = (size_t)(out - buf);
	return 0;
}

/* ---- parsing ---- */

/* The output being built: binary records, and the record array pointing into them. */
struct builder {
	uint8_t *buf;
	size_t len;
	size_t cap;
	struct vigil_log_record *records;
	size_t count;
	size_t rcap;
};

static void builder_free(struct builder *b)
{
	free(b->buf);
	free(b->records);
}

/* A line being parsed: the bytes not yet consumed. */
struct cursor {
	const char *p;
	const char *end;
};

static int grow(void **mem, size_t elem, size_t *cap, size_t need)
{
	size_t want = *cap ? *cap : 4096;
	void *n;

	if (need <= *cap)
		return 0;
	while (want < need)
		want *= 2;
	n = reallocarray(*mem, want, elem);
	if (!n)
		return -ENOMEM;
	*mem = n;
	*cap = want;
	return 0;
}

/* " <token>": a space, then everything up to the next space or the end of the line. */
static int next_field(struct cursor *c, struct cursor *ret)
{
	const char *sp;

	if (c->p == c->end || *c->p != ' ')
		return -ENOMSG;
	c->p++;
	sp = memchr(c->p, ' ', (size_t)(c->end - c->p));
	*ret = (struct cursor){ c->p, sp ? sp : c->end };
	c->p = ret->end;
	return 0;
}

/* "%2d": " 0".." 9" or "10".."23". */
static int parse_pcr(struct cursor *c, uint32_t *ret)
{
	const char *p = c->p;

	if (c->end - p < 2 || p[1] < '0' || p[1] > '9')
		return -ENOMSG;
	if (p[0] == ' ')
		*ret = (uint32_t)(p[1] - '0');
	else if (p[0] >= '1' && p[0] <= '9')
		*ret = (uint32_t)((p[0] - '0') * 10 + p[1] - '0');
	else
		return -ENOMSG;
	c->p += 2;
	return *ret < PCR_LIMIT ? 0 : -ECHRNG;
}

/* IMA prints lowercase hex only; anything else is not its output. */
static int lower_hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Hex text to bytes at the end of @b; @want: the exact number of bytes, or SIZE_MAX for any. */
static int put_hex_text(struct builder *b, struct cursor tok, size_t want)
{
	size_t n = (size_t)(tok.end - tok.p);

	if (n % 2 || (want != SIZE_MAX && n != 2 * want))
		return -ENOMSG;
	for (size_t i = 0; i < n; i += 2) {
		int hi = lower_hex_value(tok.p[i]), lo = lower_hex_value(tok.p[i + 1]);

		if (hi < 0 || lo < 0)
			return -ENOMSG;
		b->buf[b->len++] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

/* "<prefix>:<hex>" back to "<prefix>:\0" + digest. */
static int put_digest_text(struct builder *b, struct cursor tok)
{
	const char *colon = NULL;

	for (const char *p = tok.p; p < tok.end; p++)
		if (*p == ':')
			colon = p;
	if (!colon)
		return -ENOMSG;
	memcpy(b->buf + b->len, tok.p, (size_t)(colon + 1 - tok.p));
	b->len += (size_t)(colon + 1 - tok.p);
	b->buf[b->len++] = '\0';
	return put_hex_text(b, (struct cursor){ colon + 1, tok.end }, SIZE_MAX);
}

static int put_uint_text(struct builder *b, struct cursor tok, size_t size)
{
	uint64_t v = 0;

	/* canonical decimal, as "%u" prints it: no sign, no leading zero */
	if (tok.p == tok.end || tok.end - tok.p > 20 || (tok.p[0] == '0' && tok.end - tok.p > 1))
		return -ENOMSG;
	for (const char *p = tok.p; p < tok.end; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - (uint64_t)(*p - '0')) / 10)
			return -ENOMSG;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (size < 8 && v >> (8 * size))
		return -ENOMSG;
	for (size_t i = 0; i < size; i++)
		b->buf[b->len++] = (uint8_t)(v >> (8 * i));
	return 0;
}

/* One field's bytes (without its length prefix) from its text. */
static int put_field_text(struct builder *b, enum vigil_log_field_id id, struct cursor tok)
{
	size_t n = (size_t)(tok.end - tok.p);

	if (n == 0)
		return 0; /* IMA prints nothing for an empty field */
	switch (vigil_log_field_kind(id)) {
	case VIGIL_LOG_KIND_DIGEST_ALGO:
	case VIGIL_LOG_KIND_DIGEST_TYPE_ALGO:
		return put_digest_text(b, tok);
	case VIGIL_LOG_KIND_STRING:
		memcpy(b->buf + b->len, tok.p, n);
		b->len += n;
		b->buf[b->len++] = '\0';
		return 0;
	case VIGIL_LOG_KIND_UINT:
		return put_uint_text(b, tok, vigil_log_field_uint_size(id));
	default:
		return put_hex_text(b, tok, SIZE_MAX);
	}
}

/* Template "ima": d[20], then u32 length + name without NUL, and no data_len before them. */
static int put_ima_data(struct builder *b, struct cursor *c)
{
	struct cursor d, n;
	int r;

	r = next_field(c, &d);
	if (r == 0)
		r = next_field(c, &n);
	if (r == 0)
		r = put_hex_text(b, d, IMA_D_SIZE);
	if (r < 0)
		return r;
	put_le32(b->buf + b->len, (uint32_t)(n.end - n.p));
	b->len += 4;
	memcpy(b->buf + b->len, n.p, (size_t)(n.end - n.p));
	b->len += (size_t)(n.end - n.p);
	return 0;
}

/* Fields of a known template: one token each, each given its u32 length in front. */
static int put_known_data(struct builder *b, struct cursor *c, const enum vigil_log_field_id *ids,
			  size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct cursor tok;
		size_t at = b->len;
		int r;

		r = next_field(c, &tok);
		if (r < 0)
			return r;
		b->len += 4;
		r = put_field_text(b, ids[i], tok);
		if (r < 0)
			return r;
		put_le32(b->buf + at, (uint32_t)(b->len - at - 4));
	}
	return 0;
}

/* Unknown template: keep the field text as it is, leading space included. */
static void put_raw_text(struct builder *b, struct cursor *c, unsigned int *flags)
{
	memcpy(b->buf + b->len, c->p, (size_t)(c->end - c->p));
	b->len += (size_t)(c->end - c->p);
	c->p = c->end;
	*flags |= VIGIL_LOG_NO_DATA;
}

/* The template data of a line, after its template name @name. */
static int put_data(struct builder *b, struct cursor *c, struct cursor name, unsigned int *flags)
{
	enum vigil_log_field_id ids[VIGIL_LOG_FIELDS_MAX];
	size_t nlen = (size_t)(name.end - name.p), at, n;
	int r = 0;

	if (vigil_log_template_lookup(name.p, nlen) == VIGIL_LOG_TEMPLATE_IMA) {
		r = put_ima_data(b, c);
	} else {
		at = b->len;
		b->len += 4;
		if (vigil_log_template_fields(name.p, nlen, ids, &n) == 0)
			r = put_known_data(b, c, ids, n);
		else
			put_raw_text(b, c, flags);
		put_le32(b->buf + at, (uint32_t)(b->len - at - 4));
	}
	if (r == 0 && c->p != c->end)
		return -ENOMSG; /* more fields than the template has */
	return r;
}

/* A line (without its newline) as a binary record at the end of @b's bytes. */
static int put_record(struct builder *b, struct cursor c, size_t dsize, unsigned int *flags)
{
	struct cursor digest, name;
	uint32_t pcr;
	int r;

	r = parse_pcr(&c, &pcr);
	if (r < 0)
		return r;
	r = next_field(&c, &digest);
	if (r == 0)
		r = next_field(&c, &name);
	if (r < 0)
		return r;
	if (name.end == name.p || name.end - name.p > VIGIL_LOG_TEMPLATE_NAME_MAX)
		return -EILSEQ;
	put_le32(b->buf + b->len, pcr);
	b->len += 4;
	r = put_hex_text(b, digest, dsize);
	if (r < 0)
		return r;
	put_le32(b->buf + b->len, (uint32_t)(name.end - name.p));
	b->len += 4;
	memcpy(b->buf + b->len, name.p, (size_t)(name.end - name.p));
	b->len += (size_t)(name.end - name.p);
	return put_data(b, &c, name, flags);
}

/*
 * Rebuild one line's record, then frame and check it as binary. Room: every field's text turns
 * into at most as many bytes plus a 4-byte length and a NUL, the rest into less than 600 bytes.
 */
static int add_line(struct builder *b, struct vigil_log *view, struct cursor line,
		    uint32_t max_data)
{
	size_t at = b->len, bad;
	size_t room = (size_t)(line.end - line.p) + 5 * (size_t)VIGIL_LOG_FIELDS_MAX + 600;
	struct vigil_log_record rec = { 0 };
	unsigned int flags = 0;
	int r;

	if (grow((void **)&b->buf, 1, &b->cap, b->len + room) < 0 ||
	    grow((void **)&b->records, sizeof(*b->records), &b->rcap, b->count + 1) < 0)
		return -ENOMEM;
	r = put_record(b, line, view->digest_size, &flags);
	view->data = b->buf;
	view->size = b->len;
	if (r == 0)
		r = vigil_log_frame(view, at, max_data, &rec, &bad);
	if (r == 0 && !flags)
		r = vigil_log_fields_check(view, &rec, &bad);
	if (r < 0) {
		b->len = at;
		return r;
	}
	rec.flags |= (uint8_t)flags;
	b->records[b->count++] = rec;
	return 0;
}

static int add_lines(struct builder *b, struct vigil_log *view, const struct vigil_log_iter *lim,
		     const char *text, size_t len, struct vigil_log_error *err)
{
	size_t pos = 0;
	int r = 0;

	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);

		if (!nl)
			r = -EBADMSG;
		else if (b->count >= lim->max_records)
			r = -E2BIG;
		else
			r = add_line(b, view, (struct cursor){ text + pos, nl }, lim->max_data);
		if (r < 0) {
			if (err)
				*err = (struct vigil_log_error){ pos, b->count, b->count + 1 };
			return r;
		}
		pos = (size_t)(nl + 1 - text);
	}
	return 0;
}

/* Whole-text checks: empty (unless allowed), or a NUL byte, which IMA never prints. */
static int check_text(const char *text, size_t len, const struct vigil_log_options *opts,
		      struct vigil_log_error *err)
{
	const char *nul = len ? memchr(text, '\0', len) : NULL;
	size_t lines = 0;

	if (len && !nul)
		return 0;
	if (!len && opts && (opts->flags & VIGIL_LOG_ALLOW_EMPTY))
		return 0;
	for (const char *p = text; p < nul; p++)
		lines += *p == '\n';
	if (err)
		*err = (struct vigil_log_error){ (size_t)(nul ? nul - text : 0), lines, lines + 1 };
	return nul ? -ENOMSG : -ENODATA;
}

/**
 * vigil_log_parse_ascii() - parse IMA's ASCII measurement list
 * @text: ascii_runtime_measurements (or a per-bank twin); need not be NUL-terminated
 * @len: its length
 * @opts: the bank of the template digests and the bounds; NULL for the defaults. The byte
 *	order is ignored: records are rebuilt canonical little-endian.
 * @ret: on success, the log, with its own binary bytes; free with vigil_log_free()
 * @err: if not NULL, on failure: the byte offset of the line, its number and the record index
 *
 * Every line must end in a newline. Records are rebuilt as described in log.h, then checked
 * exactly like binary ones.
 *
 * Return: 0, or a negative errno: those of vigil_log_parse(), and -ENOMSG for a line that is not
 * "%2d <hex digest> <template>[ <field>]*" with the template's number of fields, valid hex and
 * digests, or for a NUL byte anywhere. @ret is written only on success.
 */
int vigil_log_parse_ascii(const char *text, size_t len, const struct vigil_log_options *opts,
			  struct vigil_log **ret, struct vigil_log_error *err)
{
	_cleanup_(builder_free) struct builder b = { 0 };
	struct vigil_log_iter lim;
	struct vigil_log *log;
	int r;

	r = vigil_log_iter_init(&lim, NULL, 0, opts);
	if (r < 0)
		return r;
	lim.log.big_endian = false;
	r = check_text(text, len, opts, err);
	if (r == 0)
		r = add_lines(&b, &lim.log, &lim, text, len, err);
	if (r < 0)
		return r;
	log = malloc(sizeof(*log));
	if (!log)
		return -ENOMEM;
	*log = lim.log;
	log->count = b.count;
	log->records = TAKE_PTR(b.records);
	log->owned = TAKE_PTR(b.buf);
	log->data = log->owned;
	*ret = log;
	return 0;
}
