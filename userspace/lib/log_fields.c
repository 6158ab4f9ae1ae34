// SPDX-License-Identifier: MIT
/*
 * log_fields.c: the template data of measurement records: which templates have which fields
 * (IMA's built-in templates, custom formats, vigil-ng), splitting a record's data into them,
 * checking each field and decoding the ones a verifier needs (file digest, name, context).
 *
 * Tables, not code, say what a template is: a template's fields come from templates[], a field's
 * kind (digest with algorithm, string, hex, integer) from fields[]; digest sizes from the
 * kernel's hash_algo_name/hash_digest_size (crypto/hash_info.c), since IMA names file digest
 * algorithms the kernel's way ("sha256", "sm3", "streebog256").
 *
 * Invariants: a field is only ever read within its record's data; a record that passed
 * vigil_log_fields_check() splits and decodes without error.
 */
#include <errno.h>
#include <string.h>

#include "log_internal.h"
#include "uapi/vigil.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(sizeof(struct vigil_ctx) == VIGIL_CTX_SIZE, "struct vigil_ctx is 48 bytes");

static const struct {
	const char *id;
	enum vigil_log_kind kind;
	uint8_t uint_size; /* VIGIL_LOG_KIND_UINT: the size IMA writes */
} fields[] = {
	[VIGIL_LOG_FIELD_UNKNOWN] = { "", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_D] = { "d", VIGIL_LOG_KIND_DIGEST, 0 },
	[VIGIL_LOG_FIELD_N] = { "n", VIGIL_LOG_KIND_STRING, 0 },
	[VIGIL_LOG_FIELD_D_NG] = { "d-ng", VIGIL_LOG_KIND_DIGEST_ALGO, 0 },
	[VIGIL_LOG_FIELD_D_NGV2] = { "d-ngv2", VIGIL_LOG_KIND_DIGEST_TYPE_ALGO, 0 },
	[VIGIL_LOG_FIELD_N_NG] = { "n-ng", VIGIL_LOG_KIND_STRING, 0 },
	[VIGIL_LOG_FIELD_SIG] = { "sig", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_BUF] = { "buf", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_D_MODSIG] = { "d-modsig", VIGIL_LOG_KIND_DIGEST_ALGO, 0 },
	[VIGIL_LOG_FIELD_MODSIG] = { "modsig", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_EVMSIG] = { "evmsig", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_XATTRNAMES] = { "xattrnames", VIGIL_LOG_KIND_STRING, 0 },
	[VIGIL_LOG_FIELD_XATTRLENGTHS] = { "xattrlengths", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_XATTRVALUES] = { "xattrvalues", VIGIL_LOG_KIND_HEX, 0 },
	[VIGIL_LOG_FIELD_IUID] = { "iuid", VIGIL_LOG_KIND_UINT, 4 },
	[VIGIL_LOG_FIELD_IGID] = { "igid", VIGIL_LOG_KIND_UINT, 4 },
	[VIGIL_LOG_FIELD_IMODE] = { "imode", VIGIL_LOG_KIND_UINT, 2 },
	[VIGIL_LOG_FIELD_CTX] = { "ctx", VIGIL_LOG_KIND_HEX, 0 },
};

