# SPDX-License-Identifier: Apache-2.0
# ci/example: examples/ci/threatsync-ci.sh, the step the GitLab and GitHub
# examples share, run locally against a temporary database: a passing and a
# failing gate, their logs, Markdown comments and exit codes, and the comment
# posted to local stand-ins of the GitLab and GitHub APIs. ci/shellcheck: the
# script is portable sh (skipped without shellcheck).
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME ci/example
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/ci_example_test.py
                 $<TARGET_FILE:threatsync> ${CMAKE_SOURCE_DIR})
set_tests_properties(ci/example PROPERTIES TIMEOUT 300 LABELS ci
                     ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")

find_program(TS_SHELLCHECK shellcheck)
if(TS_SHELLCHECK)
  add_test(NAME ci/shellcheck
           COMMAND ${TS_SHELLCHECK} -s sh ${CMAKE_SOURCE_DIR}/examples/ci/threatsync-ci.sh)
  set_tests_properties(ci/shellcheck PROPERTIES TIMEOUT 60 LABELS ci)
endif()
