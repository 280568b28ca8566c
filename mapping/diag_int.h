/*
 * diag_int.h - what the files of the diagnostics mapping share:
 *   diag_run.c       the runner (worker threads), the kinds' table, inputs
 *   diag_ping.c      the ICMP echo test (worker side)
 *   diag_http.c      the HTTP GET and PUT tests (worker side)
 *   diag_trace.c     the TraceRoute test (worker side)
 *   diag_dns.c       the NSLookupDiagnostics test (worker side)
 *   diag_udpecho.c   the UDPEchoDiagnostics test (worker side)
 *   diag_icmp.c      ICMP echo requests, for IPPing and TraceRoute
 *   diag.c           map_diag: one test of a kind at a time, the USP door
 *   diag_cwmp.c      the CWMP door: the DiagnosticsState watcher
 */
#ifndef DUET_MAP_DIAG_INT_H
#define DUET_MAP_DIAG_INT_H

#include "diag.h"

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#define DIAG_PING_OBJECT "Device.IP.Diagnostics.IPPing."
#define DIAG_DL_OBJECT "Device.IP.Diagnostics.DownloadDiagnostics."
#define DIAG_UL_OBJECT "Device.IP.Diagnostics.UploadDiagnostics."
#define DIAG_TR_OBJECT "Device.IP.Diagnostics.TraceRoute."
#define DIAG_NS_OBJECT "Device.DNS.Diagnostics.NSLookupDiagnostics."
#define DIAG_SS_OBJECT "Device.IP.Diagnostics.ServerSelectionDiagnostics."
#define DIAG_SS_MAX_HOSTS 10 /* HostList: maxItems */
#define DIAG_UE_OBJECT "Device.IP.Diagnostics.UDPEchoDiagnostics."
#define DIAG_UE_MAX_RESULTS 32 /* per-packet rows: 8 results each */
/* Repetitions of an NSLookup that get a Result row (six results each) */
#define DIAG_NS_MAX_REPETITIONS 32

/* ---- the kinds -------------------------------------------------------- */

typedef struct diag_spec {
	const char *object;         /* the CWMP-style object ("Device.IP.Diagnostics.IPPing.") */
	const char *command;        /* the USP command ("Device.IP.Diagnostics.IPPing()") */
	const char *const *inputs;  /* names shared by the object and the command, NULL-ended */
} diag_spec;

const diag_spec *diag_spec_of(map_diag_kind kind);

/* ---- inputs, parsed on the loop, read by the worker --------------------- */

typedef enum diag_family { DIAG_ANY, DIAG_IPV4, DIAG_IPV6 } diag_family;

typedef struct diag_ping_in {
	char host[257];
	diag_family family;
	unsigned repetitions;
	unsigned timeout_ms;
	unsigned block_size;
	unsigned dscp;
} diag_ping_in;

/* DownloadDiagnostics and UploadDiagnostics */
typedef struct diag_http_in {
	char url[1025];
	diag_family family;
	unsigned dscp;
	unsigned long file_length; /* upload: TestFileLength */
} diag_http_in;

typedef struct diag_trace_in {
	char host[257];
	diag_family family;
	unsigned tries;
	unsigned timeout_ms;
	unsigned block_size;
	unsigned dscp;
	unsigned max_hops;
} diag_trace_in;

/* ServerSelectionDiagnostics: the hosts pinged in turn, ICMP only */
typedef struct diag_select_in {
	char hosts[DIAG_SS_MAX_HOSTS][257];
	size_t n_hosts;
	bool icmp; /* Protocol "ICMP"; "UDP Echo" is not offered */
	diag_ping_in ping; /* all but the host */
} diag_select_in;

typedef struct diag_udpecho_in {
	char host[257];
	unsigned port;
	diag_family family;
	unsigned repetitions;
	unsigned timeout_ms;
	unsigned block_size;
	unsigned dscp;
	unsigned inter_ms;
	bool individual; /* EnableIndividualPacketResults */
} diag_udpecho_in;

typedef struct diag_dns_in {
	char host[257];
	char server[257]; /* "" the system's */
	unsigned timeout_ms;
	unsigned repetitions;
} diag_dns_in;

/* Set by the loop, read by the worker between steps. */
typedef atomic_bool diag_cancel;

/* The tests, run in a worker thread: they fill o (status and every
 * result) and return early when *cancel becomes true. */
void diag_ping_run(const diag_ping_in *in, const diag_cancel *cancel, map_diag_outcome *o);
void diag_download_run(const diag_http_in *in, const diag_cancel *cancel, map_diag_outcome *o);
void diag_upload_run(const diag_http_in *in, const diag_cancel *cancel, map_diag_outcome *o);
void diag_trace_run(const diag_trace_in *in, const diag_cancel *cancel, map_diag_outcome *o);
void diag_dns_run(const diag_dns_in *in, const diag_cancel *cancel, map_diag_outcome *o);
void diag_select_run(const diag_select_in *in, const diag_cancel *cancel, map_diag_outcome *o);
void diag_udpecho_run(const diag_udpecho_in *in, const diag_cancel *cancel, map_diag_outcome *o);

/* ---- round trips, counted as IPPing and UDPEcho report them ------------- */

typedef struct diag_rtt {
	unsigned ok, failed;
	int64_t sum_us, min_us, max_us;
} diag_rtt;

