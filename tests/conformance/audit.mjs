// Run graphql-http's GraphQL-over-HTTP server audits against one URL and print the results as JSON.
//
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints [{"id", "name", "status", "reason"}, ...] on standard output, one entry per audit;
// status is "ok", "error" (a failed MUST), "warn" (a failed SHOULD) or "notice" (a failed MAY).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url || !url.startsWith('http://127.0.0.1:')) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}

// The audits run one after another, so the server's log reads in order.
const results = [];
for (const { fn } of serverAudits({ url })) {
  const result = await fn();
  results.push({ id: result.id, name: result.name, status: result.status, reason: result.reason ?? null });
}
process.stdout.write(JSON.stringify(results, null, 2) + '\n');
