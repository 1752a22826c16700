// The innermost loop of the GEMM (gemm.cc): one MR × NR tile of C from packed panels of A and B.
#pragma once
#include <cstddef>

namespace vit {

// c[i][j] = (loadC ? c[i][j] : 0) + Σ_p a[p·MR + i] · b[p·NR + j] (+ bias[j] when bias is not
// null), for i < MR, j < NR, p < kc; the sum over p runs in order, one fused multiply-add each.
using MicroKernel = void (*)(size_t kc, const float* a, const float* b, float* c, size_t ldc, const float* bias, bool loadC);

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
