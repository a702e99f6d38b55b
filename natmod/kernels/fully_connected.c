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
/* Output channel oc's int8 value for accumulator acc (uml_out_stage_apply), with the down form
 * of fast.h when the channel's shift allows it: on DSP cores e = -shift in [1, 31] and
 * |acc + bias| < 2^30 (so that 2 (acc + bias) is exact), elsewhere e in [2, 31]. Used where
 * every output has its own accumulator (one batch), so a table of constants would not pay.
 * r: the channel's bias (0 without), multiplier and shift. */
typedef struct {
    const int32_t *bias, *mult, *shift; /* bias: NULL when absent */
    int32_t per_channel;                /* 0: one multiplier and shift for every channel */
    int32_t out_off, lo, hi;            /* copies (stores to the int8 output could alias *s) */
} fc_rq_t;

static __attribute__((noinline)) int8_t fc_out_general(const uml_out_stage_t *s, int32_t oc, int32_t acc) {
    return uml_out_stage_apply(s, acc, oc);
}

UML_INLINE_LOOP int8_t fc_out(const uml_out_stage_t *s, const fc_rq_t *r, int32_t oc, int32_t acc) {
    const int32_t q = r->per_channel ? oc : 0, sh = r->shift[q], m = r->mult[q];
    const int32_t v = r->bias ? uml_add_wrap(acc, r->bias[oc]) : acc;
#ifdef UML_FAST_DSP
    if ((uint32_t)(sh + 31) <= 30u && (uint32_t)v + (UINT32_C(1) << 30) < (UINT32_C(1) << 31)) {
        const int32_t x = uml_rq_down_dsp(v, 0, m, (int32_t)(UINT32_C(1) << (-sh - 1)), -sh);
        return uml_rq_out(x, r->out_off, r->lo, r->hi);
    }
#else
    if ((uint32_t)(sh + 31) <= 29u) {
        uml_rq_t t;
        t.bias = 0;
        t.mult = m;
        t.a = (int32_t)(UINT32_C(1) << (-sh - 2));
        t.b = -sh - 1;
        return uml_rq_out(uml_rq_scale(&t, v, 1), r->out_off, r->lo, r->hi);
    }
#endif
    return fc_out_general(s, oc, acc);
}

#ifdef UML_FAST_DSP
/* Rows w and w + S against the int8 input x (n >= 1 groups of 4 values, plus the offset o2 in
 * both lanes), laying x out into q as uml_gemm_* reads it on the way: acc[j] += x . w_j. Two
 * groups per iteration (an odd count enters at the second); the end of x is kept on the stack,
 * 13 registers. */
static inline void fc_gemm_1x2_layout(const int8_t *x, uint32_t o2, uint32_t *q, const int8_t *w, int32_t S, int32_t n,
                                      int32_t acc[2]) {
#define FC_1X2_GROUP                            \
    "ldr %[A], [%[x]], #4\n\t"                  \
    "sxtab16 %[q0], %[o], %[A]\n\t"             \
    "sxtab16 %[q1], %[o], %[A], ror #8\n\t"     \
    "strd %[q0], %[q1], [%[q]], #8\n\t"         \
    "ldr %[A], [%[w], %[S]]\n\t"                \
    "ldr %[C], [%[w]], #4\n\t"                  \
    "sxtb16 %[B], %[A], ror #8\n\t"             \
    "sxtb16 %[A], %[A]\n\t"                     \
    "sxtb16 %[n], %[C], ror #8\n\t"             \
    "sxtb16 %[C], %[C]\n\t"                     \
    "smlad %[a1], %[q0], %[A], %[a1]\n\t"       \
    "smlad %[a1], %[q1], %[B], %[a1]\n\t"       \
    "smlad %[a0], %[q0], %[C], %[a0]\n\t"       \
    "smlad %[a0], %[q1], %[n], %[a0]\n\t"
    uint32_t q0, q1, A, B, C;
    __asm__ volatile("lsls %[A], %[n], #31\n\t"
                     "add %[n], %[x], %[n], lsl #2\n\t"
                     "push {%[n]}\n\t"
                     "bne 2f\n"
                     "1:\n\t" FC_1X2_GROUP "2:\n\t" FC_1X2_GROUP
                     "ldr %[A], [sp]\n\t"
                     "cmp %[x], %[A]\n\t"
                     "bne 1b\n\t"
                     "add sp, #4\n\t"
                     : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [x] "+r"(x), [q] "+r"(q), [w] "+r"(w), [n] "+r"(n),
                       [q0] "=&r"(q0), [q1] "=&r"(q1), [A] "=&r"(A), [B] "=&r"(B), [C] "=&r"(C)
                     : [S] "r"(S), [o] "r"(o2)
                     : "cc", "memory");
#undef FC_1X2_GROUP
}
#endif

/* One batch: rows in fours, then a pair, then a single row, each output requantized by
 * fc_out. On DSP cores an input of a multiple of 4 values is first laid out as int16 lane
 * pairs (uml_gemm_*, fast.h: up to FC_Q15_VALUES values, 1.5 KB of stack); other depths go by
 * pairs of rows straight from the int8 input. */
#define FC_Q15_VALUES 768

