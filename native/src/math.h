// Scalar math the kernels share, written so that the compiler can vectorize the loops that use it
// and so that every result depends on the inputs alone.
#pragma once
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

// The elementwise loops, compiled for AVX-512 (Skylake-X, Zen 4 and later), for AVX2 with FMA
// (Haswell and later) and for the baseline, chosen once at load time from the CPU's features.
// Other architectures get the baseline only.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VIT_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define VIT_VECTOR_CLONES
#endif

namespace vit {

constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kInvSqrt2Pi = 0.39894228040143268f;

// e^x as 2^n · e^r with n = round(x / ln 2), |r| ≤ ln2/2, e^r by its degree-6 Taylor polynomial
// (relative error < 2e-7), 2^n built in the exponent bits. Unlike std::exp (a libm call) the
// compiler vectorizes loops over it. Inputs below -87 give ~0 (as float32's e^x underflows).
inline float expApprox(float x) {
  x = x > 88.0f ? 88.0f : x;
  x = x < -87.0f ? -87.0f : x;
  // Round to nearest by adding and subtracting 1.5·2^23 (vectorizes where nearbyint may not).
  const float n = (x * 1.44269504f + 12582912.0f) - 12582912.0f;
  const float r = (x - n * 0.693145751953125f) - n * 1.428606765330187e-06f;
  const float p = 1.0f + r * (1.0f + r * (0.5f + r * (1.0f / 6 + r * (1.0f / 24 + r * (1.0f / 120 + r * (1.0f / 720))))));
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, sizeof scale);
  return p * scale;
}

// erf by Abramowitz & Stegun 7.1.26: |error| ≤ 1.5e-7, float32's own resolution near 1, for one
// exp, a division and a polynomial: ~2.5x faster than glibc's erff. erfWithExp takes e^(−x²)
// computed by the caller (GELU's gradient needs that exponential too).
inline float erfWithExp(float x, float expMinusSquare) {
  const float t = 1.0f / (1.0f + 0.3275911f * std::fabs(x));
  const float poly = t * (0.254829592f + t * (-0.284496736f + t * (1.421413741f + t * (-1.453152027f + t * 1.061405429f))));
  return std::copysign(1.0f - poly * expMinusSquare, x);
}
inline float erfApprox(float x) { return erfWithExp(x, expApprox(-x * x)); }

// GELU, x · Φ(x), and its derivative Φ(x) + x · φ(x) (Φ, φ: the standard normal's CDF and
// density), one exponential serving both: e^(−(x/√2)²) = e^(−x²/2).
inline float geluValue(float x) { return 0.5f * x * (1.0f + erfApprox(x * kInvSqrt2)); }
inline float geluDerivative(float x) {
  const float e = expApprox(-0.5f * x * x);
  return 0.5f * (1.0f + erfWithExp(x * kInvSqrt2, e)) + x * kInvSqrt2Pi * e;
}

// SiLU, x · σ(x), and its derivative σ(x) · (1 + x · (1 − σ(x))), σ(x) = 1 / (1 + e^(−x)).
inline float sigmoid(float x) { return 1.0f / (1.0f + expApprox(-x)); }
inline float siluValue(float x) { return x * sigmoid(x); }
inline float siluDerivative(float x) {
  const float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

// Σ term(j) for j in [0, n) in one fixed order: 16 running sums (lane j mod 16), combined
// pairwise at the end. The compiler vectorizes the lanes but, without -ffast-math, never
// reorders additions across them: the result depends on n and the values, not on where the
// arrays lie in memory. (An `omp simd reduction` lets the compiler peel iterations to align the
// arrays, so its order, and the rounding, changed with the heap's address from process to process.)
constexpr int kLanes = 16;
template <typename Term>
inline float laneSum(size_t n, Term term) {
  float lanes[kLanes] = {};
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; l++) lanes[l] += term(j + l);
  }
  for (int l = 0; j < n; j++, l++) lanes[l] += term(j);
  for (int width = kLanes / 2; width >= 1; width /= 2) {
    for (int l = 0; l < width; l++) lanes[l] += lanes[l + width];
  }
  return lanes[0];
}

// max over term(j), j in [0, n ≥ 1), with 16 running maxima like laneSum's sums (a maximum is
// exact, so this is only for speed: the compiler does not vectorize a plain loop's max).
template <typename Term>
inline float laneMax(size_t n, Term term) {
  float lanes[kLanes];
  for (int l = 0; l < kLanes; l++) lanes[l] = term(0);
  size_t j = 0;
  for (; j + kLanes <= n; j += kLanes) {
    for (int l = 0; l < kLanes; l++) lanes[l] = term(j + l) > lanes[l] ? term(j + l) : lanes[l];
  }
  for (int l = 0; j < n; j++, l++) lanes[l] = term(j) > lanes[l] ? term(j) : lanes[l];
  for (int width = kLanes / 2; width >= 1; width /= 2) {
    for (int l = 0; l < width; l++) lanes[l] = lanes[l + width] > lanes[l] ? lanes[l + width] : lanes[l];
  }
  return lanes[0];
}

}  // namespace vit
