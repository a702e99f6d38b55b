/*
 * FULLY_CONNECTED, int8 (TFLite Micro reference_integer_ops::FullyConnected and
 * FullyConnectedPerChannel).
 *
 * inputs: 0 input int8 [..., depth] (any shape with a multiple of depth elements)
 *         1 filter int8 const [out_depth, depth]
 *         2 bias int32 const [out_depth] (optional)
 *         3 multiplier int32 const [1 or out_depth]
 *         4 shift int32 const [1 or out_depth]
 * params: input_offset, filter_offset, output_offset, act_min, act_max
 * output: int8 [batches, out_depth] (any shape with batches * out_depth elements)
 */
#include "common.h"
#include "fast.h"

enum { P_INPUT_OFFSET, P_FILTER_OFFSET, P_OUTPUT_OFFSET, P_ACT_MIN, P_ACT_MAX, P_COUNT };

const char *uml_validate_fully_connected(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == P_COUNT, "corrupt model: FULLY_CONNECTED arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_is(in, UML_DTYPE_INT8) && uml_is(out, UML_DTYPE_INT8) &&
                uml_is_const(filter, UML_DTYPE_INT8) && filter->rank == 2,
                "corrupt model: FULLY_CONNECTED tensor types");
    int32_t out_depth = filter->dims[0], depth = filter->dims[1];
    UML_REQUIRE(depth <= UML_MAX_ACC_DEPTH, "FULLY_CONNECTED input depth too large");
    int32_t in_elems = uml_tensor_elems(in);
    UML_REQUIRE(in_elems % depth == 0, "corrupt model: FULLY_CONNECTED input shape");
    int32_t batches = in_elems / depth;
    UML_REQUIRE((int64_t)uml_tensor_elems(out) == (int64_t)batches * out_depth, "corrupt model: FULLY_CONNECTED output shape");
    UML_REQUIRE(uml_bias_ok(n->in_t[2], out_depth), "corrupt model: FULLY_CONNECTED bias");
    const char *err = uml_check_requant(n, 3, 4, out_depth);
    if (err) {
        return err;
    }
    const int32_t *p = n->params;
    UML_REQUIRE(uml_offset_ok(p[P_INPUT_OFFSET]) && uml_offset_ok(p[P_FILTER_OFFSET]) &&
                uml_offset_ok(p[P_OUTPUT_OFFSET]) && uml_act_range_ok(p[P_ACT_MIN], p[P_ACT_MAX], -128, 127),
                "corrupt model: FULLY_CONNECTED parameters");
    return NULL;
}

#ifdef UML_FAST
/* Output channels in blocks (one requantization table each). On DSP cores: pairs of batches by
 * pairs of output channels (each loaded input word serves two filter rows and each filter word
 * two batches); a single batch is first laid out as int16 pairs (uml_gemm_*, fast.h: 768
 * values, 1.5 KB of stack) and multiplied with fours of filter rows. Else one batch by four
 * output channels. Filter offset 0 only (int8 weights are symmetric); the output never shares
 * memory with the input. */
#define FC_Q15_VALUES 768

