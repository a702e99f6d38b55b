/*
 * DEPTHWISE_CONV_2D, int8 activations, int8 weights, int32 bias (TFLite Micro
 * reference_integer_ops::DepthwiseConvPerChannel).
 *
 * inputs: 0 input int8 [batches, in_h, in_w, in_ch]
 *         1 filter int8 const [1, k_h, k_w, out_ch], out_ch = in_ch * depth_multiplier
 *         2 bias int32 const [out_ch] (optional)
 *         3 multiplier int32 const [1 or out_ch]
 *         4 shift int32 const [1 or out_ch]
 * params: see conv.h (offsets, strides, dilations, paddings, activation range)
 * output: int8 [batches, out_h, out_w, out_ch]
 *
 * Output channel oc reads input channel oc / depth_multiplier (the depth multiplier is
 * implied by the shapes). Filter zero points are not used, as in TFLite Micro. Taps that
 * fall outside the input (padding) contribute nothing.
 */
#include "conv.h"
#include "fast.h"

const char *uml_validate_depthwise_conv_2d(const uml_node_t *n) {
    UML_REQUIRE(n->n_inputs == 5 && n->n_params == UML_CONV_COUNT, "corrupt model: DEPTHWISE_CONV_2D arguments");
    const uml_tensor_t *in = n->in_t[0], *filter = n->in_t[1], *out = n->out_t;
    UML_REQUIRE(uml_conv_tensors_ok(in, filter, out), "corrupt model: DEPTHWISE_CONV_2D tensor types");
    const int32_t k_h = filter->dims[1], k_w = filter->dims[2], out_ch = filter->dims[3];
    const int32_t in_ch = in->dims[3];
    UML_REQUIRE(filter->dims[0] == 1 && out->dims[0] == in->dims[0] && out->dims[3] == out_ch &&
                out_ch % in_ch == 0,
                "corrupt model: DEPTHWISE_CONV_2D shapes");
    UML_REQUIRE((int64_t)k_h * k_w <= UML_CONV_MAX_ACC_DEPTH, "DEPTHWISE_CONV_2D filter too large");
    return uml_validate_conv_rest(n, out_ch, k_h, k_w, "corrupt model: DEPTHWISE_CONV_2D bias",
                                  "corrupt model: DEPTHWISE_CONV_2D strides, dilations or paddings",
                                  "corrupt model: DEPTHWISE_CONV_2D parameters");
}

#ifdef UML_FAST
/* The geometry and output stage of one DEPTHWISE_CONV_2D, unpacked once for the fast paths.
 * Output channel oc reads input channel oc / dm; most models have dm = 1. */
typedef struct {
    const int8_t *input, *filter;
    int8_t *output;
    uml_out_stage_t stage;
    int32_t batches, in_h, in_w, ch, k_h, k_w, out_h, out_w;
    int32_t in_off, stride_h, stride_w, dil_h, dil_w, pad_h, pad_w;
    int32_t och, dm; /* output channels, depth multiplier (och = ch * dm) */
} dw_t;
#endif

#ifdef UML_FAST_DSP
/* Four channels at a time: one word of four input channels and the matching filter word per
 * tap, split into the int16 lane pairs (c0, c2) and (c1, c3), multiplied lane by lane
 * (SMLABB/SMLATT) into four accumulators. */

/* acc[0..3] += (x[c] + offset) * w[c], c < 4, for one tap; xo2: the input offset, packed. */
UML_INLINE_LOOP void dw_tap4(const int8_t *x, const int8_t *w, uint32_t xo2, int32_t acc[4]) {
    uint32_t X, W, Xl, Wl;
    __asm__("ldr %[X], [%[x]]\n\t"
            "ldr %[W], [%[w]]\n\t"
            "sxtab16 %[Xl], %[o], %[X]\n\t"
            "sxtb16 %[Wl], %[W]\n\t"
            "smlabb %[a0], %[Xl], %[Wl], %[a0]\n\t"
            "smlatt %[a2], %[Xl], %[Wl], %[a2]\n\t"
            "sxtab16 %[X], %[o], %[X], ror #8\n\t"
            "sxtb16 %[W], %[W], ror #8\n\t"
            "smlabb %[a1], %[X], %[W], %[a1]\n\t"
            "smlatt %[a3], %[X], %[W], %[a3]\n\t"
            : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [a2] "+r"(acc[2]), [a3] "+r"(acc[3]), [X] "=&r"(X),
              [W] "=&r"(W), [Xl] "=&r"(Xl), [Wl] "=&r"(Wl)
            : [x] "r"(x), [w] "r"(w), [o] "r"(xo2)
            : "memory");
}

/* One tap of four channels at [x + xo], [w + wo], as dw_tap4. */
#define DW_TAP4(xo, wo)                                         \
    "ldr %[X], [%[x]" xo "]\n\t"                                \
    "ldr %[W], [%[w]" wo "]\n\t"                                \
    "sxtab16 %[Xl], %[o], %[X]\n\t"                             \
    "sxtb16 %[Wl], %[W]\n\t"                                    \
    "smlabb %[a0], %[Xl], %[Wl], %[a0]\n\t"                     \
    "smlatt %[a2], %[Xl], %[Wl], %[a2]\n\t"                     \
    "sxtab16 %[X], %[o], %[X], ror #8\n\t"                      \
    "sxtb16 %[W], %[W], ror #8\n\t"                             \
    "smlabb %[a1], %[X], %[W], %[a1]\n\t"                       \
    "smlatt %[a3], %[X], %[W], %[a3]\n\t"
/* A 3-wide row: taps C bytes apart in input and filter (dilation 1); leaves x, w advanced by C
 * (12 registers in all: no register for 2 C). */
#define DW_ROW3                             \
    DW_TAP4("", "") DW_TAP4(", %[C]", ", %[C]") \
    "add %[x], %[C]\n\t"                    \
    "add %[w], %[C]\n\t" DW_TAP4(", %[C]", ", %[C]")
#define DW_OPERANDS(Xc)                                                                                     \
    : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [a2] "+r"(acc[2]), [a3] "+r"(acc[3]), [X] Xc(X), [W] "=&r"(W), \
      [Xl] "=&r"(Xl), [Wl] "=&r"(Wl), [x] "+r"(x), [w] "+r"(w)                                           \
    : [o] "r"(xo2), [C] "r"(C)                                                                          \
    : "cc", "memory"

UML_INLINE_LOOP void dw_row3x4(const int8_t *x, const int8_t *w, int32_t C, uint32_t xo2, int32_t acc[4]) {
    uint32_t X, W, Xl, Wl;
    __asm__(DW_ROW3 DW_OPERANDS("=&r"));
}

/* The whole 3x3 window: input rows xrow bytes apart (kept on the stack), filter rows 3 C. */
UML_INLINE_LOOP void dw_win3x3x4(const int8_t *x, const int8_t *w, int32_t C, int32_t xrow, uint32_t xo2,
                                 int32_t acc[4]) {
    uint32_t X = (uint32_t)(xrow - C), W, Xl, Wl;
    __asm__("push {%[X]}\n\t" DW_ROW3
            "ldr %[X], [sp]\n\t"
            "add %[x], %[X]\n\t"
            "add %[w], %[w], %[C], lsl #1\n\t" DW_ROW3
            "ldr %[X], [sp]\n\t"
            "add %[x], %[X]\n\t"
            "add %[w], %[w], %[C], lsl #1\n\t" DW_ROW3
            "add sp, #4\n\t" DW_OPERANDS("+&r"));
}

