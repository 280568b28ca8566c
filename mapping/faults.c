/*
 * faults.c - the one place that decides which CWMP fault and which USP error
 * code an engine error becomes, and how a code of one protocol reads in the
 * other. Two tables, each scanned top to bottom, first matching row wins:
 * engine_rules (engine error x situation -> fault, code) and code_pairs
 * (CWMP fault <-> USP code). The texts of the codes live in cwmp/ and usp/.
 */
#include "faults.h"

#include <stdbool.h>
#include <stddef.h>

enum { ANY_OP = -1 };
/* A rule's reason DM_REASON_NONE matches whatever reason the error carries. */
#define ANY_REASON DM_REASON_NONE

typedef struct engine_rule {
	int err;
	dm_value_reason reason;
	int op; /* a map_op, or ANY_OP */
	unsigned cwmp;
	uint32_t usp;
} engine_rule;

/*
 * Each engine error lists its situation-specific rows first and ends with an
 * ANY_OP row, so every error has a code in every situation. The choices, with
 * the rule behind each (TR-069 A.3/A.5, TR-369 1.4 "Error Codes" and each
 * message's list of appropriate codes):
 * - Names. A path naming nothing is 9005 on CWMP everywhere. On USP it is 7026
 *   Invalid path for a requested or object path, 7010 Unsupported parameter
 *   for one of a Set's or Add's param_settings, and 7004 inside a Notify,
 *   whose codes stop at 7006. A missing instance is 7016 Object does not
 *   exist, except in Get (R-GET.0 asks for 7026 when a plain path matches
 *   nothing instantiated) and GetSupportedDM (which only knows the schema).
 * - Syntax. A malformed path is a bad name where the request takes names
 *   (9005 / 7008); where it is not a name the requester gave (a CWMP RPC run
 *   as a command, Notify, other situations) it is an invalid argument (9003,
 *   and 7004 where USP has no path either).
 * - Not writable. 9008 / 7013 for one parameter; for AddObject and
 *   DeleteObject on a fixed table the name does not denote something the ACS
 *   may create or delete (9005), which USP calls 7019 Attempt to create
 *   non-creatable object and, for Delete, 7024 Delete failure. A whole SPV
 *   fails 9003 around its per-parameter faults.
 * - Invalid value. 9007 / 7012, and 9006 / 7011 when the string is no value of
 *   the parameter's type; outside a parameter write it is 9003 on CWMP and the
 *   object-level code on USP (7020, 7017, 7024; 7027 for command inputs).
 * - Unique key. 7025 wherever Add or Set create or change keys; 9007 for the
 *   parameter on CWMP (the value collides), 9003 around it.
 * - Table limits. maxEntries is 9004 Resources exceeded on CWMP and, on USP,
 *   7017 Object could not be created: it is a data model limit, not the
 *   memory or processing limit 7005 names. minEntries is a refusal (9001) and
 *   7024 Delete failure.
 * - Provider (a vendor hook refused). 9007 for a parameter write, else 9001;
 *   on USP 7009 Parameter action failed for a parameter, else the object- or
 *   command-level failure of the message.
 * - Commands. Argument errors are 9003 / 7027 (R-OPR.5); a missing handler and
 *   a failed handler are 7022 Command failure in Operate.
 * - Resources and internal failures: NOMEM and DISK_FULL 9004 / 7005, store
 *   and other internal failures 9002 / 7003.
 */
