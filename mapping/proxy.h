/*
 * proxy.h - the USP Broker's registry: which subtrees of Device:2 a USP
 * Service serves (TR-369 "Register"), and the protocol-neutral requests a
 * front end forwards to it: read the values under paths, set parameters as
 * one atomic change, add an instance, delete instances. Each request
 * completes later through a callback, with values or with an error in
 * engine terms plus the Service's own USP code when it gave one.
 *
 * The registry knows no socket and no protobuf: usp/ provides the forwarder
 * that speaks USP to a Service (usp/broker.c) and registers each path a
 * Service asks for; cwmp/ and usp/ look paths up here and start requests.
 * Everything runs on the core loop; nothing here is thread-safe.
 */
#ifndef DUET_MAP_PROXY_H
#define DUET_MAP_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct map_proxy map_proxy;
typedef struct map_proxy_op map_proxy_op; /* one request in flight */

/* What a forwarded request asks. */
typedef enum map_proxy_kind {
	MAP_PROXY_GET,    /* the values of paths (parameters, or object paths: their subtrees) */
	MAP_PROXY_SET,    /* params, all or nothing */
	MAP_PROXY_ADD,    /* one instance of the table paths[0] ("Device.X.") */
	MAP_PROXY_DELETE, /* the instances paths ("Device.X.2."), all or nothing */
} map_proxy_kind;

/* A parameter and its value: SET input, GET output. */
typedef struct map_proxy_param {
	const char *path;
	const char *value;
} map_proxy_param;

typedef struct map_proxy_req {
	map_proxy_kind kind;
	const char *const *paths; /* GET, ADD, DELETE */
	size_t n_paths;
	const map_proxy_param *params; /* SET */
	size_t n_params;
} map_proxy_req;

/* One parameter a Service refused in a SET, with its USP error code. */
typedef struct map_proxy_fault {
	const char *path;
	uint32_t usp_err;
	const char *msg;
} map_proxy_fault;

/* How a request ended. Pointers are valid during the callback only. */
typedef struct map_proxy_result {
	int status;        /* DM_OK, or a negative dm_err */
	uint32_t usp_err;  /* on failure: the USP error code (the Service's own, or 7003 for a
			      timeout or a vanished Service); 0 when status alone says it */
	const char *msg;   /* on failure: why, never NULL */
	const map_proxy_param *params; /* GET: every parameter found */
	size_t n_params;
	const map_proxy_fault *faults; /* SET: the parameters refused */
	size_t n_faults;
	uint32_t instance; /* ADD: the new instance number */
} map_proxy_result;

typedef void (*map_proxy_done_fn)(void *ctx, const map_proxy_result *r);

/*
 * A forwarder: how requests reach one Service. start begins req for op and
 * returns 0 (then the forwarder calls map_proxy_finish(op, ...) exactly
 * once, later, never from inside start) or a negative dm_err (then
 * nothing more happens). forget: op ends without the forwarder's answer
 * (cancelled, or its Service deregistered); the forwarder drops it and
 * must not call map_proxy_finish for it.
 */
typedef struct map_proxy_fwd_ops {
	int (*start)(void *fwd, map_proxy_op *op, const map_proxy_req *req);
	void (*forget)(void *fwd, map_proxy_op *op);
} map_proxy_fwd_ops;

/* A registry for paths of this schema (kept, must outlive it). */
int map_proxy_new(const dm_schema *schema, map_proxy **out);
/* Pending requests end with status DM_ERR_INTERNAL first. NULL is fine. */
void map_proxy_free(map_proxy *p);

/* How long a forwarder waits for its Service before it gives up on a
 * request (usp_err 7003): a run-time setting, default 5000 ms. */
void map_proxy_set_timeout_ms(map_proxy *p, unsigned ms);
unsigned map_proxy_timeout_ms(const map_proxy *p);

