/*
 * LOGISTIC, int8 (TFLite Micro reference_integer_ops::Logistic for int8).
 *
 * inputs: 0 input int8 (any shape)
 * params: input_zero_point, input_range_radius, input_multiplier, input_left_shift
 *         (LogisticPrepare: the input scale times 2^27 split by frexp, so that the
 *         multiplier brings x - zero_point to Q4.27; the radius is the largest |x - zp|
 *         still below 16 in that format)
 * output: int8, same number of elements, zero point -128 (scale 1/256 assumed, as the
 *         reference does).
 */
#include "common.h"
#include "fixedpoint_transcendental.h"

enum { P_INPUT_ZERO_POINT, P_INPUT_RANGE_RADIUS, P_INPUT_MULTIPLIER, P_INPUT_LEFT_SHIFT, P_COUNT };

#define INPUT_INTEGER_BITS 4

const char *uml_validate_logistic(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: LOGISTIC arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) &&
                uml_tensor_elems(in) == uml_tensor_elems(out) && out->zero_point == -128,
                "corrupt model: LOGISTIC tensors");
    const int32_t *p = n->params;
    UML_REQUIRE(p[P_INPUT_ZERO_POINT] >= -128 && p[P_INPUT_ZERO_POINT] <= 127 && p[P_INPUT_RANGE_RADIUS] >= 0 &&
                p[P_INPUT_MULTIPLIER] >= 0 && uml_shift_ok(p[P_INPUT_LEFT_SHIFT]),
                "corrupt model: LOGISTIC parameters");
    return NULL;
}

void uml_eval_logistic(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    const int32_t zero_point = n->params[P_INPUT_ZERO_POINT];
    const int32_t radius = n->params[P_INPUT_RANGE_RADIUS];
    const int32_t multiplier = n->params[P_INPUT_MULTIPLIER];
    const int32_t left_shift = n->params[P_INPUT_LEFT_SHIFT];

    for (int32_t i = 0; i < count; i++) {
        const int32_t x = (int32_t)input[i] - zero_point;
        if (x <= -radius) {
            output[i] = INT8_MIN;
        } else if (x >= radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t x_q4 = uml_mbqm(x, multiplier, left_shift);
            const int32_t y_q0 = uml_fx_logistic(x_q4, INPUT_INTEGER_BITS);
            /* Q0 -> 1/256 steps, zero point -128 */
            const int32_t y = uml_rdbpot(y_q0, 31 - 8) - 128;
            output[i] = (int8_t)uml_clamp_i32(y, INT8_MIN, INT8_MAX);
        }
    }
}
