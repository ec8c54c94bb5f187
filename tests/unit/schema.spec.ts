import { parseJsonString, JsonValue } from "../../assembly/json";
import {
  compileSchema,
  formatErrors,
  Schema,
  ValidationError,
  codePointCount,
  MAX_VALIDATION_DEPTH,
  MAX_VALIDATION_STEPS,
  stepsFor,
} from "../../assembly/jsonschema";

function json(text: string): JsonValue {
  const p = parseJsonString(text);
  expect(p.ok).toBe(true, "test input must be JSON: " + text);
  return p.value!;
}

function compile(schemaText: string): Schema {
  const r = compileSchema(json(schemaText));
  expect(r.error).toBe("", "schema should compile: " + schemaText);
  expect(r.ok).toBe(true);
  return r.schema!;
}

/** The compile error for a schema that must be rejected. */
function reject(schemaText: string): string {
  const r = compileSchema(json(schemaText));
  expect(r.ok).toBe(false, "schema should be rejected: " + schemaText);
  expect(r.schema).toBeNull();
  return r.error;
}

/** formatErrors() of validating `instance`; "" when valid. */
function check(schemaText: string, instance: string, maxErrors: i32 = 10): string {
  return formatErrors(compile(schemaText).validate(json(instance), maxErrors));
}

function valid(schemaText: string, instance: string): bool {
  return compile(schemaText).validate(json(instance)).length == 0;
}

/** `[[[...]]]` nested `depth` times. */
function nestedArrays(depth: i32): string {
  return "[".repeat(depth) + "]".repeat(depth);
}

describe("schema: type", () => {
  it("checks each JSON type", () => {
    expect(valid('{"type":"string"}', '"a"')).toBe(true);
    expect(valid('{"type":"number"}', "1.5")).toBe(true);
    expect(valid('{"type":"object"}', "{}")).toBe(true);
    expect(valid('{"type":"array"}', "[]")).toBe(true);
    expect(valid('{"type":"boolean"}', "false")).toBe(true);
    expect(valid('{"type":"null"}', "null")).toBe(true);
    expect(check('{"type":"null"}', "0")).toBe("$: expected null, got integer");
    expect(check('{"type":"boolean"}', '"true"')).toBe("$: expected boolean, got string");
    expect(check('{"type":"object"}', "[]")).toBe("$: expected object, got array");
  });
  it("integer means a number with a zero fraction", () => {
    expect(valid('{"type":"integer"}', "3")).toBe(true);
    expect(valid('{"type":"integer"}', "3.0")).toBe(true);
    expect(valid('{"type":"integer"}', "1e3")).toBe(true);
    expect(check('{"type":"integer"}', "3.5")).toBe("$: expected integer, got number");
    expect(check('{"type":"integer"}', '"3"')).toBe("$: expected integer, got string");
    expect(valid('{"type":"number"}', "3")).toBe(true);
  });
  it("accepts an array of types", () => {
    expect(valid('{"type":["string","null"]}', "null")).toBe(true);
    expect(valid('{"type":["string","null"]}', '"x"')).toBe(true);
    expect(check('{"type":["string","null"]}', "1")).toBe("$: expected string or null, got integer");
    expect(check('{"type":["object","array","boolean"]}', "1")).toBe(
      "$: expected object, array or boolean, got integer",
    );
  });
});

