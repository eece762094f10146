// crossbench-native-runner: the pure C++ baseline. Drives the shim through
// its C ABI (the same code the Rust side calls) and reports JSON lines with
// CLOCK_MONOTONIC timestamps, which is the clock behind Rust's Instant on
// Linux, so both sides' timelines can be compared directly.
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <csignal>
#include <cmath>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "../src/json.hpp"
#include "crossbench_shim.h"
#include "runner_io.hpp"
#include "serve_trace.hpp"

namespace {

const char* kUsage =
    "usage: crossbench-native-runner --model DIR [--device cpu|gpu]\n"
    "         (--serve | --prompt-ids 1,2,3 --max-new N [--temperature T]\n"
    "          [--top-p P] [--seed S])\n"
    "       crossbench-native-runner --model DIR --make-weights DTYPE [--seed S]\n"
    "         [--scales-dtype D] [--shard-bytes N]   (writes random weights)\n";

using runner::emit;
using runner::emit_error;
using runner::now_ns;
using runner::peak_rss_bytes;

struct Request {
  std::vector<int32_t> prompt;
  size_t max_new = 0;
  cb_sampling sampling{0.0f, 1.0f, 0};
};

struct Args {
  std::string model, device = "cpu", make_weights, scales_dtype;
  bool serve = false;
  uint64_t shard_bytes = 0;
  Request req;
  bool have_prompt = false, have_max_new = false;
};

// Strict number parsing: "12x" or "" is an error, not 12 or 0.
template <typename T>
bool parse_num(const std::string& s, T& out) {
  if (std::is_unsigned_v<T> && !s.empty() && s[0] == '-') return false;
  std::istringstream in(s);
  in >> out;
  return !s.empty() && in && in.peek() == EOF;
}

bool parse_ids(const std::string& s, std::vector<int32_t>& out) {
  out.clear();
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    uint32_t v = 0;  // ids are u32 on the wire; the shim rejects those >= vocab_size
    if (!parse_num(item, v)) return false;
    out.push_back(int32_t(v));
  }
  return !out.empty();
}

// Shared by the CLI flags and the --serve request keys.
bool apply_option(Request& r, const std::string& key, const std::string& val) {
  if (key == "prompt" || key == "prompt-ids") return parse_ids(val, r.prompt);
  if (key == "max_new" || key == "max-new") return parse_num(val, r.max_new);
  if (key == "temperature") return parse_num(val, r.sampling.temperature);
  if (key == "top_p" || key == "top-p") return parse_num(val, r.sampling.top_p);
  if (key == "seed") return parse_num(val, r.sampling.seed);
  return false;
}

bool parse_args(int argc, char** argv, Args& a) {
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (k == "--serve") { a.serve = true; continue; }
    if (k.rfind("--", 0) != 0 || i + 1 >= argc) return false;
    std::string key = k.substr(2), v = argv[++i];
    if (key == "model") a.model = v;
    else if (key == "device") a.device = v;
    else if (key == "make-weights") a.make_weights = v;
    else if (key == "scales-dtype") a.scales_dtype = v;
    else if (key == "shard-bytes") { if (!parse_num(v, a.shard_bytes)) return false; }
    else if (!apply_option(a.req, key, v)) return false;
    if (key == "prompt-ids") a.have_prompt = true;
    if (key == "max-new") a.have_max_new = true;
  }
  if (a.model.empty()) return false;
  if (!a.make_weights.empty()) return !a.serve;
  return a.serve ? !(a.have_prompt || a.have_max_new) : (a.have_prompt && a.have_max_new);
}

// Fault injection for crossbench's tests: CROSSBENCH_FAULT="native-cpp:KIND@N" makes
// the runner hang or SIGKILL itself at token N, so the driver's timeout and
// crash handling are tested on the real backend.
struct Fault {
  std::string kind;
  uint64_t at = UINT64_MAX;
};

Fault fault_from_env() {
  Fault f;
  const char* v = std::getenv("CROSSBENCH_FAULT");
  std::string spec = v ? v : "";
  const std::string prefix = "native-cpp:";
  auto at = spec.find('@');
  if (spec.rfind(prefix, 0) != 0 || at == std::string::npos) return f;
  f.kind = spec.substr(prefix.size(), at - prefix.size());
  f.at = std::strtoull(spec.c_str() + at + 1, nullptr, 10);
  return f;
}

void maybe_fault(const Fault& f, uint64_t index) {
  if (index != f.at) return;
  if (f.kind == "kill") std::raise(SIGKILL);
  if (f.kind == "hang")
    for (;;) pause();
}

// Tokens are stamped into memory preallocated for the whole generation and
// printed only after it, like the Rust and Go workers: nothing crosses the
// pipe between the request and the generation's end (the floor is a floor).
struct TokenCtx {
  std::vector<int32_t> ids;
  std::vector<uint64_t> stamps;
  Fault fault = fault_from_env();
  // bench --phases: the consumer's spans (reserved like the stamps) beside the
  // shim's, which the shim writes into `shim_spans` itself.
  bool phases = false;
  std::vector<cb_span> spans, shim_spans;
  size_t shim_len = 0;
  // [run] token_progress: one stderr line per token (CROSSBENCH_TOKEN_PROGRESS=1).
  bool token_progress = [] {
    const char* v = std::getenv("CROSSBENCH_TOKEN_PROGRESS");
    return v && std::string(v) == "1";
  }();
};

