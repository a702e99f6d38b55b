/*
 * CONV_2D, int8 activations, int8 weights, int32 bias (TFLite Micro
 * reference_integer_ops::ConvPerChannel, without groups).
 *
 * inputs: 0 input int8 [batches, in_h, in_w, in_ch]
 *         1 filter int8 const [out_ch, k_h, k_w, in_ch]
 *         2 bias int32 const [out_ch] (optional)
 *         3 multiplier int32 const [1 or out_ch]
 *         4 shift int32 const [1 or out_ch]
 * params: input_offset (-input zero point), output_offset (output zero point),
 *         stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w (top/left padding as
 *         TFLite's ComputePaddingHeightWidth computes it), act_min, act_max
 * output: int8 [batches, out_h, out_w, out_ch]
 *
 * Filter zero points are not used (TFLite Micro ignores them for int8 convolution).
 * Taps that fall outside the input (padding) contribute nothing, as in the reference.
 */
#include "common.h"

enum {
    P_INPUT_OFFSET, P_OUTPUT_OFFSET, P_STRIDE_H, P_STRIDE_W, P_DILATION_H, P_DILATION_W,
    P_PAD_H, P_PAD_W, P_ACT_MIN, P_ACT_MAX, P_COUNT
};

/* |filter| <= 128 and |input + input_offset| <= 256, so each product is at most 2^15 in
 * magnitude and an int32 accumulator holds 65535 of them without overflow. */
#define CONV_MAX_ACC_DEPTH 65535
/* Bound on strides, dilations and paddings times extents: keeps every input coordinate
 * computed in eval (origin + dilation * tap) well inside int32. */
#define CONV_COORD_LIMIT (INT64_C(1) << 30)

/* Checks one spatial axis: coordinates (out - 1) * stride - pad + (k - 1) * dilation stay
 * small. */
static int axis_ok(int32_t out, int32_t k, int32_t stride, int32_t dilation, int32_t pad) {
    if (stride < 1 || dilation < 1 || pad < 0) {
        return 0;
    }
    return (int64_t)(out - 1) * stride < CONV_COORD_LIMIT && (int64_t)pad < CONV_COORD_LIMIT &&
           (int64_t)(k - 1) * dilation < CONV_COORD_LIMIT;
}

const char *uml_validate_conv_2d(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == P_COUNT, "corrupt model: CONV_2D arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *bias = n->in_t[2], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && in->rank == 4 && uml_is(out, UML_DTYPE_INT8) && out->rank == 4 &&
                uml_is_const(filter, UML_DTYPE_INT8) && filter->rank == 4,
                "corrupt model: CONV_2D tensor types");
    const int32_t out_ch = filter->dims[0], k_h = filter->dims[1], k_w = filter->dims[2];
    const int32_t in_ch = filter->dims[3];
    UML_REQUIRE(in->dims[3] == in_ch && out->dims[0] == in->dims[0] && out->dims[3] == out_ch,
                "corrupt model: CONV_2D shapes");
    UML_REQUIRE((int64_t)k_h * k_w * in_ch <= CONV_MAX_ACC_DEPTH, "CONV_2D filter too large");
    UML_REQUIRE(bias == NULL || (uml_is_const(bias, UML_DTYPE_INT32) && uml_tensor_elems(bias) == out_ch),
                "corrupt model: CONV_2D bias");
    const char *err = uml_check_requant(n, 3, 4, out_ch);
    if (err) {
        return err;
    }
    const int32_t *p = n->params;
    UML_REQUIRE(axis_ok(out->dims[1], k_h, p[P_STRIDE_H], p[P_DILATION_H], p[P_PAD_H]) &&
                axis_ok(out->dims[2], k_w, p[P_STRIDE_W], p[P_DILATION_W], p[P_PAD_W]),
                "corrupt model: CONV_2D strides, dilations or paddings");
    UML_REQUIRE(uml_offset_ok(p[P_INPUT_OFFSET]) && uml_offset_ok(p[P_OUTPUT_OFFSET]) &&
                uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], -128, 127),
                "corrupt model: CONV_2D parameters");
    return NULL;
}

/* The taps [*lo, *hi) of a filter axis of k taps whose coordinate origin + dilation * tap
 * lies inside [0, size). The coordinate grows with the tap, so the taps inside are
 * contiguous. */
static void inside_taps(int32_t origin, int32_t dilation, int32_t k, int32_t size, int32_t *lo, int32_t *hi) {
    int32_t a = 0;
    while (a < k && origin + dilation * a < 0) {
        a++;
    }
    int32_t b = a;
    while (b < k && origin + dilation * b < size) {
        b++;
    }
    *lo = a;
    *hi = b;
}

void uml_eval_conv_2d(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const int32_t *bias = (const int32_t *)n->in[2];
    const int32_t *mult = (const int32_t *)n->in[3];
    const int32_t *shift = (const int32_t *)n->in[4];
    const int per_channel = uml_tensor_elems(n->in_t[3]) > 1;
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], in_ch = in_t->dims[3];
    const int32_t out_ch = f_t->dims[0], k_h = f_t->dims[1], k_w = f_t->dims[2];
    const int32_t out_h = out_t->dims[1], out_w = out_t->dims[2];
    const int32_t *p = n->params;
    const int32_t in_off = p[P_INPUT_OFFSET], out_off = p[P_OUTPUT_OFFSET];
    const int32_t stride_h = p[P_STRIDE_H], stride_w = p[P_STRIDE_W];
    const int32_t dil_h = p[P_DILATION_H], dil_w = p[P_DILATION_W];
    const int32_t pad_h = p[P_PAD_H], pad_w = p[P_PAD_W];
    const int32_t act_min = p[P_ACT_MIN], act_max = p[P_ACT_MAX];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *in_b = input + b * in_h * in_w * in_ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t fy_lo, fy_hi;
            inside_taps(y0, dil_h, k_h, in_h, &fy_lo, &fy_hi);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t fx_lo, fx_hi;
                inside_taps(x0, dil_w, k_w, in_w, &fx_lo, &fx_hi);
                for (int32_t oc = 0; oc < out_ch; oc++) {
                    const int8_t *w_oc = filter + oc * k_h * k_w * in_ch;
                    int32_t acc = 0;
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                        const int32_t iy = y0 + dil_h * fy;
                        for (int32_t fx = fx_lo; fx < fx_hi; fx++) {
                            const int32_t ix = x0 + dil_w * fx;
                            const int8_t *x = in_b + (iy * in_w + ix) * in_ch;
                            const int8_t *w = w_oc + (fy * k_w + fx) * in_ch;
                            for (int32_t c = 0; c < in_ch; c++) {
                                acc += (int32_t)w[c] * ((int32_t)x[c] + in_off);
                            }
                        }
                    }
                    if (bias) {
                        acc = uml_add_wrap(acc, bias[oc]);
                    }
                    const int32_t q = per_channel ? oc : 0;
                    acc = uml_add_wrap(uml_mbqm(acc, mult[q], shift[q]), out_off);
                    *output++ = (int8_t)uml_clamp_i32(acc, act_min, act_max);
                }
            }
        }
    }
}