describe("schema: objects", () => {
  it("properties and required, with the JSON path of each error", () => {
    const s =
      '{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer"}},"required":["name","age"]}';
    expect(valid(s, '{"name":"Ann","age":3}')).toBe(true);
    expect(check(s, '{"age":"3"}')).toBe("$.name: required property missing; $.age: expected integer, got string");
  });
  it("nested paths through objects and arrays: $.a.b[1].c", () => {
    const s =
      '{"properties":{"a":{"properties":{"b":{"type":"array","items":{"properties":{"c":{"type":"integer"}}}}}}}}';
    expect(check(s, '{"a":{"b":[{"c":1},{"c":"x"}]}}')).toBe("$.a.b[1].c: expected integer, got string");
    expect(check(s, '{"a":{"b":[{"c":1},{"c":2},{"c":true}]}}')).toBe("$.a.b[2].c: expected integer, got boolean");
  });
  it("property names that are not identifiers are quoted", () => {
    const s =
      '{"properties":{"odd key":{"type":"string"},"a\\"b":{"type":"string"},"1x":{"type":"string"}},"required":["m-n"]}';
    expect(check(s, '{"odd key":1,"a\\"b":2,"1x":3}')).toBe(
      '$["m-n"]: required property missing; $["odd key"]: expected string, got integer; ' +
        '$["a\\"b"]: expected string, got integer; $["1x"]: expected string, got integer',
    );
  });
  it("additionalProperties false names the property and the allowed ones", () => {
    const s = '{"properties":{"a":{},"b":{}},"additionalProperties":false}';
    expect(valid(s, '{"a":1,"b":2}')).toBe(true);
    expect(check(s, '{"a":1,"c":2}')).toBe("$.c: unexpected property (allowed: a, b)");
    expect(check('{"additionalProperties":false}', '{"x":1}')).toBe(
      "$.x: unexpected property (no properties are allowed)",
    );
  });
  it("additionalProperties as a schema", () => {
    const s = '{"properties":{"a":{}},"additionalProperties":{"type":"boolean"}}';
    expect(valid(s, '{"a":1,"b":true}')).toBe(true);
    expect(check(s, '{"a":1,"b":2}')).toBe("$.b: expected boolean, got integer");
  });
  it("a false property schema forbids the property", () => {
    expect(check('{"properties":{"secret":false}}', '{"secret":1}')).toBe("$.secret: property not allowed");
  });
  it("minProperties and maxProperties", () => {
    expect(check('{"minProperties":2}', '{"a":1}')).toBe("$: must have at least 2 properties, got 1");
    expect(check('{"maxProperties":1}', '{"a":1,"b":2}')).toBe("$: must have at most 1 properties, got 2");
    expect(valid('{"maxProperties":1}', "[1,2,3]")).toBe(true);
  });
  it("propertyNames", () => {
    const s = '{"propertyNames":{"maxLength":3}}';
    expect(valid(s, '{"abc":1}')).toBe(true);
    expect(check(s, '{"abcd":1}')).toBe("$.abcd: invalid property name: must be at most 3 characters long, got 4");
  });
  it("dependencies: property lists and schemas", () => {
    const s = '{"dependencies":{"card":["billing"],"vip":{"required":["level"]}}}';
    expect(valid(s, '{"name":1}')).toBe(true);
    expect(valid(s, '{"card":1,"billing":2}')).toBe(true);
    expect(check(s, '{"card":1}')).toBe('$.billing: required property missing (required when "card" is present)');
    expect(check(s, '{"vip":true}')).toBe("$.level: required property missing");
  });
  it("keywords for other types are ignored", () => {
    expect(valid('{"required":["a"],"properties":{"a":{"type":"string"}}}', "[1]")).toBe(true);
    expect(valid('{"minLength":3}', "1")).toBe(true);
    expect(valid('{"minimum":3}', '"x"')).toBe(true);
    expect(valid('{"minItems":3}', '{"a":1}')).toBe(true);
  });
});

