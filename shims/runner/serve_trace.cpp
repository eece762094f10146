#include "serve_trace.hpp"

#include <fstream>
#include <sstream>

namespace runner {
namespace {

bool parse_u64(const std::string& s, uint64_t& out) {
  if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 19)
    return false;
  out = std::stoull(s);
  return true;
}

bool parse_prompt(const std::string& s, std::vector<int32_t>& out) {
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    uint64_t v = 0;
    if (!parse_u64(item, v) || v > INT32_MAX) return false;
    out.push_back(int32_t(v));
  }
  return !out.empty() && s.back() != ',';
}

// One `request <id> <arrival_ns> <max_new> <prompt>` line.
bool parse_request(std::istringstream& in, TraceRequest& r) {
  std::string id, arrival, max_new, prompt, extra;
  uint64_t n = 0;
  if (!(in >> id >> arrival >> max_new >> prompt) || (in >> extra)) return false;
  if (!parse_u64(id, r.id) || !parse_u64(arrival, r.arrival_ns) || !parse_u64(max_new, n) ||
      n < 1 || n > UINT32_MAX)
    return false;
  r.max_new = uint32_t(n);
  return parse_prompt(prompt, r.prompt);
}

// The header lines before the requests; false on a malformed one.
bool parse_header(const std::string& key, std::istringstream& in, Trace& t, uint64_t& count) {
  std::string a, b;
  uint64_t v = 0;
  if (key == "arrival") {
    if (!(in >> a)) return false;
    t.closed = a == "closed";
    if (!t.closed) return a == "open" && !(in >> b);
    return (in >> b) && parse_u64(b, v) && v >= 1 && v <= UINT32_MAX &&
           (t.concurrency = uint32_t(v), true);
  }
  if (!(in >> a) || !parse_u64(a, v) || (in >> b)) return false;
  if (key == "max_batch") return v >= 1 && v <= UINT32_MAX && (t.max_batch = uint32_t(v), true);
  if (key == "admit_timeout_ms") return v >= 1 && (t.admit_timeout_ms = v, true);
  if (key == "requests") return v >= 1 && (count = v, true);
  return false;
}

}  // namespace

std::optional<Trace> read_trace(const std::string& path, std::string& error) {
  std::ifstream f(path);
  if (!f) {
    error = "cannot read the trace file " + path;
    return std::nullopt;
  }
  Trace t;
  uint64_t count = 0;
  std::string line;
  size_t lineno = 0;
  auto bad = [&](const std::string& why) {
    error = path + ":" + std::to_string(lineno) + ": " + why;
    return std::nullopt;
  };
  if (!std::getline(f, line) || line != "crossbench-serve-trace 1")
    return bad("not a crossbench-serve-trace 1 file");
  for (lineno = 2; std::getline(f, line); ++lineno) {
    std::istringstream in(line);
    std::string key;
    in >> key;
    if (key == "request") {
      TraceRequest r;
      if (!parse_request(in, r)) return bad("malformed request line");
      if (r.id != t.requests.size()) return bad("request ids must count 0, 1, ...");
      t.requests.push_back(std::move(r));
    } else if (!t.requests.empty() || !parse_header(key, in, t, count)) {
      return bad("unexpected line `" + line + "`");
    }
  }
  if (t.max_batch == 0 || t.admit_timeout_ms == 0 || (t.closed && t.concurrency == 0))
    return bad("missing arrival, max_batch or admit_timeout_ms");
  if (count != t.requests.size())
    return bad("`requests " + std::to_string(count) + "` but " +
               std::to_string(t.requests.size()) + " request lines");
  return t;
}

}  // namespace runner
