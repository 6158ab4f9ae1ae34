// SPDX-License-Identifier: MIT
/*
 * refvalues_rootfs.c: reference values from a root filesystem (`vigil policy create --rootfs`):
 * walk the tree without following symlinks into a name tree (refvalues_tree.c), locate the
 * module tree of one kernel release with libkmod, then have refvalues_read.c classify and hash
 * the files the selected names need.
 *
 * The walk opens every directory relative to its parent's descriptor with O_NOFOLLOW, so a
 * symlink is never entered while walking; each directory is entered once (by device and
 * inode: a bind mount of an ancestor is not walked again); mount points of pseudo and volatile
 * file systems (proc, sysfs, tmpfs, ...) are not entered, nor other file systems with
 * one_file_system. FIFOs, sockets and devices are recorded by type and never opened.
 *
 * Invariants: one descriptor per directory level is open (the depth is bounded by
 * VIGIL_REFVALUES_DEPTH); files and directories that cannot be read are reported through
 * rv_warn() and the run goes on; only a failure to allocate, or the policy's, ends it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <libkmod.h>

#include "cleanup.h"
#include "policy.h"
#include "refvalues_internal.h"

#define PROGRESS_EVERY 4096 /* walk: entries between progress calls */

/* Not in <linux/magic.h>. */
#define MQUEUE_MAGIC 0x19800202
#define CONFIGFS_MAGIC 0x62656570
#define FUSECTL_MAGIC 0x65735543

struct walk {
	struct rv_tree *t;
	int top_fd;
	dev_t top_dev;
	uint64_t *visited; /* (dev, ino) pairs, open addressing, ino 0 = empty */
	size_t n_visited;
	size_t visited_cap;
	char path[VIGIL_POLICY_PATH_MAX + 1];
	uint64_t entries;
};

