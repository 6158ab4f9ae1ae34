// SPDX-License-Identifier: MIT
/*
 * cmd_agent_pull.c: `vigil agent --listen HOST:PORT`: pull mode (docs/fleet-protocol.md,
 * "Pull mode"). verifierd connects and asks; the agent answers three requests:
 *	POST /v1/identity  {}            -> identity (EK public area, EK certificate, AK)
 *	POST /v1/activate  challenge     -> {"secret"} (TPM2_ActivateCredential)
 *	POST /v1/quote     quote request -> the evidence document
 *
 * The server is libvigil's (http.h): TLS 1.3 with this device's certificate, a client
 * certificate from the fleet CA required, bodies of at most VIGIL_PROTO_SMALL_MAX bytes (413
 * beyond), the default deadlines and rate limit. Only the peer whose certificate names
 * --verifier-name is served; anyone else with a fleet certificate (another device) gets 403.
 *
 * Invariants: a request is answered before the next one is read (the TPM work is synchronous:
 * one verifier, one TPM, nothing to interleave); every answer is JSON, errors as
 * {"error", "detail"}; the agent keeps serving after any failed request; SIGTERM and SIGINT
 * end the event loop and the agent exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include <event2/event.h>

#include "agent.h"
#include "cleanup.h"
#include "cmd.h"
#include "http.h"
#include "proto.h"

/* One path of the agent's API: 0 with the reply, or an HTTP status with an error reply. */
typedef int (*serve_fn)(struct agent *a, const uint8_t *body, size_t len, char **ret_json,
			const char **ret_detail);

/* The identity request's body is "{}": anything but an empty body or a JSON object is 400. */
static int body_empty_object(const uint8_t *body, size_t len)
{
	_cleanup_(json_object_putp) struct json_object *o = NULL;

	if (len == 0)
		return 0;
	if (vigil_json_parse((const char *)body, len, VIGIL_PROTO_SMALL_MAX, &o) < 0 ||
	    !json_object_is_type(o, json_type_object))
		return -EINVAL;
	return 0;
}

static int serve_identity(struct agent *a, const uint8_t *body, size_t len, char **ret_json,
			  const char **ret_detail)
{
	if (body_empty_object(body, len) < 0) {
		*ret_detail = "the body must be {}";
		return 400;
	}
	if (agent_identity(a, ret_json) < 0) {
		*ret_detail = "reading the TPM's identity failed (see the agent's log)";
		return 500;
	}
	return 0;
}

static int serve_activate(struct agent *a, const uint8_t *body, size_t len, char **ret_json,
			  const char **ret_detail)
{
	struct vigil_msg_challenge c;
	int r = vigil_msg_challenge_parse((const char *)body, len, &c);

	if (r < 0) {
		*ret_detail = "a challenge needs credential_blob and encrypted_secret";
		return 400;
	}
	r = agent_activate(a, &c, ret_json);
	if (r == -EBADMSG) {
		*ret_detail = "the TPM refused the credential (not made for its EK and AK)";
		return 400;
	}
	if (r < 0) {
		*ret_detail = "ActivateCredential failed (see the agent's log)";
		return 500;
	}
	return 0;
}

static int serve_quote(struct agent *a, const uint8_t *body, size_t len, char **ret_json,
		       const char **ret_detail)
{
	struct vigil_msg_quote_request q;

	if (vigil_msg_quote_request_parse((const char *)body, len, &q) < 0) {
		*ret_detail = "a quote request needs nonce, from and pcrs";
		return 400;
	}
	if (agent_quote(a, &q, ret_json) < 0) {
		*ret_detail = "the quote failed (see the agent's log)";
		return 500;
	}
	if (a->verbose)
		agent_say("quote %llu for %s, log from record %llu", (unsigned long long)a->quotes,
			  a->verifier_name, (unsigned long long)q.from);
	return 0;
}

static const struct {
	const char *path;
	serve_fn fn;
} routes[] = {
	{ "/v1/identity", serve_identity },
	{ "/v1/activate", serve_activate },
	{ "/v1/quote", serve_quote },
};

/* The route of @path, or -1. */
static int route(const char *path)
{
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (!strcmp(path, routes[i].path))
			return (int)i;
	return -1;
}

