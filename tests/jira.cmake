# SPDX-License-Identifier: Apache-2.0
# The Jira connector's requests checked against Atlassian's Jira Cloud OpenAPI
# document (the extract in tests/data/contract/openapi).
find_package(Python3 COMPONENTS Interpreter)
if(Python3_Interpreter_FOUND AND TARGET test_jira)
  add_test(NAME jira/openapi-requests
           COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/jira_openapi.py
                   $<TARGET_FILE:test_jira>)
  set_tests_properties(jira/openapi-requests PROPERTIES TIMEOUT 180
                       ENVIRONMENT "${TS_TEST_ENV}")
endif()
