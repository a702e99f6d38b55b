/*
 * CONV_2D, int8 activations, int8 weights, int32 bias (TFLite Micro
 * reference_integer_ops::ConvPerChannel, without groups).
 *
 * inputs: 0 input int8 [batches, in_h, in_w, in_ch]
 *         1 filter int8 const [out_ch, k_h, k_w, in_ch]
 *         2 bias int32 const [out_ch] (optional)
 *         3 multiplier int32 const [1 or out_ch]
 *         4 shift int32 const [1 or out_ch]
 * params: see conv.h (offsets, strides, dilations, paddings, activation range)
 * output: int8 [batches, out_h, out_w, out_ch]
 *
 * Filter zero points are not used (TFLite Micro ignores them for int8 convolution).
 * Taps that fall outside the input (padding) contribute nothing, as in the reference.
 */
#include "conv.h"
#include "fast.h"

const char *uml_validate_conv_2d(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == UML_CONV_COUNT, "corrupt model: CONV_2D arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_conv_tensors_ok(in, filter, out), "corrupt model: CONV_2D tensor types");
    const int32_t out_ch = filter->dims[0], k_h = filter->dims[1], k_w = filter->dims[2];
    const int32_t in_ch = filter->dims[3];
    UML_REQUIRE(in->dims[3] == in_ch && out->dims[0] == in->dims[0] && out->dims[3] == out_ch,
                "corrupt model: CONV_2D shapes");
    UML_REQUIRE((int64_t)k_h * k_w * in_ch <= UML_CONV_MAX_ACC_DEPTH, "CONV_2D filter too large");
    return uml_validate_conv_rest(n, out_ch, k_h, k_w, "corrupt model: CONV_2D bias",
                                  "corrupt model: CONV_2D strides, dilations or paddings",
                                  "corrupt model: CONV_2D parameters");
}


#ifdef UML_FAST
/* The geometry and output stage of one CONV_2D, unpacked once for the fast paths. */
typedef struct {
    const int8_t *input, *filter;
    int8_t *output;
    uml_out_stage_t stage;
    int32_t batches, in_h, in_w, in_ch, out_ch, k_h, k_w, out_h, out_w;
    int32_t in_off, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
} conv_t;

static conv_t conv_unpack(const uml_node_t *n) {
    conv_t g;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t *p = n->params;
    g.input = (const int8_t *)n->in[0];
    g.filter = (const int8_t *)n->in[1];
    g.output = (int8_t *)n->out;
    g.stage = uml_conv_out_stage(n);
    g.batches = in_t->dims[0];
    g.in_h = in_t->dims[1];
    g.in_w = in_t->dims[2];
    g.in_ch = in_t->dims[3];
    g.out_ch = f_t->dims[0];
    g.k_h = f_t->dims[1];
    g.k_w = f_t->dims[2];
    g.out_h = out_t->dims[1];
    g.out_w = out_t->dims[2];
    g.in_off = p[UML_CONV_INPUT_OFFSET];
    g.stride_h = p[UML_CONV_STRIDE_H];
    g.stride_w = p[UML_CONV_STRIDE_W];
    g.dil_h = p[UML_CONV_DILATION_H];
    g.dil_w = p[UML_CONV_DILATION_W];
    g.pad_h = p[UML_CONV_PAD_H];
    g.pad_w = p[UML_CONV_PAD_W];
    return g;
}

/* Copies the window of the output pixel whose window origin is (y0, x0): input values, and
 * -in_off for taps in the padding so that (value + in_off) = 0 there, as the reference's
 * skipped taps (in_off = -input zero point lies in [-127, 128], checked by the caller). Byte
 * loops: windows are small, and a call to memcpy costs more than it saves. */
UML_NO_MEMCPY static void conv_build_s8(const conv_t *g, const int8_t *in_b, int32_t y0, int32_t x0, int8_t *buf) {
    const int32_t in_ch = g->in_ch, row = g->k_w * in_ch;
    const int8_t pad = (int8_t)-g->in_off;
    int32_t fx_lo, fx_hi;
    uml_conv_inside_taps(x0, g->dil_w, g->k_w, g->in_w, &fx_lo, &fx_hi);
    for (int32_t fy = 0; fy < g->k_h; fy++, buf += row) {
        const int32_t iy = y0 + g->dil_h * fy;
        /* the taps inside the input fill buf[a, b) of the filter row, padding the rest */
        int32_t a = fx_lo * in_ch, b = fx_hi * in_ch;
        if (iy < 0 || iy >= g->in_h || b == a) {
            a = b = row;
        }
        for (int32_t k = 0; k < a; k++) {
            buf[k] = pad;
        }
        for (int32_t k = b; k < row; k++) {
            buf[k] = pad;
        }
        if (a == b) {
            continue;
        }
        const int8_t *src = in_b + (iy * g->in_w + x0 + g->dil_w * fx_lo) * in_ch;
        if (g->dil_w == 1) {
            int32_t k = a;
#ifdef UML_FAST_DSP
            for (; k + 4 <= b; k += 4, src += 4) {
                uml_st32(buf + k, uml_ld32(src)); /* unaligned words are fine on this core */
            }
#endif
            for (; k < b; k++) {
                buf[k] = *src++;
            }
        } else {
            for (int32_t k = a; k < b; k += in_ch, src += g->dil_w * in_ch) {
                for (int32_t c = 0; c < in_ch; c++) {
                    buf[k + c] = src[c];
                }
            }
        }
    }
}

#endif

#ifdef UML_FAST_DSP
/* int16 values in the im2col block of uml_gemm_* (fast.h): 768, 1.5 KB of stack. A pixel pair
 * is laid out when its 2 K values fit (K = k_h * k_w * in_ch), one pixel when its K values
 * fit; larger filters take the per-tap path (conv_taps_row_dsp). */
#define CONV_BLOCK_VALUES 768

/* Windows of fewer than 4 channels per tap are staged as int8 first when K fits this. */
#define CONV_STAGE_VALUES 256

typedef struct {
    union {
        uint32_t q[CONV_BLOCK_VALUES / 2];
        int16_t h[CONV_BLOCK_VALUES];
    } u;
    int32_t tail[2][3]; /* the last K % 4 values of each pixel */
} conv_block_t;

/* Lays out the window of the output pixel whose window origin is (y0, x0) into pixel slot p of
 * a block with G words per group of four values (4: pixel pair, 2: one pixel). Taps in the
 * padding are zeros, so they add nothing, as in the reference. With in_ch a multiple of 4, each
 * input word goes straight into the block; else the window is staged as int8 (conv_build_s8)
 * when it fits, or laid out value by value. */
static void conv_build(const conv_t *g, const int8_t *in_b, int32_t y0, int32_t x0, conv_block_t *blk, int32_t G,
                       int32_t p) {
    const int32_t in_ch = g->in_ch, xo = g->in_off;
    if ((in_ch & 3) == 0) {
        const uint32_t xo2 = uml_pack_off(xo);
        uint32_t *q = blk->u.q + 2 * p;
        for (int32_t fy = 0; fy < g->k_h; fy++) {
            const int32_t iy = y0 + g->dil_h * fy;
            const int row_in = iy >= 0 && iy < g->in_h;
            for (int32_t fx = 0; fx < g->k_w; fx++) {
                const int32_t ix = x0 + g->dil_w * fx;
                if (row_in && ix >= 0 && ix < g->in_w) {
                    const int8_t *src = in_b + (iy * g->in_w + ix) * in_ch;
                    for (int32_t c = 0; c < in_ch; c += 4, q += G) {
                        const uint32_t v = uml_ld32(src + c);
                        q[0] = uml_sxtab16_lo(xo2, v);
                        q[1] = uml_sxtab16_hi(xo2, v);
                    }
                } else {
                    for (int32_t c = 0; c < in_ch; c += 4, q += G) {
                        q[0] = 0;
                        q[1] = 0;
                    }
                }
            }
        }
        return;
    }
    const int32_t K = g->k_h * g->k_w * in_ch, K4 = K & ~3;
    if (K <= CONV_STAGE_VALUES && xo != -128) {
        /* the window as int8 (padding: -in_off), then four values at a time as above */
        int8_t stage[CONV_STAGE_VALUES];
        conv_build_s8(g, in_b, y0, x0, stage);
        const uint32_t xo2 = uml_pack_off(xo);
        uint32_t *q = blk->u.q + 2 * p;
        for (int32_t k = 0; k < K4; k += 4, q += G) {
            const uint32_t v = uml_ld32(stage + k);
            q[0] = uml_sxtab16_lo(xo2, v);
            q[1] = uml_sxtab16_hi(xo2, v);
        }
        for (int32_t k = K4; k < K; k++) {
            blk->tail[p][k - K4] = stage[k] + xo;
        }
        return;
    }
    int16_t *h = blk->u.h + 4 * p;
    int32_t k = 0;
    for (int32_t fy = 0; fy < g->k_h; fy++) {
        const int32_t iy = y0 + g->dil_h * fy;
        const int row_in = iy >= 0 && iy < g->in_h;
        for (int32_t fx = 0; fx < g->k_w; fx++) {
            const int32_t ix = x0 + g->dil_w * fx;
            const int8_t *src = row_in && ix >= 0 && ix < g->in_w ? in_b + (iy * g->in_w + ix) * in_ch : NULL;
            for (int32_t c = 0; c < in_ch; c++, k++) {
                const int32_t v = src ? src[c] + xo : 0;
                if (k < K4) {
                    /* group k / 4 of 2 G int16; lanes 0, 2, 1, 3 */
                    h[(k >> 2) * 2 * G + ((k & 1) << 1) + ((k >> 1) & 1)] = (int16_t)v;
                } else {
                    blk->tail[p][k - K4] = v;
                }
            }
        }
    }
}

