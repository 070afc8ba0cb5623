"""`repro report` pages for tests: a script whose runs have curves, and the page as a parser sees it."""

from __future__ import annotations

from collections import Counter
from html.parser import HTMLParser

# A training script that logs two metrics over four steps, from its seed and its arguments.
TRAIN = """\
import os, sys
import repro_run
seed = int(os.environ["REPRO_SEED"])
for step in range(4):
    repro_run.log_metrics(step=step, loss=1.0 / (step + 1 + seed), accuracy=0.5 + step * seed / 100)
print("args", sys.argv[1:])
"""


class Page(HTMLParser):
    """Tags, attributes and text of a page, as a browser's parser would see them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: Counter[str] = Counter()
        self.attrs: list[tuple[str, str, str | None]] = []
        self.ids: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] += 1
        self.attrs += [(tag, name, value) for name, value in attrs]
        self.ids += [value for name, value in attrs if name == "id" and value]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)
