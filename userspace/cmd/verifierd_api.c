// SPDX-License-Identifier: MIT
/*
 * verifierd_api.c: the requests `vigil verifierd` answers (docs/fleet-protocol.md): the
 * agents' push-mode and enrollment API on the TLS listener, where the device is always the
 * CN of the client certificate, and the operator's API on the Unix socket.
 *
 * Invariants: every request is answered exactly once (vigil_http_reply()); a body is parsed
 * only by proto.c's bounded parsers (or the policy loader); a refusal names its error code and
 * is logged with the device; nothing a device sends can name another device.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "cleanup.h"
#include "compliance.h"
#include "verifierd.h"

#define DEVICES "/v1/devices"
#define POLICIES "/v1/policies/"

static void reply_internal(struct vd *vd, struct vigil_http_request *req, const char *what, int r)
{
	vd_log(vd, LOG_ERR, "%s %s: %s: %s", vigil_http_method(req), vigil_http_path(req), what,
	       r == -EIO ? vigil_store_error(vd->db) : strerror(-r));
	vigil_http_reply_error(req, 500, "internal", what);
}

static void refuse(struct vd *vd, struct vigil_http_request *req, int status, const char *error,
		   const char *detail)
{
	const char *peer = vigil_http_peer(req);

	vd_log(vd, LOG_WARNING, "%s %s from %s: refused: %s%s%s", vigil_http_method(req),
	       vigil_http_path(req), peer ? peer : "operator", error, detail ? ": " : "",
	       detail ? detail : "");
	vigil_http_reply_error(req, status, error, detail);
}

static void reply_bad_body(struct vd *vd, struct vigil_http_request *req, int r)
{
	if (r == -EFBIG)
		refuse(vd, req, 413, "too_large", "body too large");
	else
		refuse(vd, req, 400, "bad_request", "malformed body");
}

/* ---- push agents ---- */

static struct vd_pending *pending_slot(struct vd *vd, const char *id, bool create)
{
	struct vd_pending *free_slot = NULL, *p;
	int64_t now = vd_now_ms();

	for (size_t i = 0; i < vd->npending; i++) {
		p = &vd->pending[i];
		if (!strcmp(p->device, id))
			return p;
		if (!free_slot && (p->used || p->expires_ms < now))
			free_slot = p;
	}
	if (!create)
		return NULL;
	if (!free_slot) {
		p = reallocarray(vd->pending, vd->npending + 1, sizeof(*p));
		if (!p)
			return NULL;
		vd->pending = p;
		free_slot = &p[vd->npending++];
	}
	memset(free_slot, 0, sizeof(*free_slot));
	snprintf(free_slot->device, sizeof(free_slot->device), "%s", id);
	return free_slot;
}

/* The device under this process's lease: refusals answered here (0 and *@ok false). */
static int lease_device(struct vd *vd, struct vigil_http_request *req, const char *id,
			struct vigil_device *d, bool *ok)
{
	int r = vigil_store_lease(vd->db, id, vd->o.owner, vd_now_ms(), vd->o.lease_ms, d);

	*ok = false;
	if (r == -ENOENT) {
		refuse(vd, req, 403, "not_registered", "add the device with vigil fleet add");
		return 0;
	}
	if (r == -EBUSY) {
		refuse(vd, req, 409, "busy", "another verifierd attests this device");
		return 0;
	}
	if (r < 0)
		return r;
	if (!d->enrolled) {
		refuse(vd, req, 403, "not_enrolled", NULL);
		return 0;
	}
	*ok = true;
	return 0;
}

static void api_nonce(struct vd *vd, struct vigil_http_request *req, const char *id)
{
	struct vigil_msg_quote_request q = { .nonce_len = VD_NONCE_SIZE };
	_cleanup_free_ char *body = NULL;
	struct vd_pending *p;
	struct vigil_device d;
	bool ok;
	int r;

	r = lease_device(vd, req, id, &d, &ok);
	if (r < 0 || !ok)
		goto out;
	p = pending_slot(vd, id, true);
	r = p ? 0 : -ENOMEM;
	if (r == 0 && RAND_bytes(p->nonce, sizeof(p->nonce)) != 1)
		r = -EIO;
	if (r < 0)
		goto out;
	p->used = false;
	p->issued = vd_mono_ms();
	p->from = vd_from(vd, &d);
	p->expires_ms = vd_now_ms() + VD_NONCE_TTL_MS;
	memcpy(q.nonce, p->nonce, sizeof(p->nonce));
	q.from = p->from;
	q.selection = vd->o.selection;
	q.interval_ms = d.interval_ms;
	r = vigil_msg_quote_request_format(&q, &body);
	if (r == 0)
		vigil_http_reply(req, 200, body);
out:
	if (r < 0)
		reply_internal(vd, req, "nonce", r);
}

