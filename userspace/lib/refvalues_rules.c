// SPDX-License-Identifier: MIT
/*
 * refvalues_rules.c: the reference value of a measurement rule set. vigil.ko measures every rule
 * set it activates (kernel/policy.c activate()): an ima-buf record named "vigil_policy" whose
 * digest is the hash, in the module's hash= algorithm, of the rule set's canonical text, which
 * is what reading the policy file gives back. So a policy that allows a device's rules needs
 * that canonical text, computed here from the rules file the device loads.
 *
 * The canonical form is kernel/policy.c's rule_print(): comments ('#' to the end of the line)
 * and blank lines dropped; per rule the action, then func=, mask=, path=, fsmagic= (0x and
 * lowercase hex), fsuuid= (lowercase), uid=, template= (only when not ima-ng), in that order,
 * one space apart, a newline after each; "lock" last, wherever it was written. A rule set the
 * kernel would reject is rejected here with the same reason and line; only what needs the
 * device's filesystem (does a path= directory exist?) is left to the kernel.
 *
 * Invariants: the output is built only from parsed values, never copied from the input except
 * the path= string (which the kernel also prints as written); at most RULES_MAX rules of
 * RULES_TEXT_MAX bytes in all, the kernel's limits.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attest.h"
#include "policy.h"
#include "refvalues_internal.h"

#define RULES_TEXT_MAX ((size_t)64 << 10) /* kernel/policy.c POLICY_MAX */
#define RULES_MAX 1024
#define RULE_MAX (PATH_MAX + 256) /* one canonical rule line */

enum { C_FUNC = 1, C_MASK = 2, C_PATH = 4, C_FSMAGIC = 8, C_FSUUID = 16, C_UID = 32 };

static const char *const funcs[] = { "BPRM_CHECK", "MMAP_CHECK", "MODULE_CHECK", "FIRMWARE_CHECK",
				     "FILE_CHECK" };
static const char *const masks[] = { "MAY_EXEC", "MAY_WRITE", "MAY_READ", "MAY_APPEND" };

struct rule {
	bool measure;
	unsigned int cond;
	const char *func;
	const char *mask;
	const char *path;
	unsigned long fsmagic;
	char fsuuid[37];
	unsigned int uid;
	bool vigil_ng;
};

static const char *lookup(const char *const *names, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(names[i], s))
			return names[i];
	return NULL;
}

/* kstrtoul(val, 16): an optional "0x", then hex digits, nothing else, no overflow. */
static bool parse_hex(const char *s, unsigned long *ret)
{
	char *end;

	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!isxdigit((unsigned char)*s))
		return false;
	errno = 0;
	*ret = strtoul(s, &end, 16);
	return !errno && !*end;
}

/* uuid_parse(): 8-4-4-4-12 hex digits. */
static bool parse_uuid(const char *s, char out[37])
{
	if (strlen(s) != 36)
		return false;
	for (size_t i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
		out[i] = (char)tolower((unsigned char)s[i]);
	}
	out[36] = '\0';
	return true;
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): key, then value, as parse_cond() */
static const char *parse_number(struct rule *r, const char *key, const char *val)
{
	unsigned long v;
	char *end;

	if (!strcmp(key, "fsmagic")) {
		r->cond |= C_FSMAGIC;
		return parse_hex(val, &r->fsmagic) ? NULL : "bad number for fsmagic";
	}
	if (!strcmp(key, "fsuuid")) {
		r->cond |= C_FSUUID;
		return parse_uuid(val, r->fsuuid) ? NULL : "bad uuid for fsuuid";
	}
	r->cond |= C_UID;
	errno = 0;
	v = strtoul(val, &end, 10);
	if (!isdigit((unsigned char)*val) || errno || *end || v > UINT_MAX)
		return "bad number for uid";
	r->uid = (unsigned int)v;
	return NULL;
}

/* kernel/policy.c parse_cond(), without what needs the device (path lookup, uid mapping). */
static const char *parse_cond(struct rule *r, const char *key, const char *val)
{
	if (!strcmp(key, "func")) {
		r->cond |= C_FUNC;
		r->func = lookup(funcs, sizeof(funcs) / sizeof(funcs[0]), val);
		return r->func ? NULL : "unknown func";
	}
	if (!strcmp(key, "mask")) {
		r->cond |= C_MASK;
		r->mask = lookup(masks, sizeof(masks) / sizeof(masks[0]), val);
		return r->mask ? NULL : "unknown mask";
	}
	if (!strcmp(key, "fsmagic") || !strcmp(key, "fsuuid") || !strcmp(key, "uid"))
		return parse_number(r, key, val);
	if (!strcmp(key, "template")) {
		r->vigil_ng = !strcmp(val, "vigil-ng");
		return r->vigil_ng || !strcmp(val, "ima-ng") ?
			       NULL :
			       "unknown template (ima-ng, vigil-ng)";
	}
	if (!strcmp(key, "path")) {
		if (r->cond & C_PATH)
			return "condition given twice";
		r->cond |= C_PATH;
		r->path = val;
		return val[0] == '/' ? NULL : "path is not absolute";
	}
	return "unknown keyword";
}

