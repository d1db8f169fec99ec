/**
 * resolv.conf parsing into a CNI `DNS` object, as Go host-local's `resolvConf` option does.
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#add-success
 */
import { fileOps } from "@cnikit/native";
import { CniError, type DNS, ErrorCode } from "@cnikit/spec";

/**
 * Parses resolv.conf text: `nameserver` (one per line), `domain` (last wins), `search` and
 * `options` (all words, accumulated). Lines starting with `#` or `;` and lines with fewer than two
 * words are skipped. Empty fields are left out.
 *
 * @example parseResolvConfText("nameserver 10.0.0.10\nsearch a.svc b.svc\n")
 * // { nameservers: ["10.0.0.10"], search: ["a.svc", "b.svc"] }
 */
export function parseResolvConfText(text: string): DNS {
  let domain: string | undefined;
  const nameservers: string[] = [];
  const search: string[] = [];
  const options: string[] = [];
  for (const rawLine of text.split("\n")) {
    const line = rawLine.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const fields = line.split(/\s+/);
    if (fields.length < 2) continue;
    const [keyword, first] = fields as [string, string];
    switch (keyword) {
      case "nameserver":
        nameservers.push(first);
        break;
      case "domain":
        domain = first;
        break;
      case "search":
        search.push(...fields.slice(1));
        break;
      case "options":
        options.push(...fields.slice(1));
        break;
    }
  }
  const dns: DNS = {};
  if (nameservers.length > 0) dns.nameservers = nameservers;
  if (domain !== undefined) dns.domain = domain;
  if (search.length > 0) dns.search = search;
  if (options.length > 0) dns.options = options;
  return dns;
}

/**
 * Reads and parses a resolv.conf file (see {@link parseResolvConfText}).
 *
 * @throws CniError code 999 with the system error (`open /x: no such file or directory` in Go's words).
 * @example parseResolvConf("/etc/resolv.conf").nameservers
 */
export function parseResolvConf(path: string): DNS {
  let text: string;
  try {
    text = fileOps.readFileSync(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === "ENOENT" ? "no such file or directory" : code === "EACCES" ? "permission denied" : (err as Error).message;
    throw new CniError(ErrorCode.Internal, `open ${path}: ${reason}`, undefined, { cause: err });
  }
  return parseResolvConfText(text);
}
