"""The interactive page: record a run (record.py), read the state (snapshot.py), build the HTML (page.py)."""
