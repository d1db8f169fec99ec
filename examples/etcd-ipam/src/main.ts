/** The etcd-ipam executable. */
import { createEtcdIpamPlugin } from "./plugin.js";

await createEtcdIpamPlugin().main();
