#include "json.hpp"

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>

namespace cb::json {

const Value* Value::find(const std::string& key) const {
  if (kind != Kind::Object) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &it->second;
}

namespace {

class Parser {
 public:
  explicit Parser(const std::string& t) : t_(t) {}

  Value parse_document() {
    Value v = parse_value(0);
    skip_ws();
    if (pos_ != t_.size()) error("trailing characters");
    return v;
  }

 private:
  const std::string& t_;
  size_t pos_ = 0;
  // Bounded recursion so a hostile header cannot blow the stack.
  static constexpr int kMaxDepth = 64;

  [[noreturn]] void error(const std::string& why) const {
    throw std::runtime_error("JSON offset " + std::to_string(pos_) + ": " + why);
  }
  void skip_ws() {
    while (pos_ < t_.size() && (t_[pos_] == ' ' || t_[pos_] == '\n' ||
                                t_[pos_] == '\r' || t_[pos_] == '\t'))
      ++pos_;
  }
  char peek() {
    skip_ws();
    if (pos_ >= t_.size()) error("unexpected end of input");
    return t_[pos_];
  }
  void expect_word(const char* w) {
    for (const char* p = w; *p; ++p, ++pos_)
      if (pos_ >= t_.size() || t_[pos_] != *p) error("invalid literal");
  }

  Value parse_value(int depth) {
    if (depth > kMaxDepth) error("nesting too deep");
    Value v;
    char c = peek();
    if (c == '{') return parse_object(depth);
    if (c == '[') return parse_array(depth);
    if (c == '"') {
      v.kind = Value::Kind::String;
      v.str = parse_string();
    } else if (c == 't') {
      expect_word("true");
      v.kind = Value::Kind::Bool;
      v.b = true;
    } else if (c == 'f') {
      expect_word("false");
      v.kind = Value::Kind::Bool;
    } else if (c == 'n') {
      expect_word("null");
    } else {
      v.kind = Value::Kind::Number;
      v.num = parse_number();
    }
    return v;
  }

  Value parse_object(int depth) {
    Value v;
    v.kind = Value::Kind::Object;
    ++pos_;  // '{'
    if (peek() == '}') { ++pos_; return v; }
    while (true) {
      if (peek() != '"') error("expected object key");
      std::string key = parse_string();
      if (peek() != ':') error("expected ':'");
      ++pos_;
      v.obj[key] = parse_value(depth + 1);
      char c = peek();
      ++pos_;
      if (c == '}') return v;
      if (c != ',') error("expected ',' or '}'");
    }
  }

  Value parse_array(int depth) {
    Value v;
    v.kind = Value::Kind::Array;
    ++pos_;  // '['
    if (peek() == ']') { ++pos_; return v; }
    while (true) {
      v.arr.push_back(parse_value(depth + 1));
      char c = peek();
      ++pos_;
      if (c == ']') return v;
      if (c != ',') error("expected ',' or ']'");
    }
  }

  double parse_number() {
    size_t start = pos_;
    if (t_[pos_] == '-') ++pos_;
    auto digit = [&] { return pos_ < t_.size() && t_[pos_] >= '0' && t_[pos_] <= '9'; };
    if (!digit()) error("invalid number");
    while (digit() || (pos_ < t_.size() && (t_[pos_] == '.' || t_[pos_] == 'e' ||
                                            t_[pos_] == 'E' || t_[pos_] == '+' ||
                                            t_[pos_] == '-')))
      ++pos_;
    std::string s = t_.substr(start, pos_ - start);
    char* end = nullptr;
    double d = std::strtod(s.c_str(), &end);
    if (end != s.c_str() + s.size()) error("invalid number '" + s + "'");
    // strtod turns 1e400 into infinity; no key we read may be infinite, and
    // an infinity reaching an integer or float cast would be undefined.
    if (std::isinf(d)) error("number '" + s + "' is out of range");
    return d;
  }

  unsigned parse_hex4() {
    if (pos_ + 4 > t_.size()) error("truncated \\u escape");
    unsigned cp = 0;
    for (int i = 0; i < 4; ++i) {
      char h = t_[pos_++];
      cp <<= 4;
      if (h >= '0' && h <= '9') cp |= unsigned(h - '0');
      else if (h >= 'a' && h <= 'f') cp |= unsigned(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') cp |= unsigned(h - 'A' + 10);
      else error("bad hex digit in \\u escape");
    }
    return cp;
  }

  static void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += char(cp);
    } else if (cp < 0x800) {
      out += char(0xC0 | (cp >> 6));
      out += char(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += char(0xE0 | (cp >> 12));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    } else {
      out += char(0xF0 | (cp >> 18));
      out += char(0x80 | ((cp >> 12) & 0x3F));
      out += char(0x80 | ((cp >> 6) & 0x3F));
      out += char(0x80 | (cp & 0x3F));
    }
  }

  unsigned parse_unicode_escape() {
    unsigned cp = parse_hex4();
    // Surrogate pair: a high surrogate must be followed by \uDC00..\uDFFF.
    if (cp >= 0xD800 && cp < 0xDC00 && pos_ + 1 < t_.size() &&
        t_[pos_] == '\\' && t_[pos_ + 1] == 'u') {
      pos_ += 2;
      unsigned lo = parse_hex4();
      if (lo < 0xDC00 || lo > 0xDFFF) error("bad surrogate pair");
      cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
    }
    return cp;
  }

  std::string parse_string() {
    ++pos_;  // opening quote
    std::string out;
    while (true) {
      if (pos_ >= t_.size()) error("unterminated string");
      char c = t_[pos_++];
      if (c == '"') return out;
      if (c != '\\') { out += c; continue; }
      if (pos_ >= t_.size()) error("unterminated escape");
      char e = t_[pos_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': append_utf8(out, parse_unicode_escape()); break;
        default: error(std::string("bad escape \\") + e);
      }
    }
  }
};

}  // namespace

Value parse(const std::string& text) { return Parser(text).parse_document(); }

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size() + 2);
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", c);
          out += buf;
        } else {
          out += char(c);
        }
    }
  }
  return out;
}

}  // namespace cb::json
