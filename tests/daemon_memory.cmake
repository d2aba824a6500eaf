# SPDX-License-Identifier: Apache-2.0
# test_daemon_memory checks what the daemon gives back between units of work:
# daemon/memory.c is compiled into it (the daemon is no library).
find_package(Threads REQUIRED)
target_sources(test_daemon_memory PRIVATE ${CMAKE_SOURCE_DIR}/daemon/memory.c)
target_link_libraries(test_daemon_memory PRIVATE Threads::Threads)
