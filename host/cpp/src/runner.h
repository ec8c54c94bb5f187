// Runs scenarios (tests/conformance/README.md) on proxy-wasm-cpp-host and
// writes one normalised transcript per scenario. The Runner's parts, by job:
//
//   runner.cc        one scenario from start to teardown; names, events, metrics, modules
//   scenario.cc      the scenario's settings (and its headers and bodies: scenario.h)
//   vm_lifecycle.cc  configurations (canary and worker VM), the filter of a new stream,
//                    traps and VM re-creation
//   steps.cc         the stream driver: steps, the frames of a body, the clock, stream ends
//   calls.cc         HTTP call records and their answers (answer, timeout, failure, reset)
//   transcript.cc    what a transcript reports at the end: clients, calls, metrics, errors
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "envoy_wasm.h"
#include "http_call.h"
#include "json.h"
#include "stream.h"

namespace cpphost {

class EnvoyContext;

/** A compiled module, shared by the scenarios of one run. */
struct Module {
  std::string path;
  std::string code;
  std::shared_ptr<proxy_wasm::WasmHandleBase> base;  // the base VM (loaded once)
};

/** One accepted plugin configuration: Envoy's FilterConfig + its thread-local plugin handle. */
struct PluginInstance {
  int index = 0;
  std::shared_ptr<proxy_wasm::PluginBase> plugin;
  std::shared_ptr<proxy_wasm::PluginHandleBase> handle;
  uint64_t lastRecoverMs = 0;  // Higress: the VM is re-created at most once a second
};

class Runner {
public:
  explicit Runner(std::map<std::string, std::string> modulePaths);
  ~Runner();

  /** Runs one scenario and returns its transcript. */
  Json run(const Json& scenario);
  /** Quiet runs record no events (for benchmarks): only clients, calls and metrics. */
  void setQuiet(bool quiet) { quiet_ = quiet; }

  // ---- used by the Envoy model ----
  void record(Json event);
  bool recording() const { return recording_; }
  uint64_t wallMs() const { return wallMs_; }
  uint64_t monoMs() const { return monoMs_; }
  uint32_t logLevel() const { return logLevel_; }
  VmRole cloneRole() const { return cloneRole_; }
  std::string nameRootContext(EnvoyWasm* wasm);
  std::string nameVm(VmRole role);
  std::optional<std::string> clusterState(const std::string& cluster) const;
  HttpCallRecord& newCall(EnvoyContext* root, uint32_t token);      // calls.cc
  HttpCallRecord* callByToken(EnvoyContext* root, uint32_t token);  // calls.cc
  void rootGone(EnvoyContext* root);                                // calls.cc
  void metricDefined(const std::string& name, proxy_wasm::MetricType type);
  int64_t& metricValue(const std::string& name);
  void vmFailed(EnvoyWasm* wasm, std::string_view message);  // vm_lifecycle.cc
  uint32_t defaultBufferLimit() const { return bufferLimit_; }
  Stream* streamOf(EnvoyContext* ctx);
  void markFinished(Stream* s);
  std::string contextName(proxy_wasm::ContextBase* ctx) const;
  /** Notes a context's id, so log text that quotes ids can be mapped to names. */
  void noteContext(EnvoyContext* ctx);

private:
  // runner.cc
  void reset();
  void teardown();
  Module* module(const std::string& name);
  void scenarioError(const std::string& message);
  // scenario.cc
  void readSettings(const Json& scenario);
  // vm_lifecycle.cc
  bool configure(const Json& config, int index);
  std::shared_ptr<EnvoyContext> createFilter(Stream& s);
  // steps.cc
  void step(const Json& step, size_t i);
  void streamStep(const Json& step);
  void advance(uint64_t ms);
  void settle();
  void destroyStream(Stream* s);
  // calls.cc
  void answerCall(const Json& step);
  // transcript.cc
  void writeTranscript(Json& out) const;
  Json clients() const;
  Json callsJson() const;
  Json metricsJson() const;

  std::map<std::string, std::string> modulePaths_;
  std::map<std::string, std::unique_ptr<Module>> modules_;
  uint64_t scenarioSeq_ = 0;
  bool quiet_ = false;

  // Per scenario.
  Json events_;
  Json contexts_;
  std::vector<std::string> errors_;
  bool recording_ = false;
  uint64_t wallMs_ = 0, monoMs_ = 0;
  uint32_t logLevel_ = 2;
  uint32_t bufferLimit_ = 32768;
  uint64_t idleTimeoutMs_ = 300000;
  bool failOpen_ = false;
  std::string pluginName_, rootId_, vmId_, vmConfig_;
  Module* module_ = nullptr;
  std::map<std::string, std::string> clusters_;
  VmRole cloneRole_ = VmRole::Worker;
  int workerVms_ = 0, canaryVms_ = 0, roots_ = 0, configs_ = 0;
  std::optional<PluginInstance> current_;
  std::vector<std::unique_ptr<Stream>> streams_;
  std::vector<HttpCallRecord> calls_;
  std::map<std::string, std::pair<proxy_wasm::MetricType, int64_t>> metrics_;
};

}  // namespace cpphost
