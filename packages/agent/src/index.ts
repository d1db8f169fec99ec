/**
 * `@cnikit/agent`: agent mode for cnikit plugins. `cnikit-agent serve` keeps built plugins warm
 * in one daemon and serves each on a root-only unix socket; the static C shim that
 * `cnikit-build --agent` installs under the plugin's name forwards a CNI call to it, or execs the
 * usual plugin when no daemon runs. See packages/agent/README.md for the wire protocol.
 *
 * @packageDocumentation
 */
export { requestAgent } from "./client.js";
export { loadAgentPlugin, type ServedPlugin } from "./load-plugin.js";
export { AGENT_PROTOCOL, type AgentRequest, type AgentResponse, encodeAgentRequest } from "./protocol.js";
export { AGENT_NODE_FLAGS, type AgentCliIo, AGENT_USAGE, runAgentCli } from "./run-cli.js";
export {
  type AgentLogEntry,
  type AgentPluginStats,
  type AgentServeOptions,
  type AgentServer,
  serveAgent,
} from "./serve.js";
export { type AgentSocketStatus, queryAgentStatus } from "./status.js";