#define F(x) VIGIL_LOG_FIELD_##x
static const struct {
	const char *name;
	enum vigil_log_template id;
	uint8_t count;
	enum vigil_log_field_id fields[9];
} templates[] = {
	{ "ima", VIGIL_LOG_TEMPLATE_IMA, 2, { F(D), F(N) } },
	{ "ima-ng", VIGIL_LOG_TEMPLATE_IMA_NG, 2, { F(D_NG), F(N_NG) } },
	{ "ima-ngv2", VIGIL_LOG_TEMPLATE_IMA_NGV2, 2, { F(D_NGV2), F(N_NG) } },
	{ "ima-sig", VIGIL_LOG_TEMPLATE_IMA_SIG, 3, { F(D_NG), F(N_NG), F(SIG) } },
	{ "ima-sigv2", VIGIL_LOG_TEMPLATE_IMA_SIGV2, 3, { F(D_NGV2), F(N_NG), F(SIG) } },
	{ "ima-buf", VIGIL_LOG_TEMPLATE_IMA_BUF, 3, { F(D_NG), F(N_NG), F(BUF) } },
	{ "ima-modsig",
	  VIGIL_LOG_TEMPLATE_IMA_MODSIG,
	  5,
	  { F(D_NG), F(N_NG), F(SIG), F(D_MODSIG), F(MODSIG) } },
	{ "evm-sig",
	  VIGIL_LOG_TEMPLATE_EVM_SIG,
	  9,
	  { F(D_NG), F(N_NG), F(EVMSIG), F(XATTRNAMES), F(XATTRLENGTHS), F(XATTRVALUES), F(IUID),
	    F(IGID), F(IMODE) } },
	{ VIGIL_TEMPLATE_VIGIL_NG, VIGIL_LOG_TEMPLATE_VIGIL_NG, 3, { F(D_NG), F(N_NG), F(CTX) } },
};
#undef F

/* The kernel's hash algorithm names and digest sizes (crypto/hash_info.c). */
static const struct {
	const char *name;
	uint8_t size;
} hashes[] = {
	{ "md4", 16 },	    { "md5", 16 },	{ "sha1", 20 },	       { "rmd160", 20 },
	{ "sha256", 32 },   { "sha384", 48 },	{ "sha512", 64 },      { "sha224", 28 },
	{ "rmd128", 16 },   { "rmd256", 32 },	{ "rmd320", 40 },      { "wp256", 32 },
	{ "wp384", 48 },    { "wp512", 64 },	{ "tgr128", 16 },      { "tgr160", 20 },
	{ "tgr192", 24 },   { "sm3", 32 },	{ "streebog256", 32 }, { "streebog512", 64 },
	{ "sha3-256", 32 }, { "sha3-384", 48 }, { "sha3-512", 64 },
};

static bool span_is(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && !memcmp(s, word, len);
}

/**
 * vigil_log_template_lookup() - which known template a name is (internal)
 * @name: the template name, not NUL-terminated
 * @len: its length
 *
 * Return: the template, VIGIL_LOG_TEMPLATE_CUSTOM for a format of known field ids, or
 * VIGIL_LOG_TEMPLATE_UNKNOWN.
 */
enum vigil_log_template vigil_log_template_lookup(const char *name, size_t len)
{
	enum vigil_log_field_id ids[VIGIL_LOG_FIELDS_MAX];
	size_t n;

	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (span_is(name, len, templates[i].name))
			return templates[i].id;
	if (vigil_log_template_fields(name, len, ids, &n) == 0)
		return VIGIL_LOG_TEMPLATE_CUSTOM;
	return VIGIL_LOG_TEMPLATE_UNKNOWN;
}

static int field_lookup(const char *id, size_t len, enum vigil_log_field_id *ret)
{
	for (size_t i = 1; i < ARRAY_SIZE(fields); i++)
		if (span_is(id, len, fields[i].id)) {
			*ret = (enum vigil_log_field_id)i;
			return 0;
		}
	return -ENOENT;
}

/* A custom format: known field ids joined by '|', e.g. "d-ng|n-ng|sig". */
static int format_fields(const char *fmt, size_t len, enum vigil_log_field_id *ids,
			 size_t *ret_count)
{
	const char *p = fmt, *end = fmt + len;
	size_t n = 0;

	while (p <= end) {
		const char *bar = memchr(p, '|', (size_t)(end - p));
		const char *stop = bar ? bar : end;

		if (n == VIGIL_LOG_FIELDS_MAX || field_lookup(p, (size_t)(stop - p), &ids[n]) < 0)
			return -ENOENT;
		n++;
		p = stop + 1;
	}
	*ret_count = n;
	return 0;
}

