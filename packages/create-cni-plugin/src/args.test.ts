import { describe, expect, it } from "vitest";
import { parseCliArgs, UsageError } from "./args.js";

describe("parseCliArgs", () => {
  it("reads the directory and every flag", () => {
    expect(
      parseCliArgs(["dir", "--template", "ipam", "--name", "x", "--no-install", "--overwrite", "--no-interactive"]),
    ).toEqual({ targetDir: "dir", template: "ipam", name: "x", install: false, overwrite: true, interactive: false, help: false, version: false });
  });
  it("knows short flags and = syntax", () => {
    expect(parseCliArgs(["-t", "meta", "-n=y", "-h"])).toMatchObject({ template: "meta", name: "=y", help: true });
    expect(parseCliArgs(["--template=meta", "--install"])).toMatchObject({ template: "meta", install: true });
  });
  it("leaves unset flags undefined", () => {
    expect(parseCliArgs([])).toEqual({ help: false, version: false });
  });
  it.each([
    [["--bogus"], /Unknown option '--bogus'/],
    [["a", "b"], /at most one directory/],
    [["--template"], /argument missing/],
    [["--install", "--no-install"], /contradict/],
  ])("rejects %j", (argv, msg) => {
    expect(() => parseCliArgs(argv)).toThrow(UsageError);
    expect(() => parseCliArgs(argv)).toThrow(msg);
  });
});
