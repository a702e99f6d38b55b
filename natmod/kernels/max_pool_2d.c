/*
 * MAX_POOL_2D, int8 (TFLite Micro reference_integer_ops::MaxPool).
 *
 * inputs, params, output: see pool_2d.h (padded cells never win)
 *
 * Each output is the largest input cell its window covers, clamped to [act_min, act_max].
 */
#include "pool_2d.h"

const char *uml_validate_max_pool_2d(const uml_node_t *n) {
    return uml_validate_pool_2d(n, "corrupt model: MAX_POOL_2D arguments", "corrupt model: MAX_POOL_2D tensor types",
                                "corrupt model: MAX_POOL_2D shapes", "corrupt model: MAX_POOL_2D parameters");
}

static int32_t maximum(const int8_t *in_c, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int32_t row_step,
                       int32_t depth) {
    int32_t m = -128;
    for (int32_t y = y0; y < y1; y++) {
        const int8_t *row = in_c + y * row_step;
        for (int32_t x = x0; x < x1; x++) {
            m = uml_max_i32(m, row[x * depth]);
        }
    }
    return m;
}

void uml_eval_max_pool_2d(const uml_node_t *n) {
    uml_pool_2d(n, maximum);
}
