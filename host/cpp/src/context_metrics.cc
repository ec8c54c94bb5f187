// Metrics (Envoy's Context::defineMetric, incrementMetric, recordMetric, getMetric): ids
// from cpp-host's counters, values kept by name in the runner's stats store.
#include "envoy_context.h"
#include "events.h"
#include "runner.h"
#include "util.h"

namespace cpphost {

using proxy_wasm::MetricType;

WasmResult EnvoyContext::defineMetric(uint32_t type, std::string_view name, uint32_t* metric_id_ptr) {
  Json ev = call("define_metric");
  ev.set("type", metricTypeName(type));
  ev.set("name", utf8Lossy(name));
  WasmResult r = WasmResult::Ok;
  if (type > static_cast<uint32_t>(MetricType::Max)) {
    r = WasmResult::BadArgument;
  } else {
    auto t = static_cast<MetricType>(type);
    uint32_t id = t == MetricType::Counter ? wasm()->nextCounterMetricId()
                  : t == MetricType::Gauge ? wasm()->nextGaugeMetricId()
                                           : wasm()->nextHistogramMetricId();
    envoyWasm()->metrics_[id] = {t, std::string(name)};
    runner_->metricDefined(std::string(name), t);
    *metric_id_ptr = id;
  }
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::incrementMetric(uint32_t metric_id, int64_t offset) {
  auto& metrics = envoyWasm()->metrics_;
  auto it = metrics.find(metric_id);
  auto type = static_cast<MetricType>(metric_id & proxy_wasm::WasmBase::kMetricTypeMask);
  WasmResult r;
  if (type == MetricType::Counter) {
    if (it == metrics.end()) r = WasmResult::NotFound;
    else if (offset > 0) { runner_->metricValue(it->second.second) += offset; r = WasmResult::Ok; }
    else r = WasmResult::BadArgument;
  } else if (type == MetricType::Gauge) {
    if (it == metrics.end()) r = WasmResult::NotFound;
    else { runner_->metricValue(it->second.second) += offset; r = WasmResult::Ok; }
  } else {
    r = WasmResult::BadArgument;
  }
  Json ev = call("increment_metric");
  ev.set("name", it != metrics.end() ? Json(it->second.second) : Json());
  ev.set("delta", offset);
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::recordMetric(uint32_t metric_id, uint64_t value) {
  auto& metrics = envoyWasm()->metrics_;
  auto it = metrics.find(metric_id);
  auto type = static_cast<MetricType>(metric_id & proxy_wasm::WasmBase::kMetricTypeMask);
  WasmResult r = WasmResult::NotFound;
  if (it != metrics.end()) {
    auto& v = runner_->metricValue(it->second.second);
    if (type == MetricType::Counter) v += static_cast<int64_t>(value);
    else v = static_cast<int64_t>(value);  // gauge: set; histogram: last sample
    r = WasmResult::Ok;
  }
  Json ev = call("record_metric");
  ev.set("name", it != metrics.end() ? Json(it->second.second) : Json());
  ev.set("value", value);
  ev.set("r", resultName(r));
  record(ev);
  return r;
}

WasmResult EnvoyContext::getMetric(uint32_t metric_id, uint64_t* value_ptr) {
  auto& metrics = envoyWasm()->metrics_;
  auto it = metrics.find(metric_id);
  auto type = static_cast<MetricType>(metric_id & proxy_wasm::WasmBase::kMetricTypeMask);
  if (type == MetricType::Histogram) return WasmResult::BadArgument;
  if (it == metrics.end()) return WasmResult::NotFound;
  *value_ptr = static_cast<uint64_t>(runner_->metricValue(it->second.second));
  return WasmResult::Ok;
}

}  // namespace cpphost
