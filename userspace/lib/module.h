/* SPDX-License-Identifier: MIT */
/*
 * module.h: loading and unloading vigil.ko (libkmod) and installing its measurement rules.
 */
#ifndef VIGIL_MODULE_H
#define VIGIL_MODULE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * struct vigil_load_opts - how to load vigil.ko
 * @module: path of a vigil.ko to load; NULL for the module installed for the running kernel
 * @pcr: the pcr= parameter, or -1 for the module's default
 * @hash: the hash= parameter, or NULL for the module's default
 */
struct vigil_load_opts {
	const char *module;
	int pcr;
	const char *hash;
};

int vigil_module_load(const struct vigil_load_opts *o, bool *ret_loaded)
	__attribute__((warn_unused_result));
int vigil_module_unload(void) __attribute__((warn_unused_result));
int vigil_rules_install(const char *fsdir, const uint8_t *text, size_t len)
	__attribute__((warn_unused_result));

#endif /* VIGIL_MODULE_H */