/**
 * vigil_log_template_fields() - the field ids of a known template or custom format (internal)
 * @name: the template name, not NUL-terminated
 * @len: its length
 * @ids: receives up to VIGIL_LOG_FIELDS_MAX ids
 * @ret_count: on success, how many
 *
 * Return: 0, or -ENOENT for an unknown template.
 */
int vigil_log_template_fields(const char *name, size_t len, enum vigil_log_field_id *ids,
			      size_t *ret_count)
{
	for (size_t i = 0; i < ARRAY_SIZE(templates); i++)
		if (span_is(name, len, templates[i].name)) {
			memcpy(ids, templates[i].fields, templates[i].count * sizeof(*ids));
			*ret_count = templates[i].count;
			return 0;
		}
	return format_fields(name, len, ids, ret_count);
}

/**
 * vigil_log_field_kind() - how a field is printed in the ASCII layout (internal)
 * @id: the field
 *
 * Return: its kind; fields of unknown templates are VIGIL_LOG_KIND_HEX.
 */
enum vigil_log_kind vigil_log_field_kind(enum vigil_log_field_id id)
{
	return fields[id].kind;
}

/**
 * vigil_log_field_uint_size() - the size IMA writes an integer field with (internal)
 * @id: the field
 *
 * Return: 4 for iuid and igid, 2 for imode, 0 for fields that are not integers.
 */
size_t vigil_log_field_uint_size(enum vigil_log_field_id id)
{
	return fields[id].uint_size;
}

/**
 * vigil_log_field_name() - IMA's id of a field
 * @id: the field
 *
 * Return: "d-ng", "n-ng", "sig", ..., "ctx"; "" for a field of an unknown template.
 */
const char *vigil_log_field_name(enum vigil_log_field_id id)
{
	if ((size_t)id >= ARRAY_SIZE(fields))
		return "";
	return fields[id].id;
}

/* Split "ima" data: d[20], u32 length, name without NUL (the framing checked the lengths). */
static void split_ima(const struct vigil_log *log, const struct vigil_log_record *rec,
		      struct vigil_log_fields *f)
{
	const uint8_t *data = vigil_log_record_data(log, rec);

	f->count = 2;
	f->field[0] = (struct vigil_log_field){ VIGIL_LOG_FIELD_D, data, IMA_D_SIZE };
	f->field[1] = (struct vigil_log_field){ VIGIL_LOG_FIELD_N, data + IMA_D_SIZE + 4,
						rec->data_len - IMA_D_SIZE - 4 };
}

/*
 * Split length-prefixed fields. With @ids the template is known and must have exactly that
 * many fields; without, every field is VIGIL_LOG_FIELD_UNKNOWN. On error @ret_bad is the offset
 * in the log of the field that does not fit.
 */
static int split_prefixed(const struct vigil_log *log, const struct vigil_log_record *rec,
			  const enum vigil_log_field_id *ids, size_t nids,
			  struct vigil_log_fields *f, size_t *ret_bad)
{
	const uint8_t *data = vigil_log_record_data(log, rec);
	size_t pos = 0, n = 0;

	while (pos < rec->data_len) {
		uint32_t len;

		*ret_bad = rec->offset + rec->data_off + pos;
		if ((ids && n == nids) || n == VIGIL_LOG_FIELDS_MAX || rec->data_len - pos < 4)
			return -EPROTO;
		len = get_u32(data + pos, log->big_endian);
		if (rec->data_len - pos - 4 < len)
			return -EPROTO;
		f->field[n] = (struct vigil_log_field){ ids ? ids[n] : VIGIL_LOG_FIELD_UNKNOWN,
							data + pos + 4, len };
		n++;
		pos += 4 + (size_t)len;
	}
	*ret_bad = rec->offset + rec->data_off + pos;
	if (ids && n != nids)
		return -EPROTO;
	f->count = n;
	return 0;
}

