/* SPDX-License-Identifier: MIT */
/*
 * refvalues.h: reference values: filling an attestation policy (policy.h) with the digests of
 * what a device may run, from a root filesystem, from Debian packages or from the measurement
 * log of a trusted run ("learning mode"); the record of a measurement rule set vigil.ko
 * activates ("vigil_policy", refvalues_rules.c); and copying one policy into another (--merge).
 *
 * What is selected (root filesystem and packages alike), by content and by name:
 *	ELF executables and shared objects (ET_EXEC, ET_DYN: PIE, libraries, ld.so), read with
 *	libelf; kernel modules: ET_REL files named *.ko, and *.ko.xz, *.ko.zst, *.ko.gz by name
 *	(hashed as stored: the kernel measures the compressed bytes it reads); scripts ("#!" at
 *	offset 0); and any file whose name matches an include glob. Exclude globs remove names.
 *	Globs are fnmatch(3) with flags 0 on the name as the target sees it ('*' crosses '/').
 *
 * Names: every name a selected file can be opened under is recorded: each path in the tree (a
 * hard link is a path of its own), each symlink that ends at a selected file, and each name
 * below a symlinked directory (/lib -> usr/lib yields /lib/x86_64-linux-gnu/libc.so.6 next to
 * /usr/lib/...). Symlinks are resolved inside the tree as if it were the root (an absolute
 * target starts at the tree's top, ".." stops there), with at most VIGIL_REFVALUES_HOPS links
 * per resolution. A directory symlink that leads to a directory already on the way there (a
 * loop, or an ancestor of the link itself) is not followed. Each file is read and hashed at most
 * once, whatever the number of its names.
 *
 * Conventions are libvigil.h's; nothing here prints. Per-file problems (a file that cannot be
 * read) do not stop a run: they are counted in struct vigil_refvalues_stats and reported through
 * the optional warn callback.
 */
#ifndef VIGIL_REFVALUES_H
#define VIGIL_REFVALUES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vigil_log;
struct vigil_policy;

#define VIGIL_REFVALUES_HOPS 40 /* symlinks followed in one resolution, as the kernel's */
#define VIGIL_REFVALUES_DEPTH 256 /* directory levels walked below the top */
#define VIGIL_REFVALUES_ENTRIES_MAX 50000000 /* (name, digest) pairs in one run */
#define VIGIL_REFVALUES_DEB_FILE_MAX ((uint64_t)2 << 30) /* bytes of one file in a .deb */
#define VIGIL_REFVALUES_CONTROL_MAX (1u << 20) /* bytes of a .deb's control file */

/**
 * struct vigil_refvalues_stats - what a run did (all counters, for the summary)
 * @files: regular files met in the tree or the packages
 * @hashed: distinct files (inodes) read and hashed
 * @bytes: bytes hashed
 * @entries: (name, digest) pairs added to the policy
 * @aliases: of @entries, names through a symlink
 * @symlinks: symlinks met
 * @dangling: symlinks that end nowhere inside the tree (missing target, a special file)
 * @loops: symlinks not followed: too many hops, or a directory loop
 * @special: FIFOs, sockets and devices, skipped by type without being opened
 * @unreadable: files or directories that could not be opened or read (see the warn callback)
 * @excluded: names removed by an exclude glob
 * @other_kernels: module names under /lib/modules/<release> of another release
 * @bad_names: names a policy cannot hold (not UTF-8, longer than VIGIL_POLICY_PATH_MAX)
 * @mounts_skipped: directories not entered: pseudo or volatile file systems, other file
 *	systems with @one_file_system, deeper than VIGIL_REFVALUES_DEPTH
 * @packages: .deb files read
 * @records: log records whose digest was added
 * @violations: log records skipped as violations
 * @no_digest: log records without a file digest (unknown template), skipped
 */
struct vigil_refvalues_stats {
	uint64_t files;
	uint64_t hashed;
	uint64_t bytes;
	uint64_t entries;
	uint64_t aliases;
	uint64_t symlinks;
	uint64_t dangling;
	uint64_t loops;
	uint64_t special;
	uint64_t unreadable;
	uint64_t excluded;
	uint64_t other_kernels;
	uint64_t bad_names;
	uint64_t mounts_skipped;
	uint64_t packages;
	uint64_t records;
	uint64_t violations;
	uint64_t no_digest;
};

/**
 * struct vigil_refvalues_opts - what to select and how to report
 * @include: globs: names selected whatever their content
 * @n_include: their number
 * @exclude: globs: names never recorded
 * @n_exclude: their number
 * @kernel_release: only this release's module tree among /lib/modules/ and /usr/lib/modules/
 *	(a root filesystem must have it, with modules.dep); NULL: every tree
 * @any_path: add digests to "any_path" instead of under their names
 * @no_aliases: record only the names files have in the tree, not those through symlinks
 * @one_file_system: do not enter directories on another file system than the top
 * @progress: called after each file read (the caller rate-limits its output), or NULL
 * @warn: called once per file or directory that cannot be read, with the name and the
 *	negative errno, or NULL
 * @ctx: passed to @progress and @warn
 */
struct vigil_refvalues_opts {
	const char *const *include;
	size_t n_include;
	const char *const *exclude;
	size_t n_exclude;
	const char *kernel_release;
	bool any_path;
	bool no_aliases;
	bool one_file_system;
	void (*progress)(void *ctx, const struct vigil_refvalues_stats *st);
	void (*warn)(void *ctx, const char *name, int err);
	void *ctx;
};

/**
 * struct vigil_refvalues_error - why a run or a log was rejected (written only on failure)
 * @record: log: the index of the record at fault
 * @what: a human-readable reason naming the file, package, record or name, NUL-terminated
 */
struct vigil_refvalues_error {
	size_t record;
	char what[512];
};

int vigil_refvalues_rootfs(struct vigil_policy *p, const char *dir,
			   const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
			   struct vigil_refvalues_error *err) __attribute__((warn_unused_result));
int vigil_refvalues_debs(struct vigil_policy *p, const char *const *debs, size_t n,
			 const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
			 struct vigil_refvalues_error *err) __attribute__((warn_unused_result));
int vigil_refvalues_log_alg(const struct vigil_log *log, uint16_t *ret_alg,
			    struct vigil_refvalues_error *err) __attribute__((warn_unused_result));
int vigil_refvalues_log(struct vigil_policy *p, const struct vigil_log *log,
			const struct vigil_refvalues_opts *o, struct vigil_refvalues_stats *st,
			struct vigil_refvalues_error *err) __attribute__((warn_unused_result));
int vigil_refvalues_merge(struct vigil_policy *dst, const struct vigil_policy *src,
			  struct vigil_refvalues_error *err) __attribute__((warn_unused_result));
int vigil_refvalues_rules_text(const char *text, size_t len, char **ret, size_t *ret_len,
			       struct vigil_refvalues_error *err)
	__attribute__((warn_unused_result));
int vigil_refvalues_rules(struct vigil_policy *p, const char *text, size_t len,
			  struct vigil_refvalues_error *err) __attribute__((warn_unused_result));

#endif /* VIGIL_REFVALUES_H */
