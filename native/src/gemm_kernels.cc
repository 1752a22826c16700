#include "gemm_kernels.h"

#include <cstring>
#include <initializer_list>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define VIT_X86 1
#endif

namespace vit {
namespace {

// Each kernel keeps the whole C tile in registers (AVX-512: 6 rows × up to 4 vectors of 16 = 24
// of the 32 zmm registers; AVX2: 6 × 2 of the 16 ymm), loads one row of the B panel per step and
// broadcasts each value of the A panel against it. The loops have constant bounds and are fully
// unrolled; only the last vector of a row may be partial (masked), only the last rows absent.
#ifdef VIT_X86
template <int MR, int NV>
__attribute__((target("avx512f,fma"))) void kernelAvx512(size_t kc, const float* __restrict a, size_t aRow, size_t aStep,
                                                          const float* __restrict b, size_t bStep, float* __restrict c, size_t ldc,
                                                          const float* __restrict bias, bool loadC, size_t rows, size_t cols) {
  __m512 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[i][v] = _mm512_setzero_ps();
  for (size_t p = 0; p < kc; p++) {
    __m512 row[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) row[v] = _mm512_loadu_ps(b + v * 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m512 ai = _mm512_set1_ps(a[i * aRow]);
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[i][v] = _mm512_fmadd_ps(ai, row[v], acc[i][v]);
    }
    a += aStep;
    b += bStep;
  }
  const size_t tail = cols - (NV - 1) * 16;  // 1 … 16 columns in the last vector
  const __mmask16 last = tail >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << tail) - 1);
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    if (static_cast<size_t>(i) >= rows) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      const __mmask16 mask = v == NV - 1 ? last : 0xFFFF;
      float* out = c + i * ldc + v * 16;
      __m512 x = acc[i][v];
      if (loadC) x = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, out), x);
      if (bias != nullptr) x = _mm512_add_ps(x, _mm512_maskz_loadu_ps(mask, bias + v * 16));
      _mm512_mask_storeu_ps(out, mask, x);
    }
  }
}

template <int MR, int NV>
__attribute__((target("avx2,fma"))) void kernelAvx2(size_t kc, const float* __restrict a, size_t aRow, size_t aStep, const float* __restrict b,
                                                     size_t bStep, float* __restrict c, size_t ldc, const float* __restrict bias, bool loadC,
                                                     size_t rows, size_t cols) {
  __m256 acc[MR][NV];
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) acc[i][v] = _mm256_setzero_ps();
  for (size_t p = 0; p < kc; p++) {
    __m256 row[NV];
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) row[v] = _mm256_loadu_ps(b + v * 8);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
      const __m256 ai = _mm256_broadcast_ss(a + i * aRow);
#pragma GCC unroll 8
      for (int v = 0; v < NV; v++) acc[i][v] = _mm256_fmadd_ps(ai, row[v], acc[i][v]);
    }
    a += aStep;
    b += bStep;
  }
  const int tail = static_cast<int>(cols) - (NV - 1) * 8;  // 1 … 8 columns in the last vector
  const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(tail), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
#pragma GCC unroll 16
  for (int i = 0; i < MR; i++) {
    if (static_cast<size_t>(i) >= rows) break;
#pragma GCC unroll 8
    for (int v = 0; v < NV; v++) {
      float* out = c + i * ldc + v * 8;
      __m256 x = acc[i][v];
      if (v < NV - 1 || tail >= 8) {
        // Whole vectors: plain loads and stores. AVX2's masked store is microcoded on AMD (about
        // 12 cycles each): with them the C tile's update cost as much as the product for small k.
        if (loadC) x = _mm256_add_ps(_mm256_loadu_ps(out), x);
        if (bias != nullptr) x = _mm256_add_ps(x, _mm256_loadu_ps(bias + v * 8));
        _mm256_storeu_ps(out, x);
        continue;
      }
      if (loadC) x = _mm256_add_ps(_mm256_maskload_ps(out, last), x);
      if (bias != nullptr) x = _mm256_add_ps(x, _mm256_maskload_ps(bias + v * 8, last));
      _mm256_maskstore_ps(out, last, x);
    }
  }
}
#endif

// Portable: GCC/Clang vector extensions of 4 floats (SSE, NEON). Multiply and add are written
// apart, so no contraction into fused multiply-adds on one architecture and not another matters:
// each build is still deterministic.
typedef float v4 __attribute__((vector_size(16)));
template <int MR, int NV>
void kernelGeneric(size_t kc, const float* __restrict a, size_t aRow, size_t aStep, const float* __restrict b, size_t bStep, float* __restrict c,
                   size_t ldc, const float* __restrict bias, bool loadC, size_t rows, size_t cols) {
  v4 acc[MR][NV] = {};
  for (size_t p = 0; p < kc; p++) {
    v4 row[NV];
    for (int v = 0; v < NV; v++) std::memcpy(&row[v], b + v * 4, sizeof(v4));
    for (int i = 0; i < MR; i++) {
      const v4 ai = {a[i * aRow], a[i * aRow], a[i * aRow], a[i * aRow]};
      for (int v = 0; v < NV; v++) acc[i][v] += ai * row[v];
    }
    a += aStep;
    b += bStep;
  }
  for (size_t i = 0; i < rows; i++) {
    for (size_t j = 0; j < cols; j++) {
      float x = acc[i][j / 4][j % 4];
      if (loadC) x = c[i * ldc + j] + x;
      if (bias != nullptr) x = x + bias[j];
      c[i * ldc + j] = x;
    }
  }
}

#ifdef VIT_X86
const MicroKernelSpec kAvx512{"avx512", 6, 16, {kernelAvx512<6, 1>, kernelAvx512<6, 2>, kernelAvx512<6, 3>, kernelAvx512<6, 4>}, 4, true};
// AVX2 has 16 registers: 6 rows × 2 vectors is the widest tile that stays in them.
const MicroKernelSpec kAvx2{"avx2", 6, 8, {kernelAvx2<6, 1>, kernelAvx2<6, 2>, nullptr, nullptr}, 2, false};
#endif
const MicroKernelSpec kGeneric{"generic", 4, 4, {kernelGeneric<4, 1>, kernelGeneric<4, 2>, nullptr, nullptr}, 2, false};

}  // namespace

const MicroKernelSpec* microKernelFor(const char* isa) {
#ifdef VIT_X86
  __builtin_cpu_init();
  if (std::strcmp(isa, "avx512") == 0) return __builtin_cpu_supports("avx512f") ? &kAvx512 : nullptr;
  if (std::strcmp(isa, "avx2") == 0) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? &kAvx2 : nullptr;
#endif
  if (std::strcmp(isa, "generic") == 0) return &kGeneric;
  return nullptr;
}

const MicroKernelSpec& bestMicroKernel() {
  for (const char* isa : {"avx512", "avx2"}) {
    if (const MicroKernelSpec* spec = microKernelFor(isa)) return *spec;
  }
  return kGeneric;
}

}  // namespace vit