describe("schema: arrays", () => {
  it("items as one schema", () => {
    expect(valid('{"items":{"type":"integer"}}', "[1,2,3]")).toBe(true);
    expect(check('{"items":{"type":"integer"}}', '[1,"x",3,null]')).toBe(
      "$[1]: expected integer, got string; $[3]: expected integer, got null",
    );
  });
  it("items as an array of schemas, with additionalItems", () => {
    const s = '{"items":[{"type":"string"},{"type":"integer"}],"additionalItems":false}';
    expect(valid(s, '["a",1]')).toBe(true);
    expect(valid(s, '["a"]')).toBe(true);
    expect(check(s, '[1,"a"]')).toBe("$[0]: expected string, got integer; $[1]: expected integer, got string");
    expect(check(s, '["a",1,2,3]')).toBe("$[2]: unexpected item: at most 2 items allowed");
    const t = '{"items":[{"type":"string"}],"additionalItems":{"type":"boolean"}}';
    expect(valid(t, '["a",true,false]')).toBe(true);
    expect(check(t, '["a",true,0]')).toBe("$[2]: expected boolean, got integer");
    expect(valid('{"items":[{"type":"string"}]}', '["a",1,null]')).toBe(true);
  });
  it("minItems and maxItems", () => {
    expect(check('{"minItems":2}', "[1]")).toBe("$: must have at least 2 items, got 1");
    expect(check('{"maxItems":1}', "[1,2]")).toBe("$: must have at most 1 items, got 2");
    expect(valid('{"minItems":1.0,"maxItems":2}', "[1,2]")).toBe(true);
  });
  it("uniqueItems uses JSON Schema equality", () => {
    const s = '{"uniqueItems":true}';
    expect(valid(s, '[1,2,"1",[1],{"a":1},{"a":2},true,false,null]')).toBe(true);
    expect(check(s, "[1,2,1.0]")).toBe("$: items must be unique, but [0] and [2] are equal");
    expect(check(s, '[{"a":1,"b":[2]},3,{"b":[2.0],"a":1}]')).toBe(
      "$: items must be unique, but [0] and [2] are equal",
    );
    expect(valid('{"uniqueItems":false}', "[1,1]")).toBe(true);
  });
  it("uniqueItems on a large array", () => {
    let parts = new Array<string>();
    for (let i = 0; i < 3000; i++) parts.push(i.toString());
    expect(valid('{"uniqueItems":true}', "[" + parts.join(",") + "]")).toBe(true);
    parts.push("2999.0");
    expect(check('{"uniqueItems":true}', "[" + parts.join(",") + "]")).toBe(
      "$: items must be unique, but [2999] and [3000] are equal",
    );
  });
  it("uniqueItems on an array whose table grows (250,000 small distinct items, a tape larger than the text)", () => {
    // Within the steps the plugin allows for this much text: hashing the items again as the table grows is charged too
    const s = compile('{"uniqueItems":true}');
    let parts = new Array<string>();
    for (let i = 0; i < 250000; i++) parts.push("[[" + i.toString() + "]]");
    let text = "[" + parts.join(",") + "]";
    expect(formatErrors(s.validate(json(text), 10, stepsFor(text.length)))).toBe("");
    // Items that went into the first, second, third and last table
    const repeats = [7, 14000, 20000, 50000, 249999];
    for (let r = 0; r < repeats.length; r++) {
      const k = repeats[r];
      text = "[" + parts.join(",") + ",[[" + k.toString() + ".0]],[[" + k.toString() + "e0]]]";
      expect(formatErrors(s.validate(json(text), 10, stepsFor(text.length)))).toBe(
        "$: items must be unique, but [" + k.toString() + "] and [250000] are equal",
      );
    }
  });
  it("uniqueItems hashes at every depth: distinct items nested deeper than any cut-off are not compared pairwise", () => {
    // 2,000 distinct items nested 40 deep: hashes tell them apart, so the check stays linear and within the steps
    let parts = new Array<string>();
    for (let i = 0; i < 2000; i++) parts.push("[".repeat(40) + i.toString() + "]".repeat(40));
    expect(valid('{"uniqueItems":true}', "[" + parts.join(",") + "]")).toBe(true);
    parts.push("[".repeat(40) + "1999.0" + "]".repeat(40));
    expect(check('{"uniqueItems":true}', "[" + parts.join(",") + "]")).toBe(
      "$: items must be unique, but [1999] and [2000] are equal",
    );
  });
  it("uniqueItems reports the first item that repeats, with its first repetition", () => {
    expect(check('{"uniqueItems":true}', '["a","b","b","a"]')).toBe(
      "$: items must be unique, but [0] and [3] are equal",
    );
    expect(check('{"uniqueItems":true}', "[0,0,0,0]")).toBe("$: items must be unique, but [0] and [1] are equal");
  });
  it("hashing and comparing items charge the step budget: a costly uniqueItems stops at the limit", () => {
    // 40 distinct items of 30,000 values each: hashing them costs 1.2 million steps
    let item = "[" + "1,".repeat(29999);
    let parts = new Array<string>();
    for (let i = 0; i < 40; i++) parts.push(item + i.toString() + "]");
    const errors = compile('{"uniqueItems":true}').validate(json("[" + parts.join(",") + "]"));
    expect(errors.length).toBe(1);
    expect(errors[0].reason).toBe(
      "validation stopped after " + MAX_VALIDATION_STEPS.toString() + " steps (schema too costly for this value)",
    );
  });
  it("contains", () => {
    expect(valid('{"contains":{"const":5}}', "[1,5]")).toBe(true);
    expect(check('{"contains":{"const":5}}', "[1,2]")).toBe('$: no item matches the "contains" schema');
    expect(check('{"contains":{"const":5}}', "[]")).toBe('$: no item matches the "contains" schema');
  });
});

