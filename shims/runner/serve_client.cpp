// native-cpp's serving client: the floor of the serving designs. C++ drives
// the engine with no foreign caller: the main thread steps it, the request
// callbacks stamp tokens into memory reserved up front and, in a closed loop,
// submit the next request directly; an open loop's arrivals come from one
// C++ thread sleeping until each arrival time.
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <thread>

#include "runner_io.hpp"
#include "serve_trace.hpp"

namespace runner {
namespace {

struct RequestLog {
  uint64_t submit_ns = 0;
  std::vector<int32_t> ids;
  std::vector<uint64_t> stamps;
  std::string error;
};

struct Client {
  explicit Client(const Trace& t) : trace(t) {}
  const Trace& trace;
  cb_engine* engine = nullptr;
  std::vector<RequestLog> logs;
  std::atomic<uint64_t> next{0};  // closed loop: the next id to submit
  uint64_t tokens = 0, fault_at = UINT64_MAX;
  std::string fault_kind;
  std::mutex error_mutex;  // the arrival thread and the callbacks both submit
  cb_status submit_status = CB_OK;
  std::string submit_error;
};

// CROSSBENCH_FAULT=native-cpp:kill@N / hang@N, at the N-th token of the run.
void read_fault(Client& c) {
  const char* v = std::getenv("CROSSBENCH_FAULT");
  std::string spec = v ? v : "";
  auto at = spec.find('@');
  if (spec.rfind("native-cpp:", 0) != 0 || at == std::string::npos) return;
  c.fault_kind = spec.substr(11, at - 11);
  c.fault_at = std::strtoull(spec.c_str() + at + 1, nullptr, 10);
}

int on_token(uint64_t request, int32_t token, uint64_t, int finished, void* user);

void submit(Client& c, uint64_t id) {
  const TraceRequest& r = c.trace.requests[id];
  c.logs[id].submit_ns = now_ns();
  cb_status s = cb_engine_submit(c.engine, id, r.prompt.data(), r.prompt.size(), r.max_new,
                                 on_token, &c);
  if (s == CB_OK) return;
  const std::string message = cb_last_error();  // this thread's
  std::lock_guard<std::mutex> lock(c.error_mutex);
  if (c.submit_status == CB_OK) {
    c.submit_status = s;
    c.submit_error = message;
  }
}

int on_token(uint64_t request, int32_t token, uint64_t, int finished, void* user) {
  auto& c = *static_cast<Client*>(user);
  const uint64_t t = now_ns();
  if (c.tokens++ == c.fault_at) {
    if (c.fault_kind == "kill") std::raise(SIGKILL);
    if (c.fault_kind == "hang")
      for (;;) pause();
  }
  RequestLog& log = c.logs[request];
  log.ids.push_back(token);  // reserved: no allocation while serving
  log.stamps.push_back(t);
  if (finished && c.trace.closed) {
    const uint64_t id = c.next.fetch_add(1);
    if (id < c.trace.requests.size()) submit(c, id);
  }
  return 0;
}

// The open loop's arrival thread; it only submits (a mutex-guarded queue).
void arrivals(Client& c, uint64_t t0) {
  for (const auto& r : c.trace.requests) {
    const uint64_t due = t0 + r.arrival_ns;
    for (uint64_t now = now_ns(); now < due; now = now_ns())
      std::this_thread::sleep_for(std::chrono::nanoseconds(due - now));
    submit(c, r.id);
  }
  cb_engine_close(c.engine);
}

// Steps the engine on this thread until it is done.
cb_status step_all(Client& c) {
  std::vector<cb_engine_token> buf(c.trace.max_batch);
  for (int done = 0; !done;) {
    size_t n = 0, active = 0;
    cb_status s = cb_engine_step(c.engine, buf.data(), buf.size(), &n, &active, &done);
    if (s != CB_OK) return s;
  }
  return CB_OK;
}

}  // namespace

namespace {

uint64_t process_cpu_ns() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto ns = [](const timeval& t) { return uint64_t(t.tv_sec) * 1000000000ull + t.tv_usec * 1000ull; };
  return ns(ru.ru_utime) + ns(ru.ru_stime);
}

uint64_t os_threads() {
  std::ifstream f("/proc/self/status");
  std::string key;
  for (uint64_t v = 0; f >> key;)
    if (key == "Threads:" && (f >> v)) return v;
  return 0;
}

uint64_t abi_calls() {
  cb_abi_count counts[128];
  const size_t n = std::min<size_t>(cb_abi_counts(counts, 128), 128);
  uint64_t sum = 0;
  for (size_t i = 0; i < n; ++i) sum += counts[i].calls;
  return sum;
}

template <typename T>
std::string json_list(const std::vector<T>& v) {
  std::string out = "[";
  for (size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + std::to_string(v[i]);
  return out + "]";
}

void emit_requests(const Client& c) {
  for (size_t id = 0; id < c.logs.size(); ++id) {
    const RequestLog& l = c.logs[id];
    emit("{\"ev\":\"request\",\"id\":" + std::to_string(id) + ",\"submit_ns\":" +
         std::to_string(l.submit_ns) + ",\"ids\":" + json_list(l.ids) +
         ",\"t_ns\":" + json_list(l.stamps) +
         (l.error.empty() ? "" : ",\"error\":\"" + cb::json::escape(l.error) + "\"") + "}");
  }
}

// `schedule`: the engine's flat words as [[t_ns,[prefilled],[decoded]],...].
void emit_schedule(cb_engine* engine) {
  std::vector<uint64_t> w(cb_engine_schedule(engine, nullptr, 0));
  cb_engine_schedule(engine, w.data(), w.size());
  std::string out = "{\"ev\":\"schedule\",\"steps\":[";
  for (size_t i = 0, step = 0; i < w.size(); ++step) {
    out += (step ? ",[" : "[") + std::to_string(w[i++]);
    for (int part = 0; part < 2; ++part) {
      const size_t n = w[i++];
      out += ",[";
      for (size_t k = 0; k < n; ++k) out += (k ? "," : "") + std::to_string(w[i++]);
      out += "]";
    }
    out += "]";
  }
  emit(out + "]}");
}

void emit_served(cb_engine* engine, uint64_t requests, uint64_t calls, uint64_t serve_ns,
                 uint64_t cpu_ns) {
  cb_engine_stats st{};
  cb_engine_get_stats(engine, &st);
  auto f = [](const char* k, uint64_t v) { return std::string(",\"") + k + "\":" + std::to_string(v); };
  emit("{\"ev\":\"served\"" + f("requests", requests) + f("tokens", st.generated_tokens) +
       f("steps", st.steps) + f("forward_passes", st.forward_passes) + f("evals", st.evals) +
       f("syncs", st.syncs) + f("calls", calls) + f("callbacks", st.callbacks) +
       f("requests_cancelled", st.requests_cancelled) + f("admit_wait_ns", st.admit_wait_ns) +
       f("max_active", st.max_active) + f("serve_ns", serve_ns) + f("process_cpu_ns", cpu_ns) +
       f("os_threads", os_threads()) + f("peak_rss_bytes", peak_rss_bytes()) +
       f("mlx_peak_bytes", cb_mlx_peak_memory()) + "}");
}

}  // namespace

cb_status serve_trace(cb_model* model, const Trace& trace) {
  Client c(trace);
  read_fault(c);
  cb_engine_options opt{trace.max_batch, trace.closed ? trace.concurrency : 0,
                        trace.requests.size(), trace.admit_timeout_ms * 1000000ull};
  if (cb_status s = cb_engine_new(model, &opt, &c.engine); s != CB_OK) {
    emit_error(s, cb_last_error());
    return s;
  }
  c.logs.resize(trace.requests.size());
  for (size_t i = 0; i < trace.requests.size(); ++i) {
    c.logs[i].ids.reserve(trace.requests[i].max_new);
    c.logs[i].stamps.reserve(trace.requests[i].max_new);
  }
  const uint64_t calls0 = abi_calls(), cpu0 = process_cpu_ns(), t0 = now_ns();
  std::thread arrival;
  if (trace.closed) {
    const uint64_t first = std::min<uint64_t>(trace.concurrency, trace.requests.size());
    c.next = first;
    for (uint64_t id = 0; id < first; ++id) submit(c, id);
  } else {
    arrival = std::thread(arrivals, std::ref(c), t0);
  }
  cb_status s = step_all(c);
  std::string message = s != CB_OK ? cb_last_error() : "";
  if (c.submit_status != CB_OK) {  // e.g. a prompt id outside the vocabulary
    s = c.submit_status;
    message = "submitting a request failed: " + c.submit_error;
  }
  if (s != CB_OK) {
    cb_engine_close(c.engine);  // the arrival thread's submissions now fail fast
    if (arrival.joinable()) arrival.join();
    emit_requests(c);
    emit_error(s, message);
  } else {
    if (arrival.joinable()) arrival.join();
    const uint64_t serve_ns = now_ns() - t0, cpu_ns = process_cpu_ns() - cpu0;
    const uint64_t calls = abi_calls() - calls0;
    emit_requests(c);
    emit_schedule(c.engine);
    emit_served(c.engine, trace.requests.size(), calls, serve_ns, cpu_ns);
  }
  cb_engine_free(c.engine);
  return s;
}

}  // namespace runner
