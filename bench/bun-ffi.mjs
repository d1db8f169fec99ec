// koffi (through Bun's N-API) vs bun:ffi under Bun: the cost of loading each and of one libc
// call (getpid, and setns on the calling thread's own netns, as the setns windows do). The
// measurement behind @cnikit/native's bun:ffi backend (what Bun builds use).
// Run by the pinned Bun, from the repository root:
//
//   $(node -e 'import("./packages/build/dist/index.js").then(m=>console.log(m.findBun()))') bench/bun-ffi.mjs [calls]
import { existsSync, openSync } from "node:fs";
import { createRequire } from "node:module";

const calls = Number(process.argv[2] ?? 200_000);
const ns = (t0) => Number(process.hrtime.bigint() - t0);
const CLONE_NEWNET = 0x40000000;

function perCall(fn) {
  for (let i = 0; i < 1000; i++) fn(); // warm up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < calls; i++) fn();
  return ns(t0) / calls;
}

const rows = [];
// koffi: its koffi.node loaded with process.dlopen, as a bundle does (examples/bridge/dist/ holds
// the Node build's copy; Bun builds ship none since @cnikit/native uses bun:ffi under Bun), else
// koffi's package through require
{
  const addon = new URL("../examples/bridge/dist/koffi.node", import.meta.url).pathname;
  let koffi;
  let t0 = process.hrtime.bigint();
  if (existsSync(addon)) {
    const mod = { exports: {} };
    process.dlopen(mod, addon);
    koffi = mod.exports;
  } else {
    koffi = createRequire(new URL("../packages/native/package.json", import.meta.url))("koffi");
  }
  const loadNs = ns(t0);
  t0 = process.hrtime.bigint();
  const libc = koffi.load("libc.so.6");
  const getpid = libc.func("int getpid()");
  const setns = libc.func("int setns(int, int)");
  const bindNs = ns(t0);
  const fd = openSync("/proc/thread-self/ns/net", "r");
  rows.push(["koffi (N-API)", loadNs, bindNs, perCall(() => getpid()), perCall(() => setns(fd, CLONE_NEWNET))]);
}
// bun:ffi
{
  let t0 = process.hrtime.bigint();
  const { dlopen } = await import("bun:ffi");
  const loadNs = ns(t0);
  t0 = process.hrtime.bigint();
  const { symbols } = dlopen("libc.so.6", {
    getpid: { args: [], returns: "i32" },
    setns: { args: ["i32", "i32"], returns: "i32" },
  });
  const bindNs = ns(t0);
  const fd = openSync("/proc/thread-self/ns/net", "r");
  rows.push([
    "bun:ffi",
    loadNs,
    bindNs,
    perCall(() => symbols.getpid()),
    perCall(() => symbols.setns(fd, CLONE_NEWNET)),
  ]);
}
console.log(`Bun ${process.versions.bun}, ${calls} calls each\n`);
console.log("| FFI | load ms | bind 2 functions ms | getpid ns/call | setns ns/call |");
console.log("| --- | --- | --- | --- | --- |");
for (const [name, load, bind, g, s] of rows)
  console.log(
    `| ${name} | ${(load / 1e6).toFixed(2)} | ${(bind / 1e6).toFixed(2)} | ${g.toFixed(0)} | ${s.toFixed(0)} |`,
  );