describe("schema: strings", () => {
  it("minLength and maxLength count code points, not UTF-16 units", () => {
    expect(codePointCount("😀😀")).toBe(2);
    expect("😀😀".length).toBe(4);
    expect(valid('{"maxLength":2}', '"😀😀"')).toBe(true);
    expect(valid('{"maxLength":2}', '"\\ud83d\\ude00é"')).toBe(true);
    expect(check('{"minLength":3}', '"😀😀"')).toBe("$: must be at least 3 characters long, got 2");
    expect(check('{"maxLength":1}', '"😀😀"')).toBe("$: must be at most 1 characters long, got 2");
    expect(valid('{"minLength":2,"maxLength":2}', '"中文"')).toBe(true);
  });
  it("a lone surrogate counts as one character", () => {
    expect(codePointCount("a\ud800b")).toBe(3);
    expect(valid('{"maxLength":1}', '"\\ud800"')).toBe(true);
  });
});

describe("schema: numbers", () => {
  it("minimum, maximum and the exclusive forms (draft-07 numbers)", () => {
    const s = '{"minimum":1,"maximum":10,"exclusiveMinimum":0,"exclusiveMaximum":10}';
    expect(valid(s, "1")).toBe(true);
    expect(valid(s, "9.5")).toBe(true);
    expect(check(s, "0.5")).toBe("$: must be >= 1, got 0.5");
    expect(check(s, "10")).toBe("$: must be < 10, got 10");
    expect(check('{"exclusiveMinimum":0}', "0")).toBe("$: must be > 0, got 0");
    expect(check('{"maximum":2.5}', "3")).toBe("$: must be <= 2.5, got 3");
  });
  it("multipleOf tolerates binary floating point", () => {
    expect(valid('{"multipleOf":0.01}', "19.99")).toBe(true);
    expect(valid('{"multipleOf":0.1}', "0.3")).toBe(true);
    expect(check('{"multipleOf":0.01}', "19.995")).toBe("$: must be a multiple of 0.01, got 19.995");
    expect(check('{"multipleOf":2}', "7")).toBe("$: must be a multiple of 2, got 7");
    expect(check('{"multipleOf":0.123456789}', "1e308")).toBe("$: must be a multiple of 0.123456789, got 1e308");
  });
  it("every failed number keyword is reported, in keyword order, for a value and for array items", () => {
    const s = '{"minimum":5,"exclusiveMaximum":2,"multipleOf":2}';
    expect(check(s, "3")).toBe("$: must be >= 5, got 3; $: must be < 2, got 3; $: must be a multiple of 2, got 3");
    expect(check('{"items":{"minimum":1,"multipleOf":2}}', "[2,4,3,0,-1]")).toBe(
      "$[2]: must be a multiple of 2, got 3; $[3]: must be >= 1, got 0; $[4]: must be >= 1, got -1; $[4]: must be a multiple of 2, got -1",
    );
  });
});

describe("schema: enum and const", () => {
  it("enum lists the allowed values", () => {
    const s = '{"enum":["red","green",1,null,{"a":[1]}]}';
    expect(valid(s, '"green"')).toBe(true);
    expect(valid(s, "1.0")).toBe(true);
    expect(valid(s, "null")).toBe(true);
    expect(valid(s, '{"a":[1.0]}')).toBe(true);
    expect(check(s, '"blue"')).toBe('$: expected one of ["red","green",1,null,{"a":[1]}]');
  });
  it("a huge enum compiles, validates, and is cut short in messages", () => {
    let parts = new Array<string>();
    for (let i = 0; i < 5000; i++) parts.push('"v' + i.toString() + '"');
    const s = '{"enum":[' + parts.join(",") + "]}";
    const schema = compile(s);
    expect(schema.validate(json('"v4999"')).length).toBe(0);
    expect(schema.validate(json('"v0"')).length).toBe(0);
    const errors = schema.validate(json('"v5000"'));
    expect(errors.length).toBe(1);
    expect(errors[0].reason.length).toBeLessThan(240);
    expect(errors[0].reason.endsWith("...")).toBe(true);
  });
  it("const compares by JSON Schema equality", () => {
    expect(valid('{"const":{"a":1,"b":[true]}}', '{"b":[true],"a":1.0}')).toBe(true);
    expect(check('{"const":"x"}', '"y"')).toBe('$: expected "x"');
    expect(check('{"const":null}', "false")).toBe("$: expected null");
  });
});

