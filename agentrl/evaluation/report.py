"""Reports of a run: ``summary.json`` (the numbers), ``report.md`` (a summary to paste) and ``report.html``.

The HTML page is self-contained: inline CSS, inline SVG plots (the reward distribution and per-task success
rates with their intervals), the overall and per-task tables, and a trajectory viewer with every turn's
messages and rewards; it loads nothing from the network. Every number shown that comes from the summary
carries ``data-metric="PATH"`` (a dotted path into summary.json, e.g. ``overall.success_rate`` or
``tasks.<id>.reward_mean``) and is printed with 4 decimals, so tests and tools can check the page against
the JSON. The trajectory viewer holds at most `max_trajectories` episodes (failed ones first) to keep the page
small; the JSON lines file has them all.
"""

from __future__ import annotations

import html
import json
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from agentrl.evaluation.summary import episode_scores
from agentrl.types import Episode

SUMMARY_JSON = "summary.json"
REPORT_MD = "report.md"
REPORT_HTML = "report.html"


def fmt(value: Any) -> str:
    """How every number appears in the reports."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, int):
        return str(value)
    return f"{value:.4f}"


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def write_reports(out_dir: str | Path, summary: Mapping[str, Any], episodes: Sequence[Episode], *,
                  max_trajectories: int = 300) -> dict[str, Path]:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / SUMMARY_JSON, "markdown": out / REPORT_MD, "html": out / REPORT_HTML}
    _atomic_write(paths["json"], json.dumps(summary, indent=2, sort_keys=True, allow_nan=False))
    _atomic_write(paths["markdown"], render_markdown(summary))
    _atomic_write(paths["html"], render_html(summary, episodes, max_trajectories=max_trajectories))
    return paths


# -- Markdown ----------------------------------------------------------------------------------------------------
def _ci_text(ci: Sequence[float] | None) -> str:
    return f"[{fmt(ci[0])}, {fmt(ci[1])}]" if ci else "n/a"


def render_markdown(summary: Mapping[str, Any]) -> str:
    run, o = summary["run"], summary["overall"]
    lines = [f"# Evaluation: {run.get('env_id')} with {run.get('policy')}", "",
             (f"Tasks `{run.get('tasks')}`, {run.get('samples')} samples each, seed {run.get('seed')}. "
             f"{o['episodes']} of {o['expected_episodes']} episodes finished"
             f"{'' if o['complete'] else ' (INCOMPLETE: rerun the same command to resume)'}."), "",
             "| metric | value | 95% CI |", "|---|---|---|",
             f"| success rate | {fmt(o['success_rate'])} | {_ci_text(o['success_ci'])} |",
             f"| mean reward | {fmt(o['reward_mean'])} | {_ci_text(o['reward_ci'])} |"]
    for key, label in (("pass_at_k", "pass@"), ("pass_hat_k", "pass^")):
        for k, v in o[key].items():
            lines.append(f"| {label}{k} | {fmt(v['value'])} | {_ci_text(v['ci'])} |")
    lines.append(f"| scored / episodes | {o['scored']} / {o['episodes']} | |")
    for status, n in o["failures"].items():
        lines.append(f"| failed: {status} | {n} | |")
    lines += [f"| turns per episode | {fmt(o['turns_mean'])} | |",
              f"| completion tokens per episode | {fmt(o['completion_tokens_mean'])} | |",
              f"| wall s per episode | {fmt(o['wall_s']['mean'])} | |", ""]
    if o["terms"]:
        lines += ["| reward term | mean |", "|---|---|"] + [f"| {k} | {fmt(v)} |" for k, v in o["terms"].items()] + [""]
    lines += ["| task | scored | failed | success | reward | turns |", "|---|---|---|---|---|---|"]
    for task_id, t in summary["tasks"].items():
        lines.append(f"| {task_id} | {t['scored']} | {sum(t['failures'].values())} | {fmt(t['success_rate'])} | "
                     f"{fmt(t['reward_mean'])} | {fmt(t['turns_mean'])} |")
    lines += ["", (f"Rules: failed episodes are counted by status and not scored; success term "
              f"`{summary['rules']['success_term']}` >= {summary['rules']['success_threshold']}; "
              f"CI {summary['rules']['ci']}."), ""]
    return "\n".join(lines)


# -- HTML --------------------------------------------------------------------------------------------------------
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;max-width:1200px}
h1{font-size:20px}h2{font-size:17px;margin-top:28px}
table{border-collapse:collapse;margin:8px 0}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f2f2f2}td.l,th.l{text-align:left}
.cards{display:flex;gap:12px;flex-wrap:wrap}.card{border:1px solid #ccc;border-radius:6px;padding:8px 14px}
.card b{display:block;font-size:20px}.muted{color:#777}.bad{color:#b00}.ok{color:#070}
details{border:1px solid #ddd;border-radius:4px;margin:4px 0;padding:4px 8px}summary{cursor:pointer}
.msg{margin:4px 0 4px 12px}.role{font-weight:bold}pre{white-space:pre-wrap;margin:2px 0;background:#fafafa;padding:4px}
svg text{font:11px system-ui,sans-serif}
"""