/* A 2-wide row (the window's edge columns). */
UML_INLINE_LOOP void dw_row2x4(const int8_t *x, const int8_t *w, int32_t C, uint32_t xo2, int32_t acc[4]) {
    uint32_t X, W, Xl, Wl;
    __asm__(DW_TAP4("", "") DW_TAP4(", %[C]", ", %[C]") DW_OPERANDS("=&r"));
}

/* Output row oy: for each block of channels (one requantization table), every output pixel of
 * the row, four channels at a time. The row's outputs are written after reading input rows from
 * oy * stride_h - pad_h on only, as the reference does. */
UML_INLINE_LOOP void dw_row_dsp(const dw_t *g, const int8_t *in_b, int32_t oy, int8_t *out, int down) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t C = g->ch, out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    const uint32_t xo2 = uml_pack_off(g->in_off);
    const uml_pack_t P = uml_pack(out_off, lo, hi);
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    int32_t fy_lo, fy_hi;
    uml_conv_inside_taps(y0, g->dil_h, g->k_h, g->in_h, &fy_lo, &fy_hi);
    const int32_t xrow = g->dil_h * g->in_w * C, wrow = g->k_w * C;
    uml_rq_t t[UML_RQ_BLOCK];
    for (int32_t c0 = 0; c0 < C; c0 += UML_RQ_BLOCK) {
        const int32_t nb = C - c0 < UML_RQ_BLOCK ? C - c0 : UML_RQ_BLOCK;
        uml_rq_fill(s, c0, nb, down, t);
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t fx_lo, fx_hi;
            uml_conv_inside_taps(x0, g->dil_w, g->k_w, g->in_w, &fx_lo, &fx_hi);
            const int32_t nfx = fx_hi - fx_lo;
            /* first inside tap of each channel block; unused when the window is all padding */
            const int8_t *xb = in_b + ((y0 + g->dil_h * fy_lo) * g->in_w + x0 + g->dil_w * fx_lo) * C + c0;
            const int8_t *wb = g->filter + (fy_lo * g->k_w + fx_lo) * C + c0;
            int8_t *o = out + ox * C + c0;
            const int row3 = nfx == 3 && g->dil_w == 1, row2 = nfx == 2 && g->dil_w == 1;
            const int win = row3 && fy_hi - fy_lo == 3 && g->k_w == 3;
            int32_t i = 0;
            for (; i + 4 <= nb; i += 4) {
                int32_t acc[4] = {0, 0, 0, 0};
                const int8_t *xr = xb + i, *wr = wb + i;
                if (win) {
                    dw_win3x3x4(xr, wr, C, xrow, xo2, acc);
                } else {
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++, xr += xrow, wr += wrow) {
                        if (row3) {
                            dw_row3x4(xr, wr, C, xo2, acc);
                        } else if (row2) {
                            dw_row2x4(xr, wr, C, xo2, acc);
                        } else {
                            const int8_t *xp = xr, *wp = wr;
                            for (int32_t k = 0; k < nfx; k++, xp += g->dil_w * C, wp += C) {
                                dw_tap4(xp, wp, xo2, acc);
                            }
                        }
                    }
                }
                uml_st32(o + i, UML_RQ_OUT4(0, 1, 2, 3, t + i, acc[0], acc[1], acc[2], acc[3], &P, down));
            }
            for (; i < nb; i++) {
                int32_t acc = 0;
                const int8_t *xr = xb + i, *wr = wb + i;
                for (int32_t fy = fy_lo; fy < fy_hi; fy++, xr += xrow, wr += wrow) {
                    for (int32_t k = 0; k < nfx; k++) {
                        acc += (xr[k * g->dil_w * C] + g->in_off) * wr[k * C];
                    }
                }
                o[i] = uml_rq_out(uml_rq_scale(&t[i], acc, down), out_off, lo, hi);
            }
        }
    }
}

#endif

#ifdef UML_FAST_SCALAR
/* Depth multiplier 1 without SIMD: per output pixel and channel, the taps inside the input,
 * row by row. On armv6m (and armv7m) the 3x3 window (and 3- or 2-tap rows of partial windows)
 * are written in assembly: LDRSB with register offsets (0, C, 2 C) for input and filter alike,
 * since consecutive taps of a row are C bytes apart in both (dilation 1). */
#ifdef UML_FAST_THUMB1_ASM
/* The whole 3x3 window: rows xrow (input) and 3 C (filter) bytes apart. */
static inline int32_t dw_win3x3_s(const int8_t *x, const int8_t *w, int32_t C, int32_t xrow, int32_t xo) {
    const int32_t C2 = 2 * C, wrow = 3 * C, z = 0;
    int32_t acc, t0, t1;
    __asm__(".syntax unified\n\t"
            "ldrsb %[t0], [%[x], %[z]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[acc], [%[w], %[z]]\n\t"
            "muls %[acc], %[t0]\n\t"
            "ldrsb %[t0], [%[x], %[C]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C2]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C2]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "add %[x], %[xr]\n\t"
            "add %[w], %[wr]\n\t"
            "ldrsb %[t0], [%[x], %[z]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[z]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C2]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C2]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "add %[x], %[xr]\n\t"
            "add %[w], %[wr]\n\t"
            "ldrsb %[t0], [%[x], %[z]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[z]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C2]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C2]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            : [acc] "=&l"(acc), [t0] "=&l"(t0), [t1] "=&l"(t1), [x] "+l"(x), [w] "+l"(w)
            : [C] "l"(C), [C2] "l"(C2), [z] "l"(z), [o] "h"(xo), [xr] "h"(xrow), [wr] "h"(wrow)
            : "cc", "memory");
    return acc;
}

/* acc + one window row of 3 (or 2) taps C bytes apart in input and filter. */
static inline int32_t dw_row3_s(const int8_t *x, const int8_t *w, int32_t C, int32_t xo, int32_t acc) {
    const int32_t C2 = 2 * C, z = 0;
    int32_t t0, t1;
    __asm__(".syntax unified\n\t"
            "ldrsb %[t0], [%[x], %[z]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[z]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C2]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C2]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            : [acc] "+l"(acc), [t0] "=&l"(t0), [t1] "=&l"(t1)
            : [x] "l"(x), [w] "l"(w), [C] "l"(C), [C2] "l"(C2), [z] "l"(z), [o] "h"(xo)
            : "cc", "memory");
    return acc;
}
static inline int32_t dw_row2_s(const int8_t *x, const int8_t *w, int32_t C, int32_t xo, int32_t acc) {
    const int32_t z = 0;
    int32_t t0, t1;
    __asm__(".syntax unified\n\t"
            "ldrsb %[t0], [%[x], %[z]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[z]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            "ldrsb %[t0], [%[x], %[C]]\n\t"
            "add %[t0], %[o]\n\t"
            "ldrsb %[t1], [%[w], %[C]]\n\t"
            "muls %[t1], %[t0]\n\t"
            "adds %[acc], %[t1]\n\t"
            : [acc] "+l"(acc), [t0] "=&l"(t0), [t1] "=&l"(t1)
            : [x] "l"(x), [w] "l"(w), [C] "l"(C), [z] "l"(z), [o] "h"(xo)
            : "cc", "memory");
    return acc;
}
#endif