/* One try: its round trip in us, or negative when it had no answer. */
void diag_rtt_add(diag_rtt *r, int64_t rtt_us);
/* The average round trip in us, 0 when none. */
int64_t diag_rtt_avg(const diag_rtt *r);

/* ---- ICMP echo, shared by IPPing and TraceRoute (diag_icmp.c) ----------- */

#define DIAG_ICMP_HDR 8

typedef struct diag_icmp {
	int fd;
	int family;
	bool raw;           /* raw socket: every ICMP message, IPv4 header first */
	uint16_t id;
	unsigned char *pkt; /* the request: header + DataBlockSize bytes */
	size_t pkt_len;
	unsigned char buf[65536 + 64];
} diag_icmp;

/* Host (a name or an address) of the family asked into ss: 0 or -1. */
int diag_icmp_resolve(const char *host, diag_family family, struct sockaddr_storage *ss, socklen_t *len);
/* The socket (a ping socket unless raw_only or refused, then a raw one)
 * marked with dscp, and the request packet: 0 or -1 (diag_icmp_close
 * still due). */
int diag_icmp_open(diag_icmp *p, int family, unsigned block_size, unsigned dscp, bool raw_only);
/* Identifier, sequence number and checksum into the request. */
void diag_icmp_stamp(diag_icmp *p, uint16_t seq);
void diag_icmp_close(diag_icmp *p);
/* Addresses as text ("" when none): of ss; the socket's own; the one the
 * routing table would send from toward target. */
void diag_addr_text(const struct sockaddr_storage *ss, char *out, size_t n);
void diag_icmp_local(const diag_icmp *p, char *out, size_t n);
void diag_source_for(const struct sockaddr_storage *target, socklen_t tlen, char *out, size_t n);

/* ---- outcome helpers (worker side too) ---------------------------------- */

void diag_outcome_init(map_diag_outcome *o, const char *status);
void diag_outcome_set(map_diag_outcome *o, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A dateTime with microseconds for a wall-clock instant in us since 1970. */
void diag_outcome_time(map_diag_outcome *o, const char *name, int64_t epoch_us);
/* Copy src into dst so that dst's argument values point into dst. */
void diag_outcome_copy(map_diag_outcome *dst, const map_diag_outcome *src);

/* Wait until fd is readable (1), the monotonic deadline (us) passes (0)
 * or the run is canceled (-1), looking at the cancel flag at least every
 * DIAG_POLL_SLICE_MS. Also sleeps with fd -1 (never readable). */
#define DIAG_POLL_SLICE_MS 100
int diag_wait(int fd, int64_t deadline_us, const diag_cancel *cancel);

/* Wall clock and monotonic clock in microseconds. */
int64_t diag_wall_us(void);
int64_t diag_mono_us(void);

/* ---- map_diag: the scheduler shared by the doors ------------------------- */

/* One test asked for, waiting for its kind's turn or running. */
typedef struct diag_job {
	map_diag *md;
	map_diag_kind kind;
	dm_request *req;        /* the USP door's request; NULL: the CWMP object's run */
	map_diag_run *run;      /* while running */
	struct diag_job *next;  /* in the kind's queue */
} diag_job;

enum { DIAG_PENDING_NONE, DIAG_PENDING_REQUEST, DIAG_PENDING_RESET };

/* The CWMP door of one kind: its object's run and what the change feed
 * told since the last settle. */
typedef struct diag_cwmp {
	map_diag *md;
	map_diag_kind kind;
	bool present;               /* the schema has the object */
	diag_job *job;              /* its run, waiting or running */
	core_timer *delay;          /* the wait before a requested run starts */
	core_timer *retry;          /* a write waiting for another writer */
	bool unwritten;             /* `result` still to be written */
	bool reset;                 /* ... as DiagnosticsState "None" only */
	map_diag_outcome result;
	int pending;                /* DIAG_PENDING_* since the last settle */
	bool hook_seen;             /* "Requested" was written (maybe unchanged) */
	uint64_t hook_txn;          /* ... in this transaction (0: not known yet) */
} diag_cwmp;

struct map_diag {
	dm *d;
	core_loop *loop;
	struct {
		diag_job *running;
		diag_job *head, *tail;
	} slot[MAP_DIAG_KINDS];
	diag_cwmp cwmp[MAP_DIAG_KINDS];
	dm_sub *sub;
	core_timer *settle;
	bool self_writing; /* our own DiagnosticsState write is under way */
	struct map_diag *next_open; /* the hooks' registry */
};

/* Queue a job; it starts when its kind is free. */
void diag_enqueue(map_diag *md, diag_job *job);
/* Drop a waiting or running job (its done is never called) and free it. */
void diag_job_cancel(map_diag *md, diag_job *job);

/* The CWMP door (diag_cwmp.c). */
int diag_cwmp_open(map_diag *md);
void diag_cwmp_close(map_diag *md);
/* The object's current inputs as arguments; vals is their storage. */
size_t diag_cwmp_inputs(map_diag *md, map_diag_kind kind, dm_arg *args, char (*vals)[1025], size_t max);
/* Its run ended: write the results and the final state. */
void diag_cwmp_finished(map_diag *md, map_diag_kind kind, const map_diag_outcome *o);

#endif
