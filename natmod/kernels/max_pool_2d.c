/*
 * MAX_POOL_2D, int8 (TFLite Micro reference_integer_ops::MaxPool).
 *
 * inputs: 0 input int8 [batches, in_h, in_w, depth]
 * params: stride_h, stride_w, filter_h, filter_w, pad_h, pad_w, act_min, act_max
 *         (pad_h/pad_w: rows/columns of implicit padding before the input, as TFLite's
 *         ComputePaddingHeightWidth gives them; padded cells never win)
 * output: int8 [batches, out_h, out_w, depth], same scale and zero point as the input
 *
 * Each output is the largest input cell its window covers, clamped to [act_min, act_max].
 */
#include "common.h"

enum { P_STRIDE_H, P_STRIDE_W, P_FILTER_H, P_FILTER_W, P_PAD_H, P_PAD_W, P_ACT_MIN, P_ACT_MAX, P_COUNT };

/* Same limit as AVERAGE_POOL_2D (the converter emits both from one set of rules). */
#define POOL_MAX_FILTER 2048

/* One spatial axis: every window must cover at least one input cell, and window origins
 * out * stride - pad must stay in int32. */
static int pool_axis_ok(int32_t in, int32_t out, int32_t stride, int32_t filter, int32_t pad) {
    if (stride < 1 || filter < 1 || filter > POOL_MAX_FILTER || pad < 0 || pad >= filter) {
        return 0;
    }
    if ((int64_t)in + filter > INT32_MAX) {
        return 0;
    }
    return (int64_t)(out - 1) * stride - pad < in;
}

const char *uml_validate_max_pool_2d(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 1 && n->n_params == P_COUNT, "corrupt model: MAX_POOL_2D arguments");
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) && in->rank == 4 && out->rank == 4,
                "corrupt model: MAX_POOL_2D tensor types");
    UML_REQUIRE(in->dims[0] == out->dims[0] && in->dims[3] == out->dims[3],
                "corrupt model: MAX_POOL_2D shapes");
    const int32_t *p = n->params;
    UML_REQUIRE(pool_axis_ok(in->dims[1], out->dims[1], p[P_STRIDE_H], p[P_FILTER_H], p[P_PAD_H]) &&
                pool_axis_ok(in->dims[2], out->dims[2], p[P_STRIDE_W], p[P_FILTER_W], p[P_PAD_W]) &&
                uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], -128, 127),
                "corrupt model: MAX_POOL_2D parameters");
    return NULL;
}

void uml_eval_max_pool_2d(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], depth = in_t->dims[3];
    const int32_t out_h = out_t->dims[1], out_w = out_t->dims[2];
    const int32_t *p = n->params;
    const int32_t stride_h = p[P_STRIDE_H], stride_w = p[P_STRIDE_W];
    const int32_t filter_h = p[P_FILTER_H], filter_w = p[P_FILTER_W];
    const int32_t act_min = p[P_ACT_MIN], act_max = p[P_ACT_MAX];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *in_b = input + b * in_h * in_w * depth;
        for (int32_t oy = 0; oy < out_h; oy++) {
            /* The window clipped to the input: rows [y0, y1), columns [x0, x1). */
            const int32_t origin_y = oy * stride_h - p[P_PAD_H];
            const int32_t y0 = uml_max_i32(origin_y, 0);
            const int32_t y1 = uml_min_i32(origin_y + filter_h, in_h);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t origin_x = ox * stride_w - p[P_PAD_W];
                const int32_t x0 = uml_max_i32(origin_x, 0);
                const int32_t x1 = uml_min_i32(origin_x + filter_w, in_w);
                for (int32_t c = 0; c < depth; c++) {
                    int32_t m = -128;
                    for (int32_t y = y0; y < y1; y++) {
                        const int8_t *row = in_b + y * in_w * depth + c;
                        for (int32_t x = x0; x < x1; x++) {
                            m = uml_max_i32(m, row[x * depth]);
                        }
                    }
                    *output++ = (int8_t)uml_clamp_i32(m, act_min, act_max);
                }
            }
        }
    }
}
