// One persistent pool of threads for every native kernel, and the two ways kernels split work.
//
// Exactness: a kernel's result must not depend on which thread ran what, nor on how many threads
// there are. So work is cut by its size alone (never by the thread count), every partial result
// belongs to one slice, and partial results are combined in slice order. Which thread runs a
// slice is then free: threads take the next slice from a shared counter, so when the other core
// is busy the calling thread simply does more slices.
#pragma once
#include <algorithm>
#include <cstddef>
#include <type_traits>

namespace vit {

// Threads in the pool: VIT_NUM_THREADS, else the number of online cores.
int poolThreads();

// Runs call(context, t) for every t in [0, tasks) on the pool (the calling thread included) and
// returns when all have finished. Not re-entrant: a task must not call runTasks itself.
void runTasks(size_t tasks, void (*call)(void*, size_t), void* context);

template <typename F>
void forEachTask(size_t tasks, F&& f) {
  if (tasks == 0) return;
  if (tasks == 1) return f(size_t{0});
  using Fn = std::remove_reference_t<F>;
  runTasks(tasks, [](void* c, size_t t) { (*static_cast<Fn*>(c))(t); }, const_cast<void*>(static_cast<const void*>(&f)));
}

// At most this many slices per call: enough for balance on any core count, few enough that the
// per-slice partial sums stay small.
constexpr size_t kMaxSlices = 64;

// The number of slices [0, n) is cut into when each should hold at least `grain` items.
inline size_t sliceCount(size_t n, size_t grain) {
  return std::min(kMaxSlices, std::max<size_t>(1, n / std::max<size_t>(1, grain)));
}

// f(slice, begin, end) for each slice of [0, n) (see sliceCount), in parallel. Returns the count.
template <typename F>
size_t parallelSlices(size_t n, size_t grain, F&& f) {
  const size_t slices = sliceCount(n, grain);
  const size_t length = (n + slices - 1) / slices;
  forEachTask(slices, [&](size_t s) { f(s, std::min(n, s * length), std::min(n, (s + 1) * length)); });
  return slices;
}

// f(begin, end) over [0, n) in slices of at least `grain` items, in parallel.
template <typename F>
void parallelFor(size_t n, size_t grain, F&& f) {
  parallelSlices(n, grain, [&](size_t, size_t begin, size_t end) { f(begin, end); });
}

}  // namespace vit
