/* SPDX-License-Identifier: MIT */
/*
 * log.h: IMA measurement logs in libvigil: a bounded, streaming parser of the binary and ASCII
 * layouts (vigil.ko's and in-kernel IMA's), field decoding and the ASCII line of a record.
 *
 * A parsed log is the input bytes plus a compact array of records that point into them by
 * offset, so a million-record log costs one array, never a copy or allocation per record.
 * vigil_log_iter_*() walk the same bytes without building the array (no allocation at all).
 *
 * Binary layout (formats-and-peers.md §2.4), integers in the log's byte order:
 *	u32 pcr; u8 template_digest[D]; u32 name_len; char name[name_len];
 *	u32 data_len; u8 data[data_len]		(no data_len for template "ima": see below)
 * D is 20 in binary_runtime_measurements and the bank's digest size in the per-bank files
 * binary_runtime_measurements_<alg> (options.tpm_alg). Template "ima" has no data_len: its data
 * is a 20-byte digest and a u32 length + name without NUL.
 *
 * Byte order (options.endian): IMA writes integers little-endian when canonical (vigil always,
 * IMA with ima_canonical_fmt) and in host order otherwise, so a big-endian host's old log is
 * big-endian throughout, field lengths included. VIGIL_LOG_ENDIAN_AUTO decides per log from the
 * first record: little-endian unless its PCR index (< 24) and template name length (1..255) are
 * plausible only when read big-endian. No real log is ambiguous: a value below 256 read in the
 * other order is at least 2^24.
 *
 * Limits (rejections, never truncation): at most options.max_records records (default
 * VIGIL_LOG_RECORDS_MAX), template data of at most options.max_data bytes (default
 * VIGIL_LOG_DATA_MAX), template names of 1..VIGIL_LOG_TEMPLATE_NAME_MAX printable ASCII bytes,
 * PCR index < 24, file names (n-ng) of at most VIGIL_NAME_MAX bytes including the NUL and at
 * most 255 bytes for template "ima". Trailing bytes that are not a whole record are an error.
 *
 * Templates: ima, ima-ng, ima-ngv2, ima-sig, ima-sigv2, ima-buf, ima-modsig, evm-sig and
 * vigil-ng are known: their fields are split and checked (digest algorithm known and digest of
 * its size, names NUL-terminated, vigil-ng's ctx 48 bytes). A template name made of known field
 * ids joined by '|' is a custom format (IMA names a template from ima_template_fmt= that way).
 * Any other template is unknown: its data is kept as is and replays, its fields are not checked.
 *
 * ASCII layout (ascii_runtime_measurements, §2.5): "%2d <digest hex> <template>[ <field>]*\n".
 * The parser accepts exactly what IMA prints (lowercase hex, "%2d" PCR, one space before each
 * field, canonical decimals), so a text that parses prints back byte for byte.
 * vigil_log_parse_ascii() rebuilds each record's binary template data from the printed fields,
 * so an ASCII log of known templates replays exactly like its binary twin. That is possible
 * because every printed field is lossless for what IMA produces: digests and signatures are hex,
 * names are printed up to their NUL (IMA replaced spaces by '_' before hashing), integers are
 * decimal of fixed width (iuid, igid: 4 bytes; imode: 2 bytes; rebuilt little-endian, so a
 * non-canonical big-endian log's ASCII form does not replay). What cannot be rebuilt: fields of
 * unknown templates (the record keeps its field text, flag VIGIL_LOG_NO_DATA; it replays only in
 * the log's own bank, from its logged digest, unverified) and names containing a newline (such a
 * line does not parse).
 */
#ifndef VIGIL_LOG_H
#define VIGIL_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VIGIL_LOG_RECORDS_MAX 10000000 /* default bound on the number of records */
#define VIGIL_LOG_DATA_MAX (64u << 10) /* default bound on one record's template data */
#define VIGIL_LOG_TEMPLATE_NAME_MAX 255 /* IMA's template names are far shorter */
#define VIGIL_LOG_IMA_NAME_MAX 255 /* template "ima": IMA_EVENT_NAME_LEN_MAX, without NUL */
#define VIGIL_LOG_FIELDS_MAX 15 /* IMA_TEMPLATE_NUM_FIELDS_MAX */
#define VIGIL_LOG_DIGEST_MAX 64 /* largest template or file digest (SHA-512) */

