// An optional system BLAS (OpenBLAS, BLIS, MKL, Apple's Accelerate) that can compute gemm()'s
// large products instead of vit's own kernels, loaded at run time with dlopen: building needs no
// BLAS headers and a machine without one loses nothing.
//
// VIT_BLAS chooses:
//   unset, "auto"   vit's own GEMM where it has tuned kernels (x86-64 with AVX2 or AVX-512),
//                   else the first system BLAS found, else vit's portable GEMM
//   "builtin"       vit's own GEMM
//   "system"        the first system BLAS found (OpenBLAS, BLIS, MKL, Accelerate)
//   "openblas", "blis", "mkl", "accelerate"   that one
//   a path          that library (any CBLAS with cblas_sgemm)
// When the one asked for cannot be loaded, vit's own GEMM runs and systemBlasFailure() says why.
#pragma once
#include <cstddef>
#include <string>
#include <vector>

#include "gemm.h"

namespace vit {

class SystemBlas {
 public:
  using Sgemm = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* a, int lda, const float* b, int ldb,
                         float beta, float* c, int ldc);
  SystemBlas(std::string family, std::string path, Sgemm sgemm, std::string details)
      : family_(std::move(family)), path_(std::move(path)), sgemm_(sgemm), details_(std::move(details)) {}

  void gemm(size_t m, size_t n, size_t k, const Operand& a, const Operand& b, float* c, size_t ldc, const Epilogue& epilogue) const;
  // e.g. "OpenBLAS 0.3.21 (pthread, 2 threads, Haswell kernels) libopenblas.so.0"
  std::string description() const;

 private:
  std::string family_, path_;
  Sgemm sgemm_;
  std::string details_;
};

// The system BLAS gemm() uses, or null for vit's own (decided once, from VIT_BLAS).
const SystemBlas* activeSystemBlas();
// Why the system BLAS VIT_BLAS asked for is not in use; empty when none was asked for or it is.
std::string systemBlasFailure();
// Every system BLAS this machine has, described, whether in use or not (for `vit backends`).
std::vector<std::string> systemBlasesFound();

}  // namespace vit
