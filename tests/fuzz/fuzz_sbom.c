// SPDX-License-Identifier: MIT
/*
 * fuzz_sbom.c: libFuzzer harness for CycloneDX SBOMs (lib/sbom.c).
 *
 * The input is the BOM's JSON text. Properties besides "no crash, no leak, no UB":
 *   - a rejection is -EBADMSG with a message, or -ENOMEM; nothing else;
 *   - what parses is strict JSON (vigil_json_parse() accepts it too), its specVersion is
 *     "1.5" or "1.6", and its other identity strings exist and are bounded;
 *   - an independent walk of the same JSON tree (recursive here, the input being at most 16
 *     levels deep) finds every SHA-256 hash of every component under "components" and
 *     "metadata.component"; vigil_sbom_lookup() must find each one, and whatever it returns
 *     has its four strings, none longer than 4096 bytes;
 *   - the all-zero and all-0xff digests are looked up too (the ends of the sorted index).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "attest.h"
#include "compliance.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_component(const struct vigil_sbom_component *c)
{
	if (!c->name || !c->version || !c->purl || !c->bom_ref || strlen(c->name) > 4096 ||
	    strlen(c->version) > 4096 || strlen(c->purl) > 4096 || strlen(c->bom_ref) > 4096)
		abort();
}

static void check_hashes(const struct vigil_sbom *s, struct json_object *comp)
{
	struct json_object *hashes, *alg, *content;
	uint8_t d[32];
	size_t n;

	if (!json_object_object_get_ex(comp, "hashes", &hashes))
		return;
	for (size_t i = 0; i < json_object_array_length(hashes); i++) {
		struct json_object *h = json_object_array_get_idx(hashes, i);
		const struct vigil_sbom_component *c;

		if (!json_object_object_get_ex(h, "alg", &alg) ||
		    strcmp(json_object_get_string(alg), "SHA-256") != 0)
			continue;
		if (!json_object_object_get_ex(h, "content", &content) ||
		    vigil_hex_decode(json_object_get_string(content), 64, d, sizeof(d), &n) < 0)
			abort(); /* accepted a SHA-256 that is not 64 hex digits */
		c = vigil_sbom_lookup(s, d);
		if (!c)
			abort();
		check_component(c);
	}
}

static void walk(const struct vigil_sbom *s, struct json_object *comps)
{
	for (size_t i = 0; i < json_object_array_length(comps); i++) {
		struct json_object *comp = json_object_array_get_idx(comps, i), *sub;

		check_hashes(s, comp);
		if (json_object_object_get_ex(comp, "components", &sub))
			walk(s, sub);
	}
}

static void check_info(const struct vigil_sbom *s)
{
	const char *spec, *serial, *name, *version;

	vigil_sbom_info(s, &spec, &serial, &name, &version);
	if (strcmp(spec, "1.5") && strcmp(spec, "1.6"))
		abort();
	if (strlen(serial) > 4096 || strlen(name) > 4096 || strlen(version) > 4096)
		abort();
}

static void check_parsed(const struct vigil_sbom *s, const uint8_t *data, size_t size)
{
	struct json_object *root = NULL, *comps, *meta, *comp;
	uint8_t ends[2][32];
	const struct vigil_sbom_component *c;

	if (vigil_json_parse((const char *)data, size, VIGIL_SBOM_MAX, &root) < 0)
		abort();
	check_info(s);
	if (json_object_object_get_ex(root, "metadata", &meta) &&
	    json_object_object_get_ex(meta, "component", &comp)) {
		struct json_object *sub;

		check_hashes(s, comp);
		if (json_object_object_get_ex(comp, "components", &sub))
			walk(s, sub);
	}
	if (json_object_object_get_ex(root, "components", &comps))
		walk(s, comps);
	memset(ends[0], 0, 32);
	memset(ends[1], 0xff, 32);
	for (size_t i = 0; i < 2; i++) {
		c = vigil_sbom_lookup(s, ends[i]);
		if (c)
			check_component(c);
	}
	json_object_put(root);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct vigil_sbom *s = NULL;
	const char *err = NULL;
	int r = vigil_sbom_parse((const char *)data, size, &s, &err);

	if (r == -ENOMEM)
		return 0;
	if (r < 0) {
		if (r != -EBADMSG || !err || !*err || s)
			abort();
		return 0;
	}
	if (r != 0 || !s)
		abort();
	check_parsed(s, data, size);
	vigil_sbom_free(s);
	return 0;
}
