// Single-precision matrix products, C = op(A) · op(B) (+ bias) (+ C), row-major.
//
// vit's own GEMM: packed panels and a register-tiled micro-kernel per instruction set
// (gemm_kernels.cc), threads over tiles of C on the shared pool. Each element of C is summed over
// k in one order (blocks of kKc in sequence, each in sequence), whatever the tiling and the
// number of threads: the same inputs give the same bits in every process on a machine.
// A system BLAS (blas.h) can replace it for the large products.
#pragma once
#include <cstddef>
#include <string>

namespace vit {

// op(X) of a row-major matrix stored `ld` floats per row: X itself, or Xᵀ when `transposed`.
struct Operand {
  const float* data;
  size_t ld;
  bool transposed;
};

// What happens to C besides the product: `accumulate` adds the product onto C's values (else C's
// old values are ignored); `bias`, if not null, adds bias[j] to every row's column j.
struct Epilogue {
  const float* bias = nullptr;
  bool accumulate = false;
};

// C[m × n] (ldc floats per row) = op(A)[m × k] · op(B)[k × n], with the epilogue; on all threads.
void gemm(size_t m, size_t n, size_t k, Operand a, Operand b, float* c, size_t ldc, Epilogue epilogue = {});

// The same on the calling thread alone, for kernels that already run one product per thread.
// Always vit's own GEMM.
void gemmSerial(size_t m, size_t n, size_t k, Operand a, Operand b, float* c, size_t ldc, Epilogue epilogue = {});

// What computes gemm(): e.g. "vit avx512 6x64" or "OpenBLAS 0.3.21 (pthread, Haswell)"; and
// the reason a requested system BLAS was not used (empty if none was requested or it loaded).
std::string gemmDescription();
std::string gemmFallbackReason();

}  // namespace vit
