// C side of the Go microbenchmarks: trampolines into the exported Go
// callback (a Go function cannot be a C function pointer) and a pure-C
// callback, the twin that isolates what calling into Go adds.
#include <stdint.h>

#include "crossbench_shim.h"

int64_t cbgo_go_callbacks(uint64_t n);
int64_t cbgo_go_callbacks_new_thread(uint64_t n);
int64_t cbgo_c_callbacks_new_thread(uint64_t n);
