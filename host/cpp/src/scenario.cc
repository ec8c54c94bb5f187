#include "scenario.h"

#include <fstream>
#include <sstream>

#include "events.h"
#include "runner.h"
#include "util.h"

namespace cpphost {

namespace {

uint32_t parseLevel(const Json* v) {
  if (v == nullptr) return 2;
  if (v->isNumber()) return static_cast<uint32_t>(v->asInt());
  for (uint32_t i = 0; i < 6; i++) {
    if (v->asString() == levelName(i)) return i;
  }
  return 2;
}

}  // namespace

bool readHeaders(const Json* v, HeaderMap& out, std::string& err) {
  if (v == nullptr) return true;
  if (v->isArray()) {
    for (const auto& p : v->items()) {
      if (!p.isArray() || p.size() != 2 || !p.at(0).isString() || !p.at(1).isString()) {
        err = "headers must be [name, value] string pairs";
        return false;
      }
      out.addCopy(p.at(0).asString(), p.at(1).asString());
    }
    return true;
  }
  if (v->isObject()) {
    for (const auto& m : v->members()) {
      if (!m.second.isString()) {
        err = "header " + m.first + " must be a string";
        return false;
      }
      out.addCopy(m.first, m.second.asString());
    }
    return true;
  }
  err = "headers must be an array of pairs or an object";
  return false;
}

bool readBody(const Json* v, std::string& out, std::string& err) {
  out.clear();
  if (v == nullptr || v->isNull()) return true;
  if (v->isString()) {
    out = v->asString();
    return true;
  }
  if (!v->isObject()) {
    err = "a body is a string or an object";
    return false;
  }
  if (auto* t = v->get("text")) { out = t->asString(); return true; }
  if (auto* b = v->get("base64")) {
    if (!base64Decode(b->asString(), out)) { err = "bad base64 body"; return false; }
    return true;
  }
  if (auto* j = v->get("json")) { out = j->dump(); return true; }
  if (auto* f = v->get("file")) {
    std::ifstream in(f->asString(), std::ios::binary);
    if (!in) { err = "cannot read body file " + f->asString(); return false; }
    std::stringstream ss;
    ss << in.rdbuf();
    out = ss.str();
    return true;
  }
  if (auto* fill = v->get("fill")) {
    // prefix + repeat... + suffix, exactly `size` bytes in all.
    std::string prefix = fill->get("prefix") ? fill->get("prefix")->asString() : "";
    std::string suffix = fill->get("suffix") ? fill->get("suffix")->asString() : "";
    std::string repeat = fill->get("repeat") ? fill->get("repeat")->asString() : "x";
    int64_t size = fill->get("size") ? fill->get("size")->asInt() : 0;
    if (repeat.empty() || size < static_cast<int64_t>(prefix.size() + suffix.size())) {
      err = "fill: size smaller than prefix + suffix, or empty repeat";
      return false;
    }
    size_t middle = static_cast<size_t>(size) - prefix.size() - suffix.size();
    out.reserve(static_cast<size_t>(size));
    out = prefix;
    while (out.size() - prefix.size() < middle) out += repeat;
    out.resize(prefix.size() + middle);
    out += suffix;
    return true;
  }
  err = "unknown body form (text, base64, json, file, fill)";
  return false;
}

void Runner::readSettings(const Json& sc) {
  wallMs_ = sc.get("clock") && sc.get("clock")->get("wallMs") ? static_cast<uint64_t>(sc.get("clock")->get("wallMs")->asInt())
                                                              : 1700000000000ULL;
  monoMs_ = sc.get("clock") && sc.get("clock")->get("monoMs") ? static_cast<uint64_t>(sc.get("clock")->get("monoMs")->asInt())
                                                              : 1000000ULL;
  logLevel_ = parseLevel(sc.get("logLevel"));
  bufferLimit_ = sc.get("bufferLimit") ? static_cast<uint32_t>(sc.get("bufferLimit")->asInt()) : 32768;
  idleTimeoutMs_ = sc.get("idleTimeoutMs") ? static_cast<uint64_t>(sc.get("idleTimeoutMs")->asInt()) : 300000;
  failOpen_ = sc.get("failStrategy") && sc.get("failStrategy")->asString() == "FAIL_OPEN";
  const Json* plugin = sc.get("plugin");
  pluginName_ = plugin && plugin->get("name") ? plugin->get("name")->asString() : "ai-json-mode";
  rootId_ = plugin && plugin->get("rootId") ? plugin->get("rootId")->asString() : "";
  vmId_ = plugin && plugin->get("vmId") ? plugin->get("vmId")->asString() : "";
  vmConfig_ = plugin && plugin->get("vmConfig") ? (plugin->get("vmConfig")->isString() ? plugin->get("vmConfig")->asString()
                                                                                        : plugin->get("vmConfig")->dump())
                                                : "";
  clusters_.clear();
  if (auto* c = sc.get("clusters")) {
    for (const auto& m : c->members()) clusters_[m.first] = m.second.stringOr("healthy");
  }
}

}  // namespace cpphost
