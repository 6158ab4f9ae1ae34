// SPDX-License-Identifier: MIT
/*
 * module.c: load and unload vigil.ko with libkmod, and install measurement rules.
 *
 * Invariants: vigil_module_load() reports whether it loaded the module itself, so a caller that
 * fails later can undo exactly what it did; rules are written in one write(2), so vigil.ko
 * accepts or rejects the whole set (its reason is then in the status file's policy_error).
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <libkmod.h>

#include "cleanup.h"
#include "module.h"
#include "uapi/vigil.h"

static void kmod_ctx_unrefp(struct kmod_ctx **c)
{
	if (*c)
		kmod_unref(*c);
}

static void kmod_module_unrefp(struct kmod_module **m)
{
	if (*m)
		kmod_module_unref(*m);
}

static int find_module(struct kmod_ctx *ctx, const char *path, struct kmod_module **ret)
{
	if (path)
		return kmod_module_new_from_path(ctx, path, ret);
	return kmod_module_new_from_name(ctx, "vigil", ret);
}

/**
 * vigil_module_load() - insert vigil.ko with its parameters
 * @o: which module, which parameters
 * @ret_loaded: set to true when this call loaded it, false when it was loaded already
 *
 * Return: 0 or a negative errno (-ENOENT: no such module file or none installed).
 */
int vigil_module_load(const struct vigil_load_opts *o, bool *ret_loaded)
{
	_cleanup_(kmod_ctx_unrefp) struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	_cleanup_(kmod_module_unrefp) struct kmod_module *mod = NULL;
	char params[128] = "";
	int r;

	if (!ctx)
		return -ENOMEM;
	r = find_module(ctx, o->module, &mod);
	if (r < 0)
		return r;
	if (o->pcr >= 0)
		snprintf(params, sizeof(params), "pcr=%d", o->pcr);
	if (o->hash)
		snprintf(params + strlen(params), sizeof(params) - strlen(params), "%shash=%s",
			 params[0] ? " " : "", o->hash);
	r = o->module ? kmod_module_insert_module(mod, 0, params) :
			kmod_module_probe_insert_module(mod, KMOD_PROBE_FAIL_ON_LOADED, params,
							NULL, NULL, NULL);
	if (r == -EEXIST) {
		*ret_loaded = false;
		return 0;
	}
	if (r > 0) /* probe_insert: a blacklist or install command said no */
		return -EPERM;
	if (r < 0)
		return r;
	*ret_loaded = true;
	return 0;
}

/**
 * vigil_module_unload() - remove vigil.ko
 *
 * Return: 0; -ENOENT when it is not loaded; -EAGAIN or -EBUSY while it is pinned (locked
 * measurement rules pin it until reboot).
 */
int vigil_module_unload(void)
{
	_cleanup_(kmod_ctx_unrefp) struct kmod_ctx *ctx = kmod_new(NULL, NULL);
	_cleanup_(kmod_module_unrefp) struct kmod_module *mod = NULL;
	int r;

	if (!ctx)
		return -ENOMEM;
	r = kmod_module_new_from_name(ctx, "vigil", &mod);
	if (r < 0)
		return r;
	if (kmod_module_get_initstate(mod) < 0)
		return -ENOENT;
	return kmod_module_remove_module(mod, KMOD_REMOVE_NOWAIT);
}

/**
 * vigil_rules_install() - replace the active measurement rules
 * @fsdir: vigil's securityfs directory
 * @text: the rule set (text, not necessarily NUL-terminated)
 * @len: its length
 *
 * Return: 0; -EINVAL when vigil.ko rejected the set (the active rules stay; the reason is in
 * the status file), -EPERM when the rules are locked, or another negative errno.
 */
int vigil_rules_install(const char *fsdir, const uint8_t *text, size_t len)
{
	_cleanup_close_ int fd = -1;
	char path[4096];
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", fsdir, VIGIL_FS_POLICY) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = write(fd, text, len);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EIO;
	if (close(TAKE_FD(fd)) < 0)
		return -errno;
	return 0;
}
