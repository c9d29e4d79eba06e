// Parse Mermaid diagrams with Mermaid's own parser, as GitHub's renderer would.
// Reads a JSON array of diagram texts on stdin; prints a JSON array of
// {"ok": true, "type": "..."} or {"ok": false, "error": "..."}, one per diagram.
import { JSDOM } from "jsdom";

// Mermaid sanitises labels with DOMPurify, which needs a DOM.
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window;
globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");

let input = "";
for await (const chunk of process.stdin) input += chunk;
const results = [];
for (const text of JSON.parse(input)) {
  try {
    const parsed = await mermaid.parse(text);
    results.push({ ok: true, type: parsed.diagramType });
  } catch (error) {
    results.push({ ok: false, error: String(error.message ?? error).split("\n").slice(0, 4).join(" ") });
  }
}
process.stdout.write(JSON.stringify(results));