_JS = """
(function(){
  var q=document.getElementById('filter'), s=document.getElementById('status-filter');
  function apply(){
    var text=q.value.toLowerCase(), st=s.value, shown=0;
    document.querySelectorAll('details.episode').forEach(function(d){
      var ok=d.dataset.task.toLowerCase().indexOf(text)>=0 && (st==='' || d.dataset.status===st);
      d.style.display=ok?'':'none'; if(ok){shown++;}
    });
    document.getElementById('shown').textContent=String(shown);
  }
  q.addEventListener('input',apply); s.addEventListener('change',apply); apply();
})();
"""


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _m(path: str | tuple[str, ...], value: Any) -> str:
    """A number with its summary.json path (a JSON list of keys) in data-metric."""
    keys = path.split(".") if isinstance(path, str) else list(path)
    return f"<span data-metric='{_e(json.dumps(keys))}'>{_e(fmt(value))}</span>"


def render_html(summary: Mapping[str, Any], episodes: Sequence[Episode], *, max_trajectories: int = 300) -> str:
    run, o = summary["run"], summary["overall"]
    title = f"Evaluation: {run.get('env_id')} with {run.get('policy')}"
    rewards = [s["reward"] for e in episodes if not e.status.is_failure
               for s in [episode_scores(e, agent=summary["rules"]["agent"])] if s["reward"] is not None]
    parts = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{_e(title)}</h1>",
        (f"<p class='muted'>Tasks <code>{_e(run.get('tasks'))}</code>, {_e(run.get('samples'))} samples each, "
        f"seed {_e(run.get('seed'))}. {_m('overall.episodes', o['episodes'])} of "
        f"{_m('overall.expected_episodes', o['expected_episodes'])} episodes finished"
        f"{'' if o['complete'] else ' <b class=bad>(incomplete: rerun the same command to resume)</b>'}.</p>"),
        _cards(o),
        "<h2>Overall</h2>", _overall_table(o),
        "<h2>Reward distribution</h2>", histogram_svg(rewards),
        "<h2>Per-task success rate (95% Wilson interval)</h2>", task_bars_svg(summary["tasks"]),
        "<h2>Per task</h2>", _task_table(summary["tasks"]),
        "<h2>Trajectories</h2>", _viewer(episodes, summary, max_trajectories),
        (f"<p class='muted'>Rules: failed episodes are counted by status and never scored as 0; success means the "
        f"term <code>{_e(summary['rules']['success_term'])}</code> &gt;= {_e(summary['rules']['success_threshold'])}"
        f"; intervals: {_e(summary['rules']['ci'])}.</p>"),
        f"<script>{_JS}</script></body></html>",
    ]
    return "\n".join(parts)


def _cards(o: Mapping[str, Any]) -> str:
    failed = sum(o["failures"].values())
    cards = [("success rate", _m("overall.success_rate", o["success_rate"])),
             ("mean reward", _m("overall.reward_mean", o["reward_mean"])),
             ("scored episodes", _m("overall.scored", o["scored"])),
             ("failed episodes", f"<span class='{'bad' if failed else 'ok'}'>{failed}</span>")]
    return "<div class='cards'>" + "".join(f"<div class='card'>{label}<b>{v}</b></div>" for label, v in cards) + "</div>"


def _ci_cells(path: str, ci: Sequence[float] | None) -> str:
    if not ci:
        return "<td>n/a</td><td>n/a</td>"
    keys = tuple(path.split("."))
    return f"<td>{_m((*keys, '0'), ci[0])}</td><td>{_m((*keys, '1'), ci[1])}</td>"


