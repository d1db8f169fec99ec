/**
 * Every public export of every documented package has TSDoc: a summary, an @example, @throws
 * where it throws, and a link to its CNI spec section (or, where the spec has none, an explicit
 * @see to the docs/ guide). The rules are docs-tests/tsdoc-gaps.mjs's; run
 * `node docs-tests/tsdoc-gaps.mjs` for the full report. The tool itself is checked on a fixture
 * package so that a broken tool cannot pass by finding nothing.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { PACKAGES, packageGaps, type PackageGaps } from "../tsdoc-gaps.mjs";

function listed(r: PackageGaps): string[] {
  return Object.entries(r.gaps).flatMap(([category, items]) => items.map((item) => `${category}: ${item}`));
}

describe("TSDoc of the public API", () => {
  for (const pkg of Object.keys(PACKAGES)) {
    it(`@cnikit/${pkg}: every export is documented`, () => {
      const r = packageGaps(pkg);
      expect(r.exports, "the tool found no exports: is the entry point right?").toBeGreaterThan(0);
      expect(listed(r), "run `node docs-tests/tsdoc-gaps.mjs` for the report").toEqual([]);
    });
  }
});

describe("tsdoc-gaps.mjs", () => {
  const dir = mkdtempSync(join(tmpdir(), "cnikit-tsdoc-gaps-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(join(dir, "src"));
  const SPEC = "https://github.com/containernetworking/cni/blob/main/SPEC.md";
  const GUIDE = "https://github.com/cnikit/cnikit/blob/main/docs";
  writeFileSync(
    join(dir, "src/index.ts"),
    `export * from "./documented.js";\nexport * from "./gaps.js";\nexport * from "./guide.js";\n`,
  );
  writeFileSync(
    join(dir, "src/documented.ts"),
    `/**
 * Fully documented.
 *
 * @throws Error when \`x\` is negative.
 * @example good(1) // 1
 * @see ${SPEC}#add-success
 */
export function good(x: number): number {
  if (x < 0) throw new Error("negative");
  return x;
}

/**
 * A documented type.
 *
 * @example const v: GoodType = { a: 1 };
 * @see ${SPEC}#version-success
 */
export interface GoodType { a: number }

/**
 * A documented class.
 *
 * @example new GoodClass().run()
 * @see ${SPEC}#error
 */
export class GoodClass {
  /** Runs. @example new GoodClass().run() */
  run(): void {}
}
`,
  );
  writeFileSync(
    join(dir, "src/gaps.ts"),
    `export function bare(): void {}

/**
 * Throws but does not say so.
 * @example throwing()
 * @see ${SPEC}#errors
 */
export function throwing(): void {
  throw new Error("x");
}

/**
 * Caught throws are not the caller's concern.
 * @example caught()
 * @see ${SPEC}#errors
 */
export function caught(): void {
  try {
    throw new Error("x");
  } catch {}
}

/** A type without an example. @see ${SPEC}#add-success */
export type NoExample = string;

/**
 * Links a section that does not exist.
 * @example badAnchor()
 * @see ${SPEC}#no-such-section
 */
export function badAnchor(): void {}

/**
 * Links a guide that does not exist.
 * @example noGuide()
 * @see ${GUIDE}/no-such-guide.md
 */
export function noGuide(): void {}

/**
 * A class with undocumented members.
 * @example new Members()
 * @see ${SPEC}#error
 */
export class Members {
  count = 0;
  /** Has no example. */
  get twice(): number { return this.count * 2; }
}
`,
  );
  writeFileSync(
    join(dir, "src/guide.ts"),
    `/**
 * A fixture the spec has no section for: the testing guide covers it.
 *
 * @example const n = GUIDE_ONLY;
 * @see ${GUIDE}/testing.md
 */
export const GUIDE_ONLY = 1;
`,
  );

  const r = packageGaps("fixture", { dir, entries: ["src/index.ts"] });

  it("accepts fully documented exports, and a docs/ guide @see instead of a spec link", () => {
    const all = listed(r).join("\n");
    for (const name of ["good", "GoodType", "GoodClass", "GUIDE_ONLY", "caught"]) {
      expect(all).not.toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("reports each kind of gap", () => {
    expect(r.gaps.summary).toEqual(["bare (src/gaps.ts)"]);
    expect(r.gaps.example).toEqual(["bare (src/gaps.ts)"]);
    expect(r.gaps.typeExample).toEqual(["NoExample (src/gaps.ts)"]);
    expect(r.gaps.throws).toEqual(["throwing (src/gaps.ts)"]);
    expect(r.gaps.spec).toEqual(["bare (src/gaps.ts)", "noGuide (src/gaps.ts)"]);
    expect(r.gaps.anchor).toEqual(["badAnchor (src/gaps.ts): SPEC.md#no-such-section"]);
    expect(r.gaps.member).toEqual(["Members.count: no summary", "Members.twice: no @example"]);
  });
});
