"""The app's services: what the app does beside drawing pages, with no Streamlit in it, so that tests and
other processes can use it.

Holds: jobs (trainings in background threads, with progress snapshots and slots shared across processes),
scenes (a lecture as a deck of views, read from TOML or JSON), identity (a browser's token and which models
are its own), room (the class room: rooms, joins, activities and submissions in one store with two
backends, SQLite in the data home or Redis).

May import: vae_core. Imported by ui/ and pages/; never imports them.
"""
