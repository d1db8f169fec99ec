/** A package manager the scaffolder knows how to talk about. */
export interface PackageManager {
  readonly name: "npm" | "pnpm" | "yarn" | "bun";
  /** Version from the user agent, if given. */
  readonly version?: string;
}

/**
 * Detects the package manager that launched us from `npm_config_user_agent`
 * (set by npm, pnpm, yarn and bun: `"pnpm/9.1.0 npm/? node/v20.11.0 linux x64"`).
 * Falls back to npm.
 *
 * @example
 * ```ts
 * detectPackageManager("pnpm/9.1.0 npm/? node/v20.11.0 linux x64"); // { name: "pnpm", version: "9.1.0" }
 * ```
 */
export function detectPackageManager(userAgent: string | undefined): PackageManager {
  const first = userAgent?.split(" ")[0];
  if (!first) return { name: "npm" };
  const slash = first.lastIndexOf("/");
  const name = slash > 0 ? first.slice(0, slash) : first;
  const version = slash > 0 ? first.slice(slash + 1) : undefined;
  if (name === "npm" || name === "pnpm" || name === "yarn" || name === "bun") {
    return version ? { name, version } : { name };
  }
  return { name: "npm" };
}

/**
 * The commands to print in "next steps" (and to run for the install).
 *
 * @example
 * ```ts
 * commandsFor({ name: "pnpm" }).run("build"); // "pnpm run build"
 * ```
 */
export function commandsFor(pm: PackageManager): {
  install: [string, ...string[]];
  run: (script: string) => string;
} {
  switch (pm.name) {
    case "yarn":
      return { install: ["yarn"], run: (s) => `yarn ${s}` };
    case "pnpm":
      return { install: ["pnpm", "install"], run: (s) => `pnpm run ${s}` };
    case "bun":
      return { install: ["bun", "install"], run: (s) => `bun run ${s}` };
    default:
      return { install: ["npm", "install"], run: (s) => `npm run ${s}` };
  }
}
