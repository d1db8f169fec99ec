/** The host-local executable. */
import { createHostLocalPlugin } from "./plugin.js";

await createHostLocalPlugin().main();
