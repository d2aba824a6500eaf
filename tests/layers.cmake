# SPDX-License-Identifier: Apache-2.0
# The dependency direction of the layers (docs/architecture.md), checked on the
# include lines by scripts/check-layers.sh; the self-check proves the script
# finds each kind of fault in tests/data/layers (9 offending lines).
add_test(NAME layers/includes
         COMMAND sh ${CMAKE_SOURCE_DIR}/scripts/check-layers.sh ${CMAKE_SOURCE_DIR})
set_tests_properties(layers/includes PROPERTIES TIMEOUT 60)

add_test(NAME layers/self-check
         COMMAND sh -c "! sh \"$0\" \"$1\" >/dev/null 2>&1 && test \"$(sh \"$0\" \"$1\" 2>/dev/null | grep -c ' <- ')\" -eq 9"
                 ${CMAKE_SOURCE_DIR}/scripts/check-layers.sh ${CMAKE_CURRENT_SOURCE_DIR}/data/layers)
set_tests_properties(layers/self-check PROPERTIES TIMEOUT 60)
