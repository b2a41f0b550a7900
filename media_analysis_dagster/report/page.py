"""The page around the sections: one HTML file, its style, no script.

Why it looks like this: it must read at 375 px (a phone) as well as on a desktop, so the facts
list folds to one column, scene pictures flow in a grid of at least two columns, pictures never
exceed the column, and long unbroken strings (URLs, hashes, hostile text) wrap anywhere instead
of pushing the page sideways. It needs no JavaScript; the Content-Security-Policy forbids
scripts, connections and any picture that is not embedded, so even a value that escaped
escaping could not run or call out.
"""

from __future__ import annotations

CSP = (
    "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'"
)

STYLE = """
:root{color-scheme:light dark;--bg:#fff;--fg:#1d1f23;--muted:#5d6470;--line:#d9dce1;
--card:#f5f6f8;--accent:#1558c0;--bad:#b3261e;--good:#146c2e;--warn:#8a5a00}
@media (prefers-color-scheme:dark){:root{--bg:#121417;--fg:#e7e9ec;--muted:#a2a9b4;
--line:#343840;--card:#1b1e23;--accent:#8ab4f8;--bad:#f2958c;--good:#82c99a;--warn:#e6b85c}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);
font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;
overflow-wrap:anywhere;word-break:break-word}
main{max-width:72rem;margin:0 auto;padding:1rem 1rem 3rem}
a{color:var(--accent)}
img{display:block;max-width:100%;height:auto}
h1{font-size:1.6rem;line-height:1.25;margin:.25rem 0}
h2{font-size:1.25rem;margin:2rem 0 .75rem;padding-bottom:.3rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:0 0 .5rem;text-transform:capitalize}
h3.plain{text-transform:none;margin-top:1.25rem}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.875rem}
pre{white-space:pre-wrap;overflow-wrap:anywhere;margin:0;padding:.75rem;background:var(--card);
border-radius:6px;max-height:32rem;overflow-y:auto}
.kicker{margin:0;color:var(--muted);font-size:.9rem}
.sub,.note{color:var(--muted)}
.sub{margin:.25rem 0 0}
.note{font-size:.9rem;margin:.25rem 0}
.missing{color:var(--muted);font-style:italic;margin:.5rem}
.badge{display:inline-block;padding:0 .5rem;margin-left:.25rem;border-radius:1rem;
font-size:.8rem;font-weight:600;border:1px solid currentColor}
.badge.completed{color:var(--good)}.badge.failed{color:var(--bad)}
.badge.cancelled,.badge.processing,.badge.pending{color:var(--warn)}
nav.toc{display:flex;flex-wrap:wrap;gap:.25rem 1rem;margin:.75rem 0 0;font-size:.95rem}
.facts{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.3rem 1.25rem;margin:0}
.facts dt{color:var(--muted)}
.facts dd{margin:0;min-width:0}
.failure{border-left:4px solid var(--bad);padding:0 1rem .5rem;background:var(--card);
border-radius:0 6px 6px 0}
.failure .message{font-weight:600}
.summary p{margin:.5rem 0}
.summary ul{margin:.25rem 0 .75rem;padding-left:1.25rem}
figure{margin:0 0 1.25rem}
.sheet img{max-width:min(100%,64rem)}
figcaption{color:var(--muted);font-size:.9rem;margin-top:.3rem}
.timeline{display:flex;height:.8rem;margin:.25rem 0 1rem;border-radius:3px;
overflow:hidden}
.timeline a{flex:0 1 0;min-width:0;background:var(--accent);opacity:.45}
.timeline a:nth-child(even){opacity:.8}
.timeline a:hover{opacity:1}
.scenes{list-style:none;padding:0;margin:0;display:grid;gap:.75rem;
grid-template-columns:repeat(auto-fill,minmax(11rem,1fr))}
.scenes li{background:var(--card);border:1px solid var(--line);border-radius:6px;
overflow:hidden;min-width:0}
.scenes .thumb{display:block;background:#000}
.scenes .thumb img{width:100%}
.scenes .thumb .note{background:var(--card);margin:0;padding:0 .5rem}
.scene-head{margin:0;padding:.35rem .5rem;font-size:.9rem}
.transcript{list-style:none;padding:0;margin:0}
.transcript li{display:grid;grid-template-columns:4rem minmax(0,1fr);gap:.5rem;
padding:.3rem 0;border-bottom:1px solid var(--line)}
.transcript p{margin:0}
.transcript .time{font-variant-numeric:tabular-nums;text-decoration:none}
.in-scene{font-size:.8rem;color:var(--muted);margin-left:.35rem;white-space:nowrap}
.speaker{font-weight:600}
li:target,article:target{outline:3px solid var(--accent);outline-offset:2px}
.result,.page{border:1px solid var(--line);border-radius:6px;padding:.75rem 1rem;
margin:.75rem 0;min-width:0}
.meta{display:flex;flex-wrap:wrap;gap:.25rem 1.5rem;margin:0 0 .5rem;font-size:.9rem}
.meta div{display:flex;gap:.4rem;min-width:0}
.meta dt{color:var(--muted)}
.meta dd{margin:0;min-width:0}
.content{white-space:pre-line;margin:.5rem 0}
details summary{cursor:pointer;color:var(--accent)}
details pre{margin-top:.5rem}
.files{padding-left:1.25rem}
footer{margin-top:3rem;color:var(--muted);font-size:.85rem}
@media (max-width:40rem){
main{padding:.75rem .75rem 2rem}
h1{font-size:1.3rem}
.facts{grid-template-columns:7.5rem minmax(0,1fr);gap:.2rem .75rem}
.facts dt{font-size:.9rem}
.scenes{grid-template-columns:repeat(2,minmax(0,1fr));gap:.5rem}
.transcript li{grid-template-columns:3.25rem minmax(0,1fr)}
.result,.page{padding:.6rem .7rem}
}
@media print{.scenes{grid-template-columns:repeat(4,1fr)}details{display:none}}
"""

NAV = (
    ("failure", "Why it failed"),
    ("summary", "Summary"),
    ("sheets", "Contact sheets"),
    ("scenes", "Scenes"),
    ("transcript", "Transcript"),
    ("pages", "Pages"),
    ("results", "Results"),
    ("files", "Files"),
)


def page(title: str, head: str, sections: dict[str, str], footer: str) -> str:
    """The document: ``title`` and every fragment must already be escaped; ``sections`` maps
    a section id to its HTML ("" leaves it and its link out)."""
    present = [(key, label) for key, label in NAV if sections.get(key)]
    toc = "".join(f'<a href="#{key}">{label}</a>' for key, label in present)
    order = ("failure", "facts", *(k for k, _ in NAV[1:]))  # why it failed comes first
    body = "".join(sections.get(key, "") for key in order)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="referrer" content="no-referrer">'
        f"<title>{title}</title><style>{STYLE}</style></head>"
        f'<body><main>{head}<nav class="toc">{toc}</nav>{body}'
        f"<footer>{footer}</footer></main></body></html>\n"
    )
