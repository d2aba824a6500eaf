/* SPDX-License-Identifier: Apache-2.0 */
/* A layering fault for the check-layers self-test: the CLI using the daemon. */
#include "daemon/daemon.h"