/* Mount points of these are not part of an image: their content is made up at run time. */
static bool volatile_fs(long type)
{
	static const long types[] = {
		PROC_SUPER_MAGIC, SYSFS_MAGIC,	      DEVPTS_SUPER_MAGIC,  TMPFS_MAGIC,
		RAMFS_MAGIC,	  CGROUP_SUPER_MAGIC, CGROUP2_SUPER_MAGIC, SECURITYFS_MAGIC,
		DEBUGFS_MAGIC,	  TRACEFS_MAGIC,      BPF_FS_MAGIC,	   PSTOREFS_MAGIC,
		EFIVARFS_MAGIC,	  BINFMTFS_MAGIC,     SELINUX_MAGIC,	   SMACK_MAGIC,
		NSFS_MAGIC,	  AUTOFS_SUPER_MAGIC, HUGETLBFS_MAGIC,	   MQUEUE_MAGIC,
		CONFIGFS_MAGIC,	  FUSECTL_MAGIC,
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (type == types[i])
			return true;
	return false;
}

/* ---- directories seen ---- */

static size_t visited_slot(const uint64_t *v, size_t cap, uint64_t dev, uint64_t ino)
{
	size_t at = (size_t)((ino * 0x9e3779b97f4a7c15ull) ^ dev) & (cap - 1);

	while (v[2 * at + 1] && (v[2 * at] != dev || v[2 * at + 1] != ino))
		at = (at + 1) & (cap - 1);
	return at;
}

/* Return 1 if (dev, ino) was seen before, 0 after recording it, or -ENOMEM. */
static int visit(struct walk *w, uint64_t dev, uint64_t ino)
{
	size_t at;

	if (2 * (w->n_visited + 1) > w->visited_cap) {
		size_t cap = w->visited_cap ? w->visited_cap * 2 : 1024;
		uint64_t *v = calloc(2 * cap, sizeof(*v));

		if (!v)
			return -ENOMEM;
		for (size_t i = 0; i < w->visited_cap; i++) {
			if (!w->visited[2 * i + 1])
				continue;
			at = visited_slot(v, cap, w->visited[2 * i], w->visited[2 * i + 1]);
			v[2 * at] = w->visited[2 * i];
			v[2 * at + 1] = w->visited[2 * i + 1];
		}
		free(w->visited);
		w->visited = v;
		w->visited_cap = cap;
	}
	at = visited_slot(w->visited, w->visited_cap, dev, ino);
	if (w->visited[2 * at + 1])
		return 1;
	w->visited[2 * at] = dev;
	w->visited[2 * at + 1] = ino ? ino : 1;
	w->n_visited++;
	return 0;
}

/* ---- the walk ---- */

/* NOLINTNEXTLINE(misc-no-recursion): one level per directory, VIGIL_REFVALUES_DEPTH at most */
static int walk_dir(struct walk *w, int dfd, size_t plen, unsigned int depth);

static void progress(struct walk *w)
{
	const struct vigil_refvalues_opts *o = w->t->o;

	if (o->progress && ++w->entries % PROGRESS_EVERY == 0)
		o->progress(o->ctx, w->t->st);
}

/* A directory that is not entered is still a name: a node of type RV_OTHER. */
static int skip_dir(struct walk *w, size_t len)
{
	w->t->st->mounts_skipped++;
	return rv_tree_add(w->t, w->path, len, RV_OTHER, NULL, NULL);
}

/* NOLINTNEXTLINE(misc-no-recursion): see walk_dir() */
static int enter_dir(struct walk *w, int dfd, const char *name, size_t len,
		     const struct stat *parent, unsigned int depth)
{
	_cleanup_close_ int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	struct statfs sfs;
	struct stat st;
	int r;

	if (fd < 0 || fstat(fd, &st) < 0) {
		rv_warn(w->t, w->path, -errno);
		return rv_tree_add(w->t, w->path, len, RV_DIR, NULL, NULL);
	}
	if (depth >= VIGIL_REFVALUES_DEPTH || (w->t->o->one_file_system && st.st_dev != w->top_dev))
		return skip_dir(w, len);
	if (st.st_dev != parent->st_dev && fstatfs(fd, &sfs) == 0 && volatile_fs(sfs.f_type))
		return skip_dir(w, len);
	r = visit(w, st.st_dev, st.st_ino);
	if (r != 0)
		return r < 0 ? r : skip_dir(w, len);
	r = rv_tree_add(w->t, w->path, len, RV_DIR, NULL, NULL);
	if (r < 0)
		return r;
	return walk_dir(w, fd, len, depth + 1);
}

static int add_link(struct walk *w, int dfd, const char *name, size_t len)
{
	char target[PATH_MAX + 1];
	ssize_t n = readlinkat(dfd, name, target, sizeof(target));

	w->t->st->symlinks++;
	if (n < 0 || (size_t)n >= sizeof(target)) {
		rv_warn(w->t, w->path, n < 0 ? -errno : -ENAMETOOLONG);
		return 0;
	}
	target[n] = '\0';
	return rv_tree_add(w->t, w->path, len, RV_LINK, target, NULL);
}

static int add_file(struct walk *w, const struct stat *st, size_t len)
{
	uint32_t file, node;
	bool created;
	int r;

	w->t->st->files++;
	r = rv_tree_file(w->t, st->st_dev, st->st_ino, &file, &created);
	if (r == 0)
		r = rv_tree_add(w->t, w->path, len, RV_FILE, NULL, &node);
	if (r == 0)
		w->t->nodes[node].file = file;
	return r;
}

/* NOLINTNEXTLINE(misc-no-recursion): see walk_dir() */
static int walk_entry(struct walk *w, int dfd, const char *name, size_t len,
		      const struct stat *parent, unsigned int depth)
{
	struct stat st;

	progress(w);
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		rv_warn(w->t, w->path, -errno);
		return 0;
	}
	switch (st.st_mode & S_IFMT) {
	case S_IFREG:
		return add_file(w, &st, len);
	case S_IFLNK:
		return add_link(w, dfd, name, len);
	case S_IFDIR:
		return enter_dir(w, dfd, name, len, parent, depth);
	default:
		w->t->st->special++;
		return rv_tree_add(w->t, w->path, len, RV_OTHER, NULL, NULL);
	}
}

static int not_dots(const struct dirent *d)
{
	return strcmp(d->d_name, ".") != 0 && strcmp(d->d_name, "..") != 0;
}

/* w->path[0..plen) is the directory's name; each entry's is written after it in turn. */
/* NOLINTNEXTLINE(misc-no-recursion): depth < VIGIL_REFVALUES_DEPTH, checked in enter_dir() */
static int walk_dir(struct walk *w, int dfd, size_t plen, unsigned int depth)
{
	struct dirent **list = NULL;
	struct stat self;
	int n, r = 0;

	n = fstat(dfd, &self) < 0 ? -1 : scandirat(dfd, ".", &list, not_dots, NULL);
	if (n < 0) {
		r = -errno;
		w->path[plen] = '\0';
		if (r == -ENOMEM)
			return r;
		rv_warn(w->t, plen ? w->path : "/", r);
		return 0;
	}
	for (int i = 0; i < n; i++) {
		size_t nlen = strlen(list[i]->d_name);

		if (r == 0 && plen + 1 + nlen > VIGIL_POLICY_PATH_MAX) {
			w->t->st->bad_names++;
		} else if (r == 0) {
			w->path[plen] = '/';
			memcpy(w->path + plen + 1, list[i]->d_name, nlen + 1);
			r = walk_entry(w, dfd, list[i]->d_name, plen + 1 + nlen, &self, depth);
		}
		free(list[i]);
	}
	free(list);
	return r;
}

