// The body buffers a plugin reads and changes: Envoy's Buffer wrapper in
// source/extensions/common/wasm/context.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "include/proxy-wasm/context.h"

namespace cpphost {

struct Stream;

using proxy_wasm::WasmResult;

/** A body buffer the plugin can read and (when mutable) change, like Envoy's Buffer wrapper. */
class EnvoyBuffer : public proxy_wasm::BufferBase {
public:
  EnvoyBuffer* setNone();
  EnvoyBuffer* setConst(std::string_view data);
  /** A mutable buffer; `stream` (when set) gets its watermark re-checked after changes. */
  EnvoyBuffer* setMutable(std::string* data, Stream* stream, bool encoder);

  size_t size() const override;
  WasmResult copyTo(proxy_wasm::WasmBase* wasm, size_t start, size_t length, uint64_t ptr_ptr,
                    uint64_t size_ptr) const override;
  /** start 0: drop `length` bytes, then prepend; start at or past the end: append; else BadArgument. */
  WasmResult copyFrom(size_t start, size_t length, std::string_view data) override;

private:
  std::string* mutable_ = nullptr;
  std::string_view const_{};
  bool has_const_ = false;
  Stream* stream_ = nullptr;
  bool encoder_ = true;
};

}  // namespace cpphost
