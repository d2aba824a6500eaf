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

# libcurl is loaded by the first HTTP client (connectors/curl_dl.c): neither
# binary names it among the libraries loaded at start.
foreach(prog threatsync threatsyncd)
  add_test(NAME layers/${prog}-loads-libcurl-on-use
           COMMAND sh -c "readelf -d \"$0\" | grep -q NEEDED && ! readelf -d \"$0\" | grep NEEDED | grep -q libcurl"
                   $<TARGET_FILE:${prog}>)
  set_tests_properties(layers/${prog}-loads-libcurl-on-use PROPERTIES TIMEOUT 60)
endforeach()
