/**
 * Extracts the fenced code samples of docs/*.md.
 *
 * Info-string grammar (the first word is the language GitHub highlights; the rest is ours):
 *
 *   ```ts                      type-checked, then imported (executed) by samples.test.ts
 *   ```ts file=plugin.ts       same, saved under that name so later samples of the same
 *                              guide can `import plugin from "./plugin.js"`
 *   ```ts vitest file=x.test.ts  a vitest test file: type-checked, then run by a child vitest
 *   ```ts no-run               type-checked only; the prose just before it says why it is not run
 *   ```sh                      executed with bash (cheap and safe commands only)
 *   ```sh no-run               not executed; the prose just before it says why
 *   ```json                    must parse as JSON
 *   ```yaml / ```text          shown only (manifests, terminal output)
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Languages a sample may use; anything else fails the docs tests (no untested ```bash etc.). */
export const KNOWN_LANGS = ["ts", "sh", "json", "yaml", "text"] as const;
export type SampleLang = (typeof KNOWN_LANGS)[number];

export interface Sample {
  /** The guide's file name, e.g. `errors.md`. */
  doc: string;
  /** 1-based line of the opening fence. */
  line: number;
  lang: string;
  /** Flags after the language (`no-run`, `vitest`). */
  flags: Set<string>;
  /** `file=` attribute, if any. */
  file: string | undefined;
  /** The code between the fences. */
  code: string;
  /** Up to 10 lines of text before the fence (for the no-run reason check). */
  before: string;
}

/** All guides: docs/*.md (not docs/api, which typedoc generates). */
export function guideFiles(docsDir: string): string[] {
  return readdirSync(docsDir)
    .filter((f) => f.endsWith(".md"))
    .sort();
}

/** Parses the fenced blocks of one markdown text. */
export function extractSamples(doc: string, text: string): Sample[] {
  const lines = text.split("\n");
  const out: Sample[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)(.*)$/.exec(lines[i] as string);
    if (!open) continue;
    const lang = open[1] as string;
    const words = (open[2] as string).trim().split(/\s+/).filter(Boolean);
    const flags = new Set(words.filter((w) => !w.includes("=")));
    const file = words.find((w) => w.startsWith("file="))?.slice(5);
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i] as string); i++) body.push(lines[i] as string);
    if (i >= lines.length) throw new Error(`${doc}:${start + 1}: unterminated code fence`);
    out.push({
      doc,
      line: start + 1,
      lang,
      flags,
      file,
      code: `${body.join("\n")}\n`,
      before: lines.slice(Math.max(0, start - 10), start).join("\n"),
    });
  }
  return out;
}

/** Every sample of every guide. */
export function allSamples(docsDir: string): Sample[] {
  return guideFiles(docsDir).flatMap((f) => extractSamples(f, readFileSync(join(docsDir, f), "utf8")));
}

/** Where a ts sample is written: `<doc>/<file>` or `<doc>/sample-<line>.ts`. */
export function sampleFileName(s: Sample): string {
  return s.file ?? `sample-L${s.line}.ts`;
}

/** The directory (under the samples root) holding one guide's samples. */
export function sampleDirName(s: Sample): string {
  return s.doc.replace(/\.md$/, "");
}

/** A readable label for test names and error messages. */
export function label(s: Sample): string {
  return `docs/${s.doc}:${s.line}${s.file ? ` (${s.file})` : ""}`;
}
