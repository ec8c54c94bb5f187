#include "json.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace cpphost {

namespace {
const Json kNull;
const Json::Members kNoMembers;
const Json::Items kNoItems;

/** A finite double as JavaScript's Number.prototype.toString writes it (shortest round trip). */
std::string jsNumber(double v) {
  if (v == 0) return "0";
  std::string sign = v < 0 ? "-" : "";
  double a = std::fabs(v);
  char buf[64];
  int p = 1;
  for (; p <= 17; p++) {
    snprintf(buf, sizeof buf, "%.*e", p - 1, a);
    if (strtod(buf, nullptr) == a) break;
  }
  // buf = d[.ddd]e[+-]xx
  std::string s(buf);
  size_t epos = s.find('e');
  std::string mant = s.substr(0, epos);
  int exp = atoi(s.c_str() + epos + 1);
  std::string digits;
  for (char c : mant) {
    if (c != '.') digits.push_back(c);
  }
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  int k = static_cast<int>(digits.size());
  int n = exp + 1;  // value = 0.digits * 10^n
  std::string out;
  if (k <= n && n <= 21) {
    out = digits + std::string(static_cast<size_t>(n - k), '0');
  } else if (0 < n && n <= 21) {
    out = digits.substr(0, static_cast<size_t>(n)) + "." + digits.substr(static_cast<size_t>(n));
  } else if (-6 < n && n <= 0) {
    out = "0." + std::string(static_cast<size_t>(-n), '0') + digits;
  } else {
    out = digits.substr(0, 1);
    if (k > 1) out += "." + digits.substr(1);
    int e = n - 1;
    out += e >= 0 ? "e+" : "e-";
    out += std::to_string(e >= 0 ? e : -e);
  }
  return sign + out;
}
}  // namespace

Json::Json(double v) : type_(Type::Number), num_(v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 9007199254740992.0) {
    is_int_ = true;
    int_ = static_cast<int64_t>(v);
  }
}

int64_t Json::asInt(int64_t dflt) const {
  if (!isNumber()) return dflt;
  return is_int_ ? int_ : static_cast<int64_t>(num_);
}

const Json* Json::get(std::string_view key) const {
  if (!isObject()) return nullptr;
  for (const auto& m : *members_) {
    if (m.first == key) return &m.second;
  }
  return nullptr;
}

Json& Json::set(std::string key, Json value) {
  if (!isObject()) *this = object();
  for (auto& m : *members_) {
    if (m.first == key) {
      m.second = std::move(value);
      return m.second;
    }
  }
  members_->emplace_back(std::move(key), std::move(value));
  return members_->back().second;
}

const Json::Members& Json::members() const { return isObject() ? *members_ : kNoMembers; }

size_t Json::size() const {
  if (isArray()) return items_->size();
  if (isObject()) return members_->size();
  return 0;
}

const Json& Json::at(size_t i) const {
  if (!isArray() || i >= items_->size()) return kNull;
  return (*items_)[i];
}

Json& Json::push(Json value) {
  if (!isArray()) *this = array();
  items_->push_back(std::move(value));
  return items_->back();
}

const Json::Items& Json::items() const { return isArray() ? *items_ : kNoItems; }

void jsonQuote(std::string& out, std::string_view s) {
  static const char* hex = "0123456789abcdef";
  out.push_back('"');
  for (unsigned char c : s) {
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out.push_back(hex[c >> 4]);
          out.push_back(hex[c & 15]);
        } else {
          out.push_back(static_cast<char>(c));
        }
    }
  }
  out.push_back('"');
}

void Json::dumpTo(std::string& out) const {
  switch (type_) {
    case Type::Null: out += "null"; break;
    case Type::Bool: out += bool_ ? "true" : "false"; break;
    case Type::Number: {
      char buf[40];
      if (is_int_) {
        snprintf(buf, sizeof buf, "%lld", static_cast<long long>(int_));
      } else if (!std::isfinite(num_)) {
        snprintf(buf, sizeof buf, "null");
      } else {
        out += jsNumber(num_);
        break;
      }
      out += buf;
      break;
    }
    case Type::String: jsonQuote(out, str_); break;
    case Type::Array: {
      out.push_back('[');
      bool first = true;
      for (const auto& v : *items_) {
        if (!first) out.push_back(',');
        first = false;
        v.dumpTo(out);
      }
      out.push_back(']');
      break;
    }
    case Type::Object: {
      out.push_back('{');
      bool first = true;
      for (const auto& m : *members_) {
        if (!first) out.push_back(',');
        first = false;
        jsonQuote(out, m.first);
        out.push_back(':');
        m.second.dumpTo(out);
      }
      out.push_back('}');
      break;
    }
  }
}

std::string Json::dump() const {
  std::string out;
  dumpTo(out);
  return out;
}

// ---- parser -------------------------------------------------------------------

namespace {

class Parser {
public:
  explicit Parser(std::string_view s) : s_(s) {}

  bool run(Json& out, std::string& error) {
    skip();
    if (!value(out, 0)) {
      error = error_ + " at offset " + std::to_string(pos_);
      return false;
    }
    skip();
    if (pos_ != s_.size()) {
      error = "trailing characters at offset " + std::to_string(pos_);
      return false;
    }
    return true;
  }

private:
  std::string_view s_;
  size_t pos_ = 0;
  std::string error_;

