# SPDX-License-Identifier: Apache-2.0
# generate/incremental-*: a regeneration after a random model change (one per
# round) equals a full one, on WidgetsRUs and on a synthetic model.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

foreach(which widgetsrus synthetic)
  add_test(NAME generate/incremental-${which}
           COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/incremental_generate_test.py
                   $<TARGET_FILE:threatsync> ${CMAKE_SOURCE_DIR} ${which} 30)
  set_tests_properties(generate/incremental-${which} PROPERTIES TIMEOUT 600 LABELS generate
                       ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
endforeach()