#ifdef __ARM_ARCH_6M__
/* dw3x3_run_m0's taps: r5 += (x[r0 + k] + r8) * w[r1 + k] for the column offset k in register
 * r (r4, r2, r3: taps 0, 1, 2 of a row), and the step to the next row (r9, r10: row strides). */
#define DW_M0_TAP(r)                \
    "ldrsb r6, [r0, " r "]\n\t" \
    "add r6, r8\n\t"             \
    "ldrsb r7, [r1, " r "]\n\t" \
    "muls r7, r6\n\t"            \
    "adds r5, r7\n\t"
#define DW_M0_ROW3 DW_M0_TAP("r4") DW_M0_TAP("r2") DW_M0_TAP("r3")
#define DW_M0_ROW2 DW_M0_TAP("r4") DW_M0_TAP("r2")
#define DW_M0_NEXT_ROW "add r0, r9\n\t" "add r1, r10\n\t"

/* Windows of 1-3 rows of 3 (or 2) taps inside the input (dilation 1 along a row), down form,
 * armv6m: a run of channels of one output pixel in one assembly loop (the C loop around
 * dw_win3x3_s kept spilling its pointers). Per channel: the taps as in dw_row3_s / dw_row2_s,
 * entered at the row block that leaves nfy rows (MOV PC to an address set up once), then
 * the SRDHM of uml_rq_down_m0 on v = acc + bias (the same instructions with fixed registers,
 * the |v| >= 2^15 case out of line) in the wide down form (dw_wide_ok), then uml_rq_out; v < 0
 * with out_off <= lo gives lo (s <= 0, as in dw_row_dm_m0), tested out of line. The
 * low registers of the taps are pushed for the requantization; push, pop, LDM and STM are one
 * instruction each. Fields 0-9 are copied to the stack frame. Row blocks are 17 (3 taps) or
 * 12 (2 taps) 16-bit instructions. After the run's last channel, the next of npix pixels with
 * the same inside taps: x, w, t and o step back to the first channel and on by one pixel. */
typedef struct {
    const uml_rq_t *t; /* table entry of the first channel; one entry per channel */
    int32_t out_off, lo, hi;
    int8_t *o, *oend; /* outputs of the run (oend > o) */
    int32_t npix;        /* pixels (>= 1) */
    int32_t xadj;        /* input step between pixels minus oend - o */
    int32_t nb, oadj;    /* oend - o; output step between pixels minus nb */
    const int8_t *x, *w; /* first inside tap of the first channel, input and filter */
    int32_t C, xo, xrow, wrow;
    int32_t nfy, nfx; /* rows 1..3, taps per row 2 or 3 */
} dw3_run_t;

/* Entry and exit of the naked armv6m assembly functions below: r4-r11 and lr saved on the stack
 * (armv6m pushes only low registers, so r8-r11 go through r4-r7), restored on return. */
#define DW_M0_SAVE_ALL        \
    "push {r4-r7, lr}\n\t"   \
    "mov r4, r8\n\t"         \
    "mov r5, r9\n\t"         \
    "mov r6, r10\n\t"        \
    "mov r7, r11\n\t"        \
    "push {r4-r7}\n\t"
#define DW_M0_RETURN          \
    "pop {r4-r7}\n\t"        \
    "mov r8, r4\n\t"         \
    "mov r9, r5\n\t"         \
    "mov r10, r6\n\t"        \
    "mov r11, r7\n\t"        \
    "pop {r4-r7, pc}\n\t"

static __attribute__((naked, noipa)) void dw3x3_run_m0(const dw3_run_t *a) {
    __asm__ volatile(
        ".syntax unified\n\t"
        DW_M0_SAVE_ALL
        "sub sp, #40\n\t"
        "ldm r0!, {r1-r6}\n\t"
        "mov r7, sp\n\t"
        "stm r7!, {r1-r6}\n\t"
        "ldm r0!, {r1-r4}\n\t"
        "stm r7!, {r1-r4}\n\t"
        "ldm r0!, {r1-r6}\n\t"
        "mov r8, r4\n\t"
        "mov r9, r5\n\t"
        "mov r10, r6\n\t"
        "ldr r7, [r0]\n\t"
        "subs r7, #1\n\t"
        "muls r5, r7\n\t"
        "movs r4, #1\n\t"
        "subs r4, r4, r5\n\t"
        "mov r11, r4\n\t"
        "muls r6, r7\n\t"
        "movs r4, #1\n\t"
        "subs r4, r4, r6\n\t"
        "mov r12, r4\n\t"
        "ldr r4, [r0, #4]\n\t"
        "cmp r4, #3\n\t"
        "bne 11f\n\t"
        "adr r6, 10f\n\t"
        "movs r5, #34\n\t"
        "b 12f\n\t"
        "11:\n\t"
        "adr r6, 20f\n\t"
        "movs r5, #24\n\t"
        "12:\n\t"
        "movs r4, #2\n\t"
        "subs r4, r4, r7\n\t"
        "muls r5, r4\n\t"
        "adds r6, r5\n\t"
        "mov lr, r6\n\t"
        "movs r0, r1\n\t"
        "movs r1, r2\n\t"
        "movs r2, r3\n\t"
        "lsls r3, r2, #1\n\t"
        "movs r4, #0\n\t"
        "1:\n\t"
        "movs r5, #0\n\t"
        "mov pc, lr\n\t"
        ".align 2\n\t"
        "10:\n\t" DW_M0_ROW3 DW_M0_NEXT_ROW DW_M0_ROW3 DW_M0_NEXT_ROW DW_M0_ROW3
        "2:\n\t"
        "push {r0-r4}\n\t"
        "ldr r4, [sp, #20]\n\t"
        "ldm r4!, {r0-r3}\n\t"
        "str r4, [sp, #20]\n\t"
        "adds r5, r0\n\t"
        "bmi 8f\n\t"
        "9:\n\t"
        "sxth r0, r5\n\t"
        "cmp r0, r5\n\t"
        "bne 6f\n\t"
        "asrs r6, r1, #16\n\t"
        "uxth r7, r1\n\t"
        "muls r7, r5\n\t"
        "asrs r7, r7, #16\n\t"
        "muls r6, r5\n\t"
        "adds r7, r6\n\t"
        "ldr r6, =0x4000\n\t"
        "adds r7, r6\n\t"
        "asrs r5, r7, #15\n\t"
        "lsrs r0, r5, #31\n\t"
        "subs r5, r0\n\t"
        "adds r5, r2\n\t"
        "asrs r5, r3\n\t"
        "3:\n\t"
        "add r4, sp, #24\n\t"
        "ldm r4!, {r0-r2}\n\t"
        "adds r5, r0\n\t"
        "cmp r5, r1\n\t"
        "bge 4f\n\t"
        "movs r5, r1\n\t"
        "4:\n\t"
        "cmp r5, r2\n\t"
        "ble 5f\n\t"
        "movs r5, r2\n\t"
        "5:\n\t"
        "ldm r4!, {r0, r1}\n\t"
        "strb r5, [r0]\n\t"
        "adds r0, #1\n\t"
        "str r0, [sp, #36]\n\t"
        "cmp r0, r1\n\t"
        "pop {r0-r4}\n\t"
        "add r0, r11\n\t"
        "add r1, r12\n\t"
        "bne 1b\n\t"
        "ldr r5, [sp, #24]\n\t" /* next pixel */
        "subs r5, #1\n\t"
        "beq 13f\n\t"
        "str r5, [sp, #24]\n\t"
        "ldr r5, [sp, #28]\n\t"
        "adds r0, r5\n\t"
        "ldr r5, [sp, #32]\n\t"
        "subs r1, r5\n\t"
        "ldr r6, [sp]\n\t"
        "lsls r7, r5, #4\n\t"
        "subs r6, r7\n\t"
        "str r6, [sp]\n\t"
        "ldr r6, [sp, #16]\n\t"
        "ldr r7, [sp, #36]\n\t"
        "adds r6, r7\n\t"
        "str r6, [sp, #16]\n\t"
        "adds r6, r5\n\t"
        "str r6, [sp, #20]\n\t"
        "b 1b\n\t"
        "13:\n\t"
        "add sp, #40\n\t"
        DW_M0_RETURN
        "6:\n\t" /* |v| >= 2^15: v = vh 2^16 + vl (uml_rq_down_m0) */
        "asrs r7, r5, #16\n\t"
        "uxth r4, r5\n\t"
        "lsrs r6, r1, #16\n\t"
        "uxth r0, r1\n\t"
        "movs r5, r4\n\t"
        "muls r5, r0\n\t"
        "lsrs r5, r5, #16\n\t"
        "muls r4, r6\n\t"
        "adds r5, r4\n\t"
        "muls r0, r7\n\t"
        "adds r5, r0\n\t"
        "ldr r4, =0x4000\n\t"
        "adds r5, r4\n\t"
        "muls r6, r7\n\t"
        "lsls r6, r6, #1\n\t"
        "cmp r7, #0\n\t"
        "blt 7f\n\t"
        "lsrs r5, r5, #15\n\t" /* v >= 0: s >= 0, s + a shifted as unsigned */
        "adds r5, r6\n\t"
        "adds r5, r2\n\t"
        "lsrs r5, r3\n\t"
        "b 3b\n\t"
        "7:\n\t"
        "asrs r5, r5, #15\n\t" /* v < 0: s' + a shifted as signed */
        "adds r5, r6\n\t"
        "lsrs r0, r5, #31\n\t"
        "subs r5, r0\n\t"
        "adds r5, r2\n\t"
        "asrs r5, r3\n\t"
        "b 3b\n\t"
        "8:\n\t" /* v < 0: the output is lo when out_off <= lo (dw_row_dm_m0) */
        "ldr r6, [sp, #24]\n\t"
        "ldr r7, [sp, #28]\n\t"
        "cmp r6, r7\n\t"
        "bgt 9b\n\t"
        "movs r5, r7\n\t"
        "add r4, sp, #36\n\t"
        "b 5b\n\t"
        ".align 2\n\t"
        "20:\n\t" DW_M0_ROW2 DW_M0_NEXT_ROW DW_M0_ROW2 DW_M0_NEXT_ROW DW_M0_ROW2
        "b 2b\n\t"
        ".ltorg\n");
}
#endif

