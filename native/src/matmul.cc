#include "gemm.h"
#include "kernels.h"
#include "parallel.h"

namespace vit {

void batchMatMul(const float* a, const float* b, float* out, size_t batch, size_t m, size_t n, size_t k, bool transposeA, bool transposeB,
                 size_t strideA, size_t strideB) {
  // Leading dimensions of the stored (untransposed) row-major matrices.
  const size_t lda = transposeA ? m : k, ldb = transposeB ? k : n;
  auto product = [&](size_t i, bool serial) {
    const Operand opA{a + i * strideA, lda, transposeA}, opB{b + i * strideB, ldb, transposeB};
    if (serial) gemmSerial(m, n, k, opA, opB, out + i * m * n, n);
    else gemm(m, n, k, opA, opB, out + i * m * n, n);
  };
  // Small products (per-head attention when the fused kernel is not used) run one per thread;
  // large ones each on all threads.
  const bool small = static_cast<double>(m) * n * k < 4 * 65536.0;
  if (small && batch > 1) {
    forEachTask(batch, [&](size_t i) { product(i, true); });
  } else {
    for (size_t i = 0; i < batch; i++) product(i, false);
  }
}

void affine(const float* x, const float* w, const float* bias, float* out, size_t m, size_t n, size_t k) {
  Epilogue epilogue;
  epilogue.bias = bias;
  gemm(m, n, k, Operand{x, k, false}, Operand{w, n, false}, out, n, epilogue);
}

}  // namespace vit
