/*
 * Shared by AVERAGE_POOL_2D (average_pool_2d.c) and MAX_POOL_2D (max_pool_2d.c): the same
 * parameters, validation and window loop; they differ only in how a window's cells are
 * reduced to one value.
 *
 * inputs: 0 input int8 [batches, in_h, in_w, depth]
 * params: stride_h, stride_w, filter_h, filter_w, pad_h, pad_w, act_min, act_max
 *         (pad_h/pad_w: rows/columns of implicit padding before the input, as TFLite's
 *         ComputePaddingHeightWidth gives them; padded cells are not part of a window)
 * output: int8 [batches, out_h, out_w, depth], same scale and zero point as the input
 */
#ifndef UML_KERNEL_POOL_2D_H
#define UML_KERNEL_POOL_2D_H

#include "common.h"

enum {
    UML_POOL_STRIDE_H, UML_POOL_STRIDE_W, UML_POOL_FILTER_H, UML_POOL_FILTER_W, UML_POOL_PAD_H, UML_POOL_PAD_W,
    UML_POOL_ACT_MIN, UML_POOL_ACT_MAX, UML_POOL_COUNT
};

/* Filter sides are at most this, so a window holds at most 2^22 cells and its int32 sum
 * of int8 values cannot overflow. The converter emits both ops from one set of rules. */
#define UML_POOL_MAX_FILTER 2048

/* One spatial axis: every window must cover at least one input cell, and window origins
 * out * stride - pad must stay in int32. */
static inline int uml_pool_axis_ok(int32_t in, int32_t out, int32_t stride, int32_t filter, int32_t pad) {
    if (stride < 1 || filter < 1 || filter > UML_POOL_MAX_FILTER || pad < 0 || pad >= filter) {
        return 0;
    }
    if ((int64_t)in + filter > INT32_MAX) {
        return 0;
    }
    /* Origins grow with the output index; the first window reaches the input because
     * pad < filter, the last must start before its end. */
    return (int64_t)(out - 1) * stride - pad < in;
}

/* Validation of either op, failing with the op's own messages. */
static inline const char *uml_validate_pool_2d(const uml_node_t *n, const char *arguments_msg,
                                               const char *types_msg, const char *shapes_msg,
                                               const char *params_msg) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == UML_POOL_COUNT, arguments_msg);
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) && in->rank == 4 && out->rank == 4,
                types_msg);
    UML_REQUIRE(in->dims[0] == out->dims[0] && in->dims[3] == out->dims[3], shapes_msg);
    const int32_t *p = n->params;
    UML_REQUIRE(uml_pool_axis_ok(in->dims[1], out->dims[1], p[UML_POOL_STRIDE_H], p[UML_POOL_FILTER_H],
                                 p[UML_POOL_PAD_H]) &&
                uml_pool_axis_ok(in->dims[2], out->dims[2], p[UML_POOL_STRIDE_W], p[UML_POOL_FILTER_W],
                                 p[UML_POOL_PAD_W]) &&
                uml_act_range_ok(p[UML_POOL_ACT_MIN], p[UML_POOL_ACT_MAX], -128, 127),
                params_msg);
    return NULL;
}

/* A window's value (before the activation clamp): its cells are in_c[y * row_step + x * depth]
 * for y in [y0, y1), x in [x0, x1); the window is never empty. */
typedef int32_t (*uml_pool_window_fn)(const int8_t *in_c, int32_t y0, int32_t y1, int32_t x0, int32_t x1,
                                      int32_t row_step, int32_t depth);

/* Every output cell: fn over its window clipped to the input, clamped to [act_min, act_max].
 * Inlined with a constant fn, so the window function is inlined too (UML_INLINE_LOOP). */
UML_INLINE_LOOP void uml_pool_2d(const uml_node_t *n, uml_pool_window_fn fn) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], depth = in_t->dims[3];
    const int32_t out_h = out_t->dims[1], out_w = out_t->dims[2];
    const int32_t row_step = in_w * depth;
    const int32_t *p = n->params;
    const int32_t stride_h = p[UML_POOL_STRIDE_H], stride_w = p[UML_POOL_STRIDE_W];
    const int32_t filter_h = p[UML_POOL_FILTER_H], filter_w = p[UML_POOL_FILTER_W];
    const int32_t act_min = p[UML_POOL_ACT_MIN], act_max = p[UML_POOL_ACT_MAX];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *in_b = input + b * in_h * in_w * depth;
        for (int32_t oy = 0; oy < out_h; oy++) {
            /* The window clipped to the input: rows [y0, y1), columns [x0, x1). */
            const int32_t origin_y = oy * stride_h - p[UML_POOL_PAD_H];
            const int32_t y0 = uml_max_i32(origin_y, 0);
            const int32_t y1 = uml_min_i32(origin_y + filter_h, in_h);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t origin_x = ox * stride_w - p[UML_POOL_PAD_W];
                const int32_t x0 = uml_max_i32(origin_x, 0);
                const int32_t x1 = uml_min_i32(origin_x + filter_w, in_w);
                for (int32_t c = 0; c < depth; c++) {
                    const int32_t v = fn(in_b + c, y0, y1, x0, x1, row_step, depth);
                    *output++ = (int8_t)uml_clamp_i32(v, act_min, act_max);
                }
            }
        }
    }
}

#endif
