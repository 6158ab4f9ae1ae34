// SPDX-License-Identifier: MIT
/*
 * file.c: bounded reads and safe writes of whole files (evidence, keys, state, tpm2-tools blobs).
 *
 * Reads never take more than the caller's bound plus one byte, so an oversized or endless input
 * (a FIFO, /dev/zero) is rejected without being read to its end. Writes come in two kinds: new
 * files that must not replace anything (keys: O_EXCL, mode given by the caller, typically 0600)
 * and replacements that a reader must see either entirely old or entirely new (a temporary file
 * in the same directory, fsync()ed, then rename()d over the target).
 *
 * Invariants: out-parameters are written only on success; a failed write leaves no partial
 * target behind (the temporary or new file is unlinked).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "attest.h"
#include "cleanup.h"

static int read_all(int fd, uint8_t *buf, size_t size, size_t *ret_len)
{
	size_t len = 0;

	while (len < size) {
		ssize_t n = read(fd, buf + len, size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret_len = len;
	return 0;
}

/*
 * Start with @first bytes (a regular file's size plus one, so the whole file arrives in one
 * allocation and one read that ends at EOF) or small, and double: a 256 MiB bound must not mean
 * a 256 MiB allocation for a 2 KiB input.
 */
static int read_growing(int fd, size_t first, uint8_t **ret, size_t *ret_len, size_t max)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t size = 0, len = 0;

	for (;;) {
		size_t want = size ? size * 2 : first, got = 0;
		uint8_t *p;
		int r;

		if (want > max + 1)
			want = max + 1;
		p = realloc(buf, want + 1);
		if (!p)
			return -ENOMEM;
		buf = p;
		size = want;
		r = read_all(fd, buf + len, size - len, &got);
		if (r < 0)
			return r;
		len += got;
		if (len < size || size == max + 1)
			break;
	}
	if (len > max)
		return -EFBIG; // NOLINT(clang-analyzer-unix.Malloc): buf is _cleanup_free_
	buf[len] = 0; /* a NUL after the data, so text can be used as a C string */
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

/**
 * vigil_file_read() - read a whole file, refusing anything larger than a bound
 * @path: the file; "-" is standard input
 * @max: largest accepted size in bytes (at most SIZE_MAX - 2)
 * @ret: on success, the contents followed by one NUL byte (not counted); free() it
 * @ret_len: on success, the size in bytes
 *
 * Return: 0; -EFBIG if the file holds more than @max bytes; the negative errno of open() or
 * read(); -ENOMEM.
 */
int vigil_file_read(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (max > SIZE_MAX - 2)
		return -EINVAL;
	if (!strcmp(path, "-"))
		return read_growing(STDIN_FILENO, 65536, ret, ret_len, max);
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	/* a regular file says its size: refuse a huge one without reading it */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0)
		return read_growing(fd, 65536, ret, ret_len, max);
	if ((uint64_t)st.st_size > max)
		return -EFBIG;
	return read_growing(fd, (size_t)st.st_size + 1, ret, ret_len, max);
}

/**
 * vigil_file_map() - a whole file, bounded, without copying it
 * @path: the file; "-" is standard input
 * @max: largest accepted size in bytes (at most SIZE_MAX - 2)
 * @ret: on success, the contents; release with vigil_file_unmap()
 *
 * A regular file is mapped with its pages populated up front (MAP_POPULATE): for a signed
 * policy of tens of MiB this costs a fraction of a millisecond where reading it costs tens, most
 * of it page faults on the fresh copy. Anything else (a pipe, an empty file) is read as
 * vigil_file_read() does. The file must not shrink while it is mapped (that would raise SIGBUS):
 * use it for files the caller owns, such as the verifier's policies.
 *
 * Return: 0; -EFBIG if the file holds more than @max bytes; the negative errno of open(),
 * mmap() or read(); -ENOMEM.
 */
