"""What every page must hold at any window width, checked in the browser: nothing wider than the window, no button cut
off or out of sight, every chart label whole and a plain number, tables that fit a desktop window."""

from __future__ import annotations

from playwright.async_api import Page

DESKTOP = 1280
"""From this width on, a table fits its container: nothing to scroll sideways on a desktop."""

_CHECKS = """(desktop) => {
  const problems = [];
  const page = document.documentElement;
  if (page.scrollWidth > innerWidth) problems.push(`the page is ${page.scrollWidth} px wide in a ${innerWidth} px window`);
  const shown = (e) => e.checkVisibility({visibilityProperty: true});
  const outside = (r, c) => r.left < c.left - 1 || r.right > c.right + 1 || r.top < c.top - 1 || r.bottom > c.bottom + 1;
  for (const b of document.querySelectorAll('button, summary, input[type=submit], input[type=button]')) {
    if (!shown(b)) continue;
    const name = `${b.tagName.toLowerCase()} "${(b.textContent || b.value).trim()}"`;
    if (b.scrollWidth > b.clientWidth + 1) problems.push(`${name} cuts its text (${b.scrollWidth} > ${b.clientWidth} px)`);
    const r = b.getBoundingClientRect();
    if (r.left < 0 || r.right > innerWidth) problems.push(`${name} is outside the window`);
    for (let p = b.parentElement; p && p !== document.body; p = p.parentElement) {
      const style = getComputedStyle(p);
      if (style.overflowX !== 'visible' || style.overflowY !== 'visible') {
        const box = `${p.tagName.toLowerCase()}.${p.className}`;
        if (outside(r, p.getBoundingClientRect())) problems.push(`${name} is outside what its ${box} shows`);
      }
    }
  }
  for (const svg of document.querySelectorAll('svg[viewBox]')) {
    const box = svg.viewBox.baseVal;
    for (const t of svg.querySelectorAll('text')) {
      const text = t.textContent;
      if (/^[-−+]?\\$?\\d[\\d.,]*[eE][+-]?\\d/.test(text.trim())) problems.push(`chart label "${text}" is in exponent notation`);
      const b = t.getBBox();
      const [right, bottom] = [box.x + box.width + 0.5, box.y + box.height + 0.5];
      if (b.x < box.x - 0.5 || b.y < box.y - 0.5 || b.x + b.width > right || b.y + b.height > bottom) {
        const at = `${b.x.toFixed(1)},${b.y.toFixed(1)} + ${b.width.toFixed(1)}x${b.height.toFixed(1)}`;
        problems.push(`chart label "${text}" is cut off: ${at} in ${box.width}x${box.height}`);
      }
    }
  }
  if (innerWidth >= desktop) {
    for (const table of document.querySelectorAll('table')) {
      const room = table.parentElement.clientWidth;
      if (table.offsetWidth > room + 1) problems.push(`table#${table.id} is ${table.offsetWidth} px wide in ${room} px`);
    }
  }
  return problems;
}"""


async def layout_problems(page: Page) -> list[str]:
    """Every problem of the page as shown now, in words; empty when it holds."""
    found = await page.evaluate(_CHECKS, DESKTOP)
    return [f"{page.url}: {problem}" for problem in found]