#ifdef __ARM_ARCH_6M__
/* The "wide" down form of depth multiplier 1 on armv6m: every channel has a right shift
 * e = -shift in [1, 31] (or a zero multiplier, stored with e = 1); the table holds a = 2^(e-1),
 * b = e. With v = acc + bias, s = SRDHM(v, m) and s' = s - [s < 0],
 * uml_rdbpot(s, e) = floor((s' + 2^(e-1)) / 2^e) (the remainder test of uml_rdbpot moved into
 * the sum). The sum need not fit int32, but it has the sign of v (m >= 0: s has the sign of v or
 * is 0, and then the sum is a > 0): for v >= 0, 0 <= s <= 2^31 - 2 (v m <= (2^31 - 1)^2), so
 * s + a lies in [0, 2^32) and is shifted as unsigned; for v < 0, s >= 1 - 2^31 (v m >= 2^31 - 2^62),
 * so s' + a lies in [-2^31, 2^30] and is shifted as signed. When |v| < 2^15, |s| < 2^15 and the
 * signed form serves both signs. A zero multiplier gives s = 0 and floor(1 / 2) = 0. The
 * entry's b is the right shift of the general form (whose left shift is 0). */
static int dw_wide_ok(const uml_out_stage_t *s, int32_t channels) {
    const int32_t cnt = s->per_channel ? channels : 1;
    for (int32_t i = 0; i < cnt; i++) {
        if (s->mult[i] != 0 && (s->shift[i] > -1 || s->shift[i] < -31)) {
            return 0;
        }
    }
    return 1;
}

static void dw_wide_fill(const uml_out_stage_t *s, int32_t oc0, int32_t n, uml_rq_t *t) {
    for (int32_t i = 0; i < n; i++) {
        const int32_t oc = oc0 + i, q = s->per_channel ? oc : 0, m = s->mult[q];
        const int32_t e = m == 0 ? 1 : -s->shift[q];
        t[i].bias = s->bias ? s->bias[oc] : 0;
        t[i].mult = m;
        t[i].a = (int32_t)(UINT32_C(1) << (e - 1));
        t[i].b = e;
    }
}

/* The C windows (off the hot path) take the general form with left shift 0 on either table. */
static __attribute__((noinline)) int32_t dw_wide_scale(const uml_rq_t *r, int32_t acc, int down) {
    const int32_t v = uml_shl_wrap(uml_add_wrap(acc, r->bias), down ? 0 : r->a);
    return uml_rdbpot(uml_fast_srdhm(v, r->mult), r->b);
}
#define DW_S_FILL(s, c0, nb, down, t) ((down) ? dw_wide_fill(s, c0, nb, t) : uml_rq_fill(s, c0, nb, 0, t))
#define DW_S_SCALE(t, acc, down) dw_wide_scale(t, acc, down)
#else
#define DW_S_FILL(s, c0, nb, down, t) uml_rq_fill(s, c0, nb, down, t)
#define DW_S_SCALE(t, acc, down) uml_rq_scale(t, acc, down)
#endif

/* acc + the taps of one window row: n taps, input taps xs bytes apart, filter taps C apart. */
static inline int32_t dw_row_taps_s(const int8_t *x, const int8_t *w, int32_t n, int32_t xs, int32_t C, int32_t xo,
                                    int32_t acc) {
    for (int32_t k = 0; k < n; k++, x += xs, w += C) {
        acc += (x[0] + xo) * w[0];
    }
    return acc;
}

static __attribute__((noinline)) void dw_row_s(const dw_t *g, int down, const int8_t *in_b, int32_t oy,
                                               int8_t *out) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t C = g->ch, xo = g->in_off, out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    int32_t fy_lo, fy_hi;
    uml_conv_inside_taps(y0, g->dil_h, g->k_h, g->in_h, &fy_lo, &fy_hi);
    const int32_t nfy = fy_hi - fy_lo, xrow = g->dil_h * g->in_w * C, wrow = g->k_w * C, xs = g->dil_w * C;
    uml_rq_t t[UML_RQ_BLOCK];
