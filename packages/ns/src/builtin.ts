/**
 * Loads a Node built-in module synchronously on first use, so modules that are seldom needed
 * (`node:crypto`: 4-5 ms to load) stay off a plugin's start-up path.
 */
import { createRequire } from "node:module";

/**
 * The built-in module `name` (`process.getBuiltinModule` on Node ≥ 20.16, else `require`).
 * The fallback needs no `import.meta` (empty in CommonJS bundles) nor a global `require`
 * (absent in ES modules): built-ins resolve from any base path, so `process.execPath` serves.
 *
 * @example
 * const { createHash } = builtin<typeof import("node:crypto")>("node:crypto");
 * @throws Error when `name` is not a built-in module.
 * @internal
 */
export function builtin<T>(name: string): T {
  const get = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (typeof get === "function") {
    const mod = get.call(process, name);
    if (mod !== undefined) return mod as T;
  }
  return createRequire(process.execPath)(name) as T;
}
