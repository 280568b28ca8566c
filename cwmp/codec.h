/*
 * cwmp/codec.h - CWMP SOAP envelopes to and from duet's own message types.
 *
 * The only door between cwmp/ and the gSOAP serialisers generated from
 * wsdl/: nothing declared here mentions a gSOAP type. Session logic (who
 * sends what, when) lives elsewhere; this file only turns bytes into a
 * cwmp_msg and a cwmp_msg into bytes.
 */
#ifndef DUET_CWMP_CODEC_H
#define DUET_CWMP_CODEC_H

#include <stdbool.h>
#include <stddef.h>

/* Status codes of every cwmp_codec_ function. */
enum cwmp_codec_status {
	CWMP_CODEC_OK = 0,
	CWMP_CODEC_EINVAL = -1,      /* bad argument (NULL pointer, unknown kind) */
	CWMP_CODEC_ENOMEM = -2,      /* allocation failed */
	CWMP_CODEC_EPARSE = -3,      /* input is not a well-formed CWMP envelope */
	CWMP_CODEC_EUNSUPPORTED = -4, /* well-formed, but a method this codec does not know */
	/* the Header holds an entry this codec does not know, marked
	 * SOAP-ENV:mustUnderstand="1" (SOAP 1.1 4.2.3): the message must not
	 * be processed; answer with a SOAP Fault whose faultcode is
	 * MustUnderstand (not a CWMP fault, so no cwmp:Fault code) */
	CWMP_CODEC_EMUSTUNDERSTAND = -5
};

/* The Unknown Time (TR-069 A.2.1): the times of a transfer not yet done. */
#define CWMP_UNKNOWN_TIME "0001-01-01T00:00:00Z"

/* Namespace minor version: urn:dslforum-org:cwmp-1-<n>. CWMP 1.3 and 1.4
 * officially keep cwmp-1-2, but some ACSes send -1-3/-1-4; we answer in
 * whatever the ACS used. */
#define CWMP_NS_1_0 0
#define CWMP_NS_1_1 1
#define CWMP_NS_1_2 2
#define CWMP_NS_MAX 4

/* SOAP header entries (TR-069 3.5). Absent strings are NULL; absent
 * numbers are -1 (hold_requests) or 0 (session_timeout). */
typedef struct cwmp_header {
	char *id;                 /* cwmp:ID */
	int hold_requests;        /* cwmp:HoldRequests: -1 absent, 0 or 1 */
	unsigned session_timeout; /* cwmp:SessionTimeout seconds, 0 absent */
	char *supported_versions; /* cwmp:SupportedCWMPVersions, e.g. "1.0,1.4" */
	char *use_version;        /* cwmp:UseCWMPVersion */
} cwmp_header;

/* Parameter value types (TR-069 Table 12); the wire carries xsi:type. */
typedef enum cwmp_value_type {
	CWMP_TYPE_STRING = 0,
	CWMP_TYPE_INT,
	CWMP_TYPE_UNSIGNED_INT,
	CWMP_TYPE_LONG,
	CWMP_TYPE_UNSIGNED_LONG,
	CWMP_TYPE_BOOLEAN,
	CWMP_TYPE_DATETIME,
	CWMP_TYPE_BASE64,
	CWMP_TYPE_HEXBINARY,
	CWMP_TYPE_UNKNOWN /* an xsi:type we do not recognise; the data model decides (9006) */
} cwmp_value_type;

typedef struct cwmp_param_value {
	char *name;
	char *value;
	cwmp_value_type type;
} cwmp_param_value;

typedef struct cwmp_param_info {
	char *name;
	int writable;
} cwmp_param_info;

typedef struct cwmp_strings {
	char **v;
	size_t n;
} cwmp_strings;

/* One SetParameterAttributesStruct: the *_change flags say which of the
 * two attributes the ACS means to set. */
typedef struct cwmp_spa_entry {
	char *name;
	int notification_change;
	int notification; /* 0 off, 1 passive, 2 active (3-6 in CWMP 1.4) */
	int access_list_change;
	cwmp_strings access_list;
} cwmp_spa_entry;

/* One ParameterAttributeStruct of a GetParameterAttributesResponse. */
typedef struct cwmp_param_attr {
	char *name;
	int notification;
	cwmp_strings access_list;
} cwmp_param_attr;

