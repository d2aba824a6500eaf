# SPDX-License-Identifier: Apache-2.0
# The tracker emulators' own tests (python3, standard library only): one ctest per
# test class, each starting its emulators as subprocesses on 127.0.0.1 port 0.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

set(TS_EMULATOR_TESTS
  "jira-cloud=JiraCloudTests"
  "jira-dc=JiraDataCenterTests"
  "gitlab=GitLabTests"
  "faults-webhooks=FaultAndWebhookTests"
  "contract=ContractTests"
  "tls-proxy=TlsAndProxyTests")

foreach(pair IN LISTS TS_EMULATOR_TESTS)
  string(REPLACE "=" ";" parts "${pair}")
  list(GET parts 0 short)
  list(GET parts 1 class)
  add_test(NAME emulators/${short}
           COMMAND Python3::Interpreter
                   ${CMAKE_CURRENT_SOURCE_DIR}/emulators/test_emulators.py ${class})
  # 77: every case of the class skipped
  set_tests_properties(emulators/${short} PROPERTIES
    TIMEOUT 120
    SKIP_RETURN_CODE 77
    ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
endforeach()
