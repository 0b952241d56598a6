"""Open the demo's report in a real browser and check what a person sees.

Builds the demo lake with the given binary (as ./demo.sh does: the churn model
with its reference, alias champion, stage Production, two dates scored; the
second alerts), writes `lakescore report`, then loads the page in headless
Chromium (Debian's `chromium` package):

- the DOM after load (`--dump-dom`, scripts run) holds every chart the
  command said it drew, each an SVG with drawn content; the page's script
  filters the runs table (a `#q=` link); and the overview lists
  the features whose drift alerted on the second date, as the Python
  `deltalake` package reads them from the drift_metrics table;
- a screenshot is not blank: many colours, most of the page drawn, the header,
  the version colour of the bars and the alert red of the alerting points all
  present.

    python .ci/report_browser.py PATH/TO/lakescore [--screenshot docs/report.png]

Exits non-zero, naming the check, on the first failure.
"""

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from html.parser import HTMLParser
from pathlib import Path

from deltalake import DeltaTable
from PIL import Image

from demo_lake import REPO, build_lake, lakescore

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
]
# Colours the charts use (lakescore-report's palette): model version 1, the
# alert red, and the page header.
VERSION_1 = (31, 119, 180)
ALERT = (214, 39, 40)
HEADER = (20, 33, 61)


def check(ok, what):
    if not ok:
        sys.exit(f"report in a browser: {what}")


def chromium(*args):
    exe = shutil.which("chromium") or shutil.which("chromium-browser")
    check(exe is not None, "no chromium on PATH (apt-get install chromium)")
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
    check(done.returncode == 0, f"chromium {args[0]} exited {done.returncode}: {done.stderr[-2000:]}")
    return done.stdout


class Charts(HTMLParser):
    """Counts, per `data-chart` kind, the SVG charts and what is drawn in them."""

    def __init__(self):
        super().__init__()
        self.kinds = {}
        self.drawn = []  # drawn elements per chart, in page order
        self.depth = 0
        self.alerts = []
        self.in_alerts = False
        self.in_li = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "svg" and "data-chart" in attrs:
            kind = attrs["data-chart"]
            self.kinds[kind] = self.kinds.get(kind, 0) + 1
            self.drawn.append((kind, 0))
            self.depth = 1
        elif self.depth and tag in ("rect", "line", "polyline", "circle", "polygon", "path", "text"):
            kind, n = self.drawn[-1]
            self.drawn[-1] = (kind, n + 1)
        if tag == "ul" and attrs.get("class") == "alerts":
            self.in_alerts = True
        if tag == "li" and self.in_alerts:
            self.in_li = True
            self.alerts.append("")

    def handle_endtag(self, tag):
        if tag == "svg" and self.depth:
            self.depth = 0
        if tag == "ul":
            self.in_alerts = False
        if tag == "li":
            self.in_li = False

    def handle_data(self, data):
        if self.in_li:
            self.alerts[-1] += data


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--screenshot", help="also keep the screenshot here (docs/report.png)")
    args = parser.parse_args()
    binary = str(Path(args.binary).resolve())

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        lake = tmp / "lake"
        build_lake(binary, lake)
        page = tmp / "report.html"
        summary = json.loads(lakescore(binary, lake, "--json", "report", "--out", str(page)))
        expected = summary["report"]["charts"]
        check(sum(expected.values()) >= 20, f"the demo's report has too few charts: {expected}")

        # The DOM after load.
        dom = chromium("--dump-dom", page.as_uri())
        charts = Charts()
        charts.feed(dom)
        check(charts.kinds == expected, f"charts in the DOM {charts.kinds} != drawn {expected}")
        empty = [kind for kind, n in charts.drawn if n < 5]
        check(not empty, f"charts with nothing drawn: {empty}")
        for section in ("overview", "job-churn_daily", "registry", "runs"):
            check(f'id="{section}"' in dom, f"no section {section}")

        # The page's script ran: a filter carried by the link hides the other
        # date's run.
        filtered = chromium("--dump-dom", page.as_uri() + "#q=2024-01-02")
        check('1 of 2 runs' in filtered, "the runs filter (#q=) did not run")

        # The open alerts: the second date's alerting features, read by deltalake.
        drift = DeltaTable(str(lake / "drift_metrics")).to_pyarrow_table().to_pylist()
        alerting = {
            r["feature"] for r in drift if r["alert"] and str(r["logical_date"]) == "2024-01-02"
        }
        check({"monthly_charges", "support_calls"} <= alerting, f"the demo alerts on {alerting}")
        listed = {a.split()[0] for a in charts.alerts}
        check(listed == alerting, f"the overview lists {listed}, drift_metrics alerts {alerting}")

        # A screenshot a person would see.
        shot = tmp / "report.png"
        chromium("--window-size=1400,3700", f"--screenshot={shot}", page.as_uri())
        image = Image.open(shot).convert("RGB")
        check(image.size == (1400, 3700), f"screenshot size {image.size}")
        small = image.resize((350, 925))
        colours = small.getcolors(maxcolors=1 << 20) or []
        check(len(colours) > 200, f"only {len(colours)} colours: a blank page?")
        pixels = list(image.get_flattened_data())
        background = max(set(pixels[:: 97]), key=pixels[:: 97].count)
        drawn = sum(1 for p in pixels[:: 7] if p != background) / len(pixels[:: 7])
        check(drawn > 0.2, f"only {drawn:.0%} of the page differs from its background")
        present = set(pixels)
        for name, colour in (("version 1", VERSION_1), ("alert", ALERT), ("header", HEADER)):
            check(colour in present, f"no {name} colour {colour} on the screenshot")
        if args.screenshot:
            shutil.copyfile(shot, REPO / args.screenshot)
        print(
            f"report in a browser: ok ({sum(expected.values())} charts in the DOM, "
            f"alerts {sorted(alerting)}, {len(colours)} colours, {drawn:.0%} drawn)"
        )


if __name__ == "__main__":
    main()
