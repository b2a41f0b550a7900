"""Relevance on a labelled set made here: transcripts and document pages in English and German
with known answers, asked for in other inflected forms than they were said or written
("refunds policies" for "refund policy", "Rückerstattungen" for "Rückerstattung"). The right
segment must be in the top 3 for at least 95 % of the queries, at the right time within 1 s (or
on the right page), on SQLite and on PostgreSQL.

Inflection, not derivation: "complaints" does not find "complained" (Snowball's stems differ),
and the German stemmer keeps the -s plural of loanwords ("Büros", "Akkus"), so the set asks for
forms a stemmer is meant to join."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from media_analysis_dagster.db.rows import NewFile, NewResult
from media_analysis_dagster.db.segments import page_segments
from media_analysis_dagster.db.store import Store

# (fact as said or written, the query that should find it)
FACTS = {
    "en": [
        ("Our refund policy allows returns within thirty days.", "refunds policies"),
        ("The quarterly revenue increased by twelve percent.", "revenues increasing"),
        ("Shipping to Canada takes about five business days.", "shipped Canada"),
        ("The supplier Northwind delivered the parts late.", "suppliers delivering"),
        ("Employees must complete the safety training annually.", "employee trainings"),
        ("The warranty covers manufacturing defects for two years.", "warranties defect"),
        ("Please reset your password using the account settings.", "resetting passwords"),
        ("The battery lasts around ten hours on a single charge.", "batteries charging"),
        ("Our office moved to a new building downtown.", "offices buildings"),
        ("The invoice must include the purchase order number.", "invoices numbers"),
        ("The conference was postponed because of the storm.", "conferences postponing"),
        ("Customers complained about the slow checkout process.", "customers complaining"),
    ],
    "de": [
        ("Die Rückerstattung erfolgt innerhalb von vierzehn Tagen.", "Rückerstattungen"),
        ("Der Umsatz im dritten Quartal ist deutlich gestiegen.", "Umsätze Quartals"),
        ("Die Lieferung an den Kunden verzögert sich um eine Woche.", "Lieferungen Kunde"),
        ("Alle Mitarbeiter müssen die Schulung jährlich abschließen.", "Mitarbeitern Schulungen"),
        ("Die Rechnung enthält die Bestellnummer des Auftrags.", "Rechnungen Bestellnummern"),
        ("Der Akku hält ungefähr zehn Stunden.", "Akku Stunden"),
        ("Die Garantie deckt Herstellungsfehler für zwei Jahre ab.", "Garantien Jahren"),
        ("Das Büro ist in ein neues Gebäude umgezogen.", "Büro Gebäuden"),
        ("Der Lieferant hat die Teile zu spät geliefert.", "Lieferanten Teilen"),
        ("Bitte setzen Sie Ihr Passwort in den Kontoeinstellungen zurück.", "Passwörter"),
        ("Die Konferenz wurde wegen des Sturms verschoben.", "Konferenzen Sturm"),
        ("Die Kunden beschwerten sich über den Bezahlvorgang.", "beschwert Bezahlvorgangs"),
    ],
}
# Sentences around the facts; some share one word of a query, so matching all words matters.
FILLER = {
    "en": [
        "Good morning and welcome to the weekly meeting.",
        "Let us go through the agenda one item at a time.",
        "The weather has been lovely this week.",
        "Does anyone have questions before we continue?",
        "The parking policy for visitors stays the same.",
        "Revenue from the old product line is reported separately.",
        "Our new building has a large cafeteria.",
        "Training rooms can be booked at the front desk.",
        "Thank you all for joining today.",
        "We will send the slides after the call.",
    ],
    "de": [
        "Guten Morgen und willkommen zur wöchentlichen Besprechung.",
        "Gehen wir die Tagesordnung Punkt für Punkt durch.",
        "Das Wetter war diese Woche sehr schön.",
        "Hat jemand Fragen, bevor wir weitermachen?",
        "Die Kunden im Norden werden gesondert betreut.",
        "Die Stunden für die Kantine bleiben gleich.",
        "Das Quartal begann mit einem Feiertag.",
        "Neue Teile werden im Lager gezählt.",
        "Vielen Dank an alle für die Teilnahme.",
        "Wir schicken die Folien nach dem Termin.",
    ],
}


@dataclass
class Answer:
    query: str
    language: str
    request_id: str
    start_s: float | None
    page: int | None


def _transcript(store: Store, rng: random.Random, language: str, facts: list) -> list[Answer]:
    """One transcript: filler with the facts at random places; each segment about 4 s."""
    lines = [rng.choice(FILLER[language]) for _ in range(24)]
    spots = sorted(rng.sample(range(len(lines)), len(facts)))
    for spot, (fact, _) in zip(spots, facts, strict=True):
        lines[spot] = fact
    segments: list[dict[str, Any]] = []
    at = 0.0
    for i, line in enumerate(lines):
        length = round(rng.uniform(2.5, 5.5), 2)
        segments.append(
            {"id": i, "start": round(at, 2), "end": round(at + length, 2), "text": line}
        )
        at += length + round(rng.uniform(0.1, 1.5), 2)
    rid = store.create_request(media_type="video", media_path=f"/m/{language}-{rng.random()}.mp4")
    store.replace_rows(
        rid["request_id"],
        results=[
            NewResult(
                result_type="transcription",
                provider="internal",
                content=" ".join(lines),
                content_json={"language": language, "segments": segments},
            )
        ],
    )
    return [
        Answer(query, language, rid["request_id"], segments[spot]["start"], None)
        for spot, (_, query) in zip(spots, facts, strict=True)
    ]


def _document(store: Store, rng: random.Random, language: str, facts: list) -> list[Answer]:
    """One document: pages of filler, each fact on a page of its own."""
    pages = [" ".join(rng.sample(FILLER[language], 6)) for _ in range(len(facts) + 3)]
    spots = rng.sample(range(len(pages)), len(facts))
    for spot, (fact, _) in zip(spots, facts, strict=True):
        pages[spot] = f"{pages[spot]} {fact} {rng.choice(FILLER[language])}"
    rid = store.create_request(media_type="document", media_path=f"/d/{rng.random()}.pdf")
    store.replace_rows(
        rid["request_id"],
        files=[NewFile(file_type="document", file_path="/d/text.txt")],
        segments=page_segments(list(enumerate(pages, start=1)), file_index=0),
    )
    return [
        Answer(query, language, rid["request_id"], None, spot + 1)
        for spot, (_, query) in zip(spots, facts, strict=True)
    ]


def _labelled_set(store: Store) -> list[Answer]:
    rng = random.Random(19)
    answers: list[Answer] = []
    for language, facts in FACTS.items():
        shuffled = rng.sample(facts, len(facts))
        for i in range(0, len(shuffled), 4):  # three transcripts per language, four facts each
            answers += _transcript(store, rng, language, shuffled[i : i + 4])
        for i in range(0, len(shuffled), 6):  # two documents per language, six facts each
            answers += _document(store, rng, language, shuffled[i : i + 6])
    return answers


def test_the_right_moment_is_in_the_top_three(store: Store) -> None:
    answers = _labelled_set(store)
    assert len(answers) == 48
    missed = []
    for answer in answers:
        hits = store.search(answer.query, limit=3)
        found = [
            h
            for h in hits
            if h["request_id"] == answer.request_id
            and (
                h["page"] == answer.page
                if answer.page is not None
                else h["start_s"] is not None and abs(h["start_s"] - answer.start_s) <= 1.0
            )
        ]
        if not found:
            missed.append((answer.query, [(h["snippet"], h["start_s"], h["page"]) for h in hits]))
    share = 1 - len(missed) / len(answers)
    assert share >= 0.95, (share, missed)
