/*
 * Fixed-point exp, logistic, tanh and reciprocal with the semantics of gemmlowp's
 * fixedpoint.h as TFLite Micro's int8 SOFTMAX, LOGISTIC and TANH use it.
 *
 * Values are int32 "raw" fixed-point numbers: a Qn number (n integer bits) has 31 - n
 * fractional bits, so raw r stands for r / 2^(31 - n). Q0 covers [-1, 1).
 *
 * gemmlowp adds and negates with plain int32 arithmetic. For the inputs the TFLite kernels
 * feed in, those never overflow; for any other input we wrap around (as the reference does
 * on real hardware) instead of invoking undefined behaviour, so every function here is
 * defined for every int32 argument.
 */
#ifndef UML_FIXEDPOINT_TRANSCENDENTAL_H
#define UML_FIXEDPOINT_TRANSCENDENTAL_H

#include <stdint.h>
#include "../engine/fixedpoint.h"

/* Two's-complement wrap-around add, subtract and negate. */
static inline int32_t uml_fx_add(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a + (uint32_t)b);
}
static inline int32_t uml_fx_sub(int32_t a, int32_t b) {
    return (int32_t)((uint32_t)a - (uint32_t)b);
}
static inline int32_t uml_fx_neg(int32_t a) {
    return (int32_t)(UINT32_C(0) - (uint32_t)a);
}

/* x * 2^exponent for 1 <= exponent <= 30, saturating to [INT32_MIN, INT32_MAX]
 * (gemmlowp SaturatingRoundingMultiplyByPOT with a positive exponent). */
static inline int32_t uml_fx_sat_shl(int32_t x, int exponent) {
    const int32_t threshold = (int32_t)((UINT32_C(1) << (31 - exponent)) - 1u);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return uml_shl_wrap(x, exponent); /* exact: |x| * 2^exponent < 2^31 */
}

/* (a + b) / 2 rounded half away from zero, computed without overflow. */
static inline int32_t uml_fx_rounding_half_sum(int32_t a, int32_t b) {
    const int64_t sum = (int64_t)a + (int64_t)b;
    return (int32_t)((sum + (sum >= 0 ? 1 : -1)) / 2);
}

/* Number of leading zero bits of a nonzero x. */
static inline int uml_fx_clz(uint32_t x) {
    int n = 0;
    while ((x & UINT32_C(0x80000000)) == 0) {
        x <<= 1;
        n++;
    }
    return n;
}

/* exp(a) for a Q0 value a in [-1/4, 0): Q0 result. Fourth-order Taylor expansion around
 * -1/8: exp(-1/8) * (1 + x + x^2/2 + x^3/6 + x^4/24) with x = a + 1/8. */
static inline int32_t uml_fx_exp_on_quarter_interval(int32_t a) {
    const int32_t exp_minus_one_eighth = 1895147668; /* exp(-1/8) in Q0 */
    const int32_t one_third = 715827883;             /* 1/3 in Q0 */
    const int32_t x = uml_fx_add(a, INT32_C(1) << 28); /* + 1/8 */
    const int32_t x2 = uml_srdhm(x, x);
    const int32_t x3 = uml_srdhm(x2, x);
    const int32_t x4 = uml_srdhm(x2, x2);
    const int32_t x4_over_4 = uml_rdbpot(x4, 2);
    /* (x^4/4 + x^3) / 3 + x^2, halved: x^4/24 + x^3/6 + x^2/2 */
    const int32_t poly = uml_rdbpot(uml_fx_add(uml_srdhm(uml_fx_add(x4_over_4, x3), one_third), x2), 1);
    return uml_fx_add(exp_minus_one_eighth, uml_srdhm(exp_minus_one_eighth, uml_fx_add(x, poly)));
}

/* One step of the exp "barrel shifter": if bit (frac_bits + exponent) of remainder is set,
 * multiply result by exp(-2^exponent) (given in Q0). Only steps whose bit lies inside the
 * integer range of the input format (int_bits > exponent) take part. */
static inline int32_t uml_fx_exp_step(int32_t result, int32_t remainder, int int_bits, int exponent,
                                      int32_t multiplier) {
    if (int_bits > exponent) {
        const int bit = 31 - int_bits + exponent; /* in [0, 30] for 0 <= int_bits <= 29 */
        if (remainder & (INT32_C(1) << bit)) {
            return uml_srdhm(result, multiplier);
        }
    }
    return result;
}

/* exp(a) for a value a <= 0 with int_bits (1..29) integer bits: Q0 result (1.0 saturates to
 * INT32_MAX). The input is split into a part in [-1/4, 0), evaluated by the Taylor series,
 * and multiples of 1/4, 1/2, 1, 2, ... whose exponentials are known constants. */
