/* crossbench C ABI over the C++ Mistral model (shims/src).
 *
 * Rules that every entry point follows:
 *  - No C++ exception crosses this boundary. Each function catches everything
 *    and returns a cb_status; the message is kept in a thread-local string
 *    readable with cb_last_error() until the next failing call on that thread.
 *  - Handles are opaque. Passing NULL where a handle is required returns
 *    CB_ERR_ARGUMENT.
 *  - A token callback returns 0 to continue and non-zero to stop generation;
 *    a stop requested by the callback is reported as CB_ERR_CALLBACK.
 *
 * Regenerate the Rust bindings with scripts/regen-bindings.sh after editing.
 */
#ifndef CROSSBENCH_SHIM_H
#define CROSSBENCH_SHIM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cb_status {
  CB_OK = 0,
  CB_ERR_IO = 1,          /* file missing, unreadable, truncated */
  CB_ERR_FORMAT = 2,      /* malformed config.json or safetensors */
  CB_ERR_SHAPE = 3,       /* config disagrees with a tensor's shape */
  CB_ERR_UNSUPPORTED = 4, /* dtype, quantization or device not supported */
  CB_ERR_ARGUMENT = 5,    /* NULL handle, empty prompt, bad option */
  CB_ERR_RUNTIME = 6,     /* any other exception from MLX or the C++ std lib */
  CB_ERR_CALLBACK = 7     /* the token callback asked to stop */
} cb_status;

typedef struct cb_model cb_model;     /* weights + config, immutable */
typedef struct cb_session cb_session; /* one generation: KV cache + sampler */

typedef struct cb_sampling {
  float temperature; /* 0 = greedy (argmax) */
  float top_p;       /* 1 = disabled */
  uint64_t seed;     /* used only when temperature > 0 */
} cb_sampling;

/* Monotonic counters. Per session (cb_session_counters, cb_session_finish) or
 * per generation (cb_generate). Counted where it happens, with the meaning of
 * the same counters in the Python worker around mlx-lm's generate_step. */
typedef struct cb_counters {
  uint64_t prompt_tokens;    /* tokens fed through prefill */
  uint64_t generated_tokens; /* tokens handed out */
  uint64_t evals;            /* mx::eval / mx::async_eval calls issued */
  uint64_t syncs;            /* token values read back to the host (item()) */
  uint64_t callbacks;        /* token callbacks invoked (cb_generate) */
  uint64_t bytes_out;        /* bytes handed to the caller (token ids) */
  uint64_t prefill_ns;       /* wall time of prefill, up to the first token */
  uint64_t decode_ns;        /* wall time from first token to last token */
  uint64_t forward_passes;   /* model forward graphs built (prefill chunks + steps) */
} cb_counters;

typedef struct cb_model_info {
  int32_t vocab_size;
  int32_t hidden_size;
  int32_t num_layers;
  int32_t num_heads;
  int32_t num_kv_heads;
  int32_t head_dim;
  int32_t intermediate_size;
  int32_t quant_bits;       /* 0 when not quantized */
  int32_t quant_group_size; /* 0 when not quantized */
  uint64_t parameter_bytes; /* bytes of all loaded tensors */
  char dtype[16];           /* "float32", "float16", "bfloat16" of activations */
} cb_model_info;

/* Called once per generated token: on the calling thread (cb_generate), or on
 * the shim's generation thread (cb_generate_start). */
typedef int (*cb_token_callback)(int32_t token, uint64_t index, void* user);

/* Thread-local message of the last failure on this thread ("" if none). */
const char* cb_last_error(void);
/* MLX version string of the linked library, e.g. "0.32.2". */
const char* cb_mlx_version(void);

/* device: "cpu" or "gpu" (Metal / CUDA where the linked MLX has it). */
cb_status cb_set_device(const char* device);
/* MLX's default device as MLX reports it now: "cpu" or "gpu" (static string). */
const char* cb_default_device(void);

/* Loads config.json and *.safetensors from an mlx-community model directory. */
cb_status cb_model_load(const char* dir, cb_model** out);
void cb_model_free(cb_model* model);
cb_status cb_model_get_info(const cb_model* model, cb_model_info* out);

/* Per-token API (ffi-token): prefill once, then one cb_decode_step per token,
 * then cb_session_finish. cb_prefill returns the first generated token. Like
 * mlx-lm's generate_step, the session always schedules the next step with
 * async_eval before handing out the current one, so a generation of N tokens
 * runs one forward pass past its last token; cb_session_finish waits for that
 * pass (the stream is drained) and returns the final counters. */
cb_status cb_session_new(cb_model* model, const cb_sampling* sampling,
                         cb_session** out);
void cb_session_free(cb_session* session);
cb_status cb_prefill(cb_session* session, const int32_t* prompt, size_t n,
                     int32_t* first_token);