static void api_evidence(struct vd *vd, struct vigil_http_request *req, const char *id)
{
	struct vd_pending *p = pending_slot(vd, id, false);
	struct vigil_msg_result res = { 0 };
	_cleanup_free_ char *body = NULL;
	struct vd_outcome out;
	struct vigil_device d;
	const uint8_t *ev;
	size_t len = 0;
	bool ok;
	int r;

	if (!p || p->used || p->expires_ms < vd_now_ms()) {
		refuse(vd, req, 409, "no_nonce", "ask for a nonce first (POST /v1/nonce)");
		return;
	}
	p->used = true;
	r = lease_device(vd, req, id, &d, &ok);
	if (r < 0 || !ok)
		goto out;
	ev = vigil_http_body(req, &len);
	r = vd_attest(vd, &d, VD_NOW, p->nonce, sizeof(p->nonce), ev, len, &out);
	if (r < 0)
		goto out;
	if (out.recorded)
		vd_latency(vd, p->issued);
	res.state = out.state;
	snprintf(res.reason, sizeof(res.reason), "%s", out.reason);
	res.next_ms = out.recorded || strcmp(out.reason, "log_cursor") != 0 ? out.next_ms : 0;
	r = vigil_msg_result_format(&res, &body);
	if (r == 0)
		vigil_http_reply(req, 200, body);
out:
	if (r < 0)
		reply_internal(vd, req, "evidence", r);
}

static void api_enroll(struct vd *vd, struct vigil_http_request *req, const char *id)
{
	struct vigil_msg_identity m;
	struct vigil_msg_challenge ch;
	_cleanup_free_ char *body = NULL;
	const char *error = NULL;
	char detail[256];
	size_t len = 0;
	const uint8_t *b = vigil_http_body(req, &len);
	int r = vigil_msg_identity_parse((const char *)b, len, &m);

	if (r < 0) {
		reply_bad_body(vd, req, r);
		return;
	}
	r = vd_enroll_begin(vd, id, &m, &ch, &error, detail, sizeof(detail));
	if (r == 0 && error) {
		refuse(vd, req, strcmp(error, "ak_bad") ? 403 : 400, error, detail);
		return;
	}
	if (r == 0)
		r = vigil_msg_challenge_format(&ch, &body);
	if (r < 0)
		reply_internal(vd, req, "enroll", r);
	else
		vigil_http_reply(req, 200, body);
}

static void reply_device(struct vd *vd, struct vigil_http_request *req, const char *id, int status,
			 bool history);

static void api_activate(struct vd *vd, struct vigil_http_request *req, const char *id)
{
	struct vigil_msg_secret m;
	const char *error = NULL;
	size_t len = 0;
	const uint8_t *b = vigil_http_body(req, &len);
	int r = vigil_msg_secret_parse((const char *)b, len, &m);

	if (r < 0) {
		reply_bad_body(vd, req, r);
		return;
	}
	r = vd_enroll_finish(vd, id, &m, &error);
	OPENSSL_cleanse(&m, sizeof(m));
	if (r < 0)
		reply_internal(vd, req, "activate", r);
	else if (error)
		refuse(vd, req, 403, error, NULL);
	else
		reply_device(vd, req, id, 200, false);
}

static void agent_request(struct vd *vd, struct vigil_http_request *req, const char *id)
{
	static const struct {
		const char *path;
		void (*fn)(struct vd *vd, struct vigil_http_request *req, const char *id);
	} routes[] = {
		{ "/v1/nonce", api_nonce },
		{ "/v1/evidence", api_evidence },
		{ "/v1/enroll", api_enroll },
		{ "/v1/activate", api_activate },
	};
	const char *path = vigil_http_path(req);

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		if (strcmp(vigil_http_method(req), "POST") != 0)
			refuse(vd, req, 405, "method", "POST only");
		else if (!vigil_device_id_valid(id))
			refuse(vd, req, 403, "not_registered",
			       "the certificate's CN is no device name");
		else
			routes[i].fn(vd, req, id);
		return;
	}
	refuse(vd, req, 404, "not_found", path);
}

/* ---- the operator ---- */

