/* A minimal CHECK for the C API tests: counts, reports with the API's last error,
 * and ends with the plain "N passed, M failed" line. */
#ifndef GMG_TESTS_CHECK_H
#define GMG_TESTS_CHECK_H

#include <stdio.h>

#include "gemmagguf/gemmagguf.h"

static int failures = 0, checks = 0;

#define CHECK(cond)                                                                                  \
    do {                                                                                             \
        ++checks;                                                                                    \
        if (!(cond)) {                                                                               \
            ++failures;                                                                              \
            fprintf(stderr, "%s:%d: CHECK(%s) failed; last error: %s\n", __FILE__, __LINE__, #cond, \
                    gmg_last_error());                                                               \
        }                                                                                            \
    } while (0)

static int report_checks(void) {
    printf("%d passed, %d failed\n", checks - failures, failures);
    return failures ? 1 : 0;
}

#endif
