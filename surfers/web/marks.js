// Set-of-marks support for m1's WebSurfer. Evaluated before every
// observation; it installs window.__m1 once per document, so the ids it hands
// out stay the same while the page lives (a new document starts again at 10).
(() => {
  if (window.__m1) return;

  const ROLES = new Set([
    "button", "link", "checkbox", "radio", "menuitem", "menuitemcheckbox",
    "menuitemradio", "option", "tab", "switch", "textbox", "searchbox",
    "combobox", "listbox", "slider", "spinbutton", "scrollbar", "treeitem",
    "gridcell", "columnheader", "rowheader", "radiogroup", "tablist", "tree",
    "grid", "menu",
  ]);
  const TEXT_INPUTS = new Set([
    "", "text", "search", "email", "url", "tel", "password", "number",
    "date", "datetime-local", "month", "time", "week",
  ]);
  const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "SVG", "svg", "IFRAME", "OBJECT", "CANVAS"]);
  const BLOCK = /^(block|flex|grid|list-item|table|flow-root)/;

  const m = { next: 10, byId: new Map(), ids: new WeakMap() };

  const clean = (s, n) => {
    s = (s || "").replace(/\s+/g, " ").trim();
    return n && s.length > n ? s.slice(0, n - 1) + "…" : s;
  };

  function idOf(el) {
    let id = m.ids.get(el);
    if (id === undefined) {
      id = m.next++;
      m.ids.set(el, id);
      m.byId.set(id, el);
    }
    return id;
  }

  function allElements(root, out) {
    for (const el of root.querySelectorAll("*")) {
      out.push(el);
      if (el.shadowRoot) allElements(el.shadowRoot, out);
    }
    return out;
  }

  function roleOf(el) {
    const explicit = (el.getAttribute("role") || "").trim().split(/\s+/)[0];
    if (explicit) return explicit;
    const tag = el.tagName.toLowerCase();
    switch (tag) {
      case "a": return "link";
      case "button": case "summary": return "button";
      case "select": return el.multiple ? "listbox" : "combobox";
      case "textarea": return "textbox";
      case "input": {
        const t = (el.type || "").toLowerCase();
        if (t === "checkbox" || t === "radio") return t;
        if (["submit", "button", "reset", "image"].includes(t)) return "button";
        if (t === "range") return "slider";
        if (t === "number") return "spinbutton";
        if (t === "search") return "searchbox";
        if (t === "file") return "button";
        return "textbox";
      }
    }
    if (el.isContentEditable) return "textbox";
    return tag;
  }

  function isTextEntry(el) {
    const tag = el.tagName;
    if (tag === "TEXTAREA") return true;
    if (tag === "INPUT") return TEXT_INPUTS.has((el.getAttribute("type") || "").toLowerCase()) || TEXT_INPUTS.has(el.type);
    if (el.isContentEditable) return true;
    const r = el.getAttribute("role");
    return r === "textbox" || r === "searchbox" || (r === "combobox" && tag === "INPUT");
  }

  function nameOf(el) {
    let s = el.getAttribute("aria-label") || "";
    if (!s) {
      const by = el.getAttribute("aria-labelledby");
      if (by) s = by.split(/\s+/).map((id) => (document.getElementById(id) || {}).innerText || "").join(" ");
    }
    if (!s && el.labels && el.labels.length) s = Array.from(el.labels).map((l) => l.innerText).join(" ");
    const tag = el.tagName;
    if (!s && (tag === "INPUT" || tag === "TEXTAREA")) {
      const t = (el.type || "").toLowerCase();
      s = el.placeholder || (["submit", "button", "reset"].includes(t) ? el.value : "") || el.getAttribute("title") || el.name || "";
    }
    if (!s && tag === "SELECT") s = el.getAttribute("title") || el.name || "";
    if (!s) s = el.innerText || el.textContent || "";
    if (!s) s = el.getAttribute("title") || el.getAttribute("alt") || "";
    if (!s) {
      const img = el.querySelector && el.querySelector("img[alt]");
      if (img) s = img.alt;
    }
    return clean(s, 100);
  }

  function interactive(el, st, cursorOf) {
    const tag = el.tagName;
    if (tag === "A") return el.hasAttribute("href") || el.hasAttribute("onclick");
    if (tag === "BUTTON" || tag === "SELECT" || tag === "TEXTAREA" || tag === "SUMMARY") return true;
    if (tag === "INPUT") return el.type !== "hidden";
    if (el.hasAttribute("onclick")) return true;
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable)) return true;
    const ti = el.getAttribute("tabindex");
    if (ti !== null && parseInt(ti, 10) >= 0) return true;
    if (ROLES.has((el.getAttribute("role") || "").trim())) return true;
    if (st.cursor === "pointer") {
      const p = el.parentElement;
      return !p || cursorOf(p) !== "pointer";
    }
    return false;
  }

  function visibleRects(el, st) {
    if (st.visibility === "hidden" || st.display === "none" || st.opacity === "0") return [];
    const out = [];
    for (const r of el.getClientRects()) {
      if (r.width > 1 && r.height > 1) out.push(r);
    }
    return out;
  }

  function inView(r) {
    return r.bottom > 0 && r.right > 0 && r.top < innerHeight && r.left < innerWidth;
  }

  // hit reports whether the element is what a click at its visible part
  // would reach, so covered elements are not offered.
  function hit(el, r) {
    const x0 = Math.max(r.left, 0), x1 = Math.min(r.right, innerWidth);
    const y0 = Math.max(r.top, 0), y1 = Math.min(r.bottom, innerHeight);
    const pts = [[(x0 + x1) / 2, (y0 + y1) / 2], [x0 + 2, y0 + 2], [x1 - 2, y1 - 2]];
    for (const [x, y] of pts) {
      let h = document.elementFromPoint(x, y);
      while (h && h.shadowRoot) {
        const inner = h.shadowRoot.elementFromPoint(x, y);
        if (!inner || inner === h) break;
        h = inner;
      }
      if (!h) continue;
      if (h === el || el.contains(h) || h.contains(el)) return true;
      // A label or an ancestor sharing the element's interactivity counts.
      if (el.labels && Array.from(el.labels).some((l) => l === h || l.contains(h))) return true;
    }
    return false;
  }

  function targets() {
    const styles = new Map();
    const styleOf = (el) => {
      let s = styles.get(el);
      if (!s) { s = getComputedStyle(el); styles.set(el, s); }
      return s;
    };
    const cursorOf = (el) => styleOf(el).cursor;
    const out = [];
    for (const el of allElements(document, [])) {
      const st = styleOf(el);
      if (!interactive(el, st, cursorOf)) continue;
      const rects = visibleRects(el, st);
      if (!rects.length) continue;
      const vis = rects.filter(inView);
      const inViewport = vis.length > 0 && vis.some((r) => hit(el, r));
      if (vis.length > 0 && !inViewport) continue; // covered by something else
      const role = roleOf(el);
      let tools = ["click", "hover"];
      if (el.tagName === "SELECT") tools = ["select_option"];
      else if (isTextEntry(el)) tools = ["input_text"];
      const t = {
        id: idOf(el), name: nameOf(el), role, tools, vp: inViewport,
        rects: (inViewport ? vis : rects).map((r) => [r.left, r.top, r.width, r.height]),
      };
      if (el.tagName === "SELECT") {
        const o = el.selectedOptions && el.selectedOptions[0];
        if (o) t.value = clean(o.text, 80);
      } else if ((el.tagName === "INPUT" || el.tagName === "TEXTAREA") && el.type !== "password" && isTextEntry(el) && el.value) {
        t.value = clean(el.value, 80);
      } else if (el.type === "checkbox" || el.type === "radio") {
        t.value = el.checked ? "checked" : "unchecked";
      }
      out.push(t);
    }
    return out;
  }

  // markdown renders the visible text of the page (or only of the viewport)
  // as markdown, keeping links.
  function markdown(viewportOnly) {
    const out = [];
    const vh = innerHeight, vw = innerWidth;
    const range = document.createRange();
    const textInView = (node) => {
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (inView(r)) return true;
      return false;
    };
    const walk = (node, pre, fully) => {
      for (let c = node.firstChild; c; c = c.nextSibling) {
        if (c.nodeType === 3) {
          let t = c.nodeValue;
          if (!pre) t = t.replace(/\s+/g, " ");
          if (!t) continue;
          if (viewportOnly && !fully && t.trim() && !textInView(c)) continue;
          out.push(t);
          continue;
        }
        if (c.nodeType !== 1 || SKIP.has(c.tagName)) continue;
        const tag = c.tagName;
        if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") continue;
        const st = getComputedStyle(c);
        if (st.display === "none" || st.visibility === "hidden") continue;
        let inside = fully;
        if (viewportOnly && !fully) {
          const r = c.getBoundingClientRect();
          if (r.width > 0 && r.height > 0) {
            // Boxes wholly outside the viewport are skipped with their
            // subtree; children drawn outside their parent's box are rare.
            if (r.bottom <= 0 || r.top >= vh || r.right <= 0 || r.left >= vw) continue;
            inside = r.top >= 0 && r.bottom <= vh && r.left >= 0 && r.right <= vw;
          }
        }
        const block = BLOCK.test(st.display);
        const root = c.shadowRoot || c;
        if (/^H[1-6]$/.test(tag)) {
          const start = out.length;
          walk(root, false, inside);
          const text = out.splice(start).join("").replace(/\s+/g, " ").trim();
          if (text) out.push("\n\n" + "#".repeat(+tag[1]) + " " + text + "\n\n");
        } else if (tag === "A" && c.hasAttribute("href")) {
          const start = out.length;
          walk(root, false, inside);
          const text = out.splice(start).join("").replace(/\s+/g, " ").trim();
          const href = c.href;
          if (!text) continue;
          if (/^https?:|^file:|^ftp:/.test(href) && href.length < 500) out.push("[" + text.replace(/[\[\]]/g, "") + "](" + href + ")");
          else out.push(text);
          if (block) out.push("\n");
        } else if (tag === "BR") {
          out.push("\n");
        } else if (tag === "IMG") {
          const alt = clean(c.alt, 120);
          if (alt) out.push(" ![" + alt.replace(/[\[\]]/g, "") + "] ");
        } else if (tag === "LI") {
          out.push("\n- ");
          walk(root, false, inside);
        } else if (tag === "TR") {
          out.push("\n| ");
          walk(root, false, inside);
          out.push("\n");
        } else if (tag === "TD" || tag === "TH") {
          walk(root, false, inside);
          out.push(" | ");
        } else if (tag === "PRE") {
          out.push("\n```\n");
          walk(root, true, inside);
          out.push("\n```\n");
        } else if (tag === "B" || tag === "STRONG") {
          const start = out.length;
          walk(root, pre, inside);
          const text = out.splice(start).join("").trim();
          if (text) out.push("**" + text + "**");
        } else if (block) {
          out.push("\n");
          walk(root, pre, inside);
          out.push("\n");
        } else {
          walk(root, pre, inside);
        }
      }
    };
    if (document.body) walk(document.body, false, false);
    return out.join("")
      .replace(/[ \t]+\n/g, "\n")
      .replace(/\n[ \t]+/g, "\n")
      .replace(/[ \t]{2,}/g, " ")
      .replace(/\n{3,}/g, "\n\n")
      .trim();
  }

  function metrics() {
    const de = document.documentElement;
    const b = document.body;
    return {
      url: location.href,
      title: document.title,
      scrollX: scrollX, scrollY: scrollY,
      vw: innerWidth, vh: innerHeight,
      pageHeight: Math.max(de ? de.scrollHeight : 0, b ? b.scrollHeight : 0, innerHeight),
      pageWidth: Math.max(de ? de.scrollWidth : 0, b ? b.scrollWidth : 0, innerWidth),
      ready: document.readyState,
    };
  }

  m.observe = (withText) => {
    const o = metrics();
    o.targets = targets();
    if (withText) o.text = markdown(true);
    const f = document.activeElement;
    if (f && f !== document.body && m.ids.has(f)) o.focused = m.ids.get(f);
    return JSON.stringify(o);
  };

  m.fullText = () => JSON.stringify(Object.assign(metrics(), { text: markdown(false) }));

  // prepare brings a target into view and tells where to click it and what
  // it is, so the caller can ask for approval before acting.
  m.prepare = (id) => {
    const el = m.byId.get(id);
    if (!el) return JSON.stringify({ ok: false, reason: "unknown" });
    if (!el.isConnected) return JSON.stringify({ ok: false, reason: "gone" });
    const st = getComputedStyle(el);
    let rects = visibleRects(el, st);
    if (!rects.length) return JSON.stringify({ ok: false, reason: "hidden" });
    if (!rects.some(inView)) {
      el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      rects = visibleRects(el, st);
    }
    const r = rects.find(inView) || rects[0];
    const x0 = Math.max(r.left, 0), x1 = Math.min(r.right, innerWidth);
    const y0 = Math.max(r.top, 0), y1 = Math.min(r.bottom, innerHeight);
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute("type") || (tag === "button" ? "submit" : "")).toLowerCase();
    const form = el.form || (el.closest && el.closest("form"));
    const submits = !!form && ((tag === "button" && type === "submit") || (tag === "input" && (type === "submit" || type === "image")));
    return JSON.stringify({
      ok: true, x: (x0 + x1) / 2, y: (y0 + y1) / 2, tag, type,
      name: nameOf(el), role: roleOf(el), submits,
      href: el.href || "", download: el.hasAttribute && el.hasAttribute("download"),
      text: isTextEntry(el), select: tag === "select",
      newTab: !!(el.target && !["_self", "_top", "_parent"].includes(el.target)),
    });
  };

  // focusForTyping focuses a text field and selects its content, so the
  // text the caller inserts next replaces it.
  m.focusForTyping = (id) => {
    const el = m.byId.get(id);
    if (!el || !el.isConnected) return false;
    el.focus();
    if (typeof el.select === "function") {
      el.select();
    } else if (el.isContentEditable) {
      const sel = getSelection();
      const r = document.createRange();
      r.selectNodeContents(el);
      sel.removeAllRanges();
      sel.addRange(r);
    }
    return true;
  };

  m.selectOption = (id, want) => {
    const el = m.byId.get(id);
    if (!el || !el.isConnected) return JSON.stringify({ ok: false, reason: "gone" });
    if (el.tagName !== "SELECT") return JSON.stringify({ ok: false, reason: "notselect" });
    const opts = Array.from(el.options);
    const w = clean(want).toLowerCase();
    const o = opts.find((o) => clean(o.text).toLowerCase() === w || o.value.toLowerCase() === w) ||
      opts.find((o) => clean(o.text).toLowerCase().includes(w));
    if (!o) return JSON.stringify({ ok: false, reason: "nooption", options: opts.map((o) => clean(o.text, 80)) });
    el.focus();
    el.value = o.value;
    o.selected = true;
    el.dispatchEvent(new Event("input", { bubbles: true }));
    el.dispatchEvent(new Event("change", { bubbles: true }));
    return JSON.stringify({ ok: true, chosen: clean(o.text, 80) });
  };

  window.__m1 = m;
})();
