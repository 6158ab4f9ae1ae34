// SPDX-License-Identifier: MIT
/*
 * refvalues.c: what the reference-value sources share (file kinds by libelf, hashing, the
 * selection by name, adding an entry to the policy), learning mode from a measurement log, and
 * copying one policy into another.
 *
 * Learning mode takes every record of a trusted run's log as an allowed (name, file digest)
 * pair: file records and ima-buf records alike, boot_aggregate under its record name. Records
 * that carry no file digest (violations, unknown templates read from ASCII) are counted and
 * skipped. All digests must be of one algorithm, which becomes the policy's hash_alg.
 *
 * Invariants: nothing prints; a failed run may have added some entries to the policy (the
 * caller discards the policy); file contents are classified from their bytes, never from
 * their names, except the compressed module names the kernel's loader reads as they are.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <gelf.h>
#include <libelf.h>
#include <openssl/evp.h>

#include "attest.h"
#include "log.h"
#include "policy.h"
#include "refvalues_internal.h"

/* ---- reporting ---- */

/**
 * rv_error() - explain a failure in @err and return it
 * @err: where to write the reason (may be NULL)
 * @r: the negative errno to return
 * @fmt: printf format of the reason
 *
 * Return: @r.
 */
int rv_error(struct vigil_refvalues_error *err, int r, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return r;
	va_start(ap, fmt);
	vsnprintf(err->what, sizeof(err->what), fmt, ap);
	va_end(ap);
	return r;
}

/**
 * rv_warn() - count a file or directory that could not be read, and report it
 * @t: the tree
 * @name: its name
 * @r: the negative errno
 */
void rv_warn(struct rv_tree *t, const char *name, int r)
{
	t->st->unreadable++;
	if (t->o->warn)
		t->o->warn(t->o->ctx, name, r);
}

/* ---- kinds ---- */

static int kind_of_elf(Elf *e)
{
	GElf_Ehdr eh;

	if (!e || elf_kind(e) != ELF_K_ELF || !gelf_getehdr(e, &eh))
		return RV_KIND_OTHER;
	if (eh.e_type == ET_EXEC || eh.e_type == ET_DYN)
		return RV_KIND_EXEC;
	return eh.e_type == ET_REL ? RV_KIND_REL : RV_KIND_OTHER;
}

/**
 * rv_elf_kind() - what a file is, from its first bytes (and libelf for an ELF file)
 * @buf: the file's first bytes, or the whole file when @fd < 0
 * @len: their number
 * @fd: the open file, or -1 when @buf holds it all
 *
 * A file that starts like ELF but that libelf cannot read is not an executable: the kernel's
 * loader would reject it as well.
 *
 * Return: an enum rv_kind.
 */
int rv_elf_kind(const void *buf, size_t len, int fd)
{
	Elf *e;
	int kind;

	if (len >= 2 && !memcmp(buf, "#!", 2))
		return RV_KIND_SCRIPT;
	if (len < SELFMAG || memcmp(buf, ELFMAG, SELFMAG) != 0)
		return RV_KIND_OTHER;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return RV_KIND_OTHER;
	/* elf_memory() takes a non-const image but only reads it with ELF_C_READ_MMAP semantics */
	e = fd >= 0 ? elf_begin(fd, ELF_C_READ_MMAP, NULL) : elf_memory((char *)buf, len);
	kind = kind_of_elf(e);
	elf_end(e);
	return kind;
}

/* ---- hashing ---- */

/**
 * rv_hash_init() - start a digest of a TPM hash algorithm
 * @alg: TPM2_ALG_SHA256, ...
 * @ret_ctx: on success, the context (rv_hash_free())
 *
 * Return: 0, -EINVAL (unknown algorithm) or -ENOMEM.
 */
int rv_hash_init(uint16_t alg, void **ret_ctx)
{
	const char *name = vigil_hash_name(alg);
	const EVP_MD *md = name ? EVP_get_digestbyname(name) : NULL;
	EVP_MD_CTX *c;

	if (!md)
		return -EINVAL;
	c = EVP_MD_CTX_new();
	if (!c)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(c, md, NULL)) {
		EVP_MD_CTX_free(c);
		return -ENOMEM;
	}
	*ret_ctx = c;
	return 0;
}

/**
 * rv_hash_update() - hash more bytes
 * @ctx: the context
 * @buf: the bytes
 * @len: their number
 *
 * Return: 0 or -EIO.
 */
int rv_hash_update(void *ctx, const void *buf, size_t len)
{
	return EVP_DigestUpdate(ctx, buf, len) ? 0 : -EIO;
}

