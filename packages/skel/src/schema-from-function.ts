/**
 * A Standard Schema made of a plain validation function, so a plugin that checks its config by
 * hand (no schema library on the start-up path) still validates it once, through the
 * definition's `config` hook, and gets the typed value in `ctx.config`.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-1-network-configuration-format
 */
import { CniError, type StandardSchemaV1 } from "@cnikit/spec";

/**
 * Turns `validate(raw) => value` into a Standard Schema for `definePlugin({ config })` (or
 * `args`). `validate` receives the decoded JSON and returns the typed value (defaults applied,
 * as it likes). A `CniError` it throws reaches the runtime unchanged (its code and message are
 * the plugin's own); any other error becomes a schema issue, which skel reports as code 7
 * `network config is invalid` with the message in `details`.
 *
 * @example
 * ```ts
 * const config = schemaFromFunction((raw) => {
 *   const mtu = (raw as { mtu?: unknown }).mtu ?? 1500;
 *   if (typeof mtu !== "number") throw new CniError(ErrorCode.InvalidNetworkConfig, `"mtu" must be a number`);
 *   return { mtu };
 * });
 * const plugin = definePlugin({ name: "demo", version: "1.0.0", cniVersions: ["1.1.0"], config, add: ({ config }) => ({ ips: [] }) });
 * // in a handler: config.mtu is a number
 * ```
 * @throws (from the schema's `validate`) the `CniError` that `validate` throws.
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#section-1-network-configuration-format
 */
export function schemaFromFunction<T>(validate: (raw: unknown) => T): StandardSchemaV1<unknown, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "cnikit",
      validate(value: unknown) {
        try {
          return { value: validate(value) };
        } catch (err) {
          if (err instanceof CniError) throw err;
          return { issues: [{ message: err instanceof Error ? err.message : String(err) }] };
        }
      },
    },
  };
}
