#include "gemm.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "blas.h"
#include "gemm_kernels.h"
#include "parallel.h"

namespace vit {
namespace {

// Blocking: B is packed into NR-wide panels; a task takes up to kMcMax rows of C and some of the
// panels, and for each kKc-deep slice of the sum runs the micro-kernel over its tiles, reading A
// in place; a B panel's slice (kKc × NR floats, 64 KiB for AVX-512) is reused across the task's
// rows from L2.
constexpr size_t kKc = 256;
constexpr size_t kMcMax = 192;

// A growable 64-byte-aligned float buffer, one per thread and use.
struct Scratch {
  float* data = nullptr;
  size_t capacity = 0;
  float* get(size_t floats) {
    if (floats > capacity) {
      std::free(data);
      capacity = std::max<size_t>(floats, 2 * capacity);
      data = static_cast<float*>(std::aligned_alloc(64, (capacity * sizeof(float) + 63) / 64 * 64));
    }
    return data;
  }
};

const MicroKernelSpec& chosenKernel() {
  static const MicroKernelSpec& spec = [] () -> const MicroKernelSpec& {
    // VIT_GEMM_KERNEL=avx2 or generic runs another instruction set's kernel (for tests).
    const char* asked = std::getenv("VIT_GEMM_KERNEL");
    if (asked != nullptr && *asked != '\0') {
      if (const MicroKernelSpec* spec = microKernelFor(asked)) return *spec;
    }
    return bestMicroKernel();
  }();
  return spec;
}

// op(A) rows [row0, row0 + rows) × columns [p0, p0 + kc) into MR-row panels: panel q holds, for
// each p, the MR values of rows q·MR … q·MR + MR − 1 (zeros past `rows`).
void packA(const Operand& a, size_t row0, size_t rows, size_t p0, size_t kc, int mr, float* out) {
  for (size_t q = 0; q < rows; q += mr, out += mr * kc) {
    const size_t valid = std::min<size_t>(mr, rows - q);
    if (a.transposed) {
      for (size_t p = 0; p < kc; p++) {
        const float* src = a.data + (p0 + p) * a.ld + row0 + q;
        float* dst = out + p * mr;
        size_t i = 0;
        for (; i < valid; i++) dst[i] = src[i];
        for (; i < static_cast<size_t>(mr); i++) dst[i] = 0;
      }
    } else {
      for (size_t i = 0; i < static_cast<size_t>(mr); i++) {
        if (i < valid) {
          const float* src = a.data + (row0 + q + i) * a.ld + p0;
          for (size_t p = 0; p < kc; p++) out[p * mr + i] = src[p];
        } else {
          for (size_t p = 0; p < kc; p++) out[p * mr + i] = 0;
        }
      }
    }
  }
}

// op(B)'s columns [col0, col0 + NR) over all k rows into one panel: k rows of NR values, zeros
// past n. Written row by row (for a transposed B, reading down its rows: the cache lines read for
// one row of the panel serve the next ones).
void packBPanel(const Operand& b, size_t k, size_t n, size_t col0, size_t nr, float* out) {
  const size_t valid = std::min(nr, n - col0);
  for (size_t p = 0; p < k; p++) {
    float* dst = out + p * nr;
    if (!b.transposed) {
      const float* src = b.data + p * b.ld + col0;
      for (size_t j = 0; j < valid; j++) dst[j] = src[j];
    } else {
      const float* src = b.data + col0 * b.ld + p;
      for (size_t j = 0; j < valid; j++) dst[j] = src[j * b.ld];
    }
    for (size_t j = valid; j < nr; j++) dst[j] = 0;
  }
}

// The tiles of C are grouped into tasks of up to kMcMax rows × some column panels, about two
// tasks per thread or more: the grouping changes which thread computes a tile, never its sum.
struct TaskGrid {
  size_t rowPanelsPerTask, colPanelsPerTask, rowTasks, colTasks;
};

TaskGrid taskGrid(size_t rowPanels, size_t colPanels, int mr, size_t threads) {
  const size_t wanted = 2 * threads;
  TaskGrid g{};
  g.rowPanelsPerTask = std::max<size_t>(1, std::min(kMcMax / mr, (rowPanels + wanted - 1) / wanted));
  g.rowTasks = (rowPanels + g.rowPanelsPerTask - 1) / g.rowPanelsPerTask;
  const size_t colTasks = std::min(colPanels, std::max<size_t>(1, (wanted + g.rowTasks - 1) / g.rowTasks));
  g.colPanelsPerTask = (colPanels + colTasks - 1) / colTasks;
  g.colTasks = (colPanels + g.colPanelsPerTask - 1) / g.colPanelsPerTask;
  return g;
}

// Where the micro-kernel finds op(B)'s NR-wide panels: for a kernel that reads B in place, a
// panel of a B that is not transposed is read there (its rows are the panel's rows, `ld` apart)
// when it is a whole number of vectors wide (the kernel then reads no column past it); the others
// are packed, zero-filled past n.
struct PanelsOfB {
  const Operand& b;
  const float* packed;
  size_t n, k, nr, lanes;
  bool readsInPlace;
  bool inPlace(size_t panel) const { return readsInPlace && !b.transposed && std::min(nr, n - panel * nr) % lanes == 0; }
  // Panel `panel` from row p0 on, and the distance between its rows.
  const float* at(size_t panel, size_t p0, size_t& step) const {
    step = inPlace(panel) ? b.ld : nr;
    return inPlace(panel) ? b.data + p0 * b.ld + panel * nr : packed + panel * nr * k + p0 * nr;
  }
};

// C's rows [row0, row0 + rows) × column panels [panel0, panel1). Each tile runs the kernel as
// wide as its columns (a last panel narrower than NR takes fewer vectors, its last one masked);
// full row panels read A in place, at its own strides (rows of A, or columns of a stored Aᵀ):
// packing them cost more than it saved (13% of the CCT's products); only a last partial row
// panel is packed, with zero rows.
void computeBlock(const MicroKernelSpec& kernel, size_t n, size_t k, const Operand& a, const PanelsOfB& panels, size_t row0, size_t rows,
                  size_t panel0, size_t panel1, float* c, size_t ldc, const Epilogue& epilogue) {
  thread_local Scratch aScratch;
  const size_t mr = kernel.mr, nr = kernel.nr();
  const size_t fullRows = rows / mr * mr;
  float* packedTail = aScratch.get(mr * kKc);
  for (size_t p0 = 0; p0 < k; p0 += kKc) {
    const size_t kc = std::min(kKc, k - p0);
    const bool first = p0 == 0;
    const bool loadC = !first || epilogue.accumulate;
    if (fullRows < rows) packA(a, row0 + fullRows, rows - fullRows, p0, kc, kernel.mr, packedTail);
    for (size_t panel = panel0; panel < panel1; panel++) {
      size_t bStep;
      const float* bPanel = panels.at(panel, p0, bStep);
      const size_t col0 = panel * nr, cols = std::min(nr, n - col0);
      const MicroKernel run = kernel.forColumns(cols);
      const float* bias = first && epilogue.bias != nullptr ? epilogue.bias + col0 : nullptr;
      for (size_t q = 0; q < fullRows; q += mr) {
        const float* aPanel = a.transposed ? a.data + p0 * a.ld + row0 + q : a.data + (row0 + q) * a.ld + p0;
        run(kc, aPanel, a.transposed ? 1 : a.ld, a.transposed ? a.ld : 1, bPanel, bStep, c + (row0 + q) * ldc + col0, ldc, bias, loadC, mr, cols);
      }
      if (fullRows < rows) run(kc, packedTail, 1, mr, bPanel, bStep, c + (row0 + fullRows) * ldc + col0, ldc, bias, loadC, rows - fullRows, cols);
    }
  }
}

// C = bias, C + bias or unchanged: the product of an empty k.
void emptyProduct(size_t m, size_t n, float* c, size_t ldc, const Epilogue& epilogue) {
  for (size_t i = 0; i < m; i++) {
    for (size_t j = 0; j < n; j++) {
      const float base = epilogue.accumulate ? c[i * ldc + j] : 0.0f;
      c[i * ldc + j] = epilogue.bias != nullptr ? base + epilogue.bias[j] : base;
    }
  }
}

// op(A)'s columns and op(B)'s rows [k0, …): the operands of one slice of the sum over k.
Operand columnsFrom(const Operand& a, size_t k0) { return {a.transposed ? a.data + k0 * a.ld : a.data + k0, a.ld, a.transposed}; }
Operand rowsFrom(const Operand& b, size_t k0) { return {b.transposed ? b.data + k0 : b.data + k0 * b.ld, b.ld, b.transposed}; }

void builtinGemm(size_t m, size_t n, size_t k, const Operand& a, const Operand& b, float* c, size_t ldc, const Epilogue& epilogue, bool parallel);

// A long sum over k into a small C (weight gradients: k = batch × tokens, C = in × out) has too
// few tiles to keep every thread busy, and would stream all of B once per task. Instead k is cut
// into slices of a length fixed by the shape alone; each slice's product goes to its own partial C
// on one thread, and the partials are added in slice order: the same sum on any thread count.
bool splitsK(size_t m, size_t n, size_t k) { return k >= 2048 && k >= 4 * std::max(m, n); }

void splitKGemm(size_t m, size_t n, size_t k, const Operand& a, const Operand& b, float* c, size_t ldc, const Epilogue& epilogue) {
  const size_t slice = (std::max<size_t>(1024, (k + 15) / 16) + kKc - 1) / kKc * kKc;
  const size_t slices = (k + slice - 1) / slice;
  thread_local Scratch partialScratch;
  float* partials = partialScratch.get(slices * m * n);
  forEachTask(slices, [&](size_t s) {
    const size_t k0 = s * slice, length = std::min(slice, k - k0);
    builtinGemm(m, n, length, columnsFrom(a, k0), rowsFrom(b, k0), partials + s * m * n, n, Epilogue{}, false);
  });
  parallelFor(m, std::max<size_t>(1, 16384 / std::max<size_t>(1, n * slices)), [&](size_t begin, size_t end) {
    for (size_t i = begin; i < end; i++) {
      float* out = c + i * ldc;
      for (size_t j = 0; j < n; j++) {
        float x = partials[i * n + j];
        for (size_t s = 1; s < slices; s++) x += partials[s * m * n + i * n + j];
        if (epilogue.accumulate) x = out[j] + x;
        if (epilogue.bias != nullptr) x = x + epilogue.bias[j];
        out[j] = x;
      }
    }
  });
}

void builtinGemm(size_t m, size_t n, size_t k, const Operand& a, const Operand& b, float* c, size_t ldc, const Epilogue& epilogue, bool parallel) {
  if (m == 0 || n == 0) return;
  if (k == 0) return emptyProduct(m, n, c, ldc, epilogue);
  if (parallel && splitsK(m, n, k)) return splitKGemm(m, n, k, a, b, c, ldc, epilogue);
  const MicroKernelSpec& kernel = chosenKernel();
  const size_t colPanels = (n + kernel.nr() - 1) / kernel.nr(), rowPanels = (m + kernel.mr - 1) / kernel.mr;
  thread_local Scratch bScratch;
  const PanelsOfB panels{b, bScratch.get(colPanels * kernel.nr() * k), n, k, static_cast<size_t>(kernel.nr()), static_cast<size_t>(kernel.lanes),
                         kernel.readsBInPlace};
  auto pack = [&](size_t panel) {
    if (!panels.inPlace(panel)) packBPanel(b, k, n, panel * kernel.nr(), kernel.nr(), const_cast<float*>(panels.packed) + panel * kernel.nr() * k);
  };
  if (!parallel) {
    for (size_t panel = 0; panel < colPanels; panel++) pack(panel);
    return computeBlock(kernel, n, k, a, panels, 0, m, 0, colPanels, c, ldc, epilogue);
  }
  forEachTask(colPanels, pack);
  const TaskGrid g = taskGrid(rowPanels, colPanels, kernel.mr, poolThreads());
  forEachTask(g.rowTasks * g.colTasks, [&](size_t task) {
    const size_t rowTask = task / g.colTasks, colTask = task % g.colTasks;
    const size_t row0 = rowTask * g.rowPanelsPerTask * kernel.mr;
    const size_t rows = std::min(g.rowPanelsPerTask * kernel.mr, m - row0);
    const size_t panel0 = colTask * g.colPanelsPerTask;
    computeBlock(kernel, n, k, a, panels, row0, rows, panel0, std::min(colPanels, panel0 + g.colPanelsPerTask), c, ldc, epilogue);
  });
}

}  // namespace

void gemm(size_t m, size_t n, size_t k, Operand a, Operand b, float* c, size_t ldc, Epilogue epilogue) {
  if (const SystemBlas* blas = activeSystemBlas()) return blas->gemm(m, n, k, a, b, c, ldc, epilogue);
  builtinGemm(m, n, k, a, b, c, ldc, epilogue, true);
}

void gemmSerial(size_t m, size_t n, size_t k, Operand a, Operand b, float* c, size_t ldc, Epilogue epilogue) {
  builtinGemm(m, n, k, a, b, c, ldc, epilogue, false);
}

std::string gemmDescription() {
  if (const SystemBlas* blas = activeSystemBlas()) return blas->description();
  const MicroKernelSpec& kernel = chosenKernel();
  return std::string("vit ") + kernel.name + " " + std::to_string(kernel.mr) + "x" + std::to_string(kernel.nr());
}

std::string gemmFallbackReason() { return systemBlasFailure(); }

}  // namespace vit
