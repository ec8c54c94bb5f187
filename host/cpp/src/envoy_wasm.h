// EnvoyWasm: the WasmBase Envoy 1.27 (as Higress builds it) puts around one VM.
// It creates our contexts, sends engine errors (traps) to the runner, and records
// every call into the VM -- and proxy_set_effective_context / proxy_done, which
// cpp-host handles without a ContextBase hook -- as transcript events.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "include/proxy-wasm/context.h"
#include "include/proxy-wasm/wasm.h"

namespace proxy_wasm {
// Defined in proxy-wasm-cpp-host's src/exports.cc.
ContextBase* contextOrEffectiveContext();
}  // namespace proxy_wasm

namespace cpphost {

class Runner;
class EnvoyContext;

using proxy_wasm::WasmResult;

/** What a VM is for; names its contexts in transcripts. */
enum class VmRole { Base, Canary, Worker };

class EnvoyWasm : public proxy_wasm::WasmBase {
public:
  EnvoyWasm(Runner* runner, std::unique_ptr<proxy_wasm::WasmVm> vm, std::string_view vm_id,
            std::string_view vm_configuration, std::string_view vm_key);
  EnvoyWasm(Runner* runner, VmRole role, const std::shared_ptr<proxy_wasm::WasmHandleBase>& base,
            const proxy_wasm::WasmVmFactory& factory);
  ~EnvoyWasm() override;

  Runner* runner() const { return runner_; }
  VmRole role() const { return role_; }
  const std::string& label() const { return label_; }
  void setLabel(std::string label) { label_ = std::move(label); }

  proxy_wasm::ContextBase* createVmContext() override;
  proxy_wasm::ContextBase* createRootContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) override;
  proxy_wasm::ContextBase* createContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) override;
  void registerCallbacks() override;
  void getFunctions() override;
  void error(std::string_view message) override;
  proxy_wasm::CallOnThreadFunction callOnThreadFunction() override;

  // Metrics, by id (Envoy keeps them per Wasm; the values live in the stats store by name).
  std::map<uint32_t, std::pair<proxy_wasm::MetricType, std::string>> metrics_;

  uint32_t nextCallToken() { return nextHttpCallId(); }
  EnvoyContext* contextById(uint32_t id);

private:
  void wrapCalls();
  Runner* runner_;
  VmRole role_;
  std::string label_;
};

}  // namespace cpphost
