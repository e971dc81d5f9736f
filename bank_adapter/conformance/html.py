"""The conformance report as one self-contained HTML page (inline CSS, no scripts, no
external resources), for a bank to attach to its go-live request. Prints on A4 too."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from html import escape
from typing import Any

_LABELS = {"pass": "PASS", "fail": "FAIL", "not_exercised": "NOT EXERCISED"}
_CSS = """
  :root { --pass: #1a7f37; --fail: #c62828; --todo: #8a6d00; --line: #d0d7de; }
  * { box-sizing: border-box; }
  body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
         color: #1f2328; margin: 0; background: #f6f8fa; }
  main { max-width: 1040px; margin: 0 auto; padding: 28px 32px 40px; background: #fff;
         min-height: 100vh; }
  h1 { font-size: 22px; margin: 0 0 4px; }
  .sub { color: #57606a; margin: 0 0 20px; }
  .verdict { display: inline-block; padding: 6px 14px; border-radius: 6px; color: #fff;
             font-weight: 600; letter-spacing: .02em; }
  .verdict.ok { background: var(--pass); } .verdict.ko { background: var(--fail); }
  .counts { display: flex; gap: 12px; margin: 18px 0 24px; }
  .count { flex: 1; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
  .count b { display: block; font-size: 26px; }
  .count.pass b { color: var(--pass); } .count.fail b { color: var(--fail); }
  .count.not_exercised b { color: var(--todo); }
  table { width: 100%; border-collapse: collapse; }
  th, td { text-align: left; vertical-align: top; padding: 10px 8px;
           border-top: 1px solid var(--line); }
  th { font-size: 12px; text-transform: uppercase; color: #57606a; border-top: 0; }
  .badge { display: inline-block; min-width: 110px; text-align: center; padding: 2px 8px;
           border-radius: 12px; font-size: 12px; font-weight: 600; color: #fff; }
  .badge.pass { background: var(--pass); } .badge.fail { background: var(--fail); }
  .badge.not_exercised { background: var(--todo); }
  .id { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace;
        font-weight: 600; white-space: nowrap; }
  .title { color: #57606a; }
  .evidence { font-size: 12px; color: #57606a; margin-top: 6px; }
  .evidence code { display: inline-block; white-space: nowrap; margin: 2px 4px 0 0;
                   padding: 0 4px; border-radius: 4px; background: #f6f8fa;
                   font-family: ui-monospace, Menlo, Consolas, monospace; }
  tr.fail td { background: #fff5f5; }
  footer { margin-top: 24px; color: #57606a; font-size: 12px; }
  @media print { body { background: #fff; } main { padding: 0; } }
"""


def render_html(report: Mapping[str, Any], generated_at: datetime) -> str:
    """The page for a report of contract section 10 (`rules.report`)."""
    partner = escape(str(report["partner"]))
    when = escape(generated_at.isoformat(timespec="seconds"))
    all_passed = report["failed"] == 0 and report["notExercised"] == 0
    verdict = (
        '<span class="verdict ok">Every rule passed</span>'
        if all_passed
        else '<span class="verdict ko">Not ready: see the rules below</span>'
    )
    rows = "\n".join(_row(rule) for rule in report["rules"])
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Conformance report: {partner}</title>
<style>{_CSS}</style>
</head>
<body>
<main>
<h1>Partner API conformance report: {partner}</h1>
<p class="sub">bank-adapter conformance kit, partner API contract revision 1.1, section 10.
Report of {when}.</p>
{verdict}
<div class="counts">
  <div class="count pass"><b>{report["passed"]}</b>passed</div>
  <div class="count fail"><b>{report["failed"]}</b>failed</div>
  <div class="count not_exercised"><b>{report["notExercised"]}</b>not exercised</div>
</div>
<table>
<thead><tr><th>Verdict</th><th>Rule</th><th>What was seen</th></tr></thead>
<tbody>
{rows}
</tbody>
</table>
<footer>Evidence lists the MessageIds of the requests each verdict rests on.</footer>
</main>
</body>
</html>
"""


def _row(rule: Mapping[str, Any]) -> str:
    status = str(rule["status"])
    evidence = " ".join(f"<code>{escape(str(item))}</code>" for item in rule["evidence"])
    evidence_html = f'<div class="evidence">MessageIds {evidence}</div>' if evidence else ""
    return (
        f'<tr class="{escape(status)}"><td><span class="badge {escape(status)}">'
        f"{_LABELS.get(status, escape(status))}</span></td>"
        f'<td><div class="id">{escape(str(rule["id"]))}</div>'
        f'<div class="title">{escape(str(rule["title"]))}</div></td>'
        f"<td>{escape(str(rule['detail']))}{evidence_html}</td></tr>"
    )
