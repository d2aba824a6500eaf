# SPDX-License-Identifier: Apache-2.0
# The expression tests prove that evaluation allocates nothing: the engine code linked
# into test_expr calls malloc/calloc/realloc through counting wrappers (test_expr.c).
target_link_options(test_expr PRIVATE
  "LINKER:--wrap=malloc,--wrap=calloc,--wrap=realloc")
