// Loaded by tests/test_look.py into a page that holds each content document of a book in an
// iframe as wide as a phone's page. Once every frame has loaded, it measures every element of
// each document's body (in document order: the test finds them with lxml by the same order)
// and writes the results as JSON into <pre id="measurements">, which `chromium --dump-dom` prints.
"use strict";

const STYLES = [
  "display", "direction", "textAlign", "textIndent", "fontSize", "fontWeight", "fontStyle",
  "textDecorationLine", "verticalAlign", "backgroundColor", "marginLeft", "marginRight",
  "paddingLeft", "paddingRight", "overflowWrap", "wordBreak", "whiteSpace",
];

function box(rect) {
  return [rect.left, rect.right, rect.top, rect.bottom].map((n) => Math.round(n * 10) / 10);
}

function textExtent(doc, element) {
  // Where the element's text is drawn: the union of its line boxes (null without text).
  const range = doc.createRange();
  range.selectNodeContents(element);
  const rects = Array.from(range.getClientRects()).filter((rect) => rect.width > 0);
  if (!rects.length) return null;
  return box({
    left: Math.min(...rects.map((r) => r.left)),
    right: Math.max(...rects.map((r) => r.right)),
    top: Math.min(...rects.map((r) => r.top)),
    bottom: Math.max(...rects.map((r) => r.bottom)),
  });
}

function measure(frame) {
  const win = frame.contentWindow;
  const doc = frame.contentDocument;
  const root = doc.documentElement;
  const elements = [];
  for (const element of doc.body.querySelectorAll("*")) {
    const style = win.getComputedStyle(element);
    const styles = {};
    for (const name of STYLES) styles[name] = style[name];
    elements.push({
      tag: element.localName,
      box: box(element.getBoundingClientRect()),
      scrollWidth: element.scrollWidth,
      clientWidth: element.clientWidth,
      text: textExtent(doc, element),
      style: styles,
    });
  }
  return { width: root.clientWidth, scrollWidth: root.scrollWidth, elements };
}

function run(documents, width, height) {
  const results = {};
  let pending = documents.length;
  for (const name of documents) {
    const frame = document.createElement("iframe");
    frame.style.cssText = `width:${width}px;height:${height}px;border:0;display:block`;
    frame.addEventListener("load", () => {
      try {
        results[name] = measure(frame);
      } catch (error) {
        results[name] = { error: String(error) };
      }
      pending -= 1;
      if (pending === 0) {
        const out = document.createElement("pre");
        out.id = "measurements";
        out.textContent = JSON.stringify(results);
        document.body.appendChild(out);
      }
    });
    frame.src = name;
    document.body.appendChild(frame);
  }
}
