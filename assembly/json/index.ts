// JSON reader and writer for untrusted input: strict RFC 8259 parsing that
// reports errors instead of trapping, lazy decoding, and a UTF-8 writer; and
// the byte and ASCII helpers the layers above share, so that raw memory stays
// in here (and in the ABI layer).

export { JsonKind, JsonValue, jsonKindName, sourceValue } from "./value";
export { Members, nodeString } from "./members";
export { jsonNull, jsonBool, jsonNumber, jsonString, jsonArray, jsonObject } from "./factories";
export { jsonEquals, equalNodes, scalarNodeEquals, Steps } from "./equality";
export { hashValue, hashNode } from "./hash";
export {
  JsonParseResult,
  JsonPath,
  JsonReader,
  parseJson,
  parseJsonString,
  parseJsonPrefix,
  isValidJson,
  isValidJsonRange,
  countJsonRange,
  parseCounted,
  validatePrefix,
  scanPath,
  scanPathIn,
} from "./parse";
export { JsonWriter, stringifyJson, serializeJson, serializeSource, quotedLength } from "./writer";
export { SourceMembers, skipValue, skipSpaces, objectNamesPlain, compactInPlace } from "./source";
export { unescapeInPlace, hasLoneSurrogateEscape } from "./unescape";
export {
  ByteBuilder,
  ByteSink,
  CollectingSink,
  byteAt,
  makeHeadroom,
  reserveMemory,
  bytesEqual,
  indexOfByte,
  lineEnd,
} from "./bytes";
export { JsonDoc, wrapNode, wrapNodeInto } from "./tape";
export { asciiLower } from "./strings";
export { stringToUtf8 } from "./utf8";
