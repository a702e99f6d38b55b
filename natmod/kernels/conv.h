/*
 * Shared by CONV_2D (conv_2d.c) and DEPTHWISE_CONV_2D (depthwise_conv_2d.c): the same
 * parameter words, tensor and window validation, and clipping of filter taps to the input.
 * They differ only in the filter's layout and which input channels an output reads.
 *
 * params: input_offset (-input zero point), output_offset (output zero point),
 *         stride_h, stride_w, dilation_h, dilation_w, pad_h, pad_w (top/left padding as
 *         TFLite's ComputePaddingHeightWidth computes it), act_min, act_max
 */
#ifndef UML_KERNEL_CONV_H
#define UML_KERNEL_CONV_H

#include "common.h"

enum {
    UML_CONV_INPUT_OFFSET, UML_CONV_OUTPUT_OFFSET, UML_CONV_STRIDE_H, UML_CONV_STRIDE_W, UML_CONV_DILATION_H,
    UML_CONV_DILATION_W, UML_CONV_PAD_H, UML_CONV_PAD_W, UML_CONV_ACT_MIN, UML_CONV_ACT_MAX, UML_CONV_COUNT
};

/* |filter| <= 128 and |input + input_offset| <= 256, so each product is at most 2^15 in
 * magnitude and an int32 accumulator holds 65535 of them without overflow. */
#define UML_CONV_MAX_ACC_DEPTH 65535
/* Bound on strides, dilations and paddings times extents: keeps every input coordinate
 * computed in eval (origin + dilation * tap) well inside int32. */
#define UML_CONV_COORD_LIMIT (INT64_C(1) << 30)

/* Input and output int8 4-D, filter const int8 4-D. */
static inline int uml_conv_tensors_ok(const uml_tensor_t *in, const uml_tensor_t *filter, const uml_tensor_t *out) {
    return uml_is(in, UML_DTYPE_INT8) && in->rank == 4 && uml_is(out, UML_DTYPE_INT8) && out->rank == 4 &&
           uml_is_const(filter, UML_DTYPE_INT8) && filter->rank == 4;
}

/* Checks one spatial axis: coordinates (out - 1) * stride - pad + (k - 1) * dilation stay
 * small. */
static inline int uml_conv_axis_ok(int32_t out, int32_t k, int32_t stride, int32_t dilation, int32_t pad) {
    if (stride < 1 || dilation < 1 || pad < 0) {
        return 0;
    }
    return (int64_t)(out - 1) * stride < UML_CONV_COORD_LIMIT && (int64_t)pad < UML_CONV_COORD_LIMIT &&
           (int64_t)(k - 1) * dilation < UML_CONV_COORD_LIMIT;
}

/* The checks after the filter shape: bias, requantization (inputs 3 and 4), window and
 * parameters, each failing with the op's own message. */
static inline const char *uml_validate_conv_rest(const uml_node_t *n, int32_t out_ch, int32_t k_h, int32_t k_w,
                                                 const char *bias_msg, const char *window_msg,
                                                 const char *params_msg) {
    UML_REQUIRE(uml_bias_ok(n->in_t[2], out_ch), bias_msg);
    const char *err = uml_check_requant(n, 3, 4, out_ch);
    if (err) {
        return err;
    }
    const int32_t *p = n->params;
    const int32_t out_h = n->out_t->dims[1], out_w = n->out_t->dims[2];
    UML_REQUIRE(uml_conv_axis_ok(out_h, k_h, p[UML_CONV_STRIDE_H], p[UML_CONV_DILATION_H], p[UML_CONV_PAD_H]) &&
                uml_conv_axis_ok(out_w, k_w, p[UML_CONV_STRIDE_W], p[UML_CONV_DILATION_W], p[UML_CONV_PAD_W]),
                window_msg);
    UML_REQUIRE(uml_offset_ok(p[UML_CONV_INPUT_OFFSET]) && uml_offset_ok(p[UML_CONV_OUTPUT_OFFSET]) &&
                uml_act_range_ok(p[UML_CONV_ACT_MIN], p[UML_CONV_ACT_MAX], -128, 127),
                params_msg);
    return NULL;
}

/* The output stage (bias, requantization, clamp) from the parameter words. */
static inline uml_out_stage_t uml_conv_out_stage(const uml_node_t *n) {
    const int32_t *p = n->params;
    return uml_out_stage(n, p[UML_CONV_OUTPUT_OFFSET], p[UML_CONV_ACT_MIN], p[UML_CONV_ACT_MAX]);
}

/* The taps [*lo, *hi) of a filter axis of k taps whose coordinate origin + dilation * tap
 * lies inside [0, size). The coordinate grows with the tap, so the taps inside are
 * contiguous. */
static inline void uml_conv_inside_taps(int32_t origin, int32_t dilation, int32_t k, int32_t size, int32_t *lo,
                                        int32_t *hi) {
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

#endif