describe("schema: combinators", () => {
  it("allOf reports the errors of each failing part", () => {
    const s = '{"allOf":[{"type":"object"},{"required":["a"]},{"required":["b"]}]}';
    expect(valid(s, '{"a":1,"b":2}')).toBe(true);
    expect(check(s, '{"a":1}')).toBe("$.b: required property missing");
  });
  it("anyOf explains every option", () => {
    const s = '{"anyOf":[{"type":"string"},{"type":"object","required":["id"]}]}';
    expect(valid(s, '"x"')).toBe(true);
    expect(valid(s, '{"id":1}')).toBe(true);
    expect(check(s, "{}")).toBe(
      '$: matches none of the "anyOf" options (option 1: expected string, got object | option 2: $.id: required property missing)',
    );
  });
  it("oneOf needs exactly one match", () => {
    const s = '{"oneOf":[{"type":"integer"},{"minimum":2}]}';
    expect(valid(s, "1")).toBe(true);
    expect(valid(s, "2.5")).toBe(true);
    expect(check(s, "3")).toBe('$: matches more than one "oneOf" option (options 1 and 2); exactly one must match');
    expect(check(s, "1.5")).toBe(
      '$: matches none of the "oneOf" options (option 1: expected integer, got number | option 2: must be >= 2, got 1.5)',
    );
  });
  it("not", () => {
    expect(valid('{"not":{"type":"null"}}', "1")).toBe(true);
    expect(check('{"not":{"type":"null"}}', "null")).toBe('$: must not match the "not" schema');
  });
  it("if / then / else", () => {
    const s = '{"if":{"properties":{"kind":{"const":"a"}}},"then":{"required":["x"]},"else":{"required":["y"]}}';
    expect(valid(s, '{"kind":"a","x":1}')).toBe(true);
    expect(valid(s, '{"kind":"b","y":1}')).toBe(true);
    expect(check(s, '{"kind":"a","y":1}')).toBe("$.x: required property missing");
    expect(check(s, '{"kind":"b","x":1}')).toBe("$.y: required property missing");
    expect(valid('{"then":false}', "1")).toBe(true);
  });
  it("combinators inside nested locations keep the path", () => {
    const s = '{"properties":{"v":{"items":{"anyOf":[{"type":"string"},{"type":"null"}]}}}}';
    expect(check(s, '{"v":["a",null,3]}')).toBe(
      '$.v[2]: matches none of the "anyOf" options (option 1: expected string, got integer | option 2: expected null, got integer)',
    );
  });
});

describe("schema: $ref", () => {
  it("into #/definitions and #/$defs", () => {
    const s =
      '{"definitions":{"pos":{"type":"integer","minimum":1}},"$defs":{"name":{"type":"string"}},' +
      '"properties":{"n":{"$ref":"#/definitions/pos"},"s":{"$ref":"#/$defs/name"}}}';
    expect(valid(s, '{"n":3,"s":"x"}')).toBe(true);
    expect(check(s, '{"n":0,"s":2}')).toBe("$.n: must be >= 1, got 0; $.s: expected string, got integer");
  });
  it("to the root: recursive structures", () => {
    const s =
      '{"type":"object","properties":{"name":{"type":"string"},"children":{"type":"array","items":{"$ref":"#"}}},"required":["name"]}';
    expect(valid(s, '{"name":"a","children":[{"name":"b","children":[{"name":"c"}]}]}')).toBe(true);
    expect(check(s, '{"name":"a","children":[{"name":"b","children":[{"nam":"c"}]}]}')).toBe(
      "$.children[0].children[0].name: required property missing",
    );
  });
  it("mutually recursive definitions that descend into the value", () => {
    const s =
      '{"$ref":"#/definitions/a","definitions":{"a":{"type":"object","properties":{"b":{"$ref":"#/definitions/b"}}},' +
      '"b":{"type":"array","items":{"$ref":"#/definitions/a"}}}}';
    expect(valid(s, '{"b":[{"b":[]},{"b":[{}]}]}')).toBe(true);
    expect(check(s, '{"b":[{"b":[1]}]}')).toBe("$.b[0].b[0]: expected object, got integer");
  });
  it("JSON-pointer escapes ~0 ~1 and percent-encoding", () => {
    const s =
      '{"definitions":{"a/b":{"type":"integer"},"c~d":{"type":"string"},"e%f":{"type":"null"},"g h":{"type":"boolean"}},' +
      '"properties":{"x":{"$ref":"#/definitions/a~1b"},"y":{"$ref":"#/definitions/c~0d"},"z":{"$ref":"#/definitions/e%25f"},"w":{"$ref":"#/definitions/g%20h"}}}';
    expect(valid(s, '{"x":1,"y":"s","z":null,"w":true}')).toBe(true);
    expect(check(s, '{"x":"1","y":1,"z":0,"w":0}')).toBe(
      "$.x: expected integer, got string; $.y: expected string, got integer; $.z: expected null, got integer; $.w: expected boolean, got integer",
    );
  });
  it("to any location of the document, including array items", () => {
    expect(check('{"items":[{"type":"integer"},{"$ref":"#/items/0"}]}', '[1,"x"]')).toBe(
      "$[1]: expected integer, got string",
    );
    expect(valid('{"properties":{"a":{"type":"integer"},"b":{"$ref":"#/properties/a"}}}', '{"b":2}')).toBe(true);
  });
  it("through the root $id", () => {
    const s =
      '{"$id":"urn:example:root","definitions":{"x":{"type":"string"}},"properties":{"a":{"$ref":"urn:example:root#/definitions/x"}}}';
    expect(check(s, '{"a":1}')).toBe("$.a: expected string, got integer");
  });
  it("to boolean schemas", () => {
    expect(valid('{"definitions":{"t":true},"$ref":"#/definitions/t"}', "1")).toBe(true);
    expect(check('{"definitions":{"f":false},"properties":{"a":{"$ref":"#/definitions/f"}}}', '{"a":1}')).toBe(
      "$.a: no value is allowed here",
    );
  });
});

