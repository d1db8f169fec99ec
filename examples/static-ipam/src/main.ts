/** The static-ipam executable. */
import plugin from "./plugin.js";

await plugin.main();