def _overall_table(o: Mapping[str, Any]) -> str:
    rows = [("success rate", _m("overall.success_rate", o["success_rate"]), _ci_cells("overall.success_ci", o["success_ci"])),
            ("mean reward", _m("overall.reward_mean", o["reward_mean"]), _ci_cells("overall.reward_ci", o["reward_ci"]))]
    for key, label in (("pass_at_k", "pass@"), ("pass_hat_k", "pass^")):
        for k, v in o[key].items():
            rows.append((f"{label}{k} ({v['tasks']} tasks)", _m(f"overall.{key}.{k}.value", v["value"]),
                         _ci_cells(f"overall.{key}.{k}.ci", v["ci"])))
    for name, v in o["terms"].items():
        rows.append((f"term {_e(name)}", _m(("overall", "terms", name), v), "<td></td><td></td>"))
    for status, n in o["failures"].items():
        rows.append((f"failed: {_e(status)}", _m(f"overall.failures.{status}", n), "<td></td><td></td>"))
    rows += [("truncated (scored)", _m("overall.truncated", o["truncated"]), "<td></td><td></td>"),
             ("turns per episode", _m("overall.turns_mean", o["turns_mean"]), "<td></td><td></td>"),
             ("completion tokens per episode", _m("overall.completion_tokens_mean", o["completion_tokens_mean"]),
              "<td></td><td></td>"),
             ("prompt tokens per episode", _m("overall.prompt_tokens_mean", o["prompt_tokens_mean"]), "<td></td><td></td>"),
             ("wall s per episode", _m("overall.wall_s.mean", o["wall_s"]["mean"]), "<td></td><td></td>")]
    body = "".join(f"<tr><td class='l'>{label}</td><td>{value}</td>{ci}</tr>" for label, value, ci in rows)
    return f"<table><tr><th class='l'>metric</th><th>value</th><th>CI low</th><th>CI high</th></tr>{body}</table>"


def _task_table(tasks: Mapping[str, Any]) -> str:
    head = ("<tr><th class='l'>task</th><th>episodes</th><th>scored</th><th>failed</th><th>success rate</th>"
            "<th>mean reward</th><th>pass@1</th><th>turns</th></tr>")
    rows = []
    for task_id, t in tasks.items():
        def p(key: str, *more: str, _t: str = task_id) -> tuple[str, ...]:
            return ("tasks", _t, key, *more)

        rows.append(f"<tr><td class='l'>{_e(task_id)}</td><td>{_m(p('episodes'), t['episodes'])}</td>"
                    f"<td>{_m(p('scored'), t['scored'])}</td><td>{sum(t['failures'].values())}</td>"
                    f"<td>{_m(p('success_rate'), t['success_rate'])}</td><td>{_m(p('reward_mean'), t['reward_mean'])}</td>"
                    f"<td>{_m(p('pass_at_k', '1'), t['pass_at_k'].get('1'))}</td>"
                    f"<td>{_m(p('turns_mean'), t['turns_mean'])}</td></tr>")
    return f"<table id='tasks'>{head}{''.join(rows)}</table>"


def histogram_svg(values: Sequence[float], *, bins: int = 12, width: int = 560, height: int = 200) -> str:
    """Inline SVG histogram; an empty dataset gives a labelled empty plot."""
    pad = 34
    svg = [(f"<svg id='reward-histogram' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
           f"role='img' aria-label='reward distribution'>")]
    if not values:
        svg.append(f"<text x='{pad}' y='{height / 2}'>no scored episodes</text></svg>")
        return "".join(svg)
    lo, hi = min(values), max(values)
    if hi == lo:
        lo, hi, bins = lo - 0.5, hi + 0.5, 1
    step = (hi - lo) / bins
    counts = [0] * bins
    for v in values:
        counts[min(int((v - lo) / step), bins - 1)] += 1
    top = max(counts)
    plot_w, plot_h = width - 2 * pad, height - 2 * pad
    bar_w = plot_w / bins
    for i, c in enumerate(counts):
        h = plot_h * c / top
        x = pad + i * bar_w
        svg.append(f"<rect x='{x:.1f}' y='{pad + plot_h - h:.1f}' width='{max(bar_w - 2, 1):.1f}' height='{h:.1f}' "
                   f"fill='#4a78b5'><title>[{lo + i * step:.3g}, {lo + (i + 1) * step:.3g}): {c}</title></rect>")
        if c:
            svg.append(f"<text x='{x + bar_w / 2:.1f}' y='{pad + plot_h - h - 3:.1f}' text-anchor='middle'>{c}</text>")
    svg.append(f"<line x1='{pad}' y1='{pad + plot_h}' x2='{pad + plot_w}' y2='{pad + plot_h}' stroke='#333'/>")
    svg.append(f"<text x='{pad}' y='{height - 10}'>{lo:.3g}</text>")
    svg.append(f"<text x='{pad + plot_w}' y='{height - 10}' text-anchor='end'>{hi:.3g}</text>")
    svg.append(f"<text x='{width / 2}' y='{height - 10}' text-anchor='middle'>reward ({len(values)} episodes)</text>")
    svg.append("</svg>")
    return "".join(svg)


