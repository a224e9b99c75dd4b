#include "config/json.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <stdexcept>
#include <string_view>
#include <unordered_set>

namespace ranvier {
namespace json {

// ------------------------------------------------------------------ Value
Value Value::make_bool(bool b) {
  Value v;
  v.type_ = Type::boolean;
  v.b_ = b;
  return v;
}

Value Value::make_number(double d) {
  if (!std::isfinite(d)) throw std::invalid_argument("json: cannot write a non-finite number (NaN/inf)");
  Value v;
  v.type_ = Type::number;
  char buf[40];
  for (int prec = 1; prec <= 17; ++prec) {
    std::snprintf(buf, sizeof buf, "%.*g", prec, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  v.str_ = buf;
  if (v.str_.find_first_of(".eEn") == std::string::npos) v.str_ += ".0";
  return v;
}

Value Value::make_number_any(double d) {
  if (std::isfinite(d)) return make_number(d);
  Value v;
  v.type_ = Type::number;
  v.str_ = std::isnan(d) ? "nan" : (d > 0 ? "inf" : "-inf");
  return v;
}

Value Value::make_int(std::int64_t i) {
  Value v;
  v.type_ = Type::number;
  v.str_ = std::to_string(i);
  return v;
}

Value Value::make_uint(std::uint64_t u) {
  Value v;
  v.type_ = Type::number;
  v.str_ = std::to_string(u);
  return v;
}

Value Value::make_string(std::string s) {
  Value v;
  v.type_ = Type::string;
  v.str_ = std::move(s);
  return v;
}

Value Value::make_array() {
  Value v;
  v.type_ = Type::array;
  return v;
}

Value Value::make_object() {
  Value v;
  v.type_ = Type::object;
  return v;
}

const char* Value::type_name(Type t) {
  switch (t) {
    case Type::null: return "null";
    case Type::boolean: return "a boolean";
    case Type::number: return "a number";
    case Type::string: return "a string";
    case Type::array: return "an array";
    case Type::object: return "an object";
  }
  return "?";
}

namespace {
[[noreturn]] void type_error(const char* what, const char* expected, Value::Type got) {
  throw std::invalid_argument(std::string(what) + ": expected " + expected + ", got " +
                              Value::type_name(got));
}
}  // namespace

bool Value::as_bool(const char* what) const {
  if (type_ != Type::boolean) type_error(what, "a boolean", type_);
  return b_;
}

double Value::as_double(const char* what) const {
  if (type_ != Type::number) type_error(what, "a number", type_);
  return std::strtod(str_.c_str(), nullptr);  // from the text (parsing stays cheap; may be +-inf)
}

std::uint64_t Value::as_uint(const char* what) const {
  if (type_ != Type::number) type_error(what, "a non-negative integer", type_);
  const std::string& t = str_;
  bool digits_only = !t.empty();
  for (char c : t) digits_only = digits_only && c >= '0' && c <= '9';
  if (!digits_only)
    throw std::invalid_argument(std::string(what) + ": expected a non-negative integer, got " + t);
  // Exact parse with overflow check (the parser already rejected leading zeros).
  std::uint64_t r = 0;
  for (char c : t) {
    const std::uint64_t d = static_cast<std::uint64_t>(c - '0');
    if (r > (std::numeric_limits<std::uint64_t>::max() - d) / 10)
      throw std::invalid_argument(std::string(what) + ": integer " + t + " is too large");
    r = r * 10 + d;
  }
  return r;
}

std::int64_t Value::as_int(const char* what) const {
  if (type_ != Type::number) type_error(what, "an integer", type_);
  const bool neg = !str_.empty() && str_[0] == '-';
  Value mag;
  mag.type_ = Type::number;
  mag.str_ = neg ? str_.substr(1) : str_;
  std::uint64_t u;
  try {
    u = mag.as_uint(what);
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(std::string(what) + ": expected an integer, got " + str_);
  }
  const std::uint64_t lim = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
  if (u > lim + (neg ? 1u : 0u))
    throw std::invalid_argument(std::string(what) + ": integer " + str_ + " is out of range");
  if (neg) return u == lim + 1 ? std::numeric_limits<std::int64_t>::min() : -static_cast<std::int64_t>(u);
  return static_cast<std::int64_t>(u);
}

const std::string& Value::as_string(const char* what) const {
  if (type_ != Type::string) type_error(what, "a string", type_);
  return str_;
}

const std::vector<Value>& Value::as_array(const char* what) const {
  if (type_ != Type::array) type_error(what, "an array", type_);
  return arr_;
}

const std::vector<std::pair<std::string, Value>>& Value::as_object(const char* what) const {
  if (type_ != Type::object) type_error(what, "an object", type_);
  return obj_;
}

const Value* Value::find(const std::string& key) const {
  if (type_ != Type::object) return nullptr;
  for (const auto& kv : obj_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

void Value::push_back(Value v) {
  if (type_ != Type::array) type_error("push_back", "an array", type_);
  arr_.push_back(std::move(v));
}

void Value::set(const std::string& key, Value v) {
  if (type_ != Type::object) type_error("set", "an object", type_);
  for (auto& kv : obj_)
    if (kv.first == key) {
      kv.second = std::move(v);
      return;
    }
  obj_.emplace_back(key, std::move(v));
}

// ------------------------------------------------------------------ UTF-8
namespace {
// Length of the valid UTF-8 sequence at s (n bytes available), or 0 if invalid.
std::size_t utf8_seq(const unsigned char* s, std::size_t n) {
  const unsigned char c = s[0];
  if (c < 0x80) return 1;
  std::size_t len;
  std::uint32_t cp;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
    cp = c & 0x1F;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    cp = c & 0x0F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (n < len) return 0;
  for (std::size_t i = 1; i < len; ++i) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = (cp << 6) | (s[i] & 0x3F);
  }
  if (len == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) return 0;
  if (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) return 0;
  return len;
}
}  // namespace

bool valid_utf8(const char* s, std::size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(s);
  std::size_t i = 0;
  while (i < n) {
    const std::size_t len = utf8_seq(p + i, n - i);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

// ------------------------------------------------------------------ parser
namespace {
// The keys of one object being parsed, for duplicate detection in O(1) per key.
class KeyIndex {
 public:
  using Members = std::vector<std::pair<std::string, Value>>;
  explicit KeyIndex(const Members& m) : m_(m), set_(0, Hash{&m}, Eq{&m}) {}

  // Registers the key just appended to the object; false when it was already there.
  bool insert_last() {
    const std::size_t last = m_.size() - 1;
    if (m_.size() <= kLinear) {
      for (std::size_t i = 0; i < last; ++i)
        if (m_[i].first == m_[last].first) return false;
      return true;
    }
    if (set_.empty())
      for (std::size_t i = 0; i < last; ++i) set_.insert(i);
    return set_.insert(last).second;
  }

 private:
  static constexpr std::size_t kLinear = 16;
  struct Hash {
    const Members* m;
    std::size_t operator()(std::size_t i) const { return std::hash<std::string_view>()((*m)[i].first); }
  };
  struct Eq {
    const Members* m;
    bool operator()(std::size_t a, std::size_t b) const { return (*m)[a].first == (*m)[b].first; }
  };
  const Members& m_;
  std::unordered_set<std::size_t, Hash, Eq> set_;
};
}  // namespace

class Parser {
 public:
  Parser(const char* s, std::size_t n, int max_depth, std::size_t max_values)
      : s_(s), n_(n), max_depth_(max_depth), max_values_(max_values) {}

  Value parse_document() {
    skip_ws();
    Value v = parse_value(0);
    skip_ws();
    if (i_ != n_) fail("unexpected data after the JSON value");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const {
    throw std::invalid_argument("invalid JSON at byte " + std::to_string(i_) + ": " + msg);
  }

  void skip_ws() {
    while (i_ < n_ && (s_[i_] == ' ' || s_[i_] == '\t' || s_[i_] == '\n' || s_[i_] == '\r')) ++i_;
  }

  char peek() const { return i_ < n_ ? s_[i_] : '\0'; }

  void expect_literal(const char* lit) {
    const std::size_t len = std::strlen(lit);
    if (n_ - i_ < len || std::memcmp(s_ + i_, lit, len) != 0) fail("invalid literal");
    i_ += len;
  }

  Value parse_value(int depth) {
    if (i_ >= n_) fail("unexpected end of input");
    if (++values_ > max_values_) fail("more than " + std::to_string(max_values_) + " values");
    const char c = s_[i_];
    switch (c) {
      case '{': return parse_object(depth + 1);
      case '[': return parse_array(depth + 1);
      case '"': return Value::make_string(parse_string());
      case 't': expect_literal("true"); return Value::make_bool(true);
      case 'f': expect_literal("false"); return Value::make_bool(false);
      case 'n': expect_literal("null"); return Value();
      default:
        if (c == '-' || (c >= '0' && c <= '9')) return parse_number();
        fail(std::string("unexpected character '") + (c >= 0x20 && c < 0x7f ? std::string(1, c) : "?") + "'");
    }
  }

  Value parse_object(int depth) {
    if (depth > max_depth_) fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
    ++i_;  // {
    Value v = Value::make_object();
    skip_ws();
    if (peek() == '}') {
      ++i_;
      return v;
    }
    // Duplicate keys: a linear scan while the object is small, then a hash set of indices
    // into obj_ (keys stay in the vector; the set hashes them in place), so an object of n
    // keys costs O(n), not O(n^2).
    KeyIndex index(v.obj_);
    for (;;) {
      skip_ws();
      if (peek() != '"') fail("expected a string key");
      std::string key = parse_string();
      skip_ws();
      if (peek() != ':') fail("expected ':' after an object key");
      v.obj_.emplace_back(std::move(key), Value());
      if (!index.insert_last()) {
        std::string shown = v.obj_.back().first;
        if (shown.size() > 60) shown = shown.substr(0, 57) + "...";
        fail("duplicate key \"" + shown + "\"");
      }
      ++i_;
      skip_ws();
      v.obj_.back().second = parse_value(depth);
      skip_ws();
      const char c = peek();
      if (c == ',') {
        ++i_;
        continue;
      }
      if (c == '}') {
        ++i_;
        return v;
      }
      fail("expected ',' or '}' in an object");
    }
  }

  Value parse_array(int depth) {
    if (depth > max_depth_) fail("nesting deeper than " + std::to_string(max_depth_) + " levels");
    ++i_;  // [
    Value v = Value::make_array();
    skip_ws();
    if (peek() == ']') {
      ++i_;
      return v;
    }
    for (;;) {
      skip_ws();
      v.arr_.push_back(parse_value(depth));
      skip_ws();
      const char c = peek();
      if (c == ',') {
        ++i_;
        continue;
      }
      if (c == ']') {
        ++i_;
        return v;
      }
      fail("expected ',' or ']' in an array");
    }
  }

  Value parse_number() {
    const std::size_t start = i_;
    if (peek() == '-') ++i_;
    if (peek() == '0') {
      ++i_;
    } else if (peek() >= '1' && peek() <= '9') {
      while (peek() >= '0' && peek() <= '9') ++i_;
    } else {
      fail("invalid number");
    }
    if (peek() == '.') {
      ++i_;
      if (!(peek() >= '0' && peek() <= '9')) fail("invalid number: digits expected after '.'");
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    if (peek() == 'e' || peek() == 'E') {
      ++i_;
      if (peek() == '+' || peek() == '-') ++i_;
      if (!(peek() >= '0' && peek() <= '9')) fail("invalid number: digits expected in the exponent");
      while (peek() >= '0' && peek() <= '9') ++i_;
    }
    Value v;
    v.type_ = Value::Type::number;
    v.str_.assign(s_ + start, i_ - start);  // the value is read from this text on demand
    return v;
  }

  unsigned hex4() {
    if (n_ - i_ < 4) fail("truncated \\u escape");
    unsigned u = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = s_[i_++];
      u <<= 4;
      if (c >= '0' && c <= '9') u |= static_cast<unsigned>(c - '0');
      else if (c >= 'a' && c <= 'f') u |= static_cast<unsigned>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') u |= static_cast<unsigned>(c - 'A' + 10);
      else fail("invalid hex digit in a \\u escape");
    }
    return u;
  }

  static void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  std::string parse_string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= n_) fail("unterminated string");
      const auto c = static_cast<unsigned char>(s_[i_]);
      if (c == '"') {
        ++i_;
        return out;
      }
      if (c < 0x20) fail("raw control character in a string");
      if (c == '\\') {
        ++i_;
        if (i_ >= n_) fail("unterminated escape");
        const char e = s_[i_++];
        switch (e) {
          case '"': out += '"'; break;
          case '\\': out += '\\'; break;
          case '/': out += '/'; break;
          case 'b': out += '\b'; break;
          case 'f': out += '\f'; break;
          case 'n': out += '\n'; break;
          case 'r': out += '\r'; break;
          case 't': out += '\t'; break;
          case 'u': {
            std::uint32_t cp = hex4();
            if (cp >= 0xDC00 && cp <= 0xDFFF) fail("lone low surrogate in a \\u escape");
            if (cp >= 0xD800 && cp <= 0xDBFF) {
              if (n_ - i_ < 2 || s_[i_] != '\\' || s_[i_ + 1] != 'u') fail("lone high surrogate in a \\u escape");
              i_ += 2;
              const std::uint32_t lo = hex4();
              if (lo < 0xDC00 || lo > 0xDFFF) fail("invalid surrogate pair in a \\u escape");
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            }
            append_utf8(out, cp);
            break;
          }
          default: fail("invalid escape");
        }
        continue;
      }
      const std::size_t len = utf8_seq(reinterpret_cast<const unsigned char*>(s_ + i_), n_ - i_);
      if (len == 0) fail("invalid UTF-8 in a string");
      out.append(s_ + i_, len);
      i_ += len;
    }
  }

  const char* s_;
  std::size_t n_;
  std::size_t i_ = 0;
  int max_depth_;
  std::size_t max_values_;
  std::size_t values_ = 0;
};

Value parse(const char* text, std::size_t len, int max_depth, std::size_t max_values) {
  return Parser(text, len, max_depth, max_values).parse_document();
}

// ------------------------------------------------------------------ writer
std::string quote(const std::string& s) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  std::size_t i = 0;
  const std::size_t n = s.size();
  auto u_escape = [&](unsigned u) {
    out += "\\u";
    out += hex[(u >> 12) & 15];
    out += hex[(u >> 8) & 15];
    out += hex[(u >> 4) & 15];
    out += hex[u & 15];
  };
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      switch (c) {
        case '"': out += "\\\""; break;
        case '\\': out += "\\\\"; break;
        case '\n': out += "\\n"; break;
        case '\r': out += "\\r"; break;
        case '\t': out += "\\t"; break;
        case '\b': out += "\\b"; break;
        case '\f': out += "\\f"; break;
        default:
          if (c < 0x20 || c == 0x7f) u_escape(c);
          else out += static_cast<char>(c);
      }
      ++i;
      continue;
    }
    const std::size_t len = utf8_seq(p + i, n - i);
    if (len == 0) throw std::invalid_argument("json: string is not valid UTF-8");
    std::uint32_t cp = len == 2 ? (c & 0x1Fu) : len == 3 ? (c & 0x0Fu) : (c & 0x07u);
    for (std::size_t k = 1; k < len; ++k) cp = (cp << 6) | (p[i + k] & 0x3Fu);
    if (cp >= 0x10000) {
      cp -= 0x10000;
      u_escape(0xD800 + (cp >> 10));
      u_escape(0xDC00 + (cp & 0x3FF));
    } else {
      u_escape(cp);
    }
    i += len;
  }
  out += '"';
  return out;
}

namespace {
void dump_to(const Value& v, std::string& out) {
  switch (v.type()) {
    case Value::Type::null: out += "null"; break;
    case Value::Type::boolean: out += v.as_bool() ? "true" : "false"; break;
    case Value::Type::number:
      if (v.number_text().find_first_of("ni") != std::string::npos)  // make_number_any's nan / inf
        throw std::invalid_argument("json: cannot write a non-finite number (NaN/inf)");
      out += v.number_text();
      break;
    case Value::Type::string: out += quote(v.as_string()); break;
    case Value::Type::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        dump_to(e, out);
      }
      out += ']';
      break;
    }
    case Value::Type::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.as_object()) {
        if (!first) out += ", ";
        first = false;
        out += quote(kv.first);
        out += ": ";
        dump_to(kv.second, out);
      }
      out += '}';
      break;
    }
  }
}
}  // namespace

std::string dump(const Value& v) {
  std::string out;
  dump_to(v, out);
  return out;
}

}  // namespace json
}  // namespace ranvier
