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

static void conv_dsp(const conv_t *g) {
    const int down = uml_rq_down_ok(&g->stage, g->out_ch, g->k_h * g->k_w * g->in_ch);
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
#endif


#ifdef UML_FAST_SCALAR
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

static void conv_scalar(const conv_t *g) {
    const int32_t K = g->k_h * g->k_w * g->in_ch;
    const int down = uml_rq_down_ok(&g->stage, g->out_ch, g->k_h * g->k_w * g->in_ch);
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