/**
 * rv_hash_final() - the digest, and a context ready for the next file
 * @ctx: the context
 * @out: receives the digest (the algorithm's size)
 *
 * Return: 0 or -EIO.
 */
int rv_hash_final(void *ctx, uint8_t *out)
{
	const EVP_MD *md = EVP_MD_CTX_get0_md(ctx);

	if (!EVP_DigestFinal_ex(ctx, out, NULL) || !EVP_DigestInit_ex(ctx, md, NULL))
		return -EIO;
	return 0;
}

/**
 * rv_hash_free() - release a digest context
 * @ctx: the context, or NULL
 */
void rv_hash_free(void *ctx)
{
	EVP_MD_CTX_free(ctx);
}

/* ---- names ---- */

/**
 * rv_glob_any() - whether a name matches one of a list of globs
 * @globs: fnmatch(3) patterns, flags 0
 * @n: their number
 * @name: the name
 *
 * Return: true on the first match.
 */
bool rv_glob_any(const char *const *globs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (fnmatch(globs[i], name, 0) == 0)
			return true;
	return false;
}

static bool ends_with(const char *s, size_t len, const char *suffix)
{
	size_t n = strlen(suffix);

	return len >= n && !memcmp(s + len - n, suffix, n);
}

/**
 * rv_name_is_module() - whether a name is a kernel module's
 * @name: the name
 * @len: its length
 * @rel: true: an uncompressed module (*.ko: selected if the file is ELF ET_REL); false: a
 *	compressed one (*.ko.xz, *.ko.zst, *.ko.gz: selected by name)
 *
 * Return: whether it is.
 */
bool rv_name_is_module(const char *name, size_t len, bool rel)
{
	if (rel)
		return ends_with(name, len, ".ko");
	return ends_with(name, len, ".ko.xz") || ends_with(name, len, ".ko.zst") ||
	       ends_with(name, len, ".ko.gz");
}

/**
 * rv_name_other_kernel() - whether a name is in the module tree of another kernel release
 * @name: the name
 * @release: the release whose tree is kept
 *
 * Return: true for /lib/modules/<other>/... and /usr/lib/modules/<other>/...
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the name, then what it is checked for */
bool rv_name_other_kernel(const char *name, const char *release)
{
	static const char *const trees[] = { "/lib/modules/", "/usr/lib/modules/" };
	size_t rlen = strlen(release);

	for (size_t i = 0; i < sizeof(trees) / sizeof(trees[0]); i++) {
		size_t n = strlen(trees[i]);
		const char *rel = name + n;

		if (strncmp(name, trees[i], n) != 0 || !strchr(rel, '/'))
			continue;
		return strncmp(rel, release, rlen) != 0 || rel[rlen] != '/';
	}
	return false;
}

/**
 * rv_name_valid() - whether a policy can hold a name (policy.h: paths)
 * @name: the name
 * @len: its length
 *
 * Return: true for 1..VIGIL_POLICY_PATH_MAX bytes of well-formed UTF-8 without NUL.
 */
bool rv_name_valid(const char *name, size_t len)
{
	return len > 0 && len <= VIGIL_POLICY_PATH_MAX && vigil_utf8_valid(name, len);
}

/**
 * rv_add_entry() - add a selected (name, digest) pair, and the package it came from
 * @t: the tree
 * @name: the name
 * @len: its length
 * @f: the hashed file
 *
 * Return: 0, -E2BIG (more than VIGIL_REFVALUES_ENTRIES_MAX entries), or the policy's error.
 */
int rv_add_entry(struct rv_tree *t, const char *name, size_t len, const struct rv_file *f)
{
	int r;

	if (t->st->entries >= VIGIL_REFVALUES_ENTRIES_MAX)
		return rv_error(t->err, -E2BIG, "more than %d entries",
				VIGIL_REFVALUES_ENTRIES_MAX);
	if (t->o->any_path)
		r = vigil_policy_add_any(t->policy, f->digest);
	else
		r = vigil_policy_add_digest(t->policy, name, len, f->digest);
	if (r < 0)
		return rv_error(t->err, r, "%s: cannot be added to the policy: %s", name,
				strerror(-r));
	if (f->package && !vigil_policy_package(t->policy, f->digest)) {
		r = vigil_policy_add_package(t->policy, f->digest, t->packages[f->package - 1]);
		if (r < 0)
			return rv_error(t->err, r, "%s: package \"%s\": %s", name,
					t->packages[f->package - 1], strerror(-r));
	}
	t->st->entries++;
	return 0;
}

