/*
 * HARD_SWISH, int8 (TFLite Micro reference_ops::HardSwish for int8:
 * x * relu6(x + 3) / 6 with 16-bit fixed-point intermediates).
 *
 * inputs: 0 input int8 (any shape)
 * params: input_zero_point, output_zero_point,
 *         reluish_multiplier (int16 fixed point), reluish_exponent,
 *         output_multiplier (int16 fixed point), output_exponent (<= 0)
 *         (HardSwishPrepare: "hires" input scale = input_scale / 128; reluish multiplier =
 *         hires / (3 / 32768), output multiplier = hires / output_scale, each from
 *         QuantizeMultiplier rounded to 16 bits)
 * output: int8, same number of elements.
 */
#include "common.h"

enum {
    P_INPUT_ZERO_POINT,
    P_OUTPUT_ZERO_POINT,
    P_RELUISH_MULTIPLIER,
    P_RELUISH_EXPONENT,
    P_OUTPUT_MULTIPLIER,
    P_OUTPUT_EXPONENT,
    P_COUNT
};

/* v modulo 2^16 as an int16 (the reference's int16 arithmetic wraps). */
static int16_t wrap16(int32_t v) {
    const int32_t low = (int32_t)((uint32_t)v & 0xFFFFu);
    return (int16_t)(low >= 32768 ? low - 65536 : low);
}

/* round(a * b / 2^15), saturating the single overflow case (-2^15)^2. */
static int16_t srdhm16(int16_t a, int16_t b) {
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    const int32_t ab = (int32_t)a * (int32_t)b;
    const int32_t nudge = ab >= 0 ? (1 << 14) : 1 - (1 << 14);
    return (int16_t)((ab + nudge) / (1 << 15));
}

/* a * b / 2^15 truncated toward zero, saturating (-2^15)^2. */
static int16_t sdhm16(int16_t a, int16_t b) {
    if (a == INT16_MIN && b == INT16_MIN) {
        return INT16_MAX;
    }
    return (int16_t)(((int32_t)a * (int32_t)b) / (1 << 15));
}

/* value * 2^amount (amount >= 0) saturated to int16. Beyond 16 every nonzero value
 * saturates, so the amount is capped there to stay within int32. */
static int16_t sat_shl16(int16_t value, int amount) {
    const int32_t v = (int32_t)value * (INT32_C(1) << (amount < 16 ? amount : 16));
    return (int16_t)uml_clamp_i32(v, INT16_MIN, INT16_MAX);
}

/* gemmlowp RoundingDivideByPOT on int16, exponent in [0, 31]. For exponents of 16 and more
 * the int16 mask is all ones, so the result is 1 for x >= 0 and -1 for x < 0: reproduced. */
static int16_t rdbpot16(int16_t x, int exponent) {
    const int32_t mask = exponent >= 16 ? -1 : (1 << exponent) - 1;
    const int32_t remainder = (int32_t)x & mask;
    const int32_t threshold = (exponent >= 16 ? -1 : (mask >> 1)) + (x < 0 ? 1 : 0);
    return (int16_t)(((int32_t)x >> exponent) + (remainder > threshold ? 1 : 0));
}

const char *uml_validate_hard_swish(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: HARD_SWISH arguments");
    UML_REQUIRE(uml_int8_same_size(n->in_t[0], n->out_t), "corrupt model: HARD_SWISH tensors");
    const int32_t *p = n->params;
    UML_REQUIRE(p[P_INPUT_ZERO_POINT] >= -128 && p[P_INPUT_ZERO_POINT] <= 127 &&
                p[P_OUTPUT_ZERO_POINT] >= -128 && p[P_OUTPUT_ZERO_POINT] <= 127 &&
                p[P_RELUISH_MULTIPLIER] >= 0 && p[P_RELUISH_MULTIPLIER] <= INT16_MAX &&
                p[P_OUTPUT_MULTIPLIER] >= 0 && p[P_OUTPUT_MULTIPLIER] <= INT16_MAX &&
                p[P_RELUISH_EXPONENT] >= -31 && p[P_RELUISH_EXPONENT] <= 31 &&
                p[P_OUTPUT_EXPONENT] >= -31 && p[P_OUTPUT_EXPONENT] <= 0,
                "corrupt model: HARD_SWISH parameters");
    return NULL;
}

void uml_eval_hard_swish(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    const int32_t in_zp = n->params[P_INPUT_ZERO_POINT];
    const int32_t out_zp = n->params[P_OUTPUT_ZERO_POINT];
    const int16_t reluish_mult = (int16_t)n->params[P_RELUISH_MULTIPLIER];
    const int reluish_exp = (int)n->params[P_RELUISH_EXPONENT];
    const int16_t out_mult = (int16_t)n->params[P_OUTPUT_MULTIPLIER];
    const int out_exp = (int)n->params[P_OUTPUT_EXPONENT];

    for (int32_t i = 0; i < count; i++) {
        /* x - zp in [-255, 255], times 2^7 still fits int16 */
        const int16_t hires = (int16_t)(((int32_t)input[i] - in_zp) * 128);
        /* x on the output scale, not yet shifted: used as x in x * relu6(x + 3) / 6 */
        const int16_t preshift_x = srdhm16(hires, out_mult);
        /* "reluish" value: x rescaled so that 3.0 maps to 2^15, saturating, i.e.
         * clamp(x / 3, -1, 1) in Q0.15 */
        int16_t reluish = hires;
        if (reluish_exp > 0) {
            reluish = sat_shl16(reluish, reluish_exp - 1);
        }
        reluish = srdhm16(reluish, reluish_mult);
        if (reluish_exp > 0) {
            reluish = sat_shl16(reluish, 1);
        }
        if (reluish_exp < 0) {
            reluish = rdbpot16(reluish, -reluish_exp);
        }
        /* [-1, 1] -> [0, 1]: relu6(x + 3) / 6 */
        reluish = (int16_t)(((int32_t)reluish + 32768) >> 1);
        const int16_t preshift_out = sdhm16(reluish, preshift_x);
        const int32_t y = wrap16((int32_t)rdbpot16(preshift_out, -out_exp) + out_zp);
        output[i] = (int8_t)uml_clamp_i32(y, INT8_MIN, INT8_MAX);
    }
}