static int split(const struct vigil_log *log, const struct vigil_log_record *rec,
		 struct vigil_log_fields *f, size_t *ret_bad)
{
	enum vigil_log_field_id ids[VIGIL_LOG_FIELDS_MAX];
	size_t n;

	*f = (struct vigil_log_fields){ 0 };
	if (rec->template == VIGIL_LOG_TEMPLATE_IMA) {
		split_ima(log, rec, f);
		return 0;
	}
	if (vigil_log_template_fields(vigil_log_record_template(log, rec), rec->name_len, ids, &n) <
	    0)
		return split_prefixed(log, rec, NULL, 0, f, ret_bad);
	return split_prefixed(log, rec, ids, n, f, ret_bad);
}

/* What a digest field with an algorithm says. */
struct digest_info {
	const char *alg;
	const char *type;
	const uint8_t *digest;
	size_t len;
};

/* "<alg>:" (with @typed: "<ima|verity>:<alg>:"), a NUL, then a digest of the algorithm's size. */
static int check_digest_algo(const struct vigil_log_field *fld, bool typed, struct digest_info *ret)
{
	const char *s = (const char *)fld->data, *colon;
	const uint8_t *nul = memchr(fld->data, '\0', fld->len);
	struct digest_info d = { 0 };
	size_t plen;

	if (!nul || nul == fld->data || nul[-1] != ':')
		return -EPROTONOSUPPORT;
	plen = (size_t)(nul - fld->data) - 1;
	if (typed) {
		colon = memchr(s, ':', plen);
		if (!colon || !(span_is(s, (size_t)(colon - s), "ima") ||
				span_is(s, (size_t)(colon - s), "verity")))
			return -EPROTONOSUPPORT;
		d.type = *s == 'i' ? "ima" : "verity";
		plen -= (size_t)(colon + 1 - s);
		s = colon + 1;
	}
	for (size_t i = 0; i < ARRAY_SIZE(hashes); i++) {
		if (!span_is(s, plen, hashes[i].name))
			continue;
		if (fld->len - (size_t)(nul + 1 - fld->data) != hashes[i].size)
			return -EMSGSIZE;
		d.alg = hashes[i].name;
		d.digest = nul + 1;
		d.len = hashes[i].size;
		*ret = d;
		return 0;
	}
	return -EPROTONOSUPPORT;
}

/* The first digest field is the file digest (a custom format may have more than one). */
static int check_file_digest(const struct vigil_log_field *fld, struct vigil_log_fields *f)
{
	struct digest_info d;
	int r;

	r = check_digest_algo(fld, fld->id == VIGIL_LOG_FIELD_D_NGV2, &d);
	if (r < 0 || f->digest)
		return r;
	f->digest_alg = d.alg;
	f->digest_type = d.type;
	f->digest = d.digest;
	f->digest_len = d.len;
	return 0;
}

/* One NUL, at the end; @max counts it. */
static int check_string(const struct vigil_log_field *fld, size_t max)
{
	if (fld->len > max)
		return -ENAMETOOLONG;
	if (fld->len == 0 || memchr(fld->data, '\0', fld->len) != fld->data + fld->len - 1)
		return -ENOSTR;
	return 0;
}

static void decode_ctx(const uint8_t *p, struct vigil_log_ctx *ctx)
{
	/* vigil-ng is always little-endian, whatever the rest of the log */
	*ctx = (struct vigil_log_ctx){
		.seq = get_u64(p + offsetof(struct vigil_ctx, seq), false),
		.hook = get_u32(p + offsetof(struct vigil_ctx, hook), false),
		.reason = get_u32(p + offsetof(struct vigil_ctx, reason), false),
		.uid = get_u32(p + offsetof(struct vigil_ctx, uid), false),
		.dev = get_u64(p + offsetof(struct vigil_ctx, dev), false),
		.ino = get_u64(p + offsetof(struct vigil_ctx, ino), false),
		.cgroup_id = get_u64(p + offsetof(struct vigil_ctx, cgroup_id), false),
	};
}

