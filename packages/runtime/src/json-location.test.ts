import { describe, expect, it } from "vitest";
import { findJsonSyntaxError, locationAt } from "./json-location.js";

describe("findJsonSyntaxError", () => {
  it("accepts what JSON.parse accepts", () => {
    for (const text of ['{"a":[1,-2.5e+3,true,false,null,"x\\u00e9\\n"]}', " [] ", '"s"', "0", '{\n  "a": {}\n}\n']) {
      expect(() => JSON.parse(text)).not.toThrow();
      expect(findJsonSyntaxError(text), text).toBeUndefined();
    }
  });

  it("names line and column of the first error, including where JSON.parse gives no position", () => {
    const at = (text: string) => {
      expect(() => JSON.parse(text)).toThrow();
      const e = findJsonSyntaxError(text);
      return e && `${e.location.line}:${e.location.column} ${e.message}`;
    };
    expect(at('{\n  "a": 1\n  "b": 2\n}')).toBe(`3:3 unexpected "\\"", expected ',' or '}'`);
    expect(at('{"a": tru}')).toBe('1:10 unexpected "}", expected "true"');
    expect(at('{"a":1,}')).toBe('1:8 unexpected "}", expected a double-quoted property name');
    expect(at("")).toBe("1:1 unexpected end of input, expected a JSON value");
    expect(at("[1,2]x")).toBe('1:6 unexpected "x", expected the end of the document');
    expect(at('{"a": 01}')).toBe("1:8 unexpected \"1\", expected ',' or '}'");
    expect(at('["\t"]')).toBe("1:3 control character in a string");
    expect(at('["\\x"]')).toBe('1:4 unexpected "x", expected an escape character');
    expect(at('{"a":\n  [1,\n   2')).toBe("3:5 unexpected end of input, expected ',' or ']'");
    expect(at("\uFEFF{}")).toBe('1:1 unexpected "\uFEFF", expected a JSON value');
  });

  it("locationAt counts lines from 1 and columns from 1", () => {
    expect(locationAt("ab\ncd", 4)).toEqual({ offset: 4, line: 2, column: 2 });
    expect(locationAt("", 0)).toEqual({ offset: 0, line: 1, column: 1 });
  });
});
