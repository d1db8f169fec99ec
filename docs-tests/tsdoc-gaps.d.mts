// Types of tsdoc-gaps.mjs for the TypeScript tests that import it.

/** A gap category of the report. */
export type GapCategory = "summary" | "example" | "typeExample" | "throws" | "spec" | "anchor" | "member";

/** The gaps of one package: how many exports were checked, and the gaps per category. */
export interface PackageGaps {
  exports: number;
  gaps: Record<GapCategory, string[]>;
}

/** The documented packages and their entry points. */
export const PACKAGES: Readonly<Record<string, readonly string[]>>;

/** Gap categories with their report titles. */
export const CATEGORIES: Readonly<Record<GapCategory, string>>;

/** Collects the gaps of one package (or of a directory with a `src/`). */
export function packageGaps(pkg: string, where?: { dir?: string; entries?: readonly string[] }): PackageGaps;

/** Collects the gaps of the given packages (default: all). */
export function tsdocGaps(packages?: readonly string[]): { total: number; packages: Record<string, PackageGaps> };
