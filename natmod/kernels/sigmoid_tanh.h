/*
 * Shared by LOGISTIC (logistic.c) and TANH (tanh.c): the same parameters, validation and
 * saturating loop (TFLite Micro reference_integer_ops::Logistic / Tanh for int8); they
 * differ only in the fixed-point function and the output scale.
 *
 * params: input_zero_point, input_range_radius, input_multiplier, input_left_shift
 *         (LogisticPrepare / TanhPrepare: the input scale times 2^27 split by frexp, so
 *         that the multiplier brings x - zero_point to Q4.27; the radius is the largest
 *         |x - zp| still below 16 in that format)
 */
#ifndef UML_KERNEL_SIGMOID_TANH_H
#define UML_KERNEL_SIGMOID_TANH_H

#include "common.h"
#include "fixedpoint_transcendental.h"

enum {
    UML_ST_INPUT_ZERO_POINT, UML_ST_INPUT_RANGE_RADIUS, UML_ST_INPUT_MULTIPLIER, UML_ST_INPUT_LEFT_SHIFT,
    UML_ST_COUNT
};

/* Integer bits of the fixed-point input (Q4.27). */
#define UML_ST_INPUT_INTEGER_BITS 4

static inline int uml_sigmoid_tanh_params_ok(const int32_t *p) {
    return p[UML_ST_INPUT_ZERO_POINT] >= -128 && p[UML_ST_INPUT_ZERO_POINT] <= 127 &&
           p[UML_ST_INPUT_RANGE_RADIUS] >= 0 && p[UML_ST_INPUT_MULTIPLIER] >= 0 &&
           uml_shift_ok(p[UML_ST_INPUT_LEFT_SHIFT]);
}

/* The output, before saturation to int8, of an input x_q4 (Q4.27) inside the radius. */
typedef int32_t (*uml_st_fn)(int32_t x_q4);

/* out[i]: INT8_MIN / INT8_MAX where |x - zp| reaches the radius, otherwise fn of the input
 * in Q4.27 saturated to int8. Inlined with a constant fn, so fn is inlined too
 * (UML_INLINE_LOOP). */
UML_INLINE_LOOP void uml_sigmoid_tanh(const uml_node_t *n, uml_st_fn fn) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    const int32_t zero_point = n->params[UML_ST_INPUT_ZERO_POINT];
    const int32_t radius = n->params[UML_ST_INPUT_RANGE_RADIUS];
    const int32_t multiplier = n->params[UML_ST_INPUT_MULTIPLIER];
    const int32_t left_shift = n->params[UML_ST_INPUT_LEFT_SHIFT];

    for (int32_t i = 0; i < count; i++) {
        const int32_t x = (int32_t)input[i] - zero_point;
        if (x <= -radius) {
            output[i] = INT8_MIN;
        } else if (x >= radius) {
            output[i] = INT8_MAX;
        } else {
            const int32_t x_q4 = uml_mbqm(x, multiplier, left_shift);
            output[i] = (int8_t)uml_clamp_i32(fn(x_q4), INT8_MIN, INT8_MAX);
        }
    }
}

#endif
