"""What a terminal shows at the end of a log: the one reading of redraws for `log --plain` and
the verdict.

Progress bars redraw in place: tqdm with `\\r`, rich (Lightning's RichProgressBar, pip) with
cursor-up and erase-line sequences, others with `\\b`. Stripping the escape sequences alone
leaves the residue of longer earlier frames (`v_num: 3.00000.000• -:--:--`); replaying them on
a small screen model leaves what a reader saw. The model keeps a window of the last rows, so
memory stays bounded on any log (a redraw never reaches further up than a few rows).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

WINDOW_ROWS = 256  # rows kept for cursor-up redraws; older rows are final
_TAB = 8
# CSI (ESC [ params final), OSC (ESC ] ... BEL or ESC \), other two-byte escapes, or a run of
# ordinary text, or one control character.
_TOKEN = re.compile(
    r"\x1b\[(?P<params>[0-?]*)[ -/]*(?P<final>[@-~])"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-Z\\-_]?"
    r"|(?P<text>[^\x00-\x1f\x7f]+)"
    r"|(?P<control>[\x00-\x1f\x7f])"
)


def screen_lines(text: str) -> Iterator[str]:
    """The lines of `text` as a terminal leaves them: each `\\n` starts a line (`\\r\\n`
    too), `\\r` and `\\b` move the cursor back, CSI cursor moves and erases are applied, every
    other escape sequence and control character is dropped."""
    rows: list[list[str]] = [[]]
    row = col = 0
    for match in _TOKEN.finditer(text):
        if match.group("text") is not None:
            line = rows[row]
            chunk = match.group("text")
            if len(line) < col:
                line.extend(" " * (col - len(line)))
            line[col : col + len(chunk)] = chunk
            col += len(chunk)
            continue
        control = match.group("control")
        if control == "\n":
            row += 1
            col = 0
        elif control == "\r":
            col = 0
        elif control == "\b":
            col = max(col - 1, 0)
        elif control == "\t":
            col = (col // _TAB + 1) * _TAB
        elif match.group("final") is not None:
            row, col = _csi(rows, row, col, match.group("params"), match.group("final"))
        while row >= len(rows):
            rows.append([])
        if len(rows) > WINDOW_ROWS:  # rows far above the cursor are final
            drop = min(len(rows) - WINDOW_ROWS // 2, row)
            for done in rows[:drop]:
                yield "".join(done)
            del rows[:drop]
            row -= drop
    for line in rows:
        yield "".join(line)


def _csi(rows: list[list[str]], row: int, col: int, params: str, final: str) -> tuple[int, int]:
    numbers = [int(p) if p.isdigit() else 0 for p in params.split(";")] if params else [0]
    n = max(numbers[0], 1)
    if final == "A":  # cursor up
        return max(row - n, 0), col
    if final in "BE":  # cursor down (E: to the line's start)
        return row + n, (0 if final == "E" else col)
    if final == "F":  # cursor up to the line's start
        return max(row - n, 0), 0
    if final == "C":
        return row, col + n
    if final == "D":
        return row, max(col - n, 0)
    if final == "G":  # column, 1-based
        return row, n - 1
    if final == "K":  # erase in line: 0 to the end, 1 to the start, 2 all
        line = rows[row]
        if numbers[0] == 0:
            del line[col:]
        elif numbers[0] == 1:
            line[: col + 1] = " " * min(col + 1, len(line))
        else:
            line.clear()
    elif final == "J" and numbers[0] == 0:  # erase below: the line's rest and the rows under it
        del rows[row][col:]
        del rows[row + 1 :]
    return row, col