static const engine_rule engine_rules[] = {
	/* err                     reason           op                     CWMP  USP */
	{DM_ERR_NOMEM,             ANY_REASON,      ANY_OP,                9004, 7005},

	{DM_ERR_SYNTAX,            ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_SYNTAX,            ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_SYNTAX,            ANY_REASON,      MAP_OP_OPERATE,        9003, 7008},
	{DM_ERR_SYNTAX,            ANY_REASON,      MAP_OP_NOTIFY,         9003, 7004},
	{DM_ERR_SYNTAX,            ANY_REASON,      MAP_OP_OTHER,          9003, 7004},
	{DM_ERR_SYNTAX,            ANY_REASON,      ANY_OP,                9005, 7008},

	{DM_ERR_NOT_IN_SCHEMA,     ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_NOT_IN_SCHEMA,     ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_NOT_IN_SCHEMA,     ANY_REASON,      MAP_OP_NOTIFY,         9005, 7004},
	{DM_ERR_NOT_IN_SCHEMA,     ANY_REASON,      ANY_OP,                9005, 7026},

	{DM_ERR_NOT_INSTANTIATED,  ANY_REASON,      MAP_OP_READ,           9005, 7026},
	{DM_ERR_NOT_INSTANTIATED,  ANY_REASON,      MAP_OP_READ_SCHEMA,    9005, 7026},
	{DM_ERR_NOT_INSTANTIATED,  ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_NOT_INSTANTIATED,  ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_NOT_INSTANTIATED,  ANY_REASON,      MAP_OP_NOTIFY,         9005, 7004},
	{DM_ERR_NOT_INSTANTIATED,  ANY_REASON,      ANY_OP,                9005, 7016},

	{DM_ERR_NOT_READABLE,      ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_NOT_READABLE,      ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_NOT_READABLE,      ANY_REASON,      MAP_OP_NOTIFY,         9005, 7004},
	{DM_ERR_NOT_READABLE,      ANY_REASON,      ANY_OP,                9005, 7026},

	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_SET_PARAM,      9008, 7013},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_ADD_PARAM,      9008, 7013},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_SET,            9003, 7020},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_ADD,            9005, 7019},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_DELETE,         9005, 7024},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_READ,           9001, 7003},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_READ_INSTANCES, 9001, 7003},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      MAP_OP_READ_SCHEMA,    9001, 7003},
	{DM_ERR_NOT_WRITABLE,      ANY_REASON,      ANY_OP,                9001, 7002},

	{DM_ERR_INVALID_VALUE,     DM_REASON_TYPE,  MAP_OP_SET_PARAM,      9006, 7011},
	{DM_ERR_INVALID_VALUE,     DM_REASON_TYPE,  MAP_OP_ADD_PARAM,      9006, 7011},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      MAP_OP_SET_PARAM,      9007, 7012},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      MAP_OP_ADD_PARAM,      9007, 7012},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      MAP_OP_SET,            9003, 7020},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      MAP_OP_ADD,            9003, 7017},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      MAP_OP_DELETE,         9003, 7024},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      MAP_OP_OPERATE,        9003, 7027},
	{DM_ERR_INVALID_VALUE,     ANY_REASON,      ANY_OP,                9003, 7004},

	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      MAP_OP_SET_PARAM,      9007, 7025},
	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      MAP_OP_ADD_PARAM,      9007, 7025},
	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      MAP_OP_SET,            9003, 7025},
	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      MAP_OP_ADD,            9003, 7025},
	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      MAP_OP_DELETE,         9003, 7024},
	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      MAP_OP_OPERATE,        9003, 7022},
	{DM_ERR_UNIQUE_KEY,        ANY_REASON,      ANY_OP,                9003, 7003},

	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      MAP_OP_SET,            9004, 7020},
	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      MAP_OP_SET_PARAM,      9004, 7009},
	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      MAP_OP_ADD,            9004, 7017},
	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      MAP_OP_ADD_PARAM,      9004, 7017},
	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      MAP_OP_DELETE,         9004, 7024},
	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      MAP_OP_OPERATE,        9004, 7022},
	{DM_ERR_MAX_ENTRIES,       ANY_REASON,      ANY_OP,                9004, 7003},

	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      MAP_OP_SET,            9001, 7020},
	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      MAP_OP_SET_PARAM,      9001, 7009},
	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      MAP_OP_ADD,            9001, 7017},
	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      MAP_OP_ADD_PARAM,      9001, 7017},
	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      MAP_OP_DELETE,         9001, 7024},
	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      MAP_OP_OPERATE,        9001, 7022},
	{DM_ERR_MIN_ENTRIES,       ANY_REASON,      ANY_OP,                9001, 7003},

	/* an object path where a table (or any object) was needed */
	{DM_ERR_NOT_TABLE,         ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_NOT_TABLE,         ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_NOT_TABLE,         ANY_REASON,      MAP_OP_ADD,            9005, 7018},
	{DM_ERR_NOT_TABLE,         ANY_REASON,      MAP_OP_DELETE,         9005, 7018},
	{DM_ERR_NOT_TABLE,         ANY_REASON,      MAP_OP_READ_INSTANCES, 9005, 7018},
	{DM_ERR_NOT_TABLE,         ANY_REASON,      MAP_OP_NOTIFY,         9005, 7004},
	{DM_ERR_NOT_TABLE,         ANY_REASON,      ANY_OP,                9005, 7026},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      MAP_OP_ADD,            9005, 7018},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      MAP_OP_DELETE,         9005, 7018},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      MAP_OP_READ_INSTANCES, 9005, 7018},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      MAP_OP_NOTIFY,         9005, 7004},
	{DM_ERR_NOT_OBJECT,        ANY_REASON,      ANY_OP,                9005, 7026},

	{DM_ERR_NOT_PARAM,         ANY_REASON,      MAP_OP_SET_PARAM,      9005, 7010},
	{DM_ERR_NOT_PARAM,         ANY_REASON,      MAP_OP_ADD_PARAM,      9005, 7010},
	{DM_ERR_NOT_PARAM,         ANY_REASON,      MAP_OP_NOTIFY,         9005, 7004},
	{DM_ERR_NOT_PARAM,         ANY_REASON,      ANY_OP,                9005, 7026},

	{DM_ERR_NOT_COMMAND,       ANY_REASON,      MAP_OP_SET_PARAM,      9001, 7010},
	{DM_ERR_NOT_COMMAND,       ANY_REASON,      MAP_OP_ADD_PARAM,      9001, 7010},
	{DM_ERR_NOT_COMMAND,       ANY_REASON,      MAP_OP_NOTIFY,         9001, 7004},
	{DM_ERR_NOT_COMMAND,       ANY_REASON,      ANY_OP,                9001, 7026},

	{DM_ERR_REQUIRED_ARG,      ANY_REASON,      MAP_OP_OPERATE,        9003, 7027},
	{DM_ERR_REQUIRED_ARG,      ANY_REASON,      ANY_OP,                9003, 7004},
	{DM_ERR_INVALID_ARG,       ANY_REASON,      MAP_OP_OPERATE,        9003, 7027},
	{DM_ERR_INVALID_ARG,       ANY_REASON,      ANY_OP,                9003, 7004},

	{DM_ERR_NO_HANDLER,        ANY_REASON,      MAP_OP_OPERATE,        9001, 7022},
	{DM_ERR_NO_HANDLER,        ANY_REASON,      ANY_OP,                9001, 7003},
	{DM_ERR_CMD_FAILED,        ANY_REASON,      MAP_OP_OPERATE,        9002, 7022},
	{DM_ERR_CMD_FAILED,        ANY_REASON,      ANY_OP,                9002, 7003},

	{DM_ERR_PROVIDER,          ANY_REASON,      MAP_OP_SET_PARAM,      9007, 7009},
	{DM_ERR_PROVIDER,          ANY_REASON,      MAP_OP_ADD_PARAM,      9007, 7009},
	{DM_ERR_PROVIDER,          ANY_REASON,      MAP_OP_SET,            9001, 7020},
	{DM_ERR_PROVIDER,          ANY_REASON,      MAP_OP_ADD,            9001, 7017},
	{DM_ERR_PROVIDER,          ANY_REASON,      MAP_OP_DELETE,         9001, 7024},
	{DM_ERR_PROVIDER,          ANY_REASON,      MAP_OP_OPERATE,        9001, 7022},
	{DM_ERR_PROVIDER,          ANY_REASON,      ANY_OP,                9001, 7003},

	{DM_ERR_STORE,             ANY_REASON,      ANY_OP,                9002, 7003},
	{DM_ERR_DISK_FULL,         ANY_REASON,      ANY_OP,                9004, 7005},
	{DM_ERR_CORRUPT_STORE,     ANY_REASON,      ANY_OP,                9002, 7003},
	{DM_ERR_STORE_BUSY,        ANY_REASON,      ANY_OP,                9002, 7003},
	{DM_ERR_SCHEMA_FILE,       ANY_REASON,      ANY_OP,                9002, 7003},
	{DM_ERR_DEFAULTS_FILE,     ANY_REASON,      ANY_OP,                9002, 7003},
	{DM_ERR_TXN_STATE,         ANY_REASON,      ANY_OP,                9002, 7003},
	{DM_ERR_INTERNAL,          ANY_REASON,      ANY_OP,                9002, 7003},
	/* a reference chain too long to follow: no usable name on CWMP, a
	 * processing limit on USP */
	{DM_ERR_TOO_DEEP,          ANY_REASON,      ANY_OP,                9005, 7005},
	{DM_ERR_NOT_SUPPORTED,     ANY_REASON,      ANY_OP,                9001, 7003},
	/* the write guard (an A/B trial's ownership policy): a refusal by policy,
	 * 9001 Request denied and 7006 Permission denied everywhere (notes §15 C4) */
	{DM_ERR_DENIED,            ANY_REASON,      ANY_OP,                9001, 7006},
};

