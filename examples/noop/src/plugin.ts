/**
 * noop: a CNI plugin that does nothing to the network and does what its debug file says
 * (see debug.ts). Without a debug file ADD echoes prevResult (or an empty result) and the
 * other commands succeed: handy as a harmless link in a chain.
 */
import {
  type AddResult,
  type CniVersionsCall,
  CniError,
  definePlugin,
  ErrorCode,
  type Plugin,
  type PluginContext,
  RawReply,
} from "@cnikit/skel";
import { ALL_VERSIONS } from "@cnikit/spec";
import { appendCommandLog, type Debug, debugFilePath, readDebug, writeDebug } from "./debug.js";

/**
 * The versions to claim: the debug file's `reportVersionSupport` when it lists some, else every
 * released version. An unreadable debug file is reported by the handler, not here.
 */
function claimedVersions({ env, config }: CniVersionsCall): readonly string[] {
  try {
    const file = debugFilePath(env.CNI_ARGS ?? "", config);
    const versions = file ? readDebug(file).reportVersionSupport : undefined;
    if (Array.isArray(versions) && versions.length > 0) return versions.map(String);
  } catch {
    // the handler reads the file again and fails with its error
  }
  return ALL_VERSIONS;
}

/** Builds the plugin. */
export function createNoopPlugin(): Plugin {
  /** Records the call and acts on the debug file; a RawReply (`exitWithCode`) ends the call. */
  function behave(ctx: PluginContext): Debug | undefined {
    const file = debugFilePath(ctx.rawArgs, ctx.config);
    const commandLog = typeof ctx.config.commandLog === "string" ? ctx.config.commandLog : undefined;
    if (!file) {
      if (commandLog) appendCommandLog(commandLog, logEntry(ctx));
      ctx.log.info("CNI_ARGS DEBUG= or config debugFile empty, no debug behavior");
      return undefined;
    }
    const debug = readDebug(file);
    debug.command = ctx.command;
    debug.cmdArgs = {
      containerId: ctx.containerId,
      netns: ctx.netns,
      ifName: ctx.ifName,
      args: ctx.rawArgs,
      path: ctx.path.join(":"),
      stdin: ctx.stdin,
    };
    writeDebug(file, debug);
    const log = commandLog ?? (typeof debug.commandLog === "string" ? debug.commandLog : undefined);
    if (log) appendCommandLog(log, logEntry(ctx));
    if (debug.reportStderr) process.stderr.write(debug.reportStderr);
    if (typeof debug.exitWithCode === "number" && debug.exitWithCode > 0) {
      throw new RawReply({ exitCode: debug.exitWithCode });
    }
    if (debug.reportError) {
      const code =
        typeof debug.reportErrorCode === "number" && debug.reportErrorCode > 0
          ? debug.reportErrorCode
          : ErrorCode.Internal;
      throw new CniError(code, debug.reportError);
    }
    return debug;
  }

  return definePlugin({
    name: "noop",
    version: "0.1.0",
    cniVersions: claimedVersions,
    add(ctx): AddResult | RawReply {
      const debug = behave(ctx);
      const empty = { cniVersion: ctx.config.cniVersion || "0.1.0" };
      const report = debug?.reportResult;
      if (report === "PASSTHROUGH" || report === "INJECT-DNS" || !report) {
        const prev = ctx.prevResult;
        if (!prev) return empty;
        if (report === "INJECT-DNS") return { ...prev, dns: { ...prev.dns, nameservers: ["1.2.3.4"] } };
        return prev;
      }
      return new RawReply({ stdout: report });
    },
    del: (ctx) => void behave(ctx),
    check: (ctx) => void behave(ctx),
    status: (ctx) => void behave(ctx),
    gc: (ctx) => void behave(ctx),
  });
}

function logEntry(ctx: PluginContext): Record<string, unknown> {
  return {
    time: new Date().toISOString(),
    command: ctx.command,
    containerId: ctx.containerId,
    ifName: ctx.ifName,
    netns: ctx.netns,
    network: ctx.config.name,
    type: ctx.config.type,
  };
}