cb_status cb_decode_step(cb_session* session, int32_t* next_token);
cb_status cb_session_counters(const cb_session* session, cb_counters* out);
cb_status cb_session_finish(cb_session* session, cb_counters* out);

/* Batched API (ffi-batched): one call generates max_new tokens, streaming
 * each through the callback. It never stops at EOS. The same loop as the
 * per-token API (one pass past the last token, drained before returning).
 * counters may be NULL. */
cb_status cb_generate(cb_model* model, const int32_t* prompt, size_t n,
                      size_t max_new, const cb_sampling* sampling,
                      cb_token_callback callback, void* user,
                      cb_counters* counters);

/* Streaming API (the design note's GenerateStream): the batched loop runs on a
 * C++ thread the shim starts, so every callback arrives on a thread the
 * caller's runtime did not create. cb_generate_start copies the prompt and
 * sampling and returns at once; the model and user must outlive the stream.
 * cb_stream_wait joins the thread, writes the generation's counters (counters
 * may be NULL), frees the stream and returns the generation's status, its
 * message readable with cb_last_error on the waiting thread. Every started
 * stream must be waited for exactly once. A new thread per generation, all
 * on one MLX stream: streaming generations run one at a time. */
typedef struct cb_stream cb_stream;
cb_status cb_generate_start(cb_model* model, const int32_t* prompt, size_t n,
                            size_t max_new, const cb_sampling* sampling,
                            cb_token_callback callback, void* user,
                            cb_stream** out);
cb_status cb_stream_wait(cb_stream* stream, cb_counters* counters);

/* Final hidden state (after the last norm) of the prompt's last position,
 * as float32: writes min(cap, hidden) floats into out and the hidden size into
 * *len. */
cb_status cb_embed(cb_model* model, const int32_t* prompt, size_t n,
                   float* out, size_t cap, size_t* len);

/* Crossings counted where they happen: every call into a counted entry point
 * of this ABI adds one to that entry point's count (a relaxed atomic, a few ns).
 * Not counted: the meter itself (cb_abi_counts, cb_abi_counts_reset),
 * cb_last_error, and the microbenchmark hooks (cb_noop, the crossing.cpp
 * functions, cb_mlx_eval_one/_n) whose bare cost is what they measure.
 * Writes up to cap entries into out and returns the number of counted entry
 * points. Names are static strings. */
typedef struct cb_abi_count {
  const char* entry;
  uint64_t calls;
} cb_abi_count;
size_t cb_abi_counts(cb_abi_count* out, size_t cap);
void cb_abi_counts_reset(void);

/* MLX allocator peak / active memory in bytes, and reset of the peak. */
uint64_t cb_mlx_peak_memory(void);
uint64_t cb_mlx_active_memory(void);
void cb_mlx_reset_peak_memory(void);

/* Sets MLX's buffer-cache limit in bytes and returns the previous one. With 0
 * a freed array's memory goes straight back to malloc instead of a cache, so
 * a memory checker sees a read after free (scripts/memcheck-zero-copy.sh). */
uint64_t cb_mlx_set_cache_limit(uint64_t bytes);

/* Writes deterministic random weights for the config.json already in dir.
 * dtype: "float32" | "float16" | "bfloat16" | "q4" | "q8" (quantized with
 * group size 64). scales_dtype ("float32" | "float16" | "bfloat16", NULL =
 * float32) is the dtype of the quantization scales/biases and of the
 * unquantized tensors (norms) of a quantized model: float32 by default because
 * MLX's CPU kernels are an order of magnitude slower with half scales.
 * Same config, seed and dtype give byte-identical files. Files larger than
 * shard_bytes are split as model-0000N-of-0000M.safetensors plus
 * model.safetensors.index.json. */
cb_status cb_make_weights(const char* dir, uint64_t seed, const char* dtype,
                          const char* scales_dtype, uint64_t shard_bytes);

/* Test hook: evaluates one tiny MLX op and waits for it (the cost of a sync). */
cb_status cb_mlx_eval_one(float* out);
/* Test hook: an empty function, for the cost of a bare crossing. */
int32_t cb_noop(int32_t x);
/* Test hook: makes the next shim call throw a C++ exception of the given kind
 * ("runtime", "bad_alloc") so tests can check it is caught. */
cb_status cb_debug_arm_throw(const char* kind);

/* ---- Crossing microbenchmarks and zero-copy delivery (crossbench claims) ---- */

/* A read-only view of an evaluated MLX float32 array. The view owns a reference
 * to the array, so the data pointer handed out with it stays valid until
 * cb_array_view_free: that is what makes borrowing it from Rust sound. */
typedef struct cb_array_view cb_array_view;

