import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TEMPLATES } from "../src/templates.js";
import { KEY, buildCli, runCli, runCliInTty } from "./cli-harness.js";

let cwd: string;
beforeAll(() => {
  buildCli();
  cwd = mkdtempSync(join(tmpdir(), "ck-cli-"));
});
afterAll(() => rmSync(cwd, { recursive: true, force: true }));

function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name));
      else out.push(relative(dir, join(d, e.name)));
    }
  };
  walk(dir);
  return out.sort();
}
const readJson = (p: string) => JSON.parse(readFileSync(p, "utf8"));

describe("create-cni-plugin --help / --version", () => {
  it("--help lists every template from the data array", async () => {
    const r = await runCli(["--help"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: create-cni-plugin \[DIRECTORY\] \[OPTIONS\]/);
    for (const t of TEMPLATES) expect(r.stdout.split("\n")).toContain(`  ${t.name.padEnd(4)}  ${t.title}: ${t.description}${t.name === "main" ? " (default)" : ""}`);
    for (const flag of ["--template", "--name", "--overwrite", "--no-install", "--no-interactive"]) expect(r.stdout).toContain(flag);
  });
  it("--version prints the package version", async () => {
    const r = await runCli(["-v"], { cwd });
    expect(r.stdout.trim()).toBe(readJson(join(__dirname, "../package.json")).version);
  });
  it("an unknown flag is a usage error (exit 2)", async () => {
    const r = await runCli(["--bogus"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("Unknown option '--bogus'");
    expect(r.stderr).toContain("--help");
  });
});

describe("non-interactive scaffolding (piped stdio)", () => {
  it.each(TEMPLATES.map((t) => t.name))("template %s: a complete project, placeholders replaced", async (name) => {
    const dir = `proj-${name}`;
    const r = await runCli([dir, "--template", name, "--no-install"], { cwd });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`Created ${name} plugin "${dir}" in ${dir}`);
    expect(r.stdout).toMatch(/Next steps:\n {2}cd proj-\w+\n {2}npm install\n {2}npm run build/);
    const root = join(cwd, dir);
    const files = listFiles(root);
    for (const f of [".gitignore", "README.md", "package.json", "tsconfig.json", "src/main.ts", "src/plugin.ts", "test/plugin.test.ts", `net.d/10-${dir}.conflist`]) {
      expect(files).toContain(f);
    }
    expect(files).not.toContain("_gitignore");
    for (const f of files) expect(readFileSync(join(root, f), "utf8"), f).not.toContain("__PLUGIN_NAME__");
    const pkg = readJson(join(root, "package.json"));
    expect(pkg.name).toBe(dir);
    expect(pkg.bin).toEqual({ [dir]: `dist/${dir}` });
    expect(pkg.scripts).toMatchObject({ build: expect.any(String), test: expect.any(String), "build:sea": expect.any(String) });
    const cnikit = Object.entries({ ...pkg.dependencies, ...pkg.devDependencies }).filter(([k]) => k.startsWith("@cnikit/"));
    expect(cnikit.length).toBeGreaterThan(2);
    for (const [, v] of cnikit) expect(v).toBe("^0.1.0");
    expect(readFileSync(join(root, "src/plugin.ts"), "utf8")).toContain(`name: "${dir}"`);
    expect(readFileSync(join(root, "README.md"), "utf8")).toMatch(/\/opt\/cni\/bin[\s\S]*cnikit add/);
  });

  it("defaults: directory my-cni-plugin, name from the directory, template main", async () => {
    const sub = mkdtempSync(join(cwd, "defaults-"));
    const r = await runCli(["--no-install"], { cwd: sub });
    expect(r.code).toBe(0);
    expect(readJson(join(sub, "my-cni-plugin/package.json")).name).toBe("my-cni-plugin");
    expect(readFileSync(join(sub, "my-cni-plugin/src/plugin.ts"), "utf8")).toContain("ensureBridge");
  });

  it("--name overrides the name derived from the directory", async () => {
    const r = await runCli(["Some Dir", "-t", "meta", "-n", "tuner", "--no-install"], { cwd });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('cd "Some Dir"');
    expect(readJson(join(cwd, "Some Dir/package.json")).name).toBe("tuner");
  });

  it.each([
    [["x1", "--name", "Bad_Name"], /Invalid plugin name "Bad_Name": The plugin name must start with a lowercase letter/],
    [["x2", "--name", "bridge"], /"bridge" is already taken .* overwrite it/],
    [["x3", "--name", "fs"], /Node\.js built-in module/],
    [["x4", "--name", "a".repeat(65)], /at most 64 characters/],
    [["x5", "--name", "my.plugin"], /only lowercase letters, digits/],
    [["123"], /Cannot derive a plugin name from "123": pass --name/],
    [["x6", "--template", "vxlan"], /Unknown template "vxlan". Templates: main, ipam, meta/],
  ])("rejects %j (exit 2, nothing written)", async (args, msg) => {
    const r = await runCli([...args, "--no-install"], { cwd });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(msg);
    expect(existsSync(join(cwd, args[0] as string))).toBe(false);
  });

  it("refuses a non-empty directory without --overwrite; --overwrite empties it but keeps .git", async () => {
    const dir = join(cwd, "busy");
    mkdirSync(join(dir, ".git"), { recursive: true });
    writeFileSync(join(dir, ".git/HEAD"), "ref: refs/heads/main\n");
    writeFileSync(join(dir, "precious.txt"), "keep me");
    const refused = await runCli(["busy", "--no-install"], { cwd });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('Directory "busy" is not empty. Use --overwrite');
    expect(readFileSync(join(dir, "precious.txt"), "utf8")).toBe("keep me");
    expect(existsSync(join(dir, "package.json"))).toBe(false);

    const forced = await runCli(["busy", "--overwrite", "--no-install"], { cwd });
    expect(forced.code).toBe(0);
    expect(existsSync(join(dir, "precious.txt"))).toBe(false);
    expect(readFileSync(join(dir, ".git/HEAD"), "utf8")).toContain("refs/heads/main");
    expect(readJson(join(dir, "package.json")).name).toBe("busy");
  });

  it("a directory holding only .git counts as empty", async () => {
    mkdirSync(join(cwd, "gitonly/.git"), { recursive: true });
    expect((await runCli(["gitonly", "--no-install"], { cwd })).code).toBe(0);
  });

  it("installs with the package manager from npm_config_user_agent and prints its commands", async () => {
    const bin = mkdtempSync(join(cwd, "fakebin-"));
    const log = join(bin, "calls.log");
    writeFileSync(join(bin, "pnpm"), `#!/bin/sh\necho "$PWD $*" >> ${log}\n`);
    chmodSync(join(bin, "pnpm"), 0o755);
    const r = await runCli(["with-pnpm", "--template", "ipam"], {
      cwd,
      env: { npm_config_user_agent: "pnpm/9.12.0 npm/? node/v20.20.2 linux x64", PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    expect(readFileSync(log, "utf8").trim()).toBe(`${join(cwd, "with-pnpm")} install`);
    expect(r.stdout).toContain("Installing dependencies with pnpm install...");
    expect(r.stdout).toContain("pnpm run build");
    expect(r.stdout).not.toMatch(/(^|\s)npm (install|run)/m);
  });

  it("reports a failed install (exit 1) after writing the project", async () => {
    const bin = mkdtempSync(join(cwd, "fakebin-"));
    writeFileSync(join(bin, "yarn"), "#!/bin/sh\necho 'registry unreachable' >&2\nexit 3\n");
    chmodSync(join(bin, "yarn"), 0o755);
    const r = await runCli(["with-yarn", "--install"], {
      cwd,
      env: { npm_config_user_agent: "yarn/1.22.22 npm/? node/v20.20.2 linux x64", PATH: `${bin}:${process.env.PATH}` },
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("create-cni-plugin: Command failed with exit code 3: yarn\n\nregistry unreachable\n");
    expect(r.stderr).toContain("The project is written; run yarn yourself in with-yarn.");
    expect(existsSync(join(cwd, "with-yarn/package.json"))).toBe(true);
  });
});

// The interactive path: clack prompts in a real pseudo-terminal (util-linux `script`).
describe.skipIf(!existsSync("/usr/bin/script"))("interactive prompts in a pseudo-terminal", () => {
  it("asks for directory, name, template and install; flags skip their prompt", async () => {
    const tty = runCliInTty([], { cwd });
    try {
      await tty.waitFor(/Project directory:/);
      await tty.send(`tty-proj${KEY.enter}`);
      await tty.waitFor(/Plugin name \(the executable's name and the config's "type"\):/);
      await tty.send(KEY.enter); // accept the suggestion (from the directory)
      await tty.waitFor(/Which kind of plugin\?/);
      await tty.send(KEY.down); // main → ipam
      await tty.send(KEY.enter);
      await tty.waitFor(/Install dependencies now\?/);
      await tty.send("n");
      await tty.send(KEY.enter);
      await tty.waitFor(/Next steps/);
      expect(await tty.exit()).toBe(0);
    } finally {
      tty.kill();
    }
    expect(tty.text()).toContain('Created ipam plugin "tty-proj" in tty-proj');
    const pkg = readJson(join(cwd, "tty-proj/package.json"));
    expect(pkg.name).toBe("tty-proj");
    expect(readFileSync(join(cwd, "tty-proj/src/plugin.ts"), "utf8")).toContain("HostLocalStore");
    expect(existsSync(join(cwd, "tty-proj/node_modules"))).toBe(false);
  });

  it("validates the name as it is typed, and asks only what flags left open", async () => {
    const tty = runCliInTty(["tty-two", "--template", "meta", "--no-install"], { cwd });
    try {
      await tty.waitFor(/Plugin name/);
      await tty.send(`${KEY.backspace.repeat(20)}bridge${KEY.enter}`);
      await tty.waitFor(/already taken by a well-known CNI plugin/);
      await tty.send(`${KEY.backspace.repeat(6)}my-tuner${KEY.enter}`);
      await tty.waitFor(/Next steps/);
      expect(await tty.exit()).toBe(0);
    } finally {
      tty.kill();
    }
    expect(tty.text()).not.toMatch(/Which kind of plugin|Install dependencies/);
    expect(readJson(join(cwd, "tty-two/package.json")).name).toBe("my-tuner");
  });

  it("asks before touching a non-empty directory; Cancel leaves it alone", async () => {
    mkdirSync(join(cwd, "tty-busy"));
    writeFileSync(join(cwd, "tty-busy/notes.txt"), "mine");
    const tty = runCliInTty(["tty-busy", "--template", "main", "--no-install"], { cwd });
    try {
      await tty.waitFor(/Directory "tty-busy" is not empty\. What now\?/);
      await tty.send(KEY.enter); // Cancel is the default
      expect(await tty.exit()).toBe(1);
    } finally {
      tty.kill();
    }
    expect(tty.text()).toContain("Cancelled: the directory is not empty.");
    expect(readdirSync(join(cwd, "tty-busy"))).toEqual(["notes.txt"]);

    const again = runCliInTty(["tty-busy", "--template", "main", "--no-install"], { cwd });
    try {
      await again.waitFor(/is not empty\. What now\?/);
      await again.send(KEY.down); // Remove existing files and continue
      await again.send(KEY.enter);
      await again.waitFor(/Plugin name/);
      await again.send(KEY.enter);
      await again.waitFor(/Next steps/);
      expect(await again.exit()).toBe(0);
    } finally {
      again.kill();
    }
    expect(existsSync(join(cwd, "tty-busy/notes.txt"))).toBe(false);
    expect(readJson(join(cwd, "tty-busy/package.json")).name).toBe("tty-busy");
  });

  it("Ctrl-C cancels without writing anything (exit 1)", async () => {
    const tty = runCliInTty(["tty-cancel"], { cwd });
    try {
      await tty.waitFor(/Plugin name/);
      await tty.send(KEY.ctrlC);
      expect(await tty.exit()).toBe(1);
    } finally {
      tty.kill();
    }
    expect(tty.text()).toContain("Cancelled.");
    expect(existsSync(join(cwd, "tty-cancel"))).toBe(false);
  });

  it("--no-interactive never prompts, even in a terminal", async () => {
    const tty = runCliInTty(["tty-flags", "--no-interactive", "--no-install"], { cwd });
    expect(await tty.exit()).toBe(0);
    expect(tty.text()).not.toContain("Plugin name");
    expect(readJson(join(cwd, "tty-flags/package.json")).name).toBe("tty-flags");
  });
});
