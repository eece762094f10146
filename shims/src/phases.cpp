// cb_phases_record: installs or removes the caller's span buffer (phases.hpp).
#include "phases.hpp"

#include "abi.hpp"
#include "errors.hpp"

namespace cb::phases {
Recorder g_recorder;
}

extern "C" cb_status cb_phases_record(cb_span* buffer, size_t cap, size_t* len) {
  return cb::abi::guard(cb::abi::Entry::kPhasesRecord, [&] {
    if (buffer && !len) cb::fail(CB_ERR_ARGUMENT, "len must not be NULL when buffer is set");
    cb::phases::g_recorder = buffer ? cb::phases::Recorder{buffer, cap, len}
                                    : cb::phases::Recorder{};
  });
}
