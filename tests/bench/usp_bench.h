/*
 * usp_bench.h - what the two files of the USP bench share: usp_bench.c (the
 * agent and broker processes, populating the store, the runs and the
 * figures) and usp_bench_link.c (the Controller side: connections on each
 * MTP, requests and answers, load runs). bench.c sees only usp_bench_run.
 */
#ifndef DUET_USP_BENCH_H
#define DUET_USP_BENCH_H

#include "usp-msg-1-4.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/*
 * The USP benchmarks: duetd on the full official schema (schema_file) with
 * a private mosquitto when one is installed, everything in a temporary
 * directory that goes, with the processes, whatever happens. Prints its
 * figures. Returns 0, or 1 when a figure could not be measured.
 */
int usp_bench_run(const char *schema_file);

#define UB_CTL_ID "proto::duet-bench" /* the bench's Controller EndpointID */
#define UB_WAIT_S 5.0                 /* longest wait for any one answer */

/* Monotonic seconds. */
double ub_now(void);

/* The agent's EndpointID, the to_id of every Record sent (set before any). */
void ub_set_agent_id(const char *id);

/* ---- connections: one Controller session on any MTP ---------------------------- */

typedef struct ub_link ub_link;

/* WebSocket on 127.0.0.1:port, path /usp, subprotocol v1.usp, our
 * EndpointID in the eid query parameter. NULL when no session. */
ub_link *ub_ws_open(int port);
/* The UNIX socket at path, Handshakes exchanged; the agent's EndpointID
 * into agent_id (idsz bytes). NULL when no session. */
ub_link *ub_uds_open(const char *path, char *agent_id, size_t idsz);
/* MQTT 5 on the broker at 127.0.0.1:port: subscribed to sub_topic,
 * publishing at QoS 1 to pub_topic with sub_topic as Response Topic. */
ub_link *ub_mqtt_open(int port, const char *client_id, const char *sub_topic, const char *pub_topic);
/* MQTT: publish to another topic from now on. */
void ub_mqtt_retarget(ub_link *l, const char *pub_topic);
void ub_link_close(ub_link *l); /* NULL is fine */

/* Send one encoded Record: 0 or -1. */
int ub_link_send(ub_link *l, const uint8_t *rec, size_t len);
/* The next Record received: 1 with *rec (valid until the next call on l),
 * 0 at the deadline (ub_now() seconds), -1 when the session ended. */
int ub_link_recv(ub_link *l, const uint8_t **rec, size_t *len, double deadline);

/* The raw broker round trip: a client on its own thread that publishes
 * whatever reaches topic back to the PUBLISH's Response Topic. */
typedef struct ub_echo ub_echo;
ub_echo *ub_echo_start(int port, const char *topic);
void ub_echo_stop(ub_echo *e); /* NULL is fine */

/* ---- requests and answers ------------------------------------------------------- */

/* A request Msg on the stack: header, body and request linked; the caller
 * sets req.req_type_case and the request. */
typedef struct ub_req {
	Usp__Msg msg;
	Usp__Header hdr;
	Usp__Body body;
	Usp__Request req;
} ub_req;
Usp__Msg *ub_req_init(ub_req *r, const char *msg_id, Usp__Header__MsgType type);

/* Send m and wait up to timeout_s for the answer to its msg_id, decoded
 * (free with usp__msg__free_unpacked). NULL when none came. */
Usp__Msg *ub_call(ub_link *l, const Usp__Msg *m, double timeout_s);
/* The parameters in a GetResp; -1 when m is not one or a path failed. */
long ub_count_params(const Usp__Msg *m);
/* A Get of path: the number of parameters answered, -1 on failure. */
long ub_get_count(ub_link *l, const char *path, double timeout_s);
/* The value of one parameter into out: 0, or -1. */
int ub_get_value(ub_link *l, const char *path, char *out, size_t outsz);

/* What a load run checks of an answer, read without decoding it. */
typedef struct ub_scan {
	int kind;               /* the Record's record_type field (7: NoSessionContext) */
	const uint8_t *payload; /* the Msg */
	size_t plen;
	char id[64];
	int msg_type; /* Usp__Header__MsgType */
} ub_scan;
int ub_scan_record(const uint8_t *b, size_t n, ub_scan *s);

/* An encoded request whose msg_id (and any other "@@@@@@@@" in it, such as
 * a Set's value) is patched with a sequence number before each send. */
#define UB_ID_HOLE "@@@@@@@@"
typedef struct ub_tmpl {
	uint8_t *buf;
	size_t len;
	size_t hole[4];
	int nholes;
	uint32_t next; /* the next sequence number: no value repeats across runs */
} ub_tmpl;
int ub_tmpl_get(ub_tmpl *t, const char *path, const char *msg_id);
int ub_tmpl_set(ub_tmpl *t, const char *obj, const char *param, const char *value);
void ub_tmpl_patch(ub_tmpl *t, uint32_t seq);
void ub_tmpl_free(ub_tmpl *t);

/* ---- load runs -------------------------------------------------------------------- */

#ifndef UB_WARM_S
#define UB_WARM_S 0.2 /* per load run: not measured */
#endif
#ifndef UB_RUN_S
#define UB_RUN_S 1.5 /* per load run: measured */
#endif

typedef struct ub_load {
	double rps, p50_us, p99_us;
	/* CPU during the measured part, % of one core: the agent, the broker
	 * (0 without one), this process (load generator and echo client) */
	double cpu_agent, cpu_broker, cpu_bench;
	unsigned long answers, wrong;
} ub_load;

/* Keep `window` requests of t outstanding on l for UB_WARM_S + UB_RUN_S.
 * Answers of another msg_type than want_type count as wrong. agent and
 * broker are the processes whose CPU to report (0: none). Returns 0, or -1
 * when an answer did not come. */
int ub_run_load(ub_link *l, ub_tmpl *t, int window, int want_type, pid_t agent, pid_t broker, ub_load *o);

#endif /* DUET_USP_BENCH_H */
