// The innermost loop of the GEMM (gemm.cc): one tile of C, MR rows × up to NR columns.
#pragma once
#include <cstddef>

namespace vit {

// c[i][j] = (loadC ? c[i][j] : 0) + Σ_p a[i·aRow + p·aStep] · b[p·bStep + j] (+ bias[j] when
// bias is not null), for i < rows ≤ MR, j < cols ≤ the kernel's width; the sum over p runs in
// order, one fused multiply-add each. A packed panel of A has aRow = 1, aStep = MR; operands read
// in place have their own strides. B must be readable (zeros will do) up to the kernel's width
// in every row; rows past `rows` of A must be readable too (a packed panel pads them with zeros).
// Only rows × cols of C are read and written.
using MicroKernel = void (*)(size_t kc, const float* a, size_t aRow, size_t aStep, const float* b, size_t bStep, float* c, size_t ldc,
                             const float* bias, bool loadC, size_t rows, size_t cols);

// One instruction set's kernels: MR rows, and widths of 1 … kWidths vectors of `lanes` floats
// (NR = kWidths · lanes is the widest), so a tile as narrow as C's last columns wastes less than
// a vector per row.
constexpr int kWidths = 4;
struct MicroKernelSpec {
  const char* name;  // the instruction set, e.g. "avx512"
  int mr, lanes;
  MicroKernel byVectors[kWidths];  // byVectors[v − 1] is v vectors wide
  int widths = kWidths;            // how many of them there are
  // Whether a B that is not transposed is read in place rather than packed (gemm.cc). A panel
  // row of a narrow kernel is one cache line (AVX2: 16 floats): read in place, every step of the
  // sum touched another page, and the TLB misses halved AVX2's speed; AVX-512's rows are four lines.
  bool readsBInPlace = false;
  int nr() const { return widths * lanes; }
  // The kernel for a tile `cols` wide (cols ≤ nr()).
  MicroKernel forColumns(size_t cols) const { return byVectors[(cols + lanes - 1) / lanes - 1]; }
};

// The micro-kernels for an instruction set ("avx512", "avx2", "generic"), or null where this CPU
// (or this build) lacks it. bestMicroKernel() is the fastest this CPU runs.
const MicroKernelSpec* microKernelFor(const char* isa);
const MicroKernelSpec& bestMicroKernel();

}  // namespace vit
