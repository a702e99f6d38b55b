/*
 * Glue to a user's CMSIS-NN (docs/CMSIS_NN.md; compiled only with -DUML_CMSIS_NN, which
 * scripts/build_natmod.sh sets when CMSIS_NN_DIR names a CMSIS-NN checkout). Maps our op
 * parameters onto CMSIS-NN's s8 kernels:
 *
 *   CONV_2D            arm_convolve_wrapper_s8 (arm_convolve_s8 for a 1x1 convolution whose
 *                      output shares bytes with its input, see below)
 *   DEPTHWISE_CONV_2D  arm_depthwise_conv_wrapper_s8 (any depth multiplier)
 *   FULLY_CONNECTED    arm_fully_connected_s8 (per-tensor), arm_fully_connected_per_channel_s8
 *   AVERAGE_POOL_2D    arm_avgpool_s8
 *   MAX_POOL_2D        arm_max_pool_s8
 *   SOFTMAX            arm_softmax_s8 (rows of at most 511 values)
 *   ADD, MUL           arm_elementwise_add_s8 / _mul_s8 (inputs of the output's size: no
 *                      broadcasting)
 *   PAD                arm_pad_s8
 *   CONCATENATION      arm_concatenation_s8_w/_z/_y/_x (int8, no requantization)
 *   RESHAPE            arm_reshape_s8 (int8, when the output has bytes of its own)
 *
 * Anything else (other ops, broadcasting ADD/MUL, extents beyond CMSIS-NN's 16-bit loop
 * variables, a copy whose input shares bytes with its output) returns 0 and runs our own
 * kernel. CMSIS-NN has nothing for SUB (arm_elementwise_add_s8 with a negated multiplier would
 * round exact halves the other way), MEAN, LOGISTIC / TANH / HARD_SWISH in int8, QUANTIZE or
 * DEQUANTIZE, and its arm_relu_q7 / arm_relu6_s8 clamp without TFLite's requantization. CMSIS-NN's int8 kernels are specified to match
 * TFLite Micro's reference kernels bit for bit, as ours are; tests/test_cmsis_nn.py runs the
 * conformance suite and the golden models against this build.
 *
 * The gates below keep CMSIS-NN where its code is exact and defined:
 * - every extent, stride, dilation, padding and window coordinate <= 32767 (CMSIS-NN holds
 *   some in uint16_t / int16_t);
 * - SOFTMAX: rows of <= 511 values (a longer row's sum of exponentials can reach 512, where
 *   arm_nn_softmax_common_s8 would shift by 32 and TFLite Micro's reference gives up) and a
 *   left shift <= 30 (CMSIS-NN forms 1 << shift);
 * - ADD: left shift >= 16 (the DSP path shifts the low 16 bits of each (x + offset) left,
 *   exact only for shifts of 16 and more; TFLite Micro uses 20).
 * CMSIS-NN's sources are compiled with -fwrapv (natmod/cmsis_nn.mk), so their int32 sums and
 * bias additions wrap as ours do (uml_add_wrap) instead of being undefined.
 *
 * Memory contract (engine/ops.h): the planner may start a CONV_2D / DEPTHWISE_CONV_2D / pool
 * output D bytes before its input, for kernels that write output row y only after reading
 * every earlier row's window. CMSIS-NN's kernels work pixel by pixel in raster order, except
 * arm_convolve_1x1_s8_fast (the wrapper's choice for 1x1, stride 1, no padding): one matrix
 * product over the whole image, output channel pair by output channel pair, which would
 * overwrite input rows still to be read. When the output's bytes meet the input's, such a 1x1
 * convolution therefore runs arm_convolve_s8 instead (im2col of two pixels at a time; measured
 * faster than arm_convolve_1x1_s8, which is safe too: one image row per matrix product).
 * Element-wise ADD/MUL may write over an input of the output's shape: CMSIS-NN reads each group
 * of 4 elements before writing it.
 *
 * Scratch: CMSIS-NN's buffers (arm_*_get_buffer_size), a per-channel copy of per-tensor
 * requantization (CMSIS-NN's convolutions take one multiplier and shift per channel) and zeros
 * for a missing convolution bias (arm_convolve_s8 steps a bias pointer even when it is NULL)
 * lie at the tail of the arena: uml_cmsis_nn_arena_size() adds the largest need of any op at
 * load, so infer() still allocates nothing and each model has its own scratch.
 */
#ifdef UML_CMSIS_NN

#include <string.h>
#ifdef UML_CMSIS_NN_TRACE
#include <stdio.h>
#endif

