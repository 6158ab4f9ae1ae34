// SPDX-License-Identifier: MIT
/*
 * refvalues_deb.c: reference values from Debian packages (`vigil policy create --deb`): read
 * each .deb with libarchive (an ar archive: debian-binary, control.tar[.*], data.tar[.*]),
 * take "Package" and "Version" from the control file, and put every entry of data.tar into the
 * name tree (refvalues_tree.c) as the package would be installed: regular files hashed and
 * classified from their bytes, symlinks and hard links as names, resolved later within the
 * whole set of packages.
 *
 * Merged /usr: Debian 12 systems have /bin, /sbin, /lib, /lib32, /lib64 and /libx32 as
 * symlinks into /usr, while its packages still ship files below ./bin, ./lib, ... dpkg unpacks
 * those through the symlinks, so on the target ./bin/ls is /usr/bin/ls, reachable as /bin/ls
 * too. The tree is built the same way: paths below those directories are moved to /usr, and
 * the directory symlinks themselves are added, so both names of each file are recorded and
 * symlinks that go through /bin or /lib resolve as they would on the device.
 *
 * Invariants: one package's control member comes before its data member (dpkg-deb's order);
 * entries with ".." components are refused; a file is held in memory whole, at most
 * VIGIL_REFVALUES_DEB_FILE_MAX bytes, and hashed before libelf looks at the bytes (libelf may
 * convert a foreign-endian image in place).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <archive.h>
#include <archive_entry.h>

#include "cleanup.h"
#include "policy.h"
#include "refvalues_internal.h"

#define IO_SIZE 65536

/* The merged-/usr directories (see the head comment). */
static const char *const merged[] = { "bin", "sbin", "lib", "lib32", "lib64", "libx32" };
#define N_MERGED (sizeof(merged) / sizeof(merged[0]))

struct deb {
	struct rv_tree *t;
	const char *file; /* the .deb being read, for messages */
	struct archive *outer;
	uint8_t io[IO_SIZE];
	uint8_t *buf; /* one file's bytes */
	size_t cap;
	void *md;
	uint32_t package;
	uint64_t next_ino;
	size_t first_node; /* the current package's first node (hard links point back) */
	unsigned int usr_seen; /* bit i: /usr/<merged[i]> exists */
	char prev[VIGIL_POLICY_PATH_MAX + 1]; /* the directory whose ancestors were added last */
	size_t prev_len;
};

static void archive_freep(struct archive **a)
{
	if (*a)
		archive_read_free(*a);
}

static int bad_archive(struct deb *d, struct archive *a, const char *what)
{
	return rv_error(d->t->err, -EBADMSG, "%s: %s: %s", d->file, what,
			a && archive_error_string(a) ? archive_error_string(a) : "malformed");
}

/* ---- names ---- */

/* "./usr/bin/x" -> "/usr/bin/x", "./bin/x" -> "/usr/bin/x", "./" -> "". */
static int entry_path(struct deb *d, const char *in, char *out, size_t *ret_len)
{
	size_t len = 0, first = 0;

	for (const char *c = in; *c;) {
		size_t n = strcspn(c, "/");

		if (n == 2 && c[0] == '.' && c[1] == '.')
			return -EINVAL;
		if (n && !(n == 1 && c[0] == '.')) {
			if (len + 1 + n > VIGIL_POLICY_PATH_MAX - 4)
				return -ENAMETOOLONG;
			out[len++] = '/';
			memcpy(out + len, c, n);
			len += n;
			first = first ? first : n;
		}
		c += n + (c[n] == '/');
	}
	for (size_t i = 0; i < N_MERGED && first; i++) {
		if (first != strlen(merged[i]) || memcmp(out + 1, merged[i], first) != 0)
			continue;
		memmove(out + 4, out, len);
		memcpy(out, "/usr", 4);
		len += 4;
		break;
	}
	out[len] = '\0';
	for (size_t i = 0; i < N_MERGED; i++) {
		size_t n = strlen(merged[i]);

		if (len >= 5 + n && !memcmp(out, "/usr/", 5) && !memcmp(out + 5, merged[i], n) &&
		    (len == 5 + n || out[5 + n] == '/'))
			d->usr_seen |= 1u << i;
	}
	*ret_len = len;
	return 0;
}

