// SPDX-License-Identifier: MIT
/*
 * refvalues_read.c: reading the files of a walked root filesystem: what each one is (its first
 * bytes, libelf) and its digest, one file at a time when a name first needs it (the tree's load
 * callback), or many at a time in worker threads.
 *
 * Reading a root filesystem is mostly waiting for the disk: hundreds of thousands of small
 * header reads, then gigabytes of executables. Worker threads keep several reads in flight
 * (and hash on every CPU), which roughly halves a cold run. The work is split by file: a
 * worker claims the next file index and is the only one to write that file's entry; the
 * counters and the progress callback are shared under one mutex. A worker never reports a
 * failure itself (the warn callback runs on the caller's thread, after the workers are done).
 *
 * A file is opened by the path the walk found it at, below the top, with
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS) (plain openat() with O_NOFOLLOW where the
 * kernel lacks it, probed once before any thread starts), and must still be the inode the walk
 * saw: what is hashed is what was walked.
 *
 * Invariants: a file's state only moves forward (new, classified, hashed; or failed); a failed
 * file is reported through rv_warn() exactly once; no thread outlives a call.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"
#include "policy.h"
#include "refvalues_internal.h"

#define READ_SIZE ((size_t)1 << 20)
#define THREADS_MAX 8
#define OPEN_FLAGS (O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)

/**
 * rv_reader_init() - prepare to read the files below a top directory
 * @rd: the reader
 * @top_fd: the top directory (owned by the caller)
 * @alg: the hash algorithm
 *
 * Return: 0, -EINVAL (unknown algorithm) or -ENOMEM.
 */
int rv_reader_init(struct rv_reader *rd, int top_fd, uint16_t alg)
{
	struct open_how how = { .flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
				.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS };
	long fd = syscall(SYS_openat2, top_fd, ".", &how, sizeof(how));

	*rd = (struct rv_reader){ .top_fd = top_fd, .alg = alg, .no_openat2 = fd < 0 };
	if (fd >= 0)
		close((int)fd);
	rd->buf = malloc(READ_SIZE);
	if (!rd->buf)
		return -ENOMEM;
	return rv_hash_init(alg, &rd->md);
}

/**
 * rv_reader_free() - release a reader (not its top directory)
 * @rd: the reader
 */
void rv_reader_free(struct rv_reader *rd)
{
	rv_hash_free(rd->md);
	free(rd->buf);
	rd->md = NULL;
	rd->buf = NULL;
}

static int open_below(const struct rv_reader *rd, const char *rel)
{
	struct open_how how = {
		.flags = OPEN_FLAGS,
		.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	long fd;

	if (rd->no_openat2)
		fd = openat(rd->top_fd, rel, OPEN_FLAGS);
	else
		fd = syscall(SYS_openat2, rd->top_fd, rel, &how, sizeof(how));
	return fd < 0 ? -errno : (int)fd;
}

/* The file of @n, checked to be the inode @f the walk saw. */
static int open_file(const struct rv_reader *rd, const struct rv_file *f, const struct rv_node *n)
{
	int fd = open_below(rd, n->path + 1);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_dev != f->dev ||
	    st.st_ino != f->ino) {
		close(fd);
		return -ESTALE; /* replaced since the walk */
	}
	return fd;
}

static int classify(struct rv_file *f, int fd)
{
	uint8_t head[64];
	ssize_t len = pread(fd, head, sizeof(head), 0);

	if (len < 0)
		return -errno;
	f->kind = (uint8_t)rv_elf_kind(head, (size_t)len, fd);
	f->state = RV_CLASSIFIED;
	return 0;
}

