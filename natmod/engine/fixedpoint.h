/*
 * Integer requantization arithmetic with TFLite Micro reference semantics
 * (gemmlowp-style fixed point, "double rounding": TFLITE_SINGLE_ROUNDING off).
 * Multipliers and shifts are computed on the host; the device only does integer math.
 */
#ifndef UML_FIXEDPOINT_H
#define UML_FIXEDPOINT_H

#include <stdint.h>

static inline int32_t uml_min_i32(int32_t a, int32_t b) { return a < b ? a : b; }
static inline int32_t uml_max_i32(int32_t a, int32_t b) { return a > b ? a : b; }
static inline int32_t uml_clamp_i32(int32_t x, int32_t lo, int32_t hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}

/* x * 2^shift for 0 <= shift <= 31 with two's-complement wrap-around (no UB). */
static inline int32_t uml_shl_wrap(int32_t x, int shift) {
    return (int32_t)((uint32_t)x << shift);
}

/* Saturating rounding doubling high multiply: round(a * b / 2^31), saturating INT32_MIN^2. */
static inline int32_t uml_srdhm(int32_t a, int32_t b) {
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    int64_t ab = (int64_t)a * (int64_t)b;
    int64_t nudge = ab >= 0 ? (INT64_C(1) << 30) : (1 - (INT64_C(1) << 30));
    /* C division truncates toward zero, as the reference does. */
    return (int32_t)((ab + nudge) / (INT64_C(1) << 31));
}

/* Divide by 2^exponent (0 <= exponent <= 31), rounding half away from zero. */
static inline int32_t uml_rdbpot(int32_t x, int exponent) {
    const int32_t mask = (int32_t)((UINT32_C(1) << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

/* TFLite MultiplyByQuantizedMultiplier: x * multiplier * 2^shift, shift in [-31, 30]. */
static inline int32_t uml_mbqm(int32_t x, int32_t multiplier, int32_t shift) {
    const int left = shift > 0 ? shift : 0;
    const int right = shift > 0 ? 0 : -shift;
    return uml_rdbpot(uml_srdhm(uml_shl_wrap(x, left), multiplier), right);
}

/* TFLite MultiplyByQuantizedMultiplierSmallerThanOneExp (left_shift <= 0). */
static inline int32_t uml_mbqm_smaller_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
    return uml_rdbpot(uml_srdhm(x, multiplier), -left_shift);
}

/* TFLite MultiplyByQuantizedMultiplierGreaterThanOne (left_shift >= 0). */
static inline int32_t uml_mbqm_greater_than_one(int32_t x, int32_t multiplier, int32_t left_shift) {
    return uml_srdhm(uml_shl_wrap(x, left_shift), multiplier);
}

/* Validation helper: a shift that uml_mbqm accepts. */
static inline int uml_shift_ok(int32_t shift) {
    return shift >= -31 && shift <= 30;
}

#endif
