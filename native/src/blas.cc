#include "blas.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>
#include <memory>

#include "gemm_kernels.h"

namespace vit {
namespace {

enum { kRowMajor = 101, kNoTrans = 111, kTrans = 112 };

struct Candidate {
  const char* family;
  const char* file;
};

// Sonames first (what the distributions' runtime packages install), then the usual places of
// Homebrew and Intel's installers. OpenBLAS: Debian's libopenblas0-pthread/-openmp/-serial all
// provide libopenblas.so.0; Fedora names its threaded builds libopenblasp (pthread) and
// libopenblaso (OpenMP).
const Candidate kCandidates[] = {
#ifdef __APPLE__
    {"Accelerate", "/System/Library/Frameworks/Accelerate.framework/Accelerate"},
    {"OpenBLAS", "/opt/homebrew/opt/openblas/lib/libopenblas.dylib"},
    {"OpenBLAS", "/usr/local/opt/openblas/lib/libopenblas.dylib"},
    {"BLIS", "/opt/homebrew/opt/blis/lib/libblis.dylib"},
#else
    {"OpenBLAS", "libopenblas.so.0"},
    {"OpenBLAS", "libopenblasp.so.0"},
    {"OpenBLAS", "libopenblaso.so.0"},
    {"BLIS", "libblis.so.4"},
    {"BLIS", "libblis-mt.so.4"},
    {"BLIS", "libblis.so.3"},
    {"MKL", "libmkl_rt.so.2"},
    {"MKL", "libmkl_rt.so"},
    {"MKL", "/opt/intel/oneapi/mkl/latest/lib/libmkl_rt.so.2"},
#endif
};

// OpenBLAS reads both settings when it is loaded; a user's own values win.
// Kernels: it picks them from the CPU model; 0.3.21 (Debian 12) does not know recent ones and
// falls back to its SSE3 kernels, 3x slower at SGEMM, so name a kernel set from the CPU's
// features. Idle threads: after each product they spin for 2^28 cycles (~0.1 s), taking a core
// from the single-threaded wasm work between products; 2^12 cycles makes them sleep soon.
void configureOpenBlas() {
  setenv("OPENBLAS_THREAD_TIMEOUT", "12", 0);
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl"))
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 0);
  else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    setenv("OPENBLAS_CORETYPE", "Haswell", 0);
#endif
}

template <typename T>
T symbol(void* lib, const char* name) {
  return reinterpret_cast<T>(dlsym(lib, name));
}

// What the library says of itself: version, threading and kernel set where it can tell.
std::string detailsOf(const std::string& family, void* lib) {
  std::string out;
  auto add = [&](const std::string& part) {
    if (!part.empty()) out += (out.empty() ? "" : ", ") + part;
  };
  if (family == "OpenBLAS") {
    if (auto config = symbol<char* (*)()>(lib, "openblas_get_config")) {
      // "OpenBLAS 0.3.21 NO_AFFINITY Haswell MAX_THREADS=64": the version is the second word.
      const std::string text = config();
      const size_t start = text.find(' ') + 1;
      add(text.substr(start, text.find(' ', start) - start));
    }
    if (auto parallel = symbol<int (*)()>(lib, "openblas_get_parallel")) {
      const int kind = parallel();
      add(kind == 0 ? "serial" : kind == 1 ? "pthread" : "OpenMP");
    }
    if (auto threads = symbol<int (*)()>(lib, "openblas_get_num_threads")) add(std::to_string(threads()) + " threads");
    if (auto core = symbol<char* (*)()>(lib, "openblas_get_corename")) add(std::string(core()) + " kernels");
  } else if (family == "BLIS") {
    if (auto version = symbol<const char* (*)()>(lib, "bli_info_get_version_str")) add(std::string("BLIS ") + version());
    if (auto threads = symbol<long (*)()>(lib, "bli_thread_get_num_threads")) add(std::to_string(threads()) + " threads");
  } else if (family == "MKL") {
    if (auto version = symbol<void (*)(char*, int)>(lib, "MKL_Get_Version_String")) {
      char buffer[200] = {};
      version(buffer, sizeof buffer - 1);
      std::string text = buffer;
      add(text.substr(0, text.find(" Product")));
    }
    if (auto threads = symbol<int (*)()>(lib, "MKL_Get_Max_Threads")) add(std::to_string(threads()) + " threads");
  }
  return out;
}

// dlopen + cblas_sgemm, or null with `error` set.
std::unique_ptr<SystemBlas> load(const std::string& family, const std::string& file, std::string& error) {
  if (family == "OpenBLAS") configureOpenBlas();
  void* lib = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = dlerror();
    error = why != nullptr ? why : file + ": cannot be loaded";
    return nullptr;
  }
  auto sgemm = symbol<SystemBlas::Sgemm>(lib, "cblas_sgemm");
  if (sgemm == nullptr) {
    error = file + " has no cblas_sgemm";
    dlclose(lib);
    return nullptr;
  }
  return std::make_unique<SystemBlas>(family, file, sgemm, detailsOf(family, lib));
}

