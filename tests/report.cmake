# SPDX-License-Identifier: Apache-2.0
# report/schema: the golden WidgetsRUs report (tests/data/report/widgetsrus.json,
# which unit/report/test_golden_widgetsrus compares with the output) conforms
# to schema/report.schema.json.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

add_test(NAME report/schema
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/report_schema.py
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(report/schema PROPERTIES TIMEOUT 120
                     ENVIRONMENT "PYTHONDONTWRITEBYTECODE=1")
