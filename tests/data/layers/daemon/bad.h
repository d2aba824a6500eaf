/* SPDX-License-Identifier: Apache-2.0 */
/* A layering fault for the check-layers self-test: the daemon using the CLI. */
#include "cli/cli.h"
#include "connectors/connector.h"