/* ---- learning from a log ---- */

/* The file digest of a record and its algorithm; false for a record that has none. */
static bool record_digest(const struct vigil_log *log, const struct vigil_log_record *rec,
			  struct vigil_log_fields *f, uint16_t *ret_alg)
{
	if ((rec->flags & (VIGIL_LOG_VIOLATION | VIGIL_LOG_NO_DATA)) ||
	    vigil_log_record_fields(log, rec, f) < 0 || !f->digest || !f->name)
		return false;
	/* template "ima" does not name it: its d field is SHA-1 */
	if (!f->digest_alg) {
		*ret_alg = TPM2_ALG_SHA1;
		return true;
	}
	if (vigil_hash_from_name(f->digest_alg, ret_alg) < 0)
		*ret_alg = 0;
	return true;
}

/**
 * vigil_refvalues_log_alg() - the one file-digest algorithm of a log's records
 * @log: the log
 * @ret_alg: on success, its TPM algorithm id
 * @err: on failure, the record at fault and why
 *
 * Return: 0; -ENODATA (no record has a file digest); -EOPNOTSUPP (an algorithm vigil does not
 * support, e.g. md5 or sm3); -EMLINK (records of two algorithms).
 */
int vigil_refvalues_log_alg(const struct vigil_log *log, uint16_t *ret_alg,
			    struct vigil_refvalues_error *err)
{
	uint16_t alg = 0;
	size_t first = 0;

	for (size_t i = 0; i < log->count; i++) {
		struct vigil_log_fields f;
		uint16_t a;

		if (!record_digest(log, &log->records[i], &f, &a))
			continue;
		if (err)
			err->record = i;
		if (!a)
			return rv_error(err, -EOPNOTSUPP, "record %zu (%.*s): digest algorithm %s",
					i, (int)f.name_len, f.name, f.digest_alg);
		if (alg && a != alg)
			return rv_error(err, -EMLINK,
					"record %zu (%.*s): %s digest, but record %zu has %s", i,
					(int)f.name_len, f.name, vigil_hash_name(a), first,
					vigil_hash_name(alg));
		if (!alg) {
			alg = a;
			first = i;
		}
	}
	if (!alg)
		return rv_error(err, -ENODATA, "no record has a file digest");
	*ret_alg = alg;
	return 0;
}

static int log_record(struct vigil_policy *p, const struct vigil_log *log, size_t i,
		      const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
		      struct vigil_refvalues_error *err)
{
	const struct vigil_log_record *rec = &log->records[i];
	const struct vigil_policy_info *info = vigil_policy_info(p);
	char name[VIGIL_POLICY_PATH_MAX + 1];
	struct vigil_log_fields f;
	uint16_t alg;
	int r;

	if (rec->flags & VIGIL_LOG_VIOLATION) {
		st->violations++;
		return 0;
	}
	if (!record_digest(log, rec, &f, &alg)) {
		st->no_digest++;
		return 0;
	}
	if (alg != info->hash_alg || f.digest_len != info->digest_size) {
		err->record = i;
		return rv_error(err, -EMLINK, "record %zu: %s digest, the policy is %s", i,
				f.digest_alg ? f.digest_alg : "sha1",
				vigil_hash_name(info->hash_alg));
	}
	/* a policy path is absolute, or a record name without '/' (boot_aggregate, ima-buf) */
	if (!rv_name_valid(f.name, f.name_len) ||
	    (f.name[0] != '/' && memchr(f.name, '/', f.name_len))) {
		st->bad_names++;
		return 0;
	}
	memcpy(name, f.name, f.name_len);
	name[f.name_len] = '\0';
	if (rv_glob_any(o->exclude, o->n_exclude, name)) {
		st->excluded++;
		return 0;
	}
	r = o->any_path ? vigil_policy_add_any(p, f.digest) :
			  vigil_policy_add_digest(p, name, f.name_len, f.digest);
	if (r < 0) {
		err->record = i;
		return rv_error(err, r, "record %zu (%s): %s", i, name, strerror(-r));
	}
	st->records++;
	st->entries++;
	return 0;
}

/**
 * vigil_refvalues_log() - add every record of a trusted run's log (learning mode)
 * @p: the policy, whose hash_alg is the log's (vigil_refvalues_log_alg())
 * @log: the log
 * @o: exclude globs and any_path are used; the rest is ignored
 * @st: on return, the counters (records, violations, no_digest, excluded, bad_names)
 * @err: on failure, the record at fault and why
 *
 * Return: 0; -EMLINK (a record's digest algorithm is not the policy's); or the policy's
 * error for a record (its name is not a policy path).
 */
