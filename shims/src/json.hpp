// Minimal JSON reader for config.json, safetensors headers and index files.
// Kept dependency-free so the shim builds on a machine that only has gcc.
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cb::json {

struct Value {
  enum class Kind { Null, Bool, Number, String, Array, Object };
  Kind kind = Kind::Null;
  bool b = false;
  double num = 0.0;
  std::string str;
  std::vector<Value> arr;
  // std::map keeps keys sorted, which we rely on for deterministic output.
  std::map<std::string, Value> obj;

  bool is_null() const { return kind == Kind::Null; }
  bool is_number() const { return kind == Kind::Number; }
  bool is_string() const { return kind == Kind::String; }
  bool is_object() const { return kind == Kind::Object; }
  bool is_array() const { return kind == Kind::Array; }
  bool is_bool() const { return kind == Kind::Bool; }
  // Returns nullptr when absent or when this is not an object.
  const Value* find(const std::string& key) const;
};

// Throws std::runtime_error with "offset N: reason" on malformed input.
Value parse(const std::string& text);

// Escapes a string for inclusion inside JSON double quotes.
std::string escape(const std::string& s);

}  // namespace cb::json