int vigil_file_map(const char *path, size_t max, struct vigil_file_map *ret)
{
	_cleanup_close_ int fd = -1;
	uint8_t *buf = NULL;
	struct stat st;
	size_t len = 0;
	void *map;
	int r;

	if (max > SIZE_MAX - 2)
		return -EINVAL;
	if (strcmp(path, "-") != 0) {
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
		if (fd < 0)
			return -errno;
		if (fstat(fd, &st) < 0)
			return -errno;
		if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max)
			return -EFBIG;
		if (S_ISREG(st.st_mode) && st.st_size > 0) {
			map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE | MAP_POPULATE,
				   fd, 0);
			if (map == MAP_FAILED)
				return -errno;
			*ret = (struct vigil_file_map){ .data = map,
							.len = (size_t)st.st_size,
							.map = map };
			return 0;
		}
	}
	r = read_growing(fd >= 0 ? fd : STDIN_FILENO, 65536, &buf, &len, max);
	if (r < 0)
		return r;
	*ret = (struct vigil_file_map){ .data = buf, .len = len };
	return 0;
}

/**
 * vigil_file_unmap() - release what vigil_file_map() returned
 * @m: the file; empty afterwards (releasing it again does nothing)
 */
void vigil_file_unmap(struct vigil_file_map *m)
{
	if (m->map)
		munmap(m->map, m->len);
	else
		free((void *)m->data);
	*m = (struct vigil_file_map){ 0 };
}

#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_MIN ((size_t)4 << 20) /* from this size, ask for transparent huge pages */

/**
 * vigil_huge_pages() - ask for transparent huge pages for a large, freshly allocated buffer
 * @p: the buffer
 * @len: its size
 *
 * A policy's decoded payload, its arena and its parser's record list are written once, front
 * to back, right after they are allocated; in 4 KiB pages that is one page fault per page, a
 * third of a large policy's load on a virtual machine. 2 MiB pages save most of them. Only the
 * whole huge pages inside the buffer are advised; a failure (no THP) changes nothing.
 */
void vigil_huge_pages(void *p, size_t len)
{
	size_t head = (HUGE_PAGE - (uintptr_t)p % HUGE_PAGE) % HUGE_PAGE;

	if (len >= HUGE_MIN && len - head >= HUGE_PAGE)
		(void)madvise((char *)p + head, (len - head) / HUGE_PAGE * HUGE_PAGE,
			      MADV_HUGEPAGE);
}

static int write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int write_sync_close(int fd, const void *data, size_t len)
{
	int r = write_all(fd, data, len);

	if (r == 0 && fsync(fd) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

/**
 * vigil_file_write_new() - create a file that must not exist yet and write it
 * @path: the new file
 * @data: its contents
 * @len: their length
 * @mode: permissions (e.g. 0600 for key files), applied regardless of the umask's leniency
 *
 * Return: 0; -EEXIST if @path exists (nothing is touched); another negative errno from
 * open(), write() or fsync(), in which case the new file is removed again.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): write(2)'s order, then a mode */
int vigil_file_write_new(const char *path, const void *data, size_t len, unsigned int mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, (mode_t)mode);
	int r;

	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode_t)mode) < 0) {
		r = -errno;
		close(fd);
		unlink(path);
		return r;
	}
	r = write_sync_close(fd, data, len);
	if (r < 0)
		unlink(path);
	return r;
}

/**
 * vigil_file_write_atomic() - replace a file so that readers see it entirely old or new
 * @path: the file
 * @data: its new contents
 * @len: their length
 * @mode: permissions of the new file
 *
 * Writes @path.XXXXXX in the same directory, fsync()s it and rename()s it over @path.
 *
 * Return: 0, or a negative errno; on failure @path is unchanged and no temporary file remains.
 */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): write(2)'s order, then a mode */
int vigil_file_write_atomic(const char *path, const void *data, size_t len, unsigned int mode)
{
	_cleanup_free_ char *tmp = NULL;
	int fd, r;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		return -ENOMEM;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, (mode_t)mode) < 0) {
		r = -errno;
		close(fd);
		unlink(tmp);
		return r;
	}
	r = write_sync_close(fd, data, len);
	if (r == 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0)
		unlink(tmp);
	return r;
}
