// Builds the agent shim (shim/shim.c) into dist/shim, static and stripped, with the system's C
// compiler. musl (`musl-gcc`, Debian: apt-get install musl-tools) is preferred: its static start-up
// is ~0.3 ms shorter per call than glibc's (measured: docs/performance.md, "Agent mode"); without
// it, `cc -static` against glibc (Debian: gcc libc6-dev). $CC overrides both. Fails with a clear
// message when no compiler can build it. dist/shim.cc records the compiler used, so installing
// musl later makes the next build rebuild the shim.
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(here, "shim", "shim.c");
const out = join(here, "dist", "shim");
const stamp = `${out}.cc`;

function works(c) {
  try {
    execFileSync(c, ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

const candidates = process.env.CC ? [process.env.CC] : ["musl-gcc", "cc", "gcc"];
const compiler = candidates.find(works);
if (!compiler) {
  console.error(
    `@cnikit/agent: no C compiler found (tried ${candidates.join(", ")}). The agent shim is built from shim/shim.c:\n` +
      "  install one, e.g. `apt-get install musl-tools` (preferred) or `apt-get install gcc libc6-dev` on Debian, then run the build again.",
  );
  process.exit(1);
}

const fresh = (() => {
  try {
    const built = statSync(out).mtimeMs;
    return (
      built >= statSync(src).mtimeMs &&
      built >= statSync(fileURLToPath(import.meta.url)).mtimeMs &&
      readFileSync(stamp, "utf8").trim() === compiler
    );
  } catch {
    return false;
  }
})();

if (!fresh) {
  mkdirSync(dirname(out), { recursive: true });
  try {
    execFileSync(compiler, ["-static", "-Os", "-Wall", "-o", out, src], { stdio: "inherit" });
  } catch {
    const libc = compiler === "musl-gcc" ? "musl (Debian: musl-tools)" : "a static libc (Debian: libc6-dev)";
    console.error(`@cnikit/agent: ${compiler} could not build shim/shim.c statically; it needs ${libc}`);
    process.exit(1);
  }
  try {
    execFileSync("strip", [out], { stdio: "ignore" });
  } catch {
    // no strip: the shim still works, only larger
  }
  writeFileSync(stamp, `${compiler}\n`);
}