/* An engine code no row names is our own failure on both sides. */
enum { UNKNOWN_ERR_CWMP = 9002, UNKNOWN_ERR_USP = 7003 };

static bool rule_matches(const engine_rule *r, int err, dm_value_reason reason, map_op op)
{
	return r->err == err && (r->reason == ANY_REASON || r->reason == reason) &&
	       (r->op == ANY_OP || r->op == (int)op);
}

static const engine_rule *engine_rule_find(int err, dm_value_reason reason, map_op op)
{
	for (size_t i = 0; i < sizeof engine_rules / sizeof engine_rules[0]; i++)
		if (rule_matches(&engine_rules[i], err, reason, op))
			return &engine_rules[i];
	return NULL;
}

unsigned map_dm_to_cwmp_fault(int err, dm_value_reason reason, map_op op)
{
	if (err == DM_OK)
		return 0;
	const engine_rule *r = engine_rule_find(err, reason, op);
	return r ? r->cwmp : UNKNOWN_ERR_CWMP;
}

uint32_t map_dm_to_usp_err(int err, dm_value_reason reason, map_op op)
{
	if (err == DM_OK)
		return 0;
	const engine_rule *r = engine_rule_find(err, reason, op);
	return r ? r->usp : UNKNOWN_ERR_USP;
}

