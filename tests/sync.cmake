# SPDX-License-Identifier: Apache-2.0
# Tracker sync tests that need their own add_test: the kill test (SIGKILL the
# daemon 20 times during a push of 500 tasks; label "slow").
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME sync/kill
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/kill_test.py
                 --threatsync $<TARGET_FILE:threatsync>
                 --threatsyncd $<TARGET_FILE:threatsyncd>
                 --source-dir ${CMAKE_SOURCE_DIR} --seed 5 --kills 20)
set_tests_properties(sync/kill PROPERTIES
  TIMEOUT 600
  LABELS slow
  ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")

# The restart test: SIGKILL the daemon ten times 1-3 s after each start during
# a push to a Jira with a 2 s search index lag; tickets must be created between
# the restarts (marker lookups of the recovered rows hold no slot while they
# wait for the index).
add_test(NAME sync/restarts
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/restart_test.py
                 --threatsync $<TARGET_FILE:threatsync>
                 --threatsyncd $<TARGET_FILE:threatsyncd>
                 --source-dir ${CMAKE_SOURCE_DIR} --seed 3 --restarts 10)
set_tests_properties(sync/restarts PROPERTIES
  TIMEOUT 400
  LABELS slow
  ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")

# The kill test of the verification loop: a scan proves 80 done tasks'
# countermeasures missing; their tickets must be reopened exactly once with
# exactly one comment each while the daemon is SIGKILLed 12 times and the
# trackers answer slowly and fail 8 % of the requests.
add_test(NAME sync/verify-kill
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/verify_kill_test.py
                 --threatsync $<TARGET_FILE:threatsync>
                 --threatsyncd $<TARGET_FILE:threatsyncd>
                 --source-dir ${CMAKE_SOURCE_DIR} --seed 7 --kills 12)
set_tests_properties(sync/verify-kill PROPERTIES
  TIMEOUT 600
  LABELS slow
  ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