static __attribute__((noinline)) void fc_one(const uml_out_stage_t *s, const int8_t *x, const int8_t *filter,
                                             int32_t depth, int32_t out_depth, int32_t xo, int8_t *o) {
    const int8_t *w = filter;
    int32_t i = 0;
    fc_rq_t r;
    r.bias = s->bias;
    r.mult = s->mult;
    r.shift = s->shift;
    r.per_channel = s->per_channel;
    r.out_off = s->out_off;
    r.lo = s->act_min;
    r.hi = s->act_max;
#ifdef UML_FAST_DSP
    if (depth <= FC_Q15_VALUES && (depth & 3) == 0) {
        const int32_t nq = depth >> 2;
        const uint32_t xo2 = uml_pack_off(xo);
        uint32_t q[FC_Q15_VALUES / 2];
        int32_t rows = out_depth;
        if (nq == 0) {
            /* no products: every accumulator is 0 */
        } else if (out_depth & 2) {
            /* the last two rows first, laying the input out on the way */
            int32_t acc[2] = {0, 0};
            rows = out_depth - 2;
            fc_gemm_1x2_layout(x, xo2, q, w + rows * depth, depth, nq, acc);
            o[rows] = fc_out(s, &r, rows, acc[0]);
            o[rows + 1] = fc_out(s, &r, rows + 1, acc[1]);
        } else {
            const int8_t *xs = x, *xe = x + depth;
            uint32_t *d = q, v, lo;
            __asm__ volatile("1:\n\t"
                             "ldr %[v], [%[x]], #4\n\t"
                             "sxtab16 %[lo], %[o], %[v]\n\t"
                             "sxtab16 %[v], %[o], %[v], ror #8\n\t"
                             "strd %[lo], %[v], [%[d]], #8\n\t"
                             "cmp %[x], %[xe]\n\t"
                             "bne 1b\n\t"
                             : [x] "+r"(xs), [d] "+r"(d), [v] "=&r"(v), [lo] "=&r"(lo)
                             : [o] "r"(xo2), [xe] "r"(xe)
                             : "cc", "memory");
        }
        for (; i + 4 <= rows; i += 4, w += 4 * depth) {
            int32_t acc[4] = {0, 0, 0, 0};
            uml_gemm_1x4(q, w, depth, nq, acc);
            o[i] = fc_out(s, &r, i, acc[0]);
            o[i + 1] = fc_out(s, &r, i + 1, acc[1]);
            o[i + 2] = fc_out(s, &r, i + 2, acc[2]);
            o[i + 3] = fc_out(s, &r, i + 3, acc[3]);
        }
        if (i + 2 <= rows) {
            int32_t acc[2] = {0, 0};
            uml_gemm_1x2(q, w, depth, nq, acc);
            o[i] = fc_out(s, &r, i, acc[0]);
            o[i + 1] = fc_out(s, &r, i + 1, acc[1]);
            i += 2;
            w += 2 * depth;
        }
        if (i < rows) {
            o[i] = fc_out(s, &r, i, uml_gemm_1x1(q, w, nq, 0));
        }
        return;
    }
    for (; i + 2 <= out_depth; i += 2, w += 2 * depth) {
        int32_t acc[2] = {0, 0};
        uml_dot_1x2s(x, w, depth, depth, xo, acc);
        o[i] = fc_out(s, &r, i, acc[0]);
        o[i + 1] = fc_out(s, &r, i + 1, acc[1]);
    }
    if (i < out_depth) {
        o[i] = fc_out(s, &r, i, uml_dot_1x1(x, w, depth, xo, 0));
    }
#else
    for (; i + 4 <= out_depth; i += 4, w += 4 * depth) {
        const uml_acc4_t zero = {0, 0, 0, 0};
        const uml_acc4_t acc = uml_sdot_1x4(x, w, depth, depth, xo, zero);
        o[i] = fc_out(s, &r, i, acc.a0);
        o[i + 1] = fc_out(s, &r, i + 1, acc.a1);
        o[i + 2] = fc_out(s, &r, i + 2, acc.a2);
        o[i + 3] = fc_out(s, &r, i + 3, acc.a3);
    }
    if (i + 2 <= out_depth) {
        int32_t acc[2] = {0, 0};
        uml_sdot_1x2(x, w, depth, depth, xo, acc);
        o[i] = fc_out(s, &r, i, acc[0]);
        o[i + 1] = fc_out(s, &r, i + 1, acc[1]);
        i += 2;
        w += 2 * depth;
    }
    if (i < out_depth) {
        o[i] = fc_out(s, &r, i, uml_sdot_1x1(x, w, depth, xo, 0));
    }
#endif
}

/* Filter offset 0 only (int8 weights are symmetric); the output never shares memory with the
 * input. On DSP cores pairs of batches go by pairs of output channels (each loaded input word
 * serves two filter rows and each filter word two batches), with one table of requantization
 * constants per block of channels; a last single batch goes through fc_one. */
static void fc_fast(const uml_node_t *n) {
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t s =
        uml_out_stage(n, n->params[P_OUTPUT_OFFSET], n->params[P_ACT_MIN], n->params[P_ACT_MAX]);
    int8_t *output = (int8_t *)n->out;
    const int32_t out_depth = n->in_t[1]->dims[0], depth = n->in_t[1]->dims[1];
    const int32_t elems = uml_tensor_elems(n->in_t[0]);
    const int32_t batches = elems == depth ? 1 : elems / depth; /* armv6m divides in software */
    const int32_t xo = n->params[P_INPUT_OFFSET];
    int32_t b = 0;
#ifdef UML_FAST_DSP
    if (batches >= 2) {
        const int32_t out_off = s.out_off, lo = s.act_min, hi = s.act_max;
        const int down = uml_rq_down_ok(&s, out_depth, depth);
        uml_rq_t t[UML_RQ_BLOCK];
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
    }
#endif
    for (; b < batches; b++) {
        fc_one(&s, input + b * depth, filter, depth, out_depth, xo, output + b * out_depth);
    }
}
#endif

void uml_eval_fully_connected(const uml_node_t *n) {
#ifdef UML_FAST
    if (n->params[P_FILTER_OFFSET] == 0) {
        fc_fast(n);
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
