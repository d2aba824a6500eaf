# SPDX-License-Identifier: Apache-2.0
# Offline checks of the shipped systemd unit (skipped where systemd-analyze
# cannot run them): its sandboxing score and its syntax.
# The unit as configured for this build's install prefix.
set(TS_UNIT ${CMAKE_BINARY_DIR}/threatsyncd.service)

add_test(NAME systemd/security-exposure
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/systemd_security.sh security ${TS_UNIT} 1.5)
set_tests_properties(systemd/security-exposure PROPERTIES
  TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS "systemd;security")

add_test(NAME systemd/verify
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/systemd_security.sh verify ${TS_UNIT}
                 $<TARGET_FILE:threatsyncd>)
set_tests_properties(systemd/verify PROPERTIES
  TIMEOUT 60 SKIP_RETURN_CODE 77 LABELS systemd)
