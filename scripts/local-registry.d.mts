// Types of local-registry.mjs for the TypeScript tests that import it.

/** The repository root. */
export const REPO: string;

/** A running private registry (verdaccio on 127.0.0.1). */
export interface LocalRegistry {
  /** Its URL, with a trailing slash: `http://127.0.0.1:<port>/`. */
  url: string;
  /** verdaccio's process id. */
  pid: number | undefined;
  /** Its directory: config, storage, log, the npm config files and the npm cache. */
  dir: string;
  /** The consumer's npm config file (`registry`, `cache`): point NPM_CONFIG_USERCONFIG at it. */
  npmrc: string;
  /** The publisher's npm config file (`registry` and a token). */
  publishNpmrc: string;
  /** verdaccio's log file. */
  log: string;
  /** Settles when verdaccio exits, with its exit code or signal. */
  exited: Promise<number | string | null>;
  /** Ends verdaccio by its pid (and removes `dir` when startRegistry created it). */
  stop(): Promise<void>;
}

/** Starts verdaccio on a free loopback port, storage in `dir` (default: a new temporary directory). */
export function startRegistry(options?: { dir?: string | undefined; timeoutMs?: number | undefined }): Promise<LocalRegistry>;

/** One publishable workspace package. */
export interface WorkspacePackage {
  name: string;
  version: string;
  dir: string;
}

/** Every packages/* whose package.json is not private. */
export function workspacePackages(repo?: string): WorkspacePackage[];

/** `pnpm -r publish` to the registry; returns the published `name@version`s. */
export function publishWorkspace(registry: LocalRegistry, repo?: string): Promise<string[]>;
