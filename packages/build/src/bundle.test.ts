import { describe, expect, it } from "vitest";
import { lazyBuiltinRequires } from "./bundle.js";

describe("lazyBuiltinRequires (Bun builds)", () => {
  it("turns esbuild's `import_x = require(builtin)` into a load on first use, and nothing else", () => {
    const code = [
      'var import_node_fs = require("node:fs");',
      '    import_node_path = require("node:path");',
      '  var import_os = require("os");',
      '    import_zod = require("zod");',
      '    import_node_os = __toESM(require("node:os"));',
      "    const msg = 'x = require(\"node:fs\");';",
    ].join("\n");
    expect(lazyBuiltinRequires(code).split("\n")).toEqual([
      'var import_node_fs = __cnikitLazy(() => require("node:fs"));',
      '    import_node_path = __cnikitLazy(() => require("node:path"));',
      '  var import_os = __cnikitLazy(() => require("os"));',
      '    import_zod = require("zod");',
      '    import_node_os = __toESM(require("node:os"));',
      "    const msg = 'x = require(\"node:fs\");';",
    ]);
  });
});