/* Byte order of a binary log's integers (struct vigil_log_options.endian). */
enum vigil_log_endian {
	VIGIL_LOG_ENDIAN_AUTO = 0,
	VIGIL_LOG_ENDIAN_LITTLE,
	VIGIL_LOG_ENDIAN_BIG,
};

/* struct vigil_log_options.flags */
#define VIGIL_LOG_ALLOW_EMPTY 0x1u /* an empty input is a log of 0 records, not -ENODATA */

/**
 * struct vigil_log_options - how to parse a log; a zeroed struct (or NULL) means the defaults
 * @tpm_alg: the bank of the template digests (TPM2_ALG_SHA1, TPM2_ALG_SHA256, ...): 0 or
 *	TPM2_ALG_SHA1 for binary_runtime_measurements, the bank's algorithm for a per-bank file
 * @endian: byte order of a binary log (ignored for ASCII, which rebuilds little-endian)
 * @flags: VIGIL_LOG_ALLOW_EMPTY
 * @max_records: most records accepted; 0 means VIGIL_LOG_RECORDS_MAX
 * @max_data: most template data bytes in one record; 0 means VIGIL_LOG_DATA_MAX
 */
struct vigil_log_options {
	uint16_t tpm_alg;
	enum vigil_log_endian endian;
	unsigned int flags;
	size_t max_records;
	uint32_t max_data;
};

/**
 * struct vigil_log_error - where a parse failed (written only when a parse function fails)
 * @offset: byte offset in the input of the record, field or line at fault
 * @record: index of the record at fault (every record before it was well-formed)
 * @line: ASCII input: the 1-based line number; 0 for binary input
 */
struct vigil_log_error {
	size_t offset;
	size_t record;
	size_t line;
};

/* Templates libvigil knows (struct vigil_log_record.template). */
enum vigil_log_template {
	VIGIL_LOG_TEMPLATE_UNKNOWN = 0,
	VIGIL_LOG_TEMPLATE_IMA,
	VIGIL_LOG_TEMPLATE_IMA_NG,
	VIGIL_LOG_TEMPLATE_IMA_NGV2,
	VIGIL_LOG_TEMPLATE_IMA_SIG,
	VIGIL_LOG_TEMPLATE_IMA_SIGV2,
	VIGIL_LOG_TEMPLATE_IMA_BUF,
	VIGIL_LOG_TEMPLATE_IMA_MODSIG,
	VIGIL_LOG_TEMPLATE_EVM_SIG,
	VIGIL_LOG_TEMPLATE_VIGIL_NG,
	VIGIL_LOG_TEMPLATE_CUSTOM, /* the name is a format, e.g. "d-ng|n-ng|sig" */
};

/* struct vigil_log_record.flags */
#define VIGIL_LOG_VIOLATION 0x1u /* the template digest is all zeros: the PCR got all 0xff */
#define VIGIL_LOG_NO_DATA 0x2u /* ASCII input of an unknown template: data is the field text */

/**
 * struct vigil_log_record - one record, by offset into its log's bytes
 * @offset: where the record (its PCR index) starts in vigil_log.data
 * @pcr: the PCR index, < 24
 * @data_len: length of the template data
 * @data_off: where the template data starts, relative to @offset
 * @name_len: length of the template name, 1..VIGIL_LOG_TEMPLATE_NAME_MAX
 * @template: enum vigil_log_template
 * @flags: VIGIL_LOG_VIOLATION, VIGIL_LOG_NO_DATA
 *
 * Use the vigil_log_record_*() accessors for the template digest, name and data.
 */
