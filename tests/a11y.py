"""Accessibility checks run inside a browser page, for the browser tests.

`problems(page)` evaluates one script in the page (Playwright's `page.evaluate`) and returns
what a keyboard or screen-reader user, or a reader with low vision, would trip over, one
sentence each naming the element: `<html lang>` missing, not exactly one `<h1>`, a form control,
button or link without an accessible name, an image without alt, a data table without headers,
and text whose contrast against the background behind it is below WCAG 2.1 AA (4.5:1, or 3:1
for large text: 24 px, or 18.66 px bold). Colours are resolved by the browser itself (a 1x1
canvas), so any CSS colour syntax works; semi-transparent backgrounds are blended over the
nearest opaque one. `skip_link_problems(page)` checks the keyboard path into the content: the
first Tab from the top lands on the skip link, and Enter on it moves focus to `#main`.

The checks read the rendered page rather than the templates, so they see what the browser shows
(hidden elements and text inside an SVG drawing are left out: a drawing's words are checked
through its label).
"""

from __future__ import annotations

from typing import Any

# WCAG 2.1 AA minimum contrast ratios.
NORMAL_TEXT = 4.5
LARGE_TEXT = 3.0

_SCRIPT = """
({normal, large}) => {
  const out = [];
  const describe = (el) => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    const cls = (el.getAttribute('class') || '').trim().split(/\\s+/).filter(Boolean);
    if (cls.length) s += '.' + cls.slice(0, 3).join('.');
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    return text ? `${s} "${text}"` : s;
  };
  const shown = (el) => {
    if (!el.getClientRects().length) return false;
    const st = getComputedStyle(el);
    if (st.visibility === 'hidden' || st.display === 'none') return false;
    return !el.closest('[hidden], [aria-hidden="true"]');
  };
  const srOnly = (el) => !!el.closest('.visually-hidden');
  const textOf = (ids) => ids.split(/\\s+/).map((id) => {
    const ref = document.getElementById(id);
    return ref ? (ref.textContent || '').trim() : '';
  }).join(' ').trim();
  const ownName = (el) => {
    const label = el.getAttribute('aria-label');
    if (label && label.trim()) return label.trim();
    const by = el.getAttribute('aria-labelledby');
    if (by && textOf(by)) return textOf(by);
    return '';
  };
  // The name a button or link gets from its content: text, or an image's alt, or an svg's label.
  const contentName = (el) => {
    let name = (el.textContent || '').trim();
    for (const img of el.querySelectorAll('img[alt]')) name += img.getAttribute('alt').trim();
    for (const svg of el.querySelectorAll('svg[aria-label], svg title')) {
      name += (svg.getAttribute('aria-label') || svg.textContent || '').trim();
    }
    return name;
  };

  // <html lang>
  if (!(document.documentElement.getAttribute('lang') || '').trim()) {
    out.push('<html> has no lang attribute');
  }

  // Exactly one <h1>.
  const h1s = document.querySelectorAll('h1');
  if (h1s.length !== 1) out.push(`the page has ${h1s.length} <h1> elements, not one`);

  // Form controls: a label, aria-label, aria-labelledby or title.
  for (const el of document.querySelectorAll('input, select, textarea')) {
    const type = (el.getAttribute('type') || '').toLowerCase();
    if (type === 'hidden') continue;
    if (['submit', 'button', 'reset'].includes(type) && (el.value || '').trim()) continue;
    if (type === 'image' && (el.getAttribute('alt') || '').trim()) continue;
    let named = !!ownName(el) || !!(el.getAttribute('title') || '').trim();
    if (!named && el.id) {
      const lab = document.querySelector(`label[for="${CSS.escape(el.id)}"]`);
      named = !!lab && !!(lab.textContent || '').trim();
    }
    if (!named) {
      const wrap = el.closest('label');
      named = !!wrap && !!(wrap.textContent || '').trim();
    }
    if (!named) out.push(`form control without an accessible name: ${describe(el)}`);
  }

  // Buttons and links.
  for (const el of document.querySelectorAll('button, a[href], [role="button"], [role="link"]')) {
    const name = ownName(el) || contentName(el) || (el.getAttribute('title') || '').trim();
    const tag = el.tagName.toLowerCase();
    if (!name) out.push(`${tag} without an accessible name: ${el.outerHTML.slice(0, 120)}`);
  }

  // Images.
  for (const img of document.querySelectorAll('img')) {
    if (!img.hasAttribute('alt')) out.push(`img without alt: ${img.outerHTML.slice(0, 120)}`);
  }

  // Data tables have header cells.
  for (const t of document.querySelectorAll('table')) {
    if (t.getAttribute('role') === 'presentation') continue;
    if (t.querySelector('td') && !t.querySelector('th')) {
      out.push(`table with data but no <th>: ${describe(t)}`);
    }
  }

  // Contrast of text against the opaque background behind it.
  const cv = document.createElement('canvas');
  cv.width = cv.height = 1;
  const cx = cv.getContext('2d', {willReadFrequently: true});
  const rgba = (css) => {
    cx.clearRect(0, 0, 1, 1);
    cx.fillStyle = '#000';
    cx.fillStyle = css;
    cx.fillRect(0, 0, 1, 1);
    const d = cx.getImageData(0, 0, 1, 1).data;
    // The alpha of the colour itself, not of the drawn pixel: a fourth component, if any.
    const parts = css.match(/[\\d.]+%?/g) || [];
    let a = 1;
    if ((css.startsWith('rgba(') || css.includes('/')) && parts.length === 4) {
      a = parts[3].endsWith('%') ? parseFloat(parts[3]) / 100 : parseFloat(parts[3]);
    }
    if (css === 'transparent') a = 0;
    return [d[0], d[1], d[2], a];
  };
  const over = (top, bottom) => {
    const a = top[3];
    return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
  };
  const background = (el) => {
    const layers = [];
    for (let n = el; n; n = n.parentElement) {
      const st = getComputedStyle(n);
      if (st.backgroundImage && st.backgroundImage !== 'none' && !layers.length) {
        // A gradient or picture behind the text: judged by its colour where it has one.
        if (rgba(st.backgroundColor)[3] === 0) return null;
      }
      const c = rgba(st.backgroundColor);
      if (c[3] > 0) layers.push(c);
      if (c[3] >= 1) break;
    }
    let base = [255, 255, 255, 1];
    for (let i = layers.length - 1; i >= 0; i--) base = over(layers[i], base);
    return base;
  };
  const lum = (c) => {
    const f = (v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    };
    return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
  };
  const ratio = (a, b) => {
    const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
    return (hi + 0.05) / (lo + 0.05);
  };
  const seen = new Set();
  for (const el of document.body.querySelectorAll('*')) {
    if (el.closest('svg, script, style, noscript, template, canvas')) continue;
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || !shown(el) || srOnly(el)) continue;
    if (el.matches('.skip-link') && document.activeElement !== el) continue;
    const st = getComputedStyle(el);
    if (parseFloat(st.opacity) === 0) continue;
    const bg = background(el);
    if (!bg) continue;
    const fg = over(rgba(st.color), bg);
    const size = parseFloat(st.fontSize);
    const bold = parseInt(st.fontWeight, 10) >= 700;
    const big = size >= 24 || (size >= 18.66 && bold);
    const need = big ? large : normal;
    const r = ratio(fg, bg);
    if (r + 1e-6 < need) {
      const key = `${st.color}|${bg.join(',')}|${describe(el).split(' ')[0]}`;
      if (seen.has(key)) continue;
      seen.add(key);
      out.push(`contrast ${r.toFixed(2)}:1 < ${need}:1 for ${describe(el)} ` +
               `(${st.color} on rgb(${bg.slice(0, 3).map(Math.round).join(', ')}))`);
    }
  }
  return out;
}
"""

