/**
 * The `overlay` executable: serves one CNI call from the environment and stdin.
 */
import plugin from "./plugin.js";

await plugin.main();