struct vigil_log_record {
	size_t offset;
	uint32_t pcr;
	uint32_t data_len;
	uint16_t data_off;
	uint8_t name_len;
	uint8_t template;
	uint8_t flags;
};

/**
 * struct vigil_log - a parsed measurement log
 * @data: the log's bytes (binary layout, even when parsed from ASCII)
 * @size: their length
 * @tpm_alg: the bank of the template digests in @data (TPM2_ALG_SHA1, ...)
 * @digest_size: size of a template digest in @data
 * @big_endian: the integers in @data are big-endian
 * @count: number of records
 * @records: the records, in log order
 * @owned: memory freed with the log (@data for ASCII input, or NULL)
 *
 * Read-only for users. A log from vigil_log_parse() points into the caller's buffer, which must
 * outlive it; one from vigil_log_parse_ascii() owns its bytes.
 */
struct vigil_log {
	const uint8_t *data;
	size_t size;
	uint16_t tpm_alg;
	uint8_t digest_size;
	bool big_endian;
	size_t count;
	struct vigil_log_record *records;
	void *owned;
};

/**
 * struct vigil_log_iter - a walk over a binary log without building the record array
 * @log: a view of the bytes being walked (count 0, no records), for the record accessors
 * @pos: offset of the next record
 * @index: index of the next record
 * @max_records: resolved bound
 * @max_data: resolved bound
 */
struct vigil_log_iter {
	struct vigil_log log;
	size_t pos;
	size_t index;
	size_t max_records;
	uint32_t max_data;
};

/* Field ids of IMA's template formats (Documentation/security/IMA-templates.rst) + vigil's. */
enum vigil_log_field_id {
	VIGIL_LOG_FIELD_UNKNOWN = 0, /* a field of an unknown template */
	VIGIL_LOG_FIELD_D, /* 20-byte digest (SHA-1, or MD5 zero-padded) */
	VIGIL_LOG_FIELD_N, /* name, at most 255 bytes */
	VIGIL_LOG_FIELD_D_NG, /* "<alg>:\0" + digest */
	VIGIL_LOG_FIELD_D_NGV2, /* "<ima|verity>:<alg>:\0" + digest */
	VIGIL_LOG_FIELD_N_NG, /* NUL-terminated name */
	VIGIL_LOG_FIELD_SIG,
	VIGIL_LOG_FIELD_BUF,
	VIGIL_LOG_FIELD_D_MODSIG,
	VIGIL_LOG_FIELD_MODSIG,
	VIGIL_LOG_FIELD_EVMSIG,
	VIGIL_LOG_FIELD_XATTRNAMES,
	VIGIL_LOG_FIELD_XATTRLENGTHS,
	VIGIL_LOG_FIELD_XATTRVALUES,
	VIGIL_LOG_FIELD_IUID,
	VIGIL_LOG_FIELD_IGID,
	VIGIL_LOG_FIELD_IMODE,
	VIGIL_LOG_FIELD_CTX, /* vigil-ng: struct vigil_ctx */
};

/**
 * struct vigil_log_field - one field of a record's template data
 * @id: what it is
 * @data: its bytes, after the length prefix (for "ima"'s name: without NUL)
 * @len: their number
 */
struct vigil_log_field {
	enum vigil_log_field_id id;
	const uint8_t *data;
	uint32_t len;
};

/**
 * struct vigil_log_ctx - vigil-ng's context field (uapi struct vigil_ctx) in host order
 * @seq: record sequence number, 0 for boot_aggregate
 * @hook: enum vigil_hook
 * @reason: enum vigil_reason
 * @uid: uid in the initial user namespace
 * @dev: device (new_encode_dev)
 * @ino: inode number
 * @cgroup_id: cgroup v2 id, 0 when unknown
 */
struct vigil_log_ctx {
	uint64_t seq;
	uint32_t hook;
	uint32_t reason;
	uint32_t uid;
	uint64_t dev;
	uint64_t ino;
	uint64_t cgroup_id;
};

