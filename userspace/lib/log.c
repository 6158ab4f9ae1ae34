// SPDX-License-Identifier: MIT
/*
 * log.c: the binary measurement log (IMA's binary_runtime_measurements framing): frame records,
 * walk them with an iterator, collect them into a struct vigil_log. Layout, byte order rule and
 * limits are described in log.h.
 *
 * The parser trusts nothing in its input: every length is checked against the bytes that are
 * left before it is used, and against its limit before anything is sized from it, so a claimed
 * length of 4 GiB costs nothing but its rejection. A record is accepted only whole and with its
 * fields checked (log_fields.c), so a log either parses completely or not at all.
 *
 * Invariants: every record of a returned log lies inside log->data, with pcr < 24, a template
 * name of 1..255 printable bytes and data_len <= the bound in force; records are in input order
 * and cover the input exactly, with no gap and nothing after the last one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <tss2/tss2_tpm2_types.h>

#include "attest.h"
#include "cleanup.h"
#include "log_internal.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* Template names are printed in the ASCII log and used as JSON strings: printable, no space. */
static bool name_ok(const uint8_t *name, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (name[i] <= ' ' || name[i] > '~')
			return false;
	return true;
}

/* Template "ima" has no data_len: its data is d[20], then u32 length + name without NUL. */
static int frame_ima(const struct vigil_log *log, size_t pos, size_t head,
		     struct vigil_log_record *rec, size_t *ret_bad)
{
	const uint8_t *p = log->data + pos + head;
	size_t left = log->size - pos - head;
	uint32_t nlen;

	if (left < IMA_D_SIZE + 4) {
		*ret_bad = pos;
		return -EBADMSG;
	}
	nlen = get_u32(p + IMA_D_SIZE, log->big_endian);
	if (nlen > VIGIL_LOG_IMA_NAME_MAX) {
		*ret_bad = pos + head + IMA_D_SIZE;
		return -ENAMETOOLONG;
	}
	rec->data_len = IMA_D_SIZE + 4 + nlen;
	rec->data_off = (uint16_t)head;
	return 0;
}

static int frame_data(const struct vigil_log *log, size_t pos, size_t head,
		      struct vigil_log_record *rec, uint32_t max_data, size_t *ret_bad)
{
	if (log->size - pos - head < 4) {
		*ret_bad = pos;
		return -EBADMSG;
	}
	rec->data_len = get_u32(log->data + pos + head, log->big_endian);
	rec->data_off = (uint16_t)(head + 4);
	if (rec->data_len > max_data) {
		*ret_bad = pos + head;
		return -EFBIG;
	}
	return 0;
}

/* The part before the template data: PCR, template digest and template name. */
static int frame_head(const struct vigil_log *log, size_t pos, struct vigil_log_record *rec,
		      size_t *ret_bad)
{
	const uint8_t *p = log->data + pos;
	size_t left = log->size - pos, dsize = log->digest_size;
	uint32_t nlen;

	*ret_bad = pos;
	if (left < 8 + dsize)
		return -EBADMSG;
	rec->pcr = get_u32(p, log->big_endian);
	if (rec->pcr >= PCR_LIMIT)
		return -ECHRNG;
	nlen = get_u32(p + 4 + dsize, log->big_endian);
	*ret_bad = pos + 4 + dsize;
	if (nlen == 0 || nlen > VIGIL_LOG_TEMPLATE_NAME_MAX)
		return -EILSEQ;
	if (left - 8 - dsize < nlen) {
		*ret_bad = pos;
		return -EBADMSG;
	}
	if (!name_ok(p + 8 + dsize, nlen))
		return -EILSEQ;
	rec->name_len = (uint8_t)nlen;
	rec->template = (uint8_t)vigil_log_template_lookup((const char *)p + 8 + dsize, nlen);
	rec->flags = all_zero(p + 4, dsize) ? VIGIL_LOG_VIOLATION : 0;
	return 0;
}

/**
 * vigil_log_frame() - frame the record at @pos of @log (internal)
 * @log: the bytes, digest size and byte order
 * @pos: where the record starts, <= @log->size
 * @max_data: largest template data accepted
 * @ret: on success, the record
 * @ret_bad: on failure, the offset of the problem
 *
 * Checks the framing and the template name only, not the fields (vigil_log_fields_check()).
 *
 * Return: 0, -EBADMSG (bytes end inside the record), -ECHRNG, -EILSEQ, -ENAMETOOLONG, -EFBIG.
 */
int vigil_log_frame(const struct vigil_log *log, size_t pos, uint32_t max_data,
		    struct vigil_log_record *ret, size_t *ret_bad)
{
	struct vigil_log_record rec = { .offset = pos };
	size_t head = 8 + (size_t)log->digest_size;
	int r;