#ifdef __ARM_ARCH_6M__
    dw3_run_t run = {.t = t, .out_off = out_off, .lo = lo, .hi = hi, .C = C, .xo = xo, .xrow = xrow, .wrow = wrow};
#endif
    for (int32_t c0 = 0; c0 < C; c0 += UML_RQ_BLOCK) {
        const int32_t nb = C - c0 < UML_RQ_BLOCK ? C - c0 : UML_RQ_BLOCK;
        DW_S_FILL(s, c0, nb, down, t);
        for (int32_t ox = 0, n = 1; ox < g->out_w; ox += n, n = 1) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t fx_lo, fx_hi;
            uml_conv_inside_taps(x0, g->dil_w, g->k_w, g->in_w, &fx_lo, &fx_hi);
            const int32_t nfx = fx_hi - fx_lo;
            /* first inside tap of the block's first channel; unused when the window is padding */
            const int8_t *xb = in_b + ((y0 + g->dil_h * fy_lo) * g->in_w + x0 + g->dil_w * fx_lo) * C + c0;
            const int8_t *wb = g->filter + (fy_lo * g->k_w + fx_lo) * C + c0;
            int8_t *o = out + ox * C + c0;
#ifdef UML_FAST_THUMB1_ASM
            if (g->dil_w == 1 && (nfx == 3 || nfx == 2)) {
                const int full = nfy == 3 && nfx == 3 && g->k_w == 3;
#ifdef __ARM_ARCH_6M__
                if (down && nfy >= 1 && nfy <= 3) {
                    if (nfx == g->k_w) { /* the run of whole windows (along x) from here */
                        while (ox + n < g->out_w && x0 + n * g->stride_w + nfx - 1 < g->in_w) {
                            n++;
                        }
                    }
                    run.npix = n;
                    run.xadj = g->stride_w * C - nb;
                    run.nb = nb;
                    run.oadj = C - nb;
                    run.nfy = nfy;
                    run.nfx = nfx;
                    run.o = o;
                    run.oend = o + nb;
                    run.x = xb;
                    run.w = wb;
                    dw3x3_run_m0(&run);
                    continue;
                }
#endif
                for (int32_t i = 0; i < nb; i++) {
                    int32_t acc = 0;
                    if (full) {
                        acc = dw_win3x3_s(xb + i, wb + i, C, xrow, xo);
                    } else {
                        const int8_t *xr = xb + i, *wr = wb + i;
                        for (int32_t fy = 0; fy < nfy; fy++, xr += xrow, wr += wrow) {
                            acc = nfx == 3 ? dw_row3_s(xr, wr, C, xo, acc) : dw_row2_s(xr, wr, C, xo, acc);
                        }
                    }
                    o[i] = uml_rq_out(DW_S_SCALE(&t[i], acc, down), out_off, lo, hi);
                }
                continue;
            }
#endif
            for (int32_t i = 0; i < nb; i++) {
                int32_t acc = 0;
                const int8_t *xr = xb + i, *wr = wb + i;
                for (int32_t fy = 0; fy < nfy; fy++, xr += xrow, wr += wrow) {
                    acc = dw_row_taps_s(xr, wr, nfx, xs, C, xo, acc);
                }
                o[i] = uml_rq_out(DW_S_SCALE(&t[i], acc, down), out_off, lo, hi);
            }
        }
    }
}
#endif

#ifdef UML_FAST
/* Any depth multiplier: per output pixel and channel block (one requantization table), each
 * output channel's taps inside the input, row by row; output channel oc reads input channel
 * oc / dm. On DSP cores, with dm a multiple of 4, four output channels at a time share one input
 * value, duplicated into both 16-bit lanes, against a filter word (SMLABB/SMLATT). */
#ifdef UML_FAST_DSP
/* acc[0..3] += (x[0] + offset) * w[c], c < 4. */
UML_INLINE_LOOP void dw_tap1x4(const int8_t *x, const int8_t *w, int32_t xo, int32_t acc[4]) {
    uint32_t X, W, Wl;
    __asm__("ldrsb %[X], [%[x]]\n\t"
            "add %[X], %[o]\n\t"
            "pkhbt %[X], %[X], %[X], lsl #16\n\t"
            "ldr %[W], [%[w]]\n\t"
            "sxtb16 %[Wl], %[W]\n\t"
            "smlabb %[a0], %[X], %[Wl], %[a0]\n\t"
            "smlatt %[a2], %[X], %[Wl], %[a2]\n\t"
            "sxtb16 %[W], %[W], ror #8\n\t"
            "smlabb %[a1], %[X], %[W], %[a1]\n\t"
            "smlatt %[a3], %[X], %[W], %[a3]\n\t"
            : [a0] "+r"(acc[0]), [a1] "+r"(acc[1]), [a2] "+r"(acc[2]), [a3] "+r"(acc[3]), [X] "=&r"(X),
              [W] "=&r"(W), [Wl] "=&r"(Wl)
            : [x] "r"(x), [w] "r"(w), [o] "r"(xo)
            : "memory");
}
#endif

#ifndef UML_FAST_DSP
/* acc.aj += (x + offset) * w[j], j < 4, over n taps: input taps xs bytes apart, filter taps OC. */
UML_INLINE_LOOP uml_acc4_t dw_taps1x4_s(const int8_t *x, const int8_t *w, int32_t n, int32_t xs, int32_t OC,
                                        int32_t xo, uml_acc4_t a) {
#ifdef UML_FAST_THUMB1_ASM
    /* the four sums and the offset in high registers; byte loads with immediate offsets */
    if (n > 0) {
        int32_t v, t;
        __asm__(".syntax unified\n"
                "1:\n\t"
                "ldrb %[v], [%[x]]\n\t"
                "sxtb %[v], %[v]\n\t"
                "add %[v], %[o]\n\t"
                "ldrb %[t], [%[w]]\n\t"
                "sxtb %[t], %[t]\n\t"
                "muls %[t], %[v]\n\t"
                "add %[a0], %[t]\n\t"
                "ldrb %[t], [%[w], #1]\n\t"
                "sxtb %[t], %[t]\n\t"
                "muls %[t], %[v]\n\t"
                "add %[a1], %[t]\n\t"
                "ldrb %[t], [%[w], #2]\n\t"
                "sxtb %[t], %[t]\n\t"
                "muls %[t], %[v]\n\t"
                "add %[a2], %[t]\n\t"
                "ldrb %[t], [%[w], #3]\n\t"
                "sxtb %[t], %[t]\n\t"
                "muls %[t], %[v]\n\t"
                "add %[a3], %[t]\n\t"
                "adds %[x], %[xs]\n\t"
                "adds %[w], %[oc]\n\t"
                "subs %[n], #1\n\t"
                "bne 1b\n\t"
                : [a0] "+h"(a.a0), [a1] "+h"(a.a1), [a2] "+h"(a.a2), [a3] "+h"(a.a3), [x] "+l"(x), [w] "+l"(w),
                  [n] "+l"(n), [v] "=&l"(v), [t] "=&l"(t)
                : [xs] "l"(xs), [oc] "l"(OC), [o] "h"(xo)
                : "cc", "memory");
    }
#else
    for (int32_t k = 0; k < n; k++, x += xs, w += OC) {
        const int32_t v = x[0] + xo;
        a.a0 += v * w[0];
        a.a1 += v * w[1];
        a.a2 += v * w[2];
        a.a3 += v * w[3];
    }
#endif
    return a;
}
#endif