#include "arm_nnfunctions.h"

#include "add_sub.h"
#include "cmsis_nn.h"
#include "conv.h"
#include "pool_2d.h"

/* Parameter words of the ops whose layout is private to their kernel file. */
enum { FC_INPUT_OFFSET, FC_FILTER_OFFSET, FC_OUTPUT_OFFSET, FC_ACT_MIN, FC_ACT_MAX, FC_COUNT }; /* fully_connected.c */
enum { SM_INPUT_MULTIPLIER, SM_INPUT_LEFT_SHIFT, SM_DIFF_MIN, SM_COUNT };                        /* softmax.c */
enum { MUL_IN1_OFFSET, MUL_IN2_OFFSET, MUL_OUT_OFFSET, MUL_OUT_MULT, MUL_OUT_SHIFT, MUL_ACT_MIN, MUL_ACT_MAX,
       MUL_COUNT };                                                                            /* mul.c */

#define GEOM_LIMIT 32767
#define SOFTMAX_MAX_ROW 511
/* Returned by the op functions when CMSIS-NN does not take the op. */
#define NOT_COVERED (-1)

/* Each op function below either plans (scratch == NULL: returns the scratch bytes the op needs,
 * or NOT_COVERED) or runs the op (scratch: avail bytes at the arena's tail; returns the bytes
 * used, or NOT_COVERED without touching the output). Planning and running share one code path,
 * so the arena reserved at load is exactly what the run uses. */
typedef int64_t (*op_fn)(const uml_node_t *n, uint8_t *scratch, uint32_t avail);

static int dim_ok(int32_t v) {
    return v >= 1 && v <= GEOM_LIMIT;
}

/* One spatial axis of a windowed op: extents, stride, dilation, padding, and every window
 * coordinate origin + dilation * tap in [-GEOM_LIMIT, GEOM_LIMIT]. */
static int axis_ok(int32_t in, int32_t out, int32_t k, int32_t stride, int32_t dil, int32_t pad) {
    return dim_ok(in) && dim_ok(out) && dim_ok(k) && dim_ok(stride) && dim_ok(dil) && pad >= 0 && pad <= GEOM_LIMIT &&
           (int64_t)(out - 1) * stride + (int64_t)(k - 1) * dil <= GEOM_LIMIT;
}

static int int8_rank4(const uml_tensor_t *t) {
    return uml_is(t, UML_DTYPE_INT8) && t->rank == 4;
}

static uint32_t align16(uint32_t v) {
    return (v + 15u) & ~15u;
}

/* Two arena tensors whose bytes meet (the planner wrote one over the other). Offsets and sizes
 * come from the tensor table, so planning and running decide alike. */
static int shares_bytes(const uml_tensor_t *a, const uml_tensor_t *b) {
    return a->storage == UML_STORAGE_ARENA && b->storage == UML_STORAGE_ARENA &&
           (uint64_t)a->offset < (uint64_t)b->offset + b->nbytes && (uint64_t)b->offset < (uint64_t)a->offset + a->nbytes;
}

static cmsis_nn_dims dims4(const uml_tensor_t *t) {
    cmsis_nn_dims d = {t->dims[0], t->dims[1], t->dims[2], t->dims[3]};
    return d;
}

/* ---- Requantization and bias of CONV_2D / DEPTHWISE_CONV_2D (inputs 2, 3, 4) ---------- */

typedef struct {
    int32_t *mult, *shift; /* CMSIS-NN's types are not const; it only reads them */
    const int32_t *bias;
} requant_t;

static int per_tensor(const uml_node_t *n) {
    return uml_tensor_elems(n->in_t[3]) == 1;
}

/* Scratch bytes for a per-channel copy of a per-tensor multiplier and shift, and zeros for an
 * absent bias, for ch output channels. */
static uint32_t requant_bytes(const uml_node_t *n, int32_t ch) {
    return (per_tensor(n) ? 8u * (uint32_t)ch : 0u) + (n->in_t[2] == NULL ? 4u * (uint32_t)ch : 0u);
}

/* The arrays CMSIS-NN reads; mem: requant_bytes(n, ch) bytes, 4-byte aligned. */
static requant_t requant_fill(const uml_node_t *n, int32_t ch, int32_t *mem) {
    requant_t r;
    r.mult = (int32_t *)n->in[3];
    r.shift = (int32_t *)n->in[4];
    r.bias = (const int32_t *)n->in[2];
    if (per_tensor(n)) {
        const int32_t m0 = r.mult[0], s0 = r.shift[0];
        r.mult = mem;
        r.shift = mem + ch;
        for (int32_t i = 0; i < ch; i++) {
            r.mult[i] = m0;
            r.shift[i] = s0;
        }
        mem += 2 * ch;
    }
    if (r.bias == NULL) {
        for (int32_t i = 0; i < ch; i++) {
            mem[i] = 0;
        }
        r.bias = mem;
    }
    return r;
}

