// The innermost loop of the GEMM (gemm.cc): one MR × NR tile of C from packed panels of A and B.
#pragma once
#include <cstddef>

namespace vit {

// c[i][j] = (loadC ? c[i][j] : 0) + Σ_p a[i·aRow + p·aStep] · b[p·NR + j] (+ bias[j] when bias
// is not null), for i < MR, j < NR, p < kc; the sum over p runs in order, one fused multiply-add
// each. A packed panel of A has aRow = 1, aStep = MR; A read in place has its own strides.
using MicroKernel = void (*)(size_t kc, const float* a, size_t aRow, size_t aStep, const float* b, float* c, size_t ldc, const float* bias,
                             bool loadC);

struct MicroKernelSpec {
  const char* name;  // the instruction set, e.g. "avx512"
  int mr, nr;
  MicroKernel run;
};

// The micro-kernel for an instruction set ("avx512", "avx2", "generic"), or null where this CPU
// (or this build) lacks it. bestMicroKernel() is the fastest this CPU runs.
const MicroKernelSpec* microKernelFor(const char* isa);
const MicroKernelSpec& bestMicroKernel();

}  // namespace vit