describe("schema: boolean schemas", () => {
  it("true accepts everything, false nothing", () => {
    expect(valid("true", '{"a":[1]}')).toBe(true);
    expect(check("false", "1")).toBe("$: no value is allowed here");
    expect(check('{"items":false}', "[1]")).toBe("$[0]: no value is allowed here");
  });
});

describe("schema: annotations", () => {
  it("are accepted and do not affect validation", () => {
    const s =
      '{"$schema":"http://json-schema.org/draft-07/schema#","$id":"https://example.com/p.json","title":"T",' +
      '"description":"D","default":{},"examples":[{}],"$comment":"c","properties":{"a":{"title":"A","readOnly":true,' +
      '"writeOnly":false,"contentMediaType":"text/plain","contentEncoding":"base64","default":5,"description":"x"}}}';
    expect(valid(s, '{"a":"anything"}')).toBe(true);
  });
  it("describe() gives the compact schema text", () => {
    expect(compile('{ "type" : "object", "required" : [ "a" ] }').describe()).toBe(
      '{"type":"object","required":["a"]}',
    );
  });
});

describe("schema: rejected keywords name the keyword and location", () => {
  it("unsupported keywords", () => {
    expect(reject('{"properties":{"name":{"type":"string","pattern":"^a"}}}')).toBe(
      'unsupported keyword "pattern" at #/properties/name',
    );
    expect(reject('{"format":"email"}')).toBe('unsupported keyword "format" at #');
    expect(reject('{"patternProperties":{"^a":{}}}')).toBe('unsupported keyword "patternProperties" at #');
    expect(reject('{"items":[{"nullable":true}]}')).toBe('unsupported keyword "nullable" at #/items/0');
    expect(reject('{"definitions":{"a/b":{"unevaluatedProperties":false}}}')).toBe(
      'unsupported keyword "unevaluatedProperties" at #/definitions/a~1b',
    );
  });
  it("even inside unused definitions", () => {
    expect(reject('{"definitions":{"unused":{"format":"date"}}}')).toBe(
      'unsupported keyword "format" at #/definitions/unused',
    );
  });
  it("$id below the root, and $schema other than draft-07", () => {
    expect(reject('{"properties":{"a":{"$id":"#a"}}}')).toBe(
      'unsupported keyword "$id" at #/properties/a ("$id" is only supported at the root)',
    );
    expect(
      reject('{"$schema":"http://json-schema.org/draft-04/schema#"}').startsWith(
        'unsupported "$schema" "http://json-schema.org/draft-04/schema#" at #',
      ),
    ).toBe(true);
    expect(
      reject('{"not":{"$schema":"http://json-schema.org/draft-07/schema#"}}').startsWith(
        'unsupported keyword "$schema" at #/not',
      ),
    ).toBe(true);
  });
  it("remote and anchor $refs", () => {
    expect(
      reject('{"$ref":"http://example.com/s.json"}').startsWith('unsupported $ref "http://example.com/s.json" at #'),
    ).toBe(true);
    expect(
      reject('{"properties":{"a":{"$ref":"other.json#/x"}}}').startsWith(
        'unsupported $ref "other.json#/x" at #/properties/a',
      ),
    ).toBe(true);
    expect(reject('{"items":{"$ref":"#foo"}}').startsWith('unsupported $ref "#foo" at #/items')).toBe(true);
  });
  it("validation keywords beside $ref (draft-07 would ignore them)", () => {
    expect(reject('{"definitions":{"a":{}},"properties":{"x":{"$ref":"#/definitions/a","maxItems":2}}}')).toBe(
      'unsupported keyword "maxItems" beside "$ref" at #/properties/x (draft-07 ignores keywords next to "$ref"; wrap both in "allOf")',
    );
    expect(
      valid(
        '{"definitions":{"a":{}},"properties":{"x":{"$ref":"#/definitions/a","description":"d","title":"t"}}}',
        '{"x":1}',
      ),
    ).toBe(true);
  });
});