static bool uint_size_ok(uint32_t len)
{
	return len == 0 || len == 1 || len == 2 || len == 4 || len == 8;
}

/* Template "ima" logs its name without NUL; every other template with one. */
static int check_name(const struct vigil_log_field *fld, bool ima, size_t max,
		      struct vigil_log_fields *f)
{
	int r;

	if (ima) {
		if (memchr(fld->data, '\0', fld->len))
			return -ENOSTR;
		f->name = (const char *)fld->data;
		f->name_len = fld->len;
		return 0;
	}
	r = check_string(fld, max);
	if (r < 0)
		return r;
	f->name = (const char *)fld->data;
	f->name_len = fld->len - 1;
	return 0;
}

/* Check one field and decode what it carries into @f; @ima: the record's template is "ima". */
static int check_field(struct vigil_log_field *fld, bool ima, struct vigil_log_fields *f)
{
	struct digest_info d;

	switch (fld->id) {
	case VIGIL_LOG_FIELD_D:
		if (fld->len != IMA_D_SIZE)
			return -EMSGSIZE;
		if (!f->digest) {
			f->digest = fld->data;
			f->digest_len = fld->len;
		}
		return 0;
	case VIGIL_LOG_FIELD_D_NG:
	case VIGIL_LOG_FIELD_D_NGV2:
		return check_file_digest(fld, f);
	case VIGIL_LOG_FIELD_D_MODSIG:
		return fld->len ? check_digest_algo(fld, false, &d) : 0;
	case VIGIL_LOG_FIELD_N:
		return check_name(fld, ima, IMA_N_PAD, f);
	case VIGIL_LOG_FIELD_N_NG:
		return check_name(fld, false, VIGIL_NAME_MAX, f);
	case VIGIL_LOG_FIELD_XATTRNAMES:
		return fld->len ? check_string(fld, VIGIL_LOG_DATA_MAX) : 0;
	case VIGIL_LOG_FIELD_IUID:
	case VIGIL_LOG_FIELD_IGID:
	case VIGIL_LOG_FIELD_IMODE:
		return uint_size_ok(fld->len) ? 0 : -EMSGSIZE;
	case VIGIL_LOG_FIELD_CTX:
		if (fld->len != VIGIL_CTX_SIZE)
			return -EMSGSIZE;
		f->has_ctx = true;
		decode_ctx(fld->data, &f->ctx);
		return 0;
	default:
		return 0;
	}
}

static int split_and_check(const struct vigil_log *log, const struct vigil_log_record *rec,
			   struct vigil_log_fields *f, size_t *ret_bad)
{
	int r;

