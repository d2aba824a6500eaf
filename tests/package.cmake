# SPDX-License-Identifier: Apache-2.0
# Installation and packaging: the build tree's library fallback, the generated
# manual page and bash completion, the manual pages' syntax, the installed
# layout and the Debian package (tests/package/).
add_test(NAME package/in-tree-library
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/package/in_tree.sh $<TARGET_FILE:threatsync>
                 ${CMAKE_SOURCE_DIR} ${TS_SYSCONFDIR}/threatsync.conf ${TS_DATADIR}/library)
set_tests_properties(package/in-tree-library PROPERTIES
  TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS package)

# The manual page threatsync(1) and the bash completion are generated from the
# command table of cli/main.c (tools/gen-cli-docs.py): the committed files must
# be what the generator writes today.
find_program(TS_PYTHON3 python3)
if(TS_PYTHON3)
  add_test(NAME package/cli-docs-current
           COMMAND ${TS_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/gen-cli-docs.py --check
                   ${CMAKE_SOURCE_DIR})
  set_tests_properties(package/cli-docs-current PROPERTIES TIMEOUT 60 LABELS package)
endif()
# docs/configuration.md and threatsync.conf(5) are generated from the option
# table of engine/config.c (tools/gen-config-docs.py, through `threatsync
# config options --json`): the committed files must be what it writes today,
# and every option must have a description.
if(TS_PYTHON3)
  add_test(NAME package/config-docs-current
           COMMAND ${TS_PYTHON3} ${CMAKE_SOURCE_DIR}/tools/gen-config-docs.py --check
                   $<TARGET_FILE:threatsync> ${CMAKE_SOURCE_DIR})
  set_tests_properties(package/config-docs-current PROPERTIES TIMEOUT 60 LABELS package)
endif()
add_test(NAME package/completion
         COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/package/completion.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(package/completion PROPERTIES TIMEOUT 60 LABELS package)

# The manual pages are valid man(7) for groff, with every warning enabled.
add_test(NAME package/man-lint
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/package/man_lint.sh
                 ${CMAKE_SOURCE_DIR}/man/threatsync.1 ${CMAKE_SOURCE_DIR}/man/threatsyncd.8
                 ${CMAKE_SOURCE_DIR}/man/threatsync.conf.5)
set_tests_properties(package/man-lint PROPERTIES TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS package)

# The Debian package: built from this checkout with scripts/package.sh (tests
# off, about a minute on two cores) and checked file by file, then by lintian.
# Skipped where the Debian packaging tools are missing, and in the sanitizer
# build, whose instrumentation the package does not use.
if(NOT TS_SANITIZE)
  add_test(NAME package/deb
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/package/deb.sh ${CMAKE_SOURCE_DIR}
                   ${CMAKE_BINARY_DIR}/package-test ${PROJECT_VERSION})
  set_tests_properties(package/deb PROPERTIES
    TIMEOUT 400 SKIP_RETURN_CODE 77 LABELS package RUN_SERIAL ON)
endif()
