"""The Compute Engine v1 REST emulator (the project's own): ``app.make_app()`` builds a fresh,
empty WSGI application; see ../README.md for what it implements and where it is less faithful
than the real API."""