/* cb_embed's hidden state, delivered without a copy: *data points into MLX's
 * own buffer (*len floats), valid until cb_array_view_free(*out). */
cb_status cb_embed_view(cb_model* model, const int32_t* prompt, size_t n,
                        cb_array_view** out, const float** data, size_t* len);
/* Copies min(cap, len) floats of the view into out; *len = the view's length. */
cb_status cb_array_view_copy(const cb_array_view* view, float* out, size_t cap,
                             size_t* len);
void cb_array_view_free(cb_array_view* view);
/* Test hook: an evaluated MLX array 0, 1, ..., n-1 (float32) as a view. */
cb_status cb_test_array_view(size_t n, cb_array_view** out, const float** data,
                             size_t* len);

/* Test hook: n MLX evaluations (as cb_mlx_eval_one) in one crossing; *out is
 * the last value. The in-C++ twin of n cb_mlx_eval_one calls. */
cb_status cb_mlx_eval_n(uint64_t n, float* out);

/* A C->Rust callback for the crossing benchmarks. */
typedef int32_t (*cb_int_callback)(int32_t x, void* user);
/* Calls callback(i, user) for i in 0..n and returns the sum of the results:
 * n C->Rust crossings in one Rust->C crossing. */
int64_t cb_call_callback_n(cb_int_callback callback, void* user, uint64_t n);
/* The same n callbacks made from a C++ thread started for the call and joined
 * before returning (INT64_MIN if no thread could be started). */
int64_t cb_call_callback_n_thread(cb_int_callback callback, void* user, uint64_t n);

/* Prompt passing: a NUL-terminated string (the callee must scan for its end)
 * vs borrowed bytes with a length. Both return a checksum of the bytes so
 * that neither call can be optimised away. */
uint64_t cb_prompt_cstr(const char* s);
uint64_t cb_prompt_bytes(const uint8_t* p, size_t n);

/* Handing floats to C: one element per call (the design note's "terrible"
 * case), one bulk copy, or the caller's pointer borrowed with no copy
 * (returns dst[0] + dst[n-1] so the call reads the data it was handed). */
void cb_set_float(float* dst, size_t i, float v);
void cb_copy_floats(float* dst, const float* src, size_t n);
float cb_borrow_floats(const float* src, size_t n);


/* ---- Serving engine (scenario kind "serve"; docs/protocol.md "Serving") ----
 * Continuous batching over one model: every active request has its own KV
 * cache; each step admits queued requests (each prefilled on its own, which
 * hands out its first token), then runs ONE batched decode pass for the
 * requests that were already active (projections and MLP as one [B,1,H]
 * matmul, attention per request over its own cache). Greedy only. Requests
 * join and leave between steps. Every design drives this one engine, so the
 * same trace gives the same steps and the same ids per request.
 *
 * Admission is deterministic in closed-loop mode (fill_to > 0): at each step
 * boundary the engine waits until min(fill_to, max_batch, requests not yet
 * submitted + queued + active) requests are active or queued, then admits in
 * submission-id order. The wait is the caller's latency to resubmit; it is
 * counted in admit_wait_ns and bounded by admit_timeout_ns (CB_ERR_RUNTIME
 * "no request arrived within ..."). With fill_to == 0 (open loop) a step
 * admits whatever is queued, up to max_batch, and an idle engine blocks
 * until a submission or cb_engine_close. */
typedef struct cb_engine cb_engine;

typedef struct cb_engine_options {
  uint32_t max_batch;         /* most requests active at once, >= 1 */
  uint32_t fill_to;           /* closed loop: concurrency C; 0 = open loop */
  uint64_t expected_requests; /* requests the caller will submit in all (>= 1) */
  uint64_t admit_timeout_ns;  /* longest wait for a submission at a boundary */
} cb_engine_options;

/* One token of a step: request id, token, its index in the request (0 = the
 * prefill's), finished = 1 when it is the request's last. */
typedef struct cb_engine_token {
  uint64_t request;
  int32_t token;
  uint32_t index;
  uint32_t finished;
  uint32_t reserved;
} cb_engine_token;

/* Per-token callback of a request (may be NULL: tokens then only come out of
 * cb_engine_step's buffer). Called on the thread running the step, in
 * admission order within the step. Non-zero cancels that request (its
 * consumer failed): the engine drops it, counts it in requests_cancelled and
 * goes on with the others. */
typedef int (*cb_request_callback)(uint64_t request, int32_t token, uint64_t index,
                                   int finished, void* user);