/* One rule line, stripped of its comment and surrounding blanks; @line is cut up in place. */
static const char *parse_rule(struct rule *r, char *line)
{
	char *tok = strsep(&line, " \t"), *val;
	unsigned int seen = 0;
	const char *why;

	*r = (struct rule){ .measure = !strcmp(tok, "measure") };
	if (!r->measure && strcmp(tok, "dont_measure") != 0)
		return "unknown action (measure, dont_measure, lock)";
	while ((tok = strsep(&line, " \t"))) {
		if (!*tok)
			continue;
		val = strchr(tok, '=');
		if (!val || !val[1])
			return "expected key=value";
		*val++ = '\0';
		why = parse_cond(r, tok, val);
		if (why)
			return why;
		if (seen == r->cond && strcmp(tok, "template") != 0)
			return "condition given twice";
		seen = r->cond;
	}
	return NULL;
}

/* kernel/policy.c rule_print(). */
static size_t print_rule(const struct rule *r, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s", r->measure ? "measure" : "dont_measure");

	if (r->cond & C_FUNC)
		n += snprintf(buf + n, size - (size_t)n, " func=%s", r->func);
	if (r->cond & C_MASK)
		n += snprintf(buf + n, size - (size_t)n, " mask=%s", r->mask);
	if (r->cond & C_PATH)
		n += snprintf(buf + n, size - (size_t)n, " path=%s", r->path);
	if (r->cond & C_FSMAGIC)
		n += snprintf(buf + n, size - (size_t)n, " fsmagic=0x%lx", r->fsmagic);
	if (r->cond & C_FSUUID)
		n += snprintf(buf + n, size - (size_t)n, " fsuuid=%s", r->fsuuid);
	if (r->cond & C_UID)
		n += snprintf(buf + n, size - (size_t)n, " uid=%u", r->uid);
	if (r->vigil_ng)
		n += snprintf(buf + n, size - (size_t)n, " template=vigil-ng");
	n += snprintf(buf + n, size - (size_t)n, "\n");
	return (size_t)n;
}

static char *trim(char *s)
{
	char *end = s + strlen(s);

	while (isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Each line of @text (a writable copy) in turn, canonical rules appended to @out. */
/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): the input, then the output */
static int canonical(char *text, char *out, size_t size, size_t *ret_len,
		     struct vigil_refvalues_error *err)
{
	size_t len = 0, rules = 0, line = 0;
	bool lock = false;
	char *l;

	while ((l = strsep(&text, "\n")) != NULL) {
		const char *why = NULL;
		struct rule r;

		line++;
		l = trim(strsep(&l, "#"));
		if (!*l)
			continue;
		if (!strcmp(l, "lock")) {
			lock = true;
			continue;
		}
		if (++rules > RULES_MAX)
			why = "too many rules";
		else if (strlen(l) >= RULE_MAX)
			why = "line too long";
		else
			why = parse_rule(&r, l);
		if (why)
			return rv_error(err, -EINVAL, "line %zu: %s", line, why);
		len += print_rule(&r, out + len, size - len);
	}
	if (lock)
		len += (size_t)snprintf(out + len, size - len, "lock\n");
	*ret_len = len;
	return 0;
}

/**
 * vigil_refvalues_rules_text() - the canonical text of a measurement rule set
 * @text: the rules, as `vigil load --rules` writes them to vigil.ko
 * @len: their length, at most 64 KiB (the kernel's limit)
 * @ret: on success, the text vigil.ko measures and reads back (NUL-terminated); free() it
 * @ret_len: on success, its length
 * @err: on failure, the line and the reason the kernel would give
 *
 * Return: 0; -EINVAL (a rule the kernel rejects, or NUL bytes); -EFBIG; -ENOMEM.
 */
int vigil_refvalues_rules_text(const char *text, size_t len, char **ret, size_t *ret_len,
			       struct vigil_refvalues_error *err)
{
	size_t size = (size_t)RULES_MAX * RULE_MAX + 8, out_len = 0;
	char *copy, *out;
	int r;

	if (len > RULES_TEXT_MAX)
		return rv_error(err, -EFBIG, "larger than %zu bytes", RULES_TEXT_MAX);
	if (memchr(text, '\0', len))
		return rv_error(err, -EINVAL, "a NUL byte");
	copy = strndup(text, len);
	out = malloc(size);
	r = copy && out ? canonical(copy, out, size, &out_len, err) : -ENOMEM;
	free(copy);
	if (r < 0) {
		free(out);
		return r;
	}
	*ret = out;
	*ret_len = out_len;
	return 0;
}

/**
 * vigil_refvalues_rules() - allow the record vigil.ko makes when it activates a rule set
 * @p: the policy (its hash_alg must be vigil.ko's hash=, sha256 by default)
 * @text: the rules file
 * @len: its length
 * @err: on failure, why
 *
 * Adds the digest of the canonical text (vigil_refvalues_rules_text()) under the record name
 * "vigil_policy".
 *
 * Return: 0, or vigil_refvalues_rules_text()'s or the policy's error.
 */
int vigil_refvalues_rules(struct vigil_policy *p, const char *text, size_t len,
			  struct vigil_refvalues_error *err)
{
	const struct vigil_policy_info *info = vigil_policy_info(p);
	uint8_t digest[64];
	char *canon = NULL;
	size_t clen = 0;
	int r = vigil_refvalues_rules_text(text, len, &canon, &clen, err);

	if (r < 0)
		return r;
	r = vigil_hash_digest(info->hash_alg, canon, clen, digest, sizeof(digest));
	free(canon);
	if (r == 0)
		r = vigil_policy_add_digest(p, "vigil_policy", 12, digest);
	if (r < 0)
		return rv_error(err, r, "vigil_policy: %s", strerror(-r));
	return 0;
}
