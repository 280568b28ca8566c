/*
 * faults.h - engine errors to CWMP faults and USP error codes, and the
 * translation of a fault or error code from one protocol to the other.
 *
 * Both front ends ask here, so that an engine error in a given situation has
 * exactly one CWMP fault and one USP error code. The texts of the codes stay
 * with their front ends (cwmp_fault_text, usp_err_text). Pure functions over
 * static tables: no state, thread-safe.
 */
#ifndef DUET_MAP_FAULTS_H
#define DUET_MAP_FAULTS_H

#include <stdint.h>

#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The situation an engine error arose in. The same engine error is a different
 * code per situation on both sides: a read-only parameter is 9008 / 7013 when
 * one parameter of a Set is written, but 9005 / 7019 when an Add names a table
 * the requester may not extend. Each front end names its situation with one of
 * these; situations only one protocol has still carry a code for the other, so
 * that a failure can be shown across (a proxied request, a Broker answer).
 */
typedef enum map_op {
	MAP_OP_READ,           /* CWMP GPV/GPN/GPA name resolution; USP Get */
	MAP_OP_READ_INSTANCES, /* USP GetInstances */
	MAP_OP_READ_SCHEMA,    /* USP GetSupportedDM */
	MAP_OP_SET,            /* a Set's object path; a whole SetParameterValues */
	MAP_OP_SET_PARAM,      /* one SPV entry; one param_setting of a Set */
	MAP_OP_SET_ATTR,       /* one SetParameterAttributes entry; a subscription's target */
	MAP_OP_ADD,            /* AddObject; an Add's object path */
	MAP_OP_ADD_PARAM,      /* one param_setting of an Add */
	MAP_OP_DELETE,         /* DeleteObject; one path of a Delete */
	MAP_OP_OPERATE,        /* USP Operate; a CWMP RPC carried out as a command */
	MAP_OP_NOTIFY,         /* building a USP Notify (its codes stay within 7000-7006) */
	MAP_OP_OTHER,          /* anything else: transaction start, session bookkeeping */
	MAP_OP_COUNT
} map_op;

/*
 * The CWMP fault (9000-9032) for an engine error err (a dm_err) in situation
 * op. reason refines DM_ERR_INVALID_VALUE (DM_REASON_TYPE is 9006 where a
 * parameter is written); pass DM_REASON_NONE when unknown. Returns 0 for
 * DM_OK and 9002 Internal error for a code the table does not know.
 */
unsigned map_dm_to_cwmp_fault(int err, dm_value_reason reason, map_op op);

/*
 * The USP error code (7000-7031) for an engine error in situation op, with
 * reason as above (DM_REASON_TYPE is 7011 Invalid type for a parameter).
 * Returns 0 for DM_OK and 7003 Internal error for a code the table does not
 * know.
 */
uint32_t map_dm_to_usp_err(int err, dm_value_reason reason, map_op op);

/*
 * A CWMP fault shown to a Controller (a CWMP-origin failure, a proxied CWMP
 * device): its USP error code. Context-free: where the USP side has several
 * codes for one fault (9005 is 7008, 7010, 7016, 7018 or 7026 by cause), the
 * most general one is returned; callers that know the engine error use
 * map_dm_to_usp_err instead. Vendor faults 9800-9899 become 7800-7899.
 * Returns 0 for the ACS faults 8000-8006 (answers to the CPE, never a
 * Controller's business) and 7003 for a code no row names.
 */
uint32_t map_cwmp_fault_to_usp_err(unsigned fault);

/*
 * A USP error code shown to the ACS (a USP Service's answer to a CWMP
 * request, a Controller-side failure): its CWMP fault. Returns 0 for 7023
 * Command canceled, which CWMP reports by saying nothing (the transfer is
 * removed, no TransferComplete), and 9002 for a code no row names.
 */
unsigned map_usp_err_to_cwmp_fault(uint32_t code);

/*
 * What kind of failure a code names, on either side; a translation never
 * leaves its class, so a code taken across and back lands in the class it
 * started from even where the way back picks a more general code.
 */
typedef enum map_code_class {
	MAP_CLASS_NONE = 0,    /* no row names the code */
	MAP_CLASS_UNSUPPORTED, /* the method or message is not understood */
	MAP_CLASS_DENIED,      /* understood, refused by policy or state */
	MAP_CLASS_FAILED,      /* accepted, then the device could not carry it out */
	MAP_CLASS_ARGUMENTS,   /* the request's arguments are wrong */
	MAP_CLASS_RESOURCES,   /* memory, storage or processing limits */
	MAP_CLASS_PATH,        /* a name or path that denotes nothing usable */
	MAP_CLASS_VALUE,       /* a value that cannot be written */
	MAP_CLASS_DU,          /* software module (deployment unit) faults */
	MAP_CLASS_VENDOR,      /* vendor-defined codes */
	MAP_CLASS_ACS,         /* ACS faults 8000-8006: no USP counterpart */
} map_code_class;

/* The class of a CWMP fault or a USP error code (the ranges do not overlap). */
map_code_class map_code_class_of(uint32_t code);

#ifdef __cplusplus
}
#endif

#endif
