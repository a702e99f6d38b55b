/*
 * SOFTMAX over the last axis, int8 (TFLite Micro reference_ops::Softmax for quantized
 * types: gemmlowp fixed-point exp and reciprocal).
 *
 * inputs: 0 input int8 [..., depth] (rank >= 1)
 * params: input_multiplier, input_left_shift, diff_min (PreprocessSoftmaxScaling with 5
 *         integer bits for beta * input_scale, and minus CalculateInputRadius)
 * output: int8, same shape, zero point -128 (scale 1/256).
 *
 * For each row: diff = x - max(row). Entries with diff < diff_min give the output minimum.
 * The others get exp(diff * beta * scale) in Q0 (diff rescaled to Q5.26 by the multiplier),
 * summed in Q12; the output is exp * (1 / sum) rounded to the output scale.
 */
#include "common.h"
#include "fixedpoint_transcendental.h"

enum { P_INPUT_MULTIPLIER, P_INPUT_LEFT_SHIFT, P_DIFF_MIN, P_COUNT };

#define SCALED_DIFF_INTEGER_BITS 5
#define ACCUMULATION_INTEGER_BITS 12

static int same_shape(const uml_tensor_t *a, const uml_tensor_t *b) {
    if (a->rank != b->rank) {
        return 0;
    }
    for (int i = 0; i < a->rank; i++) {
        if (a->dims[i] != b->dims[i]) {
            return 0;
        }
    }
    return 1;
}

const char *uml_validate_softmax(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: SOFTMAX arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) && in->rank >= 1 &&
                same_shape(in, out) && out->zero_point == -128,
                "corrupt model: SOFTMAX tensors");
    const int32_t *p = n->params;
    /* diff_min <= 0 keeps the row maximum in the sum, so the sum is positive. */
    UML_REQUIRE(p[P_INPUT_MULTIPLIER] >= 0 && p[P_INPUT_LEFT_SHIFT] >= 0 && p[P_INPUT_LEFT_SHIFT] <= 31 &&
                p[P_DIFF_MIN] <= 0, "corrupt model: SOFTMAX parameters");
    return NULL;
}

/* exp(diff * beta * input_scale) in Q0 for diff <= 0. */
static int32_t softmax_exp(int32_t diff, int32_t multiplier, int32_t left_shift) {
    /* MultiplyByQuantizedMultiplierGreaterThanOne: diff in Q5.26 */
    const int32_t scaled_diff = uml_mbqm_greater_than_one(diff, multiplier, left_shift);
    return uml_fx_exp_on_negative_values(scaled_diff, SCALED_DIFF_INTEGER_BITS);
}

void uml_eval_softmax(const uml_node_t *n) {
    const uml_tensor_t *in_t = n->in_t[0];
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const int32_t depth = in_t->dims[in_t->rank - 1];
    const int32_t rows = uml_tensor_elems(in_t) / depth;
    const int32_t multiplier = n->params[P_INPUT_MULTIPLIER];
    const int32_t left_shift = n->params[P_INPUT_LEFT_SHIFT];
    const int32_t diff_min = n->params[P_DIFF_MIN];

    for (int32_t r = 0; r < rows; r++) {
        const int8_t *x = input + r * depth;
        int32_t max = INT8_MIN;
        for (int32_t c = 0; c < depth; c++) {
            max = uml_max_i32(max, x[c]);
        }
        /* Sum of exps in Q12. The reference adds without a check; it cannot overflow for
         * depth < 4096 and we saturate beyond that. The row maximum contributes 1.0, so the
         * sum is at least 2^19. */
        int32_t sum = 0;
        for (int32_t c = 0; c < depth; c++) {
            const int32_t diff = (int32_t)x[c] - max;
            if (diff >= diff_min) {
                /* exp is never negative; the max() only makes that evident */
                const int32_t e = uml_max_i32(0, uml_rdbpot(softmax_exp(diff, multiplier, left_shift),
                                                            ACCUMULATION_INTEGER_BITS));
                sum = sum > INT32_MAX - e ? INT32_MAX : sum + e;
            }
        }
        /* 1 / sum: sum = 2^num_bits_over_unit * (1 + f) with f in [0, 1), so
         * 1 / sum = 2^-num_bits_over_unit / (1 + f). */
        const int headroom_plus_one = uml_fx_clz((uint32_t)sum); /* 1..12 */
        const int num_bits_over_unit = ACCUMULATION_INTEGER_BITS - headroom_plus_one;
        const int32_t shifted_sum_minus_one =
            (int32_t)(((uint32_t)sum << headroom_plus_one) - UINT32_C(0x80000000));
        const int32_t shifted_scale = uml_fx_one_over_one_plus_x(shifted_sum_minus_one);
        /* Output steps of 1/256: shift right by 31 - 8 more. The reference requires
         * exponent <= 31 (it aborts when the sum of exps reaches 512); we clamp instead. */
        const int exponent = uml_min_i32(num_bits_over_unit + 31 - 8, 31);

        for (int32_t c = 0; c < depth; c++) {
            const int32_t diff = (int32_t)x[c] - max;
            int32_t value = INT8_MIN;
            if (diff >= diff_min) {
                const int32_t e = softmax_exp(diff, multiplier, left_shift);
                /* |unsat| <= 2^31 >> 23: adding the zero point cannot overflow */
                const int32_t unsat = uml_rdbpot(uml_srdhm(shifted_scale, e), exponent);
                value = uml_clamp_i32(unsat + INT8_MIN, INT8_MIN, INT8_MAX);
            }
            output[r * depth + c] = (int8_t)value;
        }
    }
}
