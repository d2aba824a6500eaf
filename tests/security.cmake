# SPDX-License-Identifier: Apache-2.0
# Security tests (label "security", tests/security/): refused webhook
# deliveries change nothing in the database; the HTTP endpoint's bounds under a
# slow-connection flood; no secret in any log line, row, metric or message; SQL
# never built with a formatter; and, in tests/systemd.cmake, the unit's
# exposure level.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

foreach(t webhook_refusals http_limits secrets_nowhere)
  string(REPLACE "_" "-" name ${t})
  add_test(NAME security/${name}
           COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/security/${t}.py
                   --threatsync $<TARGET_FILE:threatsync>
                   --threatsyncd $<TARGET_FILE:threatsyncd>
                   --source-dir ${CMAKE_SOURCE_DIR})
  set_tests_properties(security/${name} PROPERTIES
    TIMEOUT 180
    LABELS security
    ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
endforeach()

add_test(NAME security/sql-format
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/security/sql_format_check.py
                 ${CMAKE_SOURCE_DIR} engine connectors daemon cli)
add_test(NAME security/sql-format-self-check
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/security/sql_format_check.py
                 --self-check ${CMAKE_SOURCE_DIR}/tests/data/security/sql_format)
set_tests_properties(security/sql-format security/sql-format-self-check PROPERTIES
  TIMEOUT 60
  LABELS security
  ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
