// Names, namespaces, bridges and data dirs the benchmark creates — and always removes.
// Every name is `ckb<hex>` (unique per round); subnets are random /24s in 10.200.0.0–10.249.255.0
// that no route on the host uses yet. Nothing the benchmark did not create is ever touched.
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CLEAN_PATH, timedRun } from "./proc.mjs";

const IP = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].find((p) => existsSync(p)) ?? "ip";

/** A fresh unique name `ckb` + 8 hex digits (11 chars: fits IFNAMSIZ). */
export function uniqueName() {
  return `ckb${randomBytes(4).toString("hex")}`;
}

function ip(args, { input, allowFail = false } = {}) {
  // through the bench runner: no fork of the (large) bench process per `ip` call
  const r = timedRun(IP, args, { env: { PATH: CLEAN_PATH }, input: input ?? "" });
  if (r.status !== 0 && !allowFail) {
    throw new Error(`ip ${args.join(" ")}: ${r.stderr?.toString().trim()}`);
  }
  return r;
}

const usedSubnets = new Set();

/** A random 10.x.y.0/24 not routed on the host and not handed out before in this process. */
export function freeSubnet() {
  const routes = ip(["-4", "route", "show", "table", "all"]).stdout.toString();
  for (let i = 0; i < 1000; i++) {
    const b = 200 + Math.floor(Math.random() * 50);
    const c = Math.floor(Math.random() * 256);
    const prefix = `10.${b}.${c}.`;
    if (usedSubnets.has(prefix) || routes.includes(prefix)) continue;
    usedSubnets.add(prefix);
    return { cidr: `${prefix}0/24`, prefix };
  }
  throw new Error("no free 10.x subnet found");
}

/**
 * Tracks what one round creates; `cleanup()` removes all of it (called in `finally`).
 * Also registered for SIGINT/SIGTERM so an interrupted benchmark leaves nothing behind.
 */
export class Resources {
  static #live = new Set();
  static {
    const onSignal = (sig) => {
      for (const r of Resources.#live) r.cleanup();
      process.kill(process.pid, sig);
    };
    for (const sig of ["SIGINT", "SIGTERM"]) process.once(sig, onSignal);
    process.once("exit", () => {
      for (const r of Resources.#live) r.cleanup();
    });
  }

  netns = [];
  links = [];
  dirs = [];

  constructor() {
    Resources.#live.add(this);
  }

  /** Creates `count` network namespaces named ckb<hex>; returns their names. */
  addNetns(count = 1) {
    const names = Array.from({ length: count }, () => uniqueName());
    this.netns.push(...names);
    ip(["-batch", "-"], { input: names.map((n) => `netns add ${n}\n`).join("") });
    return names;
  }

  /** Registers a link (e.g. the bridge a plugin creates) to delete on cleanup. */
  addLink(name) {
    this.links.push(name);
    return name;
  }

  /** A fresh temp dir (e.g. host-local's dataDir). */
  addDir(prefix = "ckb-") {
    const dir = mkdtempSync(join(tmpdir(), prefix));
    this.dirs.push(dir);
    return dir;
  }

  /** Removes everything this round created; never throws. */
  cleanup() {
    if (this.netns.length) {
      ip(["-force", "-batch", "-"], { input: this.netns.map((n) => `netns del ${n}\n`).join(""), allowFail: true });
    }
    for (const l of this.links) ip(["link", "del", l], { allowFail: true });
    for (const d of this.dirs) rmSync(d, { recursive: true, force: true });
    this.netns = [];
    this.links = [];
    this.dirs = [];
    Resources.#live.delete(this);
  }
}

/** The netns path a runtime passes as CNI_NETNS. */
export function netnsPath(name) {
  return `/var/run/netns/${name}`;
}
