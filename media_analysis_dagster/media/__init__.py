"""Pure media code: it starts from a local file and knows nothing of runs, rows or providers.

What lives where:

- ``local_source`` (a ``media_path`` inside an allowed root, copied and hashed), ``sniff``
  (what a file is, by its bytes), ``probe`` (video facts), ``errors`` (the exception tree every
  message of this package comes from);
- video frames: ``frames`` (evenly spaced or per-scene extraction), ``frame_seeking``,
  ``frame_quality``, ``frame_writing``; ``contact_sheets`` (grids of them); ``faces``;
- ``scenes/`` (cuts, fades, dissolves and motion; `scenes.detect_scenes_and_motion`);
- audio: ``audio`` (probe, extract a 16 kHz WAV), ``audio_decoding``, ``audio_levels``
  (loudness, silence, speech-likeness); ``speech/`` (offline speech-to-text, subtitles);
- documents: ``documents`` (`documents.inspect_document`, plain text), ``pdf_documents``,
  ``image_documents``, ``document_info``; ``text_stats`` (offline text statistics).

Nothing here imports Dagster or any other module of this package, so each function can be
called from a test, a benchmark or the `media-analysis sheets` CLI without a run or a database.
Heavy libraries (PyAV, OpenCV, pypdfium2) are imported inside the functions that need them so
importing the job definitions stays cheap.
"""