/* ---- the module tree ---- */

static void kmod_unrefp(struct kmod_ctx **c)
{
	if (*c)
		kmod_unref(*c);
}

/*
 * The module tree of @release, found inside the walked tree (/lib may be a symlink, even an
 * absolute one: it is resolved against the tree, not the host), then opened by libkmod the way
 * modprobe would, which needs depmod's indexes.
 */
static int check_release(const struct rv_tree *t, const char *dir, const char *release)
{
	static const char *const no_config[] = { NULL };
	_cleanup_(kmod_unrefp) struct kmod_ctx *ctx = NULL;
	char name[PATH_MAX], tree[PATH_MAX];
	uint32_t node;
	int r;

	if (!*release || strchr(release, '/') || !strcmp(release, ".") || !strcmp(release, ".."))
		return rv_error(t->err, -EINVAL, "\"%s\": not a kernel release", release);
	snprintf(name, sizeof(name), "/lib/modules/%s", release);
	r = rv_tree_resolve(t, name, &node);
	if (r < 0)
		return r;
	if (r != RV_RES_DIR)
		return rv_error(t->err, -ENOENT, "%s%s: no module tree of kernel release %s", dir,
				name, release);
	if ((size_t)snprintf(tree, sizeof(tree), "%s%s", dir, t->nodes[node].path) >= sizeof(tree))
		return rv_error(t->err, -ENAMETOOLONG, "%s: name too long", dir);
	ctx = kmod_new(tree, no_config);
	if (!ctx)
		return -ENOMEM;
	if (kmod_load_resources(ctx) < 0)
		return rv_error(t->err, -ENOENT,
				"%s: module tree of kernel release %s without its modules.*.bin "
				"indexes (run depmod)",
				kmod_get_dirname(ctx), release);
	return 0;
}

/* ---- the run ---- */

static int walk_top(struct walk *w, const char *dir)
{
	struct stat st;
	int r;

	w->top_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->top_fd < 0 || fstat(w->top_fd, &st) < 0)
		return rv_error(w->t->err, -errno, "%s: %s", dir, strerror(errno));
	w->top_dev = st.st_dev;
	r = visit(w, st.st_dev, st.st_ino);
	if (r == 0)
		r = walk_dir(w, w->top_fd, 0, 0);
	return r;
}

/*
 * Classify in parallel, plan (which files do selected names need?), hash those in parallel,
 * then add the entries: the same result as one lazy pass, with the disk kept busy.
 */
static int read_and_emit(struct rv_tree *t)
{
	struct vigil_refvalues_stats before;
	int r = rv_read_parallel(t, false);

	if (r < 0)
		return r;
	before = *t->st;
	t->plan = true;
	r = rv_tree_emit(t);
	t->plan = false;
	/* the naming counters are the final pass's; the reading ones add up */
	t->st->bad_names = before.bad_names;
	t->st->other_kernels = before.other_kernels;
	t->st->excluded = before.excluded;
	t->st->dangling = before.dangling;
	t->st->loops = before.loops;
	if (r == 0)
		r = rv_read_parallel(t, true);
	if (r == 0)
		r = rv_tree_emit(t);
	return r;
}

/**
 * vigil_refvalues_rootfs() - add the reference values of a root filesystem to a policy
 * @p: the policy (its hash_alg is the one used)
 * @dir: the root filesystem's top directory
 * @o: what to select (refvalues.h)
 * @st: on return (success or not), what was done
 * @err: on failure, why
 *
 * Return: 0 (files that could not be read are counted in @st, not failures); -ENOENT (@dir,
 * or the kernel release's module tree, is missing); another negative errno from the walk or
 * the policy.
 */
int vigil_refvalues_rootfs(struct vigil_policy *p, const char *dir,
			   const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
			   struct vigil_refvalues_error *err)
{
	struct rv_tree t;
	struct walk w = { .t = &t, .top_fd = -1 };
	struct rv_reader rd = { .top_fd = -1 };
	int r;

	r = rv_tree_init(&t, p, o, st, err);
	if (r == 0)
		r = walk_top(&w, dir);
	if (r == 0)
		rv_tree_sort(&t);
	if (r == 0 && o->kernel_release)
		r = check_release(&t, dir, o->kernel_release);
	if (r == 0)
		r = rv_reader_init(&rd, w.top_fd, t.alg);
	if (r == 0) {
		t.load = rv_read_load;
		t.source = &rd;
		r = read_and_emit(&t);
	}
	rv_reader_free(&rd);
	if (w.top_fd >= 0)
		close(w.top_fd);
	free(w.visited);
	rv_tree_free(&t);
	if (r < 0 && err && !err->what[0])
		rv_error(err, r, "%s: %s", dir, strerror(-r));
	return r;
}
