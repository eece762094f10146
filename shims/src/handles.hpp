// The opaque handles of the C ABI, shared by the translation units that
// implement its entry points (api.cpp, stream.cpp).
#pragma once
#include <mlx/mlx.h>

#include "generation.hpp"
#include "model.hpp"

struct cb_model {
  cb::Model model;
};
struct cb_session {
  cb::Session session;
};
// Holding the array holds a reference to its buffer: the lent pointer lives
// exactly as long as this struct.
struct cb_array_view {
  mlx::core::array array;
};