/* Packages list a file's directories before it; a data.tar that does not still has them. */
static int ancestors(struct deb *d, const char *path, size_t len)
{
	size_t dir = len, same = 0;
	int r;

	while (dir && path[dir - 1] != '/')
		dir--;
	dir = dir ? dir - 1 : 0;
	while (d->prev_len != SIZE_MAX && same < dir && same < d->prev_len &&
	       path[same] == d->prev[same])
		same++;
	for (size_t i = 1; i <= dir; i++) {
		if (i < dir && path[i] != '/')
			continue;
		/* already added for the previous entry */
		if (i <= same && (i == d->prev_len || d->prev[i] == '/'))
			continue;
		r = rv_tree_add(d->t, path, i, RV_DIR, NULL, NULL);
		if (r < 0)
			return r;
	}
	memcpy(d->prev, path, dir);
	d->prev_len = dir;
	return 0;
}

/* ---- entries of data.tar ---- */

static int read_content(struct deb *d, struct archive *a, int64_t size, size_t *ret_len)
{
	size_t len = 0;
	la_ssize_t n;

	if ((uint64_t)size + 1 > d->cap) {
		uint8_t *p = realloc(d->buf, (size_t)size + 1);

		if (!p)
			return -ENOMEM;
		d->buf = p;
		d->cap = (size_t)size + 1;
	}
	while ((n = archive_read_data(a, d->buf + len, d->cap - len)) > 0) {
		len += (size_t)n;
		if (len == d->cap)
			return -EFBIG; /* more than the header said */
	}
	if (n < 0)
		return bad_archive(d, a, "data.tar");
	*ret_len = len;
	return 0;
}

static int add_content(struct deb *d, struct archive *a, struct archive_entry *e, const char *path,
		       size_t len)
{
	struct rv_tree *t = d->t;
	int64_t size = archive_entry_size(e);
	uint32_t file = 0, node = 0;
	size_t got = 0;
	struct rv_file *f;
	bool created;
	int r;

	t->st->files++;
	r = rv_tree_file(t, UINT64_MAX, ++d->next_ino, &file, &created);
	if (r == 0)
		r = rv_tree_add(t, path, len, RV_FILE, NULL, &node);
	if (r != 0)
		return r;
	t->nodes[node].file = file;
	f = &t->files[file];
	f->package = d->package;
	f->state = RV_FAILED;
	if (size < 0 || (uint64_t)size > VIGIL_REFVALUES_DEB_FILE_MAX) {
		rv_warn(t, path, -EFBIG);
		return 0;
	}
	r = read_content(d, a, size, &got);
	if (r == 0)
		r = rv_hash_update(d->md, d->buf, got);
	if (r == 0)
		r = rv_hash_final(d->md, f->digest);
	if (r < 0)
		return r == -EFBIG ? bad_archive(d, a, path) : r;
	f->kind = (uint8_t)rv_elf_kind(d->buf, got, -1);
	f->state = RV_HASHED;
	t->st->hashed++;
	t->st->bytes += got;
	if (t->o->progress)
		t->o->progress(t->o->ctx, t->st);
	return 0;
}

/* A tar hard link names an earlier entry of the same package: the same file again. */
static int add_hardlink(struct deb *d, const char *path, size_t len, const char *to)
{
	char target[VIGIL_POLICY_PATH_MAX + 1];
	struct rv_tree *t = d->t;
	size_t tlen;
	uint32_t node;
	int r;

	if (entry_path(d, to, target, &tlen) < 0) {
		t->st->bad_names++;
		return 0;
	}
	for (size_t i = t->count; i-- > d->first_node;) {
		const struct rv_node *n = &t->nodes[i];

		if (n->type != RV_FILE || n->path_len != tlen || memcmp(n->path, target, tlen) != 0)
			continue;
		r = rv_tree_add(t, path, len, RV_FILE, NULL, &node);
		if (r == 0)
			t->nodes[node].file = t->nodes[i].file;
		return r;
	}
	return rv_error(t->err, -EBADMSG, "%s: %s: hard link to %s, which is not in the package",
			d->file, path, target);
}

static int data_entry(struct deb *d, struct archive *a, struct archive_entry *e)
{
	char path[VIGIL_POLICY_PATH_MAX + 1];
	const char *hl = archive_entry_hardlink(e), *sl;
	size_t len;
	int r;

	if (!archive_entry_pathname(e) || entry_path(d, archive_entry_pathname(e), path, &len)) {
		d->t->st->bad_names++;
		return 0;
	}
	r = ancestors(d, path, len);
	if (r < 0 || len == 0)
		return r;
	if (hl)
		return add_hardlink(d, path, len, hl);
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return rv_tree_add(d->t, path, len, RV_DIR, NULL, NULL);
	case AE_IFREG:
		return add_content(d, a, e, path, len);
	case AE_IFLNK:
		d->t->st->symlinks++;
		sl = archive_entry_symlink(e);
		return rv_tree_add(d->t, path, len, RV_LINK, sl ? sl : "", NULL);
	default:
		d->t->st->special++;
		return rv_tree_add(d->t, path, len, RV_OTHER, NULL, NULL);
	}
}