static inline int32_t uml_fx_exp_on_negative_values(int32_t a, int int_bits) {
    const int frac_bits = 31 - int_bits;
    const int32_t one_quarter = INT32_C(1) << (frac_bits - 2);
    /* a mod 1/4, shifted into [-1/4, 0) */
    const int32_t a_mod_quarter_minus_quarter = (a & (one_quarter - 1)) - one_quarter;
    int32_t result = uml_fx_exp_on_quarter_interval(uml_fx_sat_shl(a_mod_quarter_minus_quarter, int_bits));
    const int32_t remainder = uml_fx_sub(a_mod_quarter_minus_quarter, a);
    result = uml_fx_exp_step(result, remainder, int_bits, -2, 1672461947); /* exp(-1/4) */
    result = uml_fx_exp_step(result, remainder, int_bits, -1, 1302514674); /* exp(-1/2) */
    result = uml_fx_exp_step(result, remainder, int_bits, 0, 790015084);   /* exp(-1) */
    result = uml_fx_exp_step(result, remainder, int_bits, 1, 290630308);   /* exp(-2) */
    result = uml_fx_exp_step(result, remainder, int_bits, 2, 39332535);    /* exp(-4) */
    result = uml_fx_exp_step(result, remainder, int_bits, 3, 720401);      /* exp(-8) */
    result = uml_fx_exp_step(result, remainder, int_bits, 4, 242);         /* exp(-16) */
    if (int_bits > 5) {
        /* below -32 the result is 0 */
        const int32_t minus_32 = -(INT32_C(1) << (36 - int_bits));
        if (a < minus_32) {
            result = 0;
        }
    }
    if (a == 0) {
        result = INT32_MAX;
    }
    return result;
}

/* Newton-Raphson reciprocal: for d in [1/2, 1) (Q0), returns about 1/d as a Q2 value,
 * starting from 48/17 - 32/17 * d and iterating x += x * (1 - d * x) three times. */
static inline int32_t uml_fx_newton_reciprocal_q2(int32_t half_denominator) {
    const int32_t one_q2 = INT32_C(1) << 29;
    int32_t x = uml_fx_add(1515870810 /* 48/17 in Q2 */, uml_srdhm(half_denominator, -1010580540 /* -32/17 */));
    for (int i = 0; i < 3; i++) {
        const int32_t half_denominator_times_x = uml_srdhm(half_denominator, x);
        const int32_t one_minus = uml_fx_sub(one_q2, half_denominator_times_x);
        /* x * one_minus is a Q4 value; bring it back to Q2 */
        x = uml_fx_add(x, uml_fx_sat_shl(uml_srdhm(x, one_minus), 2));
    }
    return x;
}

/* 1 / (1 + a) for a Q0 value a in [0, 1): Q0 result. */
static inline int32_t uml_fx_one_over_one_plus_x(int32_t a) {
    const int32_t x = uml_fx_newton_reciprocal_q2(uml_fx_rounding_half_sum(a, INT32_MAX));
    /* x approximates 2 / (1 + a) in Q2, i.e. 1 / (1 + a) in Q1; rescale Q1 -> Q0 */
    return uml_fx_sat_shl(x, 1);
}

/* (1 - a) / (1 + a) for a Q0 value a in [0, 1): Q0 result. */
static inline int32_t uml_fx_one_minus_x_over_one_plus_x(int32_t a) {
    const int32_t x = uml_fx_newton_reciprocal_q2(uml_fx_rounding_half_sum(a, INT32_MAX));
    /* 2 / (1 + a) - 1 in Q2; rescale Q2 -> Q0 */
    return uml_fx_sat_shl(uml_fx_sub(x, INT32_C(1) << 29), 2);
}

/* logistic(a) = 1 / (1 + exp(-a)) for a value a with int_bits (1..28) integer bits: Q0 result. */
static inline int32_t uml_fx_logistic(int32_t a, int int_bits) {
    if (a == 0) {
        return INT32_C(1) << 30; /* 1/2 */
    }
    const int32_t abs_a = a > 0 ? a : uml_fx_neg(a);
    const int32_t if_positive = uml_fx_one_over_one_plus_x(uml_fx_exp_on_negative_values(uml_fx_neg(abs_a), int_bits));
    return a > 0 ? if_positive : uml_fx_sub(INT32_MAX, if_positive);
}

/* tanh(a) = (1 - exp(-2|a|)) / (1 + exp(-2|a|)) * sign(a) for a value a with int_bits (1..28)
 * integer bits: Q0 result. */
static inline int32_t uml_fx_tanh(int32_t a, int int_bits) {
    if (a == 0) {
        return 0;
    }
    const int32_t minus_abs_a = a < 0 ? a : uml_fx_neg(a);
    /* the same raw value read with one more integer bit is 2 * (-|a|) */
    const int32_t t = uml_fx_one_minus_x_over_one_plus_x(uml_fx_exp_on_negative_values(minus_abs_a, int_bits + 1));
    return a < 0 ? uml_fx_neg(t) : t;
}

#endif
