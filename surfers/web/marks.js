// Set-of-marks support for m1's WebSurfer. It runs in an isolated world of
// each frame the surfer reads (the page's own scripts cannot see or fake
// it) and installs window.__m1 once per document, so the ids it hands out
// stay the same while the document lives (a new document starts again at
// 10). Ids are local to the frame; the surfer maps them to the ids the model
// sees.
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
  const SKIP = new Set(["SCRIPT", "STYLE", "NOSCRIPT", "TEMPLATE", "HEAD", "SVG", "svg", "OBJECT", "CANVAS", "EMBED"]);
  const FRAMES = new Set(["IFRAME", "FRAME"]);
  const BLOCK = /^(block|flex|grid|list-item|table|flow-root)/;
  // MAX_URL is the longest link address shown whole in the text; longer
  // ones (search engines' redirect links run to 400 characters) are cut,
  // since the model clicks links by id and the address only says where a
  // link goes.
  const MAX_URL = 100;
  // MAX_OFFSCREEN is how many off-screen targets are returned, nearest
  // first.
  const MAX_OFFSCREEN = 30;

  const m = {
    next: 10, byId: new Map(), ids: new WeakMap(), frames: new WeakMap(),
    muts: 0, doc: Math.random().toString(36).slice(2),
  };
  // The document's version: any change to it, its scroll or size. An
  // observation taken at one version can be reused while it holds.
  new MutationObserver(() => { m.muts++; }).observe(document, { subtree: true, childList: true, attributes: true, characterData: true });
  addEventListener("scroll", () => { m.muts++; }, { capture: true, passive: true });
  addEventListener("resize", () => { m.muts++; }, { passive: true });

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

  // parentOf steps out of shadow roots.
  const parentOf = (el) => el.parentElement || (el.parentNode && el.parentNode.host) || null;

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
    // innerText is the rendered text: hidden template text does not count.
    if (!s) s = el.innerText || "";
    if (!s) s = el.getAttribute("title") || el.getAttribute("alt") || "";
    if (!s) {
      const img = el.querySelector && el.querySelector("img[alt], svg[aria-label]");
      if (img) s = img.getAttribute("alt") || img.getAttribute("aria-label") || "";
    }
    return clean(s, 100);
  }

  // basicInteractive tells from tag and attributes alone, without styles.
  function basicInteractive(el) {
    const tag = el.tagName;
    if (tag === "A") return el.hasAttribute("href") || el.hasAttribute("onclick");
    if (tag === "BUTTON" || tag === "SELECT" || tag === "TEXTAREA" || tag === "SUMMARY") return true;
    if (tag === "INPUT") return el.type !== "hidden";
    if (el.hasAttribute("onclick")) return true;
    if (el.isContentEditable && !(el.parentElement && el.parentElement.isContentEditable)) return true;
    const ti = el.getAttribute("tabindex");
    if (ti !== null && parseInt(ti, 10) >= 0) return true;
    return ROLES.has((el.getAttribute("role") || "").trim());
  }

  function visibleRects(el, st) {
    if (st.visibility === "hidden" || st.display === "none" || st.opacity === "0") return [];
    const out = [];
    for (const r of el.getClientRects()) {
      if (r.width > 1 && r.height > 1) out.push(r);
    }
    return out;
  }

  const viewport = () => ({ l: 0, t: 0, r: innerWidth, b: innerHeight });
  const meet = (a, b) => ({ l: Math.max(a.l, b.l), t: Math.max(a.t, b.t), r: Math.min(a.r, b.r), b: Math.min(a.b, b.b) });
  const empty = (c) => c.r - c.l < 1 || c.b - c.t < 1;
  const box = (r) => ({ l: r.left, t: r.top, r: r.right, b: r.bottom });

  // clipper returns a function giving the part of the viewport an element
  // can show in: its ancestors that clip overflow (carousels, collapsed
  // menus, scroll boxes) cut it down. Fixed elements escape their
  // ancestors' clips. Results are kept per element for one pass.
  function clipper(styleOf) {
    const memo = new Map();
    const clipOf = (el) => {
      if (!el || el === document.documentElement || el === document.body) return viewport();
      let c = memo.get(el);
      if (c) return c;
      const st = styleOf(el);
      if (st.position === "fixed") {
        c = viewport();
      } else {
        c = clipOf(parentOf(el));
        if (st.overflowX !== "visible" || st.overflowY !== "visible") {
          const r = el.getBoundingClientRect();
          const own = { l: r.left + el.clientLeft, t: r.top + el.clientTop, r: r.left + el.clientLeft + el.clientWidth, b: r.top + el.clientTop + el.clientHeight };
          c = meet(c, {
            l: st.overflowX === "visible" ? -Infinity : own.l, r: st.overflowX === "visible" ? Infinity : own.r,
            t: st.overflowY === "visible" ? -Infinity : own.t, b: st.overflowY === "visible" ? Infinity : own.b,
          });
        }
      }
      memo.set(el, c);
      return c;
    };
    // The clip an element shows in is its parent's (its own overflow
    // clips only its children).
    return (el) => clipOf(parentOf(el));
  }

  // topAt is the element a click at (x, y) reaches, inside shadow roots.
  function topAt(x, y) {
    let h = document.elementFromPoint(x, y);
    while (h && h.shadowRoot) {
      const inner = h.shadowRoot.elementFromPoint(x, y);
      if (!inner || inner === h) break;
      h = inner;
    }
    return h;
  }

  // reaches reports whether a click at (x, y) lands on el: el itself, a
  // descendant, or one of its labels. An ancestor at the point means el is
  // not there (clipped, scrolled away or transparent to the pointer).
  function reaches(el, x, y) {
    const h = topAt(x, y);
    if (!h) return false;
    if (h === el || el.contains(h)) return true;
    for (let p = h; p; p = parentOf(p)) if (p === el) return true;
    return !!(el.labels && Array.from(el.labels).some((l) => l === h || l.contains(h)));
  }

  // hitPoint finds a point where a click reaches el within the visible
  // part c of its rect, or null.
  function hitPoint(el, c) {
    const pts = [[(c.l + c.r) / 2, (c.t + c.b) / 2], [c.l + 2, c.t + 2], [c.r - 2, c.b - 2], [c.l + 2, c.b - 2], [c.r - 2, c.t + 2]];
    for (const [x, y] of pts) if (reaches(el, x, y)) return [x, y];
    return null;
  }

  function targets() {
    const styles = new Map();
    const styleOf = (el) => {
      let s = styles.get(el);
      if (!s) { s = getComputedStyle(el); styles.set(el, s); }
      return s;
    };
    const clipOf = clipper(styleOf);
    const vh = innerHeight, vw = innerWidth;
    const inView = [];
    const off = [];
    for (const el of allElements(document, [])) {
      if (SKIP.has(el.tagName)) continue;
      const basic = basicInteractive(el);
      const r = el.getBoundingClientRect();
      if (r.width <= 1 && r.height <= 1 && !basic) continue;
      // Only what meets the viewport is looked at closely (styles, hit
      // tests), so those costs follow what the viewport holds; the one box
      // read per element still grows with the page (a look at the 40,000
      // elements of testdata/sites/huge.html is BenchmarkObserve/huge).
      // Off-screen elements are candidates by their tag alone, checked
      // below for the few that are listed.
      if (r.bottom <= 0 || r.top >= vh || r.right <= 0 || r.left >= vw) {
        if (basic) off.push({ el, dist: r.top > 0 ? r.top - vh : -r.bottom });
        continue;
      }
      const st = styleOf(el);
      if (!basic) {
        if (st.cursor !== "pointer") continue;
        const p = parentOf(el);
        if (p && styleOf(p).cursor === "pointer") continue;
      }
      const rects = visibleRects(el, st);
      if (!rects.length) continue;
      const clip = meet(clipOf(el), viewport());
      let vis = null;
      let point = null;
      for (const rr of rects) {
        const c = meet(box(rr), clip);
        if (empty(c)) continue;
        point = hitPoint(el, c);
        if (point) { vis = c; break; }
      }
      if (vis) {
        inView.push({ el, rects: rects.map((rr) => meet(box(rr), clip)).filter((c) => !empty(c)) });
        continue;
      }
      // In the viewport but not reachable there: covered or clipped away.
      const inVp = rects.some((rr) => !empty(meet(box(rr), viewport())));
      if (inVp) continue;
      off.push({ el, dist: r.top > 0 ? r.top - vh : -r.bottom });
    }
    off.sort((a, b) => a.dist - b.dist);
    const listed = [];
    for (let i = 0; i < off.length && listed.length < MAX_OFFSCREEN && i < 20 * MAX_OFFSCREEN; i++) {
      if (visibleRects(off[i].el, styleOf(off[i].el)).length) listed.push(off[i]);
    }
    const describe = (el, vp, rects) => {
      const role = roleOf(el);
      let tools = ["click", "hover"];
      if (el.tagName === "SELECT") tools = ["select_option"];
      else if (isTextEntry(el)) tools = ["input_text"];
      const t = { id: idOf(el), name: nameOf(el), role, tools, vp };
      if (rects) t.rects = rects.map((c) => [c.l, c.t, c.r - c.l, c.b - c.t]);
      if (el.tagName === "SELECT") {
        const o = el.selectedOptions && el.selectedOptions[0];
        if (o) t.value = clean(o.text, 80);
      } else if ((el.tagName === "INPUT" || el.tagName === "TEXTAREA") && el.type !== "password" && isTextEntry(el) && el.value) {
        t.value = clean(el.value, 80);
      } else if (el.type === "checkbox" || el.type === "radio") {
        t.value = el.checked ? "checked" : "unchecked";
      }
      return t;
    };
    const out = inView.map((t) => describe(t.el, true, t.rects));
    for (const o of listed) out.push(describe(o.el, false, null));
    return { targets: out, offscreen: off.length };
  }

  // shortURL keeps an address readable: whole when short, else its origin
  // and the start of its path.
  function shortURL(href) {
    if (href.length <= MAX_URL) return href;
    try {
      const u = new URL(href);
      const rest = (u.pathname + u.search).slice(0, 40);
      return u.origin + rest + "…";
    } catch (e) {
      return href.slice(0, MAX_URL) + "…";
    }
  }

  // markdown renders the visible text of the page (or only of the
  // viewport) as markdown, keeping links, with frames the surfer reads as
  // placeholders it fills in.
  function markdown(viewportOnly) {
    const out = [];
    const styles = new Map();
    const styleOf = (el) => {
      let s = styles.get(el);
      if (!s) { s = getComputedStyle(el); styles.set(el, s); }
      return s;
    };
    const vp = viewport();
    const range = document.createRange();
    const textShown = (node, clip) => {
      range.selectNodeContents(node);
      for (const r of range.getClientRects()) if (!empty(meet(box(r), clip))) return true;
      return false;
    };
    // walk visits the children of node; clip is where they can show
    // (viewport-only mode), fully says the node is wholly inside it.
    const walk = (node, pre, fully, clip) => {
      // A slot shows the light-DOM nodes assigned to it, not its own
      // fallback children.
      let kids = null;
      if (node.tagName === "SLOT") {
        const a = node.assignedNodes({ flatten: true });
        if (a.length) kids = a;
      }
      const each = kids || node.childNodes;
      for (const c of each) {
        if (c.nodeType === 3) {
          let t = c.nodeValue;
          if (!pre) t = t.replace(/\s+/g, " ");
          if (!t) continue;
          if (viewportOnly && !fully && t.trim() && !textShown(c, clip)) continue;
          out.push(t);
          continue;
        }
        if (c.nodeType !== 1 || SKIP.has(c.tagName)) continue;
        const tag = c.tagName;
        if (tag === "INPUT" || tag === "SELECT" || tag === "TEXTAREA") continue;
        let inside = fully;
        let r = null;
        if (viewportOnly && !fully) {
          r = c.getBoundingClientRect();
          if (r.width > 0 && r.height > 0) {
            // Boxes wholly outside the visible area are skipped with
            // their subtree, before any style is read.
            // (A fixed box, which has no offsetParent, shows wherever it
            // is.)
            if (empty(meet(box(r), clip)) && !(c.offsetParent === null && styleOf(c).position === "fixed")) continue;
          }
        }
        const st = styleOf(c);
        if (st.display === "none" || st.visibility === "hidden") continue;
        if (FRAMES.has(tag)) {
          const key = m.frames.get(c);
          if (key !== undefined) out.push("\n\u0000F" + key + "\u0000\n");
          continue;
        }
        let cclip = clip;
        if (viewportOnly) {
          if (st.position === "fixed") cclip = vp;
          if (st.overflowX !== "visible" || st.overflowY !== "visible") {
            r = r || c.getBoundingClientRect();
            const own = { l: r.left + c.clientLeft, t: r.top + c.clientTop, r: r.left + c.clientLeft + c.clientWidth, b: r.top + c.clientTop + c.clientHeight };
            cclip = meet(cclip, {
              l: st.overflowX === "visible" ? -Infinity : own.l, r: st.overflowX === "visible" ? Infinity : own.r,
              t: st.overflowY === "visible" ? -Infinity : own.t, b: st.overflowY === "visible" ? Infinity : own.b,
            });
            inside = false;
          } else if (!fully && r && r.width > 0 && r.height > 0) {
            inside = r.top >= cclip.t && r.bottom <= cclip.b && r.left >= cclip.l && r.right <= cclip.r;
          }
        }
        const block = BLOCK.test(st.display);
        const root = c.shadowRoot || c;
        const sub = () => walk(root, pre || tag === "PRE", inside, cclip);
        if (/^H[1-6]$/.test(tag)) {
          const start = out.length;
          sub();
          const text = out.splice(start).join("").replace(/\s+/g, " ").trim();
          if (text) out.push("\n\n" + "#".repeat(+tag[1]) + " " + text + "\n\n");
        } else if (tag === "A" && c.hasAttribute("href")) {
          const start = out.length;
          sub();
          // Headings and bold inside a link read as its text.
          const text = out.splice(start).join("").replace(/\s+/g, " ").replace(/(^|\s)#{1,6} /g, "$1").replace(/\*\*/g, "").trim();
          const href = c.href;
          if (!text) continue;
          if (/^https?:|^ftp:/.test(href)) out.push("[" + text.replace(/[\[\]]/g, "") + "](" + shortURL(href) + ")");
          else out.push(text);
          if (block) out.push("\n");
        } else if (tag === "BR") {
          out.push("\n");
        } else if (tag === "IMG") {
          const alt = clean(c.alt, 120);
          if (alt) out.push(" ![" + alt.replace(/[\[\]]/g, "") + "] ");
        } else if (tag === "LI") {
          out.push("\n- ");
          sub();
        } else if (tag === "TR") {
          out.push("\n| ");
          sub();
          out.push("\n");
        } else if (tag === "TD" || tag === "TH") {
          sub();
          out.push(" | ");
        } else if (tag === "PRE") {
          out.push("\n```\n");
          walk(root, true, inside, cclip);
          out.push("\n```\n");
        } else if (tag === "B" || tag === "STRONG") {
          const start = out.length;
          sub();
          const text = out.splice(start).join("").trim();
          if (text) out.push("**" + text + "**");
        } else if (block) {
          out.push("\n");
          sub();
          out.push("\n");
        } else {
          sub();
        }
      }
    };
    if (document.body) walk(document.body, false, false, vp);
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
      type: document.contentType,
      version: m.doc + ":" + m.muts,
    };
  }

  m.version = () => m.doc + ":" + m.muts;

  m.observe = (withText) => {
    const o = metrics();
    const t = targets();
    o.targets = t.targets;
    o.offscreen = t.offscreen;
    if (withText) o.text = markdown(true);
    const f = document.activeElement;
    if (f && f !== document.body && m.ids.has(f)) o.focused = m.ids.get(f);
    o.version = m.doc + ":" + m.muts;
    return JSON.stringify(o);
  };

  m.fullText = () => JSON.stringify(Object.assign(metrics(), { text: markdown(false) }));

  // frameBox registers the frame element el under key (the text shows the
  // frame's content at its place) and tells where its content shows: the
  // content box in this frame's viewport, the part of it that is visible
  // (clipped by the viewport and by ancestors), and whether a click at
  // that part's centre reaches the frame (it is not covered).
  m.frameBox = (el, key, scroll) => {
    m.frames.set(el, key);
    const st = getComputedStyle(el);
    if (scroll) {
      const r0 = el.getBoundingClientRect();
      if (r0.bottom < 0 || r0.top > innerHeight || r0.right < 0 || r0.left > innerWidth) {
        el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      }
    }
    const r = el.getBoundingClientRect();
    const x = r.left + el.clientLeft + (parseFloat(st.paddingLeft) || 0);
    const y = r.top + el.clientTop + (parseFloat(st.paddingTop) || 0);
    const w = Math.max(0, el.clientWidth - (parseFloat(st.paddingLeft) || 0) - (parseFloat(st.paddingRight) || 0));
    const h = Math.max(0, el.clientHeight - (parseFloat(st.paddingTop) || 0) - (parseFloat(st.paddingBottom) || 0));
    const shown = st.display !== "none" && st.visibility !== "hidden" && st.opacity !== "0";
    const styleOf = (e) => getComputedStyle(e);
    const clip = meet(meet(clipper(styleOf)(el), viewport()), { l: x, t: y, r: x + w, b: y + h });
    let hit = false;
    if (shown && !empty(clip)) {
      const cx = (clip.l + clip.r) / 2, cy = (clip.t + clip.b) / 2;
      hit = topAt(cx, cy) === el;
    }
    return JSON.stringify({ x, y, w, h, shown, hit, clip: empty(clip) ? null : [clip.l, clip.t, clip.r, clip.b] });
  };

  // hitsFrame reports, for each point (in this frame's viewport), whether
  // the frame element el is what a click there reaches.
  m.hitsFrame = (el, pts) => JSON.stringify(pts.map(([x, y]) => topAt(x, y) === el));

  // clippedForGood reports whether an ancestor that hides its overflow
  // (not one that scrolls) cuts el off entirely: a carousel slide not
  // shown, a closed menu. Scrolling such a box into place would do what no
  // user can.
  function clippedForGood(el) {
    const r = el.getBoundingClientRect();
    for (let p = parentOf(el); p && p !== document.body && p !== document.documentElement; p = parentOf(p)) {
      const st = getComputedStyle(p);
      const hides = (v) => v === "hidden" || v === "clip";
      if (!hides(st.overflowX) && !hides(st.overflowY)) continue;
      const pr = p.getBoundingClientRect();
      const b = { left: pr.left + p.clientLeft, top: pr.top + p.clientTop, right: pr.left + p.clientLeft + p.clientWidth, bottom: pr.top + p.clientTop + p.clientHeight };
      if ((hides(st.overflowX) && (r.right <= b.left + 1 || r.left >= b.right - 1)) || (hides(st.overflowY) && (r.bottom <= b.top + 1 || r.top >= b.bottom - 1))) return true;
    }
    return false;
  }

  // prepare brings a target into view and tells where to click it and what
  // it is, so the caller can ask for approval before acting. It says when
  // the target is covered at that point (and by what), or hidden from
  // assistive technology.
  m.prepare = (id) => {
    const el = m.byId.get(id);
    if (!el) return JSON.stringify({ ok: false, reason: "unknown" });
    if (!el.isConnected) return JSON.stringify({ ok: false, reason: "gone" });
    const st = getComputedStyle(el);
    let rects = visibleRects(el, st);
    if (!rects.length) return JSON.stringify({ ok: false, reason: "hidden" });
    const clipOf = clipper((e) => getComputedStyle(e));
    const visible = () => rects.map((r) => meet(box(r), meet(clipOf(el), viewport()))).filter((c) => !empty(c));
    let vis = visible();
    if (!vis.length && !clippedForGood(el)) {
      el.scrollIntoView({ block: "center", inline: "center", behavior: "instant" });
      rects = visibleRects(el, st);
      vis = visible();
    }
    const tag = el.tagName.toLowerCase();
    const type = (el.getAttribute("type") || (tag === "button" ? "submit" : "")).toLowerCase();
    const form = el.form || (el.closest && el.closest("form"));
    const submits = !!form && ((tag === "button" && type === "submit") || (tag === "input" && (type === "submit" || type === "image")));
    const res = {
      ok: true, tag, type,
      name: nameOf(el), role: roleOf(el), submits,
      href: el.href || "", download: !!(el.hasAttribute && el.hasAttribute("download")),
      text: isTextEntry(el), select: tag === "select",
      newTab: !!(el.target && !["_self", "_top", "_parent"].includes(el.target)),
      ariaHidden: !!(el.closest && el.closest('[aria-hidden="true"]')),
    };
    if (!vis.length) {
      // Clipped away for good (a hidden carousel slide, a closed menu).
      res.ok = false;
      res.reason = "clipped";
      return JSON.stringify(res);
    }
    let point = null;
    for (const c of vis) { point = hitPoint(el, c); if (point) break; }
    if (!point) {
      const c = vis[0];
      point = [(c.l + c.r) / 2, (c.t + c.b) / 2];
      const h = topAt(point[0], point[1]);
      res.covered = h ? (nameOf(h) || h.tagName.toLowerCase()) : "something";
    }
    res.x = point[0];
    res.y = point[1];
    return JSON.stringify(res);
  };

  // focusForTyping focuses a text field and selects its content, so the
  // text the caller inserts next replaces it.
  m.focusForTyping = (id) => {
    const el = m.byId.get(id);
    if (!el || !el.isConnected) return "false";
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
    return "true";
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

  // element returns the target's element, for the surfer's other calls.
  m.element = (id) => m.byId.get(id) || null;

  window.__m1 = m;
})();