static int hash_fd(void *md, uint8_t *buf, struct rv_file *f, int fd, uint64_t *ret_bytes)
{
	uint64_t total = 0;
	ssize_t n;
	int r;

	(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
	while ((n = read(fd, buf, READ_SIZE)) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		r = rv_hash_update(md, buf, (size_t)n);
		if (r < 0)
			return r;
		total += (uint64_t)n;
	}
	r = rv_hash_final(md, f->digest);
	if (r < 0)
		return r;
	f->state = RV_HASHED;
	*ret_bytes = total;
	return 0;
}

static void count_hashed(struct rv_tree *t, uint64_t bytes)
{
	t->st->hashed++;
	t->st->bytes += bytes;
	if (t->o->progress)
		t->o->progress(t->o->ctx, t->st);
}

/**
 * rv_read_load() - the tree's load callback (rv_load_fn) for a root filesystem
 * @t: the tree (t->source is the struct rv_reader)
 * @f: the file
 * @n: a name of it in the tree (no symlink on the way)
 * @hash: hash it as well
 *
 * A file that cannot be read is marked failed and reported, and 0 is returned.
 *
 * Return: 0 or -ENOMEM.
 */
int rv_read_load(struct rv_tree *t, struct rv_file *f, const struct rv_node *n, bool hash)
{
	struct rv_reader *rd = t->source;
	_cleanup_close_ int fd = open_file(rd, f, n);
	uint64_t bytes = 0;
	int r = fd < 0 ? fd : 0;

	if (r == 0 && f->state == RV_NEW)
		r = classify(f, fd);
	if (r == 0 && hash && f->state != RV_HASHED) {
		r = hash_fd(rd->md, rd->buf, f, fd, &bytes);
		if (r == 0)
			count_hashed(t, bytes);
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		f->state = RV_FAILED;
		rv_warn(t, n->path, r);
	}
	return 0;
}

/* ---- many at a time ---- */

struct pool {
	struct rv_tree *t;
	const struct rv_reader *rd;
	bool hash; /* else classify */
	size_t next; /* the next file index to claim (atomic) */
	int error; /* -ENOMEM or the like: everyone stops (atomic) */
	pthread_mutex_t lock; /* the counters, the progress callback */
};

/* Whether the classify pass takes @f: its own name will need its kind. */
static bool wanted(const struct pool *pl, const struct rv_file *f)
{
	const struct rv_node *n = &pl->t->nodes[f->node];
	const struct vigil_refvalues_opts *o = pl->t->o;

	if (pl->hash)
		return f->want && f->state == RV_CLASSIFIED;
	return f->state == RV_NEW && rv_name_valid(n->path, n->path_len) &&
	       !(o->kernel_release && rv_name_other_kernel(n->path, o->kernel_release)) &&
	       !rv_glob_any(o->exclude, o->n_exclude, n->path);
}

static int read_one(struct pool *pl, struct rv_file *f, void *md, uint8_t *buf)
{
	int fd = open_file(pl->rd, f, &pl->t->nodes[f->node]);
	uint64_t bytes = 0;
	int r = fd;

	if (fd >= 0) {
		r = pl->hash ? hash_fd(md, buf, f, fd, &bytes) : classify(f, fd);
		close(fd);
	}
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		f->state = RV_FAILED;
		f->err = r; /* reported by the caller's thread */
	} else if (pl->hash) {
		pthread_mutex_lock(&pl->lock);
		count_hashed(pl->t, bytes);
		pthread_mutex_unlock(&pl->lock);
	}
	return 0;
}

static void *worker(void *arg)
{
	struct pool *pl = arg;
	uint8_t *buf = malloc(READ_SIZE);
	void *md = NULL;
	int r = buf ? rv_hash_init(pl->t->alg, &md) : -ENOMEM;

	while (r == 0 && !__atomic_load_n(&pl->error, __ATOMIC_RELAXED)) {
		size_t i = __atomic_fetch_add(&pl->next, 1, __ATOMIC_RELAXED);

		if (i >= pl->t->n_files)
			break;
		if (wanted(pl, &pl->t->files[i]))
			r = read_one(pl, &pl->t->files[i], md, buf);
	}
	if (r < 0)
		__atomic_store_n(&pl->error, r, __ATOMIC_RELAXED);
	rv_hash_free(md);
	free(buf);
	return NULL;
}

static size_t threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	/* more readers than CPUs: most of the time is spent waiting for the disk */
	if (n < 1)
		return 2;
	return (size_t)n * 2 > THREADS_MAX ? THREADS_MAX : (size_t)n * 2;
}

static int run_pool(struct pool *pl)
{
	pthread_t tid[THREADS_MAX];
	size_t started = 0, n = threads();

	for (; started < n; started++)
		if (pthread_create(&tid[started], NULL, worker, pl) != 0)
			break;
	if (!started)
		worker(pl); /* no thread to be had: this one does it all */
	for (size_t i = 0; i < started; i++)
		pthread_join(tid[i], NULL);
	return pl->error;
}

/**
 * rv_read_parallel() - classify, or hash, many files of a walked tree in worker threads
 * @t: the tree (t->source is the struct rv_reader, files have their node)
 * @hash: false: classify every new file whose own name is not excluded; true: hash every
 *	classified file marked wanted (by a planning rv_tree_emit())
 *
 * Files that cannot be read are marked failed and reported here, on the caller's thread.
 *
 * Return: 0 or -ENOMEM.
 */
int rv_read_parallel(struct rv_tree *t, bool hash)
{
	struct pool pl = { .t = t, .rd = t->source, .hash = hash };
	int r;

	if (pthread_mutex_init(&pl.lock, NULL) != 0)
		return -ENOMEM;
	r = run_pool(&pl);
	pthread_mutex_destroy(&pl.lock);
	for (size_t i = 0; i < t->n_files; i++) {
		if (!t->files[i].err)
			continue;
		rv_warn(t, t->nodes[t->files[i].node].path, t->files[i].err);
		t->files[i].err = 0;
	}
	return r;
}