/* The output row oy of every output channel through im2col blocks: for each block of output
 * channels (one requantization table), pixel pairs (or single pixels) are laid out and
 * multiplied with pairs (or fours) of filter rows. The row's outputs are written after reading
 * input rows from oy * stride_h - pad_h on only, as the reference does. */
UML_INLINE_LOOP void conv_row_dsp(const conv_t *g, const int8_t *in_b, int32_t oy, int8_t *out, conv_block_t *blk,
                                  int down) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t out_ch = g->out_ch, out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    const uml_pack_t P = uml_pack(out_off, lo, hi);
    const int32_t K = g->k_h * g->k_w * g->in_ch, K4 = K & ~3, nq = K4 >> 2, nt = K - K4;
    const int pairs = 2 * K <= CONV_BLOCK_VALUES;
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    uml_rq_t t[UML_RQ_BLOCK];
    for (int32_t oc0 = 0; oc0 < out_ch; oc0 += UML_RQ_BLOCK) {
        const int32_t nb = out_ch - oc0 < UML_RQ_BLOCK ? out_ch - oc0 : UML_RQ_BLOCK;
        uml_rq_fill(s, oc0, nb, down, t);
        int32_t ox = 0;
        while (ox < g->out_w) {
            int8_t *o = out + ox * out_ch + oc0;
            const int8_t *w = g->filter + oc0 * K;
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t i = 0;
            if (pairs && ox + 1 < g->out_w) {
                conv_build(g, in_b, y0, x0, blk, 4, 0);
                conv_build(g, in_b, y0, x0 + g->stride_w, blk, 4, 1);
                for (; i + 2 <= nb; i += 2, w += 2 * K) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    uml_gemm_2x2(blk->u.q, w, K, nq, acc);
                    for (int32_t k = 0; k < nt; k++) {
                        const int32_t w0 = w[K4 + k], w1 = w[K + K4 + k];
                        acc[0] += blk->tail[0][k] * w0;
                        acc[1] += blk->tail[0][k] * w1;
                        acc[2] += blk->tail[1][k] * w0;
                        acc[3] += blk->tail[1][k] * w1;
                    }
                    const uint32_t v = UML_RQ_OUT4(0, 1, 0, 1, t + i, acc[0], acc[1], acc[2], acc[3], &P, down);
                    uml_st16(o + i, v);
                    uml_st16(o + out_ch + i, v >> 16);
                }
                if (i < nb) {
                    int32_t acc[2] = {0, 0};
                    uml_gemm_2x1(blk->u.q, w, nq, acc);
                    for (int32_t k = 0; k < nt; k++) {
                        acc[0] += blk->tail[0][k] * w[K4 + k];
                        acc[1] += blk->tail[1][k] * w[K4 + k];
                    }
                    o[i] = uml_rq_out(uml_rq_scale(&t[i], acc[0], down), out_off, lo, hi);
                    o[out_ch + i] = uml_rq_out(uml_rq_scale(&t[i], acc[1], down), out_off, lo, hi);
                }
                ox += 2;
            } else {
                conv_build(g, in_b, y0, x0, blk, 2, 0);
                for (; i + 4 <= nb; i += 4, w += 4 * K) {
                    int32_t acc[4] = {0, 0, 0, 0};
                    uml_gemm_1x4(blk->u.q, w, K, nq, acc);
                    for (int32_t k = 0; k < nt; k++) {
                        const int32_t v = blk->tail[0][k];
                        acc[0] += v * w[K4 + k];
                        acc[1] += v * w[K + K4 + k];
                        acc[2] += v * w[2 * K + K4 + k];
                        acc[3] += v * w[3 * K + K4 + k];
                    }
                    uml_st32(o + i, UML_RQ_OUT4(0, 1, 2, 3, t + i, acc[0], acc[1], acc[2], acc[3], &P, down));
                }
                for (; i < nb; i++, w += K) {
                    int32_t a = uml_gemm_1x1(blk->u.q, w, nq, 0);
                    for (int32_t k = 0; k < nt; k++) {
                        a += blk->tail[0][k] * w[K4 + k];
                    }
                    o[i] = uml_rq_out(uml_rq_scale(&t[i], a, down), out_off, lo, hi);
                }
                ox += 1;
            }
        }
    }
}

/* uml_dot_1x4s out of line: its loop needs 13 registers, which the compiler cannot free inside
 * the row loop below. */
static __attribute__((noinline)) void conv_dot4(const int8_t *x, const int8_t *w, int32_t S, int32_t n, int32_t xo,
                                                int32_t acc[4]) {
    uml_dot_1x4s(x, w, S, n, xo, acc);
}

/* Filters too large for an im2col block (K > CONV_BLOCK_VALUES): per output pixel, pairs of
 * output channels, accumulated tap by tap over the taps inside the input (each tap a dot
 * product over in_ch input bytes, which is long when K is). */
UML_INLINE_LOOP void conv_taps_row_dsp(const conv_t *g, const int8_t *in_b, int32_t oy, int8_t *out, int down) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t in_ch = g->in_ch, out_ch = g->out_ch, xo = g->in_off;
    const int32_t out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    const int32_t K = g->k_h * g->k_w * in_ch;
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    const uml_pack_t P = uml_pack(out_off, lo, hi);
    int32_t fy_lo, fy_hi;
    uml_conv_inside_taps(y0, g->dil_h, g->k_h, g->in_h, &fy_lo, &fy_hi);
    uml_rq_t t[UML_RQ_BLOCK];
    for (int32_t oc0 = 0; oc0 < out_ch; oc0 += UML_RQ_BLOCK) {
        const int32_t nb = out_ch - oc0 < UML_RQ_BLOCK ? out_ch - oc0 : UML_RQ_BLOCK;
        uml_rq_fill(s, oc0, nb, down, t);
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t fx_lo, fx_hi;
            uml_conv_inside_taps(x0, g->dil_w, g->k_w, g->in_w, &fx_lo, &fx_hi);
            int8_t *o = out + ox * out_ch + oc0;
            int32_t i = 0;
            for (; i + 4 <= nb; i += 4) {
                const int8_t *w = g->filter + (oc0 + i) * K;
                int32_t acc[4] = {0, 0, 0, 0};
                for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                    const int8_t *x = in_b + ((y0 + g->dil_h * fy) * g->in_w + x0 + g->dil_w * fx_lo) * in_ch;
                    const int8_t *wt = w + (fy * g->k_w + fx_lo) * in_ch;
                    for (int32_t fx = fx_lo; fx < fx_hi; fx++, x += g->dil_w * in_ch, wt += in_ch) {
                        conv_dot4(x, wt, K, in_ch, xo, acc);
                    }
                }
                uml_st32(o + i, UML_RQ_OUT4(0, 1, 2, 3, t + i, acc[0], acc[1], acc[2], acc[3], &P, down));
            }
            for (; i < nb; i++) {
                const int8_t *w = g->filter + (oc0 + i) * K;
                int32_t acc = 0;
                for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                    const int8_t *x = in_b + ((y0 + g->dil_h * fy) * g->in_w + x0 + g->dil_w * fx_lo) * in_ch;
                    const int8_t *wt = w + (fy * g->k_w + fx_lo) * in_ch;
                    for (int32_t fx = fx_lo; fx < fx_hi; fx++, x += g->dil_w * in_ch, wt += in_ch) {
                        acc = uml_dot_1x1(x, wt, in_ch, xo, acc);
                    }
                }
                o[i] = uml_rq_out(uml_rq_scale(&t[i], acc, down), out_off, lo, hi);
            }
        }
    }
}

/* ---- Short windows: many pixels per layout, one output channel at a time ---------------
 * First layers (in_ch 1 to 3: 28x28x1 3x3, 49x10x1 10x4, 96x96x3 3x3) have windows of few
 * values (K = k_h k_w in_ch), so laying out one or two windows per pass over the filters costs
 * more than their products. Here the windows of many output pixels are laid out at once, in
 * raster order across output rows (an output pixel's channels are contiguous, so a flat pixel
 * index addresses its outputs), in blocks of 4 pixels: per group of 4 window values
 * k = 4g .. 4g + 3, 8 words, pixel j's (v0, v2) and (v1, v3) at words 2j, 2j + 1, each value
 * doubled (2 (x + in_off), at most 2^9 in magnitude); a window is zero-extended from K to
 * 4 G (K rounded up to 4). Each output channel then runs over the blocks with its filter row
 * (SXTB16 lanes of a filter word), from accumulators that start at twice the bias: the sums are
 * 2 (acc + bias), the operand of the down form's SMMLAR (uml_rq_down_dsp), which
 * uml_rq_down_ok bounds by 2^31 (as every partial sum: 2 bias plus at most K products of
 * magnitude <= 2^16). A filter row is read over 4 G bytes, those past K belonging to the next
 * channel (times zero), or, for the last channels, whose 4 G bytes would run past the filter,
 * from a zero-padded copy. Outputs are written after reading every input of the pixels
 * written, which keeps the planner's order (ops.h). Only the down form takes this path. */