static void handle(struct vigil_http_request *req, void *arg)
{
	struct agent *a = arg;
	const char *peer = vigil_http_peer(req), *path = vigil_http_path(req), *detail = "";
	_cleanup_free_ char *json = NULL;
	const uint8_t *body;
	size_t len = 0;
	int i = route(path), status;

	if (!peer || strcmp(peer, a->verifier_name) != 0) {
		agent_say("refused a request by \"%s\": not %s", peer ? peer : "",
			  a->verifier_name);
		vigil_http_reply_error(req, 403, "forbidden",
				       "this agent serves only its verifier");
	} else if (i < 0) {
		vigil_http_reply_error(req, 404, "not_found", path);
	} else if (strcmp(vigil_http_method(req), "POST") != 0) {
		vigil_http_reply_error(req, 405, "method", "POST only");
	} else {
		body = vigil_http_body(req, &len);
		status = routes[i].fn(a, body ? body : (const uint8_t *)"", len, &json, &detail);
		if (status == 400)
			agent_say("POST %s: %s", path, detail);
		if (status == 0)
			vigil_http_reply(req, 200, json);
		else
			vigil_http_reply_error(req, status,
					       status == 400 ? "bad_request" : "internal", detail);
	}
}

/* The server's own reports (rejected connections, limits): warnings always, the rest -v. */
static void server_log(void *arg, int prio, const char *msg)
{
	const struct agent *a = arg;

	if (prio <= LOG_WARNING || a->verbose)
		agent_say("%s", msg);
}

/* NOLINTNEXTLINE(bugprone-easily-swappable-parameters): libevent's callback type */
static void on_signal(evutil_socket_t sig, short events, void *arg)
{
	(void)sig;
	(void)events;
	event_base_loopbreak(arg);
}

static void event_freep(struct event **e)
{
	if (*e)
		event_free(*e);
}

static void event_base_freep(struct event_base **b)
{
	if (*b)
		event_base_free(*b);
}

static void server_freep(struct vigil_http_server **s)
{
	if (*s)
		vigil_http_server_free(*s);
}

/* Serve until a signal ends the event loop. */
static int serve(struct agent *a, struct event_base *base, const char *host, uint16_t port)
{
	const struct vigil_http_limits limits = { .max_body = VIGIL_PROTO_SMALL_MAX };
	_cleanup_(server_freep) struct vigil_http_server *srv = NULL;
	_cleanup_(event_freep) struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
	_cleanup_(event_freep) struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
	uint16_t bound = 0;
	int r;

	if (!term || !intr || event_add(term, NULL) < 0 || event_add(intr, NULL) < 0) {
		agent_say("signals: cannot watch SIGTERM and SIGINT");
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_http_server_new(base, &a->tls, &limits, handle, server_log, a, &srv);
	if (r < 0) {
		agent_say("TLS (%s, %s, %s): %s", a->tls.cert, a->tls.key, a->tls.ca, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	r = vigil_http_server_listen(srv, host, port, &bound);
	if (r < 0) {
		agent_say("listen on %s: %s", a->listen, strerror(-r));
		return VIGIL_EXIT_RUNTIME;
	}
	agent_say("listening on %s%s%s:%u for %s", strchr(host, ':') ? "[" : "", host,
		  strchr(host, ':') ? "]" : "", bound, a->verifier_name);
	if (event_base_dispatch(base) < 0) {
		agent_say("event loop failed");
		return VIGIL_EXIT_RUNTIME;
	}
	agent_say("stopped");
	return VIGIL_EXIT_OK;
}

/**
 * agent_pull() - serve verifierd's requests on @a->listen until SIGTERM or SIGINT
 * @a: the agent
 *
 * Return: VIGIL_EXIT_OK after a stop, VIGIL_EXIT_RUNTIME when the server cannot start.
 */
int agent_pull(struct agent *a)
{
	_cleanup_(event_base_freep) struct event_base *base = NULL;
	struct sigaction ign = { .sa_handler = SIG_IGN };

	sigemptyset(&ign.sa_mask);
	base = event_base_new();
	if (!base || sigaction(SIGPIPE, &ign, NULL) < 0) {
		agent_say("event loop: %s", strerror(errno ? errno : ENOMEM));
		return VIGIL_EXIT_RUNTIME;
	}
	return serve(a, base, a->listen_host, a->listen_port);
}
