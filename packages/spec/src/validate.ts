/**
 * Validation of container IDs, interface names and network names with the Go library's
 * rules, codes and messages (runtimes and users grep for these texts).
 *
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#parameters
 */
import { CniError, ErrorCode } from "./errors.js";

const ID_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/**
 * Checks a container ID (CNI_CONTAINERID): non-empty, starting with a letter or digit, then
 * letters, digits, `_`, `.` or `-`.
 *
 * @throws CniError code 3 `missing containerID` when empty, code 4
 * `invalid characters in containerID` (details = the ID) when malformed.
 * @example validateContainerId("a51debf7e1eb");
 */
export function validateContainerId(containerId: string): void {
  if (containerId === "") throw new CniError(ErrorCode.UnknownContainer, "missing containerID");
  if (!ID_PATTERN.test(containerId)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "invalid characters in containerID", containerId);
  }
}

/**
 * Checks a network name (the config's `name`) with the container-ID rules.
 *
 * @throws CniError code 7 `missing network name:` when empty, or
 * `invalid characters found in network name` (details = the name).
 * @example validateNetworkName("mynet");
 * @see https://github.com/containernetworking/cni/blob/main/SPEC.md#configuration-format
 */
export function validateNetworkName(name: string): void {
  if (name === "") throw new CniError(ErrorCode.InvalidNetworkConfig, "missing network name:");
  if (!ID_PATTERN.test(name)) {
    throw new CniError(ErrorCode.InvalidNetworkConfig, "invalid characters found in network name", name);
  }
}

/**
 * Linux interface-name rules: non-empty, at most 15 bytes, not `.`/`..`, no `/`, `:` or whitespace.
 * @throws CniError code 4 with Go's messages.
 * @example validateInterfaceName("eth0");
 */
export function validateInterfaceName(ifName: string): void {
  if (ifName === "") throw new CniError(ErrorCode.InvalidEnvironmentVariables, "interface name is empty");
  if (Buffer.byteLength(ifName) > 15) {
    throw new CniError(
      ErrorCode.InvalidEnvironmentVariables,
      "interface name is too long",
      "interface name should be less than 16 characters",
    );
  }
  if (ifName === "." || ifName === "..") {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "interface name is . or ..");
  }
  if (/[/:\s]/u.test(ifName)) {
    throw new CniError(ErrorCode.InvalidEnvironmentVariables, "interface name contains / or : or whitespace characters");
  }
}
