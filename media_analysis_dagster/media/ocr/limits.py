"""What reading one image may cost, in one place (the README's limits table names them)."""

from __future__ import annotations

#: Longest side the text detector sees (px). On 200 dpi A4 pages 736 cost 10% less CPU and 65
#: MB less memory but lost a line of 7 pt text on a scan; 1280 cost 15% more and read nothing
#: more than 960.
DETECTION_SIDE = 960
#: Longest side of the image text lines are cut from (px); recognition rescales each line to
#: 48 px high anyway, so more only costs memory.
READ_SIDE = 2000
#: Files with more pixels than this are not decoded (8K UHD, 33 Mpx, fits; 120 MB as RGB);
#: JPEGs are decoded at 1/2 to 1/8 scale first, so only their reduced size counts.
MAX_DECODE_PIXELS = 40_000_000
#: Text boxes recognised per image at most (a dense page has 40-60, a frame a few).
MAX_LINES = 300
#: Lines the recogniser is less sure of than this are dropped (mostly texture read as text).
MIN_LINE_CONFIDENCE = 0.5
#: Images narrower or lower than this (px) hold no readable text.
MIN_SIDE = 8
#: Frames of one video read at most (evenly chosen when more were extracted): a 2-hour video's
#: on-screen text costs about what a short one's does.
MAX_FRAMES_PER_REQUEST = 60
#: CPU seconds the frames of one video may take, and the scanned pages of one document.
VIDEO_BUDGET_S = 60.0
DOCUMENT_BUDGET_S = 120.0
