"""Plan -> file contents (Jinja2 templates that only print), formatted, written atomically."""
