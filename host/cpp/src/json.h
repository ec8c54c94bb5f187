// A small JSON value, parser and writer for scenarios and transcripts.
//
// Objects keep their key order. The writer escapes exactly as JavaScript's
// JSON.stringify does (", \, \b \f \n \r \t, other control characters as
// \u00xx, everything else as UTF-8), so a TypeScript host can write the same
// bytes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cpphost {

class Json {
public:
  enum class Type { Null, Bool, Number, String, Array, Object };
  using Members = std::vector<std::pair<std::string, Json>>;
  using Items = std::vector<Json>;

  Json() = default;
  Json(std::nullptr_t) {}
  Json(bool b) : type_(Type::Bool), bool_(b) {}
  Json(int v) : type_(Type::Number), num_(v), int_(v), is_int_(true) {}
  Json(int64_t v) : type_(Type::Number), num_(static_cast<double>(v)), int_(v), is_int_(true) {}
  Json(uint64_t v) : Json(static_cast<int64_t>(v)) {}
  Json(uint32_t v) : Json(static_cast<int64_t>(v)) {}
  Json(double v);
  Json(const char* s) : type_(Type::String), str_(s) {}
  Json(std::string s) : type_(Type::String), str_(std::move(s)) {}
  Json(std::string_view s) : type_(Type::String), str_(s) {}

  static Json object() { Json j; j.type_ = Type::Object; j.members_ = std::make_shared<Members>(); return j; }
  static Json array() { Json j; j.type_ = Type::Array; j.items_ = std::make_shared<Items>(); return j; }

  Type type() const { return type_; }
  bool isNull() const { return type_ == Type::Null; }
  bool isBool() const { return type_ == Type::Bool; }
  bool isNumber() const { return type_ == Type::Number; }
  bool isString() const { return type_ == Type::String; }
  bool isArray() const { return type_ == Type::Array; }
  bool isObject() const { return type_ == Type::Object; }

  bool asBool(bool dflt = false) const { return isBool() ? bool_ : dflt; }
  double asNumber(double dflt = 0) const { return isNumber() ? num_ : dflt; }
  int64_t asInt(int64_t dflt = 0) const;
  const std::string& asString() const { return str_; }
  std::string stringOr(std::string dflt) const { return isString() ? str_ : dflt; }

  // Object access.
  const Json* get(std::string_view key) const;
  bool has(std::string_view key) const { return get(key) != nullptr; }
  Json& set(std::string key, Json value);  // appends (or replaces an existing key)
  const Members& members() const;

  // Array access.
  size_t size() const;
  const Json& at(size_t i) const;
  Json& push(Json value);
  const Items& items() const;

  std::string dump() const;
  void dumpTo(std::string& out) const;

  static bool parse(std::string_view text, Json& out, std::string& error);

private:
  Type type_ = Type::Null;
  bool bool_ = false;
  double num_ = 0;
  int64_t int_ = 0;
  bool is_int_ = false;
  std::string str_;
  std::shared_ptr<Items> items_;
  std::shared_ptr<Members> members_;
};

/** Appends `s` as a JSON string literal (JSON.stringify's escaping). */
void jsonQuote(std::string& out, std::string_view s);

}  // namespace cpphost
