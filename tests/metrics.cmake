# SPDX-License-Identifier: Apache-2.0
# test_metrics checks the daemon's label escaping in the process: the one file
# of the daemon it needs is compiled into it (the daemon is no library).
target_sources(test_metrics PRIVATE ${CMAKE_SOURCE_DIR}/daemon/metrics.c)
