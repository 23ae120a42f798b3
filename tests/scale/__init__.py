"""Scale-out tests: Temporal workers and object storage, with real servers."""
