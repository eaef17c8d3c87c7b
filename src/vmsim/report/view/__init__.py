"""The interactive page: record.py records, snapshot.py reads the state, page.py builds it."""
