"""Results folders: staging and atomic commit, manifest, streamed Parquet tables, summaries and
reading back. Imports the layers below it (engine, model, language), never analysis or views."""