/* What a CONV_2D or DEPTHWISE_CONV_2D call takes besides its shapes and parameters. */
typedef struct {
    cmsis_nn_context ctx;
    cmsis_nn_per_channel_quant_params q;
    cmsis_nn_dims bias_d;
    const int32_t *bias;
} conv_run_t;

/* The scratch of a CONV_2D or DEPTHWISE_CONV_2D with ch output channels: CMSIS-NN's buffer of buf
 * bytes (buf < 0: the op is not taken), then the requantization arrays. Returns the bytes needed
 * (planning, scratch == NULL) or used (running: c filled), or NOT_COVERED. */
static int64_t conv_scratch(const uml_node_t *n, int32_t buf, int32_t ch, uint8_t *scratch, uint32_t avail,
                            conv_run_t *c) {
    if (buf < 0) {
        return NOT_COVERED;
    }
    const int64_t need = (int64_t)align16((uint32_t)buf) + requant_bytes(n, ch);
    if (scratch == NULL || need > avail) {
        return scratch == NULL ? need : NOT_COVERED;
    }
    const requant_t r = requant_fill(n, ch, (int32_t *)(void *)(scratch + align16((uint32_t)buf)));
    c->ctx.buf = scratch;
    c->ctx.size = buf;
    c->q.multiplier = r.mult;
    c->q.shift = r.shift;
    c->bias_d = (cmsis_nn_dims){1, 1, 1, ch};
    c->bias = r.bias;
    return need;
}

/* The tensors and windows both convolutions share (conv.h's parameter words). */
static int conv_geometry_ok(const uml_node_t *n, cmsis_nn_dims *in_d, cmsis_nn_dims *out_d) {
    if (n->n_inputs != 5 || n->n_params != UML_CONV_COUNT || !int8_rank4(n->in_t[0]) || !int8_rank4(n->out_t) ||
        !int8_rank4(n->in_t[1]) || n->in_t[3] == NULL || n->in_t[4] == NULL) {
        return 0;
    }
    const int32_t *p = n->params;
    const uml_tensor_t *f = n->in_t[1];
    *in_d = dims4(n->in_t[0]);
    *out_d = dims4(n->out_t);
    return dim_ok(in_d->c) && dim_ok(out_d->c) && in_d->n == out_d->n &&
           axis_ok(in_d->h, out_d->h, f->dims[1], p[UML_CONV_STRIDE_H], p[UML_CONV_DILATION_H], p[UML_CONV_PAD_H]) &&
           axis_ok(in_d->w, out_d->w, f->dims[2], p[UML_CONV_STRIDE_W], p[UML_CONV_DILATION_W], p[UML_CONV_PAD_W]);
}

static void conv_params_of(const int32_t *p, int32_t *in_off, int32_t *out_off, cmsis_nn_tile *stride,
                           cmsis_nn_tile *pad, cmsis_nn_tile *dil, cmsis_nn_activation *act) {
    *in_off = p[UML_CONV_INPUT_OFFSET];
    *out_off = p[UML_CONV_OUTPUT_OFFSET];
    stride->w = p[UML_CONV_STRIDE_W];
    stride->h = p[UML_CONV_STRIDE_H];
    pad->w = p[UML_CONV_PAD_W];
    pad->h = p[UML_CONV_PAD_H];
    dil->w = p[UML_CONV_DILATION_W];
    dil->h = p[UML_CONV_DILATION_H];
    act->min = p[UML_CONV_ACT_MIN];
    act->max = p[UML_CONV_ACT_MAX];
}

/* ---- The ops ------------------------------------------------------------------------- */

