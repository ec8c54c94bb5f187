#include "envoy_buffer.h"

#include <algorithm>

#include "include/proxy-wasm/wasm.h"
#include "stream.h"

namespace cpphost {

EnvoyBuffer* EnvoyBuffer::setNone() {
  clear();
  mutable_ = nullptr;
  has_const_ = false;
  stream_ = nullptr;
  return this;
}

EnvoyBuffer* EnvoyBuffer::setConst(std::string_view data) {
  setNone();
  const_ = data;
  has_const_ = true;
  return this;
}

EnvoyBuffer* EnvoyBuffer::setMutable(std::string* data, Stream* stream, bool encoder) {
  setNone();
  mutable_ = data;
  stream_ = stream;
  encoder_ = encoder;
  return this;
}

size_t EnvoyBuffer::size() const {
  if (mutable_ != nullptr) return mutable_->size();
  if (has_const_) return const_.size();
  return 0;
}

WasmResult EnvoyBuffer::copyTo(proxy_wasm::WasmBase* wasm, size_t start, size_t length, uint64_t ptr_ptr,
                               uint64_t size_ptr) const {
  std::string_view all = mutable_ != nullptr ? std::string_view(*mutable_) : const_;
  if (start > all.size()) start = all.size();
  std::string_view s = all.substr(start, length);
  if (!wasm->copyToPointerSize(s, ptr_ptr, size_ptr)) return WasmResult::InvalidMemoryAccess;
  return WasmResult::Ok;
}

WasmResult EnvoyBuffer::copyFrom(size_t start, size_t length, std::string_view data) {
  if (mutable_ != nullptr) {
    WasmResult r;
    if (start == 0) {
      // Envoy: drain(length) then prepend -- start 0 with a length past the end replaces all.
      if (length != 0) mutable_->erase(0, std::min(length, mutable_->size()));
      mutable_->insert(0, data);
      r = WasmResult::Ok;
    } else if (start >= mutable_->size()) {
      mutable_->append(data);
      r = WasmResult::Ok;
    } else {
      r = WasmResult::BadArgument;
    }
    if (r == WasmResult::Ok && stream_ != nullptr) stream_->checkWatermark(encoder_);
    return r;
  }
  // Immutable (http call answer, configurations) or no buffer at all.
  return WasmResult::BadArgument;
}

}  // namespace cpphost
