import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { UsageError } from "./args.js";
import { CancelledError, resolveOptions, type Prompter } from "./resolve-options.js";

// Prompt logic with injected answers; the real TTY path (clack in a pseudo-terminal)
// is covered by test/cli.test.ts.
type Answer = string | boolean | undefined;
function scripted(answers: Answer[]): Prompter & { asked: string[] } {
  const asked: string[] = [];
  const next = (message: string, validate?: (v: string) => string | undefined) => {
    asked.push(message);
    if (answers.length === 0) throw new Error(`unexpected question: ${message}`);
    const a = answers.shift();
    if (typeof a === "string" && validate) {
      const problem = validate(a);
      if (problem) throw new Error(`validation failed for ${a}: ${problem}`);
    }
    return a;
  };
  return {
    asked,
    text: async (q) => next(q.message, q.validate) as string | undefined,
    select: async (q) => next(q.message) as never,
    confirm: async (q) => next(q.message) as boolean | undefined,
  };
}

let cwd: string;
beforeEach(() => {
  cwd = mkdtempSync(join(tmpdir(), "ck-create-"));
});
afterEach(() => rmSync(cwd, { recursive: true, force: true }));
const base = { help: false, version: false };

describe("resolveOptions, non-interactive", () => {
  it("uses defaults: my-cni-plugin, name from the directory, template main, install", async () => {
    const o = await resolveOptions(base, { interactive: false, cwd });
    expect(o).toMatchObject({ targetDir: "my-cni-plugin", name: "my-cni-plugin", overwrite: false, install: true });
    expect(o.template.name).toBe("main");
    expect(o.targetPath).toBe(join(cwd, "my-cni-plugin"));
  });
  it("takes every answer from flags", async () => {
    const o = await resolveOptions(
      { ...base, targetDir: "x/", template: "ipam", name: "my-ipam", install: false },
      { interactive: false, cwd },
    );
    expect(o).toMatchObject({ targetDir: "x", name: "my-ipam", install: false });
    expect(o.template.folder).toBe("template-ipam");
  });
  it("refuses an unknown template, a bad name, an underivable name", async () => {
    await expect(resolveOptions({ ...base, template: "nope" }, { interactive: false, cwd })).rejects.toThrow(
      /Unknown template "nope". Templates: main, ipam, meta/,
    );
    await expect(resolveOptions({ ...base, name: "Bad" }, { interactive: false, cwd })).rejects.toThrow(UsageError);
    await expect(resolveOptions({ ...base, targetDir: "123" }, { interactive: false, cwd })).rejects.toThrow(/pass --name/);
  });
  it("refuses a non-empty directory unless --overwrite; .git alone is empty", async () => {
    mkdirSync(join(cwd, "d/.git"), { recursive: true });
    await expect(resolveOptions({ ...base, targetDir: "d" }, { interactive: false, cwd })).resolves.toBeDefined();
    writeFileSync(join(cwd, "d/file"), "x");
    await expect(resolveOptions({ ...base, targetDir: "d" }, { interactive: false, cwd })).rejects.toThrow(/not empty.*--overwrite/);
    const o = await resolveOptions({ ...base, targetDir: "d", overwrite: true }, { interactive: false, cwd });
    expect(o.overwrite).toBe(true);
  });
});

describe("resolveOptions, interactive (injected answers)", () => {
  it("asks for everything missing, in order", async () => {
    const p = scripted(["net-a", "", "meta", false]);
    const o = await resolveOptions(base, { interactive: true, cwd, prompter: p });
    expect(p.asked).toEqual([
      "Project directory:",
      'Plugin name (the executable\'s name and the config\'s "type"):',
      "Which kind of plugin?",
      "Install dependencies now?",
    ]);
    expect(o).toMatchObject({ targetDir: "net-a", name: "net-a", install: false });
    expect(o.template.name).toBe("meta");
  });
  it("asks nothing when flags answer everything", async () => {
    const p = scripted([]);
    const o = await resolveOptions(
      { ...base, targetDir: "a", name: "abc", template: "main", install: true },
      { interactive: true, cwd, prompter: p },
    );
    expect(o.name).toBe("abc");
    expect(p.asked).toEqual([]);
  });
  it("re-asks an invalid --name and --template", async () => {
    const p = scripted(["good-name", "ipam"]);
    const o = await resolveOptions(
      { ...base, targetDir: "a", name: "Bad!", template: "zzz", install: false },
      { interactive: true, cwd, prompter: p },
    );
    expect(p.asked[1]).toBe('"zzz" isn\'t a template. Pick one:');
    expect(o).toMatchObject({ name: "good-name" });
    expect(o.template.name).toBe("ipam");
  });
  it("asks about a non-empty directory: cancel, ignore, overwrite", async () => {
    writeFileSync(join(cwd, "keep"), "x");
    const args = { ...base, targetDir: ".", name: "abc", template: "main", install: false };
    await expect(resolveOptions(args, { interactive: true, cwd, prompter: scripted(["cancel"]) })).rejects.toThrow(CancelledError);
    expect((await resolveOptions(args, { interactive: true, cwd, prompter: scripted(["ignore"]) })).overwrite).toBe(false);
    expect((await resolveOptions(args, { interactive: true, cwd, prompter: scripted(["overwrite"]) })).overwrite).toBe(true);
  });
  it("turns a cancelled prompt into CancelledError", async () => {
    await expect(resolveOptions(base, { interactive: true, cwd, prompter: scripted([undefined]) })).rejects.toThrow(CancelledError);
  });
});
