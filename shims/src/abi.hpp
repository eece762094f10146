// What every C ABI entry point shares: the exception guard that turns any C++
// exception into a cb_status plus a thread-local message (nothing unwinds
// across the boundary), and the per-entry-point crossing counters.
#pragma once
#include <atomic>
#include <cstdint>
#include <string>
#include <utility>

#include "crossbench_shim.h"

namespace cb::abi {

// One value per counted entry point; kEntryNames (abi.cpp) spells them.
enum class Entry : int {
  kSetDevice, kDefaultDevice, kModelLoad, kModelFree, kModelGetInfo, kSessionNew, kSessionFree,
  kPrefill, kDecodeStep, kSessionCounters, kSessionFinish, kGenerate, kEmbed,
  kMlxVersion, kMlxPeakMemory, kMlxActiveMemory, kMlxResetPeakMemory,
  kMlxSetCacheLimit, kMakeWeights, kDebugArmThrow, kEmbedView, kArrayViewCopy,
  kArrayViewFree, kTestArrayView, kGenerateStart, kStreamWait, kPhasesRecord,
  kEngineNew, kEngineFree, kEngineSubmit, kEngineClose, kEngineStep, kEngineStart,
  kEngineJoin, kEngineGetStats, kEngineSchedule, kEngineCancel,
  kCount  // not an entry point: the number of them
};

extern std::atomic<uint64_t> g_entry_calls[int(Entry::kCount)];
extern const char* const kEntryNames[int(Entry::kCount)];

// Counted where the crossing happens: a relaxed increment (lock xadd, a few
// ns), so the count is exact even when several threads call in.
inline void count(Entry e) { g_entry_calls[int(e)].fetch_add(1, std::memory_order_relaxed); }

cb_status set_error(cb_status s, const std::string& msg);
const char* last_error();
// Arms a one-shot exception ("runtime" or "bad_alloc") for the next guard().
void arm(const std::string& kind);
// Throws the exception armed by cb_debug_arm_throw, once (fault tests).
void maybe_throw_armed();
cb_status guard_current_exception();

// Runs f and converts whatever it throws into a status. For the
// microbenchmark hooks, whose bare cost must not include a counter.
template <typename F>
cb_status guard_uncounted(F&& f) {
  try {
    maybe_throw_armed();
    f();
    return CB_OK;
  } catch (...) {
    return guard_current_exception();
  }
}

// Counts the entry, then guard_uncounted.
template <typename F>
cb_status guard(Entry e, F&& f) {
  count(e);
  return guard_uncounted(std::forward<F>(f));
}

}  // namespace cb::abi
