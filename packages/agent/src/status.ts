/**
 * `queryAgentStatus`: asks every socket in a directory for its status.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { requestAgent } from "./client.js";
import { AGENT_PROTOCOL } from "./protocol.js";

/**
 * The status one socket answered (or why it did not).
 *
 * @example
 * const s: AgentSocketStatus = (await queryAgentStatus("/run/cnikit"))[0]!;
 */
export interface AgentSocketStatus {
  /** The socket path. */
  readonly socket: string;
  /** The daemon's answer: name, plugin, version, cniVersions, pid, requests, inProcess, failures, inFlight, refused, rssBytes... */
  readonly status?: Readonly<Record<string, unknown>> | undefined;
  /** Why the socket did not answer. */
  readonly error?: string | undefined;
}

/**
 * Sends a status request to each `*.sock` in `socketDir`.
 *
 * @example
 * for (const s of await queryAgentStatus("/run/cnikit")) console.log(s.socket, s.status?.requests);
 * @throws Error when the directory cannot be read.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-2-execution-protocol
 */
export async function queryAgentStatus(socketDir: string, timeoutMs = 5000): Promise<AgentSocketStatus[]> {
  const sockets = readdirSync(socketDir)
    .filter((f) => f.endsWith(".sock"))
    .sort()
    .map((f) => join(socketDir, f));
  return Promise.all(
    sockets.map(async (socket): Promise<AgentSocketStatus> => {
      try {
        const r = await requestAgent(
          socket,
          { type: AGENT_PROTOCOL.status, env: {}, stdin: Buffer.alloc(0) },
          timeoutMs,
        );
        if (r.type !== AGENT_PROTOCOL.status) return { socket, error: r.stdout.trim() || `answer type ${r.type}` };
        return { socket, status: JSON.parse(r.stdout) as Record<string, unknown> };
      } catch (err) {
        return { socket, error: (err as Error).message };
      }
    }),
  );
}
