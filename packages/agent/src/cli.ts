// The `cnikit-agent` bin (bundled by tsup with a node shebang): see run-cli.ts.
import { runAgentCli } from "./run-cli.js";

const code = await runAgentCli(process.argv.slice(2));
// a served plugin may leave handles behind (netlink sockets, timers): the daemon is done
process.exit(code);
