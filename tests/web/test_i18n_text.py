"""The check for words left in the other language, over a page's visible text.

`visible_text` takes rendered HTML (what the server sends, or a browser's `page.content()`) to
the text a person reads or a screen reader says: element text and the title, aria-label,
placeholder and alt attributes; not scripts, styles, code, or anything marked with a `lang` of
its own (a Chinese name beside an English one, the language switch). `untranslated` then lists
the English words left on a Chinese page, or the Chinese left on an English one, once the
names of things (enterprises, equipment, signals, units...) and a few words that stay as they
are (Kiln, OEE, API...) are taken out. The browser tests import these two functions.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from html.parser import HTMLParser

# Words a Chinese page keeps in English: the product, standards, abbreviations and units.
KEEP = frozenset(
    {
        "Kiln", "OEE", "API", "KPI", "ISO", "GB", "T", "UTC", "CSV", "Excel", "xlsx", "csv",
        "UTF", "GB18030", "HTML", "PDF", "Markdown", "HTTP", "MQTT", "Sparkplug", "bdSeq",
        "PBT", "APT", "AUPT", "AUBT", "ADET", "PQ", "GQ", "PRI", "MiB", "kWh", "h", "min",
        "max", "s", "kN", "bar", "mm", "YYYY", "MM", "English", "TB", "QR",
    }
)  # fmt: skip
SKIPPED_TAGS = frozenset({"script", "style", "code", "pre", "svg"})
VOID = frozenset({"br", "hr", "img", "input", "link", "meta", "source", "wbr", "area", "col"})
SPOKEN_ATTRS = ("title", "aria-label", "placeholder", "alt")
CODE = re.compile(r"\w*_\w*|\boee\b")  # identifiers (down_fault, oee) shown as examples
# A word of Latin letters on its own: not the C of an industry code C3852 nor the OP of OP10.
ENGLISH_WORD = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z'’]*(?![A-Za-z0-9_])")
HAN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e]+")


class _Text(HTMLParser):
    def __init__(self, lang: str) -> None:
        super().__init__(convert_charrefs=True)
        self.lang = lang
        self.parts: list[str] = []
        self.stack: list[tuple[str, bool]] = []  # (tag, hidden)

    def _hidden(self) -> bool:
        return bool(self.stack) and self.stack[-1][1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        own_lang = a.get("lang", "")
        foreign = bool(own_lang) and tag != "html" and not own_lang.startswith(self.lang)
        hidden = self._hidden() or tag in SKIPPED_TAGS or foreign or "code" in a.get("class", "")
        # An svg's own label is spoken even though its drawing is skipped.
        if (not hidden or tag == "svg") and not (self._hidden() or foreign):
            self.parts.extend(a[k] for k in SPOKEN_ATTRS if a.get(k))
        if tag not in VOID:
            self.stack.append((tag, hidden))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID and self.stack and self.stack[-1][0] == tag:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, lang: str) -> str:
    """What a reader of a page in lang ('zh' or 'en') sees or hears, one piece a line."""
    parser = _Text(lang)
    parser.feed(html)
    parser.close()
    return "\n".join(parser.parts)


def untranslated(text: str, lang: str, names: Iterable[str] = ()) -> list[str]:
    """The words in the wrong language: English words on a Chinese page (lang='zh'), Chinese
    on an English page (lang='en'); names are removed first, longest first."""
    for name in sorted({n for n in names if n}, key=len, reverse=True):
        # A Latin name only as a whole word: a signal called "A" is not the A of "API".
        edge = r"(?<![A-Za-z])" if name[0].isascii() else ""
        end = r"(?![A-Za-z])" if name[-1].isascii() else ""
        text = re.sub(edge + re.escape(name) + end, " ", text)
    if lang == "en":
        return HAN.findall(text)
    text = CODE.sub(" ", text)
    return [w for w in ENGLISH_WORD.findall(text) if w not in KEEP and w.strip("'’") not in KEEP]


def test_visible_text_skips_scripts_code_and_marked_foreign_names() -> None:
    html = (
        '<html lang="en"><head><title>City · Kiln</title><style>p{}</style></head><body>'
        '<p title="Tip">Hello <code>kiln demo</code><span lang="zh-Hans">佛山</span></p>'
        '<script>var x = "words";</script><svg aria-label="Chart"><text>9</text></svg>'
        '<input placeholder="name"></body></html>'
    )
    assert visible_text(html, "en").split("\n") == ["City · Kiln", "Tip", "Hello", "Chart", "name"]


def test_untranslated_finds_english_left_on_a_chinese_page_but_not_names_or_kept_words() -> None:
    text = "设备综合效率 OEE 87%\nDraw press 运行\nLast values\nKiln 1.0"
    assert untranslated(text, "zh", names=["Draw press"]) == ["Last", "values"]


def test_untranslated_finds_chinese_left_on_an_english_page() -> None:
    assert untranslated("Running 运行 · Acme 艾克米", "en", names=["艾克米"]) == ["运行"]
