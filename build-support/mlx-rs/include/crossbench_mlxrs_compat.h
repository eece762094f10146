/* Force-included into mlx-sys's C++ build of mlx-c (toolchain.cmake) and into
 * its bindgen run (BINDGEN_EXTRA_CLANG_ARGS in .cargo/config.toml), on Linux only.
 * It supplies what mlx-c 0.7 assumes from Apple's toolchain; see README.md. */
#ifndef CROSSBENCH_MLXRS_COMPAT_H
#define CROSSBENCH_MLXRS_COMPAT_H

#if !defined(__aarch64__) && !defined(__ARM_FEATURE_FP16_SCALAR_ARITHMETIC)
#if defined(__cplusplus)
#if __has_include(<mlx/types/half_types.h>)  /* not in CMake's compiler checks */
/* The C++ side must use MLX's own half types: mlx-c calls item<float16_t>(). */
#include <mlx/types/half_types.h>
using float16_t = mlx::core::float16_t;
using bfloat16_t = mlx::core::bfloat16_t;
#define HAS_FLOAT16  /* what half.h defines on arm64: enables the f16/bf16 API */
#define HAS_BFLOAT16
#endif
#elif defined(__clang__)
/* bindgen (C, libclang): mlx-rs expects float16_t as bindgen's __BindgenFloat16(u16)
 * (what __fp16 becomes) and bfloat16_t as a plain u16. Same 2-byte layout as
 * the C++ structs above. */
#include <stdint.h>
typedef __fp16 float16_t;
typedef uint16_t bfloat16_t;
#define HAS_FLOAT16
#define HAS_BFLOAT16
#endif
#endif

#ifdef __cplusplus
/* mlx-c's private/io.h calls std::format, which GCC 12's libstdc++ lacks. Only
 * "{}" placeholders are used there; this formats them with operator<<. */
#include <version>
#if !defined(__cpp_lib_format)
#include <sstream>
#include <string>
#include <string_view>
namespace std {
inline void crossbench_format_rest(ostringstream& out, string_view fmt) { out << fmt; }
template <class T, class... Rest>
void crossbench_format_rest(ostringstream& out, string_view fmt, const T& v, const Rest&... rest) {
  size_t at = fmt.find("{}");
  if (at == string_view::npos) { out << fmt; return; }
  out << fmt.substr(0, at) << v;
  crossbench_format_rest(out, fmt.substr(at + 2), rest...);
}
template <class... Args>
string format(string_view fmt, const Args&... args) {
  ostringstream out;
  crossbench_format_rest(out, fmt, args...);
  return out.str();
}
}  // namespace std
#endif
#endif

#endif