describe("schema: invalid keyword values", () => {
  it("type", () => {
    expect(reject('{"type":"strin"}')).toBe(
      '"type" has unknown type "strin" at # (expected "null", "boolean", "object", "array", "number", "string" or "integer")',
    );
    expect(reject('{"properties":{"a":{"type":[]}}}')).toBe(
      '"type" must be a type name or a non-empty array of type names at #/properties/a',
    );
    expect(reject('{"type":["string","string"]}')).toBe('"type" lists "string" twice at #');
    expect(reject('{"type":5}')).toBe('"type" must be a type name or a non-empty array of type names at #');
  });
  it("counts must be non-negative integers", () => {
    expect(reject('{"properties":{"a":{"minLength":-1}}}')).toBe(
      '"minLength" must be a non-negative integer at #/properties/a',
    );
    expect(reject('{"maxItems":1.5}')).toBe('"maxItems" must be a non-negative integer at #');
    expect(reject('{"minProperties":"2"}')).toBe('"minProperties" must be a non-negative integer at #');
    expect(reject('{"minLength":3,"maxLength":2}')).toBe('"minLength" is greater than "maxLength" at #');
  });
  it("numbers", () => {
    expect(reject('{"minimum":"1"}')).toBe('"minimum" must be a number at #');
    expect(reject('{"exclusiveMinimum":true}')).toBe(
      '"exclusiveMinimum" must be a number at # (the boolean form is draft-04)',
    );
    expect(reject('{"multipleOf":0}')).toBe('"multipleOf" must be greater than 0 at #');
    expect(reject('{"maximum":1e400}')).toBe('"maximum" must be a finite number at #');
  });
  it("required, enum, uniqueItems, dependencies", () => {
    expect(reject('{"required":"a"}')).toBe('"required" must be an array of strings at #');
    expect(reject('{"required":["a",1]}')).toBe('"required" must be an array of strings at #');
    expect(reject('{"required":["a","a"]}')).toBe('"required" lists "a" twice at #');
    expect(reject('{"enum":"a"}')).toBe('"enum" must be an array at #');
    expect(reject('{"uniqueItems":1}')).toBe('"uniqueItems" must be a boolean at #');
    expect(reject('{"dependencies":{"a":5}}')).toBe(
      '"dependencies" entries must be schemas or arrays of strings at #/dependencies/a',
    );
  });
  it("subschemas must be objects or booleans", () => {
    expect(reject("5")).toBe("schema must be an object or a boolean at #");
    expect(reject('{"properties":{"a":"string"}}')).toBe("schema must be an object or a boolean at #/properties/a");
    expect(reject('{"properties":[]}')).toBe('"properties" must be an object at #');
    expect(reject('{"anyOf":[]}')).toBe('"anyOf" must be a non-empty array of schemas at #');
    expect(reject('{"allOf":{}}')).toBe('"allOf" must be a non-empty array of schemas at #');
    expect(reject('{"not":null}')).toBe("schema must be an object or a boolean at #/not");
  });
  it("messages stay on one line when names hold control characters", () => {
    expect(reject('{"properties":{"a\\nb":{"type":5}}}')).toBe(
      '"type" must be a type name or a non-empty array of type names at #/properties/a\\nb',
    );
  });
  it("annotations with the wrong type", () => {
    expect(reject('{"title":1}')).toBe('"title" must be a string at #');
    expect(reject('{"examples":{}}')).toBe('"examples" must be an array at #');
    expect(reject('{"readOnly":"yes"}')).toBe('"readOnly" must be a boolean at #');
  });
  it("$ref that points nowhere or is malformed", () => {
    expect(reject('{"items":{"$ref":"#/definitions/x"}}')).toBe('$ref "#/definitions/x" not found at #/items');
    expect(reject('{"definitions":{},"$ref":"#/definitions/x"}')).toBe('$ref "#/definitions/x" not found at #');
    expect(reject('{"items":[{}],"properties":{"a":{"$ref":"#/items/5"}}}')).toBe(
      '$ref "#/items/5" not found at #/properties/a',
    );
    expect(reject('{"$ref":"#/a~2b"}')).toBe('$ref "#/a~2b" is not a valid JSON pointer at #');
    expect(reject('{"$ref":"#/a%zz"}')).toBe('$ref "#/a%zz" is not a valid JSON pointer at #');
    expect(reject('{"$ref":5}')).toBe('"$ref" must be a string at #');
  });
});