static int64_t conv_2d(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    cmsis_nn_dims in_d, out_d;
    if (!conv_geometry_ok(n, &in_d, &out_d)) {
        return NOT_COVERED;
    }
    const uml_tensor_t *f = n->in_t[1];
    cmsis_nn_dims f_d = dims4(f); /* [out_ch, k_h, k_w, in_ch], as ours */
    if (f_d.n != out_d.c || f_d.c != in_d.c) {
        return NOT_COVERED;
    }
    cmsis_nn_conv_params cp;
    conv_params_of(n->params, &cp.input_offset, &cp.output_offset, &cp.stride, &cp.padding, &cp.dilation,
                   &cp.activation);
    /* The wrapper's whole-image 1x1 path (its test: no padding, 1x1 filter, no dilation, stride
     * 1) cannot work in place: the im2col path instead. */
    const int in_place = cp.padding.w == 0 && cp.padding.h == 0 && f_d.h == 1 && f_d.w == 1 &&
                         cp.dilation.w == 1 && cp.dilation.h == 1 && cp.stride.w == 1 && cp.stride.h == 1 &&
                         shares_bytes(n->in_t[0], n->out_t);
    const int32_t buf = in_place ? arm_convolve_s8_get_buffer_size(&in_d, &f_d)
                                 : arm_convolve_wrapper_s8_get_buffer_size(&cp, &in_d, &f_d, &out_d);
    conv_run_t c;
    const int64_t need = conv_scratch(n, buf, out_d.c, scratch, avail, &c);
    if (scratch == NULL || need == NOT_COVERED) {
        return need;
    }
    const int8_t *in = (const int8_t *)n->in[0], *filter = (const int8_t *)n->in[1];
    int8_t *out = (int8_t *)n->out;
    const arm_cmsis_nn_status st =
        in_place ? arm_convolve_s8(&c.ctx, &cp, &c.q, &in_d, in, &f_d, filter, &c.bias_d, c.bias, NULL, &out_d, out)
                 : arm_convolve_wrapper_s8(&c.ctx, &cp, &c.q, &in_d, in, &f_d, filter, &c.bias_d, c.bias, &out_d, out);
    return st == ARM_CMSIS_NN_SUCCESS ? need : NOT_COVERED;
}

static int64_t depthwise_conv_2d(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    cmsis_nn_dims in_d, out_d;
    if (!conv_geometry_ok(n, &in_d, &out_d)) {
        return NOT_COVERED;
    }
    const uml_tensor_t *f = n->in_t[1];
    cmsis_nn_dims f_d = dims4(f); /* [1, k_h, k_w, out_ch], as ours */
    if (f_d.n != 1 || f_d.c != out_d.c || out_d.c % in_d.c != 0) {
        return NOT_COVERED;
    }
    cmsis_nn_dw_conv_params dp;
    dp.ch_mult = out_d.c / in_d.c;
    conv_params_of(n->params, &dp.input_offset, &dp.output_offset, &dp.stride, &dp.padding, &dp.dilation,
                   &dp.activation);
    const int32_t buf = arm_depthwise_conv_wrapper_s8_get_buffer_size(&dp, &in_d, &f_d, &out_d);
    conv_run_t c;
    const int64_t need = conv_scratch(n, buf, out_d.c, scratch, avail, &c);
    if (scratch == NULL || need == NOT_COVERED) {
        return need;
    }
    const arm_cmsis_nn_status st =
        arm_depthwise_conv_wrapper_s8(&c.ctx, &dp, &c.q, &in_d, (const int8_t *)n->in[0], &f_d,
                                      (const int8_t *)n->in[1], &c.bias_d, c.bias, &out_d, (int8_t *)n->out);
    return st == ARM_CMSIS_NN_SUCCESS ? need : NOT_COVERED;
}