static __attribute__((noinline)) void dw_row_dm(const dw_t *g, int down, const int8_t *in_b, int32_t oy,
                                                int8_t *out) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t C = g->ch, OC = g->och, dm = g->dm, xo = g->in_off;
    const int32_t out_off = s->out_off, lo = s->act_min, hi = s->act_max;
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    int32_t fy_lo, fy_hi;
    uml_conv_inside_taps(y0, g->dil_h, g->k_h, g->in_h, &fy_lo, &fy_hi);
    const int32_t xrow = g->dil_h * g->in_w * C, wrow = g->k_w * OC, xs = g->dil_w * C;
#ifdef UML_FAST_DSP
    const uml_pack_t P = uml_pack(out_off, lo, hi);
#endif
    uml_rq_t t[UML_RQ_BLOCK];
    for (int32_t c0 = 0; c0 < OC; c0 += UML_RQ_BLOCK) {
        const int32_t nb = OC - c0 < UML_RQ_BLOCK ? OC - c0 : UML_RQ_BLOCK;
        uml_rq_fill(s, c0, nb, down, t);
        const int32_t ic0 = c0 / dm, m0 = c0 - ic0 * dm; /* channel c0 reads input channel ic0 */
        for (int32_t ox = 0; ox < g->out_w; ox++) {
            const int32_t x0 = ox * g->stride_w - g->pad_w;
            int32_t fx_lo, fx_hi;
            uml_conv_inside_taps(x0, g->dil_w, g->k_w, g->in_w, &fx_lo, &fx_hi);
            const int32_t nfx = fx_hi - fx_lo;
            /* first inside tap (input channel 0, filter channel c0); unused for an all-padding window */
            const int8_t *xb = in_b + ((y0 + g->dil_h * fy_lo) * g->in_w + x0 + g->dil_w * fx_lo) * C;
            const int8_t *wb = g->filter + (fy_lo * g->k_w + fx_lo) * OC + c0;
            int8_t *o = out + ox * OC + c0;
            int32_t i = 0, ic = ic0, m = m0; /* channel c0 + i reads input channel ic, m = (c0 + i) % dm */
#ifndef __ARM_ARCH_6M__ /* armv6m: dw_row_dm_m0 (or, off its form, the loop below) */
            if ((dm & 3) == 0) {
                /* four output channels of one input channel (c0 and dm multiples of 4) */
                for (; i + 4 <= nb; i += 4) {
                    const int8_t *xr = xb + ic, *wr = wb + i;
                    m += 4;
                    if (m == dm) {
                        m = 0;
                        ic++;
                    }
#ifdef UML_FAST_DSP
                    int32_t acc[4] = {0, 0, 0, 0};
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++, xr += xrow, wr += wrow) {
                        const int8_t *xp = xr, *wp = wr;
                        for (int32_t k = 0; k < nfx; k++, xp += xs, wp += OC) {
                            dw_tap1x4(xp, wp, xo, acc);
                        }
                    }
                    uml_st32(o + i, UML_RQ_OUT4(0, 1, 2, 3, t + i, acc[0], acc[1], acc[2], acc[3], &P, down));
#else
                    uml_acc4_t a = {0, 0, 0, 0};
                    for (int32_t fy = fy_lo; fy < fy_hi; fy++, xr += xrow, wr += wrow) {
                        a = dw_taps1x4_s(xr, wr, nfx, xs, OC, xo, a);
                    }
                    o[i] = uml_rq_out(uml_rq_scale(&t[i], a.a0, down), out_off, lo, hi);
                    o[i + 1] = uml_rq_out(uml_rq_scale(&t[i + 1], a.a1, down), out_off, lo, hi);
                    o[i + 2] = uml_rq_out(uml_rq_scale(&t[i + 2], a.a2, down), out_off, lo, hi);
                    o[i + 3] = uml_rq_out(uml_rq_scale(&t[i + 3], a.a3, down), out_off, lo, hi);
#endif
                }
            }
#endif
            for (; i < nb; i++) {
                int32_t acc = 0;
                const int8_t *xr = xb + ic, *wr = wb + i;
                for (int32_t fy = fy_lo; fy < fy_hi; fy++, xr += xrow, wr += wrow) {
                    const int8_t *xp = xr, *wp = wr;
                    for (int32_t k = 0; k < nfx; k++, xp += xs, wp += OC) {
                        acc += (xp[0] + xo) * wp[0];
                    }
                }
                o[i] = uml_rq_out(uml_rq_scale(&t[i], acc, down), out_off, lo, hi);
                if (++m == dm) {
                    m = 0;
                    ic++;
                }
            }
        }
    }
}
#endif

#if defined(UML_FAST_SCALAR) && defined(__ARM_ARCH_6M__) /* not in the CMSIS-NN build (no UML_FAST) */
/* Depth multiplier a multiple of 4 on armv6m, in the wide down form (dw_wide_ok): one assembly
 * call per run of output pixels with the same inside taps and block of channels, four output
 * channels (one input channel) at a time, group by group, each over the run's pixels. Per tap,
 * one input value plus the offset against four filter bytes into four sums in r8-r11 (the
 * input taps walked with a negative index up to the row's end, the filter pointer by OC); then
 * per channel (a BL to a local subroutine) the requantization of dw3x3_run_m0 with the output
 * stage in the table entry, which one LDM loads: v = acc + bias; v < lt gives lo (lt = 1 when
 * out_off <= lo: v <= 0 gives s <= 0, uml_rdbpot(s, e) <= 0, then out_off at most, clamped to
 * lo; else lt = INT32_MIN), else SRDHM, rounding shift, out_off, clamp. */
typedef struct {
    uml_rq_t r; /* bias, mult, a = 2^(e-1), e: as dw_wide_fill */
    int32_t lt, out_off, lo, hi;
} dwm_rq_t;

typedef struct {
    const dwm_rq_t *t; /*  0: entry of the group's first channel */
    int8_t *o;         /*  4: output of the group's first channel, first pixel */
    const int8_t *x;   /*  8: first inside tap of the group's input channel, first pixel */
    const int8_t *w;   /* 12: first inside tap of the group's first filter channel */
    int32_t xs, OC;    /* 16, 20: tap strides (input, filter) */
    int32_t xrow;      /* 24: input row stride */
    int32_t wstep;     /* 28: filter row stride minus the row's taps */
    int32_t yext;      /* 32: rows (>= 1) * xrow */
    int32_t i0;        /* 36: -taps per row (>= 1) * xs */
    int32_t xo;        /* 40 */
    int32_t dmg, m;    /* 44, 48: groups per input channel; groups left in the current one */
    int32_t npix, xps; /* 52, 56: pixels of the run (>= 1), input step between them */
    int32_t ng;        /* 60: groups of four channels (>= 1) */
} dwm_run_t;

/* One channel of a tap: sum r += (filter byte at [r1 + k]) * r2. */
#define DWM_MAC(k, r) "ldrb r3, [r1" k "]\n\t" "sxtb r3, r3\n\t" "muls r3, r2\n\t" "add " r ", r3\n\t"

