// Builds the agent shim (shim/shim.c) into dist/shim with the system's C compiler:
// `cc -static -Os` (Debian: apt-get install gcc libc6-dev). Fails with a clear message without one.
import { execFileSync } from "node:child_process";
import { mkdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = join(dirname(fileURLToPath(import.meta.url)), "..");
const src = join(here, "shim", "shim.c");
const out = join(here, "dist", "shim");
const fresh = (() => {
  try {
    return statSync(out).mtimeMs >= statSync(src).mtimeMs;
  } catch {
    return false;
  }
})();
if (!fresh) {
  const compilers = [process.env.CC, "cc", "gcc"].filter(Boolean);
  let compiler;
  for (const c of compilers) {
    try {
      execFileSync(c, ["--version"], { stdio: "ignore" });
      compiler = c;
      break;
    } catch {}
  }
  if (!compiler) {
    console.error(
      "@cnikit/agent: no C compiler found (tried $CC, cc, gcc). The agent shim is built from shim/shim.c:\n" +
        "  install one, e.g. `apt-get install gcc libc6-dev` on Debian, then run the build again.",
    );
    process.exit(1);
  }
  mkdirSync(dirname(out), { recursive: true });
  try {
    execFileSync(compiler, ["-static", "-Os", "-Wall", "-o", out, src], { stdio: "inherit" });
  } catch {
    console.error(
      `@cnikit/agent: ${compiler} could not build shim/shim.c statically; a static libc is needed (Debian: libc6-dev)`,
    );
    process.exit(1);
  }
  try {
    execFileSync("strip", [out], { stdio: "ignore" });
  } catch {
    // no strip: the shim still works, only larger
  }
}
