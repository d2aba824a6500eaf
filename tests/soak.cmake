# SPDX-License-Identifier: Apache-2.0
# The soak test (label "soak", tests/soak/soak_test.py): the daemon against
# the Jira Cloud, Jira Data Center and GitLab emulators with every fault on,
# re-imports, people, webhooks, reloads, SIGKILLs and scan uploads, 180 s
# here; `soak_test.py --seconds 600` is the longer run. It runs alone: it
# measures the daemon's memory and waits on timers.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME soak/soak
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/soak/soak_test.py
                 --threatsync $<TARGET_FILE:threatsync>
                 --threatsyncd $<TARGET_FILE:threatsyncd>
                 --source-dir ${CMAKE_SOURCE_DIR} --seconds 180 --seed 11)
set_tests_properties(soak/soak PROPERTIES
  TIMEOUT 420
  RUN_SERIAL TRUE
  LABELS soak
  ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