static void reply_device(struct vd *vd, struct vigil_http_request *req, const char *id, int status,
			 bool history)
{
	struct vigil_attestation *h = NULL, none = { 0 };
	_cleanup_free_ char *body = NULL;
	struct vigil_device d;
	size_t n = 0;
	int r;

	r = vigil_store_device_get(vd->db, id, &d);
	if (r == -ENOENT) {
		refuse(vd, req, 404, "not_found", "no such device");
		return;
	}
	if (r == 0 && history)
		r = vigil_store_history(vd->db, id, VD_HISTORY_SHOWN, &h, &n);
	if (r == 0)
		r = vigil_msg_device_status_format(&d, history ? (h ? h : &none) : NULL, n, &body);
	vigil_attestations_free(h, n);
	if (r < 0)
		reply_internal(vd, req, "device", r);
	else
		vigil_http_reply(req, status, body);
}

static int list_body(struct vd *vd, char **ret)
{
	_cleanup_(json_object_putp) struct json_object *o = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct vigil_device *d = NULL;
	size_t n = 0;
	int r = o && arr ? vigil_json_add(o, "devices", arr) : -ENOMEM;

	if (r == 0)
		r = vigil_store_device_list(vd->db, &d, &n);
	for (size_t i = 0; r == 0 && i < n; i++) {
		_cleanup_free_ char *one = NULL;
		struct json_object *parsed = NULL;

		r = vigil_msg_device_status_format(&d[i], NULL, 0, &one);
		if (r == 0)
			r = vigil_json_parse(one, strlen(one), strlen(one) + 1, &parsed);
		if (r == 0 && json_object_array_add(arr, parsed) < 0) {
			json_object_put(parsed);
			r = -ENOMEM;
		}
	}
	free(d);
	return r == 0 ? vigil_json_format(o, ret) : r;
}

static void admin_devices(struct vd *vd, struct vigil_http_request *req)
{
	const char *method = vigil_http_method(req);
	_cleanup_free_ char *body = NULL;
	struct vigil_msg_device m;
	struct vigil_device d = { 0 };
	size_t len = 0;
	const uint8_t *b;
	int r;

	if (!strcmp(method, "GET")) {
		r = list_body(vd, &body);
		if (r < 0)
			reply_internal(vd, req, "list", r);
		else
			vigil_http_reply(req, 200, body);
		return;
	}
	if (strcmp(method, "POST") != 0) {
		refuse(vd, req, 405, "method", "GET or POST");
		return;
	}
	b = vigil_http_body(req, &len);
	r = vigil_msg_device_parse((const char *)b, len, &m);
	if (r < 0) {
		reply_bad_body(vd, req, r);
		return;
	}
	snprintf(d.id, sizeof(d.id), "%s", m.id);
	d.mode = m.mode;
	snprintf(d.address, sizeof(d.address), "%s", m.address);
	snprintf(d.policy, sizeof(d.policy), "%s", m.policy);
	d.interval_ms = m.interval_ms ? m.interval_ms : vd->o.interval_ms;
	d.state = VIGIL_DEVICE_REGISTERED;
	d.due_ms = vd_now_ms();
	r = vigil_store_device_add(vd->db, &d);
	if (r == -EEXIST)
		refuse(vd, req, 409, "exists", "a device of this name is registered");
	else if (r < 0)
		reply_internal(vd, req, "add", r);
	else
		reply_device(vd, req, d.id, 201, false);
}

static void admin_device(struct vd *vd, struct vigil_http_request *req, const char *rest)
{
	const char *method = vigil_http_method(req);
	struct vigil_msg_policy_ref ref;
	char id[VIGIL_DEVICE_ID_MAX + 1];
	const char *slash = strchr(rest, '/');
	size_t idlen = slash ? (size_t)(slash - rest) : strlen(rest);
	const uint8_t *body;
	size_t len = 0;
	int r;

	if (idlen >= sizeof(id)) {
		refuse(vd, req, 404, "not_found", "no such device");
		return;
	}
	memcpy(id, rest, idlen);
	id[idlen] = 0;
	if (!slash && !strcmp(method, "GET")) {
		reply_device(vd, req, id, 200, true);
		return;
	}
	if (!slash && !strcmp(method, "DELETE")) {
		r = vigil_store_device_remove(vd->db, id);
		if (r == -ENOENT)
			refuse(vd, req, 404, "not_found", "no such device");
		else if (r < 0)
			reply_internal(vd, req, "remove", r);
		else
			vigil_http_reply(req, 200, "{}\n");
		return;
	}
	if (!slash || strcmp(slash, "/policy") != 0 || strcmp(method, "PUT") != 0) {
		refuse(vd, req, slash && strcmp(slash, "/policy") != 0 ? 404 : 405, "method", NULL);
		return;
	}
	body = vigil_http_body(req, &len);
	r = vigil_msg_policy_ref_parse((const char *)body, len, &ref);
	if (r < 0) {
		reply_bad_body(vd, req, r);
		return;
	}
	r = vigil_store_device_set_policy(vd->db, id, ref.policy);
	if (r == -ENOENT)
		refuse(vd, req, 404, "not_found", "no such device");
	else if (r < 0)
		reply_internal(vd, req, "policy", r);
	else
		reply_device(vd, req, id, 200, false);
}

