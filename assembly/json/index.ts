// JSON reader and writer for untrusted input: strict RFC 8259 parsing that
// reports errors instead of trapping, lazy decoding, and a UTF-8 writer; and
// the byte and ASCII helpers the layers above share, so that raw memory stays
// in here (and in the ABI layer).

export { JsonKind, JsonValue, Members, jsonKindName, sourceValue } from "./value";
export { jsonNull, jsonBool, jsonNumber, jsonString, jsonArray, jsonObject } from "./factories";
export { jsonEquals, Steps } from "./equality";
export {
  JsonParseResult,
  JsonPath,
  JsonReader,
  parseJson,
  parseJsonString,
  parseJsonPrefix,
  isValidJson,
  isValidJsonRange,
  validatePrefix,
  scanPath,
  scanPathIn,
} from "./parse";
export { JsonWriter, stringifyJson, serializeJson, serializeSource, quotedLength } from "./writer";
export { SourceMembers, skipValue, skipSpaces, objectNamesPlain, compactInPlace } from "./source";
export { unescapeInPlace, hasLoneSurrogateEscape } from "./unescape";
export { ByteBuilder, ByteSink, CollectingSink, byteAt, bytesEqual, indexOfByte, lineEnd } from "./bytes";
export { JsonDoc, wrapNode } from "./tape";
export { asciiLower } from "./strings";
export { stringToUtf8 } from "./utf8";
