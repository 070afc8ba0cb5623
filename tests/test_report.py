"""`repro report`: one static, self-contained HTML file with summaries, diff, curves, verdicts."""

from __future__ import annotations

from pathlib import Path

from helpers.cli import record_of, repro
from helpers.report import TRAIN, Page
from helpers.repos import MakeRepo


def _page(path: Path) -> Page:
    page = Page()
    page.feed(path.read_text(encoding="utf-8"))
    return page


def test_report_shows_runs_curves_verdicts_and_variance(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    for seed in ("1", "2"):
        assert repro(root, "run", "--seed", seed, "train.py").returncode == 0
    first, second = str(record_of(root, "@~1")["id"]), str(record_of(root, "@")["id"])
    assert repro(root, "rerun", first).returncode == 0
    done = repro(root, "report", first, second, "-o", "out.html")
    assert done.returncode == 0, done.stderr
    page = _page(root / "out.html")
    assert {"summaries", "environment", "curves", "verdicts", "variance"} <= set(page.ids)
    assert page.tags["svg"] == 2  # accuracy and loss, each with both runs overlaid
    assert page.tags["polyline"] == 4
    text = " ".join(page.text)
    assert first in text and second in text
    assert "IDENTICAL" in text
    html = (root / "out.html").read_text(encoding="utf-8")
    environment = html.split('id="environment"')[1].split("</section>")[0]
    assert "<td>Seed</td>" in environment  # the diff names the seed that differs
    assert "95% CI" in text


def test_report_is_self_contained_and_escapes_recorded_strings(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    hostile = "<script>alert(1)</script>"
    assert repro(root, "run", "train.py", hostile).returncode == 0
    assert repro(root, "report", "@", "-o", "r.html").returncode == 0
    html = (root / "r.html").read_text(encoding="utf-8")
    page = _page(root / "r.html")
    assert page.tags["script"] == 0 and page.tags["link"] == 0 and page.tags["img"] == 0
    assert (
        "http://" not in html
        and "https://" not in html
        and "//" not in html.replace("<!DOCTYPE", "")
    )
    assert hostile in " ".join(page.text)  # shown as text, never as markup


def test_report_of_unknown_run_is_not_found(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    done = repro(root, "report", "zzzz")
    assert done.returncode == 7
    assert not (root / "report.html").exists()


def test_a_report_that_cannot_be_written_is_a_one_line_error(make_repo: MakeRepo) -> None:
    root = make_repo({"train.py": TRAIN})
    assert repro(root, "run", "train.py").returncode == 0
    done = repro(root, "report", "@", "-o", str(root / "no-such-dir" / "r.html"))
    assert done.returncode == 2 and done.stderr.count("\n") == 1, done.stderr
    assert "cannot write the report" in done.stderr


def test_non_finite_points_are_not_drawn_and_the_chart_says_so(make_repo: MakeRepo) -> None:
    """One `inf` used to set the y range, flattening every other point (and NaN broke it)."""
    train = (
        "import repro_run\n"
        "for step, loss in enumerate([1.0, 0.5, float('inf'), 0.25, float('nan'), 0.125]):\n"
        "    repro_run.log_metrics(step=step, loss=loss)\n"
    )
    root = make_repo({"train.py": train})
    assert repro(root, "run", "train.py").returncode == 0
    assert repro(root, "report", "@", "-o", "out.html").returncode == 0
    html = (root / "out.html").read_text(encoding="utf-8")
    assert "2 non-finite points not drawn" in html
    assert "nan" not in html.split("<svg", 1)[1].lower().split("</svg>")[0].replace(
        "non-finite", ""
    )
    page = _page(root / "out.html")
    polylines = [value for tag, name, value in page.attrs if tag == "polyline" and name == "points"]
    assert len(polylines) == 3  # the curve breaks at each non-finite value
    ys = [float(xy.split(",")[1]) for line in polylines for xy in (line or "").split()]
    assert len(set(ys)) == 4  # four distinct finite losses, not flattened onto one line