static int64_t fully_connected(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    const uml_tensor_t *in = n->in_t[0], *f = n->in_t[1], *out = n->out_t;
    if (n->n_inputs != 5 || n->n_params != FC_COUNT || !uml_is(in, UML_DTYPE_INT8) || !uml_is(out, UML_DTYPE_INT8) ||
        !uml_is(f, UML_DTYPE_INT8) || f->rank != 2 || n->in_t[3] == NULL || n->in_t[4] == NULL) {
        return NOT_COVERED;
    }
    const int32_t out_depth = f->dims[0], depth = f->dims[1];
    const int32_t in_elems = uml_tensor_elems(in);
    if (in_elems % depth != 0) {
        return NOT_COVERED;
    }
    const cmsis_nn_dims in_d = {in_elems / depth, 1, 1, depth};
    const cmsis_nn_dims f_d = {depth, 1, 1, out_depth}; /* n: accumulation depth, c: outputs */
    const cmsis_nn_dims out_d = {in_elems / depth, 1, 1, out_depth};
    const int32_t buf = arm_fully_connected_s8_get_buffer_size(&f_d);
    if (buf < 0) {
        return NOT_COVERED;
    }
    const int64_t need = buf;
    if (scratch == NULL || need > avail) {
        return scratch == NULL ? need : NOT_COVERED;
    }
    const int32_t *p = n->params;
    cmsis_nn_fc_params fp;
    fp.input_offset = p[FC_INPUT_OFFSET];
    fp.filter_offset = p[FC_FILTER_OFFSET];
    fp.output_offset = p[FC_OUTPUT_OFFSET];
    fp.activation.min = p[FC_ACT_MIN];
    fp.activation.max = p[FC_ACT_MAX];
    const cmsis_nn_context ctx = {scratch, buf};
    const cmsis_nn_dims bias_d = {1, 1, 1, out_depth};
    int32_t *mult = (int32_t *)n->in[3], *shift = (int32_t *)n->in[4];
    arm_cmsis_nn_status st;
    if (per_tensor(n)) {
        const cmsis_nn_per_tensor_quant_params q = {mult[0], shift[0]};
        st = arm_fully_connected_s8(&ctx, &fp, &q, &in_d, (const int8_t *)n->in[0], &f_d, (const int8_t *)n->in[1],
                                    &bias_d, (const int32_t *)n->in[2], &out_d, (int8_t *)n->out);
    } else {
        const cmsis_nn_per_channel_quant_params q = {mult, shift};
        st = arm_fully_connected_per_channel_s8(&ctx, &fp, &q, &in_d, (const int8_t *)n->in[0], &f_d,
                                                (const int8_t *)n->in[1], &bias_d, (const int32_t *)n->in[2],
                                                &out_d, (int8_t *)n->out);
    }
    return st == ARM_CMSIS_NN_SUCCESS ? need : NOT_COVERED;
}

/* AVERAGE_POOL_2D (avg != 0) and MAX_POOL_2D (pool_2d.h's parameter words). */
static int64_t pool(const uml_node_t *n, uint8_t *scratch, uint32_t avail, int avg) {
    if (n->n_inputs != 1 || n->n_params != UML_POOL_COUNT || !int8_rank4(n->in_t[0]) || !int8_rank4(n->out_t)) {
        return NOT_COVERED;
    }
    const int32_t *p = n->params;
    const cmsis_nn_dims in_d = dims4(n->in_t[0]), out_d = dims4(n->out_t);
    if (in_d.n != out_d.n || in_d.c != out_d.c || !dim_ok(in_d.c) ||
        !axis_ok(in_d.h, out_d.h, p[UML_POOL_FILTER_H], p[UML_POOL_STRIDE_H], 1, p[UML_POOL_PAD_H]) ||
        !axis_ok(in_d.w, out_d.w, p[UML_POOL_FILTER_W], p[UML_POOL_STRIDE_W], 1, p[UML_POOL_PAD_W])) {
        return NOT_COVERED;
    }
    const int32_t buf = avg ? arm_avgpool_s8_get_buffer_size(out_d.w, in_d.c) : 0;
    if (buf < 0) {
        return NOT_COVERED;
    }
    const int64_t need = buf;
    if (scratch == NULL || need > avail) {
        return scratch == NULL ? need : NOT_COVERED;
    }
    cmsis_nn_pool_params pp;
    pp.stride.w = p[UML_POOL_STRIDE_W];
    pp.stride.h = p[UML_POOL_STRIDE_H];
    pp.padding.w = p[UML_POOL_PAD_W];
    pp.padding.h = p[UML_POOL_PAD_H];
    pp.activation.min = p[UML_POOL_ACT_MIN];
    pp.activation.max = p[UML_POOL_ACT_MAX];
    const cmsis_nn_dims f_d = {1, p[UML_POOL_FILTER_H], p[UML_POOL_FILTER_W], 1};
    const cmsis_nn_context ctx = {scratch, buf};
    const arm_cmsis_nn_status st =
        avg ? arm_avgpool_s8(&ctx, &pp, &in_d, (const int8_t *)n->in[0], &f_d, &out_d, (int8_t *)n->out)
            : arm_max_pool_s8(&ctx, &pp, &in_d, (const int8_t *)n->in[0], &f_d, &out_d, (int8_t *)n->out);
    return st == ARM_CMSIS_NN_SUCCESS ? need : NOT_COVERED;
}

static int64_t average_pool_2d(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    return pool(n, scratch, avail, 1);
}

static int64_t max_pool_2d(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    return pool(n, scratch, avail, 0);
}

