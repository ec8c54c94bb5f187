// JSON reader and writer for untrusted input: strict RFC 8259 parsing that
// reports errors instead of trapping, lazy decoding, and a UTF-8 writer.

export {
  JsonKind, JsonValue,
  jsonNull, jsonBool, jsonNumber, jsonString, jsonArray, jsonObject, jsonEquals, jsonKindName,
} from "./value";
export { JsonParseResult, parseJson, parseJsonString, parseJsonPrefix, isValidJson } from "./parse";
export { JsonWriter, stringifyJson, serializeJson } from "./writer";