typedef struct cwmp_event {
	char *code;        /* "1 BOOT", "M Download" ... */
	char *command_key;
} cwmp_event;

/* One SetParameterValuesFault entry of a cwmp:Fault (A.5). */
typedef struct cwmp_spv_fault {
	char *name;
	unsigned code;
	char *string;
} cwmp_spv_fault;

/* A SOAP fault with its cwmp:Fault detail. faultcode is "Client" or
 * "Server"; NULL on encode picks it from the code. code 0 encodes a bare
 * SOAP fault without detail: faultcode "SOAP-ENV:MustUnderstand" answers a
 * header entry the CPE does not understand. */
typedef struct cwmp_fault {
	char *faultcode;
	char *faultstring;
	unsigned code;
	char *string;
	cwmp_spv_fault *spv;
	size_t n_spv;
} cwmp_fault;

/* One entry of a Get(All)QueuedTransfersResponse TransferList (A.4.1.1,
 * A.4.1.7). GetQueuedTransfersResponse carries only command_key and state;
 * the other fields belong to GetAllQueuedTransfersResponse. */
typedef struct cwmp_queued_transfer {
	char *command_key; /* "" for a transfer the ACS did not request */
	int state;         /* 1 not started, 2 in progress, 3 completed */
	int is_download;
	char *file_type;
	unsigned file_size;
	char *target_file_name;
} cwmp_queued_transfer;

/* One TimeWindowStruct of a ScheduleDownload (A.4.1.8): seconds from
 * the moment the CPE received the request. Whether windows are
 * consistent (start < end, no overlap, in order) is for the session
 * layer to judge (9003); the codec only checks there are one or two. */
typedef struct cwmp_time_window {
	unsigned start, end;
	char *mode;         /* "1 At Any Time" ... "4 Confirmation Needed" */
	char *user_message;
	int max_retries;    /* -1: CPE decides */
} cwmp_time_window;

/* Which OperationStruct a ChangeDUState operation is; the wire says it
 * with xsi:type (A.4.1.10). */
typedef enum cwmp_du_op_kind {
	CWMP_DU_INSTALL = 0,
	CWMP_DU_UPDATE,
	CWMP_DU_UNINSTALL
} cwmp_du_op_kind;

/* One ChangeDUState operation. Elements the schema makes optional are
 * NULL when absent, since absence means something here (an Update
 * without UUID targets the DU by URL); fields an op kind does not have
 * stay NULL: Install has url, uuid, username, password,
 * execution_env_ref; Update uuid, version, url, username, password;
 * Uninstall uuid, version, execution_env_ref. */
typedef struct cwmp_du_op {
	cwmp_du_op_kind op;
	char *url, *uuid, *version, *username, *password, *execution_env_ref;
} cwmp_du_op;

/* One OpResultStruct of a DUStateChangeComplete (A.4.2.3); fault_code 0
 * is success. NULL strings are sent empty, NULL times as the Unknown Time. */
typedef struct cwmp_du_result {
	char *uuid, *deployment_unit_ref, *version, *current_state;
	int resolved;
	char *execution_unit_ref_list; /* comma-separated paths */
	char *start_time, *complete_time;
	unsigned fault_code;
	char *fault_string;
	char *operation_performed; /* AutonomousDUStateChangeComplete only (A.3.3.4) */
} cwmp_du_result;