	r = split(log, rec, f, ret_bad);
	if (r < 0)
		return r;
	for (size_t i = 0; i < f->count; i++) {
		*ret_bad = (size_t)(f->field[i].data - log->data);
		r = check_field(&f->field[i], rec->template == VIGIL_LOG_TEMPLATE_IMA, f);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * vigil_log_fields_check() - check the fields of a framed record (internal)
 * @log: the record's log
 * @rec: the record, framed by vigil_log_frame()
 * @ret_bad: on failure, the offset in @log->data of the field at fault
 *
 * Records of unknown templates and ASCII records without data are not checked.
 *
 * Return: 0, -EPROTO, -EPROTONOSUPPORT, -EMSGSIZE, -ENAMETOOLONG or -ENOSTR.
 */
int vigil_log_fields_check(const struct vigil_log *log, const struct vigil_log_record *rec,
			   size_t *ret_bad)
{
	struct vigil_log_fields f;

	if (rec->template == VIGIL_LOG_TEMPLATE_UNKNOWN || (rec->flags & VIGIL_LOG_NO_DATA))
		return 0;
	return split_and_check(log, rec, &f, ret_bad);
}

/**
 * vigil_log_record_fields() - split and decode a record's template data
 * @log: the record's log
 * @rec: one of its records
 * @ret: on success, the fields and what they say (file digest, name, context)
 *
 * Fields of an unknown template are split by their length prefixes and left undecoded.
 * Pointers in @ret point into @log->data.
 *
 * Return: 0; -ENODATA for an ASCII record of an unknown template (no template data); -EPROTO if
 * an unknown template's data is not a sequence of length-prefixed fields.
 */
int vigil_log_record_fields(const struct vigil_log *log, const struct vigil_log_record *rec,
			    struct vigil_log_fields *ret)
{
	struct vigil_log_fields f;
	size_t bad;
	int r;

	if (rec->flags & VIGIL_LOG_NO_DATA)
		return -ENODATA;
	if (rec->template == VIGIL_LOG_TEMPLATE_UNKNOWN)
		r = split(log, rec, &f, &bad);
	else
		r = split_and_check(log, rec, &f, &bad);
	if (r < 0)
		return r;
	*ret = f;
	return 0;
}

/* Templates whose first two fields are d-ng and n-ng (fast path of vigil_log_record_file()). */
static bool leads_with_dng_nng(uint8_t tpl)
{
	switch (tpl) {
	case VIGIL_LOG_TEMPLATE_IMA_NG:
	case VIGIL_LOG_TEMPLATE_IMA_SIG:
	case VIGIL_LOG_TEMPLATE_IMA_BUF:
	case VIGIL_LOG_TEMPLATE_IMA_MODSIG:
	case VIGIL_LOG_TEMPLATE_EVM_SIG:
	case VIGIL_LOG_TEMPLATE_VIGIL_NG:
		return true;
	default:
		return false;
	}
}

/* One length-prefixed field at @*off of @p (@n bytes); advances @*off. */
static bool next_field(const uint8_t *p, uint32_t n, uint32_t *off, bool big_endian,
		       struct vigil_log_field *fld)
{
	uint32_t len;

	if (n - *off < 4)
		return false;
	len = get_u32(p + *off, big_endian);
	if (len > n - *off - 4)
		return false;
	fld->data = p + *off + 4;
	fld->len = len;
	*off += 4 + len;
	return true;
}

/**
 * vigil_log_record_file() - a record's file digest and name, without splitting every field
 * @log: the record's log
 * @rec: the record
 * @ret: on success, the digest (algorithm, bytes, size) and the name; every other member zero
 *
 * What a verifier needs per record, at a fraction of vigil_log_record_fields()'s cost for the
 * templates that start with d-ng and n-ng (ima-ng, ima-sig, ima-buf, ima-modsig, evm-sig,
 * vigil-ng: nearly every record of a real log); any other record goes through
 * vigil_log_record_fields(). The two fields are checked as that function checks them.
 *
 * Return: 0 or the negative errno of vigil_log_record_fields() for a malformed record.
 */
int vigil_log_record_file(const struct vigil_log *log, const struct vigil_log_record *rec,
			  struct vigil_log_fields *ret)
{
	const uint8_t *p = vigil_log_record_data(log, rec);
	struct vigil_log_field d = { .id = VIGIL_LOG_FIELD_D_NG },
			       n = { .id = VIGIL_LOG_FIELD_N_NG };
	struct digest_info di;
	uint32_t off = 0;

	if (!leads_with_dng_nng(rec->template) || (rec->flags & VIGIL_LOG_NO_DATA) ||
	    !next_field(p, rec->data_len, &off, log->big_endian, &d) ||
	    !next_field(p, rec->data_len, &off, log->big_endian, &n) ||
	    check_digest_algo(&d, false, &di) < 0 || check_string(&n, VIGIL_NAME_MAX) < 0)
		return vigil_log_record_fields(log, rec, ret);
	*ret = (struct vigil_log_fields){ .digest_alg = di.alg,
					  .digest = di.digest,
					  .digest_len = di.len,
					  .name = (const char *)n.data,
					  .name_len = n.len - 1 };
	return 0;
}
