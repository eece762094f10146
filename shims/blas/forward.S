/* libcrossbench_blas.so: the BLAS and LAPACK entry points MLX's libmlx.so
 * imports, each a tail jump to the same routine of PyPI's scipy-openblas32
 * (a DYNAMIC_ARCH OpenBLAS whose every symbol carries a `scipy_` prefix).
 * Preloaded into a backend (bench --blas auto / openblas-pypi), these names
 * take precedence over the wheel's bundled reference BLAS, exactly as a
 * preloaded system OpenBLAS does. A jump, not a call: the arguments, whatever
 * the signature, are passed through untouched, and the callee returns to
 * MLX directly. The list is `nm -D --undefined-only libmlx.so` for MLX 0.32
 * (crates/crossbench-shim/tests/pypi_blas.rs checks it against libmlx). */
#if defined(__x86_64__)
#define FORWARD(name)                 \
  .globl name;                        \
  .type name, @function;              \
  name:                               \
  jmp scipy_##name@PLT;               \
  .size name, .-name
#elif defined(__aarch64__)
#define FORWARD(name)                 \
  .globl name;                        \
  .type name, %function;              \
  name:                               \
  b scipy_##name;                     \
  .size name, .-name
#else
#error "libcrossbench_blas: only x86-64 and aarch64 are supported"
#endif

  .text
FORWARD(cblas_cgemm)
FORWARD(cblas_dgemm)
FORWARD(cblas_sgemm)
FORWARD(cgeev_)
FORWARD(cgesdd_)
FORWARD(cheevd_)
FORWARD(dgeev_)
FORWARD(dgeqrf_)
FORWARD(dgesdd_)
FORWARD(dgetrf_)
FORWARD(dgetri_)
FORWARD(dorgqr_)
FORWARD(dpotrf_)
FORWARD(dsyevd_)
FORWARD(dtrtri_)
FORWARD(sgeev_)
FORWARD(sgeqrf_)
FORWARD(sgesdd_)
FORWARD(sgetrf_)
FORWARD(sgetri_)
FORWARD(sorgqr_)
FORWARD(spotrf_)
FORWARD(ssyevd_)
FORWARD(strtri_)
FORWARD(openblas_get_corename)

  .section .note.GNU-stack,"",%progbits