  bool fail(const char* what) {
    error_ = what;
    return false;
  }
  void skip() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t' || s_[pos_] == '\n' || s_[pos_] == '\r')) pos_++;
  }
  bool literal(std::string_view word) {
    if (s_.substr(pos_, word.size()) != word) return fail("invalid literal");
    pos_ += word.size();
    return true;
  }

  bool value(Json& out, int depth) {
    if (depth > 512) return fail("nesting too deep");
    if (pos_ >= s_.size()) return fail("unexpected end");
    char c = s_[pos_];
    if (c == '{') return object(out, depth);
    if (c == '[') return array(out, depth);
    if (c == '"') {
      std::string str;
      if (!string(str)) return false;
      out = Json(std::move(str));
      return true;
    }
    if (c == 't') { if (!literal("true")) return false; out = Json(true); return true; }
    if (c == 'f') { if (!literal("false")) return false; out = Json(false); return true; }
    if (c == 'n') { if (!literal("null")) return false; out = Json(); return true; }
    return number(out);
  }

  bool number(Json& out) {
    size_t start = pos_;
    if (pos_ < s_.size() && s_[pos_] == '-') pos_++;
    if (pos_ >= s_.size() || s_[pos_] < '0' || s_[pos_] > '9') return fail("invalid value");
    while (pos_ < s_.size() && ((s_[pos_] >= '0' && s_[pos_] <= '9') || s_[pos_] == '.' || s_[pos_] == 'e' ||
                                s_[pos_] == 'E' || s_[pos_] == '+' || s_[pos_] == '-')) {
      pos_++;
    }
    std::string text(s_.substr(start, pos_ - start));
    char* end = nullptr;
    double d = strtod(text.c_str(), &end);
    if (end == nullptr || *end != '\0') return fail("invalid number");
    out = Json(d);
    return true;
  }

  static void putUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  }

  bool hex4(uint32_t& v) {
    if (pos_ + 4 > s_.size()) return fail("short \\u escape");
    v = 0;
    for (int i = 0; i < 4; i++) {
      char c = s_[pos_++];
      v <<= 4;
      if (c >= '0' && c <= '9') v |= c - '0';
      else if (c >= 'a' && c <= 'f') v |= c - 'a' + 10;
      else if (c >= 'A' && c <= 'F') v |= c - 'A' + 10;
      else return fail("bad \\u escape");
    }
    return true;
  }

  bool string(std::string& out) {
    pos_++;  // opening quote
    while (true) {
      if (pos_ >= s_.size()) return fail("unterminated string");
      char c = s_[pos_++];
      if (c == '"') return true;
      if (static_cast<unsigned char>(c) < 0x20) return fail("control character in string");
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= s_.size()) return fail("unterminated escape");
      char e = s_[pos_++];
      switch (e) {
        case '"': out.push_back('"'); break;
        case '\\': out.push_back('\\'); break;
        case '/': out.push_back('/'); break;
        case 'b': out.push_back('\b'); break;
        case 'f': out.push_back('\f'); break;
        case 'n': out.push_back('\n'); break;
        case 'r': out.push_back('\r'); break;
        case 't': out.push_back('\t'); break;
        case 'u': {
          uint32_t cp;
          if (!hex4(cp)) return false;
          if (cp >= 0xD800 && cp < 0xDC00 && pos_ + 6 <= s_.size() && s_[pos_] == '\\' && s_[pos_ + 1] == 'u') {
            size_t save = pos_;
            pos_ += 2;
            uint32_t lo;
            if (!hex4(lo)) return false;
            if (lo >= 0xDC00 && lo < 0xE000) {
              cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else {
              pos_ = save;
              cp = 0xFFFD;
            }
          } else if (cp >= 0xD800 && cp < 0xE000) {
            cp = 0xFFFD;  // a lone surrogate cannot be UTF-8
          }
          putUtf8(out, cp);
          break;
        }
        default: return fail("bad escape");
      }
    }
  }

  bool array(Json& out, int depth) {
    pos_++;
    out = Json::array();
    skip();
    if (pos_ < s_.size() && s_[pos_] == ']') { pos_++; return true; }
    while (true) {
      skip();
      Json item;
      if (!value(item, depth + 1)) return false;
      out.push(std::move(item));
      skip();
      if (pos_ >= s_.size()) return fail("unterminated array");
      char c = s_[pos_++];
      if (c == ']') return true;
      if (c != ',') return fail("expected , or ]");
    }
  }

  bool object(Json& out, int depth) {
    pos_++;
    out = Json::object();
    skip();
    if (pos_ < s_.size() && s_[pos_] == '}') { pos_++; return true; }
    while (true) {
      skip();
      if (pos_ >= s_.size() || s_[pos_] != '"') return fail("expected a key");
      std::string key;
      if (!string(key)) return false;
      skip();
      if (pos_ >= s_.size() || s_[pos_] != ':') return fail("expected :");
      pos_++;
      skip();
      Json v;
      if (!value(v, depth + 1)) return false;
      out.set(std::move(key), std::move(v));
      skip();
      if (pos_ >= s_.size()) return fail("unterminated object");
      char c = s_[pos_++];
      if (c == '}') return true;
      if (c != ',') return fail("expected , or }");
    }
  }
};

}  // namespace

bool Json::parse(std::string_view text, Json& out, std::string& error) {
  Parser p(text);
  return p.run(out, error);
}

}  // namespace cpphost
