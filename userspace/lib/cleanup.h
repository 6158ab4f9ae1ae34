/* SPDX-License-Identifier: MIT */
/*
 * cleanup.h: scope-bound release of resources for libvigil and the vigil command.
 *
 * A variable declared with one of the _cleanup_*_ attributes is released when it goes out of
 * scope, on every return path, so a function needs no unwinding labels. TAKE_PTR() and TAKE_FD()
 * move ownership out of such a variable (to an out-parameter or a return value) and leave it
 * empty, so the cleanup at scope exit becomes a no-op.
 *
 * Invariants: every helper accepts the "empty" value (NULL, or a negative fd) and does nothing
 * with it; helpers never change errno, so "return -errno" after a cleanup-managed variable goes
 * out of scope still reports the original error. One cleanup per allocator, and never mixed with
 * goto unwinding in the same function.
 */
#ifndef VIGIL_CLEANUP_H
#define VIGIL_CLEANUP_H

#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bio.h>
#include <openssl/evp.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(freep)
#define _cleanup_erase_free_ _cleanup_(erase_freep)
#define _cleanup_fclose_ _cleanup_(fclosep)
#define _cleanup_close_ _cleanup_(closep)

/* Return the pointer held in @ptr and set @ptr to NULL. */
#define TAKE_PTR(ptr)                                  \
	({                                             \
		__typeof__(ptr) *_take_pp_ = &(ptr);   \
		__typeof__(ptr) _take_p_ = *_take_pp_; \
		*_take_pp_ = NULL;                     \
		_take_p_;                              \
	})

/* Return the file descriptor held in @fd and set @fd to -1. */
#define TAKE_FD(fd)                          \
	({                                   \
		int *_take_pfd_ = &(fd);     \
		int _take_fd_ = *_take_pfd_; \
		*_take_pfd_ = -1;            \
		_take_fd_;                   \
	})

static inline void freep(void *p)
{
	int saved = errno;

	free(*(void **)p);
	errno = saved;
}

/*
 * Secrets (private keys, passphrases) are wiped before their memory goes back to the allocator.
 * malloc_usable_size() covers the whole block, so the caller need not track the secret's length;
 * explicit_bzero() cannot be optimised away as a dead store.
 */
static inline void erase_freep(void *p)
{
	void *q = *(void **)p;
	int saved = errno;

	if (!q)
		return;
	explicit_bzero(q, malloc_usable_size(q));
	free(q);
	errno = saved;
}

static inline void fclosep(FILE **f)
{
	int saved = errno;

	if (*f)
		(void)fclose(*f);
	errno = saved;
}

static inline void closep(int *fd)
{
	int saved = errno;

	if (*fd >= 0)
		(void)close(*fd);
	errno = saved;
}

/* OpenSSL's and json-c's own release functions already accept NULL. */
static inline void EVP_PKEY_freep(EVP_PKEY **p)
{
	EVP_PKEY_free(*p);
}

static inline void EVP_PKEY_CTX_freep(EVP_PKEY_CTX **p)
{
	EVP_PKEY_CTX_free(*p);
}

static inline void EVP_MD_CTX_freep(EVP_MD_CTX **p)
{
	EVP_MD_CTX_free(*p);
}

static inline void BIO_freep(BIO **p)
{
	BIO_free(*p);
}

static inline void json_object_putp(struct json_object **o)
{
	json_object_put(*o);
}

#endif /* VIGIL_CLEANUP_H */