/* ---------------------------------------------------------------------------
 * CWMP fault <-> USP error code
 * ------------------------------------------------------------------------- */

typedef enum pair_way {
	BOTH_WAYS, /* each code is the other's translation */
	TO_USP,    /* read only from CWMP to USP: the USP code goes back elsewhere */
	TO_CWMP,   /* read only from USP to CWMP */
} pair_way;

/* A span of codes on each side: equal widths pair code by code, a single
 * code on one side takes the whole span of the other. 0 = no counterpart. */
typedef struct code_pair {
	unsigned cwmp_lo, cwmp_hi;
	uint32_t usp_lo, usp_hi;
	pair_way way;
	map_code_class cls;
} code_pair;

#define ONE(cwmp, usp, way, cls) {cwmp, cwmp, usp, usp, way, cls}
#define SPAN(clo, chi, ulo, uhi, way, cls) {clo, chi, ulo, uhi, way, cls}

/*
 * Every one-way row is lossy: taking its code across and back lands on the
 * more general code of the same class; its comment says what is lost.
 * 7032-7037 are not in TR-369 1.4's table (later TR-369 and TR-181 DU texts
 * use them), so a CWMP fault never becomes one; one that arrives is read.
 */
static const code_pair code_pairs[] = {
	ONE(9000, 7001, BOTH_WAYS, MAP_CLASS_UNSUPPORTED),
	ONE(9001, 7002, BOTH_WAYS, MAP_CLASS_DENIED),
	ONE(9002, 7003, BOTH_WAYS, MAP_CLASS_FAILED),
	ONE(9003, 7004, BOTH_WAYS, MAP_CLASS_ARGUMENTS),
	ONE(9004, 7005, BOTH_WAYS, MAP_CLASS_RESOURCES),
	ONE(9005, 7026, BOTH_WAYS, MAP_CLASS_PATH),
	ONE(9006, 7011, BOTH_WAYS, MAP_CLASS_VALUE),
	ONE(9007, 7012, BOTH_WAYS, MAP_CLASS_VALUE),
	ONE(9008, 7013, BOTH_WAYS, MAP_CLASS_VALUE),
	ONE(9009, 7002, TO_USP, MAP_CLASS_DENIED),    /* USP has no refusal of a notification attribute */
	ONE(9010, 7022, TO_USP, MAP_CLASS_FAILED),    /* USP has one Command failure for every transfer failure */
	ONE(9011, 7022, TO_USP, MAP_CLASS_FAILED),    /* upload failure: the same Command failure */
	ONE(9012, 7022, TO_USP, MAP_CLASS_FAILED),    /* server authentication: 7034 is not in TR-369 1.4 */
	ONE(9013, 7004, TO_USP, MAP_CLASS_ARGUMENTS), /* an unsupported URL scheme is a bad argument to USP */
	ONE(9014, 7022, TO_USP, MAP_CLASS_FAILED),    /* multicast join: Command failure */
	ONE(9015, 7022, TO_USP, MAP_CLASS_FAILED),    /* server unreachable: 7033 is not in TR-369 1.4 */
	ONE(9016, 7022, TO_USP, MAP_CLASS_FAILED),    /* file not accessible: Command failure */
	ONE(9017, 7022, TO_USP, MAP_CLASS_FAILED),    /* download incomplete: Command failure */
	ONE(9018, 7022, TO_USP, MAP_CLASS_FAILED),    /* file corrupted: 7035 is not in TR-369 1.4 */
	ONE(9019, 7022, TO_USP, MAP_CLASS_FAILED),    /* file authentication: 7036 is not in TR-369 1.4 */
	ONE(9020, 7022, TO_USP, MAP_CLASS_FAILED),    /* time windows missed: Command failure */
	ONE(9021, 7002, TO_USP, MAP_CLASS_DENIED),    /* cancel refused: Cancel() fails as a denied request */
	ONE(9022, 7004, TO_USP, MAP_CLASS_ARGUMENTS), /* a malformed UUID is a bad argument to USP */
	/* software module faults: the data model range, fault - 1800 */
	ONE(9023, 7223, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9024, 7224, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9025, 7225, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9026, 7226, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9027, 7227, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9028, 7228, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9029, 7229, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9030, 7230, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9031, 7231, BOTH_WAYS, MAP_CLASS_DU),
	ONE(9032, 7232, BOTH_WAYS, MAP_CLASS_DU),
	SPAN(9800, 9899, 7800, 7899, BOTH_WAYS, MAP_CLASS_VENDOR),
	SPAN(8000, 8006, 0, 0, TO_USP, MAP_CLASS_ACS), /* ACS answers to the CPE: no Controller sees one */

	ONE(9002, 7000, TO_CWMP, MAP_CLASS_FAILED),    /* message failed: only its err_msg says why */
	ONE(9001, 7006, TO_CWMP, MAP_CLASS_DENIED),    /* CWMP has no permission fault */
	ONE(9001, 7007, TO_CWMP, MAP_CLASS_DENIED),    /* invalid configuration: refused, reason lost */
	ONE(9005, 7008, TO_CWMP, MAP_CLASS_PATH),      /* path syntax: CWMP knows only invalid names */
	ONE(9002, 7009, TO_CWMP, MAP_CLASS_FAILED),    /* parameter action failed: CWMP has no such fault */
	ONE(9005, 7010, TO_CWMP, MAP_CLASS_PATH),      /* unsupported parameter: an invalid name */
	ONE(9007, 7014, TO_CWMP, MAP_CLASS_VALUE),     /* value conflict: an invalid value */
	ONE(9002, 7015, TO_CWMP, MAP_CLASS_FAILED),    /* operation error: only its err_msg says why */
	ONE(9005, 7016, TO_CWMP, MAP_CLASS_PATH),      /* missing object: an invalid name */
	ONE(9002, 7017, TO_CWMP, MAP_CLASS_FAILED),    /* creation failed: 9004 only if a limit, unknown here */
	ONE(9005, 7018, TO_CWMP, MAP_CLASS_PATH),      /* not a table: an invalid name for AddObject */
	ONE(9005, 7019, TO_CWMP, MAP_CLASS_PATH),      /* non-creatable object: an invalid name for AddObject */
	ONE(9002, 7020, TO_CWMP, MAP_CLASS_FAILED),    /* object not updated: CWMP has no object-level fault */
	ONE(9003, 7021, TO_CWMP, MAP_CLASS_ARGUMENTS), /* required parameter failed: SPV's 9003 aggregate */
	ONE(9002, 7022, TO_CWMP, MAP_CLASS_FAILED),    /* command failure: the transfer code needs its context */
	ONE(0, 7023, TO_CWMP, MAP_CLASS_FAILED),       /* cancelled: CWMP drops the transfer and reports nothing */
	ONE(9002, 7024, TO_CWMP, MAP_CLASS_FAILED),    /* delete failure: 9001 only if policy, unknown here */
	ONE(9007, 7025, TO_CWMP, MAP_CLASS_VALUE),     /* duplicate key: the key's value is invalid */
	ONE(9003, 7027, TO_CWMP, MAP_CLASS_ARGUMENTS), /* command arguments: CWMP's invalid arguments */
	SPAN(9002, 9002, 7028, 7031, TO_CWMP, MAP_CLASS_FAILED), /* Broker registration: internal to the agent */
	ONE(9015, 7033, TO_CWMP, MAP_CLASS_FAILED),    /* server unreachable, read back to CWMP's own fault */
	ONE(9012, 7034, TO_CWMP, MAP_CLASS_FAILED),    /* server not trusted: server authentication failure */
	ONE(9018, 7035, TO_CWMP, MAP_CLASS_FAILED),    /* corrupt data: file corrupted */
	ONE(9019, 7036, TO_CWMP, MAP_CLASS_FAILED),    /* bad signature: file authentication failure */
	SPAN(9002, 9002, 7100, 7199, TO_CWMP, MAP_CLASS_FAILED), /* record errors: the transport failed */
	SPAN(9002, 9002, 7200, 7299, TO_CWMP, MAP_CLASS_FAILED), /* other data model codes: meaning unknown here */
	SPAN(9002, 9002, 7900, 7999, TO_CWMP, MAP_CLASS_FAILED), /* vendor codes beyond CWMP's vendor range */
};