_FOCUSED = """() => {
  const el = document.activeElement;
  if (!el || el === document.body) return '';
  return el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
    (el.classList.contains('skip-link') ? '.skip-link' : '') +
    ' ' + (el.getAttribute('href') || '');
}"""


def problems(page: Any) -> list[str]:
    """What the page fails of the checks above, one sentence each; empty when it passes."""
    found = page.evaluate(_SCRIPT, {"normal": NORMAL_TEXT, "large": LARGE_TEXT})
    return [str(p) for p in found]


def skip_link_problems(page: Any) -> list[str]:
    """The keyboard way in: from the top of the page, Tab reaches the skip link first, and
    Enter on it moves the focus to the content (`#main`). Leaves the focus there."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.evaluate("() => window.scrollTo(0, 0)")
    page.keyboard.press("Tab")
    first = str(page.evaluate(_FOCUSED)).strip()
    if not first.startswith("a.skip-link") or not first.endswith("#main"):
        return [f"the first Tab lands on {first or 'nothing'}, not the skip link to #main"]
    page.keyboard.press("Enter")
    try:
        page.wait_for_function(
            "() => document.activeElement && document.activeElement.id === 'main'", timeout=2_000
        )
    except Exception:  # Playwright's TimeoutError: said as a finding, not a crash
        return [f"Enter on the skip link leaves the focus on {page.evaluate(_FOCUSED)}, not #main"]
    return []