describe("schema: never traps", () => {
  it("$ref loops that never reach a value are rejected at compile time", () => {
    expect(reject('{"$ref":"#"}')).toBe(
      "$ref loop at #: the schema refers to itself without descending into the instance",
    );
    expect(
      reject(
        '{"definitions":{"a":{"$ref":"#/definitions/b"},"b":{"$ref":"#/definitions/a"}},"$ref":"#/definitions/a"}',
      ).startsWith("$ref loop at #/definitions/"),
    ).toBe(true);
    expect(reject('{"anyOf":[{"type":"string"},{"$ref":"#"}]}').startsWith("$ref loop at #")).toBe(true);
    expect(
      reject('{"definitions":{"a":{"not":{"allOf":[{"$ref":"#/definitions/a"}]}}}}').startsWith(
        "$ref loop at #/definitions/a",
      ),
    ).toBe(true);
  });
  it("deep values against a recursive schema stop with an error", () => {
    const schema = compile('{"items":{"$ref":"#"}}');
    const errors = schema.validate(json(nestedArrays(400)));
    expect(errors.length).toBe(1);
    expect(errors[0].reason).toBe(
      "value nested too deeply for the schema (more than " + MAX_VALIDATION_DEPTH.toString() + " levels)",
    );
    expect(errors[0].path.startsWith("$[0][0][0]")).toBe(true);
    expect(schema.validate(json(nestedArrays(100))).length).toBe(0);
  });
  it('a limit hit inside "not" still fails validation', () => {
    const schema = compile(
      '{"definitions":{"d":{"items":{"$ref":"#/definitions/d"}}},"not":{"$ref":"#/definitions/d","description":"x"},"type":"array"}',
    );
    const errors = schema.validate(json(nestedArrays(400)));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[errors.length - 1].reason.startsWith("value nested too deeply")).toBe(true);
  });
  it("exponential schemas stop after a bounded number of steps", () => {
    const schema = compile(
      '{"anyOf":[{"items":{"$ref":"#"},"contains":{"type":"string"}},{"items":{"$ref":"#"},"contains":{"type":"number"}}]}',
    );
    const errors = schema.validate(json(nestedArrays(40)));
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[errors.length - 1].reason).toBe(
      "validation stopped after " + MAX_VALIDATION_STEPS.toString() + " steps (schema too costly for this value)",
    );
  });
  it("deeply nested schemas are rejected", () => {
    const text = '{"not":'.repeat(200) + "{}" + "}".repeat(200);
    expect(reject(text).startsWith("schema nested deeper than 128 levels at #/not/not/")).toBe(true);
  });
});

describe("schema: error list", () => {
  it("maxErrors caps the list", () => {
    const s = '{"items":{"type":"string"}}';
    expect(compile(s).validate(json("[1,2,3,4,5]"), 2).length).toBe(2);
    expect(compile(s).validate(json("[1,2,3,4,5]")).length).toBe(5);
    expect(compile(s).validate(json("[1,2,3,4,5]"), 0).length).toBe(1);
  });
  it("formatErrors joins path: reason pairs", () => {
    let list = new Array<ValidationError>();
    expect(formatErrors(list)).toBe("");
    list.push(new ValidationError("$.age", "expected integer, got string"));
    list.push(new ValidationError("$.name", "required property missing"));
    expect(formatErrors(list)).toBe("$.age: expected integer, got string; $.name: required property missing");
  });
  it("a schema validates many values", () => {
    const schema = compile('{"type":"object","required":["a"]}');
    for (let i = 0; i < 200; i++) {
      expect(schema.validate(json('{"a":' + i.toString() + "}")).length).toBe(0);
    }
    expect(schema.isValid(json("{}"))).toBe(false);
  });
});
