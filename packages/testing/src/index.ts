/**
 * `@cnikit/testing`: fixtures for testing CNI plugins against real network namespaces.
 * Runner-agnostic (vitest, node:test, ...): failures are thrown as `AssertionError`s
 * with readable messages. Needs root and iproute2.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md
 */
export { uniqueName, MAX_LINK_NAME } from "./names.js";
export type { NetnsRef } from "./netns-ref.js";
export { netnsPath } from "./netns-ref.js";
export { createTempNetns, withTempNetns, removeAllTempNetns, liveTempNetns } from "./temp-netns.js";
export type { TempNetns, CreateTempNetnsOptions } from "./temp-netns.js";
export { runCommand, runCommandOrThrow } from "./exec.js";
export type { CommandOutput, RunCommandOptions } from "./exec.js";
export { runPlugin, expectPluginSuccess, expectPluginError, PluginRunError } from "./run-plugin.js";
export type { RunPluginOptions, PluginRun, PluginOutcome, PluginCommand } from "./run-plugin.js";
export { createConflistRunner } from "./conflist.js";
export type { ConflistRunner, ConflistRunnerOptions, AttachmentOptions } from "./conflist.js";
export { HOST_NETNS, listLinks, findLink, listAddresses, listRoutes } from "./observe.js";
export type { ObservedLink, ObservedAddress, ObservedRoute } from "./observe.js";
export {
  expectLink,
  expectNoLink,
  expectAddress,
  expectNoAddress,
  expectRoute,
  expectNoRoute,
  NetworkAssertionError,
} from "./assertions.js";
export type { LinkExpectation, RouteExpectation } from "./assertions.js";
export { ping, expectPing, expectNoPing } from "./ping.js";
export type { PingOptions, PingOutcome } from "./ping.js";
export { findPlugin, defaultPluginDirs } from "./find-plugin.js";
export { createCleanup, removeHostLink } from "./cleanup.js";
export type { CleanupStack } from "./cleanup.js";
export { Scratch } from "./scratch.js";
export type { ScratchOptions } from "./scratch.js";
export { listHostLocalLeases } from "./host-local-leases.js";