#define CONV_SK_MAX_K 256
/* Words of the layout: 2 KB of stack, one 4-pixel block of the largest K. */
#define CONV_SK_WORDS 512

/* The constants of one output channel, laid out for the assembly of conv_sk_blocks. */
typedef struct {
    int32_t b2[4];          /*  0: 2 bias, once per accumulator */
    int32_t m, a, e;        /* 16: the down form's multiplier, 2^(e-1), e */
    int32_t out_off, S;     /* 28: output offset; bytes between pixels' outputs (out_ch) */
    uint32_t lo4, hi4;      /* 36: act_min, act_max in every byte */
    const uint32_t *q_end;  /* 44: end of the blocks */
    const int8_t *w;        /* 48: the filter row */
    uint32_t entry;         /* 52: where the product loop starts (G odd: its second half) */
    int32_t odd;            /* 56: G & 1 */
} conv_sk_ctx_t;

/* Products, requantization and stores of the 4-pixel blocks from q to c->q_end for the
 * channel of c (G groups), outputs from o on; CLAMP: assembly clamping a0..a3 to [lo, hi]
 * (empty when the activation range is all of int8). 13 registers: c and o are saved on the
 * stack during the products, where they hold the two lane pairs of a filter word. */
/* The clamp packs the 4 int8 values into a word, clamps its bytes with SSUB8/SEL against lo4
 * and hi4 (act_min and act_max in every byte) and takes them apart again (the stores use the
 * low byte of each register). */
#define CONV_SK_CLAMP                                                                            \
    "bfi %[a0], %[a1], #8, #8\n\t"                                                              \
    "bfi %[a0], %[a2], #16, #8\n\t"                                                             \
    "bfi %[a0], %[a3], #24, #8\n\t"                                                             \
    "ldrd r4, r5, [%[c], #36]\n\t"                                                              \
    "ssub8 r6, %[a0], r4\n\t"                                                                   \
    "sel %[a0], %[a0], r4\n\t"                                                                  \
    "ssub8 r6, r5, %[a0]\n\t"                                                                   \
    "sel %[a0], %[a0], r5\n\t"                                                                  \
    "lsr %[a1], %[a0], #8\n\t"                                                                  \
    "lsr %[a2], %[a0], #16\n\t"                                                                 \
    "lsr %[a3], %[a0], #24\n\t"
/* Four values of a window against four filter rows (twice per loop iteration: labels 2 and 3). */
#define CONV_SK_GROUP                  \
    "ldr %[o], [%[X]], #4\n\t"         \
    "ldm %[q]!, {r4, r5, r6, r7}\n\t"  \
    "sxtb16 %[c], %[o]\n\t"            \
    "sxtb16 %[o], %[o], ror #8\n\t"    \
    "smlad %[a0], r4, %[c], %[a0]\n\t" \
    "smlad %[a0], r5, %[o], %[a0]\n\t" \
    "smlad %[a1], r6, %[c], %[a1]\n\t" \
    "smlad %[a1], r7, %[o], %[a1]\n\t" \
    "ldm %[q]!, {r4, r5, r6, r7}\n\t"  \
    "smlad %[a2], r4, %[c], %[a2]\n\t" \
    "smlad %[a2], r5, %[o], %[a2]\n\t" \
    "smlad %[a3], r6, %[c], %[a3]\n\t" \
    "smlad %[a3], r7, %[o], %[a3]\n\t"
#define CONV_SK_BLOCKS(name, CLAMP)                                                              \
    static __attribute__((noinline)) void name(const uint32_t *q, int8_t *o, const int8_t *we,   \
                                               conv_sk_ctx_t *c) {                               \
        register int32_t a0 __asm__("r0"), a1 __asm__("r1"), a2 __asm__("r2"), a3 __asm__("r3"); \
        register uint32_t q0 __asm__("r4"), q1 __asm__("r5"), q2 __asm__("r6"), q3 __asm__("r7"); \
        uint32_t X;                                                                              \
        __asm__ volatile(                                                                        \
            "ldr %[X], [%[c], #56]\n\t"                                                          \
            "cmp %[X], #0\n\t"                                                                   \
            "adr %[X], 2f\n\t"                                                                    \
            "it ne\n\t"                                                                          \
            "adrne %[X], 3f\n\t"                                                                 \
            "orr %[X], %[X], #1\n\t"                                                             \
            "str %[X], [%[c], #52]\n"                                                            \
            "1:\n\t"                                                                             \
            "ldm %[c], {r0, r1, r2, r3}\n\t"                                                     \
            "ldr %[X], [%[c], #48]\n\t"                                                          \
            "strd %[c], %[o], [sp, #-8]!\n\t"                                                    \
            "ldr pc, [%[c], #52]\n"                                                              \
            "2:\n\t" CONV_SK_GROUP "3:\n\t" CONV_SK_GROUP                                            \
            "cmp %[X], %[Y]\n\t"                                                                 \
            "bne 2b\n\t"                                                                         \
            "ldrd %[c], %[o], [sp], #8\n\t"                                                      \
            "add %[X], %[c], #16\n\t"                                                            \
            "ldm %[X], {r4, r5, r6, r7}\n\t"                                                     \
            "smmlar %[X], %[a0], r4, r5\n\t"                                                     \
            "sub %[a0], %[X], %[a0], lsr #31\n\t"                                                \
            "asr %[a0], %[a0], r6\n\t"                                                           \
            "smmlar %[X], %[a1], r4, r5\n\t"                                                     \
            "sub %[a1], %[X], %[a1], lsr #31\n\t"                                                \
            "asr %[a1], %[a1], r6\n\t"                                                           \
            "smmlar %[X], %[a2], r4, r5\n\t"                                                     \
            "sub %[a2], %[X], %[a2], lsr #31\n\t"                                                \
            "asr %[a2], %[a2], r6\n\t"                                                           \
            "smmlar %[X], %[a3], r4, r5\n\t"                                                     \
            "sub %[a3], %[X], %[a3], lsr #31\n\t"                                                \
            "asr %[a3], %[a3], r6\n\t"                                                           \
            "add %[a0], r7\n\t"                                                                  \
            "add %[a1], r7\n\t"                                                                  \
            "add %[a2], r7\n\t"                                                                  \
            "add %[a3], r7\n\t"                                                                  \
            "ssat %[a0], #8, %[a0]\n\t"                                                          \
            "ssat %[a1], #8, %[a1]\n\t"                                                          \
            "ssat %[a2], #8, %[a2]\n\t"                                                          \
            "ssat %[a3], #8, %[a3]\n\t" CLAMP                                                    \
            "ldr %[X], [%[c], #32]\n\t"                                                          \
            "strb %[a0], [%[o]]\n\t"                                                             \
            "strb %[a1], [%[o], %[X]]\n\t"                                                       \
            "add %[o], %[o], %[X], lsl #1\n\t"                                                   \
            "strb %[a2], [%[o]]\n\t"                                                             \
            "strb %[a3], [%[o], %[X]]\n\t"                                                       \
            "add %[o], %[o], %[X], lsl #1\n\t"                                                   \
            "ldr %[X], [%[c], #44]\n\t"                                                          \
            "cmp %[q], %[X]\n\t"                                                                 \
            "bne 1b\n\t"                                                                         \
            : [a0] "=&r"(a0), [a1] "=&r"(a1), [a2] "=&r"(a2), [a3] "=&r"(a3), [q0] "=&r"(q0),    \
              [q1] "=&r"(q1), [q2] "=&r"(q2), [q3] "=&r"(q3), [q] "+&r"(q), [o] "+&r"(o),         \
              [c] "+&r"(c), [X] "=&r"(X)                                                         \
            : [Y] "r"(we)                                                                        \
            : "cc", "memory");                                                                   \
    }
CONV_SK_BLOCKS(conv_sk_blocks, "")
CONV_SK_BLOCKS(conv_sk_blocks_clamp, CONV_SK_CLAMP)

/* n words from src, src + ss, ... as doubled int16 lane pairs plus offset, 2 (v0 + in_off, v2 + in_off) and
 * 2 (v1 + in_off, v3 + in_off), to d, d + 8, ... (the groups of one pixel in a block), n >= 1. */
static inline uint32_t *conv_sk_cvt(uint32_t *d, const int8_t *src, int32_t ss, int32_t n, uint32_t xo2) {
    uint32_t v, lo;
    __asm__ volatile("1:\n\t"
                     "ldr %[v], [%[s]]\n\t"
                     "add %[s], %[ss]\n\t"
                     "sxtab16 %[lo], %[o], %[v]\n\t"
                     "sxtab16 %[v], %[o], %[v], ror #8\n\t"
                     "sadd16 %[lo], %[lo], %[lo]\n\t"
                     "sadd16 %[v], %[v], %[v]\n\t"
                     "strd %[lo], %[v], [%[d]], #32\n\t"
                     "subs %[n], #1\n\t"
                     "bne 1b\n\t"
                     : [d] "+r"(d), [s] "+r"(src), [n] "+r"(n), [v] "=&r"(v), [lo] "=&r"(lo)
                     : [ss] "r"(ss), [o] "r"(xo2)
                     : "cc", "memory");
    return d;
}

/* A band: input rows padded left and right with -in_off (value + in_off = 0, as the
 * reference's skipped taps) out to every window of an output row, rows outside the input all
 * padding, then 4 bytes more (over-reads of the staging below). It holds every input row the
 * windows touch (built once per batch) when they fit, else the k_h rows of one output row. */
