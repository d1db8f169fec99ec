/**
 * Where a JSON text stops being valid, as `line:column` (1-based), for error messages that point
 * into a config file. `JSON.parse` gives a position for some errors and none for others
 * (`Unexpected token '}', ... is not valid JSON`), so the text is scanned here instead.
 */

/** A place in a text: the 0-based offset and its 1-based line and column. */
export interface TextLocation {
  offset: number;
  line: number;
  column: number;
}

/** The 1-based line and column of `offset` in `text` (columns count UTF-16 code units). */
export function locationAt(text: string, offset: number): TextLocation {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { offset, line, column: offset - lineStart + 1 };
}

class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(message);
  }
}

/**
 * Scans `text` as JSON (RFC 8259, as `JSON.parse` accepts it) and returns the first error with its
 * location, or `undefined` when the text is valid JSON.
 */
export function findJsonSyntaxError(text: string): { message: string; location: TextLocation } | undefined {
  let i = 0;
  const ws = (): void => {
    while (i < text.length) {
      const c = text[i];
      if (c === " " || c === "\t" || c === "\n" || c === "\r") i++;
      else break;
    }
  };
  const describe = (): string =>
    i >= text.length ? "unexpected end of input" : `unexpected ${JSON.stringify(text[i])}`;
  const fail = (expected: string): never => {
    throw new JsonSyntaxError(`${describe()}, expected ${expected}`, i);
  };
  const literal = (word: string): void => {
    for (let k = 0; k < word.length; k++, i++) {
      if (text[i] !== word[k]) fail(`"${word}"`);
    }
  };
  const string = (): void => {
    i++; // opening quote
    for (;;) {
      if (i >= text.length) fail("a closing '\"'");
      const c = text.charCodeAt(i);
      if (c === 34) {
        i++;
        return;
      }
      if (c < 0x20) throw new JsonSyntaxError("control character in a string", i);
      if (c === 92) {
        i++;
        const e = text[i];
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            if (!/[0-9a-fA-F]/.test(text[i + k] ?? "")) {
              i += k;
              fail("4 hex digits after \\u");
            }
          }
          i += 5;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) {
          i++;
        } else {
          fail("an escape character");
        }
      } else {
        i++;
      }
    }
  };
  const digits = (): void => {
    if (!/[0-9]/.test(text[i] ?? "")) fail("a digit");
    while (/[0-9]/.test(text[i] ?? "")) i++;
  };
  const number = (): void => {
    if (text[i] === "-") i++;
    if (text[i] === "0") i++;
    else digits();
    if (text[i] === ".") {
      i++;
      digits();
    }
    if (text[i] === "e" || text[i] === "E") {
      i++;
      if (text[i] === "+" || text[i] === "-") i++;
      digits();
    }
  };
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === "{") {
      i++;
      ws();
      if (text[i] === "}") {
        i++;
        return;
      }
      for (;;) {
        ws();
        if (text[i] !== '"') fail("a double-quoted property name");
        string();
        ws();
        if (text[i] !== ":") fail("':'");
        i++;
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "}") {
          i++;
          return;
        }
        fail("',' or '}'");
      }
    }
    if (c === "[") {
      i++;
      ws();
      if (text[i] === "]") {
        i++;
        return;
      }
      for (;;) {
        value();
        ws();
        if (text[i] === ",") {
          i++;
          continue;
        }
        if (text[i] === "]") {
          i++;
          return;
        }
        fail("',' or ']'");
      }
    }
    if (c === '"') string();
    else if (c === "t") literal("true");
    else if (c === "f") literal("false");
    else if (c === "n") literal("null");
    else if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) number();
    else fail("a JSON value");
  };
  try {
    // a leading byte-order mark is not JSON (JSON.parse rejects it too)
    value();
    ws();
    if (i < text.length) fail("the end of the document");
    return undefined;
  } catch (err) {
    if (!(err instanceof JsonSyntaxError)) throw err;
    return { message: err.message, location: locationAt(text, err.offset) };
  }
}
