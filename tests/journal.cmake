# SPDX-License-Identifier: Apache-2.0
# test_journal checks the daemon's journal sink: daemon/journal.c is compiled
# into it (the daemon is no library), its sd_journal_sendv replaced by a
# recording function, so no journald is needed.
target_sources(test_journal PRIVATE ${CMAKE_SOURCE_DIR}/daemon/journal.c)
target_link_libraries(test_journal PRIVATE PkgConfig::SYSTEMD)