#define CONV_SK_BAND 768

/* Bytes per band row, or 0 when no band is used (dilated columns, or too large). */
static int32_t conv_sk_band_width(const conv_t *g) {
    const int32_t span = (g->out_w - 1) * g->stride_w + (g->k_w - 1) * g->dil_w + 1;
    const int32_t right = span - g->pad_w > g->in_w ? span - g->pad_w : g->in_w;
    const int32_t wb = (g->pad_w + right) * g->in_ch;
    return g->dil_w == 1 && g->k_h * wb + 4 <= CONV_SK_BAND ? wb : 0;
}

/* Input rows the windows of a batch touch: from -pad_h on, this many (>= k_h). */
static int32_t conv_sk_rows(const conv_t *g) {
    return (g->out_h - 1) * g->stride_h + (g->k_h - 1) * g->dil_h + 1;
}

UML_NO_MEMCPY static void conv_sk_fill(int8_t *d, int32_t n, uint32_t v4) {
    int32_t k = 0;
    for (; k + 4 <= n; k += 4) {
        uml_st32(d + k, v4);
    }
    for (; k < n; k++) {
        d[k] = (int8_t)v4;
    }
}

/* Band rows for input rows y, y + step, ... (n of them). */
UML_NO_MEMCPY static void conv_sk_band(const conv_t *g, const int8_t *in_b, int32_t y, int32_t step, int32_t n,
                                       int32_t wb, int8_t *band) {
    const uint32_t pad4 = uml_bytes4(-g->in_off);
    const int32_t left = g->pad_w * g->in_ch, row = g->in_w * g->in_ch;
    for (int32_t i = 0; i < n; i++, y += step, band += wb) {
        if (y < 0 || y >= g->in_h) {
            conv_sk_fill(band, wb, pad4);
            continue;
        }
        conv_sk_fill(band, left, pad4);
        const int8_t *src = in_b + y * row;
        int8_t *d = band + left;
        int32_t k = 0;
        for (; k + 4 <= row; k += 4) {
            uml_st32(d + k, uml_ld32(src + k));
        }
        for (; k < row; k++) {
            d[k] = src[k];
        }
        conv_sk_fill(band + left + row, wb - left - row, pad4);
    }
    conv_sk_fill(band, 4, pad4);
}

/* One window (the pixel's slot d of a block): from src (window rows rs apart; the input in place
 * when inplace, where a staged read must stay before in_end) or, without src, conv_build_s8. */
typedef struct {
    const conv_t *g;
    const int8_t *in_b, *in_end;
    int8_t *win;
    uint32_t xo2, tmask, tpad;
    int32_t R, K, K4, last;
} conv_sk_win_t;

UML_INLINE_LOOP void conv_sk_pixel(const conv_sk_win_t *c, uint32_t *d, const int8_t *src, int32_t rs, int inplace,
                                   int32_t y0, int32_t x0) {
    const int32_t R = c->R, K = c->K, K4 = c->K4;
    if (src && (R & 3) == 0) {
        if (R == 4) {
            conv_sk_cvt(d, src, rs, c->g->k_h, c->xo2);
        } else {
            for (int32_t fy = 0; fy < c->g->k_h; fy++, src += rs) {
                d = conv_sk_cvt(d, src, 4, R >> 2, c->xo2);
            }
        }
        return;
    }
    if (src && (!inplace || c->last <= c->in_end - src)) {
        /* word copies: a row's last word may take up to 3 bytes more (inside the input or
         * band), which the next row or the tail below overwrites */
        int8_t *w = c->win;
        for (int32_t fy = 0; fy < c->g->k_h; fy++, src += rs, w += R) {
            for (int32_t r = 0; r < R; r += 4) {
                uml_st32(w + r, uml_ld32(src + r));
            }
        }
    } else {
        conv_build_s8(c->g, c->in_b, y0, x0, c->win);
    }
    if (K4) {
        d = conv_sk_cvt(d, c->win, 4, K4 >> 2, c->xo2);
    }
    if (K & 3) {
        const uint32_t v = (uml_ld32(c->win + K4) & c->tmask) | c->tpad;
        const uint32_t lo = uml_sxtab16_lo(c->xo2, v), hi = uml_sxtab16_hi(c->xo2, v);
        d[0] = __sadd16(lo, lo);
        d[1] = __sadd16(hi, hi);
    }
}

/* Lays out the windows of output pixels p0 .. p0 + n - 1 (flat index oy * out_w + ox of batch
 * in_b) in 4-pixel blocks of 8 G words per group; the pixel slots after n up to a multiple of 4
 * get zeros. Windows that lie inside the input are read in place, others from the band (full:
 * every row, built by the caller; else the k_h rows of each output row, built here) or, when no
 * band is used, by conv_build_s8. win: 4 G + 3 bytes. in_end: the end of the input tensor. */
UML_NO_MEMCPY static void conv_sk_build(const conv_t *g, const int8_t *in_b, const int8_t *in_end, int32_t p0,
                                        int32_t n, int32_t G, uint32_t *q, int8_t *win, int8_t *band, int full) {
    const int32_t in_ch = g->in_ch;
    conv_sk_win_t c;
    c.g = g;
    c.in_b = in_b;
    c.in_end = in_end;
    c.win = win;
    c.R = g->k_w * in_ch;
    c.K = g->k_h * c.R;
    c.K4 = c.K & ~3;
    c.xo2 = uml_pack_off(g->in_off);
    /* the bytes of the last group from K on: -in_off (so that value + in_off = 0) */
    c.tmask = (c.K & 3) ? (UINT32_C(1) << (8 * (c.K & 3))) - 1 : UINT32_MAX;
    c.tpad = uml_bytes4(-g->in_off) & ~c.tmask;
    const int32_t rs_in = g->dil_h * g->in_w * in_ch;        /* input bytes between window rows */
    c.last = (g->k_h - 1) * rs_in + ((c.R + 3) & ~3);        /* bytes a staged window reads */
    const int32_t sx = g->stride_w * in_ch;                  /* bytes between a row's windows */
    const int32_t y_hi = g->in_h - (g->k_h - 1) * g->dil_h;  /* rows from y0 < y_hi fit */
    const int32_t x_hi = g->in_w - (g->k_w - 1) * g->dil_w; /* windows from x0 < x_hi fit */
    const int32_t wb = conv_sk_band_width(g);
    /* columns inside: no padding on either side, no dilation */
    const int cols_in = g->dil_w == 1 && g->pad_w == 0 && (g->out_w - 1) * g->stride_w + g->k_w <= g->in_w;
    int32_t oy = p0 / g->out_w, ox = p0 - oy * g->out_w;
    int32_t y0 = oy * g->stride_h - g->pad_h;
    int32_t j = 0;
    while (j < n) {
        /* where the windows of output row oy come from: the input in place where they lie
         * inside it, a band when one is used, else conv_build_s8 */
        const int rows_in = g->dil_w == 1 && y0 >= 0 && y0 < y_hi;
        const int8_t *rowp = NULL; /* pixel ox's window at rowp + ox sx, rows rs apart */
        int32_t rs = rs_in;
        int inplace = 0;
        if (rows_in && cols_in) {
            rowp = in_b + y0 * g->in_w * in_ch;
            inplace = 1;
        } else if (full) {
            rowp = band + (y0 + g->pad_h) * wb;
            rs = g->dil_h * wb;
        } else if (wb) {
            conv_sk_band(g, in_b, y0, g->dil_h, g->k_h, wb, band);
            rowp = band;
            rs = wb;
        }
        if (rowp) {
            for (; ox < g->out_w && j < n; ox++, j++) {
                conv_sk_pixel(&c, q + (j >> 2) * 8 * G + (j & 3) * 2, rowp + ox * sx, rs, inplace, y0,
                              ox * g->stride_w - g->pad_w);
            }
        } else {
            for (; ox < g->out_w && j < n; ox++, j++) {
                const int32_t x0 = ox * g->stride_w - g->pad_w;
                const int8_t *src = rows_in && x0 >= 0 && x0 < x_hi ? in_b + (y0 * g->in_w + x0) * in_ch : NULL;
                conv_sk_pixel(&c, q + (j >> 2) * 8 * G + (j & 3) * 2, src, rs, 1, y0, x0);
            }
        }
        ox = 0;
        y0 += g->stride_h;
    }
    for (; j & 3; j++) {
        uint32_t *d = q + (j >> 2) * 8 * G + (j & 3) * 2;
        for (int32_t k = 0; k < G; k++, d += 8) {
            d[0] = 0;
            d[1] = 0;
        }
    }
}