int vigil_refvalues_log(struct vigil_policy *p, const struct vigil_log *log,
			const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
			struct vigil_refvalues_error *err)
{
	struct vigil_refvalues_error dummy;
	int r;

	*st = (struct vigil_refvalues_stats){ 0 };
	for (size_t i = 0; i < log->count; i++) {
		r = log_record(p, log, i, o, st, err ? err : &dummy);
		if (r < 0)
			return r;
	}
	return 0;
}

/* ---- merging ---- */

struct merge {
	struct vigil_policy *dst;
	const struct vigil_policy *src;
	size_t ds;
};

static int merge_package(struct merge *m, const uint8_t *digest)
{
	const char *pkg = vigil_policy_package(m->src, digest);

	if (!pkg || vigil_policy_package(m->dst, digest))
		return 0;
	return vigil_policy_add_package(m->dst, digest, pkg);
}

static int merge_path(void *ctx, const char *path, size_t len, const uint8_t *digests, size_t count)
{
	struct merge *m = ctx;
	int r = 0;

	for (size_t i = 0; r == 0 && i < count; i++) {
		r = vigil_policy_add_digest(m->dst, path, len, digests + i * m->ds);
		if (r == 0)
			r = merge_package(m, digests + i * m->ds);
	}
	return r;
}

static int merge_any(void *ctx, const uint8_t *digest)
{
	struct merge *m = ctx;
	int r = vigil_policy_add_any(m->dst, digest);

	return r < 0 ? r : merge_package(m, digest);
}

static int merge_deny(void *ctx, const uint8_t *digest)
{
	return vigil_policy_add_deny(((struct merge *)ctx)->dst, digest);
}

static int merge_glob(void *ctx, const char *pattern)
{
	return vigil_policy_add_exclude(((struct merge *)ctx)->dst, pattern);
}

static int merge_regex(void *ctx, const char *pattern)
{
	return vigil_policy_add_exclude_regex(((struct merge *)ctx)->dst, pattern);
}

static int merge_pcrs(struct vigil_policy *dst, const struct vigil_policy *src)
{
	struct vigil_pcr_values *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	r = vigil_policy_pcrs(src, v);
	for (size_t i = 0; r == 0 && i < v->count; i++)
		r = vigil_policy_add_pcr(dst, v->v[i].alg, v->v[i].pcr, v->v[i].digest,
					 v->v[i].size);
	free(v);
	return r;
}

/**
 * vigil_refvalues_merge() - add everything of one policy to another (`policy create --merge`)
 * @dst: the policy being built
 * @src: the policy to take from, of the same hash_alg
 * @err: on failure, why
 *
 * Digests per path, any_path, deny, both kinds of excludes, packages, golden PCR values and
 * boot_aggregate are copied; @dst's own name, version, validity and violations are kept.
 *
 * Return: 0; -EINVAL (the hash algorithms differ, or @dst has another boot_aggregate); or the
 * policy's error.
 */
int vigil_refvalues_merge(struct vigil_policy *dst, const struct vigil_policy *src,
			  struct vigil_refvalues_error *err)
{
	const struct vigil_policy_info *di = vigil_policy_info(dst), *si = vigil_policy_info(src);
	struct merge m = { .dst = dst, .src = src, .ds = si->digest_size };
	int r;

	if (di->hash_alg != si->hash_alg)
		return rv_error(err, -EINVAL, "hash_alg is %s, the policy merged is %s",
				vigil_hash_name(di->hash_alg), vigil_hash_name(si->hash_alg));
	r = vigil_policy_foreach_path(src, merge_path, &m);
	if (r == 0)
		r = vigil_policy_foreach_any(src, merge_any, &m);
	if (r == 0)
		r = vigil_policy_foreach_deny(src, merge_deny, &m);
	if (r == 0)
		r = vigil_policy_foreach_exclude(src, false, merge_glob, &m);
	if (r == 0)
		r = vigil_policy_foreach_exclude(src, true, merge_regex, &m);
	if (r == 0)
		r = merge_pcrs(dst, src);
	if (r == 0 && si->has_boot_aggregate)
		r = vigil_policy_set_boot_aggregate(dst, si->boot_aggregate);
	if (r < 0)
		return rv_error(err, r, "merging \"%s\": %s", si->name, strerror(-r));
	return 0;
}
