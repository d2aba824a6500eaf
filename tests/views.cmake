# SPDX-License-Identifier: Apache-2.0
# views/rows: every view of schema/migrations/0012_views.sql against the CLI's
# listings on the WidgetsRUs project. views/concurrent: a read-only WAL
# reader of the views while the CLI writes: never busy, always consistent.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

foreach(mode rows concurrent)
  add_test(NAME views/${mode}
           COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/views_test.py
                   $<TARGET_FILE:threatsync> ${CMAKE_SOURCE_DIR} ${mode})
  set_tests_properties(views/${mode} PROPERTIES TIMEOUT 300 LABELS views
                       ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
endforeach()