static __attribute__((noinline)) void conv_small_dsp(const conv_t *g) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t out_ch = g->out_ch, K = g->k_h * g->k_w * g->in_ch, G = (K + 3) >> 2, Kp = 4 * G;
    const int32_t npix = g->out_h * g->out_w;
    const int32_t chunk = 4 * (CONV_SK_WORDS / (8 * G)); /* pixels per layout */
    const int clamp = s->act_min != -128 || s->act_max != 127;
    const int8_t *in_end = g->input + g->batches * g->in_h * g->in_w * g->in_ch;
    int8_t win[CONV_SK_MAX_K + 4], band[CONV_SK_BAND];
    conv_sk_fill(win, CONV_SK_MAX_K + 4, 0); /* bytes past a window are read (and masked) */
    /* channels from oc_t on read their filter rows from wt (zero-padded to Kp): 3 channels when
     * K < 4 (Kp = 4), else at most 1 */
    int8_t wt[CONV_SK_MAX_K];
    int32_t oc_t = out_ch;
    while (oc_t > 0 && (oc_t - 1) * K + Kp > out_ch * K) {
        oc_t--;
    }
    for (int32_t k = 0; k < (out_ch - oc_t) * Kp; k++) {
        const int32_t oc = oc_t + k / Kp, i = k % Kp;
        wt[k] = i < K ? g->filter[oc * K + i] : 0;
    }
    uint32_t blk[CONV_SK_WORDS];
    conv_sk_ctx_t c;
    c.odd = G & 1;
    c.out_off = s->out_off;
    c.lo4 = uml_bytes4(s->act_min);
    c.hi4 = uml_bytes4(s->act_max);
    const int32_t wb = conv_sk_band_width(g);
    /* the band holds every row (built once per batch) when they fit and some window needs padding */
    const int full = wb && conv_sk_rows(g) * wb + 4 <= CONV_SK_BAND &&
                     (g->pad_h || g->pad_w || wb != g->in_w * g->in_ch || conv_sk_rows(g) > g->in_h);
    for (int32_t b = 0; b < g->batches; b++) {
        const int8_t *in_b = g->input + b * g->in_h * g->in_w * g->in_ch;
        int8_t *out_b = g->output + b * npix * out_ch;
        if (full) {
            conv_sk_band(g, in_b, -g->pad_h, 1, conv_sk_rows(g), wb, band);
        }
        for (int32_t p0 = 0; p0 < npix; p0 += chunk) {
            const int32_t n = npix - p0 < chunk ? npix - p0 : chunk, nfull = n >> 2;
            const uint32_t *q = blk, *q_full = q + nfull * 8 * G;
            conv_sk_build(g, in_b, in_end, p0, n, G, blk, win, band, full);
            for (int32_t oc = 0; oc < out_ch; oc++) {
                uml_rq_t t;
                uml_rq_fill(s, oc, 1, 1, &t);
                c.b2[0] = c.b2[1] = c.b2[2] = c.b2[3] = t.bias;
                c.m = t.mult;
                c.a = t.a;
                c.e = t.b;
                c.w = oc < oc_t ? g->filter + oc * K : wt + (oc - oc_t) * Kp;
                int8_t *o = out_b + p0 * out_ch + oc;
                if (nfull) {
                    c.S = out_ch;
                    c.q_end = q_full;
                    if (clamp) {
                        conv_sk_blocks_clamp(q, o, c.w + Kp, &c);
                    } else {
                        conv_sk_blocks(q, o, c.w + Kp, &c);
                    }
                }
                if (n & 3) {
                    int8_t last[4];
                    c.S = 1;
                    c.q_end = q_full + 8 * G;
                    if (clamp) {
                        conv_sk_blocks_clamp(q_full, last, c.w + Kp, &c);
                    } else {
                        conv_sk_blocks(q_full, last, c.w + Kp, &c);
                    }
                    for (int32_t j = 0; j < (n & 3); j++) {
                        o[(4 * nfull + j) * out_ch] = last[j];
                    }
                }
            }
        }
    }
}

/* Row by row (conv_row_dsp, conv_taps_row_dsp); out of line so that its block is not on the
 * stack while conv_small_dsp runs. */
static __attribute__((noinline)) void conv_rows_dsp(const conv_t *g, int down) {
    const int taps = g->k_h * g->k_w * g->in_ch > CONV_BLOCK_VALUES;
    conv_block_t blk;
    int8_t *out = g->output;
    for (int32_t b = 0; b < g->batches; b++) {
        const int8_t *in_b = g->input + b * g->in_h * g->in_w * g->in_ch;
        for (int32_t oy = 0; oy < g->out_h; oy++, out += g->out_w * g->out_ch) {
            if (taps) {
                conv_taps_row_dsp(g, in_b, oy, out, down);
            } else if (down) {
                conv_row_dsp(g, in_b, oy, out, &blk, 1);
            } else {
                conv_row_dsp(g, in_b, oy, out, &blk, 0);
            }
        }
    }
}

static void conv_dsp(const conv_t *g) {
    const int32_t K = g->k_h * g->k_w * g->in_ch;
    const int down = uml_rq_down_ok(&g->stage, g->out_ch, K);
    /* the layout of many windows when there are at least 4 (a block) and the down form */
    if (down && K <= CONV_SK_MAX_K && g->in_off != -128 && g->out_h * g->out_w >= 4) {
        conv_small_dsp(g);
    } else {
        conv_rows_dsp(g, down);
    }
}
#endif


#ifdef UML_FAST_SCALAR
#ifndef __ARM_ARCH_6M__
/* int8 window values of one output pixel (conv_build_s8): 512 bytes of stack. */
#define CONV_S8_VALUES 512

enum { CONV_S_1X1, CONV_S_WINDOW, CONV_S_TAPS };

/* acc.aj (j < nj, 4 or 1) += the window of output pixel (y0, x0) times filter rows w + j K,
 * by mode: CONV_S_1X1 the one input pixel (none in the padding), CONV_S_WINDOW the copied
 * window buf, CONV_S_TAPS tap by tap over the taps inside the input. */
UML_INLINE_LOOP uml_acc4_t conv_pixel_s(const conv_t *g, int mode, const int8_t *in_b, int32_t y0, int32_t x0,
                                        const int8_t *buf, const int8_t *w, int nj, uml_acc4_t acc) {
    const int32_t in_ch = g->in_ch, K = g->k_h * g->k_w * in_ch, xo = g->in_off;
    if (mode == CONV_S_1X1) {
        if (y0 >= 0 && y0 < g->in_h && x0 >= 0 && x0 < g->in_w) {
            const int8_t *x = in_b + (y0 * g->in_w + x0) * in_ch;
            if (nj == 4) {
                acc = uml_sdot_1x4(x, w, K, in_ch, xo, acc);
            } else {
                acc.a0 = uml_sdot_1x1(x, w, in_ch, xo, acc.a0);
            }
        }
        return acc;
    }
    if (mode == CONV_S_WINDOW) {
        if (nj == 4) {
            acc = uml_sdot_1x4(buf, w, K, K, xo, acc);
        } else {
            acc.a0 = uml_sdot_1x1(buf, w, K, xo, acc.a0);
        }
        return acc;
    }
    int32_t fy_lo, fy_hi, fx_lo, fx_hi;
    uml_conv_inside_taps(y0, g->dil_h, g->k_h, g->in_h, &fy_lo, &fy_hi);
    uml_conv_inside_taps(x0, g->dil_w, g->k_w, g->in_w, &fx_lo, &fx_hi);
    for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
        const int8_t *x = in_b + ((y0 + g->dil_h * fy) * g->in_w + x0 + g->dil_w * fx_lo) * in_ch;
        const int8_t *wt = w + (fy * g->k_w + fx_lo) * in_ch;
        for (int32_t fx = fx_lo; fx < fx_hi; fx++, x += g->dil_w * in_ch, wt += in_ch) {
            if (nj == 4) {
                acc = uml_sdot_1x4(x, wt, K, in_ch, xo, acc);
            } else {
                acc.a0 = uml_sdot_1x1(x, wt, in_ch, xo, acc.a0);
            }
        }
    }
    return acc;
}

/* Output row oy, for each block of output channels (one requantization table): every pixel of
 * the row, four output channels at a time (each input value loaded once for four filter rows).
 * The row's outputs are written after reading input rows from oy * stride_h - pad_h on only. */
static void conv_row_s(const conv_t *g, int mode, int down, const int8_t *in_b, int32_t oy, int8_t *out,
                       int8_t *buf) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t out_ch = g->out_ch, K = g->k_h * g->k_w * g->in_ch;
    const int32_t out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    uml_rq_t t[UML_RQ_BLOCK];
    for (int32_t oc0 = 0; oc0 < out_ch; oc0 += UML_RQ_BLOCK) {
        const int32_t nb = out_ch - oc0 < UML_RQ_BLOCK ? out_ch - oc0 : UML_RQ_BLOCK;
        uml_rq_fill(s, oc0, nb, down, t);
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            if (mode == CONV_S_WINDOW) {
                conv_build_s8(g, in_b, y0, x0, buf);
            }
            int8_t *o = out + ox * out_ch + oc0;
            const int8_t *w = g->filter + oc0 * K;
            const uml_rq_t *r = t;
            int32_t i = 0;
            for (; i + 4 <= nb; i += 4, w += 4 * K, r += 4, o += 4) {
                const uml_acc4_t zero = {0, 0, 0, 0};
                const uml_acc4_t acc = conv_pixel_s(g, mode, in_b, y0, x0, buf, w, 4, zero);
                o[0] = uml_rq_out(uml_rq_scale(&r[0], acc.a0, down), out_off, lo, hi);
                o[1] = uml_rq_out(uml_rq_scale(&r[1], acc.a1, down), out_off, lo, hi);
                o[2] = uml_rq_out(uml_rq_scale(&r[2], acc.a2, down), out_off, lo, hi);
                o[3] = uml_rq_out(uml_rq_scale(&r[3], acc.a3, down), out_off, lo, hi);
            }
            for (; i < nb; i++, w += K, r++, o++) {
                const uml_acc4_t zero = {0, 0, 0, 0};
                const uml_acc4_t acc = conv_pixel_s(g, mode, in_b, y0, x0, buf, w, 1, zero);
                o[0] = uml_rq_out(uml_rq_scale(r, acc.a0, down), out_off, lo, hi);
            }
        }
    }
}

