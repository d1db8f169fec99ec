// ip-cidr@4 against @cnikit/spec's IP module (packages/spec/src/ip.ts): what each costs a plugin
// per call at start-up, and what each answers on the edge cases a CNI plugin meets (IPv6 written
// compressed or in full, /0, /32, /128, host bits in a CIDR, contains across families, bad input),
// with Go's net package (the reference plugins' behaviour) as the expected answer when `go` is on
// PATH. docs/dependencies.md records a run.
//
//   node bench/ip-cidr.mjs [--rounds N] [--json]
//
// Both are bundled the way cnikit-build bundles a plugin (esbuild, one CommonJS file, minified,
// tree-shaken), each with a tiny entry that parses a CIDR and tests one address, and run as
// `node <bundle>` in a clean environment, alternating with an empty bundle in the same rounds:
// the cost is the median of the per-round differences to the empty bundle.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { build } from "esbuild";
import { cleanEnv, timedRun } from "./lib/proc.mjs";
import { median, ms, rotate, table } from "./lib/stats.mjs";

const ROOT = resolve(import.meta.dirname, "..");
const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf("--rounds") + 1]) || (args.includes("--rounds") ? 0 : 40);
const asJson = args.includes("--json");

/** [op, cidr, ip?] */
const CASES = [
  ["valid", "10.1.2.3/24"], // host bits set: Go accepts and keeps them
  ["valid", "0.0.0.0/0"],
  ["valid", "10.0.0.1/32"],
  ["valid", "10.0.0.1/33"],
  ["valid", "::/0"],
  ["valid", "2001:db8::1/128"],
  ["valid", "2001:0db8:0000:0000:0000:0000:0000:0001/64"],
  ["valid", "2001:db8::/129"],
  ["valid", "2001:db8:::1/64"],
  ["valid", "2001:db8::1::2/64"],
  ["valid", "::ffff:10.0.0.1/104"],
  ["valid", "10.0.0.256/24"],
  ["valid", "1.2.3.04/24"], // leading zero: ambiguous (octal?), Go rejects it
  ["valid", "10.0.0.0/08"],
  ["valid", "10.0.0.0/+8"],
  ["valid", "10.0.0.0"],
  ["valid", " 10.0.0.0/8"],
  ["contains", "10.0.0.0/8", "10.255.255.255"],
  ["contains", "10.0.0.0/8", "11.0.0.0"],
  ["contains", "0.0.0.0/0", "255.255.255.255"],
  ["contains", "10.0.0.1/32", "10.0.0.1"],
  ["contains", "10.0.0.1/32", "10.0.0.2"],
  ["contains", "10.1.2.3/24", "10.1.2.200"],
  ["contains", "::/0", "ffff::1"],
  ["contains", "2001:db8::/32", "2001:0db8:ffff:0:0:0:0:1"],
  ["contains", "2001:db8::1/128", "2001:db8:0:0:0:0:0:1"],
  ["contains", "2001:db8::1/128", "2001:db8::2"],
  ["contains", "10.0.0.0/8", "::ffff:10.0.0.1"],
  ["contains", "::/0", "10.0.0.1"],
  ["contains", "10.0.0.0/8", "10.0.0.300"],
  ["range", "10.1.2.3/24"],
  ["range", "0.0.0.0/0"],
  ["range", "2001:0db8:0000:0000:0000:0000:0000:0001/64"],
  ["range", "::1/128"],
];

const specEntry = `
import { cidrContains, formatIp, isCidr, lastAddress, networkAddress, parseCidr } from ${JSON.stringify(join(ROOT, "packages/spec/src/ip.ts"))};
const answer = (fn) => { try { return String(fn()); } catch (e) { return "error"; } };
export function evaluate([op, cidr, ip]) {
  if (op === "valid") return answer(() => isCidr(cidr));
  if (op === "contains") return answer(() => cidrContains(cidr, ip));
  return answer(() => {
    const c = parseCidr(cidr);
    const net = networkAddress(c.ip, c.prefix);
    return formatIp(net) + " - " + formatIp(lastAddress(net, c.prefix));
  });
}
`;
const ipcidrEntry = `
import IPCIDR from "ip-cidr";
const answer = (fn) => { try { return String(fn()); } catch (e) { return "error"; } };
export function evaluate([op, cidr, ip]) {
  if (op === "valid") return answer(() => IPCIDR.isValidCIDR(cidr));
  if (op === "contains") return answer(() => new IPCIDR(cidr).contains(ip));
  return answer(() => new IPCIDR(cidr).toRange().join(" - "));
}
`;
// what a plugin would do on a call: parse its subnet and test one address
const callTail = `
if (process.argv[2] === "cases") process.stdout.write(JSON.stringify(JSON.parse(process.argv[3]).map(evaluate)));
else if (evaluate(["contains", "10.22.0.0/16", "10.22.3.4"]) !== "true") process.exit(1);
`;

