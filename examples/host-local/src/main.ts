/** The host-local executable. */
import plugin from "./plugin.js";

await plugin.main();