typedef enum cwmp_msg_kind {
	CWMP_MSG_EMPTY = 0, /* empty HTTP body or empty SOAP Body */
	/* ACS -> CPE requests */
	CWMP_MSG_GET_RPC_METHODS,
	CWMP_MSG_GET_PARAMETER_VALUES,
	CWMP_MSG_GET_PARAMETER_NAMES,
	CWMP_MSG_SET_PARAMETER_VALUES,
	CWMP_MSG_ADD_OBJECT,
	CWMP_MSG_DELETE_OBJECT,
	CWMP_MSG_REBOOT,
	CWMP_MSG_FACTORY_RESET,
	CWMP_MSG_SCHEDULE_INFORM,
	CWMP_MSG_GET_PARAMETER_ATTRIBUTES,
	CWMP_MSG_SET_PARAMETER_ATTRIBUTES,
	CWMP_MSG_DOWNLOAD,
	CWMP_MSG_UPLOAD,
	CWMP_MSG_CANCEL_TRANSFER,
	CWMP_MSG_GET_QUEUED_TRANSFERS,
	CWMP_MSG_GET_ALL_QUEUED_TRANSFERS,
	CWMP_MSG_SCHEDULE_DOWNLOAD,
	CWMP_MSG_CHANGE_DU_STATE,
	/* ACS -> CPE responses */
	CWMP_MSG_INFORM_RESPONSE,
	CWMP_MSG_TRANSFER_COMPLETE_RESPONSE,
	CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE_RESPONSE,
	CWMP_MSG_DU_STATE_CHANGE_COMPLETE_RESPONSE,
	CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE_RESPONSE,
	CWMP_MSG_GET_RPC_METHODS_RESPONSE, /* also CPE -> ACS */
	CWMP_MSG_FAULT,                    /* both directions */
	/* CPE -> ACS */
	CWMP_MSG_GET_PARAMETER_VALUES_RESPONSE,
	CWMP_MSG_GET_PARAMETER_NAMES_RESPONSE,
	CWMP_MSG_SET_PARAMETER_VALUES_RESPONSE,
	CWMP_MSG_ADD_OBJECT_RESPONSE,
	CWMP_MSG_DELETE_OBJECT_RESPONSE,
	CWMP_MSG_REBOOT_RESPONSE,
	CWMP_MSG_FACTORY_RESET_RESPONSE,
	CWMP_MSG_SCHEDULE_INFORM_RESPONSE,
	CWMP_MSG_GET_PARAMETER_ATTRIBUTES_RESPONSE,
	CWMP_MSG_SET_PARAMETER_ATTRIBUTES_RESPONSE,
	CWMP_MSG_DOWNLOAD_RESPONSE,
	CWMP_MSG_UPLOAD_RESPONSE,
	CWMP_MSG_CANCEL_TRANSFER_RESPONSE,
	CWMP_MSG_GET_QUEUED_TRANSFERS_RESPONSE,
	CWMP_MSG_GET_ALL_QUEUED_TRANSFERS_RESPONSE,
	CWMP_MSG_SCHEDULE_DOWNLOAD_RESPONSE,
	CWMP_MSG_CHANGE_DU_STATE_RESPONSE,
	CWMP_MSG_INFORM,
	CWMP_MSG_TRANSFER_COMPLETE,
	CWMP_MSG_AUTONOMOUS_TRANSFER_COMPLETE,
	CWMP_MSG_DU_STATE_CHANGE_COMPLETE,
	CWMP_MSG_AUTONOMOUS_DU_STATE_CHANGE_COMPLETE, /* du_results, command_key unused */
	CWMP_MSG_KIND_COUNT
} cwmp_msg_kind;

