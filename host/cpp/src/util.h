// Byte helpers for transcripts: UTF-8 checks, base64, sha256.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "json.h"

namespace cpphost {

/** Bodies up to this size are written out in full; larger ones as size + sha256. */
constexpr size_t kBodyInlineLimit = 65536;

bool isValidUtf8(std::string_view s);
/** Decodes UTF-8 the way WHATWG TextDecoder does: invalid sequences become U+FFFD. */
std::string utf8Lossy(std::string_view s);
std::string base64Encode(std::string_view s);
bool base64Decode(std::string_view s, std::string& out);
std::string sha256Hex(std::string_view s);
std::string asciiLower(std::string_view s);

/**
 * A body as it appears in a transcript:
 *   {"text": "..."}            valid UTF-8, at most kBodyInlineLimit bytes
 *   {"base64": "..."}          other bytes, at most kBodyInlineLimit bytes
 *   {"size": n, "sha256": "..."} anything larger
 */
Json bodyJson(std::string_view bytes);

}  // namespace cpphost
