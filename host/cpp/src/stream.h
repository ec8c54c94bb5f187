// The slice of Envoy's FilterManager (and ActiveStream) one Wasm HTTP filter sees:
// header and body iteration in both directions, the decoder/encoder buffers with
// their watermark limit, what the client and the upstream receive. Defined in
// stream.cc (iteration, buffering, continue) and local_reply.cc (local replies, resets).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "header_map.h"
#include "include/proxy-wasm/context_interface.h"
#include "json.h"

namespace cpphost {

class Runner;
class EnvoyContext;

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
  // local_reply.cc: Envoy answering the client itself, and stream resets.
  void sendLocalReply(int code, std::string body, std::function<void(HeaderMap&)> modify,
                      std::string details);
  void resetStream(const std::string& reason);
  void setEncoderLimit(uint32_t limit);
  void setDecoderLimit(uint32_t limit);
  /** Re-checks a direction's buffer against its limit (WatermarkBuffer's high-watermark callback). */
  void checkWatermark(bool encoder);

private:
  /** FilterManager::commonContinue in one direction: headers, then the buffered data, go on. */
  void commonContinue(bool encoder);
  /** Our filter's data callback in one direction, and what FilterManager does with its status. */
  void dataThroughFilter(bool encoder, std::string data, bool end);
  /** Where our filter's headers callback left iteration; true when the headers go on. */
  static bool afterHeaders(Direction& d, proxy_wasm::FilterHeadersStatus status);
  /** The direction's iteration is over (a local reply stops decoding, not encoding). */
  bool cutShort(bool encoder) const;
  void forwardData(bool encoder, const std::string& data, bool end);
  void bufferData(bool encoder, std::string& data);
  void toClientHeaders(bool end);
  void toClientData(const std::string& data, bool end);
  void toUpstreamHeaders(bool end);
  void toUpstreamData(const std::string& data, bool end);
  void encodeLocalReplyThroughFilter(HeaderMap headers, std::string body);  // local_reply.cc
  void touch();
};

}  // namespace cpphost