const GO_MAIN = `package main

import (
	"encoding/json"
	"net"
	"os"
	"strconv"
)

func main() {
	var cases [][]string
	if err := json.Unmarshal([]byte(os.Args[1]), &cases); err != nil {
		panic(err)
	}
	out := []string{}
	for _, c := range cases {
		ip, n, err := net.ParseCIDR(c[1])
		switch c[0] {
		case "valid":
			out = append(out, strconv.FormatBool(err == nil))
		case "contains":
			x := net.ParseIP(c[2])
			if err != nil || x == nil {
				out = append(out, "error")
			} else {
				out = append(out, strconv.FormatBool(n.Contains(x)))
			}
		default:
			if err != nil {
				out = append(out, "error")
				continue
			}
			_ = ip
			last := make(net.IP, len(n.IP))
			for i := range n.IP {
				last[i] = n.IP[i] | ^n.Mask[i]
			}
			out = append(out, n.IP.String()+" - "+last.String())
		}
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
`;

const dir = mkdtempSync(join(tmpdir(), "ckb-ipcidr-"));
try {
  const bundle = async (name, source) => {
    const entry = join(dir, `${name}.mjs`);
    writeFileSync(entry, source + callTail);
    const outfile = join(dir, `${name}.cjs`);
    await build({
      entryPoints: [entry],
      outfile,
      bundle: true,
      platform: "node",
      format: "cjs",
      target: "node20",
      minify: true,
      treeShaking: true,
      nodePaths: [join(ROOT, "node_modules")],
      logLevel: "error",
    });
    return outfile;
  };
  const spec = await bundle("spec-ip", specEntry);
  const ipcidr = await bundle("ip-cidr", ipcidrEntry);
  const empty = join(dir, "empty.cjs");
  writeFileSync(empty, "");

  // correctness
  const casesArg = JSON.stringify(CASES);
  const run = (file) => {
    const r = spawnSync(process.execPath, [file, "cases", casesArg], { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`${file}: ${r.stderr}`);
    return JSON.parse(r.stdout);
  };
  const specAnswers = run(spec);
  const ipcidrAnswers = run(ipcidr);
  let goAnswers;
  const go = spawnSync("go", ["version"], { encoding: "utf8" });
  if (go.status === 0) {
    const goDir = join(dir, "go");
    spawnSync("mkdir", ["-p", goDir]);
    writeFileSync(join(goDir, "main.go"), GO_MAIN);
    const r = spawnSync("go", ["run", "main.go", casesArg], {
      cwd: goDir,
      encoding: "utf8",
      env: { ...process.env, GO111MODULE: "off", GOCACHE: join(dir, "gocache") },
    });
    if (r.status === 0) goAnswers = JSON.parse(r.stdout);
    else console.error(`go run failed: ${r.stderr}`);
  }
  const rows = CASES.map((c, i) => {
    const expected = goAnswers?.[i];
    const mark = (a) => (expected === undefined || a === expected ? a : `**${a}** ✗`);
    return [`${c[0]} ${c.slice(1).join(" ∋ ")}`, expected ?? "(no go)", mark(specAnswers[i]), mark(ipcidrAnswers[i])];
  });
  const wrong = (answers) => (goAnswers ? answers.filter((a, i) => a !== goAnswers[i]).length : Number.NaN);

  // start-up cost per call
  const subjects = [
    { name: "empty bundle", file: empty },
    { name: "@cnikit/spec ip.ts", file: spec },
    { name: "ip-cidr@4", file: ipcidr },
  ];
  const times = new Map(subjects.map((s) => [s.name, []]));
  const env = cleanEnv();
  for (const s of subjects) timedRun(process.execPath, [s.file], { env }); // warm the page cache
  for (let r = 0; r < rounds; r++) {
    for (const s of rotate(subjects, r)) {
      const t = timedRun(process.execPath, [s.file], { env });
      if (t.status !== 0) throw new Error(`${s.name}: exit ${t.status}: ${t.stderr}`);
      times.get(s.name).push(t.ms);
    }
  }
  const base = times.get("empty bundle");
  const startup = subjects.map((s) => {
    const t = times.get(s.name);
    const diffs = t.map((v, i) => v - base[i]);
    return { name: s.name, bundleKb: statSync(s.file).size / 1024, medianMs: median(t), overEmptyMs: median(diffs) };
  });

  if (asJson) {
    console.log(
      JSON.stringify(
        { rounds, cases: CASES, go: goAnswers, spec: specAnswers, ipcidr: ipcidrAnswers, startup },
        null,
        2,
      ),
    );
  } else {
    console.log(`# ip-cidr@4 vs @cnikit/spec's IP module (node ${process.version}, ${rounds} rounds)\n`);
    console.log(
      table(
        [
          "bundle (esbuild, cjs, minified)",
          "size KB",
          "node <bundle> median ms",
          "over the empty bundle (median of paired diffs) ms",
        ],
        startup.map((s) => [
          s.name,
          s.bundleKb.toFixed(1),
          ms(s.medianMs),
          s.name === "empty bundle" ? "–" : ms(s.overEmptyMs),
        ]),
      ),
    );
    console.log(
      `\nwrong answers against Go's net package: @cnikit/spec ${wrong(specAnswers)}, ip-cidr ${wrong(ipcidrAnswers)} of ${CASES.length}\n`,
    );
    console.log(table(["case", "Go net (expected)", "@cnikit/spec", "ip-cidr@4"], rows));
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
