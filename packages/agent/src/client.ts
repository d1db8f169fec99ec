/**
 * One request to a `cnikit-agent` socket from Node: what `cnikit-agent status` and the tests use.
 */
import { createConnection } from "node:net";
import { type AgentRequest, type AgentResponse, decodeResponse } from "./protocol.js";
import { encodeAgentRequest } from "./protocol.js";

/**
 * Sends one request frame to the agent socket at `socketPath` and resolves with its response.
 *
 * @example
 * const r = await requestAgent("/run/cnikit/bridge.sock", { type: AGENT_PROTOCOL.status, env: {}, stdin: Buffer.alloc(0) });
 * JSON.parse(r.stdout).requests;
 * @throws Error when the socket cannot be reached, closes before a whole response, or the
 *   deadline (`timeoutMs`, default 5000) passes.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export function requestAgent(
  socketPath: string,
  request: AgentRequest | Buffer,
  timeoutMs = 5000,
): Promise<AgentResponse> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = createConnection({ path: socketPath, allowHalfOpen: true });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    socket.on("connect", () => {
      socket.end(Buffer.isBuffer(request) ? request : encodeAgentRequest(request));
    });
    socket.on("data", (c: Buffer) => chunks.push(c));
    socket.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on("end", () => {
      clearTimeout(timer);
      socket.destroy();
      const r = decodeResponse(Buffer.concat(chunks));
      if (r) resolve(r);
      else reject(new Error(`${socketPath}: closed before a whole response`));
    });
  });
}
