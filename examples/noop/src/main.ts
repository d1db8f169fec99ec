/** The noop executable: skel reads stdin, asks the debug file for the versions, and exits. */
import { createNoopPlugin } from "./plugin.js";

await createNoopPlugin().main();
