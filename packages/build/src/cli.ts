// The `cnikit-build` bin (bundled by tsup with a node shebang): see run-cli.ts.
import { runBuildCli } from "./run-cli.js";

process.exitCode = await runBuildCli(process.argv.slice(2));