#else
/* ---- Short windows on armv6m: four output pixels per pass over a filter row -------------
 * As conv_small_dsp: the windows of many output pixels are laid out at once, in raster order
 * across output rows, in blocks of 4 pixels: per window value k, 4 words, the value plus
 * in_off of pixels 0..3 (0 for padding taps). Each output channel then runs over the blocks
 * with its filter row: per value one LDRSB of the filter, one LDM of the 4 pixels' values and
 * 4 MULS (3 instructions per product instead of 4). The layout takes 1 KB of stack. Outputs
 * are written after reading every input of the pixels written (ops.h). */
#define CONV_M0_WORDS 256
#define CONV_M0_MAX_K (CONV_M0_WORDS / 4)

/* One filter value against the 4 pixels' values: t = the filter byte at [we + i], r0-r3 = the next
 * 4 words at q (q advances), a0..a3 += each times t; i += 1. */
#define CONV_M0_MAC4(t, q, we, i, a0, a1, a2, a3) \
    "ldrsb " t ", [" we ", " i "]\n\t"          \
    "ldm " q "!, {r0, r1, r2, r3}\n\t"          \
    "muls r0, " t ", r0\n\t"                    \
    "add " a0 ", r0\n\t"                        \
    "muls r1, " t ", r1\n\t"                    \
    "add " a1 ", r1\n\t"                        \
    "muls r2, " t ", r2\n\t"                    \
    "add " a2 ", r2\n\t"                        \
    "muls r3, " t ", r3\n\t"                    \
    "add " a3 ", r3\n\t"                        \
    "adds " i ", #1\n\t"

/* acc[j] += the sum over k < n (n >= 1) of q[4 k + j] w[k]. */
static __attribute__((noinline)) void conv_m0_block(const int32_t *q, const int8_t *w, int32_t n, int32_t acc[4]) {
    register int32_t x0 __asm__("r0"), x1 __asm__("r1"), x2 __asm__("r2"), x3 __asm__("r3");
    register int32_t a0 __asm__("r8") = acc[0], a1 __asm__("r9") = acc[1], a2 __asm__("r10") = acc[2],
                              a3 __asm__("r11") = acc[3];
    const int8_t *we = w + n;
    int32_t i = -n, t;
    /* two values per iteration; an odd count enters at the second */
    __asm__ volatile(".syntax unified\n\t"
                     "lsls %[t], %[i], #31\n\t"
                     "bne 2f\n"
                     "1:\n\t" CONV_M0_MAC4("%[t]", "%[q]", "%[we]", "%[i]", "%[a0]", "%[a1]", "%[a2]", "%[a3]")
                     "2:\n\t" CONV_M0_MAC4("%[t]", "%[q]", "%[we]", "%[i]", "%[a0]", "%[a1]", "%[a2]", "%[a3]")
                     "bne 1b\n\t"
                     : [a0] "+r"(a0), [a1] "+r"(a1), [a2] "+r"(a2), [a3] "+r"(a3), [q] "+l"(q), [i] "+l"(i),
                       [t] "=&l"(t), "=&r"(x0), "=&r"(x1), "=&r"(x2), "=&r"(x3)
                     : [we] "l"(we)
                     : "cc", "memory");
    acc[0] = a0;
    acc[1] = a1;
    acc[2] = a2;
    acc[3] = a3;
}

/* d[4 k] = src[k] + xo for k < n (n >= 1); returns d + 4 n. */
static inline int32_t *conv_m0_values(int32_t *d, const int8_t *src, int32_t n, int32_t xo) {
    const int8_t *se = src + n;
    int32_t i = -n, t;
    __asm__ volatile(".syntax unified\n"
                     "1:\n\t"
                     "ldrsb %[t], [%[se], %[i]]\n\t"
                     "adds %[t], %[t], %[o]\n\t"
                     "stm %[d]!, {%[t]}\n\t"
                     "adds %[d], #12\n\t"
                     "adds %[i], #1\n\t"
                     "bne 1b\n\t"
                     : [d] "+l"(d), [i] "+l"(i), [t] "=&l"(t)
                     : [se] "l"(se), [o] "l"(xo)
                     : "cc", "memory");
    return d;
}

/* Lays out the windows of output pixels p0 .. p0 + n - 1 (flat index oy * out_w + ox of batch
 * in_b) in blocks of 4 pixels (4 K words each); pixel slots after n up to a multiple of 4 get
 * zeros. win: K bytes. */
UML_NO_MEMCPY static void conv_m0_build(const conv_t *g, const int8_t *in_b, int32_t p0, int32_t n, int32_t *q,
                                        int8_t *win) {
    const int32_t in_ch = g->in_ch, R = g->k_w * in_ch, K = g->k_h * R, xo = g->in_off;
    const int32_t rs = g->dil_h * g->in_w * in_ch;          /* input bytes between window rows */
    const int32_t x_hi = g->in_w - (g->k_w - 1) * g->dil_w; /* windows from x0 < x_hi fit */
    const int32_t y_hi = g->in_h - (g->k_h - 1) * g->dil_h;
    int32_t oy = p0 / g->out_w, ox = p0 - oy * g->out_w;
    int32_t y0 = oy * g->stride_h - g->pad_h, x0 = ox * g->stride_w - g->pad_w;
    int row_in = y0 >= 0 && y0 < y_hi && g->dil_w == 1;
    int32_t j = 0;
    for (; j < n; j++) {
        int32_t *d = q + (j >> 2) * 4 * K + (j & 3);
        if (row_in && x0 >= 0 && x0 < x_hi) {
            const int8_t *src = in_b + (y0 * g->in_w + x0) * in_ch;
            for (int32_t fy = 0; fy < g->k_h; fy++, src += rs) {
                d = conv_m0_values(d, src, R, xo);
            }
        } else {
            conv_build_s8(g, in_b, y0, x0, win);
            conv_m0_values(d, win, K, xo);
        }
        x0 += g->stride_w;
        if (++ox == g->out_w) {
            ox = 0;
            x0 = -g->pad_w;
            y0 += g->stride_h;
            row_in = y0 >= 0 && y0 < y_hi && g->dil_w == 1;
        }
    }
    for (; j & 3; j++) {
        int32_t *d = q + (j >> 2) * 4 * K + (j & 3);
        for (int32_t k = 0; k < K; k++, d += 4) {
            *d = 0;
        }
    }
}

/* The outputs of one channel (table entry t) over the blocks of n pixels, from o on (out_ch
 * apart). */
static __attribute__((noinline)) void conv_m0_channel(const int32_t *q, int32_t n, const int8_t *w, int32_t K,
                                                     const uml_rq_t *t, int8_t *o, int32_t out_ch, int32_t out_off,
                                                     int32_t lo, int32_t hi) {
    for (int32_t j = 0; j < n; j += 4, q += 4 * K) {
        int32_t acc[4] = {t->bias, t->bias, t->bias, t->bias};
        conv_m0_block(q, w, K, acc);
        const int32_t m = n - j < 4 ? n - j : 4;
        for (int32_t i = 0; i < m; i++, o += out_ch) {
            *o = uml_rq_out(uml_rq_down_m0(t, acc[i]), out_off, lo, hi);
        }
    }
}

static __attribute__((noinline)) void conv_small_m0(const conv_t *g) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t out_ch = g->out_ch, K = g->k_h * g->k_w * g->in_ch, npix = g->out_h * g->out_w;
    const int32_t chunk = 4 * (CONV_M0_WORDS / (4 * K)); /* pixels per layout */
    int32_t q[CONV_M0_WORDS];
    int8_t win[CONV_M0_MAX_K];
    for (int32_t b = 0; b < g->batches; b++) {
        const int8_t *in_b = g->input + b * g->in_h * g->in_w * g->in_ch;
        int8_t *out_b = g->output + b * npix * out_ch;
        for (int32_t p0 = 0; p0 < npix; p0 += chunk) {
            const int32_t n = npix - p0 < chunk ? npix - p0 : chunk;
            conv_m0_build(g, in_b, p0, n, q, win);
            for (int32_t oc = 0; oc < out_ch; oc++) {
                uml_rq_t t;
                uml_rq_fill(s, oc, 1, 1, &t);
                conv_m0_channel(q, n, g->filter + oc * K, K, &t, out_b + p0 * out_ch + oc, out_ch, s->out_off,
                                s->act_min, s->act_max);
            }
        }
    }
}

/* ---- armv6m: four output pixels per pass, a chunk of taps at a time --------------------
 * Windows conv_small_m0 does not take: those of 4 output pixels are laid out a chunk at a time: as many whole taps as
 * CONV_T0_WORDS holds (whole filter rows when they fit), or, past CONV_T0_MAX_CH input
 * channels, a slice of one tap's channels; per window value 4 words, the value plus in_off of
 * pixels 0..3. The pass's 4 output pixels follow one another in raster order (within one output
 * row when there are more than UML_RQ_BLOCK output channels); for each block of
 * UML_RQ_BLOCK output channels, each channel adds its products with the chunk's filter values
 * onto its 4 sums (conv_m0_blocks: per value one LDRSB of the filter, one LDM of the 4 pixels'
 * values, 4 MULS and 4 ADDs into high registers). Taps in the padding are laid out as zeros.
 * A block's outputs are written after its windows have been read, so that output row oy is
 * written only while input rows from oy * stride_h - pad_h on are read (ops.h). 1.5 KB of
 * stack (an RP2040 thread on core 1 has 4 KB of C stack in all). */