std::string lowercase(std::string s) {
  for (char& ch : s) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return s;
}

// The first candidate of `family` (any family when empty) that loads.
std::unique_ptr<SystemBlas> firstOf(const std::string& family, std::string& error) {
  for (const Candidate& c : kCandidates) {
    if (!family.empty() && lowercase(c.family) != family) continue;
    std::string why;
    if (auto blas = load(c.family, c.file, why)) return blas;
    if (error.empty()) error = why;
  }
  if (error.empty()) error = "no such BLAS family (openblas, blis, mkl, accelerate)";
  return nullptr;
}

struct Choice {
  std::unique_ptr<SystemBlas> blas;
  std::string failure;
};

Choice choose() {
  const char* env = std::getenv("VIT_BLAS");
  const std::string asked = env != nullptr ? env : "";
  const std::string key = lowercase(asked);
  Choice choice;
  if (key == "builtin" || key == "vit") return choice;
  if (key.empty() || key == "auto") {
    // vit's own kernels where they are tuned; a system BLAS only where they are not.
    if (std::strcmp(bestMicroKernel().name, "generic") != 0) return choice;
    std::string ignored;
    choice.blas = firstOf("", ignored);
    return choice;
  }
  std::string error;
  if (key.find('/') != std::string::npos || key.find(".so") != std::string::npos || key.find(".dylib") != std::string::npos) {
    choice.blas = load("BLAS", asked, error);
  } else {
    choice.blas = firstOf(key == "system" ? "" : key, error);
  }
  if (!choice.blas) choice.failure = "VIT_BLAS=" + asked + ": " + error;
  return choice;
}

const Choice& chosen() {
  static const Choice choice = choose();
  return choice;
}

}  // namespace

void SystemBlas::gemm(size_t m, size_t n, size_t k, const Operand& a, const Operand& b, float* c, size_t ldc, const Epilogue& epilogue) const {
  if (m == 0 || n == 0) return;
  // The bias goes in first and the product is added onto it (beta = 1).
  if (epilogue.bias != nullptr) {
    for (size_t i = 0; i < m; i++) {
      float* row = c + i * ldc;
      for (size_t j = 0; j < n; j++) row[j] = epilogue.accumulate ? row[j] + epilogue.bias[j] : epilogue.bias[j];
    }
  }
  const float beta = epilogue.accumulate || epilogue.bias != nullptr ? 1.0f : 0.0f;
  sgemm_(kRowMajor, a.transposed ? kTrans : kNoTrans, b.transposed ? kTrans : kNoTrans, static_cast<int>(m), static_cast<int>(n),
         static_cast<int>(k), 1.0f, a.data, static_cast<int>(a.ld), b.data, static_cast<int>(b.ld), beta, c, static_cast<int>(ldc));
}

std::string SystemBlas::description() const {
  return family_ + (details_.empty() ? "" : " (" + details_ + ")") + " " + path_;
}

const SystemBlas* activeSystemBlas() { return chosen().blas.get(); }

std::string systemBlasFailure() { return chosen().failure; }

std::vector<std::string> systemBlasesFound() {
  std::vector<std::string> found;
  for (const Candidate& c : kCandidates) {
    std::string ignored;
    if (auto blas = load(c.family, c.file, ignored)) found.push_back(blas->description());
  }
  return found;
}

}  // namespace vit
