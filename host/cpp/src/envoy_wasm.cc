#include "envoy_wasm.h"

#include <type_traits>
#include <vector>

#include "envoy_context.h"
#include "events.h"
#include "include/proxy-wasm/exports.h"
#include "include/proxy-wasm/wasm_vm.h"
#include "json.h"
#include "runner.h"

namespace cpphost {

using proxy_wasm::ContextBase;
using proxy_wasm::Word;

namespace {

/** The VM integration: engine errors (a trap is "Function: X failed: ...") go to the runner. */
class Integration : public proxy_wasm::WasmVmIntegration {
public:
  explicit Integration(Runner* runner) : runner_(runner) {}
  proxy_wasm::WasmVmIntegration* clone() override { return new Integration(runner_); }
  proxy_wasm::LogLevel getLogLevel() override { return proxy_wasm::LogLevel::info; }
  void error(std::string_view message) override {
    if (wasm != nullptr) runner_->vmFailed(wasm, message);
  }
  void trace(std::string_view) override {}
  bool getNullVmFunction(std::string_view, bool, int, proxy_wasm::NullPlugin*, void*) override { return false; }

  EnvoyWasm* wasm = nullptr;

private:
  Runner* runner_;
};

void attachIntegration(EnvoyWasm* wasm, Runner* runner) {
  auto* vm = wasm->wasm_vm();
  if (vm == nullptr) return;
  if (!vm->integration()) vm->integration().reset(new Integration(runner));
  static_cast<Integration*>(vm->integration().get())->wasm = wasm;
}

EnvoyWasm* envoyWasmOf(ContextBase* ctx) {
  return ctx == nullptr ? nullptr : static_cast<EnvoyWasm*>(ctx->wasm());
}

// proxy_set_effective_context and proxy_done are handled inside cpp-host's
// exports.cc without a ContextBase hook; these replacements do the same and
// record the call.
Word recordingSetEffectiveContext(Word context_id) {
  auto* context = proxy_wasm::contextOrEffectiveContext();
  auto cid = static_cast<uint32_t>(context_id);
  auto* target = context->wasm()->getContext(cid);
  WasmResult r = target == nullptr ? WasmResult::BadArgument : WasmResult::Ok;
  if (target != nullptr) proxy_wasm::effective_context_id_ = cid;
  auto* wasm = envoyWasmOf(context);
  if (wasm != nullptr && wasm->runner()->recording() && wasm->role() != VmRole::Base) {
    Json ev = Json::object();
    ev.set("ev", "call");
    ev.set("ctx", wasm->runner()->contextName(context));
    ev.set("fn", "set_effective_context");
    if (target != nullptr) ev.set("target", wasm->runner()->contextName(target));
    else ev.set("target", static_cast<uint64_t>(cid));
    ev.set("r", resultName(r));
    wasm->runner()->record(ev);
  }
  return r;
}

Word recordingDone() {
  auto* context = proxy_wasm::contextOrEffectiveContext();
  WasmResult r = context->wasm()->done(context);
  auto* wasm = envoyWasmOf(context);
  if (wasm != nullptr && wasm->runner()->recording() && wasm->role() != VmRole::Base) {
    Json ev = Json::object();
    ev.set("ev", "call");
    ev.set("ctx", wasm->runner()->contextName(context));
    ev.set("fn", "done");
    ev.set("r", resultName(r));
    wasm->runner()->record(ev);
  }
  return r;
}

}  // namespace

EnvoyWasm::EnvoyWasm(Runner* runner, std::unique_ptr<proxy_wasm::WasmVm> vm, std::string_view vm_id,
                     std::string_view vm_configuration, std::string_view vm_key)
    : WasmBase(std::move(vm), vm_id, vm_configuration, vm_key, {}, {}), runner_(runner), role_(VmRole::Base),
      label_("base") {
  attachIntegration(this, runner);
}

EnvoyWasm::EnvoyWasm(Runner* runner, VmRole role, const std::shared_ptr<proxy_wasm::WasmHandleBase>& base,
                     const proxy_wasm::WasmVmFactory& factory)
    : WasmBase(base, factory), runner_(runner), role_(role), label_(runner->nameVm(role)) {
  attachIntegration(this, runner);
}

EnvoyWasm::~EnvoyWasm() {
  if (wasm_vm() != nullptr && wasm_vm()->integration()) {
    static_cast<Integration*>(wasm_vm()->integration().get())->wasm = nullptr;
  }
}

ContextBase* EnvoyWasm::createVmContext() { return new EnvoyContext(this); }

ContextBase* EnvoyWasm::createRootContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) {
  return new EnvoyContext(this, plugin);
}

ContextBase* EnvoyWasm::createContext(const std::shared_ptr<proxy_wasm::PluginBase>& plugin) {
  return new EnvoyContext(this, plugin);
}

proxy_wasm::CallOnThreadFunction EnvoyWasm::callOnThreadFunction() {
  return [](std::function<void()> f) { f(); };
}

void EnvoyWasm::error(std::string_view message) {
  if (!runner_->recording()) return;
  Json ev = Json::object();
  ev.set("ev", "wasm_error");
  ev.set("vm", label_);
  ev.set("msg", std::string(message));
  runner_->record(ev);
}