#define CONV_T0_WORDS 192
#define CONV_T0_MAX_CH (CONV_T0_WORDS / 4)

/* acc[6 j + k] += the sum over i < n of q[4 i + k] w[j K + i], for j < nb (n, nb >= 1), for nb
 * filter rows K bytes apart, their sums (the first 4 words of each conv_t0_ch_t, 24 bytes apart) loaded and
 * stored in the assembly (at [sp]: q, the row's end, -n, K); four values per iteration, the
 * first entered at value (-n) & 3 of the four. */
#define CONV_M0_STEP CONV_M0_MAC4("r4", "r5", "r7", "r6", "r8", "r9", "r10", "r11")
static __attribute__((noinline)) void conv_m0_blocks(const int32_t *q, const int8_t *w, int32_t n, int32_t K,
                                                     int32_t *acc, int32_t nb) {
    register const int32_t *a0 __asm__("r0") = q;
    register const int8_t *a1 __asm__("r1") = w + n;
    register int32_t a2 __asm__("r2") = -n, a3 __asm__("r3") = K;
    register int32_t *a4 __asm__("r4") = acc, *a5 __asm__("r5") = acc + 6 * nb;
    register int32_t a6 __asm__("r6"), a7 __asm__("r7");
    __asm__ volatile(".syntax unified\n\t"
                     "push {r0, r1, r2, r3}\n\t"
                     "mov r12, r4\n\t"
                     "mov lr, r5\n"
                     "0:\n\t"
                     "mov r4, r12\n\t"
                     "ldm r4!, {r0, r1, r2, r3}\n\t"
                     "mov r8, r0\n\t"
                     "mov r9, r1\n\t"
                     "mov r10, r2\n\t"
                     "mov r11, r3\n\t"
                     "ldr r5, [sp, #0]\n\t"
                     "ldr r7, [sp, #4]\n\t"
                     "ldr r6, [sp, #8]\n\t"
                     "lsls r4, r6, #31\n\t"
                     "bcs 6f\n\t"
                     "bne 2f\n\t"
                     "b 1f\n"
                     "6:\n\t"
                     "bne 4f\n\t"
                     "b 3f\n"
                     "1:\n\t" CONV_M0_STEP "2:\n\t" CONV_M0_STEP "3:\n\t" CONV_M0_STEP "4:\n\t" CONV_M0_STEP
                     "bne 1b\n\t"
                     "mov r0, r8\n\t"
                     "mov r1, r9\n\t"
                     "mov r2, r10\n\t"
                     "mov r3, r11\n\t"
                     "mov r4, r12\n\t"
                     "stm r4!, {r0, r1, r2, r3}\n\t"
                     "adds r4, #8\n\t"
                     "mov r12, r4\n\t"
                     "ldr r5, [sp, #12]\n\t"
                     "adds r7, r5\n\t"
                     "str r7, [sp, #4]\n\t"
                     "cmp r4, lr\n\t"
                     "bne 0b\n\t"
                     "add sp, #16\n\t"
                     : "+l"(a0), "+l"(a1), "+l"(a2), "+l"(a3), "+l"(a4), "+l"(a5), "=l"(a6), "=l"(a7)
                     :
                     : "r8", "r9", "r10", "r11", "r12", "lr", "cc", "memory");
}

/* d[4 k] = src[k] + xo for k < n (n a positive multiple of 4), four values per iteration. */
static inline void conv_m0_values4(int32_t *d, const int8_t *src, int32_t n, int32_t xo) {
    const int8_t *s0 = src + n, *s1 = s0 + 1, *s2 = s0 + 2, *s3 = s0 + 3;
    int32_t i = -n, t;
    __asm__ volatile(".syntax unified\n"
                     "1:\n\t"
                     "ldrsb %[t], [%[s0], %[i]]\n\t"
                     "add %[t], %[o]\n\t"
                     "str %[t], [%[d], #0]\n\t"
                     "ldrsb %[t], [%[s1], %[i]]\n\t"
                     "add %[t], %[o]\n\t"
                     "str %[t], [%[d], #16]\n\t"
                     "ldrsb %[t], [%[s2], %[i]]\n\t"
                     "add %[t], %[o]\n\t"
                     "str %[t], [%[d], #32]\n\t"
                     "ldrsb %[t], [%[s3], %[i]]\n\t"
                     "add %[t], %[o]\n\t"
                     "str %[t], [%[d], #48]\n\t"
                     "adds %[d], #64\n\t"
                     "adds %[i], #4\n\t"
                     "bne 1b\n\t"
                     : [d] "+l"(d), [i] "+l"(i), [t] "=&l"(t)
                     : [s0] "l"(s0), [s1] "l"(s1), [s2] "l"(s2), [s3] "l"(s3), [o] "h"(xo)
                     : "cc", "memory");
}

/* n values of one tap from src (NULL: in the padding) into pixel slot d of the layout. */
static __attribute__((noinline)) void conv_t0_tap(int32_t *d, const int8_t *src, int32_t n, int32_t xo) {
    if (!src) {
        for (int32_t c = 0; c < n; c++) {
            d[4 * c] = 0;
        }
    } else if ((n & 3) == 0) {
        conv_m0_values4(d, src, n, xo);
    } else {
        conv_m0_values(d, src, n, xo);
    }
}

/* One output channel of a block: the pass's 4 sums (from the bias on, in the down form) and the
 * down form's multiplier and b = e - 1 (its a = 2^(e-2) = 2^(b-1), uml_rq_entry). */
typedef struct {
    int32_t acc[4];
    int32_t mult, b;
} conv_t0_ch_t;

/* Output i of each channel of T[0 .. nb) (down form, acc[i] including the bias) to o[0 .. nb):
 * uml_rq_down_m0 with the multiplier's halves loaded as halfwords, plus P[0] (output offset),
 * clamped to [P[1], P[2]]. */
static __attribute__((noinline)) void conv_t0_out(const conv_t0_ch_t *T, int32_t i, int8_t *o, int32_t nb,
                                                  const int32_t *P) {
    register int32_t r0 __asm__("r0"), r2 __asm__("r2"), r3 __asm__("r3"), r4 __asm__("r4");
    register int32_t r1 __asm__("r1") = 4 * i;
    register const conv_t0_ch_t *r6 __asm__("r6") = T;
    register int8_t *r7 __asm__("r7") = o;
    register int32_t off __asm__("r8") = P[0], lo __asm__("r9") = P[1], hi __asm__("r10") = P[2];
    register int8_t *end __asm__("r11") = o + nb;
    register int32_t k14 __asm__("r12") = 1 << 14;
    __asm__ volatile(".syntax unified\n"
                     "0:\n\t"
                     "ldr r0, [r6, r1]\n\t"
                     "sxth r2, r0\n\t"
                     "cmp r2, r0\n\t"
                     "bne 4f\n\t"
                     "ldrh r3, [r6, #16]\n\t"
                     "ldrh r4, [r6, #18]\n\t"
                     "muls r3, r0, r3\n\t"
                     "asrs r3, r3, #16\n\t"
                     "muls r4, r0, r4\n\t"
                     "adds r3, r4\n\t"
                     "add r3, r12\n\t"
                     "asrs r0, r3, #15\n\t"
                     "b 5f\n"
                     "4:\n\t"
                     "ldrh r3, [r6, #16]\n\t"
                     "ldrh r4, [r6, #18]\n\t"
                     "uxth r2, r0\n\t"
                     "asrs r0, r0, #16\n\t"
                     "muls r3, r2, r3\n\t"
                     "lsrs r3, r3, #16\n\t"
                     "muls r2, r4, r2\n\t"
                     "adds r3, r2\n\t"
                     "ldrh r2, [r6, #16]\n\t"
                     "muls r2, r0, r2\n\t"
                     "adds r3, r2\n\t"
                     "add r3, r12\n\t"
                     "muls r4, r0, r4\n\t"
                     "cmp r0, #0\n\t"
                     "blt 6f\n\t"
                     "lsrs r3, r3, #15\n\t"
                     "b 7f\n"
                     "6:\n\t"
                     "asrs r3, r3, #15\n"
                     "7:\n\t"
                     "lsls r4, r4, #1\n\t"
                     "adds r0, r3, r4\n"
                     "5:\n\t"
                     "lsrs r2, r0, #31\n\t"
                     "subs r0, r2\n\t"
                     "asrs r0, r0, #1\n\t"
                     "ldr r2, [r6, #20]\n\t"
                     "movs r3, #1\n\t"
                     "lsls r3, r2\n\t"
                     "lsrs r3, r3, #1\n\t"
                     "adds r0, r3\n\t"
                     "asrs r0, r2\n\t"
                     "add r0, r8\n\t"
                     "cmp r0, r9\n\t"
                     "bge 8f\n\t"
                     "mov r0, r9\n"
                     "8:\n\t"
                     "cmp r0, r10\n\t"
                     "ble 9f\n\t"
                     "mov r0, r10\n"
                     "9:\n\t"
                     "strb r0, [r7]\n\t"
                     "adds r7, #1\n\t"
                     "adds r6, #24\n\t"
                     "cmp r7, r11\n\t"
                     "bne 0b\n\t"
                     : "=&l"(r0), "+l"(r1), "=&l"(r2), "=&l"(r3), "=&l"(r4), "+l"(r6), "+l"(r7)
                     : "h"(off), "h"(lo), "h"(hi), "h"(end), "h"(k14)
                     : "cc", "memory");
}

