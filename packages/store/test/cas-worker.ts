/**
 * A CAS increment worker for the multi-process test: `node cas-worker.mjs <store-url> <id> <count>`.
 * Each increment reads `counter`, then in one transaction (compare the counter's mod revision)
 * writes counter+1 and `inc/<n>` = `<id>-<k>`; a failed comparison is retried
 * with a fresh read after a jittered backoff.
 */
import { openStore } from "../src/index.js";

const [url, id, count] = process.argv.slice(2) as [string, string, string];
const store = await openStore(url);
let conflicts = 0;
for (let k = 0; k < Number(count); k++) {
  for (;;) {
    const kv = await store.get("counter");
    const n = Number(kv?.value ?? "0") + 1;
    const r = await store.txn({
      compare: [{ key: "counter", target: "mod", op: "==", value: kv?.modRevision ?? 0 }],
      success: [
        { type: "put", key: "counter", value: String(n) },
        { type: "put", key: `inc/${String(n).padStart(6, "0")}`, value: `${id}-${k}` },
      ],
    });
    if (r.succeeded) break;
    conflicts++;
    // jittered backoff, as any CAS client under contention
    await new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(2 ** conflicts, 50)));
  }
}
await store.close();
process.stdout.write(JSON.stringify({ conflicts }));
