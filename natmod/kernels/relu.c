/*
 * RELU, RELU6 and RELU_N1_TO_1, int8: requantize from the input to the output scale and
 * clamp (TFLite Micro ReluQuantized; also TFLite's QuantizedReluX).
 *
 * inputs: 0 input int8 (any shape)
 * params: input_offset (-input zero point), output_multiplier, output_shift,
 *         output_offset (output zero point), act_min, act_max
 * output: int8, same number of elements:
 *         clamp(output_offset + MultiplyByQuantizedMultiplier(x + input_offset), act_min, act_max)
 *
 * TFLite Micro's RELU6 does not requantize (it clamps x to the quantized [0, 6] of the
 * input); the converter expresses that with an identity multiplier (2^30, shift 1) and
 * zero offsets, which this kernel evaluates exactly.
 */
#include "common.h"

enum { P_INPUT_OFFSET, P_OUTPUT_MULTIPLIER, P_OUTPUT_SHIFT, P_OUTPUT_OFFSET, P_ACT_MIN, P_ACT_MAX, P_COUNT };

const char *uml_validate_relu(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: RELU arguments");
    UML_REQUIRE(uml_int8_same_size(n->in_t[0], n->out_t), "corrupt model: RELU tensors");
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[P_INPUT_OFFSET]) && uml_offset_ok(p[P_OUTPUT_OFFSET]) &&
                p[P_OUTPUT_MULTIPLIER] >= 0 && uml_shift_ok(p[P_OUTPUT_SHIFT]) &&
                uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], INT8_MIN, INT8_MAX),
                "corrupt model: RELU parameters");
    return NULL;
}

void uml_eval_relu(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    const int32_t in_off = n->params[P_INPUT_OFFSET];
    const int32_t mult = n->params[P_OUTPUT_MULTIPLIER];
    const int32_t shift = n->params[P_OUTPUT_SHIFT];
    const int32_t out_off = n->params[P_OUTPUT_OFFSET];
    const int32_t act_min = n->params[P_ACT_MIN], act_max = n->params[P_ACT_MAX];

    for (int32_t i = 0; i < count; i++) {
        /* the offset is added with wrap-around, as two's-complement hardware does */
        const int32_t v = uml_add_wrap(uml_mbqm((int32_t)input[i] + in_off, mult, shift), out_off);
        output[i] = (int8_t)uml_clamp_i32(v, act_min, act_max);
    }
}
