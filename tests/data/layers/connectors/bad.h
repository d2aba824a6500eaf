/* SPDX-License-Identifier: Apache-2.0 */
/* A layering fault for the check-layers self-test: a connector using the daemon. */
#  include "daemon/webhook.h"
#include "engine/util.h"
