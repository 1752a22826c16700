#include "parallel.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
inline void cpuRelax() { _mm_pause(); }
#elif defined(__aarch64__)
inline void cpuRelax() { asm volatile("yield"); }
#else
inline void cpuRelax() {}
#endif

namespace vit {
namespace {

// A job lives on the caller's stack for the duration of runTasks.
struct Job {
  void (*call)(void*, size_t);
  void* context;
  size_t tasks;
  unsigned generation;
  std::atomic<size_t> next{0};
  std::atomic<size_t> done{0};
};

// Workers wait for a new job's generation number: spinning briefly first (kernels come in quick
// succession within a training step), then asleep, so that between steps they leave the cores to
// the single-threaded wasm code and the data pipeline. A worker touches a job only after
// registering in `users` and re-checking that the job is still current; the caller returns only
// once no worker uses it.
class Pool {
 public:
  explicit Pool(int threads) : threads_(threads) {
    for (int t = 1; t < threads; t++) std::thread([this] { serve(); }).detach();
  }
  int threads() const { return threads_; }

  void run(size_t tasks, void (*call)(void*, size_t), void* context) {
    if (threads_ == 1) {
      for (size_t t = 0; t < tasks; t++) call(context, t);
      return;
    }
    Job job;
    job.call = call;
    job.context = context;
    job.tasks = tasks;
    job.generation = generation_.load() + 1;
    current_.store(&job);
    generation_.store(job.generation);
    if (sleepers_.load() > 0) {
      std::lock_guard<std::mutex> lock(mutex_);
      wake_.notify_all();
    }
    work(job);
    while (job.done.load(std::memory_order_acquire) < tasks) cpuRelax();
    current_.store(nullptr);
    while (users_.load() > 0) cpuRelax();
  }

 private:
  static constexpr int kSpins = 4000;  // ~50-100 µs of pause instructions

  static void work(Job& job) {
    for (size_t t = job.next.fetch_add(1); t < job.tasks; t = job.next.fetch_add(1)) {
      job.call(job.context, t);
      job.done.fetch_add(1, std::memory_order_release);
    }
  }

  void serve() {
    unsigned seen = 0;
    for (;;) {
      unsigned generation = generation_.load();
      for (int i = 0; i < kSpins && generation == seen; i++) {
        cpuRelax();
        generation = generation_.load();
      }
      if (generation == seen) {
        std::unique_lock<std::mutex> lock(mutex_);
        sleepers_++;
        wake_.wait(lock, [&] { return generation_.load() != seen; });
        sleepers_--;
        continue;
      }
      seen = generation;
      users_++;
      Job* job = current_.load();
      if (job != nullptr && job->generation == generation) work(*job);
      users_--;
    }
  }

  const int threads_;
  std::mutex mutex_;
  std::condition_variable wake_;
  std::atomic<Job*> current_{nullptr};
  std::atomic<unsigned> generation_{0};
  std::atomic<int> users_{0};
  std::atomic<int> sleepers_{0};
};

int threadsWanted() {
  const char* env = std::getenv("VIT_NUM_THREADS");
  const int asked = env != nullptr ? std::atoi(env) : 0;
  if (asked > 0) return std::min(asked, 256);
  return std::max(1u, std::thread::hardware_concurrency());
}

// Created on first use and never destroyed: its workers are detached and sleep when idle, so the
// process exits without joining them.
Pool& pool() {
  static Pool* instance = new Pool(threadsWanted());
  return *instance;
}

}  // namespace

int poolThreads() { return pool().threads(); }

void runTasks(size_t tasks, void (*call)(void*, size_t), void* context) {
  if (tasks == 0) return;
  pool().run(tasks, call, context);
}

}  // namespace vit
