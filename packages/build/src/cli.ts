// The `cnikit-build` bin (bundled by tsup with a node shebang): see run-cli.ts.
import { runCli } from "./run-cli.js";

process.exitCode = await runCli(process.argv.slice(2));