int on_token(int32_t token, uint64_t index, void* user) {
  auto* ctx = static_cast<TokenCtx*>(user);
  const uint64_t t = now_ns();
  maybe_fault(ctx->fault, index);
  ctx->ids.push_back(token);  // within the reserved capacity: no allocation
  ctx->stamps.push_back(t);
  if (ctx->phases && ctx->spans.size() < ctx->spans.capacity())
    ctx->spans.push_back(cb_span{t, now_ns(), CB_PHASE_CONSUMER, 0});
  if (ctx->token_progress) std::fputs("crossbench-token\n", stderr);  // unbuffered
  return 0;
}

bool phases_requested() {
  const char* v = std::getenv("CROSSBENCH_PHASES");
  return v && std::string(v) == "1";
}

// Installs the shim's recorder and reserves the consumer's spans.
void start_phases(TokenCtx& ctx, size_t max_new) {
  ctx.phases = true;
  ctx.spans.reserve(max_new);
  ctx.shim_spans.resize(CB_SPANS_PER_TOKEN * (max_new + 1));
  cb_phases_record(ctx.shim_spans.data(), ctx.shim_spans.size(), &ctx.shim_len);
}

// The `phases` event (docs/protocol.md): the consumer's spans, then the shim's.
std::string phases_event(const TokenCtx& ctx) {
  std::string out = "{\"ev\":\"phases\",\"names\":[\"build\",\"dispatch\",\"wait\",\"host\","
                    "\"crossing\",\"consumer\",\"pipe\"],\"spans\":[";
  bool first = true;
  auto add = [&](const cb_span& s) {
    out += (first ? "[" : ",[") + std::to_string(s.phase) + "," + std::to_string(s.begin_ns) +
           "," + std::to_string(s.end_ns) + "]";
    first = false;
  };
  for (const auto& s : ctx.spans) add(s);
  for (size_t i = 0; i < ctx.shim_len && i < ctx.shim_spans.size(); ++i) add(ctx.shim_spans[i]);
  return out + "]}\n";
}

// Spans that did not fit (the done event's phase_spans_dropped).
uint64_t phases_dropped(const TokenCtx& ctx) {
  return ctx.shim_len > ctx.shim_spans.size() ? ctx.shim_len - ctx.shim_spans.size() : 0;
}

cb_status generate(cb_model* model, const Request& r, uint64_t load_ns) {
  TokenCtx ctx;
  ctx.ids.reserve(r.max_new);
  ctx.stamps.reserve(r.max_new);
  cb_counters c{};
  if (phases_requested()) start_phases(ctx, r.max_new);
  const uint64_t t0 = now_ns();
  cb_status s = cb_generate(model, r.prompt.data(), r.prompt.size(), r.max_new,
                            &r.sampling, on_token, &ctx, &c);
  const uint64_t worker_gen_ns = now_ns() - t0;
  if (ctx.phases) cb_phases_record(nullptr, 0, nullptr);
  std::string out;
  out.reserve(64 * (ctx.ids.size() + 2));
  for (size_t i = 0; i < ctx.ids.size(); ++i)
    out += "{\"ev\":\"token\",\"i\":" + std::to_string(i) + ",\"id\":" +
           std::to_string(ctx.ids[i]) + ",\"t_ns\":" + std::to_string(ctx.stamps[i]) + "}\n";
  std::fputs(out.c_str(), stdout);
  if (s != CB_OK) {
    emit_error(s, cb_last_error());
    return s;
  }
  if (ctx.phases) std::fputs(phases_event(ctx).c_str(), stdout);
  emit("{\"ev\":\"done\",\"tokens\":" + std::to_string(ctx.ids.size()) +
       ",\"prefill_ns\":" + std::to_string(c.prefill_ns) +
       ",\"decode_ns\":" + std::to_string(c.decode_ns) +
       ",\"load_ns\":" + std::to_string(load_ns) +
       ",\"peak_rss_bytes\":" + std::to_string(peak_rss_bytes()) +
       ",\"mlx_peak_bytes\":" + std::to_string(cb_mlx_peak_memory()) +
       ",\"worker_gen_ns\":" + std::to_string(worker_gen_ns) +
       ",\"forward_passes\":" + std::to_string(c.forward_passes) +
       ",\"callbacks\":" + std::to_string(c.callbacks) +
       ",\"evals\":" + std::to_string(c.evals) + ",\"syncs\":" + std::to_string(c.syncs) +
       (ctx.phases ? ",\"phase_spans_dropped\":" + std::to_string(phases_dropped(ctx)) : "") +
       "}");
  return CB_OK;
}