/* A code not named by any row is our failure to understand it. */
enum { UNKNOWN_CODE_USP = 7003, UNKNOWN_CODE_CWMP = 9002 };

/* The code in [to_lo, to_hi] that answers `from` in [from_lo, ...]. */
static uint32_t pair_pick(uint32_t from, uint32_t from_lo, uint32_t to_lo, uint32_t to_hi)
{
	return to_lo == to_hi ? to_lo : to_lo + (from - from_lo);
}

uint32_t map_cwmp_fault_to_usp_err(unsigned fault)
{
	for (size_t i = 0; i < sizeof code_pairs / sizeof code_pairs[0]; i++) {
		const code_pair *p = &code_pairs[i];
		if (p->way != TO_CWMP && fault >= p->cwmp_lo && fault <= p->cwmp_hi)
			return pair_pick(fault, p->cwmp_lo, p->usp_lo, p->usp_hi);
	}
	return UNKNOWN_CODE_USP;
}

unsigned map_usp_err_to_cwmp_fault(uint32_t code)
{
	for (size_t i = 0; i < sizeof code_pairs / sizeof code_pairs[0]; i++) {
		const code_pair *p = &code_pairs[i];
		if (p->way != TO_USP && code >= p->usp_lo && code <= p->usp_hi)
			return pair_pick(code, p->usp_lo, p->cwmp_lo, p->cwmp_hi);
	}
	return UNKNOWN_CODE_CWMP;
}

map_code_class map_code_class_of(uint32_t code)
{
	if (code == 0)
		return MAP_CLASS_NONE;
	for (size_t i = 0; i < sizeof code_pairs / sizeof code_pairs[0]; i++) {
		const code_pair *p = &code_pairs[i];
		if ((code >= p->cwmp_lo && code <= p->cwmp_hi) || (code >= p->usp_lo && code <= p->usp_hi))
			return p->cls;
	}
	return MAP_CLASS_NONE;
}
