/**
 * The `cnikit` executable (bin). See `cnikit --help`.
 */
import { runCli } from "./cli-main.js";

process.exitCode = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
});