EnvoyContext* EnvoyWasm::contextById(uint32_t id) { return static_cast<EnvoyContext*>(getContext(id)); }

void EnvoyWasm::registerCallbacks() {
  WasmBase::registerCallbacks();
  wasm_vm()->registerCallback("env", "proxy_set_effective_context", &recordingSetEffectiveContext,
                              CONVERT_FUNCTION_WORD_TO_UINT32(recordingSetEffectiveContext));
  wasm_vm()->registerCallback("env", "proxy_done", &recordingDone, CONVERT_FUNCTION_WORD_TO_UINT32(recordingDone));
}

void EnvoyWasm::getFunctions() {
  WasmBase::getFunctions();
  wrapCalls();
}

namespace {

/** Starts the transcript event of a call into the VM; returns null when not recorded. */
Json beginVmEvent(EnvoyWasm* wasm, ContextBase* ctx, const char* fn, const std::vector<uint64_t>& args) {
  Runner* runner = wasm->runner();
  if (!runner->recording() || wasm->role() == VmRole::Base) return Json();
  Json ev = Json::object();
  ev.set("ev", "vm");
  ev.set("ctx", runner->contextName(ctx));
  ev.set("fn", fn);
  Json a = Json::array();
  std::string name(fn);
  if (name == "proxy_on_context_create") {
    uint32_t parent = args.size() > 1 ? static_cast<uint32_t>(args[1]) : 0;
    if (parent == 0) {
      a.push(Json());
    } else {
      auto* p = wasm->getContext(parent);
      a.push(p != nullptr ? Json(runner->contextName(p)) : Json(static_cast<uint64_t>(parent)));
    }
  } else if (name == "proxy_on_http_call_response") {
    uint32_t token = args.size() > 1 ? static_cast<uint32_t>(args[1]) : 0;
    auto* rec = runner->callByToken(static_cast<EnvoyContext*>(ctx), token);
    a.push(rec != nullptr ? static_cast<uint64_t>(rec->index) : static_cast<uint64_t>(0));
    for (size_t i = 2; i < args.size(); i++) a.push(args[i]);
  } else {
    // Every proxy_on_* takes the context id first; the name says it already.
    size_t from = name.rfind("proxy_on_", 0) == 0 ? 1 : 0;
    for (size_t i = from; i < args.size(); i++) a.push(args[i]);
  }
  ev.set("args", a);
  runner->record(ev);
  return ev;
}

}  // namespace

template <typename F>
static void wrapOne(EnvoyWasm* wasm, F& f, const char* name) {
  if (!f) return;
  F inner = f;
  f = [wasm, inner, name](ContextBase* ctx, auto... args) {
    std::vector<uint64_t> raw{static_cast<uint64_t>(args)...};
    Json ev = beginVmEvent(wasm, ctx, name, raw);
    bool wasFailed = wasm->isFailed();
    if constexpr (std::is_same_v<decltype(inner(ctx, args...)), void>) {
      inner(ctx, args...);
      if (!ev.isNull() && !wasFailed && wasm->isFailed()) ev.set("trap", true);
    } else {
      auto r = inner(ctx, args...);
      if (!ev.isNull()) {
        if (!wasFailed && wasm->isFailed()) ev.set("trap", true);
        else ev.set("ret", static_cast<uint64_t>(r.u64_));
      }
      return r;
    }
  };
}

void EnvoyWasm::wrapCalls() {
  wrapOne(this, _initialize_, "_initialize");
  wrapOne(this, _start_, "_start");
  wrapOne(this, main_, "main");
  wrapOne(this, validate_configuration_, "proxy_validate_configuration");
  wrapOne(this, on_vm_start_, "proxy_on_vm_start");
  wrapOne(this, on_configure_, "proxy_on_configure");
  wrapOne(this, on_tick_, "proxy_on_tick");
  wrapOne(this, on_context_create_, "proxy_on_context_create");
  wrapOne(this, on_request_headers_abi_01_, "proxy_on_request_headers");
  wrapOne(this, on_request_headers_abi_02_, "proxy_on_request_headers");
  wrapOne(this, on_request_headers_abi_03_, "proxy_on_request_headers");
  wrapOne(this, on_request_body_, "proxy_on_request_body");
  wrapOne(this, on_request_trailers_, "proxy_on_request_trailers");
  wrapOne(this, on_request_metadata_, "proxy_on_request_metadata");
  wrapOne(this, on_response_headers_abi_01_, "proxy_on_response_headers");
  wrapOne(this, on_response_headers_abi_02_, "proxy_on_response_headers");
  wrapOne(this, on_response_body_, "proxy_on_response_body");
  wrapOne(this, on_response_trailers_, "proxy_on_response_trailers");
  wrapOne(this, on_response_metadata_, "proxy_on_response_metadata");
  wrapOne(this, on_http_call_response_, "proxy_on_http_call_response");
  wrapOne(this, on_queue_ready_, "proxy_on_queue_ready");
  wrapOne(this, on_foreign_function_, "proxy_on_foreign_function");
  wrapOne(this, on_done_, "proxy_on_done");
  wrapOne(this, on_log_, "proxy_on_log");
  wrapOne(this, on_delete_, "proxy_on_delete");
}

}  // namespace cpphost
