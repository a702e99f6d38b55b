/*
 * QUANTIZE (TFLite Micro quantize_common.cc), two forms selected by the input dtype:
 *
 * float32 -> int8 (reference_ops::AffineQuantize: y = clamp(round(x / scale) + zero_point)),
 * done without floating-point arithmetic. y is a non-decreasing function of x, so the host
 * precomputes, for each k in -127..127, the smallest float32 x with y(x) >= k, and the
 * device counts how many of these 255 thresholds a value reaches:
 *     y = -128 + #{ k : thresholds[k] <= key(x) }
 * where key() maps float32 bits to an int32 that orders like the float values (positive
 * floats: the bits; negative floats: minus the magnitude bits; so -0.0 and +0.0 both map
 * to 0). The thresholds are stored as such keys.
 *   inputs: 0 input float32, 1 thresholds int32 const [255] (non-decreasing keys)
 *   params: none
 * Values outside the range where the reference is defined (|x / scale| >= 2^31, +-inf)
 * saturate to -128 / 127; NaN quantizes like 0.0 (to the zero point), as Arm's VCVT would.
 *
 * int8 -> int8 (reference_ops::Requantize):
 *     y = clamp(mbqm(x - in_zero_point, mult, shift) + out_zero_point, -128, 127)
 *   inputs: 0 input int8
 *   params: in_zero_point, out_zero_point, mult, shift
 *
 * output: int8 with the input's number of elements.
 */
#include "common.h"

#define N_THRESHOLDS 255

enum { P_IN_ZP, P_OUT_ZP, P_MULT, P_SHIFT, P_REQUANT_COUNT };

const char *uml_validate_quantize(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs >= 1, "corrupt model: QUANTIZE arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(in != NULL && uml_is(out, UML_DTYPE_INT8) && uml_tensor_elems(in) == uml_tensor_elems(out),
                "corrupt model: QUANTIZE tensors");
    if (in->dtype == UML_DTYPE_FLOAT32) {
        const uml_tensor_t *th = n->in_t[1];
        UML_REQUIRE(n->n_inputs == 2 && n->n_params == 0 && uml_is_const(th, UML_DTYPE_INT32) &&
                    uml_tensor_elems(th) == N_THRESHOLDS,
                    "corrupt model: QUANTIZE arguments");
        const int32_t *t = (const int32_t *)n->in[1];
        for (int k = 1; k < N_THRESHOLDS; k++) {
            UML_REQUIRE(t[k - 1] <= t[k], "corrupt model: QUANTIZE thresholds not sorted");
        }
        return NULL;
    }
    UML_REQUIRE(in->dtype == UML_DTYPE_INT8 && n->n_inputs == 1 && n->n_params == P_REQUANT_COUNT,
                "corrupt model: QUANTIZE arguments");
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[P_IN_ZP]) && uml_offset_ok(p[P_OUT_ZP]) && p[P_MULT] >= 0 &&
                uml_shift_ok(p[P_SHIFT]),
                "corrupt model: QUANTIZE parameters");
    return NULL;
}

/* An int32 that orders like the float32 with these bits; NaN maps like 0.0. */
static inline int32_t float_key(uint32_t bits) {
    uint32_t mag = bits & UINT32_C(0x7fffffff);
    if (mag > UINT32_C(0x7f800000)) {
        return 0;
    }
    return (bits >> 31) ? -(int32_t)mag : (int32_t)mag;
}

static void quantize_float(const uml_node_t *n) {
    const uint32_t *in = (const uint32_t *)n->in[0];
    const int32_t *t = (const int32_t *)n->in[1];
    int8_t *out = (int8_t *)n->out;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    for (int32_t i = 0; i < count; i++) {
        const int32_t key = float_key(in[i]);
        /* Number of thresholds <= key (binary search over the sorted keys). */
        int lo = 0, hi = N_THRESHOLDS;
        while (lo < hi) {
            int mid = (lo + hi) / 2;
            if (t[mid] <= key) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        out[i] = (int8_t)(lo - 128);
    }
}

static void requantize_int8(const uml_node_t *n) {
    const int8_t *in = (const int8_t *)n->in[0];
    int8_t *out = (int8_t *)n->out;
    const int32_t *p = n->params;
    const int32_t count = uml_tensor_elems(n->in_t[0]);
    for (int32_t i = 0; i < count; i++) {
        int32_t y = uml_add_wrap(uml_mbqm((int32_t)in[i] - p[P_IN_ZP], p[P_MULT], p[P_SHIFT]), p[P_OUT_ZP]);
        out[i] = (int8_t)uml_clamp_i32(y, -128, 127);
    }
}

void uml_eval_quantize(const uml_node_t *n) {
    if (n->in_t[0]->dtype == UML_DTYPE_FLOAT32) {
        quantize_float(n);
    } else {
        requantize_int8(n);
    }
}
