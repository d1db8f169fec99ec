/**
 * The templates the scaffolder offers. This one array drives the template
 * prompt, `--help` and the validation of `--template`.
 */
export interface TemplateInfo {
  /** Value of `--template`. */
  readonly name: string;
  /** Folder under `templates/` (and `dist/templates/` once built). */
  readonly folder: string;
  /** Short label shown in the prompt. */
  readonly title: string;
  /** One line saying what the generated plugin does. */
  readonly description: string;
}

/**
 * Every template, in the order the prompt shows them.
 *
 * @example
 * ```ts
 * TEMPLATES.map((t) => t.name); // ["main", "ipam", "meta"]
 * ```
 */
export const TEMPLATES: readonly TemplateInfo[] = [
  {
    name: "main",
    folder: "template-main",
    title: "Interface plugin",
    description: "creates the container's interface: veth pair on a bridge, addresses from a delegated IPAM plugin",
  },
  {
    name: "ipam",
    folder: "template-ipam",
    title: "IPAM plugin",
    description: "hands out addresses from a subnet, stored host-local compatible under /var/lib/cni/networks",
  },
  {
    name: "meta",
    folder: "template-meta",
    title: "Chained (meta) plugin",
    description: "runs after another plugin, reads prevResult and tunes the container interface (MTU, sysctls)",
  },
] as const;

/** The template used when none is given and no prompt can be shown. */
export const DEFAULT_TEMPLATE = "main";

/**
 * Finds a template by its `--template` name.
 *
 * @example
 * ```ts
 * findTemplate("ipam")?.folder; // "template-ipam"
 * ```
 */
export function findTemplate(name: string): TemplateInfo | undefined {
  return TEMPLATES.find((t) => t.name === name || t.folder === name);
}
