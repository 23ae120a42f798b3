"""What generated connectors import at run time. Never imports `generator`."""