/* ---- the members ---- */

/* The inner tar is read from the outer archive's current member. */
static la_ssize_t inner_read(struct archive *a, void *ctx, const void **buf)
{
	struct deb *d = ctx;
	la_ssize_t n = archive_read_data(d->outer, d->io, sizeof(d->io));

	if (n < 0) {
		archive_set_error(a, EIO, "%s", archive_error_string(d->outer));
		return ARCHIVE_FATAL;
	}
	*buf = d->io;
	return n;
}

static int open_inner(struct deb *d, const char *member, struct archive **ret)
{
	struct archive *a = archive_read_new();

	if (!a)
		return -ENOMEM;
	/* built-in decompressors only: never an external program */
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_lzma(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_format_tar(a);
	if (archive_read_open(a, d, NULL, inner_read, NULL) != ARCHIVE_OK) {
		int r = bad_archive(d, a, member);

		archive_read_free(a);
		return r;
	}
	*ret = a;
	return 0;
}

static int read_data(struct deb *d, const char *member)
{
	_cleanup_(archive_freep) struct archive *a = NULL;
	struct archive_entry *e;
	int r, ar = ARCHIVE_EOF;

	r = open_inner(d, member, &a);
	d->first_node = d->t->count;
	d->prev_len = SIZE_MAX;
	while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = data_entry(d, a, e);
	if (r == 0 && ar != ARCHIVE_EOF)
		r = bad_archive(d, a, member);
	return r;
}

/* The value of a deb822 field ("Package: vigil"), trimmed; NULL if there is none. */
static const char *field(const char *text, size_t len, const char *name, size_t *ret_len)
{
	size_t n = strlen(name);

	for (const char *line = text; line < text + len;) {
		const char *end = memchr(line, '\n', (size_t)(text + len - line));
		const char *v = line + n + 1;

		end = end ? end : text + len;
		if ((size_t)(end - line) > n && !strncasecmp(line, name, n) && line[n] == ':') {
			while (v < end && (*v == ' ' || *v == '\t'))
				v++;
			while (end > v && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
				end--;
			*ret_len = (size_t)(end - v);
			return v;
		}
		line = end + 1;
	}
	return NULL;
}

static bool printable(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] <= ' ' || s[i] > '~')
			return false;
	return len > 0;
}

static int control_file(struct deb *d, size_t len)
{
	const char *text = (const char *)d->buf, *name, *version;
	char pkg[VIGIL_POLICY_PACKAGE_MAX + 1];
	size_t nlen = 0, vlen = 0;

	name = field(text, len, "Package", &nlen);
	version = field(text, len, "Version", &vlen);
	if (!name || !version || !printable(name, nlen) || !printable(version, vlen))
		return rv_error(d->t->err, -EBADMSG,
				"%s: control: no valid Package and Version fields", d->file);
	if (nlen + 1 + vlen > VIGIL_POLICY_PACKAGE_MAX)
		return rv_error(d->t->err, -EBADMSG, "%s: control: name and version too long",
				d->file);
	snprintf(pkg, sizeof(pkg), "%.*s %.*s", (int)nlen, name, (int)vlen, version);
	return rv_tree_package(d->t, pkg, &d->package);
}

static int read_control(struct deb *d, const char *member)
{
	_cleanup_(archive_freep) struct archive *a = NULL;
	struct archive_entry *e;
	int r, ar = ARCHIVE_EOF;
	size_t len = 0;

	r = open_inner(d, member, &a);
	while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(e);

		if (!name || (strcmp(name, "./control") != 0 && strcmp(name, "control") != 0))
			continue;
		if (archive_entry_size(e) < 0 ||
		    archive_entry_size(e) > VIGIL_REFVALUES_CONTROL_MAX)
			return rv_error(d->t->err, -EFBIG, "%s: control: larger than %u bytes",
					d->file, VIGIL_REFVALUES_CONTROL_MAX);
		r = read_content(d, a, archive_entry_size(e), &len);
		return r < 0 ? r : control_file(d, len);
	}
	if (r == 0 && ar != ARCHIVE_EOF)
		return bad_archive(d, a, member);
	return r < 0 ? r :
		       rv_error(d->t->err, -EBADMSG, "%s: %s has no control file", d->file, member);
}

enum { SEEN_BINARY = 1, SEEN_CONTROL = 2, SEEN_DATA = 4 };

static int format_version(struct deb *d)
{
	char v[16];
	la_ssize_t n = archive_read_data(d->outer, v, sizeof(v));

	if (n < 3 || v[0] != '2' || v[1] != '.')
		return rv_error(d->t->err, -EBADMSG, "%s: not a Debian 2.x package", d->file);
	return 0;
}

