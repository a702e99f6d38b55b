/*
 * MEAN, int8 (TFLite Micro reduce: reference_ops::QuantizedMeanOrSum, compute_sum false).
 *
 * inputs: 0 input int8, rank <= 4
 * params: axis_mask   bit k set: dimension k is reduced (only bits below the input rank)
 *         input_zp    input zero point
 *         output_zp   output zero point
 *         multiplier  the host folds 1/count into TFLite's input_scale / output_scale
 *         shift       multiplier, exactly as QuantizedMeanOrSum adjusts them
 * output: int8 holding the non-reduced dimensions in input order (keep_dims or not).
 *
 * For each output: sum (int32, wrapping) of the reduced input cells, minus
 * input_zp * count, requantized with MultiplyByQuantizedMultiplier, plus output_zp,
 * saturated to int8. No fused activation.
 */
#include "common.h"

enum { P_AXIS_MASK, P_INPUT_ZP, P_OUTPUT_ZP, P_MULTIPLIER, P_SHIFT, P_COUNT };

const char *uml_validate_mean(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: MEAN arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8), "corrupt model: MEAN tensor types");
    const int32_t *p = n->params;
    const int32_t mask = p[P_AXIS_MASK];
    UML_REQUIRE(mask >= 0 && (mask >> in->rank) == 0, "corrupt model: MEAN axes");
    int32_t kept = 1;
    for (int k = 0; k < in->rank; k++) {
        if (!(mask & (1 << k))) {
            kept *= in->dims[k];
        }
    }
    UML_REQUIRE(uml_tensor_elems(out) == kept, "corrupt model: MEAN output shape");
    UML_REQUIRE(p[P_INPUT_ZP] >= -128 && p[P_INPUT_ZP] <= 127 && p[P_OUTPUT_ZP] >= -128 &&
                p[P_OUTPUT_ZP] <= 127 && p[P_MULTIPLIER] >= 0 && uml_shift_ok(p[P_SHIFT]),
                "corrupt model: MEAN parameters");
    return NULL;
}

void uml_eval_mean(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0];
    const int32_t *p = n->params;
    const int32_t mask = p[P_AXIS_MASK];
    const int32_t mult = p[P_MULTIPLIER], shift = p[P_SHIFT], out_zp = p[P_OUTPUT_ZP];

    /* Split the (up to 4) dimensions into an outer box over the kept dimensions and an
     * inner box over the reduced ones; dims[rank..] are 1. */
    int32_t stride[UML_MAX_RANK], outer[UML_MAX_RANK], inner[UML_MAX_RANK];
    int32_t s = 1;
    uint32_t count = 1;
    for (int k = UML_MAX_RANK - 1; k >= 0; k--) {
        const int32_t d = in_t->dims[k];
        const int reduced = (mask >> k) & 1;
        stride[k] = s;
        s *= d;
        outer[k] = reduced ? 1 : d;
        inner[k] = reduced ? d : 1;
        count *= (uint32_t)inner[k];
    }
    /* TFLite subtracts input_zp * count in 64 bits and truncates to int32: same as
     * wrapping 32-bit arithmetic. */
    const uint32_t zp_total = (uint32_t)p[P_INPUT_ZP] * count;

    for (int32_t o0 = 0; o0 < outer[0]; o0++) {
        for (int32_t o1 = 0; o1 < outer[1]; o1++) {
            for (int32_t o2 = 0; o2 < outer[2]; o2++) {
                for (int32_t o3 = 0; o3 < outer[3]; o3++) {
                    const int8_t *base = input + o0 * stride[0] + o1 * stride[1] + o2 * stride[2] + o3 * stride[3];
                    uint32_t sum = 0; /* wraps like TFLite's int32 accumulator */
                    for (int32_t i0 = 0; i0 < inner[0]; i0++) {
                        for (int32_t i1 = 0; i1 < inner[1]; i1++) {
                            for (int32_t i2 = 0; i2 < inner[2]; i2++) {
                                const int8_t *row = base + i0 * stride[0] + i1 * stride[1] + i2 * stride[2];
                                for (int32_t i3 = 0; i3 < inner[3]; i3++) {
                                    sum += (uint32_t)(int32_t)row[i3 * stride[3]];
                                }
                            }
                        }
                    }
                    const int32_t centered = (int32_t)(sum - zp_total);
                    const int32_t v = uml_add_wrap(uml_mbqm(centered, mult, shift), out_zp);
                    *output++ = (int8_t)uml_clamp_i32(v, -128, 127);
                }
            }
        }
    }
}