/* PUT /v1/policies/NAME: signed by a trusted key, of that name, newer than the stored one. */
static void admin_policy(struct vd *vd, struct vigil_http_request *req, const char *name)
{
	_cleanup_free_ uint8_t *old = NULL;
	_cleanup_free_ char *body = NULL;
	struct vigil_policy *p = NULL;
	struct vigil_policy_error err;
	const struct vigil_policy_info *info;
	const char *error = NULL, *detail = NULL;
	uint64_t stored = 0;
	bool have;
	size_t len = 0, oldlen = 0;
	const uint8_t *b = vigil_http_body(req, &len);
	int r;

	if (strcmp(vigil_http_method(req), "PUT") != 0) {
		refuse(vd, req, 405, "method", "PUT only");
		return;
	}
	r = vigil_policy_load_signed((const char *)b, len, vd->trust, vd->o.ntrust,
				     vd_now_ms() / 1000, &p, NULL, &err);
	if (r > 0) {
		refuse(vd, req, 400, vigil_policy_verdict_name(r), err.what[0] ? err.what : NULL);
		return;
	}
	if (r < 0) {
		reply_internal(vd, req, "policy", r);
		return;
	}
	info = vigil_policy_info(p);
	r = vigil_store_policy_get(vd->db, name, &stored, &old, &oldlen);
	have = r == 0;
	r = r == -ENOENT ? 0 : r;
	if (strcmp(info->name, name) != 0) {
		error = "bad_request";
		detail = "the signed policy has another name";
	} else if (have && info->version <= stored) {
		error = "policy_rollback";
		detail = "not newer than the stored version";
	}
	if (r == 0 && !error)
		r = vigil_store_policy_put(vd->db, name, info->version, b, len);
	if (r == 0 && !error &&
	    asprintf(&body, "{\"name\": \"%s\", \"version\": %llu}\n", name,
		     (unsigned long long)info->version) < 0)
		r = -ENOMEM;
	if (r < 0) {
		reply_internal(vd, req, "policy", r);
	} else if (error) {
		refuse(vd, req, strcmp(error, "bad_request") != 0 ? 409 : 400, error, detail);
	} else {
		vd_policy_forget(vd, name);
		vd_log(vd, LOG_NOTICE, "policy %s version %llu stored", name,
		       (unsigned long long)info->version);
		vigil_http_reply(req, 200, body);
	}
	vigil_policy_free(p);
}

static void admin_stats(struct vd *vd, struct vigil_http_request *req)
{
	_cleanup_free_ char *body = NULL;
	int r;

	if (!strcmp(vigil_http_method(req), "DELETE")) {
		memset(&vd->stats, 0, sizeof(vd->stats));
		vigil_http_reply(req, 200, "{}\n");
		return;
	}
	if (strcmp(vigil_http_method(req), "GET") != 0) {
		refuse(vd, req, 405, "method", "GET or DELETE");
		return;
	}
	r = vd_stats_format(vd, &body);
	if (r < 0)
		reply_internal(vd, req, "stats", r);
	else
		vigil_http_reply(req, 200, body);
}

static void operator_request(struct vd *vd, struct vigil_http_request *req)
{
	const char *path = vigil_http_path(req);

	if (!strcmp(path, "/v1/stats"))
		admin_stats(vd, req);
	else if (!strcmp(path, DEVICES))
		admin_devices(vd, req);
	else if (!strncmp(path, DEVICES "/", strlen(DEVICES) + 1) && path[strlen(DEVICES) + 1])
		admin_device(vd, req, path + strlen(DEVICES) + 1);
	else if (!strncmp(path, POLICIES, strlen(POLICIES)) &&
		 vigil_policy_name_valid(path + strlen(POLICIES), strlen(path + strlen(POLICIES))))
		admin_policy(vd, req, path + strlen(POLICIES));
	else
		refuse(vd, req, 404, "not_found", path);
}

/**
 * vd_handle() - the HTTP server's handler: route a request
 * @req: the request
 * @arg: the daemon
 */
void vd_handle(struct vigil_http_request *req, void *arg)
{
	struct vd *vd = arg;
	const char *peer = vigil_http_peer(req);

	/* What was verified before is in the store before a request reads a device (a push
	 * device's queued "missed" must not make its evidence stale; status must be current). */
	vd_flush(vd);
	if (peer)
		agent_request(vd, req, peer);
	else
		operator_request(vd, req);
}
