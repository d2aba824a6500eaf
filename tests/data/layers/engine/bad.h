/* SPDX-License-Identifier: Apache-2.0 */
/* Layering faults for the check-layers self-test: the engine reaching out. */
#include "connectors/connector.h"
#include <uv.h>
#include <curl/curl.h>
#include "engine/util.h"
#include "report/render.h"
#include <graphviz/gvc.h>