/* Stack frame: [sp] pixels left, [sp, #4] x, [sp, #8] o (current pixel), [sp, #12] xrow,
 * [sp, #16] wstep, [sp, #20] the argument. */
static __attribute__((naked, noipa)) void dwm_run_m0(dwm_run_t *a) {
    __asm__ volatile(
        ".syntax unified\n\t"
        DW_M0_SAVE_ALL
        "push {r0}\n\t"
        "ldr r4, [r0, #24]\n\t"
        "ldr r5, [r0, #28]\n\t"
        "push {r4, r5}\n\t"
        "sub sp, #12\n\t"
        "ldr r1, [r0, #40]\n\t"
        "mov r12, r1\n\t"
        "1:\n\t" /* group of four channels */
        "ldr r2, [sp, #20]\n\t"
        "ldr r1, [r2, #52]\n\t"
        "ldr r3, [r2, #8]\n\t"
        "ldr r4, [r2, #4]\n\t"
        "str r1, [sp]\n\t"
        "str r3, [sp, #4]\n\t"
        "str r4, [sp, #8]\n\t"
        "12:\n\t" /* pixel */
        "ldr r2, [sp, #20]\n\t"
        "ldr r0, [sp, #4]\n\t"
        "ldr r1, [r2, #12]\n\t"
        "ldr r5, [r2, #16]\n\t"
        "ldr r6, [r2, #20]\n\t"
        "ldr r7, [r2, #36]\n\t"
        "subs r0, r7\n\t"
        "ldr r3, [r2, #32]\n\t"
        "adds r3, r0\n\t"
        "mov lr, r3\n\t"
        "movs r4, #0\n\t"
        "mov r8, r4\n\t"
        "mov r9, r4\n\t"
        "mov r10, r4\n\t"
        "mov r11, r4\n\t"
        "2:\n\t" /* row: r0 its end, r4 the index of a tap from it */
        "movs r4, r7\n\t"
        "3:\n\t"
        "ldrsb r2, [r0, r4]\n\t"
        "add r2, r12\n\t" DWM_MAC("", "r8") DWM_MAC(", #1", "r9") DWM_MAC(", #2", "r10") DWM_MAC(", #3", "r11")
        "adds r1, r6\n\t"
        "adds r4, r5\n\t"
        "bne 3b\n\t"
        "ldr r3, [sp, #12]\n\t"
        "adds r0, r3\n\t"
        "ldr r3, [sp, #16]\n\t"
        "adds r1, r3\n\t"
        "cmp r0, lr\n\t"
        "bne 2b\n\t"
        "ldr r2, [sp, #20]\n\t"
        "ldr r4, [r2, #0]\n\t"
        "ldr r7, [sp, #8]\n\t"
        "mov r5, r8\n\t"
        "bl 9f\n\t"
        "mov r5, r9\n\t"
        "bl 9f\n\t"
        "mov r5, r10\n\t"
        "bl 9f\n\t"
        "mov r5, r11\n\t"
        "bl 9f\n\t"
        "ldr r2, [sp, #20]\n\t"
        "ldr r1, [r2, #20]\n\t"
        "subs r7, #4\n\t"
        "adds r7, r1\n\t"
        "str r7, [sp, #8]\n\t"
        "ldr r1, [r2, #56]\n\t"
        "ldr r3, [sp, #4]\n\t"
        "adds r3, r1\n\t"
        "str r3, [sp, #4]\n\t"
        "ldr r1, [sp]\n\t"
        "subs r1, #1\n\t"
        "str r1, [sp]\n\t"
        "bne 12b\n\t"
        "str r4, [r2, #0]\n\t" /* next group */
        "ldr r1, [r2, #4]\n\t"
        "adds r1, #4\n\t"
        "str r1, [r2, #4]\n\t"
        "ldr r1, [r2, #12]\n\t"
        "adds r1, #4\n\t"
        "str r1, [r2, #12]\n\t"
        "ldr r1, [r2, #48]\n\t"
        "subs r1, #1\n\t"
        "bne 4f\n\t"
        "ldr r3, [r2, #8]\n\t"
        "adds r3, #1\n\t"
        "str r3, [r2, #8]\n\t"
        "ldr r1, [r2, #44]\n\t"
        "4:\n\t"
        "str r1, [r2, #48]\n\t"
        "ldr r1, [r2, #60]\n\t"
        "subs r1, #1\n\t"
        "str r1, [r2, #60]\n\t"
        "bne 1b\n\t"
        "add sp, #24\n\t"
        DW_M0_RETURN
        "9:\n\t" /* r5 = acc -> [r7++]; r4: table entry (advanced); r0-r3, r6 scratch */
        "ldm r4!, {r0-r3, r6}\n\t"
        "adds r5, r0\n\t"
        "cmp r5, r6\n\t"
        "blt 8f\n\t"
        "sxth r0, r5\n\t"
        "cmp r0, r5\n\t"
        "bne 6f\n\t"
        "asrs r6, r1, #16\n\t"
        "uxth r1, r1\n\t"
        "muls r1, r5\n\t"
        "asrs r1, r1, #16\n\t"
        "muls r6, r5\n\t"
        "adds r1, r6\n\t"
        "ldr r6, =0x4000\n\t"
        "adds r1, r6\n\t"
        "asrs r5, r1, #15\n\t"
        "lsrs r0, r5, #31\n\t"
        "subs r5, r0\n\t"
        "adds r5, r2\n\t"
        "asrs r5, r3\n\t"
        "5:\n\t"
        "ldm r4!, {r0, r1, r6}\n\t"
        "adds r5, r0\n\t"
        "cmp r5, r1\n\t"
        "bge 10f\n\t"
        "movs r5, r1\n\t"
        "10:\n\t"
        "cmp r5, r6\n\t"
        "ble 11f\n\t"
        "movs r5, r6\n\t"
        "11:\n\t"
        "strb r5, [r7]\n\t"
        "adds r7, #1\n\t"
        "bx lr\n\t"
        "8:\n\t"
        "ldm r4!, {r0, r5, r6}\n\t"
        "b 11b\n\t"
        "6:\n\t" /* |v| >= 2^15, as in dw3x3_run_m0 (a, e saved) */
        "push {r2, r3}\n\t"
        "asrs r0, r5, #16\n\t"
        "uxth r5, r5\n\t"
        "lsrs r6, r1, #16\n\t"
        "uxth r1, r1\n\t"
        "movs r2, r5\n\t"
        "muls r2, r1\n\t"
        "lsrs r2, r2, #16\n\t"
        "muls r5, r6\n\t"
        "adds r2, r5\n\t"
        "muls r1, r0\n\t"
        "adds r2, r1\n\t"
        "ldr r1, =0x4000\n\t"
        "adds r2, r1\n\t"
        "muls r6, r0\n\t"
        "lsls r6, r6, #1\n\t"
        "cmp r0, #0\n\t"
        "pop {r0, r3}\n\t"
        "blt 7f\n\t"
        "lsrs r2, r2, #15\n\t" /* v >= 0 */
        "adds r5, r2, r6\n\t"
        "adds r5, r0\n\t"
        "lsrs r5, r3\n\t"
        "b 5b\n\t"
        "7:\n\t"
        "asrs r2, r2, #15\n\t" /* v < 0 */
        "adds r5, r2, r6\n\t"
        "lsrs r1, r5, #31\n\t"
        "subs r5, r1\n\t"
        "adds r5, r0\n\t"
        "asrs r5, r3\n\t"
        "b 5b\n\t"
        ".ltorg\n");
}