static int64_t softmax(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    const uml_tensor_t *in = n->in_t[0];
    if (n->n_inputs != 1 || n->n_params != SM_COUNT || !uml_is(in, UML_DTYPE_INT8) ||
        !uml_is(n->out_t, UML_DTYPE_INT8) || in->rank < 1) {
        return NOT_COVERED;
    }
    const int32_t *p = n->params;
    const int32_t depth = in->dims[in->rank - 1];
    if (depth > SOFTMAX_MAX_ROW || p[SM_INPUT_LEFT_SHIFT] < 0 || p[SM_INPUT_LEFT_SHIFT] > 30) {
        return NOT_COVERED;
    }
    if (scratch == NULL) {
        return 0;
    }
    (void)avail;
    arm_softmax_s8((const int8_t *)n->in[0], uml_tensor_elems(in) / depth, depth, p[SM_INPUT_MULTIPLIER],
                   p[SM_INPUT_LEFT_SHIFT], p[SM_DIFF_MIN], (int8_t *)n->out);
    return 0;
}

/* ADD / MUL without broadcasting: both inputs have the output's number of elements (and, the
 * op being validated, its shape up to leading 1s). */
static int same_size_binary(const uml_node_t *n, uint32_t n_params) {
    const uml_tensor_t *a = n->in_t[0], *b = n->in_t[1], *out = n->out_t;
    return n->n_inputs == 2 && n->n_params == n_params && uml_is(a, UML_DTYPE_INT8) && uml_is(b, UML_DTYPE_INT8) &&
           uml_is(out, UML_DTYPE_INT8) && uml_tensor_elems(a) == uml_tensor_elems(out) &&
           uml_tensor_elems(b) == uml_tensor_elems(out);
}

static int64_t add(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    if (!same_size_binary(n, UML_AS_COUNT) || n->params[UML_AS_LEFT_SHIFT] < 16) {
        return NOT_COVERED;
    }
    if (scratch == NULL) {
        return 0;
    }
    (void)avail;
    const int32_t *p = n->params;
    const arm_cmsis_nn_status st = arm_elementwise_add_s8(
        (const int8_t *)n->in[0], (const int8_t *)n->in[1], p[UML_AS_IN1_OFFSET], p[UML_AS_IN1_MULT],
        p[UML_AS_IN1_SHIFT], p[UML_AS_IN2_OFFSET], p[UML_AS_IN2_MULT], p[UML_AS_IN2_SHIFT], p[UML_AS_LEFT_SHIFT],
        (int8_t *)n->out, p[UML_AS_OUT_OFFSET], p[UML_AS_OUT_MULT], p[UML_AS_OUT_SHIFT], p[UML_AS_ACT_MIN],
        p[UML_AS_ACT_MAX], uml_tensor_elems(n->out_t));
    return st == ARM_CMSIS_NN_SUCCESS ? 0 : NOT_COVERED;
}

static int64_t mul(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    if (!same_size_binary(n, MUL_COUNT)) {
        return NOT_COVERED;
    }
    if (scratch == NULL) {
        return 0;
    }
    (void)avail;
    const int32_t *p = n->params;
    const arm_cmsis_nn_status st =
        arm_elementwise_mul_s8((const int8_t *)n->in[0], (const int8_t *)n->in[1], p[MUL_IN1_OFFSET],
                               p[MUL_IN2_OFFSET], (int8_t *)n->out, p[MUL_OUT_OFFSET], p[MUL_OUT_MULT],
                               p[MUL_OUT_SHIFT], p[MUL_ACT_MIN], p[MUL_ACT_MAX], uml_tensor_elems(n->out_t));
    return st == ARM_CMSIS_NN_SUCCESS ? 0 : NOT_COVERED;
}

/* Byte-copy ops: CMSIS-NN copies with memcpy (restrict), so an input that shares bytes with
 * the output runs ours (memmove); the planner never makes them meet, a corrupt model might. */

enum { PAD_VALUE, PAD_BEFORE, PAD_AFTER = PAD_BEFORE + UML_MAX_RANK, PAD_COUNT = PAD_AFTER + UML_MAX_RANK }; /* pad.c */

/* Tensor dims in CMSIS-NN's order (n, h, w, c = dims[0..3]; dims beyond the rank are 1, so a
 * lower-rank tensor keeps its row-major layout). */
static cmsis_nn_dims dims_of(const int32_t *d) {
    cmsis_nn_dims r = {d[0], d[1], d[2], d[3]};
    return r;
}