/**
 * struct vigil_log_fields - a record's template data, split and decoded
 * @count: number of fields
 * @field: the fields in template order
 * @digest_alg: the file digest's algorithm as IMA names it ("sha256"), or NULL (no digest
 *	field, or the "ima" template's d, which does not say)
 * @digest_type: d-ngv2's "ima" or "verity", or NULL
 * @digest: the file digest (d-ng, d-ngv2 or d), or NULL
 * @digest_len: its size
 * @name: the name (n-ng or n) without its NUL, not NUL-terminated; NULL if none
 * @name_len: its length
 * @has_ctx: @ctx was decoded from a ctx field
 * @ctx: vigil-ng's context
 */
struct vigil_log_fields {
	size_t count;
	struct vigil_log_field field[VIGIL_LOG_FIELDS_MAX];
	const char *digest_alg;
	const char *digest_type;
	const uint8_t *digest;
	size_t digest_len;
	const char *name;
	size_t name_len;
	bool has_ctx;
	struct vigil_log_ctx ctx;
};

int vigil_log_parse(const void *buf, size_t len, const struct vigil_log_options *opts,
		    struct vigil_log **ret, struct vigil_log_error *err)
	__attribute__((warn_unused_result));
int vigil_log_parse_ascii(const char *text, size_t len, const struct vigil_log_options *opts,
			  struct vigil_log **ret, struct vigil_log_error *err)
	__attribute__((warn_unused_result));
void vigil_log_free(struct vigil_log *log);
void vigil_log_freep(struct vigil_log **log);
const char *vigil_log_strerror(int err);

int vigil_log_iter_init(struct vigil_log_iter *it, const void *buf, size_t len,
			const struct vigil_log_options *opts) __attribute__((warn_unused_result));
int vigil_log_iter_next(struct vigil_log_iter *it, struct vigil_log_record *ret,
			struct vigil_log_error *err) __attribute__((warn_unused_result));

int vigil_log_record_fields(const struct vigil_log *log, const struct vigil_log_record *rec,
			    struct vigil_log_fields *ret) __attribute__((warn_unused_result));
int vigil_log_record_file(const struct vigil_log *log, const struct vigil_log_record *rec,
			  struct vigil_log_fields *ret) __attribute__((warn_unused_result));
size_t vigil_log_record_ascii_size(const struct vigil_log *log, const struct vigil_log_record *rec);
int vigil_log_record_ascii(const struct vigil_log *log, const struct vigil_log_record *rec,
			   char *buf, size_t size, size_t *ret_len)
	__attribute__((warn_unused_result));
const char *vigil_log_field_name(enum vigil_log_field_id id);

/**
 * vigil_log_record_digest() - the template digest of a record
 * @log: the record's log
 * @rec: the record
 *
 * Return: @log->digest_size bytes inside @log->data (all zeros for a violation).
 */
static inline const uint8_t *vigil_log_record_digest(const struct vigil_log *log,
						     const struct vigil_log_record *rec)
{
	return log->data + rec->offset + 4;
}

/**
 * vigil_log_record_template() - the template name of a record
 * @log: the record's log
 * @rec: the record
 *
 * Return: @rec->name_len printable ASCII bytes inside @log->data, not NUL-terminated.
 */
static inline const char *vigil_log_record_template(const struct vigil_log *log,
						    const struct vigil_log_record *rec)
{
	return (const char *)log->data + rec->offset + 8 + log->digest_size;
}

/**
 * vigil_log_record_data() - the template data of a record
 * @log: the record's log
 * @rec: the record
 *
 * For template "ima" this is the 20-byte digest, the u32 name length and the name, as logged;
 * for every other template the fields with their length prefixes, exactly what was hashed.
 *
 * Return: @rec->data_len bytes inside @log->data.
 */
static inline const uint8_t *vigil_log_record_data(const struct vigil_log *log,
						   const struct vigil_log_record *rec)
{
	return log->data + rec->offset + rec->data_off;
}

#endif /* VIGIL_LOG_H */
