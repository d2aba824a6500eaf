# SPDX-License-Identifier: Apache-2.0
# schema/conformance: every `--json` output of the CLI (model import/diff,
# generate, threats, countermeasures, classify, check, compliance, override,
# release, report, report --portfolio, sync --once against
# the Jira emulator, status, project list, library lint) validated against its
# JSON Schema in schema/ by a standard-library validator that first proves it
# rejects wrong documents.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME schema/conformance
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/schema_conformance.py
                 $<TARGET_FILE:threatsync> ${CMAKE_SOURCE_DIR})
set_tests_properties(schema/conformance PROPERTIES TIMEOUT 300
                     ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