static int64_t pad(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    if (n->n_inputs != 1 || n->n_params != PAD_COUNT || !uml_is(in, UML_DTYPE_INT8) || !uml_is(out, UML_DTYPE_INT8) ||
        shares_bytes(in, out)) {
        return NOT_COVERED;
    }
    const int32_t *p = n->params;
    if (p[PAD_VALUE] < INT8_MIN || p[PAD_VALUE] > INT8_MAX) {
        return NOT_COVERED;
    }
    for (int k = 0; k < UML_MAX_RANK; k++) {
        if (p[PAD_BEFORE + k] < 0 || p[PAD_AFTER + k] < 0 ||
            (int64_t)in->dims[k] + p[PAD_BEFORE + k] + p[PAD_AFTER + k] != out->dims[k]) {
            return NOT_COVERED;
        }
    }
    if (scratch == NULL) {
        return 0;
    }
    (void)avail;
    const cmsis_nn_dims in_d = dims_of(in->dims), pre = dims_of(p + PAD_BEFORE), post = dims_of(p + PAD_AFTER);
    const arm_cmsis_nn_status st =
        arm_pad_s8((const int8_t *)n->in[0], (int8_t *)n->out, (int8_t)p[PAD_VALUE], &in_d, &pre, &post);
    return st == ARM_CMSIS_NN_SUCCESS ? 0 : NOT_COVERED;
}

/* CONCATENATION of int8 tensors (concatenation.c: params = axis) along dims[axis] with
 * arm_concatenation_s8_w / _z / _y / _x (axis 0 / 1 / 2 / 3: CMSIS-NN's w, z, y, x are our
 * dims[0..3]). Only when nothing is requantized: every input has the output's zero point and
 * scale (the converter refuses anything else, as TFLite Micro does). CMSIS-NN holds the
 * extents in uint16_t. */
static int64_t concatenation(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    const uml_tensor_t *out = n->out_t;
    if (n->n_inputs < 1 || n->n_inputs > UML_MAX_INPUTS || n->n_params != 1 || !uml_is(out, UML_DTYPE_INT8)) {
        return NOT_COVERED;
    }
    const int32_t axis = n->params[0];
    if (axis < 0 || axis >= UML_MAX_RANK || axis >= out->rank) {
        return NOT_COVERED;
    }
    for (int k = 0; k < UML_MAX_RANK; k++) {
        if (out->dims[k] < 1 || out->dims[k] > UINT16_MAX) {
            return NOT_COVERED;
        }
    }
    int64_t total = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const uml_tensor_t *t = n->in_t[i];
        if (t == NULL || !uml_is(t, UML_DTYPE_INT8) || t->rank != out->rank || t->zero_point != out->zero_point ||
            t->scale_bits != out->scale_bits || shares_bytes(t, out)) {
            return NOT_COVERED;
        }
        for (int k = 0; k < UML_MAX_RANK; k++) {
            if (k != axis && t->dims[k] != out->dims[k]) {
                return NOT_COVERED;
            }
        }
        total += t->dims[axis];
    }
    if (total != out->dims[axis]) {
        return NOT_COVERED;
    }
    if (scratch == NULL) {
        return 0;
    }
    (void)avail;
    int8_t *dst = (int8_t *)n->out;
    uint32_t offset = 0;
    for (int i = 0; i < n->n_inputs; i++) {
        const int32_t *d = n->in_t[i]->dims;
        const int8_t *src = (const int8_t *)n->in[i];
        const uint16_t w = (uint16_t)d[0], z = (uint16_t)d[1], y = (uint16_t)d[2], x = (uint16_t)d[3];
        switch (axis) {
            case 0:
                arm_concatenation_s8_w(src, x, y, z, w, dst, offset);
                break;
            case 1:
                arm_concatenation_s8_z(src, x, y, z, w, dst, (uint16_t)out->dims[1], offset);
                break;
            case 2:
                arm_concatenation_s8_y(src, x, y, z, w, dst, (uint16_t)out->dims[2], offset);
                break;
            default:
                arm_concatenation_s8_x(src, x, y, z, w, dst, (uint16_t)out->dims[3], offset);
                break;
        }
        offset += (uint32_t)d[axis];
    }
    return 0;
}

/* RESHAPE of int8 (reshape.c): a copy with arm_reshape_s8 when the planner gave the output
 * bytes of its own; at the input's offset there is nothing to do, and ours returns at once. */
static int64_t reshape(const uml_node_t *n, uint8_t *scratch, uint32_t avail) {
    const uml_tensor_t *in = n->in_t[0], *out = n->out_t;
    if (n->n_inputs != 1 || n->n_params != 0 || !uml_is(in, UML_DTYPE_INT8) || !uml_is(out, UML_DTYPE_INT8) ||
        in->nbytes != out->nbytes || shares_bytes(in, out)) {
        return NOT_COVERED;
    }
    if (scratch == NULL) {
        return 0;
    }
    (void)avail;
    arm_reshape_s8((const int8_t *)n->in[0], (int8_t *)n->out, out->nbytes);
    return 0;
}

