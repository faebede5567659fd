"""HTML building blocks for the report: every piece of text goes through `esc` here, so a run's
description, folder name, config values or a rollback's problem text render as text, never as markup.
The page needs no JavaScript and no network: images are inline data: URIs."""

import base64
import html
import io

from PIL import Image

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px auto; max-width: 1240px; padding: 0 16px; color: #222; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 17px; margin-top: 28px; border-bottom: 1px solid #ddd; }
.muted { color: #666; } .note { color: #666; font-style: italic; }
table { border-collapse: collapse; margin: 8px 0; font-size: 13px; }
td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f4; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.kv th { width: 160px; }
.row { display: flex; flex-wrap: wrap; gap: 10px; align-items: flex-start; }
figure { margin: 0; display: inline-block; text-align: center; }
figcaption { font-size: 12px; color: #555; max-width: 300px; margin: 0 auto; }
.md table { font-size: 12px; } .md h1 { font-size: 18px; } .md h2 { font-size: 15px; border: none; }
figure.large figcaption { max-width: none; }
img.thumb { width: 300px; border: 1px solid #eee; }
img.large { width: 520px; max-width: 100%; image-rendering: pixelated; border: 1px solid #eee; }
img.curve { width: 390px; max-width: 100%; } img.native { max-width: 100%; }
figure.native figcaption { max-width: none; }
.wide { overflow-x: auto; }
pre { background: #f7f7f7; border: 1px solid #e3e3e3; padding: 8px; overflow: auto; max-height: 420px; font-size: 12px; }
"""

LARGE_PX = 1024  # grids wider than this are shrunk before they are inlined (keeps the file small)


def esc(value):
    return html.escape(str(value), quote=True)


def fmt(value):
    """A number as the tables show it; None as a dash."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def document(title, body):
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>{esc(title)}</title>\n'
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


def section(title, *parts):
    return f"<h2>{esc(title)}</h2>\n" + "\n".join(p for p in parts if p)


def para(text, cls=None):
    return f'<p class="{cls}">{esc(text)}</p>' if cls else f"<p>{esc(text)}</p>"


def note(text):
    return para(text, "note")


def pre(text):
    return f"<pre>{esc(text)}</pre>"


def markdown(text):
    """A markdown document (a study's summary.md) as HTML: the text escaped first, so nothing in it
    becomes markup but the markdown itself; its image lines dropped (the figures are inlined apart)."""
    import re

    import markdown as md

    text = "\n".join(line for line in text.splitlines() if not re.fullmatch(r"\s*!\[[^\]]*\]\([^)]*\)\s*", line))
    return f'<div class="md">{md.markdown(html.escape(text, quote=False), extensions=["tables"])}</div>'


def table(headers, rows, numeric=()):
    """A table of text cells (all escaped); columns named in `numeric` align right."""
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(_cell(h, c, numeric) for h, c in zip(headers, row)) + "</tr>\n" for row in rows)
    return f'<div class="wide"><table>\n<tr>{head}</tr>\n{body}</table></div>'


def _cell(header, value, numeric):
    cls = ' class="num"' if header in numeric else ""
    return f"<td{cls}>{esc(fmt(value))}</td>"


def key_values(pairs):
    rows = "".join(f"<tr><th>{esc(k)}</th><td>{esc(fmt(v))}</td></tr>\n" for k, v in pairs)
    return f'<table class="kv">\n{rows}</table>'


def img(png, alt, cls):
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="{cls}" alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def figure(png, alt, caption, cls):
    return f'<figure class="{cls}">{img(png, alt, cls)}<figcaption>{esc(caption)}</figcaption></figure>'


def row(items):
    return '<div class="row">\n' + "\n".join(items) + "\n</div>"


def png_of(path, max_px=LARGE_PX):
    """PNG bytes of the image file `path` that a browser can decode (a wide one shrunk to
    `max_px`), or None when the file is missing or not a whole image (a run killed mid-write)."""
    try:
        data = path.read_bytes()
        with Image.open(io.BytesIO(data)) as im:
            im.load()  # decode it all: a truncated PNG fails here, not in the browser
            if im.format == "PNG" and im.width <= max_px:
                return data
            im.thumbnail((max_px, max_px))
            buf = io.BytesIO()
            im.save(buf, format="PNG")
            return buf.getvalue()
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
