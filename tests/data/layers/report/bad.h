/* SPDX-License-Identifier: Apache-2.0 */
/* A layering fault for the check-layers self-test: a renderer using the CLI. */
#include "cli/cli.h"
#include "engine/util.h"
