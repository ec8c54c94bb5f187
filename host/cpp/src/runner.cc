// One scenario from start to teardown, and what the Envoy model asks of the runner:
// events, names of VMs and contexts, clusters, metrics, modules.
#include "runner.h"

#include <fstream>
#include <sstream>

#include "envoy_context.h"
#include "events.h"

namespace cpphost {

Runner::Runner(std::map<std::string, std::string> modulePaths) : modulePaths_(std::move(modulePaths)) {}

Runner::~Runner() {
  teardown();
  for (auto& m : modules_) m.second->base.reset();
  proxy_wasm::clearWasmCachesForTesting();
}

void Runner::record(Json event) {
  if (!recording_) return;
  events_.push(std::move(event));
}

std::string Runner::nameVm(VmRole role) {
  if (role == VmRole::Canary) return "canary" + std::to_string(++canaryVms_);
  if (role == VmRole::Worker) return "vm" + std::to_string(++workerVms_);
  return "base";
}

std::string Runner::nameRootContext(EnvoyWasm* wasm) {
  if (wasm->role() == VmRole::Canary) return wasm->label() + ".root";
  if (wasm->role() == VmRole::Base) return "base.root";
  return "root" + std::to_string(++roots_);
}

std::string Runner::contextName(proxy_wasm::ContextBase* ctx) const {
  if (ctx == nullptr) return "none";
  return static_cast<EnvoyContext*>(ctx)->name();
}

void Runner::noteContext(EnvoyContext* ctx) {
  if (!recording_ || ctx->envoyWasm() == nullptr || ctx->envoyWasm()->role() == VmRole::Base) return;
  Json c = Json::object();
  c.set("vm", ctx->envoyWasm()->label());
  c.set("id", ctx->id());
  contexts_.set(ctx->name(), c);
}

std::optional<std::string> Runner::clusterState(const std::string& cluster) const {
  auto it = clusters_.find(cluster);
  if (it == clusters_.end()) return std::nullopt;
  return it->second;
}

void Runner::metricDefined(const std::string& name, proxy_wasm::MetricType type) {
  if (metrics_.find(name) == metrics_.end()) metrics_[name] = {type, 0};
}

int64_t& Runner::metricValue(const std::string& name) { return metrics_[name].second; }

Stream* Runner::streamOf(EnvoyContext* ctx) { return ctx == nullptr ? nullptr : ctx->stream; }

void Runner::markFinished(Stream* s) { s->finished = true; }

Module* Runner::module(const std::string& name) {
  auto it = modules_.find(name);
  if (it != modules_.end()) return it->second.get();
  auto p = modulePaths_.find(name);
  if (p == modulePaths_.end()) return nullptr;
  std::ifstream in(p->second, std::ios::binary);
  if (!in) return nullptr;
  std::stringstream ss;
  ss << in.rdbuf();
  auto m = std::make_unique<Module>();
  m->path = p->second;
  m->code = ss.str();
  auto* raw = m.get();
  modules_[name] = std::move(m);
  return raw;
}

void Runner::scenarioError(const std::string& message) {
  errors_.push_back(message);
  Json e = event("scenario_error");
  e.set("msg", message);
  record(e);
}

void Runner::reset() {
  events_ = Json::array();
  contexts_ = Json::object();
  errors_.clear();
  streams_.clear();
  calls_.clear();
  metrics_.clear();
  current_.reset();
  workerVms_ = canaryVms_ = roots_ = configs_ = 0;
  cloneRole_ = VmRole::Worker;
}

Json Runner::run(const Json& sc) {
  reset();
  scenarioSeq_++;
  recording_ = !quiet_;
  Json out = Json::object();
  const Json* nameJ = sc.get("name");
  out.set("name", nameJ != nullptr ? *nameJ : Json());

  readSettings(sc);
  std::string moduleName = sc.get("module") ? sc.get("module")->asString() : "plugin";
  module_ = module(moduleName);
  if (module_ == nullptr) {
    scenarioError("unknown or unreadable module " + moduleName);
  } else {
    if (auto* c = sc.get("config")) configure(*c, ++configs_);
    const Json* steps = sc.get("steps");
    if (steps != nullptr) {
      for (size_t i = 0; i < steps->size(); i++) step(steps->at(i), i);
    }
    settle();
  }

  writeTranscript(out);
  teardown();
  return out;
}

void Runner::teardown() {
  recording_ = false;
  for (auto& s : streams_) {
    if (s->ctx) {
      s->ctx->stream = nullptr;
      s->ctx.reset();
    }
  }
  current_.reset();
  streams_.clear();
  calls_.clear();
  for (auto& m : modules_) {
    if (m.second->base && m.second->base->wasm() && m.second->base->wasm()->isFailed()) m.second->base.reset();
  }
}

}  // namespace cpphost
