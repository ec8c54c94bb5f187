// JSON reader and writer for untrusted input: strict RFC 8259 parsing that
// reports errors instead of trapping, lazy decoding, and a UTF-8 writer; and
// the byte and ASCII helpers the layers above share, so that raw memory stays
// in here (and in the ABI layer).

export { JsonKind, JsonValue, jsonKindName } from "./value";
export { jsonNull, jsonBool, jsonNumber, jsonString, jsonArray, jsonObject } from "./factories";
export { jsonEquals } from "./equality";
export { JsonParseResult, parseJson, parseJsonString, parseJsonPrefix, isValidJson } from "./parse";
export { JsonWriter, stringifyJson, serializeJson } from "./writer";
export { ByteBuilder, byteAt } from "./bytes";
export { asciiLower } from "./strings";