	r = frame_head(log, pos, &rec, ret_bad);
	if (r < 0)
		return r;
	head += rec.name_len;
	if (rec.template == VIGIL_LOG_TEMPLATE_IMA)
		r = frame_ima(log, pos, head, &rec, ret_bad);
	else
		r = frame_data(log, pos, head, &rec, max_data, ret_bad);
	if (r < 0)
		return r;
	if (rec.data_len > max_data) {
		*ret_bad = pos + rec.data_off;
		return -EFBIG;
	}
	if (log->size - pos - rec.data_off < rec.data_len) {
		*ret_bad = pos;
		return -EBADMSG;
	}
	*ret = rec;
	return 0;
}

/* Little-endian unless the first record is plausible only big-endian (log.h). */
static bool looks_big_endian(const uint8_t *buf, size_t len, size_t dsize)
{
	uint32_t pcr_le, pcr_be, name_le, name_be;

	if (len < 8 + dsize)
		return false;
	pcr_le = get_u32(buf, false);
	pcr_be = get_u32(buf, true);
	name_le = get_u32(buf + 4 + dsize, false);
	name_be = get_u32(buf + 4 + dsize, true);
	if (pcr_le < PCR_LIMIT && name_le >= 1 && name_le <= VIGIL_LOG_TEMPLATE_NAME_MAX)
		return false;
	return pcr_be < PCR_LIMIT && name_be >= 1 && name_be <= VIGIL_LOG_TEMPLATE_NAME_MAX;
}

/**
 * vigil_log_iter_init() - start a walk over a binary log
 * @it: the iterator to set up
 * @buf: the log's bytes; must outlive the walk
 * @len: their number
 * @opts: digest bank, byte order and bounds; NULL for the defaults
 *
 * The walk allocates nothing. @it->log describes the bytes for the vigil_log_record_*()
 * accessors; its byte order is settled here (log.h: VIGIL_LOG_ENDIAN_AUTO). An empty buffer is
 * a walk of no records (VIGIL_LOG_ALLOW_EMPTY concerns vigil_log_parse() only).
 *
 * Return: 0, or -EINVAL for an unknown @opts->tpm_alg, byte order or flag.
 */
int vigil_log_iter_init(struct vigil_log_iter *it, const void *buf, size_t len,
			const struct vigil_log_options *opts)
{
	static const struct vigil_log_options defaults;
	uint16_t alg;
	size_t dsize;

	if (!opts)
		opts = &defaults;
	alg = opts->tpm_alg ? opts->tpm_alg : TPM2_ALG_SHA1;
	dsize = vigil_hash_size(alg);
	if (!dsize || (unsigned int)opts->endian > VIGIL_LOG_ENDIAN_BIG ||
	    (opts->flags & ~VIGIL_LOG_ALLOW_EMPTY))
		return -EINVAL;
	*it = (struct vigil_log_iter){
		.log = { .data = buf, .size = len, .tpm_alg = alg, .digest_size = (uint8_t)dsize },
		.max_records = opts->max_records ? opts->max_records : VIGIL_LOG_RECORDS_MAX,
		.max_data = opts->max_data ? opts->max_data : VIGIL_LOG_DATA_MAX,
	};
	if (opts->endian == VIGIL_LOG_ENDIAN_AUTO)
		it->log.big_endian = looks_big_endian(buf, len, dsize);
	else
		it->log.big_endian = opts->endian == VIGIL_LOG_ENDIAN_BIG;
	return 0;
}

/**
 * vigil_log_iter_next() - the next record of a walk
 * @it: the iterator
 * @ret: on success (1), the record; its accessors take &@it->log
 * @err: if not NULL, on failure: where and in which record the problem is
 *
 * A record is returned only when it is complete and its fields check out. After an error the
 * iterator stays at the bad record, so calling again returns the same error.
 *
 * Return: 1 and a record; 0 at the end of the bytes; or a negative errno of vigil_log_parse().
 */
int vigil_log_iter_next(struct vigil_log_iter *it, struct vigil_log_record *ret,
			struct vigil_log_error *err)
{
	struct vigil_log_record rec;
	size_t bad = it->pos;
	int r;

	if (it->pos == it->log.size)
		return 0;
	if (it->index >= it->max_records)
		r = -E2BIG;
	else
		r = vigil_log_frame(&it->log, it->pos, it->max_data, &rec, &bad);
	if (r == 0)
		r = vigil_log_fields_check(&it->log, &rec, &bad);
	if (r < 0) {
		if (err)
			*err = (struct vigil_log_error){ .offset = bad, .record = it->index };
		return r;
	}
	it->pos += rec.data_off + (size_t)rec.data_len;
	it->index++;
	*ret = rec;
	return 1;
}

