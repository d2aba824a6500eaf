# SPDX-License-Identifier: Apache-2.0
# Content gates of the shipped threat library and its WidgetsRUs example.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

# library/lint-gate: `threatsync library lint --json` on library/ must report no
# error (no dangling reference), completeness ratios at 100 % and at least the
# minimum sizes in library_gate.py. Control ids are checked against the catalogs
# in tests/data/catalogs (PROVENANCE.md there).
add_test(NAME library/lint-gate
         COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/library_gate.py
                 $<TARGET_FILE:threatsync> ${CMAKE_SOURCE_DIR}/library
                 ${CMAKE_CURRENT_SOURCE_DIR}/data/catalogs)
set_tests_properties(library/lint-gate PROPERTIES TIMEOUT 120 ENVIRONMENT "${TS_TEST_ENV}")

# examples/widgetsrus-backlog: examples/widgetsrus/backlog.md is what
# scripts/widgetsrus-backlog.sh generates from the example model, the library
# and etc/threatsync.conf today (the script says how to refresh it).
add_test(NAME examples/widgetsrus-backlog
         COMMAND ${CMAKE_SOURCE_DIR}/scripts/widgetsrus-backlog.sh $<TARGET_FILE:threatsync>
                 --check ${CMAKE_SOURCE_DIR}/examples/widgetsrus/backlog.md)
set_tests_properties(examples/widgetsrus-backlog PROPERTIES TIMEOUT 120
                     ENVIRONMENT "${TS_TEST_ENV}")

# library/widgetsrus-priorities: WidgetsRUs's open in-scope tasks per priority
# and component (scripts/library-stats.py with the shipped configuration and
# library) are tests/data/library/widgetsrus-tasks.txt, so that a change of
# severities, likelihoods, conditions or priorities shows in review.
add_test(NAME library/widgetsrus-priorities
         COMMAND Python3::Interpreter ${CMAKE_SOURCE_DIR}/scripts/library-stats.py
                 $<TARGET_FILE:threatsync> --per-component widgetsrus
                 --check ${CMAKE_CURRENT_SOURCE_DIR}/data/library/widgetsrus-tasks.txt)
set_tests_properties(library/widgetsrus-priorities PROPERTIES TIMEOUT 120
                     ENVIRONMENT "${TS_TEST_ENV}")

# library/vocabulary-docs-current: the vocabulary tables of docs/library.md and
# the described properties of schema/model.schema.json are what
# tools/gen-vocabulary-docs.py writes from library/component_types.json.
add_test(NAME library/vocabulary-docs-current
         COMMAND Python3::Interpreter ${CMAKE_SOURCE_DIR}/tools/gen-vocabulary-docs.py --check
                 ${CMAKE_SOURCE_DIR})
set_tests_properties(library/vocabulary-docs-current PROPERTIES TIMEOUT 60)
