/*
 * AVERAGE_POOL_2D, int8 (TFLite Micro reference_integer_ops::AveragePool).
 *
 * inputs, params, output: see pool_2d.h (padded cells are not counted)
 *
 * Each output is the average of the input cells its window covers, rounded half away
 * from zero, then clamped to [act_min, act_max]. No requantization: TFLite requires
 * the input and output quantization to be equal.
 */
#include "pool_2d.h"

const char *uml_validate_average_pool_2d(const uml_node_t *n) {
    return uml_validate_pool_2d(n, "corrupt model: AVERAGE_POOL_2D arguments",
                                "corrupt model: AVERAGE_POOL_2D tensor types", "corrupt model: AVERAGE_POOL_2D shapes",
                                "corrupt model: AVERAGE_POOL_2D parameters");
}

static int32_t average(const int8_t *in_c, int32_t y0, int32_t y1, int32_t x0, int32_t x1, int32_t row_step,
                       int32_t depth) {
    int32_t acc = 0;
    for (int32_t y = y0; y < y1; y++) {
        const int8_t *row = in_c + y * row_step;
        for (int32_t x = x0; x < x1; x++) {
            acc += row[x * depth];
        }
    }
    const int32_t count = (y1 - y0) * (x1 - x0); /* >= 1 by validation */
    /* Round half away from zero (C division truncates toward zero). */
    return acc > 0 ? (acc + count / 2) / count : (acc - count / 2) / count;
}

void uml_eval_average_pool_2d(const uml_node_t *n) {
    uml_pool_2d(n, average);
}