static int member(struct deb *d, const char *name, unsigned int *seen)
{
	int r;

	if (!name)
		return bad_archive(d, d->outer, "member name");
	if (!*seen) {
		if (strcmp(name, "debian-binary") != 0)
			return rv_error(d->t->err, -EBADMSG, "%s: not a Debian package", d->file);
		*seen = SEEN_BINARY;
		return format_version(d);
	}
	if (!strncmp(name, "control.tar", 11) && !(*seen & SEEN_CONTROL)) {
		*seen |= SEEN_CONTROL;
		return read_control(d, name);
	}
	if (!strncmp(name, "data.tar", 8) && (*seen & SEEN_CONTROL) && !(*seen & SEEN_DATA)) {
		*seen |= SEEN_DATA;
		r = read_data(d, name);
		return r;
	}
	if (name[0] == '_') /* reserved for local additions: dpkg-deb skips them too */
		return 0;
	return rv_error(d->t->err, -EBADMSG, "%s: unexpected member \"%s\"", d->file, name);
}

static int read_deb(struct deb *d, const char *file)
{
	_cleanup_(archive_freep) struct archive *a = archive_read_new();
	struct archive_entry *e;
	unsigned int seen = 0;
	int r = 0, ar = ARCHIVE_EOF;

	if (!a)
		return -ENOMEM;
	d->file = file;
	d->outer = a;
	archive_read_support_format_ar(a);
	if (archive_read_open_filename(a, file, IO_SIZE) != ARCHIVE_OK) {
		/* libarchive reports a format it does not recognise as EILSEQ */
		r = archive_errno(a);
		r = r <= 0 || r == EILSEQ ? -EBADMSG : -r;
		return rv_error(d->t->err, r, "%s: %s", file, archive_error_string(a));
	}
	while (r == 0 && (ar = archive_read_next_header(a, &e)) == ARCHIVE_OK)
		r = member(d, archive_entry_pathname(e), &seen);
	if (r == 0 && ar != ARCHIVE_EOF)
		r = bad_archive(d, a, "ar");
	if (r == 0 && seen != (SEEN_BINARY | SEEN_CONTROL | SEEN_DATA))
		r = rv_error(d->t->err, -EBADMSG, "%s: no %s member", file,
			     seen & SEEN_CONTROL ? "data.tar" : "control.tar");
	d->outer = NULL;
	if (r == 0)
		d->t->st->packages++;
	return r;
}

/* The load callback: every file of a package was hashed while it was unpacked. */
static int deb_load(struct rv_tree *t, struct rv_file *f, const struct rv_node *n, bool hash)
{
	(void)t;
	(void)f;
	(void)n;
	(void)hash;
	return 0;
}

static int add_merged_links(struct deb *d)
{
	char name[16], target[16];
	int r = 0;

	for (size_t i = 0; r == 0 && i < N_MERGED; i++) {
		if (!(d->usr_seen & (1u << i)))
			continue;
		snprintf(name, sizeof(name), "/%s", merged[i]);
		snprintf(target, sizeof(target), "usr/%s", merged[i]);
		r = rv_tree_add(d->t, name, strlen(name), RV_LINK, target, NULL);
	}
	return r;
}

/**
 * vigil_refvalues_debs() - add the reference values of Debian packages to a policy
 * @p: the policy (its hash_alg is the one used)
 * @debs: the .deb files
 * @n: their number
 * @o: what to select (refvalues.h)
 * @st: on return (success or not), what was done
 * @err: on failure, why (naming the package)
 *
 * Every selected digest is also recorded with its package's "name version" (the first
 * package that ships it).
 *
 * Return: 0; -EBADMSG (not a well-formed .deb); -ENOENT and other errnos (a .deb cannot be
 * read); or the policy's error.
 */
int vigil_refvalues_debs(struct vigil_policy *p, const char *const *debs, size_t n,
			 const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
			 struct vigil_refvalues_error *err)
{
	struct deb *d = calloc(1, sizeof(*d));
	struct rv_tree t;
	int r;

	if (!d)
		return -ENOMEM;
	r = rv_tree_init(&t, p, o, st, err);
	d->t = &t;
	if (r == 0)
		r = rv_hash_init(t.alg, &d->md);
	for (size_t i = 0; r == 0 && i < n; i++)
		r = read_deb(d, debs[i]);
	if (r == 0)
		r = add_merged_links(d);
	if (r == 0) {
		rv_tree_sort(&t);
		t.load = deb_load;
		t.source = d;
		r = rv_tree_emit(&t);
	}
	rv_hash_free(d->md);
	free(d->buf);
	free(d);
	rv_tree_free(&t);
	return r;
}
