/**
 * The `bridge` executable: serves one CNI call from the environment and stdin.
 */
import { createBridgePlugin } from "./plugin.js";

await createBridgePlugin().main();
