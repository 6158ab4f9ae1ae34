// SPDX-License-Identifier: MIT
/*
 * policy_format.c: the canonical text of a policy (vigil_policy_format()).
 *
 * One policy has exactly one canonical text, so a signature over it, a diff between two
 * versions and a fuzzer's round trip all mean something: members in the order policy.h lists
 * them; "digests" always present, the other collections only when non-empty, "violations"
 * always, "created" and "generator" only when set; paths, patterns and digests sorted bytewise,
 * PCR banks in the order sha1, sha256, sha384, sha512 and indices ascending; lowercase hex; one
 * path per line with its digests on that line; two spaces of indentation.
 *
 * Invariants: the output is valid UTF-8 JSON that vigil_policy_parse() accepts and that
 * formats again to the same bytes; nothing is written through @ret unless all of it was.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <tss2/tss2_tpm2_types.h>

#include "cleanup.h"
#include "policy_internal.h"

struct out {
	char *p;
	size_t len, cap;
	int err;
	bool first; /* no member written yet at this level */
	const struct vigil_policy *pol;
};

static void put(struct out *o, const char *s, size_t n)
{
	if (o->err)
		return;
	if (n > o->cap - o->len) {
		int r = vigil_policy_grow(&o->p, &o->cap, o->len + n + 1, 1);

		if (r < 0) {
			o->err = r;
			return;
		}
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

static void puts_(struct out *o, const char *s)
{
	put(o, s, strlen(s));
}

static void put_string(struct out *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t run = 0;

	put(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[7] = { '\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf], '\0' };
		const char *named = c == '"'  ? "\\\"" :
				    c == '\\' ? "\\\\" :
				    c == '\n' ? "\\n" :
				    c == '\t' ? "\\t" :
				    c == '\r' ? "\\r" :
				    c == '\b' ? "\\b" :
				    c == '\f' ? "\\f" :
						NULL;

		if (c >= 0x20 && !named) {
			run++;
			continue;
		}
		put(o, s + i - run, run);
		run = 0;
		puts_(o, named ? named : esc);
	}
	put(o, s + n - run, run);
	put(o, "\"", 1);
}

static void put_hex(struct out *o, const uint8_t *d, size_t n)
{
	char buf[2 * VIGIL_POLICY_DIGEST_MAX + 3];

	buf[0] = '"';
	vigil_hex_encode(d, n, buf + 1, sizeof(buf) - 1);
	buf[2 * n + 1] = '"';
	put(o, buf, 2 * n + 2);
}

/* Open a top-level member: separator, indentation, name. */
static void member(struct out *o, const char *name)
{
	puts_(o, o->first ? "  \"" : ",\n  \"");
	o->first = false;
	puts_(o, name);
	puts_(o, "\": ");
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the member's name, then its value */
static void member_string(struct out *o, const char *name, const char *value)
{
	member(o, name);
	put_string(o, value, strlen(value));
}

static void member_time(struct out *o, const char *name, int64_t t)
{
	char buf[VIGIL_POLICY_TIME_LEN + 1];

	if (vigil_policy_time_format(t, buf) < 0)
		o->err = -EINVAL;
	else
		member_string(o, name, buf);
}

static int path_line(void *ctx, const char *path, size_t len, const uint8_t *digests, size_t count)
{
	struct out *o = ctx;
	size_t ds = o->pol->ds;

	puts_(o, o->first ? "\n    " : ",\n    ");
	o->first = false;
	put_string(o, path, len);
	puts_(o, ": [");
	for (size_t i = 0; i < count; i++) {
		if (i)
			puts_(o, ", ");
		put_hex(o, digests + i * ds, ds);
	}
	puts_(o, "]");
	return o->err;
}

static int digest_line(void *ctx, const uint8_t *digest)
{
	struct out *o = ctx;

	puts_(o, o->first ? "\n    " : ",\n    ");
	o->first = false;
	put_hex(o, digest, o->pol->ds);
	return o->err;
}

static int pattern_line(void *ctx, const char *pattern)
{
	struct out *o = ctx;

	puts_(o, o->first ? "\n    " : ",\n    ");
	o->first = false;
	put_string(o, pattern, strlen(pattern));
	return o->err;
}

/* Close a collection whose elements (one per line) a walk returning @r wrote. */
static void close_collection(struct out *o, const char *close, int r)
{
	if (r < 0 && !o->err)
		o->err = r;
	if (!o->first)
		puts_(o, "\n  ");
	puts_(o, close);
	o->first = false;
}

static void digests(struct out *o)
{
	member(o, "digests");
	puts_(o, "{");
	o->first = true;
	close_collection(o, "}", vigil_policy_foreach_path(o->pol, path_line, o));
}

static void digest_set(struct out *o, const char *name, size_t n,
		       int (*walk)(const struct vigil_policy *p,
				   int (*fn)(void *ctx, const uint8_t *digest), void *ctx))
{
	if (!n)
		return;
	member(o, name);
	puts_(o, "[");
	o->first = true;
	close_collection(o, "]", walk(o->pol, digest_line, o));
}

static void patterns(struct out *o, const char *name, size_t n, bool regex)
{
	if (!n)
		return;
	member(o, name);
	puts_(o, "[");
	o->first = true;
	close_collection(o, "]", vigil_policy_foreach_exclude(o->pol, regex, pattern_line, o));
}

static void pcrs(struct out *o)
{
	static const uint16_t banks[] = { TPM2_ALG_SHA1, TPM2_ALG_SHA256, TPM2_ALG_SHA384,
					  TPM2_ALG_SHA512 };
	const struct vigil_policy *p = o->pol;
	bool first_bank = true;

	if (!p->npcr)
		return;
	member(o, "pcrs");
	puts_(o, "{");
	for (size_t b = 0; b < sizeof(banks) / sizeof(banks[0]); b++) {
		bool first = true;

		for (uint32_t pcr = 0; pcr < VIGIL_POLICY_PCR_COUNT; pcr++)
			for (size_t i = 0; i < p->npcr; i++) {
				char index[16];

				if (p->pcr[i].alg != banks[b] || p->pcr[i].pcr != pcr)
					continue;
				if (first) {
					puts_(o, first_bank ? "\n    \"" : "\n    },\n    \"");
					puts_(o, vigil_hash_name(banks[b]));
					puts_(o, "\": {");
					first_bank = first = false;
				} else {
					puts_(o, ",");
				}
				snprintf(index, sizeof(index), "\n      \"%u\": ", pcr);
				puts_(o, index);
				put_hex(o, p->pcr[i].digest, p->pcr[i].size);
			}
	}
	puts_(o, "\n    }\n  }");
}

static void packages(struct out *o)
{
	const struct vigil_policy *p = o->pol;
	_cleanup_free_ uint8_t *sorted = NULL;
	int r;

	if (!p->pkg.n)
		return;
	r = vigil_policy_dset_sorted(&p->pkg, p->ds, &sorted);
	if (r < 0) {
		o->err = r;
		return;
	}
	member(o, "packages");
	puts_(o, "{");
	for (size_t i = 0; i < p->pkg.n; i++) {
		const uint8_t *d = sorted + i * p->ds;
		const char *name =
			p->pchars + p->pkg_off[vigil_policy_dset_find(&p->pkg, p->seed, p->ds, d)];

		puts_(o, i ? ",\n    " : "\n    ");
		put_hex(o, d, p->ds);
		puts_(o, ": ");
		put_string(o, name, strlen(name));
	}
	puts_(o, "\n  }");
}

static void scalars(struct out *o)
{
	const struct vigil_policy_info *info = &o->pol->info;
	char num[32];

	member(o, "vigil_policy");
	snprintf(num, sizeof(num), "%d", VIGIL_POLICY_FORMAT);
	puts_(o, num);
	member_string(o, "name", info->name);
	member(o, "version");
	snprintf(num, sizeof(num), "%llu", (unsigned long long)info->version);
	puts_(o, num);
	member_time(o, "valid_until", info->valid_until);
	member_string(o, "hash_alg", vigil_hash_name(info->hash_alg));
	member_string(o, "violations", vigil_policy_violations_name(info->violations));
}

/**
 * vigil_policy_format() - the canonical JSON text of a policy
 * @p: the policy
 * @ret: on success, the text, NUL-terminated; free() it
 * @ret_len: on success, its length without the NUL (may be NULL)
 *
 * Return: 0, -EINVAL or -ENOMEM.
 */
int vigil_policy_format(const struct vigil_policy *p, char **ret, size_t *ret_len)
{
	struct out o = { .first = true, .pol = p };

	if (!p || !ret)
		return -EINVAL;
	puts_(&o, "{\n");
	scalars(&o);
	digests(&o);
	digest_set(&o, "any_path", p->any.n, vigil_policy_foreach_any);
	patterns(&o, "excludes", p->info.excludes, false);
	patterns(&o, "excludes_regex", p->info.excludes_regex, true);
	digest_set(&o, "deny", p->deny.n, vigil_policy_foreach_deny);
	if (p->info.has_boot_aggregate) {
		member(&o, "boot_aggregate");
		put_hex(&o, p->info.boot_aggregate, p->ds);
	}
	pcrs(&o);
	packages(&o);
	if (p->info.created)
		member_time(&o, "created", p->info.created);
	if (p->info.generator[0])
		member_string(&o, "generator", p->info.generator);
	puts_(&o, "\n}\n");
	put(&o, "", 1);
	if (o.err) {
		free(o.p);
		return o.err;
	}
	*ret = o.p;
	if (ret_len)
		*ret_len = o.len - 1;
	return 0;
}