def task_bars_svg(tasks: Mapping[str, Any], *, width: int = 560, row: int = 16) -> str:
    """Horizontal bars of per-task success rate with Wilson interval whiskers."""
    label_w, pad = 170, 10
    plot_w = width - label_w - 2 * pad
    height = pad * 2 + row * max(len(tasks), 1) + 16
    svg = [(f"<svg id='task-bars' xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' role='img' "
           "aria-label='per-task success rate'>")]
    for i, (task_id, t) in enumerate(tasks.items()):
        y = pad + i * row
        name = task_id if len(task_id) <= 26 else task_id[:25] + "…"
        svg.append(f"<text x='{label_w - 4}' y='{y + row - 4}' text-anchor='end'>{_e(name)}</text>")
        rate = t["success_rate"]
        if rate is None:
            svg.append(f"<text x='{label_w + 2}' y='{y + row - 4}' class='muted'>all failed</text>")
            continue
        svg.append(f"<rect x='{label_w}' y='{y + 2}' width='{plot_w * rate:.1f}' height='{row - 4}' fill='#5a9a5a'>"
                   f"<title>{_e(task_id)}: {fmt(rate)}</title></rect>")
        lo, hi = t["success_ci"]
        mid = y + row / 2
        svg.append(f"<line x1='{label_w + plot_w * lo:.1f}' y1='{mid}' x2='{label_w + plot_w * hi:.1f}' y2='{mid}' "
                   "stroke='#222'/>")
    axis_y = pad + row * max(len(tasks), 1) + 2
    svg.append(f"<line x1='{label_w}' y1='{axis_y}' x2='{label_w + plot_w}' y2='{axis_y}' stroke='#333'/>")
    svg.append(f"<text x='{label_w}' y='{axis_y + 13}'>0</text>")
    svg.append(f"<text x='{label_w + plot_w}' y='{axis_y + 13}' text-anchor='end'>1</text></svg>")
    return "".join(svg)


def _viewer(episodes: Sequence[Episode], summary: Mapping[str, Any], limit: int) -> str:
    rules = summary["rules"]
    ordered = sorted(episodes, key=lambda e: (not e.status.is_failure, e.task.id,
                                              (e.info.get("eval") or {}).get("sample", 0)))
    shown = ordered[:limit]
    statuses = sorted({e.status.value for e in episodes})
    options = "".join(f"<option value='{_e(s)}'>{_e(s)}</option>" for s in statuses)
    head = (f"<p>Filter by task <input id='filter' placeholder='task id'> status <select id='status-filter'>"
            f"<option value=''>any</option>{options}</select> &mdash; <span id='shown'>{len(shown)}</span> shown"
            f"{f' (first {limit} of {len(episodes)}; failed first)' if len(episodes) > limit else ''}.</p>")
    items = []
    term = None if rules["success_term"] == "auto" else rules["success_term"]
    for e in shown:
        sample = (e.info.get("eval") or {}).get("sample", 0)
        if e.status.is_failure:
            verdict = f"<span class='bad'>{_e(e.status.value)}</span>"
        else:
            s = episode_scores(e, agent=rules["agent"], term=term, threshold=rules["success_threshold"])
            verdict = (f"{_e(e.status.value)}, reward {fmt(s['reward'])}, "
                       f"<span class='{'ok' if s['success'] else 'bad'}'>{'success' if s['success'] else 'no success'}</span>")
        body = [f"<p class='bad'>error: {_e(e.error)}</p>" if e.error else ""]
        if e.outcome_rewards:
            body.append(f"<p>outcome rewards: <code>{_e(json.dumps(e.outcome_rewards, sort_keys=True))}</code>; "
                        f"combined: <code>{_e(json.dumps(e.reward, sort_keys=True))}</code></p>")
        for t in e.turns:
            msgs = "".join(f"<div class='msg'><span class='role'>{_e(m.get('role'))}</span>"
                           f"<pre>{_e(m.get('content') if isinstance(m.get('content'), str) else json.dumps(m.get('content')))}</pre></div>"
                           for m in t.messages)
            body.append(f"<div class='turn'><b>turn {t.index}</b> agent <code>{_e(t.agent)}</code> rewards "
                        f"<code>{_e(json.dumps(dict(t.rewards), sort_keys=True))}</code>{msgs}</div>")
        items.append(f"<details class='episode' data-task='{_e(e.task.id)}' data-status='{_e(e.status.value)}'>"
                     f"<summary>{_e(e.task.id)} #{sample} (seed {e.seed}): {len(e.turns)} turns, {verdict}</summary>"
                     f"{''.join(body)}</details>")
    return head + "".join(items)
