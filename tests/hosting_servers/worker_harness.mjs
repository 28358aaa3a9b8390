// Runs a generated Cloudflare Worker (module syntax) under Node.js 18+, whose global Request
// and Response are the same Fetch API the Workers runtime provides.
// Usage: node worker_harness.mjs WORKER.mjs '[{"method": "GET", "url": "https://host/path"}, ...]'
// Prints one JSON array: status, content type and body text of each response.
import { pathToFileURL } from "node:url";

const [workerPath, requestsJson] = process.argv.slice(2);
const worker = (await import(pathToFileURL(workerPath).href)).default;
const results = [];
for (const spec of JSON.parse(requestsJson)) {
  const response = await worker.fetch(new Request(spec.url, { method: spec.method }), {}, {});
  results.push({
    status: response.status,
    contentType: response.headers.get("content-type"),
    body: await response.text(),
  });
}
process.stdout.write(JSON.stringify(results));