/* Why a registration or deregistration failed (TR-369 Register, Deregister). */
typedef enum map_proxy_reg {
	MAP_PROXY_REG_OK = 0,
	MAP_PROXY_REG_BAD_PATH,     /* not an object path of the Register grammar (R-REG.2) */
	MAP_PROXY_REG_NOT_IN_SCHEMA,/* the agent's schema has no such object */
	MAP_PROXY_REG_IN_USE,       /* it, a part of it or a subtree holding it is another Service's */
	MAP_PROXY_REG_OVERLAP,      /* it overlaps a different path of the same Service */
	MAP_PROXY_REG_NOT_FOUND,    /* deregister: this Service has no such registration */
	MAP_PROXY_REG_NOT_OWNER,    /* deregister: another Service registered it */
	MAP_PROXY_REG_NOMEM,
} map_proxy_reg;

/* The USP error code of a failed (de)registration: 7028 or 7029 for
 * Register, 7030 or 7031 for Deregister, 7005 out of memory. */
uint32_t map_proxy_reg_usp_err(map_proxy_reg r);
/* A static text saying why. */
const char *map_proxy_reg_text(map_proxy_reg r);

/*
 * Check a path as Register would (grammar, schema, overlap with other
 * Services' paths) without registering it. A Service registering a path it
 * holds already succeeds again.
 */
map_proxy_reg map_proxy_check(const map_proxy *p, const char *path, const void *fwd);
/* Register path ("Device.X_DUET_Sensor.") for fwd (ops, owner: the
 * Service's EndpointID, copied). */
map_proxy_reg map_proxy_register(map_proxy *p, const char *path, const char *owner,
				 const map_proxy_fwd_ops *ops, void *fwd);
/* Deregister one path of fwd. */
map_proxy_reg map_proxy_deregister(map_proxy *p, const char *path, const void *fwd);
/*
 * Deregister every path of fwd (an empty Deregister path, R-DEREG.2; a
 * closed connection). Its requests in flight end with usp_err 7003. each,
 * when not NULL, is called with every path removed. Returns how many.
 */
size_t map_proxy_deregister_all(map_proxy *p, const void *fwd, void (*each)(void *ctx, const char *path),
				void *ctx);

/*
 * The registration serving path (an instantiated path, possibly with USP
 * wildcards or search expressions after the registered part): its
 * registered prefix, and *fwd (optional) its forwarder. NULL when the
 * agent serves path itself. p may be NULL (no Broker).
 */
const char *map_proxy_match(const map_proxy *p, const char *path, void **fwd);
/* The agent's schema node of an instantiated path ("Device.X.2.Name" is
 * "Device.X.{i}.Name"; a table path is its "{i}" node), NULL if none. */
const dm_node *map_proxy_node(const map_proxy *p, const char *path);
/* The number of registered paths, and the i-th (registration order). */
size_t map_proxy_count(const map_proxy *p);
const char *map_proxy_path(const map_proxy *p, size_t i, const char **owner);

/*
 * Forward req to the Service that registered its paths. Every path must be
 * served by one Service: DM_ERR_NOT_IN_SCHEMA when one is not proxied at
 * all, DM_ERR_DENIED when they span Services (an atomic SET cannot). On 0,
 * done(ctx, result) is called exactly once, later, unless map_proxy_cancel
 * comes first; *op (optional) names the request for that.
 */
int map_proxy_start(map_proxy *p, const map_proxy_req *req, map_proxy_done_fn done, void *ctx,
		    map_proxy_op **op);
/* Drop a request in flight: its callback will not be called. */
void map_proxy_cancel(map_proxy_op *op);
/* The forwarder's answer to op (see map_proxy_fwd_ops). */
void map_proxy_finish(map_proxy_op *op, const map_proxy_result *r);

/*
 * The names a GetParameterNames-style listing of base shows, derived from
 * the values a GET of base returned: base itself when it is an object
 * path, every object on the way from base to each parameter (instances
 * included), and each parameter; in tree order, each once. With
 * next_level, only those one level below base. Each name gets its schema
 * node (NULL when the agent's schema lacks it). names[i] are malloc'd; free
 * with map_proxy_names_free. 0 or DM_ERR_NOMEM.
 */
typedef struct map_proxy_name {
	char *path;
	const dm_node *node;
} map_proxy_name;
int map_proxy_names(const map_proxy *p, const char *base, const map_proxy_param *params, size_t n_params,
		    bool next_level, map_proxy_name **names, size_t *n);
void map_proxy_names_free(map_proxy_name *names, size_t n);

#ifdef __cplusplus
}
#endif
#endif /* DUET_MAP_PROXY_H */
