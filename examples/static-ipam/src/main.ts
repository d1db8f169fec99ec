/** The static-ipam executable. */
import { createStaticIpamPlugin } from "./plugin.js";

await createStaticIpamPlugin().main();
