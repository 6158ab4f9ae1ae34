// SPDX-License-Identifier: MIT
/*
 * refvalues_tree.c: the name tree of a reference-value source: nodes, the file table, symlink
 * resolution inside the tree, and the walk over every name that adds the selected ones to the
 * policy (refvalues_internal.h describes the model).
 *
 * Resolution treats the tree as a chroot: an absolute link text starts again at the top, ".."
 * of the top is the top, and each step looks the next component up among the sorted nodes. A
 * directory that has no node of its own but has nodes below it (a package that lists
 * ./usr/bin/x without ./usr/bin/) counts as a directory.
 *
 * Names: the nodes sorted bytewise put everything below a directory D in one run of the array
 * (the paths starting with "D/"), so the names a directory symlink L -> D adds are that run
 * with D replaced by L. Symlinked directories inside the run are followed the same way, with
 * the directories already on the way kept on a stack: a link to one of them, or to an ancestor
 * of itself, is a loop and is not followed. Every name is bounded by VIGIL_POLICY_PATH_MAX,
 * so the walk ends.
 *
 * Invariants: rv_tree_emit() runs on a sorted tree; a link's resolution is computed once and
 * cached in its node; the dangling and loop counters count each link once (at its own name).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "policy.h"
#include "refvalues_internal.h"

#define CHUNK_SIZE ((size_t)1 << 20)
#define NODES_MAX ((size_t)UINT32_MAX - 1)

/* ---- strings ---- */

static const char *arena_dup(struct rv_tree *t, const char *s, size_t len)
{
	struct rv_chunk *c = t->chunks;
	char *p;

	if (!c || c->size - c->used < len + 1) {
		size_t size = len + 1 > CHUNK_SIZE ? len + 1 : CHUNK_SIZE;

		c = malloc(sizeof(*c) + size);
		if (!c)
			return NULL;
		c->next = t->chunks;
		c->used = 0;
		c->size = size;
		t->chunks = c;
	}
	p = c->data + c->used;
	memcpy(p, s, len);
	p[len] = '\0';
	c->used += len + 1;
	return p;
}

/* ---- building ---- */

/**
 * rv_tree_init() - an empty tree (only the top directory) for one run
 * @t: the tree
 * @p: the policy the run adds to
 * @o: the selection
 * @st: the counters (zeroed here)
 * @err: where failures are explained
 *
 * Return: 0, -EINVAL (the policy's hash algorithm is unknown) or -ENOMEM.
 */
int rv_tree_init(struct rv_tree *t, struct vigil_policy *p, const struct vigil_refvalues_opts *o,
		 struct vigil_refvalues_stats *st, struct vigil_refvalues_error *err)
{
	const struct vigil_policy_info *info = vigil_policy_info(p);

	*t = (struct rv_tree){ .policy = p, .o = o, .st = st, .err = err };
	*st = (struct vigil_refvalues_stats){ 0 };
	if (err)
		err->what[0] = '\0';
	t->alg = info->hash_alg;
	t->digest_size = info->digest_size;
	if (!t->digest_size || t->digest_size > sizeof(t->files[0].digest))
		return -EINVAL;
	return rv_tree_add(t, "", 0, RV_DIR, NULL, NULL);
}

/**
 * rv_tree_free() - release a tree's memory
 * @t: the tree (may be zeroed)
 */
void rv_tree_free(struct rv_tree *t)
{
	while (t->chunks) {
		struct rv_chunk *next = t->chunks->next;

		free(t->chunks);
		t->chunks = next;
	}
	for (size_t i = 0; i < t->n_packages; i++)
		free(t->packages[i]);
	free(t->packages);
	free(t->nodes);
	free(t->files);
	free(t->slots);
	*t = (struct rv_tree){ 0 };
}

/**
 * rv_tree_add() - add a name
 * @t: the tree
 * @path: the target path without the top ("/usr/bin/ls"; "" is the top)
 * @len: its length, at most VIGIL_POLICY_PATH_MAX
 * @type: what it is
 * @target: RV_LINK: the link text (NUL-terminated), else NULL
 * @ret: on success, the node's index (may be NULL)
 *
 * Return: 0, -ENAMETOOLONG, -E2BIG (too many nodes) or -ENOMEM.
 */
