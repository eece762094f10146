// Internal error type: carries the cb_status that the C ABI will return, so
// the catch-all wrapper in api.cpp can map our own failures precisely while
// foreign exceptions (MLX, std) fall back to CB_ERR_RUNTIME.
#pragma once
#include <stdexcept>
#include <string>

#include "crossbench_shim.h"

namespace cb {

class Error : public std::runtime_error {
 public:
  Error(cb_status status, const std::string& msg)
      : std::runtime_error(msg), status_(status) {}
  cb_status status() const { return status_; }

 private:
  cb_status status_;
};

[[noreturn]] inline void fail(cb_status s, const std::string& msg) {
  throw Error(s, msg);
}

}  // namespace cb