typedef struct cwmp_msg {
	cwmp_header hdr;
	int ns_version; /* decode: cwmp-1-<n> seen (CWMP_NS_1_2 if none) */
	cwmp_msg_kind kind;
	union {
		cwmp_strings names; /* Get{ParameterValues,ParameterAttributes}; GetRPCMethodsResponse */
		struct {
			char *path;
			int next_level;
		} gpn;
		struct {
			cwmp_param_value *v;
			size_t n;
			char *parameter_key;
		} spv;
		struct {
			char *object_name; /* AddObject, DeleteObject */
			char *parameter_key;
		} object;
		char *command_key; /* Reboot, CancelTransfer */
		struct {
			char *command_key, *file_type, *url, *username, *password;
			unsigned file_size;     /* Download only */
			char *target_file_name; /* Download only */
			unsigned delay_seconds;
			char *success_url, *failure_url; /* Download only */
			cwmp_time_window *windows;       /* ScheduleDownload only */
			size_t n_windows;
		} transfer; /* Download, Upload, ScheduleDownload */
		struct {
			int status; /* 0 done, 1 not yet */
			char *start_time, *complete_time;
		} transfer_response; /* DownloadResponse, UploadResponse */
		struct {
			unsigned delay_seconds;
			char *command_key;
		} schedule_inform;
		unsigned max_envelopes; /* InformResponse */
		cwmp_fault fault;
		struct {
			cwmp_param_value *v;
			size_t n;
		} values; /* GetParameterValuesResponse */
		struct {
			cwmp_param_info *v;
			size_t n;
		} infos;  /* GetParameterNamesResponse */
		struct {
			cwmp_spa_entry *v;
			size_t n;
		} spa;    /* SetParameterAttributes */
		struct {
			cwmp_param_attr *v;
			size_t n;
		} attrs;  /* GetParameterAttributesResponse */
		int status; /* SPV/DeleteObject response */
		struct {
			unsigned instance;
			int status;
		} add_object;
		struct {
			char *manufacturer, *oui, *product_class, *serial_number;
			cwmp_event *events;
			size_t n_events;
			unsigned max_envelopes;
			char *current_time;
			unsigned retry_count;
			cwmp_param_value *params;
			size_t n_params;
		} inform;
		struct {
			char *command_key;
			unsigned fault_code;
			char *fault_string;
			char *start_time, *complete_time;
			/* AutonomousTransferComplete only (A.3.3.3) */
			char *announce_url, *transfer_url;
			int is_download;
			char *file_type;
			unsigned file_size;
			char *target_file_name;
		} transfer_complete; /* (Autonomous)TransferComplete */
		struct {
			cwmp_queued_transfer *v;
			size_t n;
		} queued; /* Get(All)QueuedTransfersResponse */
		struct {
			cwmp_du_op *v;
			size_t n;
			char *command_key; /* NULL when absent */
		} du_ops; /* ChangeDUState */
		struct {
			cwmp_du_result *v;
			size_t n;
			char *command_key; /* NULL when absent */
		} du_results; /* DUStateChangeComplete */
	} u;
	void *mem; /* codec-owned storage of a decoded message; NULL when caller-built */
} cwmp_msg;

/* Outcome of a failed decode, ready to become the CPE's answer:
 * code is the CWMP fault (9000 method not supported, 9003 invalid
 * arguments) and msg a static English text. */
typedef struct cwmp_fault_info {
	unsigned code;
	const char *msg;
	/* the request's cwmp:ID when the Header could be read ("" if none):
	 * a fault answering the request must carry it (TR-069 3.5) */
	char id[256];
} cwmp_fault_info;

/*
 * cwmp_codec_decode - read one envelope (or an empty body) from the ACS.
 * xml/len: the HTTP body, not NUL-terminated necessarily; len 0 gives
 * CWMP_MSG_EMPTY. Accepts any namespace prefixes, cwmp-1-0 to cwmp-1-4.
 * *out: on success a message the caller frees with cwmp_msg_free.
 * why: if not NULL, filled on failure with the CWMP fault; on
 * EMUSTUNDERSTAND its code is 0, since the answer is the SOAP fault
 * MustUnderstand rather than a CWMP fault. Unknown header entries
 * without mustUnderstand="1" are skipped.
 * Returns CWMP_CODEC_OK, EINVAL, ENOMEM, EPARSE (9003), EUNSUPPORTED (9000)
 * or EMUSTUNDERSTAND; on any failure *out stays NULL.
 */
int cwmp_codec_decode(const char *xml, size_t len, cwmp_msg **out, cwmp_fault_info *why);

/*
 * cwmp_codec_encode - write m as one SOAP 1.1 envelope in namespace
 * urn:dslforum-org:cwmp-1-<ns_version>. CWMP_MSG_EMPTY gives an empty
 * body (len 0). *xml is malloc'd, NUL-terminated, owned by the caller.
 * Returns CWMP_CODEC_OK, EINVAL (bad kind or version, or a
 * DUStateChangeComplete without results) or ENOMEM.
 */
int cwmp_codec_encode(const cwmp_msg *m, int ns_version, char **xml, size_t *len);

/* Whole-tree answers (GetParameterValuesResponse,
 * GetParameterNamesResponse) are written directly, byte for byte what the
 * generic serialiser writes, only faster; false sends everything through
 * the generic one (tests compare the two). On by default. */
void cwmp_codec_use_fast_writers(bool on);

/* cwmp_msg_free - release a message returned by cwmp_codec_decode; NULL is fine. */
void cwmp_msg_free(cwmp_msg *m);

/* cwmp_value_type_name - "xsd:unsignedInt" etc.; cwmp_codec_strerror - status text. */
const char *cwmp_value_type_name(cwmp_value_type t);
const char *cwmp_codec_strerror(int status);

#endif
