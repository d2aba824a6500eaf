# SPDX-License-Identifier: Apache-2.0
# test_exit checks the CLI's mapping of engine error codes to exit codes: the
# one file of the CLI it needs is compiled into it (the CLI is no library).
target_sources(test_exit PRIVATE ${CMAKE_SOURCE_DIR}/cli/exit.c)