static op_fn op_function(uint8_t opcode) {
    switch (opcode) {
        case UML_OP_CONV_2D:
            return conv_2d;
        case UML_OP_DEPTHWISE_CONV_2D:
            return depthwise_conv_2d;
        case UML_OP_FULLY_CONNECTED:
            return fully_connected;
        case UML_OP_AVERAGE_POOL_2D:
            return average_pool_2d;
        case UML_OP_MAX_POOL_2D:
            return max_pool_2d;
        case UML_OP_SOFTMAX:
            return softmax;
        case UML_OP_ADD:
            return add;
        case UML_OP_MUL:
            return mul;
        case UML_OP_PAD:
            return pad;
        case UML_OP_CONCATENATION:
            return concatenation;
        case UML_OP_RESHAPE:
            return reshape;
        default:
            return NULL;
    }
}

/* ---- Engine hooks -------------------------------------------------------------------- */

/* Where the scratch starts: the planned arena rounded up to the arena alignment. */
static uint32_t scratch_offset(const uml_model_t *m) {
    return align16(m->header->arena_size);
}

/* [off, off + size) lies within [0, limit). */
static int span_ok(uint32_t off, uint32_t size, uint32_t limit) {
    return off <= limit && size <= limit - off;
}

uint32_t uml_cmsis_nn_arena_size(const uml_model_t *m) {
    const uml_header_t *h = m->header;
    int64_t most = 0;
    for (uint32_t i = 0; i < m->n_ops; i++) {
        /* The op is not validated yet: build its node only from parts that lie where they should
         * (the loader rejects the model later if anything else is wrong). */
        const uml_op_t *op = &m->ops[i];
        const op_fn fn = op_function(op->opcode);
        const uint32_t ids_size = ((uint32_t)op->n_inputs * 2u + 3u) & ~3u;
        if (fn == NULL || op->n_inputs > UML_MAX_INPUTS || op->params_off % 4u != 0 || op->params_size % 4u != 0 ||
            op->params_size < ids_size || !span_ok(op->params_off, op->params_size, h->params_size) ||
            op->output >= m->n_tensors) {
            continue;
        }
        const uint8_t *ids = m->params + op->params_off;
        uml_node_t n;
        memset(&n, 0, sizeof(n));
        n.n_inputs = op->n_inputs;
        int ok = 1;
        for (int k = 0; k < op->n_inputs; k++) {
            const uint16_t id = (uint16_t)(ids[2 * k] | (ids[2 * k + 1] << 8));
            if (id != UML_NO_TENSOR) {
                ok = ok && id < m->n_tensors;
                n.in_t[k] = ok ? &m->tensors[id] : NULL;
            }
        }
        if (!ok) {
            continue;
        }
        n.out_t = &m->tensors[op->output];
        n.params = (const int32_t *)(const void *)(ids + ids_size);
        n.n_params = (op->params_size - ids_size) / 4u;
        const int64_t need = fn(&n, NULL, 0);
        if (need > most) {
            most = need;
        }
    }
    const uint64_t total = (uint64_t)scratch_offset(m) + (uint64_t)align16((uint32_t)most);
    /* Beyond the engine's arena limit: no scratch, and the ops that need some run ours. */
    return most == 0 || most > INT32_MAX || total > UINT32_C(0x7fffffff) ? m->arena_size : (uint32_t)total;
}

int uml_cmsis_nn_eval(const uml_model_t *m, uint8_t *arena, uint8_t opcode, const uml_node_t *n) {
    const op_fn fn = op_function(opcode);
    if (fn == NULL) {
        return 0;
    }
    const uint32_t off = scratch_offset(m);
    const uint32_t avail = m->arena_size > off ? m->arena_size - off : 0;
    /* Never NULL (that means "plan"): the tail, or the arena itself when there is no tail. */
    uint8_t *scratch = avail ? arena + off : arena;
    const int ran = fn(n, scratch, avail) != NOT_COVERED;
#ifdef UML_CMSIS_NN_TRACE
    /* Host harness only (tests/test_cmsis_nn.py): which ops CMSIS-NN took. */
    fprintf(stderr, "cmsis-nn op %u %s\n", (unsigned)opcode, ran ? "taken" : "ours");
#endif
    return ran;
}

#else
/* The default build: nothing here (ISO C wants a declaration in every translation unit). */
typedef int uml_cmsis_nn_not_built;
#endif