#define DWM_BLOCK 16

static __attribute__((noinline, optimize("Os"))) void dw_row_dm_m0(const dw_t *g, const int8_t *in_b, int32_t oy, int8_t *out) {
    const uml_out_stage_t *s = &g->stage;
    const int32_t C = g->ch, OC = g->och, dm = g->dm, k_w = g->k_w, sw = g->stride_w, dw = g->dil_w;
    const int32_t y0 = oy * g->stride_h - g->pad_h;
    int32_t fy_lo, fy_hi;
    uml_conv_inside_taps(y0, g->dil_h, g->k_h, g->in_h, &fy_lo, &fy_hi);
    const int32_t lt = s->out_off <= s->act_min ? 1 : INT32_MIN, nfy = fy_hi - fy_lo;
    dwm_rq_t t[DWM_BLOCK];
    dwm_run_t r;
    r.xs = dw * C;
    r.OC = OC;
    r.xrow = g->dil_h * g->in_w * C;
    r.yext = nfy * r.xrow;
    r.xo = g->in_off;
    r.dmg = dm / 4;
    r.xps = sw * C;
    for (int32_t c0 = 0; c0 < OC; c0 += DWM_BLOCK) {
        const int32_t nb = OC - c0 < DWM_BLOCK ? OC - c0 : DWM_BLOCK;
        const int32_t ic0 = c0 / dm, m0 = r.dmg - (c0 / 4) % r.dmg; /* c0 reads input channel ic0 */
        for (int32_t i = 0; i < nb; i++) {
            dw_wide_fill(s, c0 + i, 1, &t[i].r);
            t[i].lt = lt;
            t[i].out_off = s->out_off;
            t[i].lo = s->act_min;
            t[i].hi = s->act_max;
        }
        for (int32_t ox = 0, n; ox < g->out_w; ox += n) {
            const int32_t x0 = ox * sw - g->pad_w;
            int32_t fx_lo, fx_hi;
            uml_conv_inside_taps(x0, dw, k_w, g->in_w, &fx_lo, &fx_hi);
            const int32_t nfx = fx_hi - fx_lo;
            int8_t *o = out + ox * OC + c0;
            n = 1;
            if (nfx == 0 || nfy == 0) { /* all padding */
                for (int32_t i = 0; i < nb; i++) {
                    o[i] = uml_rq_out(dw_wide_scale(&t[i].r, 0, 1), s->out_off, s->act_min, s->act_max);
                }
                continue;
            }
            if (nfx == k_w) { /* the run of whole windows (along x) from here */
                while (ox + n < g->out_w && x0 + n * sw + dw * (k_w - 1) < g->in_w) {
                    n++;
                }
            }
            r.t = t;
            r.o = o;
            r.x = in_b + ((y0 + g->dil_h * fy_lo) * g->in_w + x0 + dw * fx_lo) * C + ic0;
            r.w = g->filter + (fy_lo * k_w + fx_lo) * OC + c0;
            r.wstep = (k_w - nfx) * OC;
            r.i0 = -nfx * r.xs;
            r.m = m0;
            r.npix = n;
            r.ng = nb / 4;
            dwm_run_m0(&r);
        }
    }
}
#endif

#ifdef UML_FAST
static void dw_fast(const uml_node_t *n) {
    dw_t g;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t *p = n->params;
    g.input = (const int8_t *)n->in[0];
    g.filter = (const int8_t *)n->in[1];
    g.output = (int8_t *)n->out;
    g.stage = uml_conv_out_stage(n);
    g.batches = in_t->dims[0];
    g.in_h = in_t->dims[1];
    g.in_w = in_t->dims[2];
    g.ch = in_t->dims[3];
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
    g.och = f_t->dims[3];
    g.dm = g.och / g.ch;
#ifdef __ARM_ARCH_6M__
    /* depth multiplier 1 (dw_row_s): the wide down form */
    const int wide = dw_wide_ok(&g.stage, g.och);
    const int down = g.dm != 1 ? uml_rq_down_ok(&g.stage, g.och, g.k_h * g.k_w) : wide;
    /* depth multiplier a multiple of 4 (dw_row_dm_m0): the wide down form */
    const int wide_dm = g.dm % 4 == 0 && wide;
#else
    const int down = uml_rq_down_ok(&g.stage, g.och, g.k_h * g.k_w);
#endif
    int8_t *out = g.output;
    for (int32_t b = 0; b < g.batches; b++) {
        const int8_t *in_b = g.input + b * g.in_h * g.in_w * g.ch;
        for (int32_t oy = 0; oy < g.out_h; oy++, out += g.out_w * g.och) {
            if (g.dm != 1) {
#ifdef __ARM_ARCH_6M__
                if (wide_dm) {
                    dw_row_dm_m0(&g, in_b, oy, out);
                    continue;
                }
#endif
                dw_row_dm(&g, down, in_b, oy, out);
                continue;
            }
#ifdef UML_FAST_DSP
            if (down) {
                dw_row_dsp(&g, in_b, oy, out, 1);
            } else {
                dw_row_dsp(&g, in_b, oy, out, 0);
            }
#else
            dw_row_s(&g, down, in_b, oy, out);
#endif
        }
    }
}
#endif

void uml_eval_depthwise_conv_2d(const uml_node_t *n) {
#ifdef UML_FAST
    dw_fast(n);
    return;
#endif
    const int8_t *input = (const int8_t *)n->in[0];
    const int8_t *filter = (const int8_t *)n->in[1];
    const uml_out_stage_t stage = uml_conv_out_stage(n);
    int8_t *output = (int8_t *)n->out;
    const uml_tensor_t *in_t = n->in_t[0], *f_t = n->in_t[1], *out_t = n->out_t;
    const int32_t batches = in_t->dims[0], in_h = in_t->dims[1], in_w = in_t->dims[2], in_ch = in_t->dims[3];
    const int32_t k_h = f_t->dims[1], k_w = f_t->dims[2], out_ch = f_t->dims[3];
    const int32_t depth_mult = out_ch / in_ch;
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
                for (int32_t ic = 0; ic < in_ch; ic++) {
                    for (int32_t m = 0; m < depth_mult; m++) {
                        const int32_t oc = ic * depth_mult + m;
                        int32_t acc = 0;
                        for (int32_t fy = fy_lo; fy < fy_hi; fy++) {
                            const int8_t *x_row = in_b + (y0 + dil_h * fy) * in_w * in_ch + ic;
                            const int8_t *w_row = filter + fy * k_w * out_ch + oc;
                            for (int32_t fx = fx_lo; fx < fx_hi; fx++) {
                                const int32_t x = x_row[(x0 + dil_w * fx) * in_ch];
                                const int32_t w = w_row[fx * out_ch];
                                acc += w * (x + in_off);
                            }
                        }
                        output[oc] = uml_out_stage_apply(&stage, acc, oc);
                    }
                }
                output += out_ch;
            }
        }
    }
}