static __attribute__((noinline)) void conv_taps_m0(const conv_t *g, int down) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t in_ch = g->in_ch, out_ch = g->out_ch, taps = g->k_h * g->k_w, K = taps * in_ch;
    const int32_t cs = in_ch < CONV_T0_MAX_CH ? in_ch : CONV_T0_MAX_CH;
    int32_t tc = CONV_T0_WORDS / (4 * cs); /* taps per chunk: whole filter rows when they fit */
    if (tc >= g->k_w) {
        tc -= tc % g->k_w;
    }
    /* a pixel's filter row is one run of input values (laid out at once) when no column is dilated */
    const int32_t run = g->dil_w == 1 && cs == in_ch ? g->k_w : 1;
    const int32_t npix = g->out_h * g->out_w, xo = g->in_off;
    const int32_t out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    int32_t q[CONV_T0_WORDS];
    conv_t0_ch_t T[UML_RQ_BLOCK];
    const int32_t P[3] = {out_off, lo, hi};
    for (int32_t b = 0; b < g->batches; b++) {
        const int8_t *in_b = g->input + b * g->in_h * g->in_w * in_ch;
        int8_t *out_b = g->output + b * npix * out_ch;
        int32_t oy = 0, ox = 0; /* output pixel p0 */
        for (int32_t p0 = 0, n; p0 < npix; p0 += n) {
            int32_t py[4], px[4]; /* window origins of the pass's pixels */
            n = npix - p0 < 4 ? npix - p0 : 4;
            if (out_ch > UML_RQ_BLOCK && g->out_w - ox < n) {
                n = g->out_w - ox;
            }
            for (int32_t i = 0; i < n; i++) {
                py[i] = oy * g->stride_h - g->pad_h;
                px[i] = ox * g->stride_w - g->pad_w;
                if (++ox == g->out_w) {
                    ox = 0;
                    oy++;
                }
            }
            for (int32_t oc0 = 0; oc0 < out_ch; oc0 += UML_RQ_BLOCK) {
                const int32_t nb = out_ch - oc0 < UML_RQ_BLOCK ? out_ch - oc0 : UML_RQ_BLOCK;
                for (int32_t j = 0; j < nb; j++) {
                    const int32_t oc = oc0 + j, qi = s->per_channel ? oc : 0;
                    const int32_t a = down && s->bias ? s->bias[oc] : 0; /* conv_t0_out adds no bias */
                    T[j].mult = s->mult[qi];
                    T[j].b = (s->mult[qi] == 0 ? UML_RQ_EMIN : -s->shift[qi]) - 1;
                    T[j].acc[0] = T[j].acc[1] = T[j].acc[2] = T[j].acc[3] = a;
                }
                int32_t fy = 0, fx = 0, u = 0, c0 = 0; /* the chunk's first tap and channel */
                while (u < taps) {
                    const int32_t cn = in_ch - c0 < cs ? in_ch - c0 : cs;
                    const int32_t nt = cn < in_ch ? 1 : taps - u < tc ? taps - u : tc;
                    int32_t *d = q, ly = fy, lx = fx;
                    for (int32_t v = 0; v < nt;) {
                        /* r taps: the rest of the filter row when it is one run and in the chunk */
                        const int32_t r = lx == 0 && run <= nt - v ? run : 1;
                        for (int32_t i = 0; i < 4; i++) {
                            const int32_t iy = py[i] + g->dil_h * ly, ix = px[i] + g->dil_w * lx;
                            if (i < n && iy >= 0 && iy < g->in_h && ix >= 0 && ix + r <= g->in_w) {
                                conv_t0_tap(d + i, in_b + (iy * g->in_w + ix) * in_ch + c0, r * cn, xo);
                            } else {
                                /* tap by tap, each inside or in the padding */
                                for (int32_t k = 0; k < r; k++) {
                                    const int inside = i < n && iy >= 0 && iy < g->in_h && ix + k >= 0 &&
                                                       ix + k < g->in_w;
                                    conv_t0_tap(d + i + 4 * k * cn,
                                                inside ? in_b + (iy * g->in_w + ix + k) * in_ch + c0 : NULL, cn, xo);
                                }
                            }
                        }
                        d += 4 * r * cn;
                        v += r;
                        lx += r;
                        if (lx == g->k_w) {
                            lx = 0;
                            ly++;
                        }
                    }
                    conv_m0_blocks(q, g->filter + oc0 * K + u * in_ch + c0, nt * cn, K, T[0].acc, nb);
                    c0 += cn;
                    if (c0 == in_ch) {
                        c0 = 0;
                        u += nt;
                        fy = ly;
                        fx = lx;
                    }
                }
                int8_t *o = out_b + p0 * out_ch + oc0;
                for (int32_t i = 0; i < n; i++, o += out_ch) {
                    if (down) {
                        conv_t0_out(T, i, o, nb, P);
                        continue;
                    }
                    for (int32_t j = 0; j < nb; j++) {
                        const int32_t oc = oc0 + j, qi = s->per_channel ? oc : 0;
                        const uml_rq_t r = uml_rq_entry(s->bias ? s->bias[oc] : 0, s->mult[qi], s->shift[qi], 0);
                        o[j] = uml_rq_out(uml_rq_scale(&r, T[j].acc[i], 0), out_off, lo, hi);
                    }
                }
            }
        }
    }
}

/* conv_small_m0 takes short windows when conv_taps_m0 would keep its passes within output rows
 * (more than one channel block) that are not a whole number of passes. */
static void conv_scalar(const conv_t *g) {
    const int down = uml_rq_down_ok(&g->stage, g->out_ch, g->k_h * g->k_w * g->in_ch);
    if (down && g->k_h * g->k_w * g->in_ch <= CONV_M0_MAX_K && g->in_off != -128 && g->out_h * g->out_w >= 4 &&
        g->out_ch > UML_RQ_BLOCK && (g->out_w & 3) != 0) {
        conv_small_m0(g);
    } else {
        conv_taps_m0(g, down);
    }
}
#endif

#ifndef __ARM_ARCH_6M__
/* Row by row (conv_row_s). */
static __attribute__((noinline)) void conv_rows_s(const conv_t *g, int down) {
    const int32_t K = g->k_h * g->k_w * g->in_ch;
    int mode = CONV_S_TAPS;
    if (g->k_h == 1 && g->k_w == 1) {
        mode = CONV_S_1X1;
    } else if (K <= CONV_S8_VALUES && g->in_off != -128) {
        mode = CONV_S_WINDOW;
    }
    int8_t buf[CONV_S8_VALUES];
    int8_t *out = g->output;
    for (int32_t b = 0; b < g->batches; b++) {
        const int8_t *in_b = g->input + b * g->in_h * g->in_w * g->in_ch;
        for (int32_t oy = 0; oy < g->out_h; oy++, out += g->out_w * g->out_ch) {
            conv_row_s(g, mode, down, in_b, oy, out, buf);
        }
    }
}

static void conv_scalar(const conv_t *g) {
    conv_rows_s(g, uml_rq_down_ok(&g->stage, g->out_ch, g->k_h * g->k_w * g->in_ch));
}
#endif
#endif

void uml_eval_conv_2d(const uml_node_t *n) {
#ifdef UML_FAST
    {
        const conv_t g = conv_unpack(n);
#ifdef UML_FAST_DSP
        conv_dsp(&g);
#else
        conv_scalar(&g);
#endif
        return;
    }
#endif
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t stage = uml_conv_out_stage(n);
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], in_ch = in_t->dims[3];
    const int32_t out_ch = f_t->dims[0], k_h = f_t->dims[1], k_w = f_t->dims[2];
    const int32_t out_h = out_t->dims[1], out_w = out_t->dims[2];
    const int32_t *p = n->params;
    const int32_t in_off = p[UML_CONV_INPUT_OFFSET];
    const int32_t stride_h = p[UML_CONV_STRIDE_H], stride_w = p[UML_CONV_STRIDE_W];
    const int32_t dil_h = p[UML_CONV_DILATION_H], dil_w = p[UML_CONV_DILATION_W];
    const int32_t pad_h = p[UML_CONV_PAD_H], pad_w = p[UML_CONV_PAD_W];

    for (int32_t b = 0; b < batches; b++) {
        const int8_t *in_b = input + b * in_h * in_w * in_ch;
        for (int32_t oy = 0; oy < out_h; oy++) {
            const int32_t y0 = oy * stride_h - pad_h;
            int32_t fy_lo, fy_hi;
            uml_conv_inside_taps(y0, dil_h, k_h, in_h, &fy_lo, &fy_hi);
            for (int32_t ox = 0; ox < out_w; ox++) {
                const int32_t x0 = ox * stride_w - pad_w;
                int32_t fx_lo, fx_hi;
                uml_conv_inside_taps(x0, dil_w, k_w, in_w, &fx_lo, &fx_hi);
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
                    *output++ = uml_out_stage_apply(&stage, acc, oc);
                }
            }
        }
    }
}
