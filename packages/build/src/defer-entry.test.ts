import ts from "typescript";
import { describe, expect, it } from "vitest";
import { deferEntrySource, ENTRY_MAIN } from "./defer-entry.js";

const defer = (src: string) => deferEntrySource(ts, "/x/main.ts", src);

describe("deferEntrySource", () => {
  it("keeps imports on top and moves everything else into the async main", () => {
    const out = defer('import a from "a";\nconst x = await a();\nimport { b } from "b";\nb(x);\n');
    expect(out).toBe(
      `import a from "a";\nimport { b } from "b";\nexport async function ${ENTRY_MAIN}() {\nconst x = await a();\nb(x);\n}\n`,
    );
  });

  it("drops exports: declarations stay, default expressions are evaluated, re-exports only load", () => {
    const out = defer(
      [
        "export const v = 1;",
        "export function f() {}",
        "export default function () { return 2; }",
        "export { v as w };",
        'export * from "./side.js";',
        'export type { T } from "./types.js";',
        "export interface I {}",
      ].join("\n"),
    );
    expect(out).toContain('import "./side.js";');
    expect(out).not.toContain("types.js");
    expect(out).not.toMatch(/\bexport (const|function|default|\{|\*|interface)/);
    expect(out).toContain("       const v = 1;");
    expect(out).toContain("void (function () { return 2; });");
    expect(out).toContain("interface I {}");
  });

  it("export default <expression> is evaluated", () => {
    expect(defer("export default plugin;\n")).toContain("void (plugin);");
  });
});