static void fc_fast(const uml_node_t *n, int down) {
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t s =
        uml_out_stage(n, n->params[P_OUTPUT_OFFSET], n->params[P_ACT_MIN], n->params[P_ACT_MAX]);
    int8_t *output = (int8_t *)n->out;
    const int32_t out_depth = n->in_t[1]->dims[0], depth = n->in_t[1]->dims[1];
    const int32_t batches = uml_tensor_elems(n->in_t[0]) / depth;
    const int32_t xo = n->params[P_INPUT_OFFSET], out_off = s.out_off, lo = s.act_min, hi = s.act_max;
    uml_rq_t t[UML_RQ_BLOCK];
    int32_t b = 0;
#ifdef UML_FAST_DSP
    for (; b + 2 <= batches; b += 2) {
        for (int32_t oc0 = 0; oc0 < out_depth; oc0 += UML_RQ_BLOCK) {
            const int32_t nb = out_depth - oc0 < UML_RQ_BLOCK ? out_depth - oc0 : UML_RQ_BLOCK;
            uml_rq_fill(&s, oc0, nb, down, t);
            const int8_t *x = input + b * depth, *w = filter + oc0 * depth;
            int8_t *o = output + b * out_depth + oc0;
            int32_t i = 0;
            for (; i + 2 <= nb; i += 2, w += 2 * depth) {
                int32_t acc[4] = {0, 0, 0, 0};
                uml_dot_2x2s(x, w, depth, depth, xo, acc);
                o[i] = uml_rq_out(uml_rq_scale(&t[i], acc[0], down), out_off, lo, hi);
                o[i + 1] = uml_rq_out(uml_rq_scale(&t[i + 1], acc[1], down), out_off, lo, hi);
                o[out_depth + i] = uml_rq_out(uml_rq_scale(&t[i], acc[2], down), out_off, lo, hi);
                o[out_depth + i + 1] = uml_rq_out(uml_rq_scale(&t[i + 1], acc[3], down), out_off, lo, hi);
            }
            if (i < nb) {
                o[i] = uml_rq_out(uml_rq_scale(&t[i], uml_dot_1x1(x, w, depth, xo, 0), down), out_off, lo, hi);
                o[out_depth + i] =
                    uml_rq_out(uml_rq_scale(&t[i], uml_dot_1x1(x + depth, w, depth, xo, 0), down), out_off, lo, hi);
            }
        }
    }
    const uml_pack_t P = uml_pack(out_off, lo, hi);
    const int32_t D4 = depth & ~3, nq = D4 >> 2;
    uint32_t q[FC_Q15_VALUES / 2];
#endif
    for (; b < batches; b++) {
        const int8_t *x = input + b * depth;
#ifdef UML_FAST_DSP
        const int q15 = depth <= FC_Q15_VALUES;
        if (q15) {
            const uint32_t xo2 = uml_pack_off(xo);
            for (int32_t g = 0; g < nq; g++) {
                const uint32_t v = uml_ld32(x + 4 * g);
                q[2 * g] = uml_sxtab16_lo(xo2, v);
                q[2 * g + 1] = uml_sxtab16_hi(xo2, v);
            }
        }
#endif
        for (int32_t oc0 = 0; oc0 < out_depth; oc0 += UML_RQ_BLOCK) {
            const int32_t nb = out_depth - oc0 < UML_RQ_BLOCK ? out_depth - oc0 : UML_RQ_BLOCK;
            uml_rq_fill(&s, oc0, nb, down, t);
            const int8_t *w = filter + oc0 * depth;
            int8_t *o = output + b * out_depth + oc0;
            int32_t i = 0;
#ifdef UML_FAST_DSP
            if (q15) {
                for (; i + 4 <= nb; i += 4, w += 4 * depth) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    uml_gemm_1x4(q, w, depth, nq, acc);
                    for (int32_t k = D4; k < depth; k++) {
                        const int32_t v = x[k] + xo;
                        acc[0] += v * w[k];
                        acc[1] += v * w[depth + k];
                        acc[2] += v * w[2 * depth + k];
                        acc[3] += v * w[3 * depth + k];
                    }
                    uml_st32(o + i, UML_RQ_OUT4(0, 1, 2, 3, t + i, acc[0], acc[1], acc[2], acc[3], &P, down));
                }
                for (; i < nb; i++, w += depth) {
                    int32_t a = uml_gemm_1x1(q, w, nq, 0);
                    for (int32_t k = D4; k < depth; k++) {
                        a += (x[k] + xo) * w[k];
                    }
                    o[i] = uml_rq_out(uml_rq_scale(&t[i], a, down), out_off, lo, hi);
                }
                continue;
            }
            for (; i + 2 <= nb; i += 2, w += 2 * depth) {
                int32_t acc[2] = {0, 0};
                uml_dot_1x2s(x, w, depth, depth, xo, acc);
                o[i] = uml_rq_out(uml_rq_scale(&t[i], acc[0], down), out_off, lo, hi);
                o[i + 1] = uml_rq_out(uml_rq_scale(&t[i + 1], acc[1], down), out_off, lo, hi);
            }
            for (; i < nb; i++, w += depth) {
                o[i] = uml_rq_out(uml_rq_scale(&t[i], uml_dot_1x1(x, w, depth, xo, 0), down), out_off, lo, hi);
            }
#else
            for (; i + 4 <= nb; i += 4, w += 4 * depth) {
                const uml_acc4_t zero = {0, 0, 0, 0};
                const uml_acc4_t acc = uml_sdot_1x4(x, w, depth, depth, xo, zero);
                o[i] = uml_rq_out(uml_rq_scale(&t[i], acc.a0, down), out_off, lo, hi);
                o[i + 1] = uml_rq_out(uml_rq_scale(&t[i + 1], acc.a1, down), out_off, lo, hi);
                o[i + 2] = uml_rq_out(uml_rq_scale(&t[i + 2], acc.a2, down), out_off, lo, hi);
                o[i + 3] = uml_rq_out(uml_rq_scale(&t[i + 3], acc.a3, down), out_off, lo, hi);
            }
            for (; i < nb; i++, w += depth) {
                o[i] = uml_rq_out(uml_rq_scale(&t[i], uml_sdot_1x1(x, w, depth, xo, 0), down), out_off, lo, hi);
            }
#endif
        }
    }
}
#endif

void uml_eval_fully_connected(const uml_node_t *n) {
#ifdef UML_FAST
    if (n->params[P_FILTER_OFFSET] == 0) {
        const uml_out_stage_t s =
            uml_out_stage(n, n->params[P_OUTPUT_OFFSET], n->params[P_ACT_MIN], n->params[P_ACT_MAX]);
        fc_fast(n, uml_rq_down_ok(&s, n->in_t[1]->dims[0], n->in_t[1]->dims[1]));
        return;
    }
#endif
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t stage =
        uml_out_stage(n, n->params[P_OUTPUT_OFFSET], n->params[P_ACT_MIN], n->params[P_ACT_MAX]);
    int8_t *output = (int8_t *)n->out;
    const int32_t out_depth = n->in_t[1]->dims[0], depth = n->in_t[1]->dims[1];
    const int32_t batches = uml_tensor_elems(n->in_t[0]) / depth;
    const int32_t in_off = n->params[P_INPUT_OFFSET], f_off = n->params[P_FILTER_OFFSET];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *x = input + b * depth;
        for (int32_t oc = 0; oc < out_depth; oc++) {
            const int8_t *w = filter + oc * depth;
            int32_t acc = 0;
            for (int32_t d = 0; d < depth; d++) {
                acc += ((int32_t)w[d] + f_off) * ((int32_t)x[d] + in_off);
            }
            output[b * out_depth + oc] = uml_out_stage_apply(&stage, acc, oc);
        }
    }
}
