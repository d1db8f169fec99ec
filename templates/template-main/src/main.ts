// The executable's entry: runs the plugin against this process (env, stdin, stdout).
// `npm run build` bundles it into dist/__PLUGIN_NAME__.
import plugin from "./plugin.js";

void plugin.main();