int rv_tree_add(struct rv_tree *t, const char *path, size_t len, enum rv_type type,
		const char *target, uint32_t *ret)
{
	struct rv_node *n;

	if (len > VIGIL_POLICY_PATH_MAX)
		return -ENAMETOOLONG;
	if (t->count == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;

		if (t->count >= NODES_MAX)
			return -E2BIG;
		n = reallocarray(t->nodes, cap, sizeof(*n));
		if (!n)
			return -ENOMEM;
		t->nodes = n;
		t->cap = cap;
	}
	n = &t->nodes[t->count];
	*n = (struct rv_node){ .type = (uint8_t)type, .path_len = (uint16_t)len };
	n->path = arena_dup(t, path, len);
	if (!n->path || (target && !(n->target = arena_dup(t, target, strlen(target)))))
		return -ENOMEM;
	if (ret)
		*ret = (uint32_t)t->count;
	t->count++;
	return 0;
}

static uint64_t mix(uint64_t dev, uint64_t ino)
{
	uint64_t h = ino * 0x9e3779b97f4a7c15ull ^ dev * 0xc2b2ae3d27d4eb4full;

	return h ^ (h >> 29);
}

static int grow_slots(struct rv_tree *t)
{
	size_t n = t->n_slots ? t->n_slots * 2 : 4096;
	uint32_t *s = calloc(n, sizeof(*s));

	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < t->n_files; i++) {
		size_t at = mix(t->files[i].dev, t->files[i].ino) & (n - 1);

		while (s[at])
			at = (at + 1) & (n - 1);
		s[at] = (uint32_t)i + 1;
	}
	free(t->slots);
	t->slots = s;
	t->n_slots = n;
	return 0;
}

static int append_file(struct rv_tree *t, uint64_t dev, uint64_t ino, uint32_t *ret)
{
	if (t->n_files == t->cap_files) {
		size_t cap = t->cap_files ? t->cap_files * 2 : 4096;
		struct rv_file *f;

		if (t->n_files >= NODES_MAX)
			return -E2BIG;
		f = reallocarray(t->files, cap, sizeof(*f));
		if (!f)
			return -ENOMEM;
		t->files = f;
		t->cap_files = cap;
	}
	t->files[t->n_files] = (struct rv_file){ .dev = dev, .ino = ino };
	*ret = (uint32_t)t->n_files++;
	return 0;
}

/**
 * rv_tree_file() - the file entry of an inode, created on first use
 * @t: the tree
 * @dev: its device
 * @ino: its inode number
 * @ret: on success, the entry's index
 * @ret_new: on success, whether the entry was created now
 *
 * Return: 0, -E2BIG or -ENOMEM.
 */
int rv_tree_file(struct rv_tree *t, uint64_t dev, uint64_t ino, uint32_t *ret, bool *ret_new)
{
	size_t at;
	int r;

	if (2 * (t->n_files + 1) > t->n_slots) {
		r = grow_slots(t);
		if (r < 0)
			return r;
	}
	for (at = mix(dev, ino) & (t->n_slots - 1); t->slots[at];
	     at = (at + 1) & (t->n_slots - 1)) {
		const struct rv_file *f = &t->files[t->slots[at] - 1];

		if (f->dev == dev && f->ino == ino) {
			*ret = t->slots[at] - 1;
			*ret_new = false;
			return 0;
		}
	}
	r = append_file(t, dev, ino, ret);
	if (r < 0)
		return r;
	t->slots[at] = *ret + 1;
	*ret_new = true;
	return 0;
}

/**
 * rv_tree_package() - remember a package's "name version"
 * @t: the tree
 * @name: the text
 * @ret: on success, its 1-based index (for struct rv_file.package)
 *
 * Return: 0 or -ENOMEM.
 */
