/*
 * MUL, int8 with broadcasting (TFLite Micro reference_integer_ops::Mul / MulElementwise and
 * BroadcastMul6DSlow; both compute the same per-element function, only the indexing differs).
 *
 *   y = clamp(mbqm((x1 + in1_offset) * (x2 + in2_offset), out_mult, out_shift) + out_offset,
 *             act_min, act_max)
 *
 * inputs: 0 input1 int8 (arena or const), 1 input2 int8 (arena or const)
 *         shapes broadcast against the output shape, numpy style (right-aligned, each
 *         dimension equal to the output's or 1)
 * params: in1_offset, in2_offset, out_offset, out_mult, out_shift, act_min, act_max
 * output: int8
 *
 * Overflow: the product of two values of magnitude <= 256 fits easily; uml_mbqm shifts left
 * with wrap-around (as the reference does on two's-complement hardware) and the output
 * offset is added with wrap-around too, so no shift in [-31, 30] is undefined.
 */
#include "broadcast.h"

enum { P_IN1_OFFSET, P_IN2_OFFSET, P_OUT_OFFSET, P_OUT_MULT, P_OUT_SHIFT, P_ACT_MIN, P_ACT_MAX, P_COUNT };

const char *uml_validate_mul(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 2 && n->n_params == P_COUNT, "corrupt model: MUL arguments");
    const uml_tensor_t *a = n->in_t[0], *b = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_is(a, UML_DTYPE_INT8) && uml_is(b, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8),
                "corrupt model: MUL tensor types");
    UML_REQUIRE(uml_bcast_ok(a, b, out), "corrupt model: MUL shapes do not broadcast");
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[P_IN1_OFFSET]) && uml_offset_ok(p[P_IN2_OFFSET]) &&
                uml_offset_ok(p[P_OUT_OFFSET]) && p[P_OUT_MULT] >= 0 && uml_shift_ok(p[P_OUT_SHIFT]) &&
                uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], -128, 127),
                "corrupt model: MUL parameters");
    return NULL;
}

static int8_t mul_one(int32_t x1, int32_t x2, const int32_t *p) {
    const int32_t prod = (x1 + p[P_IN1_OFFSET]) * (x2 + p[P_IN2_OFFSET]);
    const int32_t y = uml_add_wrap(uml_mbqm(prod, p[P_OUT_MULT], p[P_OUT_SHIFT]), p[P_OUT_OFFSET]);
    return (int8_t)uml_clamp_i32(y, p[P_ACT_MIN], p[P_ACT_MAX]);
}

void uml_eval_mul(const uml_node_t *n) {
    uml_broadcast_binary(n, mul_one);
}
