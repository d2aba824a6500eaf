# SPDX-License-Identifier: Apache-2.0
# Storage faults (label "storage", tests/storage/storage_faults.py): a database
# locked by another process, a file size limit (disk full), an immutable
# database (read-only; root only, skipped otherwise), the WAL deleted while
# stopped, and a second daemon on the same database. The lock lasts 10 s here;
# `storage_faults.py --fault locked --hold 30` is the longer run.
find_package(Python3 COMPONENTS Interpreter REQUIRED)

foreach(fault locked disk-full read-only wal-deleted second)
  add_test(NAME storage/${fault}
           COMMAND Python3::Interpreter ${CMAKE_CURRENT_SOURCE_DIR}/storage/storage_faults.py
                   --threatsync $<TARGET_FILE:threatsync>
                   --threatsyncd $<TARGET_FILE:threatsyncd>
                   --source-dir ${CMAKE_SOURCE_DIR} --fault ${fault} --hold 10)
  set_tests_properties(storage/${fault} PROPERTIES
    TIMEOUT 180
    SKIP_RETURN_CODE 77
    LABELS storage
    ENVIRONMENT "${TS_TEST_ENV};PYTHONDONTWRITEBYTECODE=1")
endforeach()
