# CMake toolchain file for mlx-sys 0.7's build of mlx-c on Linux, selected by
# CMAKE_TOOLCHAIN_FILE_<linux target> in .cargo/config.toml (the `cmake` crate
# reads it). It makes mlx-c build against the pinned MLX wheel instead of
# fetching MLX from GitHub, and supplies what GCC 12 / x86-64 lack (see README.md).

get_filename_component(_cb_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)

# The wheel, located the way crates/mlx-locate does: MLX_DIR, else the project
# venv (CROSSBENCH_VENV, default <root>/.venv), created here if missing: mlx-sys
# may build before crossbench-shim's build script bootstraps it. ensure-venv
# creates it as mlx-locate would (same lock, same pins and hashes).
function(_cb_find_wheel out)
  if(DEFINED ENV{MLX_DIR})
    set(${out} "$ENV{MLX_DIR}" PARENT_SCOPE)
    return()
  endif()
  if(DEFINED ENV{CROSSBENCH_VENV})
    set(venv "$ENV{CROSSBENCH_VENV}")
  else()
    set(venv "${_cb_root}/.venv")
  endif()
  file(GLOB found "${venv}/lib/python3*/site-packages/mlx/share/cmake/MLX/MLXConfig.cmake")
  if(NOT found)
    message(STATUS "crossbench: no MLX wheel in ${venv}; creating it (build-support/mlx-rs/ensure-venv)")
    execute_process(
      COMMAND "${_cb_root}/build-support/mlx-rs/ensure-venv"
      OUTPUT_QUIET
      RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
      message(FATAL_ERROR "crossbench: creating ${venv} failed (${rc})")
    endif()
    file(GLOB found "${venv}/lib/python3*/site-packages/mlx/share/cmake/MLX/MLXConfig.cmake")
  endif()
  list(SORT found)
  list(POP_BACK found cfg)
  get_filename_component(prefix "${cfg}/../../../.." ABSOLUTE)  # <prefix>/share/cmake/MLX/MLXConfig.cmake
  set(${out} "${prefix}" PARENT_SCOPE)
endfunction()

# Not cached: a later build must follow a re-created venv (the glob is cheap).
_cb_find_wheel(CROSSBENCH_MLX_PREFIX)

set(MLX_C_USE_SYSTEM_MLX ON CACHE BOOL "find_package(MLX) instead of FetchContent" FORCE)
set(MLX_C_BUILD_EXAMPLES OFF CACHE BOOL "not needed by mlx-sys" FORCE)
set(MLX_DIR "${CROSSBENCH_MLX_PREFIX}/share/cmake/MLX" CACHE PATH "MLXConfig.cmake of the wheel" FORCE)
# The wheel's libmlx.so is built with the libstdc++ ABI; GCC 12 has no std::format
# and no float16_t on x86-64: the compat header supplies both.
# CMAKE_CXX_FLAGS is set on the command line by the cmake crate, so the header is
# added as a directory compile option instead.
# (C++ only; CMake's compiler checks see it too, hence the guards in the header).
add_compile_options("$<$<COMPILE_LANGUAGE:CXX>:SHELL:-include ${CMAKE_CURRENT_LIST_DIR}/include/crossbench_mlxrs_compat.h>")
