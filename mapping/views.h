/*
 * views.h - the two TR-181 2.19 variants over one store: what the ACS and
 * what USP Controllers see of it (notes/cwmp-usp-mapping.md sections 2, 13
 * and C14). Each bridge subtree is stored once under its native name; the
 * views rename and hide around it:
 *
 *   CWMP view: Device.USPAgent. is Device.LocalAgent. limited to the names
 *     the CWMP variant's USPAgent has; Device.LocalAgent. and
 *     Device.CWMPManagementServer. are not there.
 *   USP view: Device.CWMPManagementServer.EnableCWMP is
 *     Device.ManagementServer.EnableCWMP; of Device.ManagementServer. only
 *     EnableCWMP is there (duet's name for it before the bridge, kept so
 *     that Controllers using it go on working); Device.USPAgent. is not.
 *   union view: both renames, nothing hidden (factory defaults, duetctl).
 *
 * Each view also hides the other variant's own objects (C14: the USP
 * variant's ProxiedDevice, Node, IoTCapability, Standby, ... from the ACS;
 * the CWMP variant's DiagnosticsState objects, ETSIM2M, ... from
 * Controllers, whose commands of the same name stay) and the USP view the
 * CWMP command-style parameters (cmdparams.h), where the schema has them.
 *
 * The extended migration view (opts.extended) also leaves Device.LocalAgent.
 * to the ACS and the whole of Device.ManagementServer. to Controllers.
 * An alias is made only where the schema has the stored subtree: on an
 * official CWMP-variant file Device.USPAgent. is native and stays so.
 */
#ifndef DUET_MAP_VIEWS_H
#define DUET_MAP_VIEWS_H

#include <stdbool.h>

#include "dm.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct map_views_opts {
	bool extended; /* extended migration view; off by default */
} map_views_opts;

typedef struct map_views map_views;

/* Build the views for a schema (which must outlive nothing here: only its
 * shape is read). opts may be NULL. 0 or a negative dm_err; free with
 * map_views_free. */
int map_views_new(const dm_schema *s, const map_views_opts *opts, map_views **out);
void map_views_free(map_views *v);

/* The views, owned by v: valid until map_views_free. */
const dm_view *map_views_cwmp(const map_views *v);
const dm_view *map_views_usp(const map_views *v);
const dm_view *map_views_union(const map_views *v);

#ifdef __cplusplus
}
#endif
#endif /* DUET_MAP_VIEWS_H */
