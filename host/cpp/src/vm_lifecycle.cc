// The plugin's VMs: a configuration (the canary, then the worker VM and its root context),
// the filter of a new stream, and what a trap leads to -- the VM re-created for a later
// stream, at most once a second, or a filter without a VM meanwhile.
#include <cstdio>
#include <cstdlib>

#include "envoy_context.h"
#include "events.h"
#include "include/proxy-wasm/wamr.h"
#include "runner.h"

namespace cpphost {

namespace {

constexpr uint64_t kMinRecoverIntervalMs = 1000;  // Higress envoy-1.27: MIN_RECOVER_INTERVAL_SECONDS = 1

}  // namespace

// ---- configuration (Envoy: a new FilterConfig for the plugin) --------------------------

bool Runner::configure(const Json& config, int index) {
  std::string text = config.isString() ? config.asString() : config.dump();
  auto plugin = std::make_shared<proxy_wasm::PluginBase>(pluginName_, rootId_, vmId_, "wamr", text, failOpen_,
                                                         "scenario-" + std::to_string(scenarioSeq_));
  std::string vmKey = proxy_wasm::makeVmKey(vmId_, vmConfig_, module_->code);
  auto wasmFactory = [this](std::string_view vm_key) -> std::shared_ptr<proxy_wasm::WasmHandleBase> {
    auto vm = proxy_wasm::createWamrVm();
    auto wasm = std::make_shared<EnvoyWasm>(this, std::move(vm), vmId_, vmConfig_, vm_key);
    return std::make_shared<proxy_wasm::WasmHandleBase>(std::static_pointer_cast<proxy_wasm::WasmBase>(wasm));
  };
  auto cloneFactory = [this](std::shared_ptr<proxy_wasm::WasmHandleBase> base)
      -> std::shared_ptr<proxy_wasm::WasmHandleBase> {
    auto wasm = std::make_shared<EnvoyWasm>(this, cloneRole_, base, []() { return proxy_wasm::createWamrVm(); });
    return std::make_shared<proxy_wasm::WasmHandleBase>(std::static_pointer_cast<proxy_wasm::WasmBase>(wasm));
  };
  auto pluginFactory = [](std::shared_ptr<proxy_wasm::WasmHandleBase> wasm,
                          std::shared_ptr<proxy_wasm::PluginBase> p) {
    return std::make_shared<proxy_wasm::PluginHandleBase>(wasm, p);
  };

  Json e = event("configure");
  e.set("index", index);
  // createWasm: the base VM (loaded once per module) and the configuration canary.
  cloneRole_ = VmRole::Canary;
  auto base = proxy_wasm::createWasm(vmKey, module_->code, plugin, wasmFactory, cloneFactory, false);
  cloneRole_ = VmRole::Worker;
  if (!base) {
    e.set("accepted", false);
    e.set("stage", "canary");
    record(e);
    return false;
  }
  module_->base = base;
  auto handle = proxy_wasm::getOrCreateThreadLocalPlugin(base, plugin, cloneFactory, pluginFactory);
  if (!handle) {
    e.set("accepted", false);
    e.set("stage", "worker");
    record(e);
    return false;
  }
  auto* root = handle->wasm()->getRootContext(plugin, false);
  e.set("accepted", true);
  e.set("root", root != nullptr ? Json(contextName(root)) : Json());
  record(e);
  PluginInstance inst;
  inst.index = index;
  inst.plugin = plugin;
  inst.handle = handle;
  current_ = std::move(inst);  // the previous handle lives on in the streams that hold it
  return true;
}

// ---- the filter of a new stream (Higress 1.27 FilterConfig::createFilter) ---------------

std::shared_ptr<EnvoyContext> Runner::createFilter(Stream& s) {
  if (!current_) {
    Json e = event("filter");
    e.set("stream", s.name);
    e.set("state", "absent");
    record(e);
    return nullptr;
  }
  auto handle = current_->handle;
  auto wasm = handle->wasm();
  bool failed = wasm == nullptr;
  if (!failed && wasm->isFailed()) {
    // "wasm vm is crashed, try to recover" -- at most once a second (PluginHandleSharedPtrThreadLocal).
    Json e = event("vm_recover");
    e.set("stream", s.name);
    if (monoMs_ - current_->lastRecoverMs < kMinRecoverIntervalMs) {
      e.set("result", "interval_not_reached");
      failed = true;
    } else {
      current_->lastRecoverMs = monoMs_;
      cloneRole_ = VmRole::Worker;
      std::shared_ptr<proxy_wasm::PluginHandleBase> fresh;
      if (handle->doRecover(fresh) && fresh) {
        current_->handle = fresh;
        handle = fresh;
        wasm = fresh->wasm();
        auto* root = wasm->getRootContext(current_->plugin, false);
        e.set("result", "recovered");
        e.set("vm", static_cast<EnvoyWasm*>(wasm.get())->label());
        e.set("root", root != nullptr ? Json(contextName(root)) : Json());
      } else {
        e.set("result", "failed");
        failed = true;
      }
    }
    record(e);
  }
  if (failed) {
    if (current_->plugin->fail_open_) {
      Json e = event("filter");
      e.set("stream", s.name);
      e.set("state", "skipped_fail_open");
      record(e);
      return nullptr;
    }
    // Fail closed: a context without a VM; its first callback fails the stream.
    auto ctx = std::make_shared<EnvoyContext>(nullptr, 0, handle);
    ctx->setName(s.name);
    return ctx;
  }
  auto* root = wasm->getRootContext(current_->plugin, false);
  if (root == nullptr) {
    scenarioError("no root context for the current plugin");
    return nullptr;
  }
  auto ctx = std::make_shared<EnvoyContext>(static_cast<EnvoyWasm*>(wasm.get()), root->id(), handle);
  ctx->setName(s.name);
  noteContext(ctx.get());
  return ctx;
}

// ---- traps (the VM integration reports them) ------------------------------------------

void Runner::vmFailed(EnvoyWasm* wasm, std::string_view message) {
  if (!recording_) return;
  const std::string prefix = "Function: ";
  std::string msg(message);
  if (msg.rfind(prefix, 0) == 0 && msg.find(" failed: ") != std::string::npos) {
    Json e = event("vm_failed");
    e.set("vm", wasm->label());
    e.set("fn", msg.substr(prefix.size(), msg.find(" failed: ") - prefix.size()));
    record(e);
    if (getenv("CPPHOST_DEBUG") != nullptr) fprintf(stderr, "cpphost: %s: %s\n", wasm->label().c_str(), msg.c_str());
    return;
  }
  Json e = event("vm_error");
  e.set("vm", wasm->label());
  e.set("msg", msg);
  record(e);
}

}  // namespace cpphost