typedef struct cb_engine_stats {
  uint64_t steps;              /* steps that did any work */
  uint64_t forward_passes;     /* prefill passes + batched decode passes */
  uint64_t evals;              /* eval calls */
  uint64_t syncs;              /* host read-backs of a step's tokens */
  uint64_t callbacks;          /* request callbacks made */
  uint64_t generated_tokens;   /* tokens handed out */
  uint64_t prompt_tokens;      /* prompt tokens prefilled */
  uint64_t requests_done;      /* requests that reached max_new */
  uint64_t requests_cancelled; /* requests whose callback returned non-zero */
  uint64_t admit_wait_ns;      /* time step boundaries waited for submissions */
  uint64_t max_active;         /* most requests in one decode pass */
} cb_engine_stats;

/* The engine borrows the model (it must outlive the engine). */
cb_status cb_engine_new(cb_model* model, const cb_engine_options* options,
                        cb_engine** out);
/* Frees the engine; joins its thread first if one was started. */
void cb_engine_free(cb_engine* engine);
/* Thread-safe. Copies the prompt; the request waits in the queue until a
 * step admits it. Ids must be unique; max_new >= 1; greedy decoding. */
cb_status cb_engine_submit(cb_engine* engine, uint64_t request, const int32_t* prompt,
                           size_t n, uint32_t max_new, cb_request_callback callback,
                           void* user);
/* Thread-safe. Cancels a request from outside a callback (the per-step
 * design, whose tokens come out of cb_engine_step's buffer): it leaves at the
 * start of the next step, counted in requests_cancelled, as if its callback
 * had returned non-zero. A request already finished is left alone. */
cb_status cb_engine_cancel(cb_engine* engine, uint64_t request);
/* No more submissions: an idle engine's step returns with *active == 0 and
 * a started engine's thread ends once every request is finished. */
cb_status cb_engine_close(cb_engine* engine);
/* One step on the calling thread (the per-step design): admit, prefill the
 * admitted, one batched decode of the others, then the callbacks. Writes the
 * step's tokens to out[0..cap) and their number to *n_out (more than cap:
 * CB_ERR_ARGUMENT before anything runs; cap >= max_batch always suffices);
 * *active = requests active or queued afterwards. *done = 1 once closed (or
 * expected_requests submitted) and nothing is left: stop calling. */
cb_status cb_engine_step(cb_engine* engine, cb_engine_token* out, size_t cap,
                         size_t* n_out, size_t* active, int* done);
/* Runs the steps on a C++ thread the shim starts (the streaming design):
 * callbacks arrive on that thread. Returns at once. */
cb_status cb_engine_start(cb_engine* engine);
/* Joins the started thread and returns its status (its message readable
 * with cb_last_error on the joining thread). */
cb_status cb_engine_join(cb_engine* engine);
cb_status cb_engine_get_stats(const cb_engine* engine, cb_engine_stats* out);
/* The step schedule, flat: for each step, the step's start time (ns,
 * CLOCK_MONOTONIC), the number of requests prefilled, their ids, the number
 * in the decode pass, their ids. Writes min(cap, needed) words into out and
 * returns the number needed. */
size_t cb_engine_schedule(const cb_engine* engine, uint64_t* out, size_t cap);

/* ---- Phase timeline (crossbench bench --phases) ----
 * Where one token's time goes, as spans on the CLOCK_MONOTONIC clock the
 * workers stamp tokens with. Every layer that sees a phase records its own
 * spans in its own language (this shim, the Rust, C++ and Go workers, the
 * Python worker); the names are docs/protocol.md's `phases` event. */
typedef enum cb_phase {
  CB_PHASE_BUILD = 0,    /* building the step's graph (forward pass + sampler) */
  CB_PHASE_DISPATCH = 1, /* handing it to MLX (async_eval) */
  CB_PHASE_WAIT = 2,     /* waiting for the token and reading it back (item) */
  CB_PHASE_HOST = 3,     /* the loop's own bookkeeping between those */
  CB_PHASE_CROSSING = 4, /* the call into the shim or the callback out of it */
  CB_PHASE_CONSUMER = 5, /* the consumer's work on the token */
  CB_PHASE_PIPE = 6      /* formatting and writing the token to a pipe */
} cb_phase;

/* The most spans the shim records per generated token (build, dispatch, wait,
 * host, and the callback's crossing): size a buffer with it. */
#define CB_SPANS_PER_TOKEN 5

typedef struct cb_span {
  uint64_t begin_ns;
  uint64_t end_ns;
  uint32_t phase; /* a cb_phase */
  uint32_t reserved;
} cb_span;

/* Makes the shim record the spans of the generations that follow into
 * buffer[0..cap), advancing *len (the caller's, set to 0 first) once per span;
 * spans past cap are dropped but counted (*len > cap then). Call between generations only; buffer NULL stops
 * recording. The buffer and *len must outlive the recording. Off by default:
 * then each phase boundary costs one branch. */
cb_status cb_phases_record(cb_span* buffer, size_t cap, size_t* len);

#ifdef __cplusplus
}
#endif
#endif /* CROSSBENCH_SHIM_H */
