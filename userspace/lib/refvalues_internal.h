/* SPDX-License-Identifier: MIT */
/*
 * refvalues_internal.h: what the reference-value sources share (refvalues.c, refvalues_tree.c,
 * refvalues_rootfs.c, refvalues_read.c, refvalues_deb.c): the name tree a source fills, the
 * table of files it hashes, and the selection rules.
 *
 * A source (a walk of a root filesystem, a set of .deb files) adds one node per name it finds:
 * directories, regular files, symlinks (with their text) and anything else. A regular file's
 * node points to an entry in the file table, one per inode, so hard links share one digest.
 * After rv_tree_sort(), rv_tree_emit() resolves symlinks inside the tree, applies the selection
 * to every name and adds the selected (name, digest) pairs to the policy. A file is classified
 * and hashed when a name first needs it: through the source's load callback (the root
 * filesystem reads it then), or eagerly by the source (a package's bytes are at hand only
 * while it is unpacked). A root filesystem plans first: a first rv_tree_emit() with @plan set
 * marks the files selected names need, worker threads hash them, a second one adds the
 * entries.
 *
 * Invariants: node paths are target paths without the top ("" is the top, "/usr" below it),
 * unique after sorting except where two packages ship the same path; they and the link texts
 * live in the tree's string arena until rv_tree_free(). Indices are 32-bit: a tree holds fewer
 * than 2^32 nodes and files (rv_tree_add() fails with -E2BIG before that).
 */
#ifndef VIGIL_REFVALUES_INTERNAL_H
#define VIGIL_REFVALUES_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "refvalues.h"

enum rv_type {
	RV_DIR = 0,
	RV_FILE,
	RV_LINK,
	RV_OTHER, /* special file, or a directory not entered */
};

/* What a file's content makes it (struct rv_file.kind). */
enum rv_kind {
	RV_KIND_UNKNOWN = 0, /* not looked at yet */
	RV_KIND_EXEC, /* ELF ET_EXEC or ET_DYN */
	RV_KIND_REL, /* ELF ET_REL: a module if its name ends in .ko */
	RV_KIND_SCRIPT, /* "#!" at offset 0 */
	RV_KIND_OTHER,
};

enum rv_state {
	RV_NEW = 0,
	RV_CLASSIFIED, /* kind known, not hashed */
	RV_HASHED, /* kind and digest known */
	RV_FAILED, /* could not be read: reported once, never retried */
};

/* One file (inode): its kind, digest, and the package that shipped it. */
struct rv_file {
	uint64_t dev;
	uint64_t ino;
	uint32_t package; /* 1-based index into rv_tree.packages, 0: none */
	uint32_t node; /* its first name (a node without symlinks), set by rv_tree_sort() */
	int err; /* a read failure not reported yet (refvalues_read.c's workers) */
	uint8_t kind;
	uint8_t state;
	uint8_t want; /* a selected name needs its digest (rv_tree_emit() planning) */
	uint8_t digest[64];
};

/* Resolution state of a symlink (struct rv_node.res). */
enum rv_res {
	RV_RES_NONE = 0, /* not resolved yet */
	RV_RES_FILE, /* ends at the regular file node @to */
	RV_RES_DIR, /* ends at the directory node @to */
	RV_RES_DANGLING, /* missing target, a special file, a file followed by more components */
	RV_RES_LOOP, /* more than VIGIL_REFVALUES_HOPS symlinks */
};

struct rv_node {
	const char *path;
	const char *target; /* RV_LINK: the link text */
	uint32_t file; /* RV_FILE: index into rv_tree.files */
	uint32_t to; /* RV_LINK resolved to RV_RES_FILE or RV_RES_DIR: a node index */
	uint16_t path_len;
	uint8_t type;
	uint8_t res;
};

/* Strings live in chunks that never move, so node paths stay valid while the array grows. */
struct rv_chunk {
	struct rv_chunk *next;
	size_t used;
	size_t size;
	char data[];
};

struct rv_tree;

/* Classify (and with @hash, also hash) @f, known by the name @n: the source's job. */
typedef int (*rv_load_fn)(struct rv_tree *t, struct rv_file *f, const struct rv_node *n, bool hash);

struct rv_tree {
	struct rv_node *nodes;
	size_t count;
	size_t cap;
	struct rv_file *files;
	size_t n_files;
	size_t cap_files;
	uint32_t *slots; /* open addressing: (dev, ino) -> files index + 1 */
	size_t n_slots;
	char **packages; /* "name version" */
	size_t n_packages;
	struct rv_chunk *chunks;
	/* the run */
	struct vigil_policy *policy;
	uint16_t alg;
	size_t digest_size;
	const struct vigil_refvalues_opts *o;
	struct vigil_refvalues_stats *st;
	struct vigil_refvalues_error *err;
	rv_load_fn load;
	void *source;
	bool plan; /* rv_tree_emit() only marks the files it needs hashed */
};

/* How refvalues_read.c reads a root filesystem's files. */
struct rv_reader {
	int top_fd;
	uint16_t alg;
	bool no_openat2;
	void *md; /* for rv_read_load(), on the caller's thread */
	uint8_t *buf;
};

/* refvalues_tree.c */
int rv_tree_init(struct rv_tree *t, struct vigil_policy *p, const struct vigil_refvalues_opts *o,
		 struct vigil_refvalues_stats *st, struct vigil_refvalues_error *err);
void rv_tree_free(struct rv_tree *t);
int rv_tree_add(struct rv_tree *t, const char *path, size_t len, enum rv_type type,
		const char *target, uint32_t *ret);
int rv_tree_file(struct rv_tree *t, uint64_t dev, uint64_t ino, uint32_t *ret, bool *ret_new);
int rv_tree_package(struct rv_tree *t, const char *name, uint32_t *ret);
void rv_tree_sort(struct rv_tree *t);
long rv_tree_lookup(const struct rv_tree *t, const char *path, size_t len);
int rv_tree_resolve(const struct rv_tree *t, const char *path, uint32_t *ret);
int rv_tree_emit(struct rv_tree *t);

/* refvalues_read.c */
int rv_reader_init(struct rv_reader *rd, int top_fd, uint16_t alg);
void rv_reader_free(struct rv_reader *rd);
int rv_read_load(struct rv_tree *t, struct rv_file *f, const struct rv_node *n, bool hash);
int rv_read_parallel(struct rv_tree *t, bool hash);

/* refvalues.c */
int rv_error(struct vigil_refvalues_error *err, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void rv_warn(struct rv_tree *t, const char *name, int r);
int rv_elf_kind(const void *buf, size_t len, int fd);
int rv_hash_init(uint16_t alg, void **ret_ctx);
int rv_hash_update(void *ctx, const void *buf, size_t len);
int rv_hash_final(void *ctx, uint8_t *out);
void rv_hash_free(void *ctx);
bool rv_glob_any(const char *const *globs, size_t n, const char *name);
bool rv_name_is_module(const char *name, size_t len, bool rel);
bool rv_name_other_kernel(const char *name, const char *release);
bool rv_name_valid(const char *name, size_t len);
int rv_add_entry(struct rv_tree *t, const char *name, size_t len, const struct rv_file *f);

#endif /* VIGIL_REFVALUES_INTERNAL_H */