/* Grow @records to hold at least @need entries; doubling keeps appends amortised O(1). */
static int reserve(struct vigil_log_record **records, size_t *cap, size_t need)
{
	struct vigil_log_record *n;
	size_t want = *cap ? *cap : 1024;

	if (need <= *cap)
		return 0;
	while (want < need)
		want *= 2;
	n = reallocarray(*records, want, sizeof(**records));
	if (!n)
		return -ENOMEM;
	*records = n;
	*cap = want;
	return 0;
}

static int collect(struct vigil_log_iter *it, struct vigil_log_record **records, size_t *count,
		   struct vigil_log_error *err)
{
	struct vigil_log_record rec;
	size_t cap = 0;
	int r;

	while ((r = vigil_log_iter_next(it, &rec, err)) > 0) {
		if (reserve(records, &cap, *count + 1) < 0) {
			if (err)
				*err = (struct vigil_log_error){ it->pos, it->index, 0 };
			return -ENOMEM;
		}
		(*records)[(*count)++] = rec;
	}
	return r;
}

/**
 * vigil_log_parse() - parse a binary measurement log
 * @buf: the log's bytes (binary_runtime_measurements or a per-bank file); must outlive the log
 * @len: their number
 * @opts: digest bank, byte order, bounds; NULL for the defaults (log.h)
 * @ret: on success, the log; free with vigil_log_free()
 * @err: if not NULL, on failure: the byte offset and record index of the problem
 *
 * The records point into @buf; nothing is copied.
 *
 * Return: 0, or a negative errno (vigil_log_strerror() describes each): -EINVAL (bad @opts),
 * -ENODATA (empty, unless VIGIL_LOG_ALLOW_EMPTY), -EBADMSG (truncated record or trailing
 * bytes), -ECHRNG, -EILSEQ, -EFBIG, -E2BIG, -EPROTO, -EPROTONOSUPPORT, -EMSGSIZE,
 * -ENAMETOOLONG, -ENOSTR, -ENOMEM. @ret is written only on success.
 */
int vigil_log_parse(const void *buf, size_t len, const struct vigil_log_options *opts,
		    struct vigil_log **ret, struct vigil_log_error *err)
{
	_cleanup_free_ struct vigil_log_record *records = NULL;
	struct vigil_log_iter it;
	struct vigil_log *log;
	size_t count = 0;
	int r;

	r = vigil_log_iter_init(&it, buf, len, opts);
	if (r < 0)
		return r;
	if (len == 0 && !(opts && (opts->flags & VIGIL_LOG_ALLOW_EMPTY))) {
		if (err)
			*err = (struct vigil_log_error){ 0 };
		return -ENODATA;
	}
	r = collect(&it, &records, &count, err);
	if (r < 0)
		return r;
	log = malloc(sizeof(*log));
	if (!log)
		return -ENOMEM;
	*log = it.log;
	log->count = count;
	log->records = TAKE_PTR(records);
	*ret = log;
	return 0;
}

/**
 * vigil_log_free() - release a log
 * @log: a log from vigil_log_parse() or vigil_log_parse_ascii(), or NULL
 */
void vigil_log_free(struct vigil_log *log)
{
	if (!log)
		return;
	free(log->records);
	free(log->owned);
	free(log);
}

/**
 * vigil_log_freep() - vigil_log_free() for _cleanup_(vigil_log_freep) variables
 * @log: pointer to the variable
 */
void vigil_log_freep(struct vigil_log **log)
{
	vigil_log_free(*log);
}

/**
 * vigil_log_strerror() - describe an error of the log parsers
 * @err: the (negative) return value; a positive errno is accepted too
 *
 * Return: a static description; strerror()'s for errnos the parsers do not give a meaning.
 */
const char *vigil_log_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ENODATA:
		return "the log is empty";
	case EBADMSG:
		return "the log ends inside a record (truncated, or trailing bytes)";
	case ECHRNG:
		return "PCR index is 24 or more";
	case EILSEQ:
		return "template name is empty, longer than 255 bytes or not printable ASCII";
	case EFBIG:
		return "template data is larger than the limit";
	case E2BIG:
		return "more records than the limit";
	case EPROTO:
		return "template data does not split into the template's fields";
	case EPROTONOSUPPORT:
		return "digest field does not name a known hash algorithm";
	case EMSGSIZE:
		return "field has the wrong size for its type";
	case ENAMETOOLONG:
		return "file name is too long";
	case ENOSTR:
		return "file name is not one NUL-terminated string";
	case ENOMSG:
		return "line is not in the ascii_runtime_measurements layout";
	default:
		return strerror(err < 0 ? -err : err);
	}
}
