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

# The report renderers: the cmocka programs of the HTML report and the
# diagram link tsreport; the browser test opens a rendered page in headless
# Chromium (label "browser").
foreach(prog test_report_html test_diagram)
  if(TARGET ${prog})
    target_link_libraries(${prog} PRIVATE tsreport)
  endif()
endforeach()

# browser/report_html: the page rendered from the fixture
# tests/data/report/widgetsrus.report.json (every section filled) by this
# program; browser/report_html_cli: the page `threatsync report --format html`
# writes for the WidgetsRUs example.
add_executable(report_render_html ${CMAKE_CURRENT_SOURCE_DIR}/report/render_html.c)
target_link_libraries(report_render_html PRIVATE tsreport)
target_include_directories(report_render_html PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})

add_test(NAME browser/report_html
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/report_browser.py
                 --render $<TARGET_FILE:report_render_html>
                 --doc ${CMAKE_CURRENT_SOURCE_DIR}/data/report/widgetsrus.report.json
                 --out-dir ${CMAKE_BINARY_DIR}/browser-artefacts)
# 77: Chromium is not installed (scripts/setup.sh --tests installs it)
set_tests_properties(browser/report_html PROPERTIES TIMEOUT 120 LABELS browser
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${TS_TEST_ENV}")
# The same checks on the page the CLI writes for the WidgetsRUs example.
add_test(NAME browser/report_html_cli
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/report_browser.py
                 --cli $<TARGET_FILE:threatsync>
                 --out-dir ${CMAKE_BINARY_DIR}/browser-artefacts/cli)
set_tests_properties(browser/report_html_cli PROPERTIES TIMEOUT 180 LABELS browser
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${TS_TEST_ENV}")
if(TS_SANITIZE)
  # Graphviz's own losses inside its layouts are let through, found by full
  # stacks (Graphviz has no frame pointers); everything else still fails
  set_property(TEST browser/report_html_cli APPEND PROPERTY ENVIRONMENT
    "ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:fast_unwind_on_malloc=0"
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/sanitizers/graphviz.lsan")
endif()
add_test(NAME browser/console_check_fails
         COMMAND ${Python3_EXECUTABLE} ${CMAKE_CURRENT_SOURCE_DIR}/browser/report_browser.py
                 --self-check --out-dir ${CMAKE_BINARY_DIR}/browser-artefacts)
set_tests_properties(browser/console_check_fails PROPERTIES TIMEOUT 120 LABELS browser
                     SKIP_RETURN_CODE 77 ENVIRONMENT "${TS_TEST_ENV}")

# Graphviz's own losses inside gvLayout (tests/valgrind/graphviz.supp) are
# not ours; everything else in these programs must be valgrind clean.
foreach(prog diagram report_html)
  if(TARGET test_${prog} AND VALGRIND AND NOT TS_SANITIZE)
    ts_cmocka_cases(${CMAKE_CURRENT_SOURCE_DIR}/unit/test_${prog}.c cases)
    foreach(case IN LISTS cases)
      set_property(TEST valgrind/${prog}/${case} APPEND PROPERTY ENVIRONMENT
        "VALGRIND_OPTS=--num-callers=50 --suppressions=${CMAKE_CURRENT_SOURCE_DIR}/valgrind/graphviz.supp")
    endforeach()
  endif()
endforeach()
