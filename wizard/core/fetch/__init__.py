"""Index client, wheel tags, resumable verified downloads, the wheelhouse, network errors."""
