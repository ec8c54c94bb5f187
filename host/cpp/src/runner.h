// Runs scenarios (tests/conformance/README.md) on proxy-wasm-cpp-host and
// writes one normalised transcript per scenario.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "envoy.h"
#include "json.h"

namespace cpphost {

/** FilterManager iteration state of our (only) filter in one direction. */
enum class Iteration { Continue, StopSingle, StopAllBuffer, StopAllWatermark };

/** One direction (decode or encode) of the filter chain around our filter. */
struct Direction {
  Iteration iteration = Iteration::Continue;
  bool headersContinued = false;
  bool endObserved = false;                // the last frame has been seen
  std::unique_ptr<std::string> buffered;   // FilterManager's buffered data for this direction
  bool streaming = false;                  // StopIterationAndWatermark (watermark, no 413/500)
  uint32_t limit = 0;                      // buffer limit (high watermark); 0 = none
  bool aboveHighWatermark = false;
  bool done = false;                       // the end of stream went past our filter
};

/** What the client (downstream) has received. */
struct ClientView {
  bool headersSent = false;
  HeaderMap headers;
  std::string body;
  bool complete = false;
  bool reset = false;
  std::string resetReason;
  std::optional<Json> localReply;  // {status, details} when Envoy answered itself
};

/** One HTTP stream: Envoy's ActiveStream + FilterManager, with our Wasm filter in it. */
struct Stream {
  Runner* runner = nullptr;
  std::string name;
  std::string route;
  std::string cluster;
  std::string upstreamProtocol = "http1";  // http1 | http2
  std::string downstreamProtocol = "HTTP/1.1";
  std::map<std::string, std::string> properties;  // extra properties, dotted paths

  std::shared_ptr<EnvoyContext> ctx;  // our filter (null: fail-open skipped it)
  HeaderMap requestHeaders;
  HeaderMap responseHeaders;
  bool responseHeadersReceived = false;
  Direction dec, enc;
  bool upstreamRequestStarted = false;   // request headers went upstream
  bool upstreamCancelled = false;        // a local reply ended the upstream request
  bool localReplySent = false;           // FilterManager: the filter chain was cut short
  ClientView client;
  bool finished = false;   // the client side is over (complete or reset): destroy pending
  bool destroyed = false;  // log / done / delete have run
  uint64_t lastActivityMs = 0;

  // Input from the client and the upstream.
  void requestHeadersFromClient(HeaderMap headers, bool end);
  void requestDataFromClient(std::string data, bool end);
  void responseHeadersFromUpstream(HeaderMap headers, bool end);
  void responseDataFromUpstream(std::string data, bool end);

  // Filter callbacks (Envoy's decoder_callbacks_ / encoder_callbacks_).
  void continueDecoding();
  void continueEncoding();
  void sendLocalReply(int code, std::string body, std::function<void(HeaderMap&)> modify,
                      std::string details);
  void resetStream(const std::string& reason);
  void setEncoderLimit(uint32_t limit);
  void setDecoderLimit(uint32_t limit);
  /** Re-checks a direction's buffer against its limit (WatermarkBuffer's high-watermark callback). */
  void checkWatermark(bool encoder);

private:
  void commonContinueEncoding();
  void commonContinueDecoding();
  void bufferData(bool encoder, std::string& data);
  void toClientHeaders(bool end);
  void toClientData(const std::string& data, bool end);
  void toUpstreamHeaders(bool end);
  void toUpstreamData(const std::string& data, bool end);
  void encodeLocalReplyThroughFilter(HeaderMap headers, std::string body);
  void touch();
};

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
  uint64_t lastRecoverMs = 0;  // Higress: the VM is re-created at most every 5 s
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
  HttpCallRecord& newCall(EnvoyContext* root, uint32_t token);
  HttpCallRecord* callByToken(EnvoyContext* root, uint32_t token);
  void rootGone(EnvoyContext* root);
  void metricDefined(const std::string& name, proxy_wasm::MetricType type);
  int64_t& metricValue(const std::string& name);
  void vmFailed(EnvoyWasm* wasm, std::string_view message);
  uint32_t defaultBufferLimit() const { return bufferLimit_; }
  Stream* streamOf(EnvoyContext* ctx);
  void markFinished(Stream* s);
  std::string contextName(proxy_wasm::ContextBase* ctx) const;
  /** Notes a context's id, so log text that quotes ids can be mapped to names. */
  void noteContext(EnvoyContext* ctx);

private:
  void reset();
  bool configure(const Json& config, int index);
  void step(const Json& step, size_t i);
  void streamStep(const Json& step);
  void answerCall(const Json& step);
  void advance(uint64_t ms);
  void fireTimeouts();
  void settle();
  void destroyStream(Stream* s);
  std::shared_ptr<EnvoyContext> createFilter(Stream& s);
  Module* module(const std::string& name);
  Json clients() const;
  Json metricsJson() const;
  void teardown();
  void scenarioError(const std::string& message);

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
