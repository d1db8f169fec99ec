/**
 * The README's 20-line plugin, built exactly as printed and run as a runtime would run it:
 * ADD into a real netns (IPAM = the Go reference host-local), the address is on the interface,
 * DEL removes the link and the lease, DEL again succeeds.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildFixture } from "../../tools/build-fixture.js";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
const GO_HOST_LOCAL = "/usr/lib/cni/host-local";

function readmeSample(): string {
  const text = readFileSync(join(repo, "README.md"), "utf8");
  const section = text.slice(text.indexOf("## A plugin in 20 lines"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (!m?.[1]) throw new Error("README.md: no ts sample under '## A plugin in 20 lines'");
  return m[1];
}

describe("README plugin", () => {
  const id = randomBytes(3).toString("hex");
  const netnsName = `ckreadme${id}`;
  const netnsPath = `/var/run/netns/${netnsName}`;
  const subnet = `10.${100 + (randomBytes(1)[0] as number) % 100}.${randomBytes(1)[0]}.0/24`;
  let work = "";
  let binDir = "";

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "cnikit-readme-"));
    binDir = join(work, "bin");
    mkdirSync(binDir);
    // The sample is written inside the repo so its @cnikit/* imports resolve from the workspace.
    const srcDir = join(repo, "docs-tests/.readme-sample");
    mkdirSync(srcDir, { recursive: true });
    writeFileSync(join(srcDir, "tiny-veth.ts"), readmeSample());
    await buildFixture({ entry: join(srcDir, "tiny-veth.ts"), outfile: join(binDir, "tiny-veth") });
    symlinkSync(GO_HOST_LOCAL, join(binDir, "host-local"));
    execFileSync("ip", ["netns", "add", netnsName]);
  }, 120_000);

  afterAll(() => {
    spawnSync("ip", ["netns", "del", netnsName]);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  function run(command: string) {
    const conf = {
      cniVersion: "1.0.0",
      name: `readme${id}`,
      type: "tiny-veth",
      ipam: { type: "host-local", subnet, dataDir: join(work, "ipam") },
    };
    return spawnSync(join(binDir, "tiny-veth"), [], {
      input: JSON.stringify(conf),
      encoding: "utf8",
      env: {
        PATH: "/usr/sbin:/usr/bin:/sbin:/bin",
        CNI_COMMAND: command,
        CNI_CONTAINERID: `readme-${id}`,
        CNI_NETNS: netnsPath,
        CNI_IFNAME: "eth0",
        CNI_PATH: binDir,
      },
    });
  }

  it("type-checks under the repo's strict tsconfig", () => {
    const srcDir = join(repo, "docs-tests/.readme-sample");
    writeFileSync(
      join(srcDir, "tsconfig.json"),
      JSON.stringify({ extends: "../../tsconfig.base.json", compilerOptions: { noEmit: true }, include: ["./*.ts"] }),
    );
    const tsc = join(repo, "node_modules/typescript/bin/tsc");
    const res = spawnSync(process.execPath, [tsc, "-p", join(srcDir, "tsconfig.json"), "--pretty", "false"], {
      encoding: "utf8",
    });
    const ours = `${res.stdout}${res.stderr}`.split("\n").filter((l) => l.includes(".readme-sample/"));
    expect(ours.join("\n")).toBe("");
  }, 240_000);

  it("ADD gives the container an address from IPAM, DEL removes link and lease, twice", () => {
    const add = run("ADD");
    expect(add.status, add.stdout + add.stderr).toBe(0);
    const result = JSON.parse(add.stdout) as { cniVersion: string; ips: { address: string; interface: number }[] };
    expect(result.cniVersion).toBe("1.0.0");
    const address = result.ips[0]?.address ?? "";
    expect(address.startsWith(subnet.slice(0, subnet.lastIndexOf(".")))).toBe(true);
    const shown = execFileSync("ip", ["-n", netnsName, "-o", "addr", "show", "dev", "eth0"], { encoding: "utf8" });
    expect(shown).toContain(address);
    const leaseDir = join(work, "ipam", `readme${id}`);
    expect(existsSync(join(leaseDir, address.split("/")[0] as string))).toBe(true);

    for (let i = 0; i < 2; i++) {
      const del = run("DEL");
      expect(del.status, del.stdout + del.stderr).toBe(0);
      expect(del.stdout).toBe("");
    }
    const links = execFileSync("ip", ["-n", netnsName, "-o", "link", "show"], { encoding: "utf8" });
    expect(links).not.toContain("eth0");
    expect(readdirSync(leaseDir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"))).toEqual([]);
  }, 60_000);
});