// A request line of docs/protocol.md. The messages are crossbench-core's
// RequestParseError word for word: tests/protocol_conformance.rs sends the
// same lines to every worker and expects the same answer.
bool apply_request_key(Request& r, const std::string& key, const std::string& val) {
  if (key == "max_new") {
    uint32_t n = 0;
    if (!parse_num(val, n) || n == 0) return false;
    r.max_new = n;
    return true;
  }
  if (key == "temperature")
    return parse_num(val, r.sampling.temperature) && std::isfinite(r.sampling.temperature) &&
           r.sampling.temperature >= 0.0f;
  if (key == "top_p")
    return parse_num(val, r.sampling.top_p) && std::isfinite(r.sampling.top_p) &&
           r.sampling.top_p > 0.0f && r.sampling.top_p <= 1.0f;
  if (key == "seed") return parse_num(val, r.sampling.seed);
  return !val.empty() && val.back() != ',' && parse_ids(val, r.prompt);  // prompt
}

std::optional<std::string> parse_request(const std::string& line, Request& r) {
  std::istringstream in(line);
  std::string verb, word;
  in >> verb;
  if (verb != "generate")
    return "unknown request `" + verb + "` (expected `generate`, `serve`, `serve_open` or `quit`)";
  std::set<std::string> seen;
  while (in >> word) {
    auto eq = word.find('=');
    if (eq == std::string::npos) return "`" + word + "` is not key=value";
    std::string key = word.substr(0, eq), val = word.substr(eq + 1);
    if (key != "max_new" && key != "temperature" && key != "top_p" && key != "seed" &&
        key != "prompt")
      return "unknown key `" + key + "` (allowed: max_new, temperature, top_p, seed, prompt)";
    if (!seen.insert(key).second) return "repeated key `" + key + "`";
    if (!apply_request_key(r, key, val)) return "bad value for `" + key + "`: `" + val + "`";
  }
  if (!seen.count("max_new")) return "missing key `max_new`";
  if (!seen.count("prompt")) return "missing key `prompt`";
  return std::nullopt;
}

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  auto b = s.find_first_not_of(ws);
  return b == std::string::npos ? "" : s.substr(b, s.find_last_not_of(ws) - b + 1);
}

// `serve trace=PATH` (docs/protocol.md, "Serving"): one key, a readable trace.
void serve_request(cb_model* model, const std::string& line) {
  std::istringstream in(line);
  std::string verb, word, extra;
  in >> verb >> word;
  if (word.rfind("trace=", 0) != 0 || word.size() == 6 || (in >> extra)) {
    emit_error("CB_ERR_PROTOCOL", "`serve` takes exactly one key, trace=PATH, in `" + line + "`");
    return;
  }
  std::string error;
  auto trace = runner::read_trace(word.substr(6), error);
  if (!trace) {
    emit_error("CB_ERR_ARGUMENT", error);
    return;
  }
  runner::serve_trace(model, *trace);
}

void serve(cb_model* model, uint64_t load_ns) {
  std::string raw;
  while (std::getline(std::cin, raw)) {
    const std::string line = trim(raw);
    if (line.empty()) continue;
    if (line == "quit" || line.rfind("quit ", 0) == 0 || line.rfind("quit\t", 0) == 0) return;
    if (line.rfind("serve_open", 0) == 0 && (line.size() == 10 || std::isspace(line[10]))) {
      emit_error("CB_ERR_UNSUPPORTED",
                 "this worker serves from a trace file (`serve trace=PATH`), not over its pipe "
                 "(`serve_open`)");
      continue;
    }
    if (line.rfind("serve", 0) == 0 && (line.size() == 5 || std::isspace(line[5]))) {
      serve_request(model, line);
      continue;
    }
    Request r;
    if (auto err = parse_request(line, r)) {
      emit_error("CB_ERR_PROTOCOL", *err + " in `" + line + "`");
      continue;
    }
    generate(model, r, load_ns);
  }
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  if (!parse_args(argc, argv, a)) {
    std::fputs(kUsage, stderr);
    return 2;
  }
  cb_status s = cb_set_device(a.device.c_str());
  if (s == CB_OK && !a.make_weights.empty()) {
    s = cb_make_weights(a.model.c_str(), a.req.sampling.seed, a.make_weights.c_str(),
                        a.scales_dtype.empty() ? nullptr : a.scales_dtype.c_str(),
                        a.shard_bytes);
    if (s != CB_OK) emit_error(s, cb_last_error());
    return s == CB_OK ? 0 : 2;
  }
  cb_model* model = nullptr;
  const uint64_t t0 = now_ns();
  if (s == CB_OK) s = cb_model_load(a.model.c_str(), &model);
  if (s != CB_OK) {
    emit_error(s, cb_last_error());
    return 2;
  }
  const uint64_t load_ns = now_ns() - t0;
  emit(std::string("{\"ev\":\"loaded\",\"device\":\"") + cb_default_device() +
       "\",\"load_ns\":" + std::to_string(load_ns) +
       ",\"peak_rss_bytes\":" + std::to_string(peak_rss_bytes()) +
       ",\"t_ns\":" + std::to_string(now_ns()) + "}");
  int rc = 0;
  if (a.serve) serve(model, load_ns);
  else rc = generate(model, a.req, load_ns) == CB_OK ? 0 : 2;
  cb_model_free(model);
  return rc;
}