int rv_tree_package(struct rv_tree *t, const char *name, uint32_t *ret)
{
	char **p = reallocarray(t->packages, t->n_packages + 1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	t->packages = p;
	p[t->n_packages] = strdup(name);
	if (!p[t->n_packages])
		return -ENOMEM;
	*ret = (uint32_t)++t->n_packages;
	return 0;
}

/* ---- lookup ---- */

static int cmp_path(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): qsort()'s comparator */
static int node_cmp(const void *a, const void *b)
{
	const struct rv_node *x = a, *y = b;

	return cmp_path(x->path, x->path_len, y->path, y->path_len);
}

/**
 * rv_tree_sort() - sort the nodes by path (bytewise), as lookups and the walk need
 * @t: the tree
 *
 * Also gives each file its first name (struct rv_file.node).
 */
void rv_tree_sort(struct rv_tree *t)
{
	qsort(t->nodes, t->count, sizeof(*t->nodes), node_cmp);
	for (size_t i = 0; i < t->n_files; i++)
		t->files[i].node = UINT32_MAX;
	for (size_t i = 0; i < t->count; i++) {
		struct rv_file *f = &t->files[t->nodes[i].file];

		if (t->nodes[i].type == RV_FILE && f->node == UINT32_MAX)
			f->node = (uint32_t)i;
	}
}

/* The first node whose path is not below @key (bytewise). */
static size_t lower_bound(const struct rv_tree *t, const char *key, size_t len)
{
	size_t lo = 0, hi = t->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (cmp_path(t->nodes[mid].path, t->nodes[mid].path_len, key, len) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/**
 * rv_tree_lookup() - the node of a path in a sorted tree
 * @t: the tree
 * @path: the path ("" is the top)
 * @len: its length
 *
 * Return: the node's index, or -1.
 */
long rv_tree_lookup(const struct rv_tree *t, const char *path, size_t len)
{
	size_t i = lower_bound(t, path, len);

	if (i < t->count && !cmp_path(t->nodes[i].path, t->nodes[i].path_len, path, len))
		return (long)i;
	return -1;
}

static bool has_prefix(const struct rv_node *n, const char *prefix, size_t len)
{
	return n->path_len >= len && !memcmp(n->path, prefix, len);
}

/* A directory without a node of its own, known by what is below it. */
static bool implicit_dir(const struct rv_tree *t, char *path, size_t len)
{
	size_t i;

	path[len] = '/';
	i = lower_bound(t, path, len + 1);
	return i < t->count && has_prefix(&t->nodes[i], path, len + 1);
}

/* ---- symlink resolution ---- */

struct resolve {
	char cur[VIGIL_POLICY_PATH_MAX + 2]; /* the directory reached so far */
	size_t cur_len;
	char rest[2 * VIGIL_POLICY_PATH_MAX + 2]; /* what is left to walk */
	size_t pos;
	size_t rest_len;
	unsigned int hops;
};

/* Replace the rest by a link's text, then '/' if the link's name had one, then what was left. */
static enum rv_res splice(struct resolve *rs, const char *target, bool slash)
{
	size_t tlen = strlen(target), left = rs->rest_len - rs->pos;

	if (++rs->hops > VIGIL_REFVALUES_HOPS)
		return RV_RES_LOOP;
	if (tlen + slash + left >= sizeof(rs->rest))
		return RV_RES_DANGLING;
	memmove(rs->rest + tlen + slash, rs->rest + rs->pos, left);
	memcpy(rs->rest, target, tlen);
	if (slash)
		rs->rest[tlen] = '/';
	rs->rest_len = tlen + slash + left;
	rs->pos = 0;
	if (target[0] == '/')
		rs->cur_len = 0;
	return RV_RES_NONE;
}

static void parent(struct resolve *rs)
{
	while (rs->cur_len && rs->cur[rs->cur_len - 1] != '/')
		rs->cur_len--;
	if (rs->cur_len)
		rs->cur_len--;
}

/* One component: RV_RES_NONE to go on, or the resolution's end. */
static enum rv_res step(const struct rv_tree *t, struct resolve *rs, uint32_t *ret_to)
{
	const char *c = rs->rest + rs->pos, *slash = memchr(c, '/', rs->rest_len - rs->pos);
	size_t clen = slash ? (size_t)(slash - c) : rs->rest_len - rs->pos;
	long i;

	rs->pos += clen + (slash != NULL);
	if (clen == 0 || (clen == 1 && c[0] == '.'))
		return RV_RES_NONE;
	if (clen == 2 && c[0] == '.' && c[1] == '.') {
		parent(rs);
		return RV_RES_NONE;
	}
	if (rs->cur_len + 1 + clen > VIGIL_POLICY_PATH_MAX)
		return RV_RES_DANGLING;
	rs->cur[rs->cur_len] = '/';
	memmove(rs->cur + rs->cur_len + 1, c, clen);
	i = rv_tree_lookup(t, rs->cur, rs->cur_len + 1 + clen);
	if (i < 0 && !implicit_dir(t, rs->cur, rs->cur_len + 1 + clen))
		return RV_RES_DANGLING;
	if (i < 0 || t->nodes[i].type == RV_DIR) {
		rs->cur_len += 1 + clen;
		return RV_RES_NONE;
	}
	if (t->nodes[i].type == RV_LINK)
		return splice(rs, t->nodes[i].target, slash != NULL);
	/* a file ends the walk: "file/" and "file/x" are ENOTDIR */
	if (t->nodes[i].type != RV_FILE || slash)
		return RV_RES_DANGLING;
	*ret_to = (uint32_t)i;
	return RV_RES_FILE;
}

static enum rv_res resolve_link(const struct rv_tree *t, const struct rv_node *l, uint32_t *ret)
{
	struct resolve *rs = malloc(sizeof(*rs));
	enum rv_res res = RV_RES_NONE;
	long i;

	if (!rs)
		return RV_RES_NONE;
	if (!l->target[0]) /* readlink() never returns "", but a package could say it */
		res = RV_RES_DANGLING;
	memcpy(rs->cur, l->path, l->path_len);
	rs->cur_len = l->path_len;
	parent(rs);
	rs->pos = rs->rest_len = 0;
	rs->hops = 0;
	if (res == RV_RES_NONE)
		res = splice(rs, l->target, false);
	while (res == RV_RES_NONE && rs->pos < rs->rest_len)
		res = step(t, rs, ret);
	if (res == RV_RES_NONE) {
		i = rv_tree_lookup(t, rs->cur, rs->cur_len);
		res = i < 0 ? RV_RES_DANGLING : RV_RES_DIR;
		if (i >= 0)
			*ret = (uint32_t)i;
	}
	free(rs);
	return res;
}

static int resolve(struct rv_tree *t, uint32_t link)
{
	struct rv_node *l = &t->nodes[link];
	uint32_t to = 0;
	enum rv_res res;

	if (l->res != RV_RES_NONE)
		return 0;
	res = resolve_link(t, l, &to);
	if (res == RV_RES_NONE)
		return -ENOMEM;
	l->res = (uint8_t)res;
	l->to = to;
	return 0;
}

/**
 * rv_tree_resolve() - resolve a path inside a sorted tree, as a symlink to it would be
 * @t: the tree
 * @path: an absolute path (symlinks on the way are followed inside the tree)
 * @ret: on RV_RES_FILE or RV_RES_DIR, the node reached
 *
 * Return: an enum rv_res, or -ENOMEM.
 */
int rv_tree_resolve(const struct rv_tree *t, const char *path, uint32_t *ret)
{
	struct rv_node top = { .path = "", .target = path };
	enum rv_res res = resolve_link(t, &top, ret);

	return res == RV_RES_NONE ? -ENOMEM : (int)res;
}

/* ---- names ---- */

struct emit {
	struct rv_tree *t;
	char name[VIGIL_POLICY_PATH_MAX + 1];
	uint32_t stack[VIGIL_REFVALUES_HOPS];
	size_t depth;
};

/* Whether @name selects @f (refvalues.h "What is selected"), classifying @f if need be. */
static int selects(struct rv_tree *t, const char *name, size_t len, struct rv_file *f,
		   const struct rv_node *n, bool *ret)
{
	const struct vigil_refvalues_opts *o = t->o;
	bool by_name = rv_glob_any(o->include, o->n_include, name) ||
		       rv_name_is_module(name, len, false);
	bool ko = rv_name_is_module(name, len, true);
	int r;

	*ret = false;
	if (f->state == RV_NEW) {
		r = t->load(t, f, n, false);
		if (r < 0)
			return r;
	}
	if (f->state != RV_FAILED)
		*ret = by_name || f->kind == RV_KIND_EXEC || f->kind == RV_KIND_SCRIPT ||
		       (ko && f->kind == RV_KIND_REL);
	return 0;
}

/* A name of file node @n: filters, selection, then the policy entry (or, planning, the mark). */
static int emit_name(struct rv_tree *t, const char *name, size_t len, const struct rv_node *n,
		     bool alias)
{
	const struct vigil_refvalues_opts *o = t->o;
	struct rv_file *f = &t->files[n->file];
	bool sel;
	int r;

	if (!rv_name_valid(name, len)) {
		t->st->bad_names++;
		return 0;
	}
	if (o->kernel_release && rv_name_other_kernel(name, o->kernel_release)) {
		t->st->other_kernels++;
		return 0;
	}
	if (rv_glob_any(o->exclude, o->n_exclude, name)) {
		t->st->excluded++;
		return 0;
	}
	r = selects(t, name, len, f, n, &sel);
	if (r < 0 || !sel)
		return r;
	if (f->state != RV_HASHED && t->plan) {
		f->want = 1;
		return 0;
	}
	if (f->state != RV_HASHED) {
		r = t->load(t, f, n, true);
		if (r < 0 || f->state != RV_HASHED)
			return r;
	}
	if (t->plan)
		return 0;
	t->st->aliases += alias;
	return rv_add_entry(t, name, len, f);
}

/* NOLINTNEXTLINE(misc-no-recursion): a directory symlink per level, at most HOPS levels */
static int emit_frame(struct emit *e, uint32_t dir, size_t plen);

/* A symlinked directory: its names again, under the link's name. */
/* NOLINTNEXTLINE(misc-no-recursion): e->depth < VIGIL_REFVALUES_HOPS bounds it */
static int follow(struct emit *e, const struct rv_node *l, size_t len, bool top)
{
	const struct rv_node *d = &e->t->nodes[l->to];
	bool loop = e->depth == VIGIL_REFVALUES_HOPS;
	int r;

	for (size_t i = 0; i < e->depth && !loop; i++)
		loop = e->stack[i] == l->to;
	/* a link to its own ancestor (or to the top) */
	if (has_prefix(l, d->path, d->path_len) &&
	    (l->path_len == d->path_len || l->path[d->path_len] == '/'))
		loop = true;
	if (loop) {
		if (top)
			e->t->st->loops++;
		return 0;
	}
	e->stack[e->depth++] = l->to;
	r = emit_frame(e, l->to, len);
	e->depth--;
	return r;
}

/* NOLINTNEXTLINE(misc-no-recursion,bugprone-easily-swappable-parameters): see follow() */
static int emit_node(struct emit *e, uint32_t i, size_t len)
{
	struct rv_tree *t = e->t;
	bool top = e->depth == 1;
	const struct rv_node *n = &t->nodes[i];
	int r;

	if (n->type == RV_FILE)
		return emit_name(t, e->name, len, n, !top);
	if (n->type != RV_LINK || t->o->no_aliases)
		return 0;
	r = resolve(t, i);
	if (r < 0)
		return r;
	switch (n->res) {
	case RV_RES_FILE:
		return emit_name(t, e->name, len, &t->nodes[n->to], true);
	case RV_RES_DIR:
		return follow(e, n, len, top);
	case RV_RES_LOOP:
		t->st->loops += top;
		return 0;
	default:
		t->st->dangling += top;
		return 0;
	}
}

/* Every name below directory node @dir, with @dir's path replaced by e->name[0..plen). */
/* NOLINTNEXTLINE(misc-no-recursion,bugprone-easily-swappable-parameters): see follow() */
static int emit_frame(struct emit *e, uint32_t dir, size_t plen)
{
	struct rv_tree *t = e->t;
	const struct rv_node *d = &t->nodes[dir];
	char key[VIGIL_POLICY_PATH_MAX + 2];
	size_t klen = d->path_len + 1;
	int r;

	memcpy(key, d->path, d->path_len);
	key[d->path_len] = '/';
	for (size_t i = lower_bound(t, key, klen); i < t->count; i++) {
		const struct rv_node *n = &t->nodes[i];
		size_t rel = n->path_len - d->path_len;

		if (!has_prefix(n, key, klen))
			break;
		if (plen + rel > VIGIL_POLICY_PATH_MAX) {
			t->st->bad_names += n->type == RV_FILE || n->type == RV_LINK;
			continue;
		}
		memcpy(e->name + plen, n->path + d->path_len, rel);
		e->name[plen + rel] = '\0';
		r = emit_node(e, (uint32_t)i, plen + rel);
		if (r < 0)
			return r;
	}
	return 0;
}

/**
 * rv_tree_emit() - add every selected name of a sorted tree to the policy
 * @t: the tree, sorted, with t->load set
 *
 * Return: 0, or a negative errno from the policy or the source's load callback (per-file
 * read failures are counted, not returned).
 */
int rv_tree_emit(struct rv_tree *t)
{
	struct emit *e = malloc(sizeof(*e));
	long top = rv_tree_lookup(t, "", 0);
	int r;

	if (!e)
		return -ENOMEM;
	e->t = t;
	e->name[0] = '\0';
	e->stack[0] = (uint32_t)top;
	e->depth = 1;
	r = top < 0 ? -EINVAL : emit_frame(e, (uint32_t)top, 0);
	free(e);
	return r;
}
