/**
 * `@cnikit/native`: the native layer of cnikit. libc through an FFI (koffi under Node, loaded
 * lazily and bundle-aware; `bun:ffi` under Bun), the libc bindings `@cnikit/ns` builds on (setns,
 * the netlink socket calls, errno names), `flock`, `posixSpawn` (a Spawner that does not fork the
 * Node process) and the fast exit `@cnikit/skel` uses after the reply. Importing it loads nothing
 * native: the FFI is loaded by the first call that needs it.
 *
 * @packageDocumentation
 */
export { nativeBackend } from "./backend.js";
export { loadKoffi } from "./koffi.js";
export type { Koffi } from "./koffi.js";
export {
  checkSyscall,
  errnoName,
  flock,
  getLibc,
  getSocketLibc,
  lastErrno,
  SyscallError,
} from "./libc.js";
export type { AsyncLibcFunction, FlockMode, FlockOptions, Libc, LibcFunction, SocketLibc } from "./libc.js";
export { posixSpawn, posixSpawnAvailable } from "./spawn.js";
export type { SpawnOutcome, SpawnRequest, Spawner } from "./spawn.js";
export { fastExit } from "./fast-exit.js";
export { errnoNumbers, fileOps, joinPath } from "./files.js";
export type { DirEntry, FileConstants, FileOps, FileStat, OpenFlagString } from "./files.js";
